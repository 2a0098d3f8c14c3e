/**
 * The two sides of the contract on the services profile: every function of the sample app synthesized with
 * `-c api=services` starts, as its bundled handler, from the environment its construct wrote (and on the gateway
 * too), so a deployed app switched by one prop has no function that refuses to start. CloudFormation values
 * (a table's name, a secret's ARN) stand in as plain strings.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildSampleApp, SAMPLE_STACK_NAME } from '../../bin/app';
import { loadBundledHandler } from './handler-harness';

type Variables = { [name: string]: unknown };

/** Which bundle a function of the sample runs, told by the variables its construct writes. */
function bundleOf(variables: Variables): string {
  const has = (name: string) => name in variables;
  // A function of its own service runs the bundle of that name; the batch constructs' three share one.
  const service = String(variables.POWERTOOLS_SERVICE_NAME);
  if (service !== 'batch-payout' && service !== 'fraud-hold-escrow') return service;
  const construct = variables.POWERTOOLS_SERVICE_NAME === 'batch-payout' ? 'batch-payout' : 'fraud-hold';
  if (has('OUTPUT_BUCKET')) return `${construct}-prepare`;
  if (has('REQUESTS_PER_SECOND')) return construct === 'batch-payout' ? 'batch-payout-pay' : 'fraud-hold-act';
  return `${construct}-summarize`;
}

/** The functions of the sample app with their environments, CloudFormation values as plain strings. */
function sampleFunctions(context: { [key: string]: string }): { bundle: string; variables: { [name: string]: string } }[] {
  const template = Template.fromStack(buildSampleApp(context).node.findChild(SAMPLE_STACK_NAME) as Stack);
  return Object.entries(template.findResources('AWS::Lambda::Function'))
    .map(([logicalId, resource]) => ({ logicalId, variables: (resource.Properties.Environment?.Variables ?? {}) as Variables }))
    .filter(({ variables }) => 'POWERTOOLS_SERVICE_NAME' in variables)
    .map(({ logicalId, variables }) => ({
      bundle: bundleOf(variables),
      variables: Object.fromEntries(
        Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : `cfn-value-of-${logicalId}-${name}`]),
      ),
    }));
}

describe.each(['services', 'gateway'])('the sample app on the %s profile', (api) => {
  const functions = sampleFunctions({ api });

  test('has every handler of the library (ModelAgents and TradingPnl, the services only)', () => {
    const servicesOnly = api === 'services' ? ['model-agents', 'trading-pnl'] : [];
    expect(functions.map((f) => f.bundle).sort()).toEqual(
      [
        ...servicesOnly,
        'batch-payout-pay',
        'batch-payout-prepare',
        'batch-payout-summarize',
        'fraud-hold-act',
        'fraud-hold-prepare',
        'fraud-hold-release',
        'fraud-hold-review-start',
        'fraud-hold-summarize',
        'predict-to-trade',
        'training-bonus-escrow',
        'training-bonus-release',
      ].sort(),
    );
  });

  test.each(functions.map((f) => [f.bundle, f.variables] as const))(
    '%s starts from the environment its construct wrote',
    (bundle, variables) => {
      // Prepare and the review's start reach neither Purple Flea nor the ledger: they have no connection.
      if ('PF_SECRET_ARN' in variables) expect(variables.PF_API_PROFILE).toBe(api === 'services' ? 'services' : undefined);
      const loaded = loadBundledHandler<{ handler: unknown }>(bundle, variables);
      expect(typeof loaded.handler).toBe('function');
    },
  );
});
