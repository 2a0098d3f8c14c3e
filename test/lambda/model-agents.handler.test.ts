/**
 * ModelAgents (issue 15), end to end with the bundled handler on the services sandbox, the fake Secrets Manager (real
 * SDK clients) and dynalite: a completed training job or a model package → its secret, created empty → one casino
 * agent, its key in the secret before the registration is recorded (and recorded without it) → the faucet's $1 when the
 * balance lacks it → one event. Duplicated and concurrent events register once; a lost answer is UNKNOWN and never
 * registered again; a failed secret write is retried without a second registration; the key is in no log line, ledger
 * record, event or error of the whole file.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { agentActionKey, faucetActionKey } from '../../lambda/shared/action-keys';
import { ActionLedger } from '../../lambda/shared/action-ledger';
import { agentOf } from '../../lambda/shared/model-agents';
import {
  AGENT_SECRET_MODEL_VERSION_TAG,
  MODEL_AGENT_REGISTERED_EVENT,
  MODEL_AGENTS_METRICS as METRIC,
  modelAgentsEnvironment,
  ModelAgentsSettings,
} from '../../lib/private/contracts/model-agents-env';
import { applyEnvironment, awsTestEnvironment } from '../support/aws-env';
import { dynaliteClient } from '../support/dynalite';
import { FAKE_ACCOUNT_ID, FAKE_REGION } from '../support/fake-aws';
import { FAUCET_IP_COOLDOWN_MS } from '../support/purpleflea-services-sandbox';
import { captureOutput, invokeInProcesses, LEDGER_TABLE, loadBundledHandler } from './handler-harness';
import { completedTrainingJob, keepingEverything, ModelAgentsHandler } from './model-agents-events';
import { readServicesLedger, resetServices, servicesEnvironment, ServicesHarness, startServicesHarness } from './services-harness';

type Handler = ModelAgentsHandler;

const BUS_ARN = `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:event-bus/default`;
const PREFIX = 'purpleflea/model-agents/';
const GROUP = 'churn-models';

const defaults: ModelAgentsSettings = {
  trainingJobs: true,
  trainingJobNamePrefix: 'churn-',
  modelPackageGroupName: GROUP,
  secretNamePrefix: PREFIX,
  claimFaucet: true,
  eventBusName: BUS_ARN,
  dryRun: false,
  enabled: true,
};

let harness: ServicesHarness;
let output: ReturnType<typeof captureOutput>;
/** Everything the whole file wrote and threw, for the last test's search for keys. */
const everyOutput: string[] = [];
const everyError: string[] = [];
const everyResult: string[] = [];
/** Every key the sandbox issued to a registered agent (read from its secret). */
const issuedKeys = new Set<string>();

beforeAll(async () => {
  harness = await startServicesHarness();
});
afterAll(async () => {
  await harness.close();
});

let restoreEnv: () => void;
beforeAll(() => {
  restoreEnv = applyEnvironment(awsTestEnvironment(harness.aws.url, harness.dynamo.endpoint));
});
afterAll(() => restoreEnv());
/** The fake's recordings outlive a test (the last test reads them all): each test counts from its start. */
let eventsBefore = 0;
beforeEach(() => {
  resetServices(harness, { balance: 100 });
  eventsBefore = harness.aws.putEvents.length;
  output = captureOutput();
});
afterEach(() => {
  everyOutput.push(output.text());
  output.restore();
  for (const secret of harness.aws.storedSecrets) {
    if (secret.name.startsWith(PREFIX) && secret.secretString !== undefined) issuedKeys.add(JSON.parse(secret.secretString).key);
  }
});

const env = (settings: Partial<ModelAgentsSettings> = {}) =>
  servicesEnvironment(harness, modelAgentsEnvironment({ ...defaults, ...settings }));
const loadHandler = (settings: Partial<ModelAgentsSettings> = {}) =>
  loadBundledHandler<{ handler: Handler }>('model-agents', env(settings)).handler;

