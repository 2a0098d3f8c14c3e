import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { IConstruct } from 'constructs';
import {
  BatchPayout,
  BatchPayoutProps,
  FraudHoldEscrow,
  FraudHoldEscrowProps,
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

export interface Holds {
  readonly stack: Stack;
  readonly connection: PurpleFleaConnection;
  readonly holds: FraudHoldEscrow;
  readonly template: Template;
}

/** A stack with one connection and one FraudHoldEscrow 'Holds' (manual starts only, unless props add a trigger). */
export function newFraudHoldEscrow(props: Partial<FraudHoldEscrowProps> = {}, stack = newStack()): Holds {
  const connection = newConnection(stack);
  const holds = new FraudHoldEscrow(stack, 'Holds', { connection, ...props });
  return { stack, connection, holds, template: Template.fromStack(stack) };
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

/** A function's environment variables. */
export function variablesOf(template: Template, fn: { node: any }): { [name: string]: any } {
  return template.toJSON().Resources[logicalIdOf(fn as any)].Properties.Environment.Variables;
}

/** The IAM policies attached to a role, by logical id. */
export function policiesOf(template: Template, role: iam.IRole): { [id: string]: any[] } {
  const roleId = logicalIdOf(role as iam.Role);
  return Object.fromEntries(
    Object.entries(template.findResources('AWS::IAM::Policy'))
      .filter(([, p]: [string, any]) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
      .map(([id, p]: [string, any]) => [id, p.Properties.PolicyDocument.Statement]),
  );
}

/** The statements of a role's policy whose logical id starts with `prefix`. */
export function policy(template: Template, role: iam.IRole, prefix: string): any[] {
  const found = Object.entries(policiesOf(template, role)).filter(([id]) => id.startsWith(prefix));
  expect(found).toHaveLength(1);
  return found[0][1];
}

/** `<bucket ARN>/<pattern>`, as aws-cdk-lib writes an object ARN of a bucket of the stack. */
export function objectsOf(bucket: s3.IBucket, pattern: string): any {
  return { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalIdOf(bucket), 'Arn'] }, `/${pattern}`]] };
}

export function rules(template: Template): any[] {
  return Object.values(template.findResources('AWS::Events::Rule')).map((r: any) => r.Properties);
}

/** Evaluates a JSON path `$.a.b` against a state; enough for the paths the workflow uses. */
export function at(state: unknown, path: string): unknown {
  if (!path.startsWith('$.')) throw new Error(`not a simple path: ${path}`);
  return path
    .slice(2)
    .split('.')
    .reduce((value: any, field) => value?.[field], state);
}

/** Evaluates `States.Format('<template>', $.path)` with one argument. */
export function format(state: unknown, expression: string): string {
  const match = /^States\.Format\('([^']*)', (\$[.\w]+)\)$/.exec(expression);
  if (!match) throw new Error(`not a one-argument States.Format: ${expression}`);
  return match[1].replace('{}', String(at(state, match[2])));
}
