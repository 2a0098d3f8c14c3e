/**
 * FraudHoldEscrow's review (issue 14, HoldReview), end to end with the bundled handlers, on both profiles: holds placed
 * by Act → the run's holds log → one A2I human loop per hold (a repeated start is the same loop) → the loops complete
 * with several reviewers' answers in output.json (fake S3) → a cleared hold released once and announced once, a
 * confirmed fraud kept (or disputed once); the user's own review event takes the same path. Duplicated and concurrent
 * completions release once; a lost answer is UNKNOWN and never re-sent; 409s are read back; a hold that is not
 * settled is not released (the event is retried); bad events make no call and say why.
 */
import { disputeActionKey, holdActionKey, releaseActionKey } from '../../lambda/shared/action-keys';
import { humanLoopNameOf } from '../../lambda/shared/human-loop';
import { fraudHoldActEnvironment, HOLDS_COMPLETED_EVENT, HoldItem } from '../../lib/private/contracts/fraud-hold-env';
import {
  FRAUD_HOLD_RELEASE_METRICS as METRIC,
  FRAUD_HOLD_REVIEW_START_METRICS as START_METRIC,
  fraudHoldReleaseEnvironment,
  FraudHoldReleaseSettings,
  fraudHoldReviewStartEnvironment,
  HOLD_REVIEW_COMPLETED_EVENT,
  HUMAN_LOOP_STATUS_CHANGE,
} from '../../lib/private/contracts/hold-review-env';
import { ESCROW_RELEASED_EVENT } from '../../lib/private/contracts/escrow-events';
import { applyEnvironment, awsTestEnvironment } from '../support/aws-env';
import { FAKE_ACCOUNT_ID, FAKE_REGION, FakeAws } from '../support/fake-aws';
import { FakeS3 } from '../support/fake-s3';
import { Fault } from '../support/sandbox-server';
import { CasinoAgent } from '../support/purpleflea-services-sandbox';
import {
  captureOutput,
  Harness,
  handlerEnvironment,
  lambdaContext,
  loadBundledHandler,
  readLedger,
  startHarness,
  writeLedger,
} from './handler-harness';
import { readServicesLedger, resetServices, servicesEnvironment, ServicesHarness, startServicesHarness } from './services-harness';

type Handler = (event: unknown, context: unknown) => Promise<{ status: string; [key: string]: any }>;

const BUS_ARN = `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:event-bus/default`;
const FLOW = `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:flow-definition/hold-review`;
const RUN_BUCKET = 'hold-runs';
const LOOP_BUCKET = 'a2i-output';
const LOOP_PREFIX = 'reviews';

const releaseDefaults: FraudHoldReleaseSettings = {
  source: 'augmented-ai',
  flowDefinitionArn: FLOW,
  humanLoopOutputBucket: LOOP_BUCKET,
  humanLoopOutputPrefix: LOOP_PREFIX,
  answers: { answerField: 'decision', fraudValue: 'fraud', clearValue: 'clear', decisionRule: 'any-fraud' },
  onConfirmedFraud: 'keep-hold',
  eventBusName: BUS_ARN,
  dryRun: false,
  enabled: true,
};

interface World {
  readonly aws: FakeAws;
  readonly s3: FakeS3;
  awsEnv(): { [name: string]: string };
  actEnv(): { [name: string]: string };
  releaseEnv(settings?: Partial<FraudHoldReleaseSettings>): { [name: string]: string };
  reset(): void;
  seller(): string;
  releases(): readonly string[];
  disputes(): readonly { id: string; reason: string }[];
  /** Release and dispute requests that reached the sandbox. */
  calls(): number;
  injectReleaseFault(fault: Fault): void;
  moveEscrow(escrowId: string, to: 'released' | 'disputed'): Promise<void>;
  ledger(key: string): Promise<{ [key: string]: any } | undefined>;
  setLedger(record: { [key: string]: unknown }): Promise<void>;
}

