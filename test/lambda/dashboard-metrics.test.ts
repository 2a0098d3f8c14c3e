/**
 * The dashboard shows what the handlers emit. Each bundled handler runs as its construct configures it
 * (Powertools' namespace and service read from the synthesized function, the function's name its logical
 * id), through every outcome against the stand-ins; the EMF it writes names exactly the metrics,
 * namespace and dimensions of its construct's section of the dashboard, but for the metrics the section
 * leaves out on purpose, each named here with the reason.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { BatchPayout, EscrowRelease, FraudHoldEscrow, PredictToTrade, PurpleFleaDashboard, TrainingBonusEscrow } from '../../lib';
import { BatchInput, batchSummarizeEnvironment, PayoutItem, RUN_FILES, SummarizeEvent } from '../../lib/private/contracts/batch-engine';
import { batchPayoutPayEnvironment, PAYOUT_LOG_FILE } from '../../lib/private/contracts/batch-payout-env';
import { fraudHoldActEnvironment, HoldItem, HOLDS_LOG_FILE } from '../../lib/private/contracts/fraud-hold-env';
import { predictToTradeEnvironment } from '../../lib/private/contracts/predict-to-trade-env';
import { trainingBonusEscrowEnvironment } from '../../lib/private/contracts/training-bonus-escrow-env';
import { trainingBonusReleaseEnvironment } from '../../lib/private/contracts/training-bonus-release-env';
import { escrowActionKey } from '../../lambda/shared/action-keys';
import { DashboardMetric, dashboardSections } from '../constructs/dashboard-body';
import { logicalIdOf, newConnection, newStack, variablesOf } from '../constructs/fixtures';
import { FAKE_ACCOUNT_ID, FAKE_REGION } from '../support/fake-aws';
import { defaultTradeSettings, TEST_ENDPOINT_NAME } from '../support/handler-settings';
import { ESCROW_CREATE_PATH, Fault, SANDBOX_API_KEY, TRADING_ORDER_PATH, WALLET_TRANSFER_PATH } from '../support/purpleflea-sandbox';
import {
  captureOutput,
  Harness,
  handlerEnvironment,
  lambdaContext,
  loadBundledHandler,
  startHarness,
  writeLedger,
} from './handler-harness';

type Handler = (event: unknown, context: unknown) => Promise<any>;

const BUS_ARN = `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:event-bus/default`;
const RUNS_BUCKET = 'dashboard-runs';
const RELEASE_GROUP = 'dash-models';

/** Every outcome, as the outcome metrics count it: a repeat delivery or redriven row counts as skipped. */
const OUTCOMES = ['INVALID', 'REJECTED', 'SKIPPED', 'SUCCEEDED', 'UNKNOWN'];
const counted = (row: { status: string; repeated?: boolean }) => (row.repeated ? 'SKIPPED' : row.status);

/** A metric as CloudWatch identifies it: namespace, name and every dimension with its value. */
function identity(namespace: string, metricName: string, dimensions: { [name: string]: string }): string {
  const sorted = Object.keys(dimensions)
    .sort()
    .map((name) => `${name}=${dimensions[name]}`);
  return `${namespace} ${metricName} {${sorted.join(', ')}}`;
}

/** Every metric in the EMF records written so far: its identity, and its name. */
function emittedMetrics(records: { [key: string]: any }[]): { identity: string; name: string }[] {
  const found = new Map<string, string>();
  for (const record of records) {
    for (const directive of record._aws?.CloudWatchMetrics ?? []) {
      for (const dimensionSet of directive.Dimensions as string[][]) {
        const dimensions = Object.fromEntries(dimensionSet.map((name) => [name, String(record[name])]));
        for (const metric of directive.Metrics) found.set(identity(directive.Namespace, metric.Name, dimensions), metric.Name);
      }
    }
  }
  return [...found].map(([id, name]) => ({ identity: id, name }));
}

