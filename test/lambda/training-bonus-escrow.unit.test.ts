/**
 * The TrainingBonusEscrow handler's factory with plain fakes: DescribeTrainingJob and PutEvents as functions,
 * a money path that sends each action key once and a notification ledger in memory, a fixed clock. No
 * dynalite, no sandbox, no bundle: training-bonus-escrow.handler.test.ts runs the bundled handler end to end.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import {
  createTrainingBonusEscrowHandler,
  EscrowResult,
  NotificationLedger,
  TrainingJobDescription,
} from '../../lambda/training-bonus-escrow/handler';
import type { PutEvents } from '../../lambda/shared/events';
import { GATEWAY_PROFILE } from '../../lambda/shared/purpleflea-api';
import { agentActionKey } from '../../lambda/shared/action-keys';
import type { LedgerRecord } from '../../lambda/shared/action-ledger';
import {
  ESCROW_CREATED_EVENT,
  TRAINING_BONUS_ESCROW_METRICS as METRIC,
  TrainingBonusEscrowSettings,
} from '../../lib/private/contracts/training-bonus-escrow-env';
import { captureOutput, fixedContext } from '../support/handler-fakes';
import { moneyPathFake, MoneyPathFake } from '../support/money-path-fakes';
import { defaultEscrowSettings } from '../support/handler-settings';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const JOB = 'XGBoost-Job-1';
const JOB_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:training-job/xgboost-job-1';
const ACTION_KEY = `v1:escrow:${JOB_ARN}`;
const SELLER_TAG = 'purpleflea:seller';

const defaults = defaultEscrowSettings({ sellerTagKey: SELLER_TAG });

/** The ledger's notification operations, in memory: taken by one invocation at a time, done once. */
function notificationLedger(records: ReadonlyMap<string, LedgerRecord> = new Map()) {
  const taken = new Set<string>();
  const notified = new Set<string>();
  const ledger: NotificationLedger = {
    // The model agents' registry, for a seller taken from it.
    get: async (actionKey) => records.get(actionKey),
    claimNotification: async (actionKey) => {
      if (taken.has(actionKey) || notified.has(actionKey)) return false;
      taken.add(actionKey);
      return true;
    },
    releaseNotification: async (actionKey) => {
      taken.delete(actionKey);
    },
    markNotified: async (actionKey) => {
      taken.delete(actionKey);
      notified.add(actionKey);
    },
  };
  return { ledger, notified };
}

interface Fakes {
  readonly moneyPath: MoneyPathFake;
  readonly notifications: ReturnType<typeof notificationLedger>;
  readonly described: string[];
  readonly announced: PutEventsCommandInput[];
}

/** What SageMaker says of the job (or the error it throws), and whether PutEvents fails. */
interface World {
  job?: TrainingJobDescription | Error;
  putEventsFails?: boolean;
}

function fakes(records?: ReadonlyMap<string, LedgerRecord>): Fakes {
  const notifications = notificationLedger(records);
  return {
    notifications,
    moneyPath: moneyPathFake(
      () => ({ status: 'SUCCEEDED', response: { escrow_id: 'esc_1' } }),
      (key) => notifications.notified.has(key),
    ),
    described: [],
    announced: [],
  };
}

function escrowHandler(settings: Partial<TrainingBonusEscrowSettings> = {}, world: World = {}, f: Fakes = fakes()) {
  const putEvents: PutEvents = async (input) => {
    if (world.putEventsFails) return { FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] };
    f.announced.push(input);
    return { FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] };
  };
  const handler = createTrainingBonusEscrowHandler({
    settings: { ...defaults, ...settings },
    runtime: { api: GATEWAY_PROFILE, moneyPath: f.moneyPath, ledger: f.notifications.ledger, agentId: async () => 'agt_unit_buyer' },
    describeTrainingJob: async (jobName) => {
      f.described.push(jobName);
      const job = world.job ?? described(0.93);
      if (job instanceof Error) throw job;
      return job;
    },
    putEvents,
    now: () => NOW,
    logger: new Logger({ serviceName: 'unit' }),
    metrics: new Metrics({ namespace: 'Unit', serviceName: 'unit' }),
  });
  return { invoke: (event: unknown): Promise<EscrowResult> => handler(event, fixedContext()), ...f };
}

