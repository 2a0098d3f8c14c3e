/**
 * The bundled TrainingBonusEscrow handler on the services profile (issue 13): a finished job's bonus becomes one
 * escrow on the escrow service, paid by the connection key's agent, to an `ag_` seller of the casino registry,
 * with the construct's timeout and a public description (the condition, the buyer, the action key's SHA-256);
 * exactly once; an `agt_` seller is INVALID and never sent; escrow's 402 and 404 are REJECTED with their reason.
 */
import { createHash } from 'node:crypto';
import {
  ESCROW_CREATED_EVENT,
  TRAINING_BONUS_ESCROW_METRICS as METRIC,
  trainingBonusEscrowEnvironment,
  TrainingBonusEscrowSettings,
} from '../../lib/private/contracts/training-bonus-escrow-env';
import { FAKE_ACCOUNT_ID, FAKE_REGION } from '../support/fake-aws';
import { CasinoAgent, SERVICE_PATHS } from '../support/purpleflea-services-sandbox';
import { captureOutput, invokeInProcesses, lambdaContext, loadBundledHandler } from './handler-harness';
import { readServicesLedger, resetServices, servicesEnvironment, ServicesHarness, startServicesHarness } from './services-harness';
import { defaultEscrowSettings } from '../support/handler-settings';

type Handler = (event: unknown, context: unknown) => Promise<{ status: string; [key: string]: any }>;

const BUS_ARN = `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:event-bus/default`;
const SELLER_TAG = 'purpleflea:seller';
/** 30 days, the construct's default for bonuses on the services profile. */
const TIMEOUT_HOURS = 720;

let harness: ServicesHarness;
let output: ReturnType<typeof captureOutput>;
let seller: CasinoAgent;
let jobCounter = 0;

function settings(overrides: Partial<TrainingBonusEscrowSettings> = {}): TrainingBonusEscrowSettings {
  return defaultEscrowSettings({
    // Written by the construct on either profile (buyerAgentId too); on the services profile the key's agent pays.
    sellerTagKey: SELLER_TAG,
    // sellerAgentId on the services profile: one ag_ seller for every job.
    sellerTemplate: seller.agentId,
    eventBusName: BUS_ARN,
    services: { escrowTimeoutHours: TIMEOUT_HOURS },
    ...overrides,
  });
}
const env = (overrides: Partial<TrainingBonusEscrowSettings> = {}) => ({
  ...servicesEnvironment(harness, trainingBonusEscrowEnvironment(settings(overrides))),
  POWERTOOLS_SERVICE_NAME: METRIC.serviceName,
});
const load = (overrides: Partial<TrainingBonusEscrowSettings> = {}) =>
  loadBundledHandler<{ handler: Handler }>('training-bonus-escrow', env(overrides)).handler;

const jobArn = (name: string) => `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:training-job/${name.toLowerCase()}`;

