import { once } from 'node:events';
import { idempotencyKey } from '../../lambda/shared/purpleflea-client';
import {
  ESCROW_CREATED_EVENT,
  TRAINING_BONUS_ESCROW_METRICS as METRIC,
  trainingBonusEscrowEnvironment,
  TrainingBonusEscrowSettings,
} from '../../lib/private/contracts/training-bonus-escrow-env';
import { FAKE_ACCOUNT_ID, FAKE_REGION } from '../support/fake-aws';
import { ESCROW_CREATE_PATH } from '../support/purpleflea-sandbox';
import {
  captureOutput,
  Harness,
  handlerEnvironment,
  invokeInProcesses,
  lambdaContext,
  loadBundledHandler,
  readLedger,
  startHarness,
  startInvocationProcess,
  writeLedger,
} from './handler-harness';
import { defaultEscrowSettings } from '../support/handler-settings';

type Handler = (event: unknown, context: unknown) => Promise<{ status: string; [key: string]: any }>;

const BUS_ARN = `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:event-bus/default`;
const SELLER_TAG = 'purpleflea:seller';

const defaults = defaultEscrowSettings({ sellerTagKey: SELLER_TAG, eventBusName: BUS_ARN });

let harness: Harness;
let output: ReturnType<typeof captureOutput>;
let jobCounter = 0;

function env(settings: Partial<TrainingBonusEscrowSettings> = {}) {
  return {
    ...handlerEnvironment(harness, trainingBonusEscrowEnvironment({ ...defaults, ...settings })),
    POWERTOOLS_SERVICE_NAME: METRIC.serviceName,
  };
}
const load = (settings: Partial<TrainingBonusEscrowSettings> = {}) =>
  loadBundledHandler<{ handler: Handler }>('training-bonus-escrow', env(settings)).handler;

const jobArn = (name: string) => `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:training-job/${name.toLowerCase()}`;

/** A finished training job SageMaker knows, with its final metrics, and its state-change event. */
function completedJob(
  metrics: { [name: string]: number | string } = { 'validation:accuracy': 0.93 },
  tags: { [key: string]: string } = {},
) {
  jobCounter += 1;
  const name = `XGBoost-Job-${jobCounter}-${Date.now()}`;
  harness.aws.setTrainingJob(name, {
    TrainingJobStatus: 'Completed',
    FinalMetricDataList: Object.entries(metrics).map(([MetricName, Value]) => ({ MetricName, Value, Timestamp: new Date() })),
  });
  const event = {
    'version': '0',
    'id': `evt-${jobCounter}`,
    'detail-type': 'SageMaker Training Job State Change',
    'source': 'aws.sagemaker',
    'account': FAKE_ACCOUNT_ID,
    'time': new Date().toISOString(),
    'region': FAKE_REGION,
    'resources': [jobArn(name)],
    'detail': {
      TrainingJobName: name,
      TrainingJobArn: jobArn(name),
      TrainingJobStatus: 'Completed',
      SecondaryStatus: 'Completed',
      Tags: tags,
    },
  };
  return { name, event, actionKey: `v1:escrow:${jobArn(name)}` };
}

const escrows = () => harness.sandbox.committed(ESCROW_CREATE_PATH);

beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness.close();
});
beforeEach(() => {
  harness.sandbox.reset();
  output = captureOutput();
});
afterEach(() => output.restore());