/** Runs the handler, keeping its result and any error for the search for keys. */
/** Runs the handler, keeping its result and any error for the search for keys. */
const run = keepingEverything(everyResult, everyError);

let counter = 0;
function trainingJob(name = `churn-${++counter}-${Date.now()}`) {
  return completedTrainingJob(name);
}

function modelPackage(version = ++counter) {
  const arn = `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:model-package/${GROUP}/${version}`;
  return {
    arn,
    event: {
      'detail-type': 'SageMaker Model Package State Change',
      'source': 'aws.sagemaker',
      'detail': {
        ModelPackageGroupName: GROUP,
        ModelPackageVersion: version,
        ModelPackageArn: arn,
        ModelApprovalStatus: 'PendingManualApproval',
      },
    },
  };
}

const registrations = () => harness.sandbox.committed('casino.register');
const registerCalls = () => harness.sandbox.calls.filter((call) => call.route === '/api/v1/auth/register').length;
const faucetCalls = () => harness.sandbox.calls.filter((call) => call.route === '/faucet/claim').length;
const secretOf = (modelVersionArn: string) => harness.aws.storedSecrets.find((s) => s.tags.some((t) => t.Value === modelVersionArn));
const registeredEvents = () =>
  harness.aws.putEvents.slice(eventsBefore).filter((entry) => entry.DetailType === MODEL_AGENT_REGISTERED_EVENT.detailType);
const ledger = () => new ActionLedger({ tableName: LEDGER_TABLE, client: dynaliteClient(harness.dynamo.endpoint) });

test("a completed training job gets one agent: its key in its own secret (tagged with the job's ARN), the registry entry without it, one event", async () => {
  const job = trainingJob();
  const result = await run(loadHandler(), job.event);

  expect(registrations()).toHaveLength(1);
  const agentId = registrations()[0].agentId!;
  const secret = secretOf(job.arn)!;
  expect(secret.name).toBe(`${PREFIX}training-job/${job.name.toLowerCase()}`);
  expect(secret.tags).toEqual([{ Key: AGENT_SECRET_MODEL_VERSION_TAG, Value: job.arn }]);
  // The key the casino issued is the one in the secret: the agent's own balance is read with it.
  expect(JSON.parse(secret.secretString!)).toEqual({ key: harness.sandbox.casinoAgent(agentId)!.apiKey, agent_id: agentId });
  expect(result).toMatchObject({
    status: 'SUCCEEDED',
    modelVersion: job.arn,
    actionKey: agentActionKey(job.arn),
    agentId,
    secretArn: secret.arn,
    repeated: false,
    // The casino's own background claim gave it its $1 (the first of the IP's day).
    faucet: { status: 'ALREADY_FUNDED' },
  });
  const record = await readServicesLedger(harness, agentActionKey(job.arn));
  expect(record).toMatchObject({ state: 'SUCCEEDED' });
  expect(record!.response).toEqual({
    agent_id: agentId,
    secret_arn: secret.arn,
    model_version: job.arn,
    referral_code: expect.any(String),
    tier: 'free',
  });
  expect(await agentOf(ledger(), job.arn)).toEqual({ status: 'REGISTERED', modelVersion: job.arn, agentId, secretArn: secret.arn });
  expect(registeredEvents()).toHaveLength(1);
  expect(JSON.parse(registeredEvents()[0].Detail!)).toEqual({
    agent_id: agentId,
    secret_arn: secret.arn,
    model_version: job.arn,
    model_version_kind: 'training-job',
    model_version_name: job.name,
    faucet: 'ALREADY_FUNDED',
    action_key: agentActionKey(job.arn),
  });
  expect(output.metric(METRIC.agentsRegistered)).toBe(1);
  expect(output.metric(METRIC.faucetAlreadyFunded)).toBe(1);
  expect(faucetCalls()).toBe(0);
});

