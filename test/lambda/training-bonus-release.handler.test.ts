/**
 * TrainingBonusEscrow's release (issue 14), end to end with the bundled handlers, on both profiles: a training job
 * `Completed` → the bonus escrow → its model package `Approved` (or staged to a lifecycle stage) → one release,
 * announced once. Duplicated and concurrent approvals, an approval-rejection-approval sequence and a second package
 * of the same job release once; a lost answer is UNKNOWN and never re-sent; an escrow released by hand is read back;
 * a creation that is not settled is not released (the event is retried); bad events make no call and say why.
 */
import { escrowActionKey, releaseActionKey } from '../../lambda/shared/action-keys';
import { trainingBonusEscrowEnvironment, TrainingBonusEscrowSettings } from '../../lib/private/contracts/training-bonus-escrow-env';
import {
  TRAINING_BONUS_RELEASE_METRICS as METRIC,
  trainingBonusReleaseEnvironment,
  TrainingBonusReleaseSettings,
} from '../../lib/private/contracts/training-bonus-release-env';
import { applyEnvironment, awsTestEnvironment } from '../support/aws-env';
import { ESCROW_RELEASED_EVENT } from '../../lib/private/contracts/escrow-events';
import { FAKE_ACCOUNT_ID, FAKE_REGION, FakeAws } from '../support/fake-aws';
import { defaultEscrowSettings } from '../support/handler-settings';
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
const GROUP = 'churn-models';

/** One profile's world: its harness, its handlers' environments, and what its sandbox saw. */
interface World {
  readonly aws: FakeAws;
  /** Where its AWS stand-ins are: the handlers' SDK clients read it when they first call. */
  awsEnv(): { [name: string]: string };
  escrowEnv(settings?: Partial<TrainingBonusEscrowSettings>): { [name: string]: string };
  releaseEnv(settings?: Partial<TrainingBonusReleaseSettings>): { [name: string]: string };
  reset(): void;
  /** Releases the sandbox committed, per escrow id. */
  releases(): readonly string[];
  /** Release requests that reached the sandbox. */
  releaseCalls(): number;
  injectReleaseFault(fault: Fault): void;
  releaseByHand(escrowId: string): Promise<void>;
  ledger(key: string): Promise<{ [key: string]: any } | undefined>;
  setLedger(record: { [key: string]: unknown }): Promise<void>;
}

const releaseDefaults: TrainingBonusReleaseSettings = {
  trigger: 'approval',
  modelPackageGroupName: GROUP,
  trainingJobMetadataKey: 'TrainingJobName',
  eventBusName: BUS_ARN,
  dryRun: false,
  enabled: true,
};

let gatewayHarness: Harness;
let servicesHarness: ServicesHarness;
let seller: CasinoAgent;
let output: ReturnType<typeof captureOutput>;

const gatewayWorld: World = {
  get aws() {
    return gatewayHarness.aws;
  },
  awsEnv: () => awsTestEnvironment(gatewayHarness.aws.url, gatewayHarness.dynamo.endpoint),
  escrowEnv: (settings = {}) =>
    handlerEnvironment(gatewayHarness, trainingBonusEscrowEnvironment(defaultEscrowSettings({ eventBusName: BUS_ARN, ...settings }))),
  releaseEnv: (settings = {}) => handlerEnvironment(gatewayHarness, trainingBonusReleaseEnvironment({ ...releaseDefaults, ...settings })),
  reset: () => gatewayHarness.sandbox.reset(),
  releases: () =>
    gatewayHarness.sandbox
      .committed()
      .filter((action) => action.kind === 'release')
      .map((action) => action.id),
  releaseCalls: () => gatewayHarness.sandbox.calls.filter((call) => call.path.startsWith('/escrow/release/')).length,
  injectReleaseFault: (fault) => gatewayHarness.sandbox.injectFaults('*', fault),
  releaseByHand: async (escrowId) => gatewayHarness.sandbox.setEscrowStatus(escrowId, 'released'),
  ledger: (key) => readLedger(gatewayHarness, key),
  setLedger: (record) => writeLedger(gatewayHarness, record),
};