describe('TrainingBonusEscrow handler: a finished job that beats its bar gets one escrow', () => {
  let handler: Handler;
  beforeAll(() => {
    handler = load();
  });

  test("accuracy 0.93 escrows the story's bonus, records the escrow id, and announces it on the bus", async () => {
    const job = completedJob({ 'validation:accuracy': 0.93, 'train:loss': 0.2 });
    const putEventsBefore = harness.aws.putEvents.length;
    const result = await handler(job.event, lambdaContext());

    expect(result).toMatchObject({ status: 'SUCCEEDED', actionKey: job.actionKey, bonusUsdc: 50, metricValue: 0.93, repeated: false });
    expect(escrows()).toHaveLength(1);
    expect(escrows()[0].body).toEqual({
      buyer: 'agt_platform_treasury',
      seller: `agt_model_${job.name}`,
      amount: 50,
      condition: `model_owner_approved:${job.name}`,
      metadata: { training_job: job.name, metric_name: 'validation:accuracy', metric_value: 0.93, trigger: 'sagemaker-training-complete' },
    });
    expect(escrows()[0].idempotencyKey).toBe(idempotencyKey(job.actionKey));
    expect(result.escrowId).toBe(escrows()[0].id);
    expect(await readLedger(harness, job.actionKey)).toMatchObject({
      state: 'SUCCEEDED',
      response: { escrow_id: result.escrowId },
      notifiedAt: expect.any(String),
    });

    const announced = harness.aws.putEvents.slice(putEventsBefore);
    expect(announced).toHaveLength(1);
    expect(announced[0]).toMatchObject({
      Source: ESCROW_CREATED_EVENT.source,
      DetailType: ESCROW_CREATED_EVENT.detailType,
      EventBusName: BUS_ARN,
    });
    expect(JSON.parse(announced[0].Detail!)).toMatchObject({
      escrow_id: result.escrowId,
      training_job: job.name,
      amount_usdc: 50,
      seller: `agt_model_${job.name}`,
      action_key: job.actionKey,
    });
    expect(output.metric(METRIC.escrowsCreated)).toBe(1);
    expect(output.metric(METRIC.bonusUsdc)).toBe(50);
  });

  test.each([
    [0.9, 20],
    [0.85, 20],
    [0.8, 5],
    [0.7000001, 5],
  ])('a tier boundary: accuracy %d escrows %d', async (accuracy, bonus) => {
    const job = completedJob({ 'validation:accuracy': accuracy });
    expect(await handler(job.event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', bonusUsdc: bonus });
    expect(escrows().map((escrow) => escrow.body.amount)).toEqual([bonus]);
  });

  test.each([0.7, 0.42])('accuracy %d is below the bar: no escrow, no event', async (accuracy) => {
    const job = completedJob({ 'validation:accuracy': accuracy });
    const putEventsBefore = harness.aws.putEvents.length;
    const result = await handler(job.event, lambdaContext());
    expect(result).toMatchObject({ status: 'SKIPPED', reason: `validation:accuracy ${accuracy} is below every bonus tier` });
    expect(harness.sandbox.calls).toHaveLength(0);
    expect(harness.aws.putEvents.length).toBe(putEventsBefore);
    expect(output.metric(METRIC.escrowsSkipped)).toBe(1);
  });

  test("the seller comes from the job's tag when it has one", async () => {
    const job = completedJob({ 'validation:accuracy': 0.95 }, { [SELLER_TAG]: 'ag_model_owner_7', team: 'fraud' });
    expect(await handler(job.event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', seller: 'ag_model_owner_7' });
    expect(escrows()[0].body.seller).toBe('ag_model_owner_7');
  });

  test('a repeat delivery after success returns the escrow id without calling the API or announcing again', async () => {
    const job = completedJob();
    const first = await handler(job.event, lambdaContext());
    const putEventsAfterFirst = harness.aws.putEvents.length;
    const again = await handler(job.event, lambdaContext());
    expect(again).toMatchObject({ status: 'SUCCEEDED', repeated: true, escrowId: first.escrowId });
    expect(escrows()).toHaveLength(1);
    expect(harness.aws.putEvents.length).toBe(putEventsAfterFirst);
    expect(output.metric(METRIC.escrowsCreated)).toBe(1);
  });
});

describe('TrainingBonusEscrow handler: MINIMIZE for loss-like metrics', () => {
  test('a loss strictly below a threshold earns its tier', async () => {
    const handler = load({
      metricName: 'validation:rmse',
      metricGoal: 'MINIMIZE',
      bonusTiers: [
        { threshold: 0.1, amountUsdc: 50 },
        { threshold: 0.2, amountUsdc: 20 },
      ],
    });
    const results = [];
    for (const rmse of [0.05, 0.1, 0.25]) results.push(await handler(completedJob({ 'validation:rmse': rmse }).event, lambdaContext()));
    expect(results.map((r) => [r.status, r.bonusUsdc])).toEqual([
      ['SUCCEEDED', 50],
      ['SUCCEEDED', 20],
      ['SKIPPED', 0],
    ]);
    expect(escrows().map((escrow) => escrow.body.amount)).toEqual([50, 20]);
  });
});

describe('TrainingBonusEscrow handler: exactly one escrow per training job, ever', () => {
  test('the same Completed event 10 times concurrently, from 2 processes: one escrow, one announcement', async () => {
    const job = completedJob();
    const putEventsBefore = harness.aws.putEvents.length;
    const results = await invokeInProcesses('training-bonus-escrow', env(), job.event, 2, 5);
    expect(results).toHaveLength(10);
    expect(escrows()).toHaveLength(1);
    expect(harness.sandbox.calls).toHaveLength(1);
    expect(results.filter((r) => r.status === 'SUCCEEDED' || r.status === 'IN_PROGRESS')).toHaveLength(10);
    expect(harness.aws.putEvents.length - putEventsBefore).toBe(1);
  });

  test('after a Lambda that died mid-call (the escrow was created, the answer never recorded): never a second escrow', async () => {
    const job = completedJob();
    harness.sandbox.injectFaults(ESCROW_CREATE_PATH, { kind: 'timeout-after-commit' });
    const doomed = startInvocationProcess('training-bonus-escrow', env(), job.event);
    await harness.sandbox.waitForCalls(1, 10_000);
    doomed.kill('SIGKILL');
    await once(doomed, 'exit');
    expect(escrows()).toHaveLength(1);
    expect(await readLedger(harness, job.actionKey)).toMatchObject({ state: 'SENDING' });

    const handler = load();
    // Redelivered while the dead invocation's lease still runs: nothing is sent.
    expect(await handler(job.event, lambdaContext())).toMatchObject({ status: 'IN_PROGRESS' });
    // Redelivered after the lease ran out: UNKNOWN, for an operator; still nothing is sent.
    const record = await readLedger(harness, job.actionKey);
    await writeLedger(harness, { ...record, leaseExpiresAt: Date.now() - 1 });
    expect(await handler(job.event, lambdaContext())).toMatchObject({ status: 'UNKNOWN', repeated: false });
    expect(await handler(job.event, lambdaContext())).toMatchObject({ status: 'UNKNOWN', repeated: true });
    expect(harness.sandbox.calls).toHaveLength(1);
    expect(escrows()).toHaveLength(1);
    expect(output.metric(METRIC.escrowsUnknown)).toBe(1);
  });
});

describe('finding 6: a repeated escrow reports, and announces, the escrow the ledger recorded', () => {
  test('finding 6: redelivered after the tiers changed, the result shows the 50 USDC escrowed, says this delivery computed 75, and a late announcement names 50', async () => {
    const job = completedJob({ 'validation:accuracy': 0.93 });
    expect(await load()(job.event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', bonusUsdc: 50, repeated: false });
    // As if the first invocation died between the escrow and its announcement.
    const { notifiedAt: _announced, notifyLeaseUntil: _announcing, ...record } = (await readLedger(harness, job.actionKey))!;
    await writeLedger(harness, record);
    const putEventsBefore = harness.aws.putEvents.length;

    const repeat = await load({ bonusTiers: [{ threshold: 0.9, amountUsdc: 75 }] })(job.event, lambdaContext());
    expect(escrows()).toHaveLength(1);
    expect(repeat).toMatchObject({
      status: 'SUCCEEDED',
      repeated: true,
      bonusUsdc: 50,
      computedBonusUsdc: 75,
      note: 'repeated: the ledger recorded an escrow of 50 USDC for this job; this delivery computed 75 USDC',
    });
    const announced = harness.aws.putEvents.slice(putEventsBefore);
    expect(announced).toHaveLength(1);
    expect(JSON.parse(announced[0].Detail!)).toMatchObject({
      amount_usdc: 50,
      seller: escrows()[0].body.seller,
      condition: escrows()[0].body.condition,
    });
  });
});

describe('TrainingBonusEscrow handler: bad input gets no escrow and one clear log line', () => {
  let handler: Handler;
  beforeAll(() => {
    handler = load();
  });

  async function expectInvalid(event: unknown, reason: string | RegExp) {
    const result = await handler(event, lambdaContext());
    expect(result.status).toBe('INVALID');
    expect(result.reason).toMatch(reason);
    expect(harness.sandbox.calls).toHaveLength(0);
    const logged = output.records().filter((line) => line.message === 'escrow INVALID');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'ERROR' });
    expect(logged[0].reason).toMatch(reason);
  }

  test('a job SageMaker cannot find', async () => {
    const job = completedJob();
    const unknown = { ...job.event, detail: { ...job.event.detail, TrainingJobName: 'never-ran', TrainingJobArn: jobArn('never-ran') } };
    await expectInvalid(unknown, 'training job never-ran was not found by DescribeTrainingJob');
  });

  test('a job without the metric, naming the metrics it has', async () => {
    const job = completedJob({ 'train:loss': 0.3 });
    await expectInvalid(job.event, `job ${job.name} has no final metric "validation:accuracy" (it has: train:loss)`);
  });

  test.each(['NaN', 'Infinity'])('a %s metric value', async (value) => {
    const job = completedJob({ 'validation:accuracy': value });
    await expectInvalid(job.event, `final metric "validation:accuracy" is not a finite number, got ${value}`);
  });

  test('a malformed event', async () => {
    await expectInvalid(
      { source: 'aws.sagemaker', detail: { TrainingJobStatus: 'Completed' } },
      'detail.TrainingJobName must be a non-empty string',
    );
  });

  test('a seller tag that is not a valid agent id', async () => {
    const job = completedJob({ 'validation:accuracy': 0.95 }, { [SELLER_TAG]: 'not an agent!' });
    await expectInvalid(job.event, `the job's tag "${SELLER_TAG}" gives an invalid seller agent id for job ${job.name}: "not an agent!"`);
  });

  test('a bonus over maxBonusUsdc is invalid, never reduced', async () => {
    const capped = load({ maxBonusUsdc: 30 });
    const job = completedJob({ 'validation:accuracy': 0.99 });
    const result = await capped(job.event, lambdaContext());
    expect(result).toMatchObject({ status: 'INVALID', reason: 'bonus 50 USDC is over maxBonusUsdc 30' });
    expect(harness.sandbox.calls).toHaveLength(0);
  });
});

describe('TrainingBonusEscrow handler: faults', () => {
  let handler: Handler;
  beforeAll(() => {
    handler = load();
  });

  test('a throttled DescribeTrainingJob is retried', async () => {
    const job = completedJob();
    const before = harness.aws.operations.length;
    harness.aws.injectFault('DescribeTrainingJob', { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' });
    harness.aws.injectFault('DescribeTrainingJob', { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' });
    expect((await handler(job.event, lambdaContext())).status).toBe('SUCCEEDED');
    expect(harness.aws.operations.slice(before).filter((op) => op === 'DescribeTrainingJob')).toHaveLength(3);
    expect(escrows()).toHaveLength(1);
  });

  test('a DescribeTrainingJob that keeps failing fails the invocation (Lambda retries it), with no escrow', async () => {
    const job = completedJob();
    for (let i = 0; i < 5; i++) harness.aws.injectFault('DescribeTrainingJob', { status: 500, type: 'InternalFailure', message: 'boom' });
    await expect(handler(job.event, lambdaContext())).rejects.toThrow(
      `DescribeTrainingJob failed for training job ${job.name}: InternalFailure`,
    );
    expect(harness.sandbox.calls).toHaveLength(0);
    // The retry Lambda makes finds SageMaker well again.
    expect((await handler(job.event, lambdaContext())).status).toBe('SUCCEEDED');
    expect(escrows()).toHaveLength(1);
  });

  test('a 429 then success gives one escrow', async () => {
    const job = completedJob();
    harness.sandbox.injectFaults(ESCROW_CREATE_PATH, { kind: 'status', status: 429 });
    expect((await handler(job.event, lambdaContext())).status).toBe('SUCCEEDED');
    expect(harness.sandbox.calls.map((call) => call.status)).toEqual([429, 200]);
    expect(escrows()).toHaveLength(1);
  });

  test('a lost answer after sending is UNKNOWN, alarmed, and never re-sent', async () => {
    const job = completedJob();
    harness.sandbox.injectFaults(ESCROW_CREATE_PATH, { kind: 'reset-after-commit' });
    expect((await handler(job.event, lambdaContext())).status).toBe('UNKNOWN');
    expect(await handler(job.event, lambdaContext())).toMatchObject({ status: 'UNKNOWN', repeated: true });
    expect(harness.sandbox.calls).toHaveLength(1);
    expect(output.metric(METRIC.escrowsUnknown)).toBe(1);
  });

  test('a failed announcement fails the invocation; the retry announces without a second escrow', async () => {
    const job = completedJob();
    const before = harness.aws.putEvents.length;
    harness.aws.injectFault('PutEvents', { status: 500, type: 'InternalException', message: 'down' });
    harness.aws.injectFault('PutEvents', { status: 500, type: 'InternalException', message: 'down' });
    harness.aws.injectFault('PutEvents', { status: 500, type: 'InternalException', message: 'down' });
    await expect(handler(job.event, lambdaContext())).rejects.toThrow();
    expect(escrows()).toHaveLength(1);
    const retried = await handler(job.event, lambdaContext());
    expect(retried).toMatchObject({ status: 'SUCCEEDED', repeated: true });
    expect(escrows()).toHaveLength(1);
    expect(harness.aws.putEvents.length - before).toBe(1);
  });
});

describe('TrainingBonusEscrow handler: switches', () => {
  test('dryRun decides and logs but makes no call and writes no ledger record', async () => {
    const handler = load({ dryRun: true });
    const job = completedJob();
    const result = await handler(job.event, lambdaContext());
    expect(result).toMatchObject({
      status: 'SKIPPED',
      reason: `dry run: would escrow 50 USDC from agt_platform_treasury to agt_model_${job.name}`,
    });
    expect(harness.sandbox.calls).toHaveLength(0);
    expect(await readLedger(harness, job.actionKey)).toBeUndefined();
  });

  test('enabled: false does nothing, not even DescribeTrainingJob', async () => {
    const handler = load({ enabled: false });
    const job = completedJob();
    const before = harness.aws.operations.length;
    expect((await handler(job.event, lambdaContext())).status).toBe('SKIPPED');
    expect(harness.aws.operations.length).toBe(before);
    expect(harness.sandbox.calls).toHaveLength(0);
  });

  test('the secret value appears nowhere in the logs', async () => {
    const handler = load();
    await handler(completedJob().event, lambdaContext());
    expect(output.text()).toContain('escrow SUCCEEDED');
    expect(output.text()).not.toContain('pf_sandbox_not_a_real_key');
  });
});