/**
 * The handler metrics (not AWS/*) of one construct's section of the dashboard; with `fn`, only those of that
 * function (a construct with two functions emitting, as TrainingBonusEscrow with its release).
 */
function shownMetrics(stack: Stack, kind: string, fn?: lambda.IFunction): DashboardMetric[] {
  const section = dashboardSections(stack).find((s) => s.title.startsWith(`${kind} `));
  if (!section) throw new Error(`no ${kind} section`);
  // A math expression (the escrows still open) has no namespace: its metrics are the section's own.
  const handlerMetrics = section.widgets
    .flatMap((w) => w.metrics)
    .filter((m) => m.namespace !== undefined && !m.namespace.startsWith('AWS/'));
  return fn === undefined ? handlerMetrics : handlerMetrics.filter((m) => m.dimensions.FunctionName === logicalIdOf(fn));
}

/**
 * The check of each case, after its handlers ran: they went through every outcome, and the metrics they
 * wrote are exactly those of the construct's section, but for `notShown`: metrics the section leaves out on
 * purpose, by name, with the reason. Each of those must have been emitted (no stale exclusion) and must not
 * be on the section.
 */
function expectSectionShowsWhatWasEmitted(
  kind: string,
  outcomes: string[],
  notShown: { [metricName: string]: string } = {},
  fn?: lambda.IFunction,
) {
  expect([...outcomes].sort()).toEqual(OUTCOMES);
  const emitted = emittedMetrics(output.records());
  const shown = shownMetrics(stack, kind, fn);
  expect(
    emitted
      .filter((m) => !(m.name in notShown))
      .map((m) => m.identity)
      .sort(),
  ).toEqual([...new Set(shown.map((m) => identity(m.namespace, m.metricName, m.dimensions)))].sort());
  expect([...new Set(emitted.filter((m) => m.name in notShown).map((m) => m.name))].sort()).toEqual(Object.keys(notShown).sort());
  expect(shown.filter((m) => m.metricName in notShown)).toEqual([]);
}

let harness: Harness;
let output: ReturnType<typeof captureOutput>;
let stack: Stack;
let template: Template;
let trader: PredictToTrade;
let bonus: TrainingBonusEscrow;
let payout: BatchPayout;
let holds: FraudHoldEscrow;
let counter = 0;
const unique = () => `${++counter}-${Date.now()}`;

/**
 * The bundled handler `name` loaded as `fn` runs it: with `env`, and the variables the construct gives the
 * function that Powertools reads, and the function's name.
 */
function deployedHandler(name: string, fn: lambda.IFunction, env: { [name: string]: string }): Handler {
  const variables = variablesOf(template, fn);
  return loadBundledHandler<{ handler: Handler }>(name, {
    ...handlerEnvironment(harness, env),
    POWERTOOLS_SERVICE_NAME: variables.POWERTOOLS_SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: variables.POWERTOOLS_METRICS_NAMESPACE,
    // The dashboard's FunctionName dimension is a reference to the function, rendered as its logical id.
    AWS_LAMBDA_FUNCTION_NAME: logicalIdOf(fn),
  }).handler;
}

/** One run of a batch construct's Summarize (`name`, loaded as `fn`) over a run folder with no rows. */
async function summarizeARun(name: string, fn: lambda.IFunction, logFile: string): Promise<void> {
  const summarize = deployedHandler(name, fn, batchSummarizeEnvironment({ eventBusName: BUS_ARN, dryRun: false }));
  const prefix = `runs/${unique()}`;
  harness.s3.putObject(RUNS_BUCKET, `${prefix}/${RUN_FILES.prepareReport}`, JSON.stringify({ notActedOn: [] }));
  harness.s3.putObject(RUNS_BUCKET, `${prefix}/${RUN_FILES.input}`, 'line\n');
  const event: SummarizeEvent = {
    runId: prefix,
    source: { bucket: RUNS_BUCKET, key: 'source', etag: 'etag1' },
    runFolder: { bucket: RUNS_BUCKET, prefix },
    inputKey: `${prefix}/${RUN_FILES.input}`,
    rowsToAct: 0,
    totalToActUsdc: 0,
    mapResult: {},
  };
  expect(await summarize(event, lambdaContext())).toMatchObject({ log: `s3://${RUNS_BUCKET}/${prefix}/${logFile}` });
}

