/**
 * ModelAgents' optional domain (issue 15, `domainName`), end to end with the bundled handler on the services sandbox
 * (its domains host: its own registry and USD balances), the fake Secrets Manager and dynalite: after the agent (and its
 * faucet dollar), its domain is registered once with the domains account's key (`v1:domain:<domain>`). Duplicated and
 * concurrent deliveries register it once; a lost answer and a 400 domain_unavailable are read back in the account's
 * list; a refusal may be tried again by a later delivery; a 500 registration_failed is UNKNOWN and never sent again;
 * the domains key is in no log line, record, event, result or error of the whole file.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { agentActionKey, domainActionKey } from '../../lambda/shared/action-keys';
import {
  MODEL_AGENT_REGISTERED_EVENT,
  MODEL_AGENTS_METRICS as METRIC,
  modelAgentsEnvironment,
  ModelAgentsSettings,
} from '../../lib/private/contracts/model-agents-env';
import { applyEnvironment, awsTestEnvironment } from '../support/aws-env';
import { FAKE_ACCOUNT_ID, FAKE_REGION } from '../support/fake-aws';
import { DomainsAccount } from '../support/purpleflea-services-sandbox';
import { captureOutput, invokeInProcesses, LEDGER_TABLE, loadBundledHandler } from './handler-harness';
import { completedTrainingJob, keepingEverything, ModelAgentsHandler } from './model-agents-events';
import { readServicesLedger, resetServices, servicesEnvironment, ServicesHarness, startServicesHarness } from './services-harness';

type Handler = ModelAgentsHandler;

const BUS_ARN = `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:event-bus/default`;
const PREFIX = 'purpleflea/model-agents/';
const GROUP = 'churn-models';
const DOMAIN_KEY_SECRET = 'PurpleFleaDomainsKey';
const TEMPLATE = '{modelVersionName}.agents.example.com';

let harness: ServicesHarness;
let output: ReturnType<typeof captureOutput>;
/** The funded domains account whose key the function uses (set before each test). */
let account: DomainsAccount;
let domainKeySecretArn: string;
const everyOutput: string[] = [];
const everyError: string[] = [];
const everyResult: string[] = [];
const domainsKeys = new Set<string>();

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
let eventsBefore = 0;
beforeEach(() => {
  resetServices(harness, { balance: 100 });
  account = harness.sandbox.addDomainsAccount({ balance: 100 });
  domainsKeys.add(account.apiKey);
  // A JSON object with the key under the configured field (and another field, which is not read).
  domainKeySecretArn = harness.aws.setSecret(DOMAIN_KEY_SECRET, JSON.stringify({ domains_key: account.apiKey, note: 'ops' })).arn;
  eventsBefore = harness.aws.putEvents.length;
  output = captureOutput();
});
afterEach(() => {
  everyOutput.push(output.text());
  output.restore();
});

const settings = (overrides: Partial<ModelAgentsSettings> = {}): ModelAgentsSettings => ({
  trainingJobs: true,
  trainingJobNamePrefix: 'churn-',
  modelPackageGroupName: GROUP,
  secretNamePrefix: PREFIX,
  claimFaucet: true,
  eventBusName: BUS_ARN,
  dryRun: false,
  enabled: true,
  domain: {
    nameTemplate: TEMPLATE,
    domainsUrl: `${harness.sandbox.domainsUrl}/v1`,
    keySecretArn: domainKeySecretArn,
    keyField: 'domains_key',
  },
  ...overrides,
});
const env = (overrides: Partial<ModelAgentsSettings> = {}) => servicesEnvironment(harness, modelAgentsEnvironment(settings(overrides)));
const loadHandler = (overrides: Partial<ModelAgentsSettings> = {}) =>
  loadBundledHandler<{ handler: Handler }>('model-agents', env(overrides)).handler;

/** Runs the handler, keeping its result and any error for the search for keys. */
const run = keepingEverything(everyResult, everyError);

let counter = 0;
function trainingJob(name = `churn-${++counter}-${Date.now()}`) {
  return { ...completedTrainingJob(name), domain: `${name.toLowerCase()}.agents.example.com` };
}

/** Registrations the domains service committed (server-side), and registration requests it received. */
const domainRegistrations = () => harness.sandbox.committed('domains.register');
const registerCalls = () => harness.sandbox.calls.filter((call) => call.route === '/v1/domains/register').length;
const registeredEvents = () =>
  harness.aws.putEvents.slice(eventsBefore).filter((entry) => entry.DetailType === MODEL_AGENT_REGISTERED_EVENT.detailType);