test('the same event again, and a model package of the group, registered once each: the repeat makes no call and sends no event', async () => {
  const job = trainingJob();
  const handler = loadHandler();
  await run(handler, job.event);
  const again = await run(handler, job.event);
  expect(again).toMatchObject({ status: 'SUCCEEDED', repeated: true, agentId: registrations()[0].agentId });
  expect(registerCalls()).toBe(1);
  expect(registeredEvents()).toHaveLength(1);

  const pkg = modelPackage();
  const packaged = await run(handler, pkg.event);
  await run(handler, { ...pkg.event, detail: { ...pkg.event.detail, ModelApprovalStatus: 'Approved' } });
  expect(packaged).toMatchObject({ status: 'SUCCEEDED', modelVersion: pkg.arn, repeated: false });
  expect(secretOf(pkg.arn)!.name).toBe(`${PREFIX}model-package/${GROUP}/${pkg.arn.split('/').pop()}`);
  expect(registrations()).toHaveLength(2);
  expect(registeredEvents()).toHaveLength(2);
  expect(output.metric(METRIC.registrationsSkipped)).toBe(2);
});

test('concurrent deliveries of one event, in three processes, register one agent and create one secret', async () => {
  const job = trainingJob();
  const results = await invokeInProcesses('model-agents', env(), job.event, 3, 3);
  expect(results.filter((r) => r.status === 'SUCCEEDED')).not.toHaveLength(0);
  expect(registrations()).toHaveLength(1);
  expect(registerCalls()).toBe(1);
  expect(harness.aws.storedSecrets.filter((s) => s.name.startsWith(PREFIX) && s.tags.some((t) => t.Value === job.arn))).toHaveLength(1);
  expect(JSON.parse(secretOf(job.arn)!.secretString!).agent_id).toBe(registrations()[0].agentId);
  expect(registeredEvents()).toHaveLength(1);
});

test('a lost registration answer is UNKNOWN: the next delivery registers nothing, the registry says UNKNOWN, the secret has no value', async () => {
  const job = trainingJob();
  harness.sandbox.injectFaults('/api/v1/auth/register', { kind: 'timeout-after-commit' });
  const first = await run(loadHandler(), job.event);
  expect(first).toMatchObject({ status: 'UNKNOWN', actionKey: agentActionKey(job.arn), repeated: false });
  expect(registrations()).toHaveLength(1); // the orphan: created, its key never seen
  const again = await run(loadHandler(), job.event);
  expect(again).toMatchObject({ status: 'UNKNOWN', repeated: true });
  expect(registerCalls()).toBe(1);
  expect(secretOf(job.arn)!.secretString).toBeUndefined();
  expect(await agentOf(ledger(), job.arn)).toMatchObject({ status: 'UNKNOWN' });
  expect(registeredEvents()).toHaveLength(0);
  expect(output.metric(METRIC.registrationsUnknown)).toBe(1);
});

test('PutSecretValue failing after the registration is tried again in the invocation: one registration, the key ends in the secret', async () => {
  const job = trainingJob();
  // More failures than the SDK's own three attempts: the handler's retry of the key's write takes over.
  for (let i = 0; i < 4; i++) harness.aws.injectFault('PutSecretValue', { status: 500, type: 'InternalServiceError' });
  const result = await run(loadHandler(), job.event);
  expect(result).toMatchObject({ status: 'SUCCEEDED' });
  expect(registerCalls()).toBe(1);
  const agentId = registrations()[0].agentId!;
  expect(JSON.parse(secretOf(job.arn)!.secretString!)).toEqual({ key: harness.sandbox.casinoAgent(agentId)!.apiKey, agent_id: agentId });
});