function completedJob(accuracy = 0.93, tags: { [key: string]: string } = {}) {
  jobCounter += 1;
  const name = `Services-Job-${jobCounter}-${Date.now()}`;
  harness.aws.setTrainingJob(name, {
    TrainingJobStatus: 'Completed',
    FinalMetricDataList: [{ MetricName: 'validation:accuracy', Value: accuracy, Timestamp: new Date() }],
  });
  const event = {
    'version': '0',
    'id': `svc-evt-${jobCounter}`,
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

const escrowCalls = () => harness.sandbox.calls.filter((call) => call.route === SERVICE_PATHS.escrowCreate);
const created = () => harness.sandbox.committed('escrow.create');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

beforeAll(async () => {
  harness = await startServicesHarness();
});
afterAll(async () => {
  await harness.close();
});
beforeEach(() => {
  resetServices(harness, { balance: 100 });
  seller = harness.sandbox.addCasinoAgent();
  output = captureOutput();
});
afterEach(() => output.restore());

describe('TrainingBonusEscrow on the services profile: one escrow per job', () => {
  test("the bonus escrowed by the key's agent to the ag_ seller, timeout_hours sent, the description public and findable", async () => {
    const job = completedJob(0.93);
    const putEventsBefore = harness.aws.putEvents.length;
    const result = await load()(job.event, lambdaContext());

    expect(result).toMatchObject({ status: 'SUCCEEDED', actionKey: job.actionKey, bonusUsdc: 50, seller: seller.agentId, repeated: false });
    expect(escrowCalls()).toHaveLength(1);
    expect(escrowCalls()[0]).toMatchObject({ service: 'escrow', path: '/escrow/create', authorization: `Bearer ${harness.casino.apiKey}` });
    expect(escrowCalls()[0].body).toEqual({
      amount_usd: 50,
      description: `model_owner_approved:${job.name} | buyer ${harness.casino.agentId} | action sha256:${sha256(job.actionKey)}`,
      counterparty_agent_id: seller.agentId,
      timeout_hours: TIMEOUT_HOURS,
    });
    const escrowId = created()[0].id;
    expect(result.escrowId).toBe(escrowId);
    expect(harness.sandbox.escrow(escrowId)).toMatchObject({
      status: 'funded',
      creatorId: harness.casino.agentId,
      counterpartyId: seller.agentId,
      timeoutHours: TIMEOUT_HOURS,
    });
    expect(harness.sandbox.casinoBalance(harness.casino.agentId)).toBe(50);
    expect(await readServicesLedger(harness, job.actionKey)).toMatchObject({
      state: 'SUCCEEDED',
      response: { escrow_id: escrowId, status: 'funded' },
    });

    const announced = harness.aws.putEvents.slice(putEventsBefore);
    expect(announced).toEqual([
      expect.objectContaining({ Source: ESCROW_CREATED_EVENT.source, DetailType: ESCROW_CREATED_EVENT.detailType }),
    ]);
    expect(JSON.parse(announced[0].Detail!)).toMatchObject({
      escrow_id: escrowId,
      amount_usdc: 50,
      buyer: harness.casino.agentId,
      seller: seller.agentId,
      condition: `model_owner_approved:${job.name}`,
      action_key: job.actionKey,
    });
    expect(output.metric(METRIC.escrowsCreated)).toBe(1);
  });

  test('the same Completed event 10 times concurrently from 2 processes, then again: one escrow, one announcement', async () => {
    const job = completedJob();
    const putEventsBefore = harness.aws.putEvents.length;
    const results = await invokeInProcesses('training-bonus-escrow', env(), job.event, 2, 5);
    expect(results.filter((r) => r.status === 'SUCCEEDED' || r.status === 'IN_PROGRESS')).toHaveLength(10);
    expect(created()).toHaveLength(1);
    expect(await load()(job.event, lambdaContext())).toMatchObject({
      status: 'SUCCEEDED',
      repeated: true,
      escrowId: created()[0].id,
      seller: seller.agentId,
    });
    expect(escrowCalls()).toHaveLength(1);
    expect(harness.aws.putEvents.length - putEventsBefore).toBe(1);
  });

  test('a lost answer is UNKNOWN and never re-sent: the escrow exists, found by the hash in its description', async () => {
    harness.sandbox.injectFaults(SERVICE_PATHS.escrowCreate, { kind: 'reset-after-commit' });
    const job = completedJob();
    const handler = load();
    expect(await handler(job.event, lambdaContext())).toMatchObject({ status: 'UNKNOWN' });
    expect(await handler(job.event, lambdaContext())).toMatchObject({ status: 'UNKNOWN', repeated: true });
    expect(escrowCalls()).toHaveLength(1);
    expect(harness.sandbox.escrow(created()[0].id)?.description).toContain(`action sha256:${sha256(job.actionKey)}`);
    expect(output.metric(METRIC.escrowsUnknown)).toBe(1);
  });

  test("an agt_ seller (the gateway's template) is INVALID with the reason, never sent", async () => {
    const job = completedJob();
    const result = await load({ sellerTemplate: 'agt_model_{jobName}' })(job.event, lambdaContext());
    expect(result).toMatchObject({ status: 'INVALID' });
    expect(result.reason).toBe(
      `the seller template gives a seller this connection cannot escrow for, for job ${job.name}: "agt_model_${job.name}" is not an ag_ id of the casino registry: the services profile's escrow and pay take only those (an agt_ id is the gateway's)`,
    );
    expect(harness.sandbox.calls).toHaveLength(0);
    expect(await readServicesLedger(harness, job.actionKey)).toBeUndefined();
    expect(output.metric(METRIC.escrowsInvalid)).toBe(1);
  });

  test("a job's tag naming an agt_ seller is INVALID too; an ag_ tag is the seller", async () => {
    const handler = load();
    const tagged = completedJob(0.95, { [SELLER_TAG]: 'agt_model_owner_7' });
    expect(await handler(tagged.event, lambdaContext())).toMatchObject({ status: 'INVALID' });
    const other = harness.sandbox.addCasinoAgent();
    const good = completedJob(0.95, { [SELLER_TAG]: other.agentId });
    expect(await handler(good.event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', seller: other.agentId });
    expect(escrowCalls().map((call) => (call.body as { counterparty_agent_id?: string }).counterparty_agent_id)).toEqual([other.agentId]);
  });

  test("escrow's 402 insufficient_balance is REJECTED with what it means, nothing debited; funded, the next delivery escrows", async () => {
    resetServices(harness, { balance: 10 });
    seller = harness.sandbox.addCasinoAgent();
    const job = completedJob(0.93);
    const handler = load();
    const result = await handler(job.event, lambdaContext());
    expect(result).toMatchObject({ status: 'REJECTED' });
    expect(result.reason).toContain(
      "insufficient_balance: Balance 10 is less than 50; the casino balance of the key's agent is below the amount",
    );
    expect(harness.sandbox.casinoBalance(harness.casino.agentId)).toBe(10);
    expect(output.metric(METRIC.escrowsRejected)).toBe(1);

    resetServices(harness, { balance: 100 });
    seller = harness.sandbox.addCasinoAgent();
    const later = completedJob(0.93);
    expect(await load()(later.event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED' });
  });

  test('404 counterparty_not_found is REJECTED with the reason', async () => {
    const job = completedJob();
    const result = await load({ sellerTemplate: 'ag_000000000000' })(job.event, lambdaContext());
    expect(result).toMatchObject({ status: 'REJECTED' });
    expect(result.reason).toContain('counterparty_not_found');
    expect(result.reason).toContain('the seller is not an agent of the casino registry');
    expect(created()).toHaveLength(0);
  });

  test("a dry run names the key's agent as the payer, reads no secret and calls nothing", async () => {
    const readsBefore = harness.aws.secretReads;
    const result = await load({ dryRun: true })(completedJob().event, lambdaContext());
    expect(result).toMatchObject({
      status: 'SKIPPED',
      reason: `dry run: would escrow 50 USDC from the connection key's agent to ${seller.agentId}`,
    });
    expect(harness.aws.secretReads).toBe(readsBefore);
    expect(harness.sandbox.calls).toHaveLength(0);
  });

  test('a missing ESCROW_TIMEOUT_HOURS fails the cold start with its name', () => {
    expect(() => loadBundledHandler('training-bonus-escrow', { ...env(), ESCROW_TIMEOUT_HOURS: '' })).toThrow(
      'TrainingBonusEscrow: environment variable ESCROW_TIMEOUT_HOURS is missing',
    );
  });
});
