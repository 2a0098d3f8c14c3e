/**
 * BatchPayout's and FraudHoldEscrow's `agentsFrom: ModelAgents` (issue 15, "Using the identity"): the handlers are told
 * (only when it is given), the functions that resolve model versions may read the registry's records and nothing more
 * (GetItem on `v1:agent:*`), the prop is checked (a ModelAgents, the services profile), and cdk-nag stays clean.
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { BatchPayout, FraudHoldEscrow, ModelAgents, PurpleFleaApi, PurpleFleaConnection } from '../../lib';
import { BATCH_PAYOUT_PAY_ENV, BATCH_PAYOUT_PREPARE_ENV, BATCH_PAYOUT_SUMMARIZE_ENV } from '../../lib/private/contracts/batch-payout-env';
import { FRAUD_HOLD_ACT_ENV, FRAUD_HOLD_PREPARE_ENV } from '../../lib/private/contracts/fraud-hold-env';
import { logicalIdOf, newConnection, newStack, policiesOf, variablesOf } from './fixtures';

type Kind = 'payout' | 'holds';

/** Two stacks alike but for `agentsFrom`: with it (and the ModelAgents), and without it. */
function build(kind: Kind, agentsFrom: boolean) {
  const stack = newStack(agentsFrom ? 'With' : 'Without');
  const connection = newConnection(stack, { api: PurpleFleaApi.services() });
  const agents = new ModelAgents(stack, 'Agents', { connection, trainingJobNamePrefix: 'churn-' });
  const props = { connection, ...(agentsFrom ? { agentsFrom: agents } : {}) };
  const construct =
    kind === 'payout'
      ? (() => {
          const p = new BatchPayout(stack, 'Payout', props);
          return { prepare: p.prepareFunction, act: p.payFunction, summarize: p.summarizeFunction };
        })()
      : (() => {
          const h = new FraudHoldEscrow(stack, 'Holds', props);
          return { prepare: h.prepareFunction, act: h.actFunction, summarize: h.summarizeFunction };
        })();
  return { stack, connection, agents, ...construct, template: Template.fromStack(stack) };
}

/** A function role's statements, each as JSON text (to compare two stacks whose logical ids agree). */
function statementsOf(template: Template, fn: lambda.Function): string[] {
  return Object.values(policiesOf(template, fn.role as iam.Role))
    .flat()
    .map((statement) => JSON.stringify(statement))
    .sort();
}

const registryRead = (connection: { ledgerTable: any }) => ({
  Effect: 'Allow',
  Action: 'dynamodb:GetItem',
  Resource: { 'Fn::GetAtt': [logicalIdOf(connection.ledgerTable), 'Arn'] },
  Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:agent:*'] } },
});

describe.each<[Kind, string[]]>([
  ['payout', ['act', 'summarize']],
  ['holds', ['act']],
])('%s with agentsFrom', (kind, readers) => {
  test(`the registry read (GetItem on v1:agent:*), exactly, is added to ${readers.join(' and ')} only; no agent key is readable`, () => {
    const without = build(kind, false);
    const withIt = build(kind, true);
    for (const step of ['prepare', 'act', 'summarize'] as const) {
      const before = statementsOf(without.template, without[step]);
      const after = statementsOf(withIt.template, withIt[step]);
      const added = after.filter((s) => !before.includes(s)).map((s) => JSON.parse(s));
      const removed = before.filter((s) => !after.includes(s));
      expect({ step, added, removed }).toEqual({
        step,
        added: readers.includes(step) ? [registryRead(withIt.connection)] : [],
        removed: [],
      });
      expect(after.join('\n')).not.toContain('model-agents/');
    }
  });

  test('the handlers that read the cells are told, and only when it is given', () => {
    const withIt = build(kind, true);
    const without = build(kind, false);
    const names =
      kind === 'payout'
        ? {
            prepare: BATCH_PAYOUT_PREPARE_ENV.agentsFromRegistry,
            act: BATCH_PAYOUT_PAY_ENV.agentsFromRegistry,
            summarize: BATCH_PAYOUT_SUMMARIZE_ENV.agentsFromRegistry,
          }
        : { prepare: FRAUD_HOLD_PREPARE_ENV.agentsFromRegistry, act: FRAUD_HOLD_ACT_ENV.agentsFromRegistry, summarize: undefined };
    for (const step of ['prepare', 'act', 'summarize'] as const) {
      const name = names[step];
      if (name === undefined) continue;
      expect(variablesOf(withIt.template, withIt[step])[name]).toBe('true');
      expect(variablesOf(without.template, without[step])[name]).toBeUndefined();
    }
    if (kind === 'holds') expect(JSON.stringify(variablesOf(withIt.template, withIt.summarize))).not.toContain('AGENTS_FROM_REGISTRY');
  });

  test('cdk-nag: no unacknowledged finding', () => {
    const { stack } = build(kind, true);
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`))).toEqual([]);
  });
});

describe.each<[string, (scope: any, id: string, props: any) => unknown]>([
  ['BatchPayout', (scope, id, props) => new BatchPayout(scope, id, props)],
  ['FraudHoldEscrow', (scope, id, props) => new FraudHoldEscrow(scope, id, props)],
])('%s agentsFrom is checked', (name, create) => {
  test('on the gateway profile it is a synth error naming agentsFrom and the services profile', () => {
    const stack = newStack();
    const services = newConnection(stack, { api: PurpleFleaApi.services() });
    const agents = new ModelAgents(stack, 'Agents', { connection: services });
    const gateway = new PurpleFleaConnection(stack, 'Gateway', {
      apiKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'GatewayKey', 'PurpleFleaGatewayKey'),
      // The registry's table, so that the profile is the one problem.
      ledgerTable: services.ledgerTable,
    });
    expect(() => create(stack, 'X', { connection: gateway, agentsFrom: agents })).toThrow(
      `${name} 'X': agentsFrom needs a connection on the services profile (api: PurpleFleaApi.services()), as ModelAgents does: ` +
        "the model versions' agents are ag_ ids of the casino registry, which the gateway does not take",
    );
  });

  test('from JavaScript: a value that is not a ModelAgents is named', () => {
    const stack = newStack();
    const connection = newConnection(stack, { api: PurpleFleaApi.services() });
    expect(() => create(stack, 'X', { connection, agentsFrom: 'churn-agents' })).toThrow(/agentsFrom must be a ModelAgents construct, got/);
  });
});