const price = () => harness.sandbox.domainPriceUsd();

test('a new agent gets its domain, once, paid by the domains account: recorded with its id, expiry and price, in the event and the result', async () => {
  const job = trainingJob(`churn-First-${Date.now()}`);
  const result = await run(loadHandler(), job.event);

  expect(domainRegistrations()).toHaveLength(1);
  const [registered] = harness.sandbox.domains(account.agentId);
  // Lower-cased, as the service keeps it.
  expect(registered.domain).toBe(`${job.name.toLowerCase()}.agents.example.com`);
  expect(harness.sandbox.domainsAccount(account.agentId)!.balance).toBeCloseTo(100 - price(), 2);
  expect(result).toMatchObject({
    status: 'SUCCEEDED',
    domain: {
      status: 'REGISTERED',
      domain: job.domain,
      actionKey: `v1:domain:${job.domain}`,
      domainId: registered.domainId,
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      chargedUsd: price(),
      repeated: false,
    },
  });
  const record = await readServicesLedger(harness, domainActionKey(job.domain));
  expect(record).toMatchObject({ state: 'SUCCEEDED', request: { domain: job.domain }, amountUsdc: 0 });
  expect(record!.response).toEqual({
    domain_id: registered.domainId,
    domain: job.domain,
    expires_at: result.domain.expiresAt,
    charged_usd: price(),
    model_version: job.arn,
  });
  expect(registeredEvents()).toHaveLength(1);
  expect(JSON.parse(registeredEvents()[0].Detail!)).toMatchObject({ domain: job.domain, domain_status: 'REGISTERED' });
  expect(output.metric(METRIC.domainsRegistered)).toBe(1);
  expect(output.metric(METRIC.domainChargedUsd)).toBe(price());
  // The domains key went to the domains host only.
  const domainCalls = harness.sandbox.calls.filter((call) => call.service === 'domains');
  expect(domainCalls.every((call) => call.authorization === `Bearer ${account.apiKey}`)).toBe(true);
  expect(harness.sandbox.calls.filter((call) => call.service !== 'domains' && call.authorization?.includes(account.apiKey))).toHaveLength(
    0,
  );
});

test('a duplicate delivery registers nothing twice: one registration at the server, the repeat reads the record', async () => {
  const job = trainingJob();
  const handler = loadHandler();
  await run(handler, job.event);
  const again = await run(loadHandler(), job.event);
  expect(again).toMatchObject({ status: 'SUCCEEDED', repeated: true, domain: { status: 'REGISTERED', repeated: true } });
  expect(domainRegistrations()).toHaveLength(1);
  expect(registerCalls()).toBe(1);
  expect(harness.sandbox.domainsAccount(account.agentId)!.balance).toBeCloseTo(100 - price(), 2);
  expect(output.metric(METRIC.domainsRegistered)).toBe(1);
});

test('concurrent deliveries, in three processes, register the domain once', async () => {
  const job = trainingJob();
  // The agent first, without a domain: concurrent deliveries then all reach the domain step together.
  await run(loadHandler({ domain: undefined }), job.event);
  harness.sandbox.injectFaults('/v1/domains/register', { kind: 'delay', ms: 300 });
  const results = await invokeInProcesses('model-agents', env(), job.event, 3, 2);
  expect(results.filter((r: any) => r.domain?.status === 'REGISTERED')).not.toHaveLength(0);
  expect(results.every((r: any) => r.domain?.status === 'REGISTERED' || r.domain?.status === 'IN_PROGRESS')).toBe(true);
  expect(domainRegistrations()).toHaveLength(1);
  expect(registerCalls()).toBe(1);
});

test('a lost answer (registered, then the connection dropped) is read back in the account list: REGISTERED, sent once', async () => {
  const job = trainingJob();
  harness.sandbox.injectFaults('/v1/domains/register', { kind: 'reset-after-commit' });
  const result = await run(loadHandler(), job.event);
  const [registered] = harness.sandbox.domains(account.agentId);
  expect(result.domain).toMatchObject({ status: 'REGISTERED', domain: job.domain, domainId: registered.domainId, chargedUsd: price() });
  expect(await readServicesLedger(harness, domainActionKey(job.domain))).toMatchObject({
    state: 'SUCCEEDED',
    response: { domain_id: registered.domainId, found_by_read_back: true, charged_usd: price(), model_version: job.arn },
  });
  await run(loadHandler(), job.event);
  expect(registerCalls()).toBe(1);
  expect(domainRegistrations()).toHaveLength(1);
  expect(output.metric(METRIC.domainRegistrationsUnknown)).toBe(0);
});

