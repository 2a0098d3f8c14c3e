/**
 * `purpleflea-ledger release <hold or bonus escrow key> --reason` (issue 14: a reviewer who decides by hand), the
 * bundled command against dynalite, the fake AWS (STS, Secrets Manager) and each profile's sandbox: the escrow of a
 * SUCCEEDED hold or bonus escrow is released once through the money path (`v1:release:<escrow id>`), with who and why
 * on the release record and in its history; a second release reports the recorded one and sends nothing; a creation
 * that is UNKNOWN, missing or REJECTED is refused before anything is sent; a lost answer is UNKNOWN and never sent
 * again; a 409 is read back (released by hand before: SUCCEEDED, released_before; disputed or refunded: REJECTED).
 */
import { ActionLedger } from '../../lambda/shared/action-ledger';
import { GATEWAY_PROFILE, SERVICES_PROFILE } from '../../lambda/shared/purpleflea-api';
import type { LedgerRecord } from '../../lib/private/contracts/ledger-schema';
import { LocalLedger, startLocalLedger } from '../support/dynalite';
import { FakeAws } from '../support/fake-aws';
import { PurpleFleaSandbox, SANDBOX_API_KEY } from '../support/purpleflea-sandbox';
import { CasinoAgent, PurpleFleaServicesSandbox } from '../support/purpleflea-services-sandbox';
import { cliRunner } from './cli-runner';

const TABLE = 'ReleaseByHandLedger';
const SECRET = 'purpleflea/connection-key';
const ALICE = 'arn:aws:sts::123456789012:assumed-role/LedgerOperators/alice';
const BOB = 'arn:aws:sts::123456789012:assumed-role/LedgerOperators/bob';

let local: LocalLedger;
let aws: FakeAws;
let gateway: PurpleFleaSandbox;
let services: PurpleFleaServicesSandbox;
let cli: ReturnType<typeof cliRunner>;
let ledger: ActionLedger;
let creator: CasinoAgent;
let seller: CasinoAgent;
let counter = 0;

beforeAll(async () => {
  [local, aws, gateway, services] = await Promise.all([
    startLocalLedger(TABLE),
    FakeAws.start(),
    PurpleFleaSandbox.start(),
    PurpleFleaServicesSandbox.start(),
  ]);
  cli = cliRunner({ dynamo: local.dynamo.endpoint, aws: aws.url });
  ledger = new ActionLedger({ tableName: TABLE, client: local.client });
});
afterAll(async () => {
  await Promise.all([local.close(), aws.close(), gateway.close(), services.close()]);
});

/** One profile's world: its escrows, its release requests, the secret the connection keeps, and where it is. */
interface Profile {
  /** The connection's secret, as PurpleFleaConnection reads it. */
  secret(): string;
  /** Where the command finds this profile's escrow routes. */
  urlArguments(): string[];
  /** Creates an escrow as the hold or bonus escrow `actionKey` would: its id and the body the ledger records. */
  createEscrow(actionKey: string, amountUsdc: number): Promise<{ escrowId: string; request: { [key: string]: unknown } }>;
  /** Release requests that reached the sandbox for this escrow (sent, whatever came of them). */
  releaseRequests(escrowId: string): number;
  /** Releases the sandbox committed for this escrow (money moved). */
  releasesCommitted(escrowId: string): number;
  escrowStatus(escrowId: string): string | undefined;
  /** Moves the escrow as something else would: released by hand at Purple Flea, or disputed. */
  moveEscrow(escrowId: string, to: 'released' | 'disputed'): Promise<void>;
  /** The release's answer is lost after it took effect. */
  loseNextAnswer(): void;
}

