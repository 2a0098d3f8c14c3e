import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { IConstruct } from 'constructs';
import {
  BatchPayout,
  BatchPayoutProps,
  PredictToTrade,
  PredictToTradeProps,
  PurpleFleaConnection,
  PurpleFleaConnectionProps,
  TrainingBonusEscrow,
  TrainingBonusEscrowProps,
} from '../../lib';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

/** A stack with an explicit environment, so ARNs and cdk-nag see real values. */
export function newStack(id = 'Test'): Stack {
  return new Stack(new App(), id, { env: { account: ACCOUNT, region: REGION } });
}

/** A connection whose secret is imported by name, as the sample app does. */
export function newConnection(stack: Stack, props: Partial<PurpleFleaConnectionProps> = {}): PurpleFleaConnection {
  return new PurpleFleaConnection(stack, 'PurpleFlea', {
    apiKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'ApiKey', 'PurpleFleaApiKey'),
    ...props,
  });
}

export interface Trader {
  readonly stack: Stack;
  readonly connection: PurpleFleaConnection;
  readonly trader: PredictToTrade;
  readonly template: Template;
}

/** A stack with one connection and one PredictToTrade 'Trader'. */
export function newTrader(props: Partial<PredictToTradeProps> = {}, stack = newStack()): Trader {
  const connection = newConnection(stack);
  const trader = new PredictToTrade(stack, 'Trader', { connection, endpointName: 'demo-direction-model', ...props });
  return { stack, connection, trader, template: Template.fromStack(stack) };
}

export interface BonusEscrow {
  readonly stack: Stack;
  readonly connection: PurpleFleaConnection;
  readonly escrow: TrainingBonusEscrow;
  readonly template: Template;
}

/** A stack with one connection and one TrainingBonusEscrow 'Bonus'. */
export function newBonusEscrow(props: Partial<TrainingBonusEscrowProps> = {}, stack = newStack()): BonusEscrow {
  const connection = newConnection(stack);
  const escrow = new TrainingBonusEscrow(stack, 'Bonus', { connection, ...props });
  return { stack, connection, escrow, template: Template.fromStack(stack) };
}

export interface Payout {
  readonly stack: Stack;
  readonly connection: PurpleFleaConnection;
  readonly payout: BatchPayout;
  readonly template: Template;
}

/** A stack with one connection and one BatchPayout 'Payout' (manual starts only, unless props add a trigger). */
export function newBatchPayout(props: Partial<BatchPayoutProps> = {}, stack = newStack()): Payout {
  const connection = newConnection(stack);
  const payout = new BatchPayout(stack, 'Payout', { connection, ...props });
  return { stack, connection, payout, template: Template.fromStack(stack) };
}

/**
 * A state machine's definition as Step Functions gets it: its DefinitionString with the Fn::Join flattened,
 * the partition as `aws`, a bucket reference as `bucket-<logical id>`, a function's ARN as a Lambda ARN.
 */
export function renderDefinition(template: Template, stateMachineLogicalId: string): any {
  const stateMachine = template.toJSON().Resources[stateMachineLogicalId];
  const definition = stateMachine.Properties.DefinitionString;
  const parts: unknown[] = typeof definition === 'string' ? [definition] : definition['Fn::Join'][1];
  const text = parts
    .map((part: any) => {
      if (typeof part === 'string') return part;
      if (part.Ref === 'AWS::Partition') return 'aws';
      if (part.Ref !== undefined) return `bucket-${String(part.Ref).toLowerCase()}`;
      if (part['Fn::GetAtt']?.[1] === 'Arn') return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${part['Fn::GetAtt'][0]}`;
      throw new Error(`cannot render ${JSON.stringify(part)} in a definition`);
    })
    .join('');
  return JSON.parse(text);
}

/** The logical id of a construct's CloudFormation resource (its default child's, for an L2). */
export function logicalIdOf(construct: IConstruct): string {
  const resource = (construct.node.defaultChild ?? construct) as CfnElement;
  return resource.stack.getLogicalId(resource);
}

/** The one resource of a type in a template, with its logical id. */
export function onlyResource(template: Template, type: string): { id: string; resource: any } {
  const found = Object.entries(template.findResources(type));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  const [id, resource] = found[0];
  return { id, resource };
}

/** Sorts IAM statements so that two lists compare regardless of order. */
export function sortStatements(statements: any[]): any[] {
  const normalize = (s: any) => ({ ...s, Action: Array.isArray(s.Action) ? [...s.Action].sort() : s.Action });
  return statements.map(normalize).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/**
 * What EventBridge delivers for an InputTransformer: each `<key>` is replaced by the JSON value at its
 * path (a string with its quotes, an object as JSON), and `<aws.events.rule-arn>` by the rule's ARN.
 */
export function substituteInputTemplate(template: string, values: { [key: string]: unknown }): string {
  return template.replace(/<([A-Za-z0-9_.:-]+)>/g, (whole, key: string) => {
    if (!(key in values)) throw new Error(`no sample value for ${whole}`);
    return JSON.stringify(values[key]);
  });
}

/** An ARN as aws-cdk-lib writes it in an environment-specific stack: the partition stays a reference. */
export function arnWithPartition(afterPartition: string): any {
  return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, afterPartition]] };
}