test('a key that cannot be kept at all is UNKNOWN with the agent id (an orphan for the operator), never SUCCEEDED, never registered again', async () => {
  const job = trainingJob();
  // AccessDenied is not retried by the SDK: one per attempt of the handler's five.
  for (let i = 0; i < 5; i++)
    harness.aws.injectFault('PutSecretValue', { status: 400, type: 'AccessDeniedException', message: 'not allowed' });
  const first = await run(loadHandler(), job.event);
  const agentId = registrations()[0].agentId!;
  expect(first).toMatchObject({ status: 'UNKNOWN', agentId, reason: expect.stringContaining('AccessDeniedException') });
  expect(await readServicesLedger(harness, agentActionKey(job.arn))).toMatchObject({ state: 'UNKNOWN', response: { agent_id: agentId } });
  expect(await agentOf(ledger(), job.arn)).toMatchObject({ status: 'UNKNOWN', agentId });
  await run(loadHandler(), job.event);
  expect(registerCalls()).toBe(1);
  expect(registeredEvents()).toHaveLength(0);
});

describe('the faucet', () => {
  test("an agent without its $1 (the casino's claim did not happen) gets it claimed once; a repeat claims nothing", async () => {
    harness.sandbox.setRegisterClaimsFaucet(false);
    const job = trainingJob();
    const first = await run(loadHandler(), job.event);
    const agentId = registrations()[0].agentId!;
    expect(first.faucet).toEqual({ status: 'CLAIMED', actionKey: faucetActionKey(agentId), repeated: false });
    expect(harness.sandbox.casinoBalance(agentId)).toBe(1);
    expect(await readServicesLedger(harness, faucetActionKey(agentId))).toMatchObject({ state: 'SUCCEEDED', amountUsdc: 1 });
    const again = await run(loadHandler(), job.event);
    expect(again.faucet).toMatchObject({ status: 'CLAIMED', repeated: true });
    expect(faucetCalls()).toBe(1);
    expect(output.metric(METRIC.faucetClaimed)).toBe(1);
  });

  test('a 409 already_claimed (claimed meanwhile, e.g. by the background claim) counts as done', async () => {
    harness.sandbox.setRegisterClaimsFaucet(false);
    const job = trainingJob();
    // The claim waits at the faucet while another one (from another IP) is made for the agent.
    harness.sandbox.injectFaults('/faucet/claim', { kind: 'delay', ms: 400 });
    const running = run(loadHandler(), job.event);
    await waitFor(() => faucetCalls() === 1);
    const agentId = registrations()[0].agentId!;
    const byHand = await fetch(`${harness.sandbox.faucetUrl}/faucet/claim`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.1.2.3' },
      body: JSON.stringify({ agent_casino_id: agentId }),
    });
    expect(byHand.status).toBe(200);
    const result = await running;
    expect(result.faucet).toMatchObject({ status: 'ALREADY_FUNDED', repeated: false });
    expect(await readServicesLedger(harness, faucetActionKey(agentId))).toMatchObject({
      state: 'SUCCEEDED',
      response: { already_claimed: true },
    });
    expect(harness.sandbox.casinoBalance(agentId)).toBe(1);
  });

  test('a 429 ip_rate_limited is reported (DEFERRED), sent once, not retried; a later run after the cooldown claims it', async () => {
    // The first agent's background claim takes the IP's day; the second agent's cannot, nor can ours.
    await run(loadHandler(), trainingJob().event);
    const job = trainingJob();
    const callsBefore = faucetCalls();
    const deferred = await run(loadHandler(), job.event);
    const agentId = registrations()[1].agentId!;
    expect(deferred.faucet).toMatchObject({
      status: 'DEFERRED',
      actionKey: faucetActionKey(agentId),
      reason: expect.stringContaining('ip_rate_limited'),
    });
    expect(faucetCalls() - callsBefore).toBe(1);
    expect(await readServicesLedger(harness, faucetActionKey(agentId))).toMatchObject({ state: 'REJECTED' });
    expect(output.metric(METRIC.faucetDeferred)).toBe(1);
    expect(harness.sandbox.casinoBalance(agentId)).toBe(0);

    harness.sandbox.clock.advance(FAUCET_IP_COOLDOWN_MS + 1_000);
    const later = await run(loadHandler(), job.event);
    expect(later).toMatchObject({ status: 'SUCCEEDED', repeated: true, faucet: { status: 'CLAIMED' } });
    expect(harness.sandbox.casinoBalance(agentId)).toBe(1);
    expect(registerCalls()).toBe(2);
  });

  test('claimFaucet false: no balance read, no claim', async () => {
    harness.sandbox.setRegisterClaimsFaucet(false);
    const result = await run(loadHandler({ claimFaucet: false }), trainingJob().event);
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(result.faucet).toBeUndefined();
    expect(harness.sandbox.calls.filter((call) => call.route === '/api/v1/auth/balance')).toHaveLength(0);
    expect(faucetCalls()).toBe(0);
  });
});

