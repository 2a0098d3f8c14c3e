/**
 * The dashboard shows what the handlers emit. Each bundled handler runs as its construct configures it
 * (Powertools' namespace and service read from the synthesized function, the function's name its logical
 * id), through every outcome against the stand-ins; the EMF it writes names exactly the metrics,
 * namespace and dimensions of its construct's section of the dashboard.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { BatchPayout, PredictToTrade, PurpleFleaDashboard } from '../../lib';
import type { BatchInput, PayoutItem } from '../../lib/private/contracts/batch-engine';
import { batchPayoutPayEnvironment } from '../../lib/private/contracts/batch-payout-env';
import { predictToTradeEnvironment } from '../../lib/private/contracts/predict-to-trade-env';
import { DashboardMetric, dashboardSections } from '../constructs/dashboard-body';
import { logicalIdOf, newConnection, newStack, variablesOf } from '../constructs/fixtures';
import { defaultTradeSettings, TEST_ENDPOINT_NAME } from '../support/handler-settings';
import { SANDBOX_API_KEY, TRADING_ORDER_PATH, WALLET_TRANSFER_PATH } from '../support/purpleflea-sandbox';
import { captureOutput, Harness, handlerEnvironment, lambdaContext, loadBundledHandler, startHarness } from './handler-harness';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** A metric as CloudWatch identifies it: namespace, name and every dimension with its value. */
function identity(namespace: string, metricName: string, dimensions: { [name: string]: string }): string {
  const sorted = Object.keys(dimensions).sort().map((name) => `${name}=${dimensions[name]}`);
  return `${namespace} ${metricName} {${sorted.join(', ')}}`;
}

/** Every metric identity in the EMF records written so far. */
function emittedMetrics(records: { [key: string]: any }[]): string[] {
  const found = new Set<string>();
  for (const record of records) {
    for (const directive of record._aws?.CloudWatchMetrics ?? []) {
      for (const dimensionSet of directive.Dimensions as string[][]) {
        const dimensions = Object.fromEntries(dimensionSet.map((name) => [name, String(record[name])]));
        for (const metric of directive.Metrics) found.add(identity(directive.Namespace, metric.Name, dimensions));
      }
    }
  }
  return [...found].sort();
}

/** The handler metrics (not AWS/*) of one construct's section of the dashboard. */
function shownMetrics(stack: Stack, kind: string): string[] {
  const section = dashboardSections(stack).find((s) => s.title.startsWith(`${kind} `));
  if (!section) throw new Error(`no ${kind} section`);
  const metrics: DashboardMetric[] = section.widgets.flatMap((w) => w.metrics).filter((m) => !m.namespace.startsWith('AWS/'));
  return [...new Set(metrics.map((m) => identity(m.namespace, m.metricName, m.dimensions)))].sort();
}

let harness: Harness;
let output: ReturnType<typeof captureOutput>;
let stack: Stack;
let template: Template;
let trader: PredictToTrade;
let payout: BatchPayout;

/** The variables the construct gives the function that Powertools reads, and the function's name. */
function asDeployed(fn: lambda.IFunction): { [name: string]: string } {
  const variables = variablesOf(template, fn);
  return {
    POWERTOOLS_SERVICE_NAME: variables.POWERTOOLS_SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: variables.POWERTOOLS_METRICS_NAMESPACE,
    // The dashboard's FunctionName dimension is a reference to the function, rendered as its logical id.
    AWS_LAMBDA_FUNCTION_NAME: logicalIdOf(fn),
  };
}

beforeAll(async () => {
  harness = await startHarness();
  stack = newStack();
  const connection = newConnection(stack);
  trader = new PredictToTrade(stack, 'Trader', { connection, endpointName: TEST_ENDPOINT_NAME });
  payout = new BatchPayout(stack, 'Payout', { connection });
  new PurpleFleaDashboard(stack, 'Dashboard', { monitored: [trader, payout] });
  template = Template.fromStack(stack);
});
afterAll(async () => {
  await harness.close();
});
beforeEach(() => {
  harness.sandbox.reset();
  harness.sandbox.setApiKeys([SANDBOX_API_KEY]);
  output = captureOutput();
});
afterEach(() => output.restore());

test("PredictToTrade: the handler's metrics over every outcome are the ones its section shows", async () => {
  const handler = loadBundledHandler<{ handler: Handler }>('predict-to-trade', {
    ...handlerEnvironment(harness, predictToTradeEnvironment(defaultTradeSettings())),
    ...asDeployed(trader.lambdaFunction),
  }).handler;
  let eventCounter = 0;
  const trade = async (modelAnswer: string) => {
    harness.aws.setEndpointHandler(TEST_ENDPOINT_NAME, () => ({ body: modelAnswer, contentType: 'application/json' }));
    eventCounter += 1;
    const event = { eventId: `dash-${eventCounter}-${Date.now()}`, eventTime: new Date().toISOString(), ruleArn: 'arn:aws:events:us-east-1:123456789012:rule/t', features: {} };
    return handler(event, lambdaContext());
  };
  const long = '{"direction":"long","confidence":0.73}';

  const statuses = [await trade(long), await trade('{"direction":"hold","confidence":0.9}'), await trade('{"direction":"up","confidence":0.9}')];
  harness.sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'status', status: 402, error: 'insufficient_balance' });
  statuses.push(await trade(long));
  harness.sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'status', status: 500 });
  statuses.push(await trade(long));

  expect(statuses.map((s: any) => s.status)).toEqual(['SUCCEEDED', 'SKIPPED', 'INVALID', 'REJECTED', 'UNKNOWN']);
  expect(emittedMetrics(output.records())).toEqual(shownMetrics(stack, 'PredictToTrade'));
});

test("BatchPayout: the Pay handler's metrics over every outcome are the ones its section shows", async () => {
  const handler = loadBundledHandler<{ handler: Handler }>('batch-payout-pay', {
    // One row at a time: the injected faults meet the rows in order.
    ...handlerEnvironment(harness, batchPayoutPayEnvironment({ requestsPerSecond: 1000, concurrency: 1, dryRun: false })),
    ...asDeployed(payout.payFunction),
  }).handler;
  const batchInput: BatchInput = { runId: `dash-${Date.now()}`, sourceBucket: 'scores', sourceKey: `scores/${Date.now()}.csv`, sourceEtag: 'etag1' };
  const row = (line: number, agentId: string): PayoutItem => ({ line: String(line), agent_id: agentId, score: '1', amount_usdc: '10.00' });
  const pay = async (items: PayoutItem[]) => ((await handler({ Items: items, BatchInput: batchInput }, lambdaContext(300_000))) as any).rows.map((r: any) => r.status);

  const statuses = await pay([row(1, 'agt_paid'), row(2, 'not an agent id!')]);
  harness.sandbox.injectFaults(WALLET_TRANSFER_PATH, { kind: 'status', status: 402, error: 'insufficient_balance' }, { kind: 'status', status: 500 });
  // A redriven batch: the paid row is a repeat, counted as skipped.
  statuses.push(...(await pay([row(1, 'agt_paid'), row(3, 'agt_rejected'), row(4, 'agt_unknown')])));

  expect(statuses).toEqual(['SUCCEEDED', 'INVALID', 'SUCCEEDED', 'REJECTED', 'UNKNOWN']);
  expect(emittedMetrics(output.records())).toEqual(shownMetrics(stack, 'BatchPayout'));
});