function described(accuracy: number | undefined): TrainingJobDescription {
  return {
    TrainingJobArn: JOB_ARN,
    FinalMetricDataList: accuracy === undefined ? [] : [{ MetricName: 'validation:accuracy', Value: accuracy }],
  };
}

function jobEvent(detail: { [key: string]: unknown } = {}) {
  return {
    source: 'aws.sagemaker',
    detail: { TrainingJobName: JOB, TrainingJobArn: JOB_ARN, TrainingJobStatus: 'Completed', Tags: {}, ...detail },
  };
}

let output: ReturnType<typeof captureOutput>;
beforeEach(() => {
  output = captureOutput();
});
afterEach(() => output.restore());

describe('createTrainingBonusEscrowHandler', () => {
  test("accuracy 0.93: one escrow of the best tier's bonus, from the buyer to the templated seller, announced once", async () => {
    const { invoke, moneyPath, announced, notifications, described: asked } = escrowHandler();
    const result = await invoke(jobEvent());

    expect(result).toEqual({
      status: 'SUCCEEDED',
      jobName: JOB,
      actionKey: ACTION_KEY,
      metricValue: 0.93,
      bonusUsdc: 50,
      seller: 'agt_model_XGBoost-Job-1',
      escrowId: 'esc_1',
      repeated: false,
      reason: undefined,
    });
    expect(asked).toEqual([JOB]);
    expect(moneyPath.sent).toEqual([
      {
        actionKey: ACTION_KEY,
        amountUsdc: 50,
        request: GATEWAY_PROFILE.createEscrow({
          buyer: 'agt_platform_treasury',
          seller: 'agt_model_XGBoost-Job-1',
          amountUsdc: 50,
          condition: `model_owner_approved:${JOB}`,
          metadata: { training_job: JOB, metric_name: 'validation:accuracy', metric_value: 0.93, trigger: 'sagemaker-training-complete' },
        }),
      },
    ]);
    // 30 s left less the recording margin (5 s), on the fixed clock.
    expect(moneyPath.calls[0].options.deadline).toBe(NOW + 25_000);
    expect(announced).toHaveLength(1);
    expect(announced[0].Entries).toEqual([
      expect.objectContaining({
        EventBusName: 'default',
        Source: ESCROW_CREATED_EVENT.source,
        DetailType: ESCROW_CREATED_EVENT.detailType,
        Resources: [JOB_ARN],
      }),
    ]);
    expect(JSON.parse(announced[0].Entries![0].Detail!)).toEqual({
      escrow_id: 'esc_1',
      training_job: JOB,
      training_job_arn: JOB_ARN,
      amount_usdc: 50,
      buyer: 'agt_platform_treasury',
      seller: 'agt_model_XGBoost-Job-1',
      condition: `model_owner_approved:${JOB}`,
      metric_name: 'validation:accuracy',
      metric_value: 0.93,
      action_key: ACTION_KEY,
    });
    expect(notifications.notified.has(ACTION_KEY)).toBe(true);
    expect(output.metric(METRIC.escrowsCreated)).toBe(1);
    expect(output.metric(METRIC.bonusUsdc)).toBe(50);
  });

  test("the seller comes from the job's tag when it has one; an invalid one is INVALID with the tag named", async () => {
    const tagged = escrowHandler();
    expect(await tagged.invoke(jobEvent({ Tags: { [SELLER_TAG]: 'agt_alice' } }))).toMatchObject({
      status: 'SUCCEEDED',
      seller: 'agt_alice',
    });

    const bad = escrowHandler();
    expect(await bad.invoke(jobEvent({ Tags: { [SELLER_TAG]: 'not an agent' } }))).toMatchObject({
      status: 'INVALID',
      reason: `the job's tag "${SELLER_TAG}" gives an invalid seller agent id for job ${JOB}: "not an agent"`,
    });
    expect(bad.moneyPath.calls).toEqual([]);
  });

  test('disabled, or a job that did not complete: SKIPPED, SageMaker never asked', async () => {
    const disabled = escrowHandler({ enabled: false });
    expect(await disabled.invoke(jobEvent())).toEqual({ status: 'SKIPPED', jobName: JOB, reason: 'disabled (enabled: false)' });
    expect(disabled.described).toEqual([]);

    const failed = escrowHandler();
    expect(await failed.invoke(jobEvent({ TrainingJobStatus: 'Failed' }))).toEqual({
      status: 'SKIPPED',
      jobName: JOB,
      reason: 'the job is Failed, not Completed',
    });
    expect(failed.described).toEqual([]);
  });

  test('below every tier: SKIPPED with the metric; a bonus over maxBonusUsdc: INVALID, never reduced', async () => {
    const low = escrowHandler({}, { job: described(0.65) });
    expect(await low.invoke(jobEvent())).toMatchObject({
      status: 'SKIPPED',
      bonusUsdc: 0,
      reason: 'validation:accuracy 0.65 is below every bonus tier',
    });

    const over = escrowHandler({ maxBonusUsdc: 40 });
    expect(await over.invoke(jobEvent())).toMatchObject({
      status: 'INVALID',
      bonusUsdc: 50,
      reason: 'bonus 50 USDC is over maxBonusUsdc 40',
    });
    expect([...low.moneyPath.calls, ...over.moneyPath.calls]).toEqual([]);
  });

  test('a job without the metric is INVALID naming the metrics it has; one SageMaker does not know is INVALID; any other failure is thrown', async () => {
    const missing = escrowHandler(
      {},
      { job: { TrainingJobArn: JOB_ARN, FinalMetricDataList: [{ MetricName: 'train:loss', Value: 0.1 }] } },
    );
    expect(await missing.invoke(jobEvent())).toMatchObject({
      status: 'INVALID',
      actionKey: ACTION_KEY,
      reason: `job ${JOB} has no final metric "validation:accuracy" (it has: train:loss)`,
    });

    const unknown = escrowHandler({}, { job: Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFound' }) });
    expect(await unknown.invoke(jobEvent())).toMatchObject({
      status: 'INVALID',
      reason: expect.stringContaining(`training job ${JOB} was not found by DescribeTrainingJob`),
    });

    const throttled = escrowHandler({}, { job: Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }) });
    await expect(throttled.invoke(jobEvent())).rejects.toThrow(
      `DescribeTrainingJob failed for training job ${JOB}: ThrottlingException: Rate exceeded`,
    );
    expect([...missing.moneyPath.calls, ...unknown.moneyPath.calls, ...throttled.moneyPath.calls]).toEqual([]);
  });

  test('dry run: decided and reported, nothing sent or announced', async () => {
    const { invoke, moneyPath, announced } = escrowHandler({ dryRun: true });
    expect(await invoke(jobEvent())).toMatchObject({
      status: 'SKIPPED',
      bonusUsdc: 50,
      seller: 'agt_model_XGBoost-Job-1',
      reason: 'dry run: would escrow 50 USDC from agt_platform_treasury to agt_model_XGBoost-Job-1',
    });
    expect(moneyPath.calls).toEqual([]);
    expect(announced).toEqual([]);
  });

  test('a repeat delivery sends and announces nothing again, and reports the escrow recorded; after the tiers changed, says what it computed', async () => {
    const shared = fakes();
    await escrowHandler({}, {}, shared).invoke(jobEvent());

    const repeat = await escrowHandler({}, {}, shared).invoke(jobEvent());
    expect(repeat).toMatchObject({ status: 'SUCCEEDED', repeated: true, bonusUsdc: 50, escrowId: 'esc_1' });
    expect(repeat.note).toBeUndefined();

    const retiered = await escrowHandler({ bonusTiers: [{ threshold: 0.9, amountUsdc: 75 }] }, {}, shared).invoke(jobEvent());
    expect(retiered).toMatchObject({
      status: 'SUCCEEDED',
      repeated: true,
      bonusUsdc: 50,
      computedBonusUsdc: 75,
      note: 'repeated: the ledger recorded an escrow of 50 USDC for this job; this delivery computed 75 USDC',
    });
    expect(shared.moneyPath.sent).toHaveLength(1);
    expect(shared.announced).toHaveLength(1);
  });

  test('a failed announcement fails the invocation and gives the notification back; the retry announces, with no second escrow', async () => {
    const shared = fakes();
    await expect(escrowHandler({}, { putEventsFails: true }, shared).invoke(jobEvent())).rejects.toThrow(
      `PutEvents failed for the escrow of job ${JOB}: InternalFailure`,
    );
    expect(shared.notifications.notified.has(ACTION_KEY)).toBe(false);

    expect(await escrowHandler({}, {}, shared).invoke(jobEvent())).toMatchObject({ status: 'SUCCEEDED', repeated: true });
    expect(shared.moneyPath.sent).toHaveLength(1);
    expect(shared.announced).toHaveLength(1);
    expect(shared.notifications.notified.has(ACTION_KEY)).toBe(true);
  });

  test('an escrow whose answer was lost is UNKNOWN, logged as an error, and not announced', async () => {
    const f = fakes();
    const lost = { ...f, moneyPath: moneyPathFake(() => ({ status: 'UNKNOWN', error: 'no answer after sending' })) };
    expect(await escrowHandler({}, {}, lost).invoke(jobEvent())).toMatchObject({ status: 'UNKNOWN', reason: 'no answer after sending' });
    expect(lost.announced).toEqual([]);
    expect(output.records().filter((line) => line.message === 'escrow UNKNOWN')).toEqual([expect.objectContaining({ level: 'ERROR' })]);
  });
});