test('dry run and disabled register nothing and create no secret; other jobs and bad events make no call and say why', async () => {
  const job = trainingJob();
  expect(await run(loadHandler({ dryRun: true }), job.event)).toMatchObject({
    status: 'SKIPPED',
    reason: expect.stringContaining('dry run'),
  });
  expect(await run(loadHandler({ enabled: false }), job.event)).toMatchObject({
    status: 'SKIPPED',
    reason: expect.stringContaining('disabled'),
  });
  expect(await run(loadHandler(), trainingJob('other-job-1').event)).toMatchObject({
    status: 'SKIPPED',
    reason: expect.stringContaining('churn-'),
  });
  expect(await run(loadHandler(), { ...job.event, detail: { ...job.event.detail, TrainingJobStatus: 'Failed' } })).toMatchObject({
    status: 'SKIPPED',
  });
  expect(await run(loadHandler(), { detail: {} })).toMatchObject({ status: 'INVALID' });
  expect(await run(loadHandler(), { ...job.event, detail: { ...job.event.detail, TrainingJobArn: 'arn:nope' } })).toMatchObject({
    status: 'INVALID',
    reason: expect.stringContaining('TrainingJobArn'),
  });
  expect(registerCalls()).toBe(0);
  expect(secretOf(job.arn)).toBeUndefined();
});

test('the gateway profile: the handler refuses to start', () => {
  expect(() =>
    loadBundledHandler('model-agents', {
      ...modelAgentsEnvironment(defaults),
      PF_SECRET_ARN: harness.secretArn,
      PF_API_KEY_FIELD: 'key',
      PF_AGENT_ID_FIELD: 'agent_id',
      PF_BASE_URL: 'https://api.purpleflea.com',
      PF_LEDGER_TABLE: LEDGER_TABLE,
    }),
  ).toThrow(/services profile/);
});

// Last: it reads what every test above wrote.
test('no key the casino issued is in any log line, ledger record, event, result or error of this whole file', async () => {
  expect(issuedKeys.size).toBeGreaterThanOrEqual(8);
  const { Items = [] } = await harness.ledger.send(new ScanCommand({ TableName: LEDGER_TABLE }));
  const haystacks = {
    logs: everyOutput.join('\n'),
    ledger: JSON.stringify(Items),
    events: JSON.stringify(harness.aws.putEvents),
    results: everyResult.join('\n'),
    errors: everyError.join('\n'),
  };
  // The search can find a key: the secrets hold them.
  expect(JSON.stringify(harness.aws.storedSecrets)).toContain([...issuedKeys][0]);
  expect(haystacks.logs.length).toBeGreaterThan(1_000);
  for (const key of issuedKeys) {
    for (const [where, text] of Object.entries(haystacks)) {
      expect({ where, found: text.includes(key) }).toEqual({ where, found: false });
    }
  }
  // Nor any casino key at all (the connection's own key neither).
  for (const [where, text] of Object.entries(haystacks)) {
    expect({ where, found: /sk_live_[0-9a-f]{48}/.test(text) }).toEqual({ where, found: false });
  }
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
