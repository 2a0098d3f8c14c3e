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
  if (has('ENDPOINT_NAME')) return 'predict-to-trade';
  if (has('METRIC_NAME')) return 'training-bonus-escrow';
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

  test('has every handler of the library', () => {
    expect(functions.map((f) => f.bundle).sort()).toEqual([
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
    ]);
  });

  test.each(functions.map((f) => [f.bundle, f.variables] as const))(
    '%s starts from the environment its construct wrote',
    (bundle, variables) => {
      // Prepare reaches neither Purple Flea nor the ledger: it has no connection.
      if (!bundle.endsWith('-prepare')) expect(variables.PF_API_PROFILE).toBe(api === 'services' ? 'services' : undefined);
      const loaded = loadBundledHandler<{ handler: unknown }>(bundle, variables);
      expect(typeof loaded.handler).toBe('function');
    },
  );
});