test('a lost answer with nothing registered stays UNKNOWN (the list is no proof it will not appear): never sent again', async () => {
  const job = trainingJob();
  harness.sandbox.injectFaults('/v1/domains/register', { kind: 'timeout' });
  const result = await run(loadHandler(), job.event);
  expect(result).toMatchObject({ status: 'SUCCEEDED', domain: { status: 'UNKNOWN', domain: job.domain } });
  expect(await readServicesLedger(harness, domainActionKey(job.domain))).toMatchObject({ state: 'UNKNOWN' });
  const again = await run(loadHandler(), job.event);
  expect(again.domain).toMatchObject({ status: 'UNKNOWN', repeated: true });
  expect(registerCalls()).toBe(1);
  expect(output.metric(METRIC.domainRegistrationsUnknown)).toBe(1);
});

test('a domain another account holds is REJECTED (read back: not ours), and the agent stands', async () => {
  const job = trainingJob();
  const other = harness.sandbox.addDomainsAccount({ balance: 50 });
  const taken = await fetch(`${harness.sandbox.domainsUrl}/v1/domains/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'authorization': `Bearer ${other.apiKey}` },
    body: JSON.stringify({ domain: job.domain }),
  });
  expect(taken.status).toBe(201);
  const result = await run(loadHandler(), job.event);
  expect(result).toMatchObject({
    status: 'SUCCEEDED',
    agentId: expect.stringMatching(/^ag_/),
    domain: { status: 'REJECTED', reason: expect.stringContaining('another account') },
  });
  expect(await readServicesLedger(harness, domainActionKey(job.domain))).toMatchObject({ state: 'REJECTED' });
  expect(harness.sandbox.domainsAccount(account.agentId)!.balance).toBe(100);
  expect(harness.sandbox.calls.filter((call) => call.route === '/v1/domains')).toHaveLength(1);
  expect(JSON.parse(registeredEvents()[0].Detail!)).toMatchObject({ domain: job.domain, domain_status: 'REJECTED' });
  expect(output.metric(METRIC.domainRegistrationsRejected)).toBe(1);
});

test('400 domain_unavailable for a domain this account registered before (its record lost) is REGISTERED, not charged again', async () => {
  const job = trainingJob();
  await fetch(`${harness.sandbox.domainsUrl}/v1/domains/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'authorization': `Bearer ${account.apiKey}` },
    body: JSON.stringify({ domain: job.domain }),
  });
  const result = await run(loadHandler(), job.event);
  expect(result.domain).toMatchObject({ status: 'REGISTERED', domainId: harness.sandbox.domains(account.agentId)[0].domainId });
  expect(domainRegistrations()).toHaveLength(1);
});

test('insufficient balance is REJECTED, nothing charged; a later delivery after funding registers it', async () => {
  harness.sandbox.fundDomainsAccount(account.agentId, -99);
  const job = trainingJob();
  const refused = await run(loadHandler(), job.event);
  expect(refused.domain).toMatchObject({ status: 'REJECTED', reason: expect.stringContaining('insufficient_balance') });
  expect(await readServicesLedger(harness, domainActionKey(job.domain))).toMatchObject({ state: 'REJECTED' });
  expect(domainRegistrations()).toHaveLength(0);

  harness.sandbox.fundDomainsAccount(account.agentId, 50);
  const later = await run(loadHandler(), job.event);
  expect(later).toMatchObject({ status: 'SUCCEEDED', repeated: true, domain: { status: 'REGISTERED', repeated: false } });
  expect(domainRegistrations()).toHaveLength(1);
  expect(registerCalls()).toBe(2);
  // The agent was announced once, with the domain as it stood then.
  expect(registeredEvents()).toHaveLength(1);
});