async function postJson(url: string, key: string, body: unknown): Promise<{ [key: string]: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'authorization': `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.ok).toBe(true);
  return (await response.json()) as { [key: string]: any };
}

const gatewayProfile: Profile = {
  secret: () => JSON.stringify({ key: SANDBOX_API_KEY, agent_id: 'agt_platform_treasury' }),
  urlArguments: () => ['--base-url', gateway.baseUrl],
  async createEscrow(actionKey, amountUsdc) {
    const request = GATEWAY_PROFILE.createEscrow({
      buyer: 'agt_platform_treasury',
      seller: 'agt_model_owner',
      amountUsdc,
      condition: 'manual_review_cleared',
      metadata: { transaction_id: actionKey },
      actionKey,
    });
    const answer = await postJson(`${gateway.baseUrl}${request.path}`, SANDBOX_API_KEY, request.body);
    return { escrowId: answer.escrow_id as string, request: request.body as { [key: string]: unknown } };
  },
  releaseRequests: (escrowId) =>
    gateway.calls.filter((call) => call.method === 'POST' && call.path === `/escrow/release/${escrowId}`).length,
  releasesCommitted: (escrowId) => gateway.committed().filter((action) => action.kind === 'release' && action.id === escrowId).length,
  escrowStatus: (escrowId) => gateway.escrowStatus(escrowId),
  moveEscrow: async (escrowId, to) => gateway.setEscrowStatus(escrowId, to),
  loseNextAnswer: () => gateway.injectFaults('*', { kind: 'reset-after-commit' }),
};

const servicesProfile: Profile = {
  secret: () => JSON.stringify({ key: creator.apiKey, agent_id: creator.agentId }),
  urlArguments: () => ['--escrow-url', services.escrowUrl],
  async createEscrow(actionKey, amountUsdc) {
    const request = SERVICES_PROFILE.createEscrow({
      buyer: creator.agentId,
      seller: seller.agentId,
      amountUsdc,
      condition: 'manual_review_cleared',
      metadata: {},
      actionKey,
      services: { timeoutHours: 720 },
    });
    const answer = await postJson(`${services.escrowUrl}${request.path}`, creator.apiKey, request.body);
    return { escrowId: answer.escrow_id as string, request: request.body as { [key: string]: unknown } };
  },
  releaseRequests: (escrowId) =>
    services.calls.filter((call) => call.method === 'POST' && call.path === `/escrow/release/${escrowId}`).length,
  releasesCommitted: (escrowId) => services.committed('escrow.release').filter((action) => action.id === escrowId).length,
  escrowStatus: (escrowId) => services.escrow(escrowId)?.status,
  async moveEscrow(escrowId, to) {
    await postJson(`${services.escrowUrl}/escrow/${to === 'released' ? 'release' : 'dispute'}/${escrowId}`, creator.apiKey, {
      reason: 'by hand',
    });
  },
  loseNextAnswer: () => services.injectFaults('*', { kind: 'reset-after-commit' }),
};

/** A creation record as the construct leaves it: claimed, SENDING, then `state` (SUCCEEDED with the escrow's answer). */
async function creationRecord(
  actionKey: string,
  request: { [key: string]: unknown },
  amountUsdc: number,
  outcome: { state: 'SUCCEEDED'; escrowId: string } | { state: 'UNKNOWN' | 'REJECTED'; error: string } | { state: 'SENDING' },
): Promise<void> {
  const held = await ledger.claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request, amountUsdc });
  if (!held.claimed) throw new Error(`expected to claim ${actionKey}`);
  if (outcome.state === 'SENDING') return;
  if (outcome.state === 'SUCCEEDED') {
    await ledger.recordOutcome(actionKey, held.claimToken, 'SUCCEEDED', {
      response: { escrow_id: outcome.escrowId, status: 'funded' },
    });
  } else {
    await ledger.recordOutcome(actionKey, held.claimToken, outcome.state, { error: outcome.error });
  }
}

const holdKey = () => `v1:hold:txn-release-${++counter}`;
const bonusKey = () => `v1:escrow:arn:aws:sagemaker:us-east-1:123456789012:training-job/release-${++counter}`;

function expectOneLine(text: string): void {
  expect(text.endsWith('\n')).toBe(true);
  expect(text.trimEnd().split('\n')).toHaveLength(1);
}

describe.each([
  ['gateway', gatewayProfile],
  ['services', servicesProfile],
] as const)('release by hand on the %s profile', (_name, profile) => {
  const release = (actionKey: string, reason: string, ...more: string[]) =>
    cli(['release', actionKey, '--table', TABLE, '--reason', reason, '--secret', SECRET, ...profile.urlArguments(), ...more], {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
    });

  beforeEach(() => {
    gateway.reset();
    services.reset();
    creator = services.addCasinoAgent({ balance: 1_000 });
    seller = services.addCasinoAgent();
    aws.setSecret(SECRET, profile.secret());
    aws.setCallerIdentity(ALICE);
  });

  /** A SUCCEEDED hold (or bonus escrow) of 25 USDC whose escrow is funded at the sandbox. */
  async function settled(actionKey = holdKey(), amountUsdc = 25) {
    const { escrowId, request } = await profile.createEscrow(actionKey, amountUsdc);
    await creationRecord(actionKey, request, amountUsdc, { state: 'SUCCEEDED', escrowId });
    return { actionKey, escrowId, releaseKey: `v1:release:${escrowId}` };
  }

  test('releases the escrow of a SUCCEEDED hold once, with who and why on the release record and in its history', async () => {
    const { actionKey, escrowId, releaseKey } = await settled();

    const run = await release(actionKey, 'cleared by hand: the customer called back');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expectOneLine(run.stdout);
    expect(run.stdout).toBe(
      `SUCCEEDED: released (escrow ${escrowId}, 25 USDC, ${releaseKey}, of ${actionKey}; ` +
        `decided by ${ALICE} (operator): cleared by hand: the customer called back)\n`,
    );
    expect(profile.releaseRequests(escrowId)).toBe(1);
    expect(profile.releasesCommitted(escrowId)).toBe(1);
    expect(profile.escrowStatus(escrowId)).toBe('released');

    const record = (await ledger.get(releaseKey)) as LedgerRecord;
    expect(record).toMatchObject({
      state: 'SUCCEEDED',
      amountUsdc: 25,
      attempts: 1,
      decision: { by: ALICE, reason: 'cleared by hand: the customer called back', source: 'operator' },
      response: { escrow_id: escrowId, status: 'released' },
    });
    expect(record.history?.[0]).toMatchObject({
      event: 'claim',
      state: 'SENDING',
      by: ALICE,
      reason: 'cleared by hand: the customer called back',
    });
    expect(record.history?.at(-1)).toMatchObject({ event: 'record-outcome', state: 'SUCCEEDED' });
    // The hold's own record is left as it was.
    expect(await ledger.get(actionKey)).toMatchObject({ state: 'SUCCEEDED', attempts: 1 });
  });

  test('a second release (by someone else, with another reason) reports the recorded release and sends nothing', async () => {
    const { actionKey, escrowId, releaseKey } = await settled();
    expect((await release(actionKey, 'first look')).code).toBe(0);
    expect(profile.releaseRequests(escrowId)).toBe(1);

    aws.setCallerIdentity(BOB);
    const again = await release(actionKey, 'second look');
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expectOneLine(again.stdout);
    expect(again.stdout).toMatch(
      new RegExp(`^SUCCEEDED: already released, as recorded at \\S+Z: nothing sent \\(escrow ${escrowId}, 25 USDC, `),
    );
    // Who decided is the release's first decider, as recorded: the second asker decided nothing.
    expect(again.stdout).toContain(`decided by ${ALICE} (operator): first look)`);
    expect(again.stdout).not.toContain(BOB);

    const json = await release(actionKey, 'third look', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      status: 'SUCCEEDED',
      actionKey: releaseKey,
      escrowId,
      amountUsdc: 25,
      creationKey: actionKey,
      repeated: true,
      releasedBefore: false,
      decision: { by: ALICE, reason: 'first look', source: 'operator' },
      recordState: 'SUCCEEDED',
    });
    expect(profile.releaseRequests(escrowId)).toBe(1);
    expect(profile.releasesCommitted(escrowId)).toBe(1);
    const record = (await ledger.get(releaseKey)) as LedgerRecord;
    expect(record.attempts).toBe(1);
    expect(record.history?.filter((entry) => entry.event === 'claim')).toHaveLength(1);
  });

  test('released before by the approval path (a release record without a decision): reported as recorded, nothing sent', async () => {
    const { actionKey, escrowId, releaseKey } = await settled(bonusKey(), 40);
    const held = await ledger.claim(releaseKey, { state: 'SENDING', leaseMs: 60_000, request: {}, amountUsdc: 40 });
    if (!held.claimed) throw new Error('expected a claim');
    await ledger.recordOutcome(releaseKey, held.claimToken, 'SUCCEEDED', { response: { escrow_id: escrowId, status: 'released' } });

    const run = await release(actionKey, 'the owner asked again');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^SUCCEEDED: already released, as recorded at \S+Z: nothing sent /);
    expect(run.stdout).toContain(
      `40 USDC, ${releaseKey}, of ${actionKey}; no decision recorded: released without one, as on a model approval)\n`,
    );
    expect(profile.releaseRequests(escrowId)).toBe(0);
    expect((await ledger.get(releaseKey))?.decision).toBeUndefined();
  });

  test("a bonus escrow's key (v1:escrow:<training job ARN>) releases its escrow the same way", async () => {
    const { actionKey, escrowId, releaseKey } = await settled(bonusKey(), 50);
    const run = await release(actionKey, 'the model owner confirmed by mail', '--json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      status: 'SUCCEEDED',
      actionKey: releaseKey,
      escrowId,
      amountUsdc: 50,
      creationKey: actionKey,
      profile: _name,
      repeated: false,
    });
    expect(profile.releasesCommitted(escrowId)).toBe(1);
  });

  test('an UNKNOWN hold is refused: resolve it first; nothing is sent or claimed', async () => {
    const actionKey = holdKey();
    const { escrowId, request } = await profile.createEscrow(actionKey, 25);
    await creationRecord(actionKey, request, 25, { state: 'UNKNOWN', error: 'no_answer: socket hang up after the request was sent' });

    const run = await release(actionKey, 'looks fine');
    expect(run.stdout).toBe('');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `purpleflea-ledger: the hold '${actionKey}' is UNKNOWN: its escrow may or may not exist; resolve it first with resolve ` +
        '(after checking at Purple Flea: show --check), then release it\n',
    );
    expect(profile.releaseRequests(escrowId)).toBe(0);
    expect(await ledger.get(`v1:release:${escrowId}`)).toBeUndefined();
  });

  test('a hold still in flight (SENDING under a live lease) is refused until it has settled', async () => {
    const actionKey = holdKey();
    const { escrowId, request } = await profile.createEscrow(actionKey, 25);
    await creationRecord(actionKey, request, 25, { state: 'SENDING' });
    const run = await release(actionKey, 'looks fine');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`the hold '${actionKey}' is SENDING: its creation is in flight`);
    expect(profile.releaseRequests(escrowId)).toBe(0);
  });

  test('no record: nothing to release', async () => {
    const actionKey = holdKey();
    const run = await release(actionKey, 'looks fine');
    expect(run.stdout).toBe('');
    expect(run.code).toBe(1);
    expectOneLine(run.stderr);
    expect(run.stderr).toContain(`no action '${actionKey}' in ledger table '${TABLE}': no hold was recorded under this key`);
    expect(gateway.calls.length + services.calls.length).toBe(0);
  });

  test('a REJECTED hold created nothing: nothing to release', async () => {
    const actionKey = bonusKey();
    await creationRecord(actionKey, { amount: 25 }, 25, { state: 'REJECTED', error: 'insufficient_balance: Not enough funds' });
    const run = await release(actionKey, 'looks fine');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `purpleflea-ledger: the bonus escrow '${actionKey}' is REJECTED (insufficient_balance: Not enough funds): no escrow was created, nothing to release\n`,
    );
    expect(gateway.calls.length + services.calls.length).toBe(0);
  });

  test('a lost answer is UNKNOWN, reported, and never sent again', async () => {
    const { actionKey, escrowId, releaseKey } = await settled();
    profile.loseNextAnswer();

    const run = await release(actionKey, 'cleared by hand');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    expectOneLine(run.stdout);
    expect(run.stdout).toMatch(/^UNKNOWN: the answer was lost \(.+\): the escrow may be released; it is never sent again: /);
    expect(run.stdout).toContain(`check it at Purple Flea (GET /escrow/${escrowId}), then resolve ${releaseKey}`);
    expect(profile.releasesCommitted(escrowId)).toBe(1);
    expect(await ledger.get(releaseKey)).toMatchObject({ state: 'UNKNOWN', decision: { by: ALICE, reason: 'cleared by hand' } });

    const again = await release(actionKey, 'try again', '--json');
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'UNKNOWN', repeated: true, actionKey: releaseKey });
    expect(profile.releaseRequests(escrowId)).toBe(1);
    expect(profile.releasesCommitted(escrowId)).toBe(1);
  });

  test('released by hand at Purple Flea before: the 409 is read back and recorded SUCCEEDED, released_before', async () => {
    const { actionKey, escrowId, releaseKey } = await settled();
    await profile.moveEscrow(escrowId, 'released');
    // The gateway sandbox moves it without a request; the services' is released through its route, by the creator.
    const [requestsBefore, committedBefore] = [profile.releaseRequests(escrowId), profile.releasesCommitted(escrowId)];

    const run = await release(actionKey, 'cleared by hand', '--json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      status: 'SUCCEEDED',
      repeated: false,
      releasedBefore: true,
      httpStatus: 409,
      response: { escrow_id: escrowId, status: 'released', released_before: true },
    });
    expect(profile.releaseRequests(escrowId)).toBe(requestsBefore + 1); // ours, answered 409
    expect(profile.releasesCommitted(escrowId)).toBe(committedBefore); // nothing moved by ours
    expect(await ledger.get(releaseKey)).toMatchObject({ state: 'SUCCEEDED', response: { released_before: true } });

    const text = await release(actionKey, 'again');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^SUCCEEDED: already released, as recorded at \S+Z: nothing sent/);
    expect(profile.releaseRequests(escrowId)).toBe(requestsBefore + 1);
  });

  test('disputed at Purple Flea: the 409 is read back, REJECTED naming the state, exit code 1', async () => {
    const { actionKey, escrowId, releaseKey } = await settled();
    await profile.moveEscrow(escrowId, 'disputed');
    const run = await release(actionKey, 'cleared by hand');
    expect(run.code).toBe(1);
    expectOneLine(run.stdout);
    expect(run.stdout).toMatch(
      /^REJECTED: not released: invalid_status: .*the escrow is disputed: it cannot be released; the escrow stays as it is /,
    );
    expect(await ledger.get(releaseKey)).toMatchObject({ state: 'REJECTED' });
    expect(profile.escrowStatus(escrowId)).toBe('disputed');
  });

  test('text output escapes control characters of the reason; --json keeps them as JSON escapes', async () => {
    const { actionKey } = await settled();
    const reason = 'cleared\x1b[2J\nby hand\u202e';
    const run = await release(actionKey, reason);
    expect(run.code).toBe(0);
    expectOneLine(run.stdout);
    expect(run.stdout).not.toContain('\x1b');
    expect(run.stdout).not.toContain('\u202e');
    expect(run.stdout).toContain('cleared\\x1b[2J\\nby hand\\u202e)');
    const json = JSON.parse((await release(actionKey, 'x', '--json')).stdout);
    expect(json.decision.reason).toBe(reason);
  });

  test('a secret that is the bare key (not JSON) is the key itself, as the connection reads it', async () => {
    const { actionKey, escrowId } = await settled();
    aws.setSecret(SECRET, JSON.parse(profile.secret()).key);
    const run = await release(actionKey, 'cleared by hand');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(profile.releasesCommitted(escrowId)).toBe(1);
  });

  test('a secret that cannot be read: one line naming it, and the release is not claimed', async () => {
    const { actionKey, escrowId, releaseKey } = await settled();
    aws.setSecret(SECRET, JSON.stringify({ other: 'x' }));
    const run = await release(actionKey, 'cleared by hand');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`purpleflea-ledger: secret '${SECRET}' has no non-empty string field 'key'\n`);
    expect(await ledger.get(releaseKey)).toBeUndefined();
    expect(profile.releaseRequests(escrowId)).toBe(0);
  });
});

test('--help lists release, its options and the permissions it needs', async () => {
  const run = await cli(['--help']);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('release <v1:hold:... | v1:escrow:... action key> --reason <text> --secret <arn or name> [--json]');
  expect(run.stdout).toContain('secretsmanager:GetSecretValue on the secret and dynamodb:UpdateItem on the release records');
  expect(run.stdout).toContain('--escrow-url (services), --base-url (gateway)');
});

describe('release usage errors (exit code 2, nothing read)', () => {
  const base = ['--table', TABLE, '--secret', SECRET];
  test.each([
    ['no --reason', ['release', 'v1:hold:txn-1', ...base], 'release needs --reason <text>'],
    ['a blank --reason', ['release', 'v1:hold:txn-1', '--reason', '  ', ...base], 'release needs --reason <text>'],
    [
      'a trade key',
      ['release', 'v1:trade:arn:rule:evt', '--reason', 'r', ...base],
      "release takes a hold's or a bonus escrow's action key (v1:hold:... or v1:escrow:...), got 'v1:trade:arn:rule:evt'",
    ],
    ['a payout key', ['release', 'v1:payout:b/k:"e":agt_x', '--reason', 'r', ...base], "release takes a hold's or a bonus escrow's"],
    [
      "a release's own key",
      ['release', 'v1:release:esc_1', '--reason', 'r', ...base],
      "'v1:release:esc_1' is a release's own key: give the key of the hold or the bonus escrow it releases",
    ],
    ['no --secret', ['release', 'v1:hold:txn-1', '--reason', 'r', '--table', TABLE], 'release needs --secret <arn or name>'],
    ['two keys', ['release', 'v1:hold:a', 'v1:hold:b', '--reason', 'r', ...base], 'release takes one action key, got 2'],
    ['--as', ['release', 'v1:hold:txn-1', '--reason', 'r', '--as', 'succeeded', ...base], '--as is only for resolve'],
    ['--check', ['release', 'v1:hold:txn-1', '--reason', 'r', '--check', ...base], '--check is only for show --check'],
    [
      'a plain-http --base-url that is not loopback',
      ['release', 'v1:hold:txn-1', '--reason', 'r', '--base-url', 'http://api.example.com', ...base],
      '--base-url must be https (http only for a loopback host)',
    ],
    [
      '--base-url on show',
      ['show', 'v1:hold:txn-1', '--base-url', 'https://api.example.com', '--table', TABLE],
      '--base-url is only for release',
    ],
  ])('%s', async (_label, argv, message) => {
    const run = await cli(argv);
    expect(run.stdout).toBe('');
    expect(run.code).toBe(2);
    expectOneLine(run.stderr);
    expect(run.stderr).toContain(message);
  });
});