let gatewayHarness: Harness;
let servicesHarness: ServicesHarness;
let servicesSeller: CasinoAgent;
let output: ReturnType<typeof captureOutput>;

const actSettings = {
  conditionTemplate: 'manual_review_cleared',
  requestsPerSecond: 2000,
  concurrency: 5,
  dryRun: false,
  enabled: true,
  maxHoldUsdc: 1000,
  maxBatchTotalUsdc: 100_000,
};

const gatewayWorld: World = {
  get aws() {
    return gatewayHarness.aws;
  },
  get s3() {
    return gatewayHarness.s3;
  },
  awsEnv: () => awsTestEnvironment(gatewayHarness.aws.url, gatewayHarness.dynamo.endpoint, gatewayHarness.s3.url),
  actEnv: () => handlerEnvironment(gatewayHarness, fraudHoldActEnvironment(actSettings)),
  releaseEnv: (settings = {}) => handlerEnvironment(gatewayHarness, fraudHoldReleaseEnvironment({ ...releaseDefaults, ...settings })),
  reset: () => gatewayHarness.sandbox.reset(),
  seller: () => 'agt_merchant',
  releases: () =>
    gatewayHarness.sandbox
      .committed()
      .filter((action) => action.kind === 'release')
      .map((action) => action.id),
  disputes: () =>
    gatewayHarness.sandbox
      .committed()
      .filter((action) => action.kind === 'dispute')
      .map((action) => ({ id: action.id, reason: String(action.body.reason) })),
  calls: () => gatewayHarness.sandbox.calls.filter((call) => /^\/escrow\/(release|dispute)\//.test(call.path)).length,
  injectReleaseFault: (fault) => gatewayHarness.sandbox.injectFaults('*', fault),
  moveEscrow: async (escrowId, to) => gatewayHarness.sandbox.setEscrowStatus(escrowId, to),
  ledger: (key) => readLedger(gatewayHarness, key),
  setLedger: (record) => writeLedger(gatewayHarness, record),
};

const servicesWorld: World = {
  get aws() {
    return servicesHarness.aws;
  },
  get s3() {
    return servicesHarness.s3;
  },
  awsEnv: () => awsTestEnvironment(servicesHarness.aws.url, servicesHarness.dynamo.endpoint, servicesHarness.s3.url),
  actEnv: () => servicesEnvironment(servicesHarness, fraudHoldActEnvironment({ ...actSettings, services: { escrowTimeoutHours: 168 } })),
  releaseEnv: (settings = {}) => servicesEnvironment(servicesHarness, fraudHoldReleaseEnvironment({ ...releaseDefaults, ...settings })),
  reset: () => {
    resetServices(servicesHarness, { balance: 1_000 });
    servicesSeller = servicesHarness.sandbox.addCasinoAgent();
  },
  seller: () => servicesSeller.agentId,
  releases: () => servicesHarness.sandbox.committed('escrow.release').map((action) => action.id),
  disputes: () =>
    servicesHarness.sandbox.committed('escrow.dispute').map((action) => ({ id: action.id, reason: String(action.body.reason) })),
  calls: () =>
    servicesHarness.sandbox.calls.filter((call) => call.route === '/escrow/release/:id' || call.route === '/escrow/dispute/:id').length,
  injectReleaseFault: (fault) => servicesHarness.sandbox.injectFaults('/escrow/release/:id', fault),
  async moveEscrow(escrowId, to) {
    const route = to === 'released' ? 'release' : 'dispute';
    const res = await fetch(`${servicesHarness.sandbox.escrowUrl}/escrow/${route}/${escrowId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'authorization': `Bearer ${servicesHarness.casino.apiKey}` },
      body: '{}',
    });
    expect(res.status).toBe(200);
  },
  ledger: (key) => readServicesLedger(servicesHarness, key),
  setLedger: (record) => writeLedger(servicesHarness as unknown as Harness, record),
};

beforeAll(async () => {
  [gatewayHarness, servicesHarness] = await Promise.all([startHarness(), startServicesHarness()]);
  for (const s3 of [gatewayHarness.s3, servicesHarness.s3]) {
    s3.createBucket(RUN_BUCKET);
    s3.createBucket(LOOP_BUCKET);
  }
});
afterAll(async () => {
  await Promise.all([gatewayHarness.close(), servicesHarness.close()]);
});

let counter = 0;
const unique = () => `${++counter}-${Date.now()}`;

describe.each([
  ['gateway', gatewayWorld],
  ['services', servicesWorld],
] as const)('on the %s profile', (_profile, world) => {
  const act = () => loadBundledHandler<{ handler: Handler }>('fraud-hold-act', world.actEnv()).handler;
  const reviewStart = () =>
    loadBundledHandler<{ handler: Handler }>('fraud-hold-review-start', {
      POWERTOOLS_SERVICE_NAME: START_METRIC.serviceName,
      ...fraudHoldReviewStartEnvironment({ flowDefinitionArn: FLOW, runBucket: RUN_BUCKET, runPrefix: 'holds', enabled: true }),
    }).handler;
  const release = (settings: Partial<FraudHoldReleaseSettings> = {}) =>
    loadBundledHandler<{ handler: Handler }>('fraud-hold-release', world.releaseEnv(settings)).handler;

  let restoreEnv: () => void;
  beforeAll(() => {
    restoreEnv = applyEnvironment(world.awsEnv());
  });
  afterAll(() => restoreEnv());
  beforeEach(() => {
    world.reset();
    output = captureOutput();
  });
  afterEach(() => output.restore());

  /** Holds placed by the bundled Act for these amounts, and the run's log and completion event. */
  async function placeHolds(amounts: number[]) {
    const runId = `run-${unique()}`;
    const items: HoldItem[] = amounts.map((amount, index) => ({
      line: String(index + 2),
      object_key: 'scored.out',
      object_etag: 'etag',
      object_line: String(index + 1),
      transaction_id: `tx-${unique()}`,
      buyer: 'agt_buyer',
      seller: world.seller(),
      amount_usdc: amount.toFixed(2),
      fraud_score: '0.93',
      transform_job: '',
    }));
    const result = (await act()(
      { Items: items, BatchInput: { runId, sourceBucket: 'records', sourceKey: 'scored.out', sourceEtag: 'etag' } },
      lambdaContext(),
    )) as unknown as {
      rows: { status: string; transaction_id: string; result?: { escrow_id?: string } }[];
    };
    expect(result.rows.map((row) => row.status)).toEqual(amounts.map(() => 'SUCCEEDED'));
    const logKey = `holds/${runId}/holds_log.jsonl`;
    world.s3.putObject(RUN_BUCKET, logKey, result.rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
    const completed = {
      'detail-type': HOLDS_COMPLETED_EVENT.detailType,
      'source': HOLDS_COMPLETED_EVENT.source,
      'detail': { run_id: runId, log: `s3://${RUN_BUCKET}/${logKey}`, dry_run: false },
    };
    const holds = result.rows.map((row) => ({ transactionId: row.transaction_id, escrowId: row.result!.escrow_id! }));
    return { holds, completed, runId };
  }

  /** The loop of a hold completed with these answers: its output.json in S3, and A2I's event. */
  function completeLoop(transactionId: string, answers: unknown[], options: { inputContent?: unknown; writeOutput?: boolean } = {}) {
    const name = humanLoopNameOf(holdActionKey(transactionId));
    const started = world.aws.humanLoops.find((loop) => loop.name === name);
    const key = `${LOOP_PREFIX}/hold-review/2026/12/04/21/00/00/${name}/output.json`;
    if (options.writeOutput !== false) {
      world.s3.putObject(
        LOOP_BUCKET,
        key,
        JSON.stringify({
          flowDefinitionArn: FLOW,
          humanLoopName: name,
          inputContent: options.inputContent ?? started?.input,
          humanAnswers: answers.map((answer, index) => ({
            answerContent: answer,
            submissionTime: '2026-12-04T21:00:00.000Z',
            workerId: `worker-${index + 1}`,
          })),
        }),
      );
    }
    return loopEvent(name, 'Completed', `s3://${LOOP_BUCKET}/${key}`);
  }

  function loopEvent(name: string, status: string, outputS3Uri: string, flow = FLOW) {
    return {
      'detail-type': HUMAN_LOOP_STATUS_CHANGE.detailType,
      'source': HUMAN_LOOP_STATUS_CHANGE.source,
      'detail': { flowDefinitionArn: flow, humanLoopName: name, humanLoopStatus: status, humanLoopOutput: { outputS3Uri } },
    };
  }

  const clear = { decision: 'clear' };
  const fraud = { decision: 'fraud' };
  const releasedEvents = () => world.aws.putEvents.filter((entry) => entry.DetailType === ESCROW_RELEASED_EVENT.detailType);

  test('holds → one loop each (a repeated start is the same loop) → three reviewers clear one: released once, announced once; a fraud answer keeps the other', async () => {
    const { holds, completed } = await placeHolds([40, 25]);
    expect(await reviewStart()(completed, lambdaContext())).toMatchObject({ status: 'STARTED', started: 2, alreadyStarted: 0 });
    expect(world.aws.humanLoops.map((loop) => loop.name).sort()).toEqual(
      holds.map((h) => humanLoopNameOf(holdActionKey(h.transactionId))).sort(),
    );
    expect(world.aws.humanLoops.find((loop) => loop.name === humanLoopNameOf(holdActionKey(holds[0].transactionId)))).toMatchObject({
      flowDefinitionArn: FLOW,
      input: {
        transaction_id: holds[0].transactionId,
        escrow_id: holds[0].escrowId,
        amount_usdc: 40,
        fraud_score: '0.93',
        hold_action_key: holdActionKey(holds[0].transactionId),
      },
    });
    expect(await reviewStart()(completed, lambdaContext())).toMatchObject({ status: 'STARTED', started: 0, alreadyStarted: 2 });
    expect(world.aws.humanLoops).toHaveLength(2);

    const eventsBefore = releasedEvents().length;
    const cleared = await release()(completeLoop(holds[0].transactionId, [clear, clear, clear]), lambdaContext());
    expect(cleared).toMatchObject({
      status: 'SUCCEEDED',
      action: 'release',
      decision: 'clear',
      escrowId: holds[0].escrowId,
      amountUsdc: 40,
      actionKey: releaseActionKey(holds[0].escrowId),
      reviewer: 'worker-1,worker-2,worker-3',
      repeated: false,
    });
    expect(world.releases()).toEqual([holds[0].escrowId]);
    expect(await world.ledger(releaseActionKey(holds[0].escrowId))).toMatchObject({
      state: 'SUCCEEDED',
      decision: { by: 'worker-1,worker-2,worker-3', source: 'augmented-ai', reason: expect.stringContaining('3 clear, 0 fraud') },
    });
    expect(releasedEvents().length - eventsBefore).toBe(1);
    expect(JSON.parse(releasedEvents()[releasedEvents().length - 1].Detail as string)).toMatchObject({
      escrow_id: holds[0].escrowId,
      amount_usdc: 40,
      reason: 'hold review cleared',
      transaction_id: holds[0].transactionId,
      review_source: 'augmented-ai',
    });
    expect(output.metric(METRIC.escrowsReleased)).toBe(1);

    const kept = await release()(completeLoop(holds[1].transactionId, [clear, fraud, clear]), lambdaContext());
    expect(kept).toMatchObject({
      status: 'SKIPPED',
      action: 'keep-hold',
      decision: 'fraud',
      reason: expect.stringContaining("the escrow's timeout refunds"),
    });
    expect(output.metric(METRIC.holdsKept)).toBe(1);
    expect(world.calls()).toBe(1);
  });

  test('majority: two clear and one fraud release; a tie keeps the hold', async () => {
    const { holds, completed } = await placeHolds([10, 11]);
    await reviewStart()(completed, lambdaContext());
    const majority = release({ answers: { ...releaseDefaults.answers!, decisionRule: 'majority' } });
    expect(await majority(completeLoop(holds[0].transactionId, [clear, fraud, clear]), lambdaContext())).toMatchObject({
      status: 'SUCCEEDED',
      action: 'release',
    });
    expect(await majority(completeLoop(holds[1].transactionId, [clear, fraud]), lambdaContext())).toMatchObject({
      status: 'SKIPPED',
      action: 'keep-hold',
    });
    expect(world.releases()).toEqual([holds[0].escrowId]);
  });

  test('a completion delivered twice, and twice at once in two containers: one release request, one event', async () => {
    const { holds, completed } = await placeHolds([30, 31]);
    await reviewStart()(completed, lambdaContext());
    const first = completeLoop(holds[0].transactionId, [clear, clear]);
    expect(await release()(first, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', repeated: false });
    expect(await release()(first, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', repeated: true });

    const eventsBefore = releasedEvents().length;
    const second = completeLoop(holds[1].transactionId, [clear]);
    const results = await Promise.all([release()(second, lambdaContext()), release()(second, lambdaContext())]);
    expect(results.every((r) => r.status === 'SUCCEEDED' || r.status === 'IN_PROGRESS')).toBe(true);
    expect(world.releases()).toEqual([holds[0].escrowId, holds[1].escrowId]);
    expect(world.calls()).toBe(2);
    expect(releasedEvents().length - eventsBefore).toBe(1);
  });

  test('a lost answer is UNKNOWN and never sent again; released by hand before is read back (released_before)', async () => {
    const { holds, completed } = await placeHolds([12, 13]);
    await reviewStart()(completed, lambdaContext());
    const lost = completeLoop(holds[0].transactionId, [clear]);
    world.injectReleaseFault({ kind: 'timeout-after-commit' });
    expect(await release()(lost, lambdaContext())).toMatchObject({ status: 'UNKNOWN' });
    expect(await release()(lost, lambdaContext())).toMatchObject({ status: 'UNKNOWN', repeated: true });
    expect(output.metric(METRIC.releasesUnknown)).toBe(1);
    expect(world.calls()).toBe(1);

    await world.moveEscrow(holds[1].escrowId, 'released');
    const callsBefore = world.calls();
    expect(await release()(completeLoop(holds[1].transactionId, [clear]), lambdaContext())).toMatchObject({
      status: 'SUCCEEDED',
      releasedBefore: true,
    });
    expect(output.metric(METRIC.escrowsAlreadyReleased)).toBe(1);
    expect(world.calls() - callsBefore).toBe(1);
  });

  test('a hold disputed by hand: a cleared review is read back and REJECTED, naming the state', async () => {
    const { holds, completed } = await placeHolds([14]);
    await reviewStart()(completed, lambdaContext());
    await world.moveEscrow(holds[0].escrowId, 'disputed');
    expect(await release()(completeLoop(holds[0].transactionId, [clear]), lambdaContext())).toMatchObject({
      status: 'REJECTED',
      reason: expect.stringContaining('the escrow is disputed: it cannot be released'),
    });
    expect(world.releases()).toEqual([]);
  });

  test('onConfirmedFraud dispute: a fraud review disputes once, with its reason; again, a repeat', async () => {
    const { holds, completed } = await placeHolds([15]);
    await reviewStart()(completed, lambdaContext());
    const disputing = release({ onConfirmedFraud: 'dispute' });
    const eventsBefore = releasedEvents().length;
    const event = completeLoop(holds[0].transactionId, [clear, fraud]);
    expect(await disputing(event, lambdaContext())).toMatchObject({
      status: 'SUCCEEDED',
      action: 'dispute',
      actionKey: disputeActionKey(holds[0].escrowId),
      repeated: false,
    });
    expect(await disputing(event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', action: 'dispute', repeated: true });
    expect(world.disputes()).toEqual([
      { id: holds[0].escrowId, reason: expect.stringMatching(/^confirmed fraud by worker-1,worker-2: A2I human loop .*1 clear, 1 fraud/) },
    ]);
    expect(output.metric(METRIC.holdsDisputed)).toBe(1);
    expect(output.metric(METRIC.escrowsReleased)).toBe(0);
    expect(releasedEvents().length - eventsBefore).toBe(0);
  });

  test("the user's review event: clear releases once with the reviewer and reason recorded; fraud keeps; an unknown transaction makes no call", async () => {
    const { holds } = await placeHolds([16, 17]);
    const events = release({
      source: 'events',
      flowDefinitionArn: undefined,
      humanLoopOutputBucket: undefined,
      humanLoopOutputPrefix: undefined,
      answers: undefined,
    });
    const review = (detail: object) => ({
      'detail-type': HOLD_REVIEW_COMPLETED_EVENT.detailType,
      'source': HOLD_REVIEW_COMPLETED_EVENT.source,
      detail,
    });
    expect(
      await events(
        review({ transactionId: holds[0].transactionId, decision: 'clear', reviewer: 'ana@example.com', reason: 'card holder confirmed' }),
        lambdaContext(),
      ),
    ).toMatchObject({ status: 'SUCCEEDED', action: 'release', reviewer: 'ana@example.com' });
    expect(await world.ledger(releaseActionKey(holds[0].escrowId))).toMatchObject({
      decision: { by: 'ana@example.com', reason: 'card holder confirmed', source: 'review-event' },
    });
    expect(
      await events(
        review({ transactionId: holds[1].transactionId, decision: 'fraud', reviewer: 'ana@example.com', reason: 'stolen card' }),
        lambdaContext(),
      ),
    ).toMatchObject({ status: 'SKIPPED', action: 'keep-hold' });
    expect(
      await events(
        review({ transactionId: 'tx-never-held', decision: 'clear', reviewer: 'ana@example.com', reason: 'ok' }),
        lambdaContext(),
      ),
    ).toMatchObject({ status: 'SKIPPED', reason: expect.stringContaining('no hold was placed for v1:hold:tx-never-held') });
    expect(
      await events(review({ transactionId: holds[1].transactionId, decision: 'maybe', reviewer: 'x', reason: 'y' }), lambdaContext()),
    ).toMatchObject({
      status: 'INVALID',
      reason: expect.stringContaining('detail.decision must be "clear" or "fraud", got "maybe"'),
    });
    expect(
      await events(review({ transactionId: holds[1].transactionId, decision: 'clear', reviewer: '', reason: 'y' }), lambdaContext()),
    ).toMatchObject({
      status: 'INVALID',
      reason: expect.stringContaining('detail.reviewer'),
    });
    expect(world.releases()).toEqual([holds[0].escrowId]);
  });

  test('a hold whose creation is UNKNOWN is not released: the invocation fails (retried, then dead-lettered), nothing sent', async () => {
    const transactionId = `tx-unsettled-${unique()}`;
    await world.setLedger({
      pk: holdActionKey(transactionId),
      state: 'UNKNOWN',
      claimToken: 'lost-answer',
      leaseExpiresAt: 0,
      attempts: 1,
      amountUsdc: 20,
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    });
    const event = completeLoop(transactionId, [clear], {
      inputContent: { hold_action_key: holdActionKey(transactionId), transaction_id: transactionId },
    });
    await expect(release()(event, lambdaContext())).rejects.toThrow(/is UNKNOWN: resolve it \(purpleflea-ledger\)/);
    expect(output.metric(METRIC.releasesWaiting)).toBe(1);
    expect(world.calls()).toBe(0);
  });

  test('bad completions make no call and say why', async () => {
    const { holds, completed } = await placeHolds([18]);
    await reviewStart()(completed, lambdaContext());
    const tx = holds[0].transactionId;
    const handler = release();
    const name = humanLoopNameOf(holdActionKey(tx));
    expect(await handler(completeLoop(tx, [clear], { writeOutput: false }), lambdaContext())).toMatchObject({
      status: 'INVALID',
      reason: expect.stringContaining('does not exist'),
    });
    expect(await handler(completeLoop(tx, [{ decision: 'probably fine' }, clear]), lambdaContext())).toMatchObject({
      status: 'INVALID',
      reason: expect.stringContaining('answer 1 of 2: answerContent.decision is "probably fine"'),
    });
    expect(await handler(completeLoop(tx, []), lambdaContext())).toMatchObject({
      status: 'INVALID',
      reason: expect.stringContaining('no humanAnswers'),
    });
    // Another hold's input under this loop's name: refused, not released.
    expect(
      await handler(
        completeLoop(tx, [clear], { inputContent: { hold_action_key: holdActionKey('tx-other'), transaction_id: 'tx-other' } }),
        lambdaContext(),
      ),
    ).toMatchObject({ status: 'INVALID', reason: expect.stringContaining('not ' + name) });
    expect(await handler(loopEvent(name, 'Completed', `s3://elsewhere/${LOOP_PREFIX}/x/output.json`), lambdaContext())).toMatchObject({
      status: 'INVALID',
      reason: expect.stringContaining('is not where this review reads'),
    });
    expect(await handler(loopEvent(name, 'Completed', `s3://${LOOP_BUCKET}/x`, `${FLOW}-other`), lambdaContext())).toMatchObject({
      status: 'SKIPPED',
      reason: expect.stringContaining('another flow definition'),
    });
    expect(await handler(loopEvent(name, 'Failed', ''), lambdaContext())).toMatchObject({
      status: 'SKIPPED',
      reason: expect.stringContaining('ended Failed'),
    });
    expect(output.metric(METRIC.reviewsFailed)).toBe(1);
    expect(await handler({ 'detail-type': 'Something Else', 'detail': {} }, lambdaContext())).toMatchObject({ status: 'INVALID' });
    expect(world.calls()).toBe(0);
  });

  test('dry run and disabled: SKIPPED with what would happen, nothing sent', async () => {
    const { holds, completed } = await placeHolds([19]);
    await reviewStart()(completed, lambdaContext());
    const event = completeLoop(holds[0].transactionId, [clear]);
    expect(await release({ dryRun: true })(event, lambdaContext())).toMatchObject({
      status: 'SKIPPED',
      reason: `dry run: would release escrow ${holds[0].escrowId} (19 USDC)`,
    });
    expect(await release({ enabled: false })(event, lambdaContext())).toMatchObject({
      status: 'SKIPPED',
      reason: expect.stringContaining('disabled'),
    });
    expect(world.calls()).toBe(0);
  });

  test('review start: a log outside the run folders or a dry run starts nothing; a failed start fails the invocation, its retry starts only the rest', async () => {
    const { completed } = await placeHolds([20, 21]);
    const loopsBefore = world.aws.humanLoops.length;
    expect(
      await reviewStart()(
        { ...completed, detail: { ...completed.detail, log: 's3://other-bucket/holds/x/holds_log.jsonl' } },
        lambdaContext(),
      ),
    ).toMatchObject({
      status: 'INVALID',
      reason: expect.stringContaining("not in this construct's run folders"),
    });
    expect(await reviewStart()({ ...completed, detail: { ...completed.detail, dry_run: true } }, lambdaContext())).toMatchObject({
      status: 'SKIPPED',
    });
    expect(world.aws.humanLoops.length - loopsBefore).toBe(0);
    world.aws.injectFault('StartHumanLoop', { status: 400, type: 'ValidationException', message: 'flow definition is not active' });
    await expect(reviewStart()(completed, lambdaContext())).rejects.toThrow(
      /1 human loop\(s\) could not be started: .*ValidationException/,
    );
    expect(world.aws.humanLoops.length - loopsBefore).toBe(1);
    expect(await reviewStart()(completed, lambdaContext())).toMatchObject({ status: 'STARTED', started: 1, alreadyStarted: 1 });
  });
});