/** The model agents' registry entry of JOB_ARN (ModelAgents' v1:agent: record) in a given state. */
function registryEntry(state: LedgerRecord['state'], response?: { [key: string]: unknown }): ReadonlyMap<string, LedgerRecord> {
  const record: LedgerRecord = {
    actionKey: agentActionKey(JOB_ARN),
    state,
    claimToken: 'registration',
    leaseExpiresAt: 0,
    attempts: 1,
    response,
    createdAt: '2026-12-04T00:00:00.000Z',
    updatedAt: '2026-12-04T00:00:00.000Z',
  };
  return new Map([[record.actionKey, record]]);
}

describe('the seller from the model agents registry (sellerFrom: ModelAgents)', () => {
  const registered = () =>
    registryEntry('SUCCEEDED', { agent_id: 'agt_model_agent_7', secret_arn: 'arn:aws:secretsmanager:x', model_version: JOB_ARN });

  test("a registered model version's agent is the seller", async () => {
    const { invoke, moneyPath } = escrowHandler({ sellerFromRegistry: true }, {}, fakes(registered()));
    expect(await invoke(jobEvent())).toMatchObject({ status: 'SUCCEEDED', seller: 'agt_model_agent_7' });
    expect(moneyPath.sent[0].request.body).toMatchObject({ seller: 'agt_model_agent_7' });
  });

  test("the job's seller tag still names its own seller, without reading the registry", async () => {
    const { invoke, moneyPath } = escrowHandler({ sellerFromRegistry: true }, {}, fakes(new Map()));
    expect(await invoke(jobEvent({ Tags: { [SELLER_TAG]: 'agt_tagged' } }))).toMatchObject({ status: 'SUCCEEDED', seller: 'agt_tagged' });
    expect(moneyPath.sent).toHaveLength(1);
  });

  test.each([
    ['not registered yet', new Map<string, LedgerRecord>(), 'NOT_REGISTERED'],
    ['a registration under way', registryEntry('SENDING'), 'PENDING'],
    ['a registration whose answer was lost', registryEntry('UNKNOWN'), 'UNKNOWN'],
  ])('%s: nothing escrowed, the invocation fails to be retried (never a guessed seller)', async (_name, records, status) => {
    const { invoke, moneyPath } = escrowHandler({ sellerFromRegistry: true }, {}, fakes(records));
    await expect(invoke(jobEvent())).rejects.toThrow(`its model agent, which is ${status}`);
    expect(moneyPath.calls).toHaveLength(0);
  });

  test('without sellerFrom the registry is never read: the template decides', async () => {
    const { invoke } = escrowHandler({}, {}, fakes(registered()));
    expect(await invoke(jobEvent())).toMatchObject({ status: 'SUCCEEDED', seller: 'agt_model_XGBoost-Job-1' });
  });
});