beforeAll(async () => {
  harness = await startHarness();
  harness.s3.createBucket(RUNS_BUCKET);
  stack = newStack();
  const connection = newConnection(stack);
  trader = new PredictToTrade(stack, 'Trader', { connection, endpointName: TEST_ENDPOINT_NAME });
  bonus = new TrainingBonusEscrow(stack, 'Bonus', {
    connection,
    release: EscrowRelease.onModelApproval({ modelPackageGroupName: RELEASE_GROUP }),
  });
  payout = new BatchPayout(stack, 'Payout', { connection });
  holds = new FraudHoldEscrow(stack, 'Holds', { connection });
  new PurpleFleaDashboard(stack, 'Dashboard', { monitored: [trader, bonus, payout, holds] });
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
  const handler = deployedHandler('predict-to-trade', trader.lambdaFunction, predictToTradeEnvironment(defaultTradeSettings()));
  const trade = async (modelAnswer: string) => {
    harness.aws.setEndpointHandler(TEST_ENDPOINT_NAME, () => ({ body: modelAnswer, contentType: 'application/json' }));
    const event = {
      eventId: `dash-${unique()}`,
      eventTime: new Date().toISOString(),
      ruleArn: 'arn:aws:events:us-east-1:123456789012:rule/t',
      features: {},
    };
    return counted(await handler(event, lambdaContext()));
  };
  const long = '{"direction":"long","confidence":0.73}';

  const outcomes = [
    await trade(long),
    await trade('{"direction":"hold","confidence":0.9}'),
    await trade('{"direction":"up","confidence":0.9}'),
  ];
  harness.sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'status', status: 402, error: 'insufficient_balance' });
  outcomes.push(await trade(long));
  harness.sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'status', status: 500 });
  outcomes.push(await trade(long));

  expectSectionShowsWhatWasEmitted('PredictToTrade', outcomes);
});

test("TrainingBonusEscrow: the handler's metrics over every outcome, DescribeTrainingJob's latency too, are the ones its section shows", async () => {
  const handler = deployedHandler(
    'training-bonus-escrow',
    bonus.lambdaFunction,
    trainingBonusEscrowEnvironment({
      metricName: 'validation:accuracy',
      metricGoal: 'MAXIMIZE',
      bonusTiers: [{ threshold: 0.8, amountUsdc: 20 }],
      maxBonusUsdc: 1000,
      buyerAgentId: 'agt_platform_treasury',
      sellerTemplate: 'agt_model_{jobName}',
      conditionTemplate: 'model_owner_approved:{jobName}',
      eventBusName: BUS_ARN,
      dryRun: false,
      enabled: true,
    }),
  );
  /** A job SageMaker knows as Completed with these final metrics, and its state-change event. */
  const jobFinished = async (metrics: { [name: string]: number }) => {
    const name = `dash-job-${unique()}`;
    harness.aws.setTrainingJob(name, {
      TrainingJobStatus: 'Completed',
      FinalMetricDataList: Object.entries(metrics).map(([MetricName, Value]) => ({ MetricName, Value, Timestamp: new Date() })),
    });
    const event = {
      'source': 'aws.sagemaker',
      'detail-type': 'SageMaker Training Job State Change',
      'detail': { TrainingJobName: name, TrainingJobStatus: 'Completed' },
    };
    return counted(await handler(event, lambdaContext()));
  };

  const outcomes = [
    await jobFinished({ 'validation:accuracy': 0.93 }),
    await jobFinished({ 'validation:accuracy': 0.42 }),
    await jobFinished({ 'train:loss': 0.2 }),
  ];
  harness.sandbox.injectFaults(ESCROW_CREATE_PATH, { kind: 'status', status: 402, error: 'insufficient_balance' });
  outcomes.push(await jobFinished({ 'validation:accuracy': 0.93 }));
  harness.sandbox.injectFaults(ESCROW_CREATE_PATH, { kind: 'status', status: 500 });
  outcomes.push(await jobFinished({ 'validation:accuracy': 0.93 }));

  expectSectionShowsWhatWasEmitted('TrainingBonusEscrow', outcomes, {}, bonus.lambdaFunction);
});