test('500 availability_check_failed (before anything is registered) is REJECTED; 500 registration_failed is UNKNOWN and never sent again', async () => {
  const checked = trainingJob();
  harness.sandbox.injectFaults('/v1/domains/register', { kind: 'status', status: 500, error: 'availability_check_failed' });
  const refused = await run(loadHandler(), checked.event);
  expect(refused.domain).toMatchObject({ status: 'REJECTED', reason: expect.stringContaining('availability_check_failed') });

  const job = trainingJob();
  harness.sandbox.injectFaults('/v1/domains/register', { kind: 'status', status: 500, error: 'registration_failed' });
  const first = await run(loadHandler(), job.event);
  expect(first.domain).toMatchObject({ status: 'UNKNOWN', reason: expect.stringContaining('registration_failed') });
  const callsAfterFirst = registerCalls();
  const again = await run(loadHandler(), job.event);
  expect(again.domain).toMatchObject({ status: 'UNKNOWN', repeated: true });
  expect(registerCalls()).toBe(callsAfterFirst);
  expect(await readServicesLedger(harness, domainActionKey(job.domain))).toMatchObject({ state: 'UNKNOWN' });
  expect(output.metric(METRIC.domainRegistrationsUnknown)).toBe(1);
});

test('a domains key that cannot be read: REJECTED with why (never the value), nothing sent, the agent still announced', async () => {
  harness.aws.setSecret(DOMAIN_KEY_SECRET, JSON.stringify({ other_field: account.apiKey }));
  const job = trainingJob();
  const result = await run(loadHandler(), job.event);
  expect(result).toMatchObject({
    status: 'SUCCEEDED',
    domain: {
      status: 'REJECTED',
      reason: expect.stringContaining('domains-key secret is a JSON object without a non-empty string field "domains_key"'),
    },
  });
  expect(registerCalls()).toBe(0);
  expect(await readServicesLedger(harness, domainActionKey(job.domain))).toMatchObject({ state: 'REJECTED' });
  expect(JSON.parse(registeredEvents()[0].Detail!)).toMatchObject({ domain: job.domain, domain_status: 'REJECTED' });
});

test('a rendered name that is no domain is INVALID with the value, nothing sent; the agent registration stands', async () => {
  // 63 characters: a valid job name, but with the template's 'x' the label has 64.
  const job = trainingJob(`churn-${'a'.repeat(57)}`);
  const result = await run(loadHandler({ domain: { ...settings().domain!, nameTemplate: `x${TEMPLATE}` } }), job.event);
  expect(result).toMatchObject({
    status: 'SUCCEEDED',
    agentId: expect.stringMatching(/^ag_/),
    domain: { status: 'INVALID', domain: `x${job.domain}`, reason: expect.stringContaining(`x${job.name}`) },
  });
  expect(registerCalls()).toBe(0);
  expect(await readServicesLedger(harness, agentActionKey(job.arn))).toMatchObject({ state: 'SUCCEEDED' });
  expect(output.metric(METRIC.domainRegistrationsInvalid)).toBe(1);
});

test('dry run says which domain it would register, and registers nothing', async () => {
  const job = trainingJob();
  const result = await run(loadHandler({ dryRun: true }), job.event);
  expect(result).toMatchObject({ status: 'SKIPPED', reason: expect.stringContaining(`the domain ${job.domain}`) });
  expect(await run(loadHandler({ enabled: false }), job.event)).toMatchObject({ status: 'SKIPPED' });
  expect(harness.sandbox.calls).toHaveLength(0);
});

test('without a domain setting nothing goes to the domains host and the event has no domain fields', async () => {
  const job = trainingJob();
  const result = await run(loadHandler({ domain: undefined }), job.event);
  expect(result.domain).toBeUndefined();
  expect(harness.sandbox.calls.filter((call) => call.service === 'domains')).toHaveLength(0);
  expect(JSON.parse(registeredEvents()[0].Detail!)).not.toHaveProperty('domain');
});

// Last: it reads what every test above wrote.
test('no domains key is in any log line, ledger record, event, result or error of this whole file', async () => {
  expect(domainsKeys.size).toBeGreaterThanOrEqual(10);
  const { Items = [] } = await harness.ledger.send(new ScanCommand({ TableName: LEDGER_TABLE }));
  const haystacks = {
    logs: everyOutput.join('\n'),
    ledger: JSON.stringify(Items),
    events: JSON.stringify(harness.aws.putEvents),
    results: everyResult.join('\n'),
    errors: everyError.join('\n'),
  };
  // The search can find a key: the secret holds the current one.
  expect(JSON.stringify(harness.aws.storedSecrets)).toContain(account.apiKey);
  expect(haystacks.logs.length).toBeGreaterThan(1_000);
  for (const key of domainsKeys) {
    for (const [where, text] of Object.entries(haystacks)) {
      expect({ where, found: text.includes(key) }).toEqual({ where, found: false });
    }
  }
  for (const [where, text] of Object.entries(haystacks)) {
    expect({ where, found: /sk_domains_[0-9a-f]{48}/.test(text) }).toEqual({ where, found: false });
  }
});