const servicesWorld: World = {
  get aws() {
    return servicesHarness.aws;
  },
  awsEnv: () => awsTestEnvironment(servicesHarness.aws.url, servicesHarness.dynamo.endpoint),
  escrowEnv: (settings = {}) =>
    servicesEnvironment(
      servicesHarness,
      trainingBonusEscrowEnvironment(
        defaultEscrowSettings({
          sellerTemplate: seller.agentId,
          eventBusName: BUS_ARN,
          services: { escrowTimeoutHours: 720 },
          ...settings,
        }),
      ),
    ),
  releaseEnv: (settings = {}) => servicesEnvironment(servicesHarness, trainingBonusReleaseEnvironment({ ...releaseDefaults, ...settings })),
  reset: () => {
    resetServices(servicesHarness, { balance: 1_000 });
    seller = servicesHarness.sandbox.addCasinoAgent();
  },
  releases: () => servicesHarness.sandbox.committed('escrow.release').map((action) => action.id),
  releaseCalls: () => servicesHarness.sandbox.calls.filter((call) => call.route === '/escrow/release/:id').length,
  injectReleaseFault: (fault) => servicesHarness.sandbox.injectFaults('/escrow/release/:id', fault),
  async releaseByHand(escrowId) {
    const res = await fetch(`${servicesHarness.sandbox.escrowUrl}/escrow/release/${escrowId}`, {
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
});
afterAll(async () => {
  await Promise.all([gatewayHarness.close(), servicesHarness.close()]);
});

let counter = 0;
const jobArn = (name: string) => `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:training-job/${name.toLowerCase()}`;

describe.each([
  ['gateway', gatewayWorld],
  ['services', servicesWorld],
] as const)('on the %s profile', (_profile, world) => {
  const escrowHandler = () => loadBundledHandler<{ handler: Handler }>('training-bonus-escrow', world.escrowEnv()).handler;
  const releaseHandler = (settings: Partial<TrainingBonusReleaseSettings> = {}) =>
    loadBundledHandler<{ handler: Handler }>('training-bonus-release', world.releaseEnv(settings)).handler;

  // Two harnesses in one file: each block points the SDK at its own stand-ins while it runs.
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

  /** A finished job that earned the 50 USDC tier, and its escrow created by the bundled escrow handler. */
  async function jobWithEscrow(accuracy = 0.93) {
    counter += 1;
    const name = `Churn-Job-${counter}-${Date.now()}`;
    world.aws.setTrainingJob(name, {
      TrainingJobStatus: 'Completed',
      FinalMetricDataList: [{ MetricName: 'validation:accuracy', Value: accuracy, Timestamp: new Date() }],
    });
    const created = await escrowHandler()(
      {
        'detail-type': 'SageMaker Training Job State Change',
        'source': 'aws.sagemaker',
        'detail': { TrainingJobName: name, TrainingJobArn: jobArn(name), TrainingJobStatus: 'Completed', Tags: {} },
      },
      lambdaContext(),
    );
    return { name, created, escrowId: created.escrowId as string | undefined };
  }

  /** A package version of the job in GROUP, as DescribeModelPackage answers now; and its state-change event. */
  function modelPackage(
    jobName: string,
    options: { version?: number; approval?: string; stage?: string; link?: 'metadata' | 'model-data-url' | 'none'; group?: string } = {},
  ) {
    const { version = 1, approval = 'Approved', link = 'metadata', group = GROUP } = options;
    const arn = world.aws.setModelPackage(group, version, {
      ModelApprovalStatus: approval,
      CustomerMetadataProperties: link === 'metadata' ? { TrainingJobName: jobName } : {},
      InferenceSpecification: {
        Containers: [
          {
            Image: 'xgboost',
            ModelDataUrl:
              link === 'model-data-url' ? `s3://models/churn/${jobName}/output/model.tar.gz` : 's3://models/elsewhere/model.bin',
          },
        ],
      },
      ModelLifeCycle: options.stage === undefined ? undefined : { Stage: options.stage, StageStatus: 'Approved' },
    });
    const event = {
      'detail-type': 'SageMaker Model Package State Change',
      'source': 'aws.sagemaker',
      'resources': [arn],
      'detail': { ModelPackageGroupName: group, ModelPackageVersion: version, ModelPackageArn: arn, ModelApprovalStatus: approval },
    };
    return { arn, event };
  }

  const releasedEvents = () => world.aws.putEvents.filter((entry) => entry.DetailType === ESCROW_RELEASED_EVENT.detailType);

  test('a job → its bonus escrow → its package approved → one release, announced once; the same approval again is a repeat', async () => {
    const job = await jobWithEscrow();
    expect(job.created).toMatchObject({ status: 'SUCCEEDED', bonusUsdc: 50 });
    const pkg = modelPackage(job.name);
    const eventsBefore = releasedEvents().length;

    const first = await releaseHandler()(pkg.event, lambdaContext());
    expect(first).toMatchObject({
      status: 'SUCCEEDED',
      escrowId: job.escrowId,
      amountUsdc: 50,
      jobName: job.name,
      actionKey: releaseActionKey(job.escrowId!),
      escrowActionKey: escrowActionKey(jobArn(job.name)),
      repeated: false,
    });
    expect(world.releases()).toEqual([job.escrowId]);
    expect(await world.ledger(releaseActionKey(job.escrowId!))).toMatchObject({ state: 'SUCCEEDED', amountUsdc: 50 });
    expect(releasedEvents().slice(eventsBefore)).toHaveLength(1);
    expect(JSON.parse(releasedEvents()[releasedEvents().length - 1].Detail as string)).toMatchObject({
      escrow_id: job.escrowId,
      amount_usdc: 50,
      released_before: false,
      model_package_arn: pkg.arn,
      training_job: job.name,
    });

    expect(await releaseHandler()(pkg.event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', repeated: true });
    expect(world.releases()).toHaveLength(1);
    expect(releasedEvents().slice(eventsBefore)).toHaveLength(1);
  });

  test('approved, rejected, approved again: released once; a second package version of the same job releases nothing more', async () => {
    const job = await jobWithEscrow();
    const handler = releaseHandler();
    expect(await handler(modelPackage(job.name).event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', repeated: false });
    const rejected = modelPackage(job.name, { approval: 'Rejected' });
    expect(await handler(rejected.event, lambdaContext())).toMatchObject({
      status: 'SKIPPED',
      reason: expect.stringContaining('not Approved'),
    });
    expect(await handler(modelPackage(job.name).event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', repeated: true });
    // Version 2, linked by its model data's path rather than metadata.
    const second = modelPackage(job.name, { version: 2, link: 'model-data-url' });
    expect(await handler(second.event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', repeated: true, escrowId: job.escrowId });
    expect(world.releases()).toEqual([job.escrowId]);
  });

  test('an approval event delivered again after the package was rejected releases nothing (the package as it is now decides)', async () => {
    const job = await jobWithEscrow();
    const approved = modelPackage(job.name);
    modelPackage(job.name, { approval: 'Rejected' }); // the same version, now rejected
    expect(await releaseHandler()(approved.event, lambdaContext())).toMatchObject({
      status: 'SKIPPED',
      reason: expect.stringContaining('now Rejected'),
    });
    expect(world.releaseCalls()).toBe(0);
  });

  test('concurrent deliveries of one approval, in two containers: one release request, one event', async () => {
    const job = await jobWithEscrow();
    const pkg = modelPackage(job.name);
    const eventsBefore = releasedEvents().length;
    const results = await Promise.all([releaseHandler()(pkg.event, lambdaContext()), releaseHandler()(pkg.event, lambdaContext())]);
    expect(results.map((r) => r.status).sort()).toEqual(expect.arrayContaining(['SUCCEEDED']));
    expect(results.every((r) => r.status === 'SUCCEEDED' || r.status === 'IN_PROGRESS')).toBe(true);
    expect(world.releaseCalls()).toBe(1);
    expect(releasedEvents().length - eventsBefore).toBe(1);
  });

  test('a lost answer is UNKNOWN, and the next delivery does not send the release again', async () => {
    const job = await jobWithEscrow();
    const pkg = modelPackage(job.name);
    world.injectReleaseFault({ kind: 'timeout-after-commit' });
    expect(await releaseHandler()(pkg.event, lambdaContext())).toMatchObject({ status: 'UNKNOWN' });
    expect(await releaseHandler()(pkg.event, lambdaContext())).toMatchObject({ status: 'UNKNOWN', repeated: true });
    expect(world.releaseCalls()).toBe(1);
    expect(output.metric(METRIC.releasesUnknown)).toBe(1);
  });

  test('released by hand before the approval: the 409 is read back, recorded SUCCEEDED with released_before, and counted', async () => {
    const job = await jobWithEscrow();
    await world.releaseByHand(job.escrowId!);
    const result = await releaseHandler()(modelPackage(job.name).event, lambdaContext());
    expect(result).toMatchObject({ status: 'SUCCEEDED', releasedBefore: true });
    expect(await world.ledger(releaseActionKey(job.escrowId!))).toMatchObject({ state: 'SUCCEEDED', response: { released_before: true } });
    expect(output.metric(METRIC.escrowsAlreadyReleased)).toBe(1);
    expect(JSON.parse(releasedEvents()[releasedEvents().length - 1].Detail as string)).toMatchObject({
      escrow_id: job.escrowId,
      released_before: true,
    });
  });

  test('an escrow whose creation is UNKNOWN is not released: the invocation fails (retried, then dead-lettered), nothing sent', async () => {
    counter += 1;
    const name = `Unsettled-Job-${counter}`;
    await world.setLedger({
      pk: escrowActionKey(jobArn(name)),
      state: 'UNKNOWN',
      claimToken: 'lost-answer',
      leaseExpiresAt: 0,
      attempts: 1,
      amountUsdc: 50,
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    });
    await expect(releaseHandler()(modelPackage(name).event, lambdaContext())).rejects.toThrow(
      /is UNKNOWN: resolve it \(purpleflea-ledger\)/,
    );
    expect(world.releaseCalls()).toBe(0);
    expect(output.metric(METRIC.releasesWaiting)).toBe(1);
  });

  test('bad events make no call and say why: another group, an unknown package, no training job link, no escrow', async () => {
    const handler = releaseHandler();
    const job = await jobWithEscrow();
    const other = modelPackage(job.name, { group: 'fraud-models' });
    expect(await handler(other.event, lambdaContext())).toMatchObject({
      status: 'SKIPPED',
      reason: expect.stringContaining('"fraud-models" is not churn-models'),
    });

    const unknown = modelPackage(job.name);
    const unknownEvent = { ...unknown.event, detail: { ...unknown.event.detail, ModelPackageArn: unknown.arn.replace(/\/1$/, '/99') } };
    expect(await handler(unknownEvent, lambdaContext())).toMatchObject({
      status: 'INVALID',
      reason: expect.stringContaining('was not found by DescribeModelPackage'),
    });

    const unlinked = modelPackage(job.name, { version: 3, link: 'none' });
    expect(await handler(unlinked.event, lambdaContext())).toMatchObject({
      status: 'INVALID',
      reason: expect.stringContaining('the package names no training job'),
    });

    const noBonus = await jobWithEscrow(0.5);
    expect(noBonus.created).toMatchObject({ status: 'SKIPPED' });
    expect(await handler(modelPackage(noBonus.name, { version: 4 }).event, lambdaContext())).toMatchObject({
      status: 'SKIPPED',
      reason: expect.stringContaining('no escrow was created'),
    });
    expect(await handler({ detail: { ModelPackageArn: 'not-an-arn' } }, lambdaContext())).toMatchObject({ status: 'INVALID' });
    expect(world.releaseCalls()).toBe(0);
  });

  test('dry run and disabled: SKIPPED with what would be released, nothing sent', async () => {
    const job = await jobWithEscrow();
    const pkg = modelPackage(job.name);
    expect(await releaseHandler({ dryRun: true })(pkg.event, lambdaContext())).toMatchObject({
      status: 'SKIPPED',
      reason: `dry run: would release escrow ${job.escrowId} (50 USDC) of training job ${job.name}`,
    });
    expect(await releaseHandler({ enabled: false })(pkg.event, lambdaContext())).toMatchObject({
      status: 'SKIPPED',
      reason: expect.stringContaining('disabled'),
    });
    expect(world.releaseCalls()).toBe(0);
  });

  test('onLifecycleStage: released when the package reaches the stage, not before', async () => {
    const job = await jobWithEscrow();
    const handler = releaseHandler({ trigger: 'lifecycle-stage', stage: 'Production' });
    const staging = modelPackage(job.name, { approval: 'PendingManualApproval', stage: 'Staging' });
    expect(await handler(staging.event, lambdaContext())).toMatchObject({
      status: 'SKIPPED',
      reason: expect.stringContaining('"Staging", not "Production"'),
    });
    const production = modelPackage(job.name, { approval: 'PendingManualApproval', stage: 'Production' });
    expect(await handler(production.event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', escrowId: job.escrowId });
    expect(world.releases()).toEqual([job.escrowId]);
  });
});