test("TrainingBonusEscrow's release: its metrics over every outcome are the ones of the section's release row, but for those it leaves out", async () => {
  const handler = deployedHandler(
    'training-bonus-release',
    bonus.releaseFunction!,
    trainingBonusReleaseEnvironment({
      trigger: 'approval',
      modelPackageGroupName: RELEASE_GROUP,
      trainingJobMetadataKey: 'TrainingJobName',
      eventBusName: BUS_ARN,
      dryRun: false,
      enabled: true,
    }),
  );
  /** A job whose escrow the ledger recorded (and the sandbox holds, `status`), and its package's approval. */
  const approved = async (escrow: 'funded' | 'released' | 'refunded' | 'unsettled' | 'none', releaseFault?: Fault) => {
    const job = `dash-release-${unique()}`;
    const jobArn = `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:training-job/${job}`;
    if (escrow !== 'none') {
      const res = await fetch(`${harness.sandbox.baseUrl}${ESCROW_CREATE_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'authorization': `Bearer ${SANDBOX_API_KEY}` },
        body: JSON.stringify({ buyer: 'agt_platform_treasury', seller: 'agt_model', amount: 20, condition: 'approved' }),
      });
      const escrowId = ((await res.json()) as { escrow_id: string }).escrow_id;
      if (escrow === 'released' || escrow === 'refunded') harness.sandbox.setEscrowStatus(escrowId, escrow);
      const now = new Date().toISOString();
      await writeLedger(harness, {
        pk: escrowActionKey(jobArn),
        state: escrow === 'unsettled' ? 'UNKNOWN' : 'SUCCEEDED',
        claimToken: 'dash',
        leaseExpiresAt: 0,
        attempts: 1,
        amountUsdc: 20,
        response: { escrow_id: escrowId },
        createdAt: now,
        updatedAt: now,
      });
    }
    const arn = harness.aws.setModelPackage(RELEASE_GROUP, counter, {
      ModelApprovalStatus: 'Approved',
      CustomerMetadataProperties: escrow === 'none' ? {} : { TrainingJobName: job },
    });
    const event = { detail: { ModelPackageGroupName: RELEASE_GROUP, ModelPackageArn: arn, ModelApprovalStatus: 'Approved' } };
    if (releaseFault) harness.sandbox.injectFaults('*', releaseFault);
    try {
      return counted(await handler(event, lambdaContext()));
    } catch {
      return 'WAITING';
    }
  };

  const outcomes = [await approved('released'), await approved('refunded'), await approved('none')];
  outcomes.push(await approved('funded', { kind: 'status', status: 500 }));
  const otherGroup = {
    detail: { ModelPackageGroupName: 'other-models', ModelPackageArn: harness.aws.setModelPackage('other-models', 1, {}) },
  };
  outcomes.push(counted(await handler(otherGroup, lambdaContext())));
  // Waiting is not an outcome: the invocation fails, to be retried.
  expect(await approved('unsettled')).toBe('WAITING');

  expectSectionShowsWhatWasEmitted(
    'TrainingBonusEscrow',
    outcomes,
    {
      ReleasesSkipped: 'a signal that releases nothing (another group, no escrow) needs no operator: its log line says why',
      ReleasesInvalid: 'an event that names no package, or a package without a training job, needs no operator: its log line says why',
      ApiLatency: "the section's latency graph is the escrows' creation's",
      DescribeModelPackageLatency: "the section's latency graph is the escrows' creation's",
    },
    bonus.releaseFunction,
  );
});

/**
 * A batch construct's Act handler over every outcome: a batch with a good and a malformed row, then the
 * batch redriven (the good row a repeat) with two more rows, which the injected faults reject and leave
 * unknown (one row at a time: the faults meet the rows in order); then one run of its Summarize.
 */
async function actOnEveryOutcome<Item>(act: Handler, path: string, item: (line: number, agentId: string) => Item): Promise<string[]> {
  const batchInput: BatchInput = {
    runId: `dash-${unique()}`,
    sourceBucket: 'scores',
    sourceKey: `scores/${unique()}.csv`,
    sourceEtag: 'etag1',
  };
  const batch = async (items: Item[]) =>
    ((await act({ Items: items, BatchInput: batchInput }, lambdaContext(300_000))) as any).rows.map(counted);
  const outcomes = await batch([item(1, 'agt_paid'), item(2, 'not an agent id!')]);
  harness.sandbox.injectFaults(path, { kind: 'status', status: 402, error: 'insufficient_balance' }, { kind: 'status', status: 500 });
  outcomes.push(...(await batch([item(1, 'agt_paid'), item(3, 'agt_rejected'), item(4, 'agt_unknown')])));
  return outcomes;
}

/** Summarize's metrics, which the section of a batch construct leaves out. */
const runMetricsNotShown = (runsSummarized: string, runUnknownRows: string) => ({
  [runsSummarized]: 'the Runs graph counts runs (AWS/States)',
  [runUnknownRows]: 'the unknown rows are counted by the Act handler, as their outcome',
});

test("BatchPayout: the Pay handler's metrics over every outcome are the ones its section shows; Summarize's, the ones it leaves out", async () => {
  const pay = deployedHandler(
    'batch-payout-pay',
    payout.payFunction,
    batchPayoutPayEnvironment({
      requestsPerSecond: 1000,
      concurrency: 1,
      dryRun: false,
      enabled: true,
      maxPayoutPerAgentUsdc: 1000,
      maxBatchTotalUsdc: 100_000,
    }),
  );
  const row = (line: number, agentId: string): PayoutItem => ({ line: String(line), agent_id: agentId, score: '1', amount_usdc: '10.00' });
  const outcomes = await actOnEveryOutcome(pay, WALLET_TRANSFER_PATH, row);
  await summarizeARun('batch-payout-summarize', payout.summarizeFunction, PAYOUT_LOG_FILE);

  expectSectionShowsWhatWasEmitted('BatchPayout', outcomes, runMetricsNotShown('PayoutRunsSummarized', 'PayoutRunUnknownRows'));
});

test("FraudHoldEscrow: the Act handler's metrics over every outcome are the ones its section shows; Summarize's, the ones it leaves out", async () => {
  const act = deployedHandler(
    'fraud-hold-act',
    holds.actFunction,
    fraudHoldActEnvironment({
      conditionTemplate: 'manual_review_cleared:fraud_score={fraudScore}',
      requestsPerSecond: 1000,
      concurrency: 1,
      dryRun: false,
      enabled: true,
      maxHoldUsdc: 1000,
      maxBatchTotalUsdc: 100_000,
    }),
  );
  const run = unique();
  const record = (line: number, buyer: string): HoldItem => {
    const columns = {
      line: String(line),
      object_key: 'fraud/part-1.out',
      object_etag: 'etag1',
      object_line: String(line),
      transaction_id: `tx-${run}-${line}`,
    };
    return { ...columns, buyer, seller: 'agt_merchant_042', amount_usdc: '25.00', fraud_score: '0.91', transform_job: 'fraud-batch-7' };
  };
  const outcomes = await actOnEveryOutcome(act, ESCROW_CREATE_PATH, record);
  await summarizeARun('fraud-hold-summarize', holds.summarizeFunction, HOLDS_LOG_FILE);

  expectSectionShowsWhatWasEmitted('FraudHoldEscrow', outcomes, runMetricsNotShown('HoldRunsSummarized', 'HoldRunUnknownRows'));
});
