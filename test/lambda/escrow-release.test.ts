/**
 * Releasing an escrow once (issue 14), through the money path with the real client, dynalite and each profile's
 * sandbox: one release per escrow id, a repeat makes no call, a lost answer is UNKNOWN and never re-sent, and a
 * 409 `invalid_status` is read back (`GET /escrow/{id}`): released before → SUCCEEDED (`released_before`),
 * refunded or disputed → REJECTED naming the state; an unknown escrow is REJECTED.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ActionLedger } from '../../lambda/shared/action-ledger';
import { createdEscrow, escrowReleaseAction } from '../../lambda/shared/escrow-release';
import type { LedgerRecord } from '../../lambda/shared/action-ledger';
import { MoneyPath } from '../../lambda/shared/money-path';
import { GATEWAY_PROFILE, PurpleFleaApiProfile, SERVICES_PROFILE } from '../../lambda/shared/purpleflea-api';
import { PurpleFleaClient } from '../../lambda/shared/purpleflea-client';
import { createLedgerTable, DynaliteServer, dynaliteClient, startDynalite } from '../support/dynalite';
import { staticCredentials } from '../support/money-path-fakes';
import { PurpleFleaSandbox, SANDBOX_API_KEY } from '../support/purpleflea-sandbox';
import { CasinoAgent, PurpleFleaServicesSandbox } from '../support/purpleflea-services-sandbox';

const TABLE = 'ReleaseLedger';
let dynamo: DynaliteServer;
let dynamoClient: DynamoDBClient;
let gateway: PurpleFleaSandbox;
let services: PurpleFleaServicesSandbox;

beforeAll(async () => {
  [dynamo, gateway, services] = await Promise.all([startDynalite(), PurpleFleaSandbox.start(), PurpleFleaServicesSandbox.start()]);
  await createLedgerTable(dynamo.endpoint, TABLE);
  dynamoClient = dynaliteClient(dynamo.endpoint);
});
afterAll(async () => {
  dynamoClient.destroy();
  await Promise.all([dynamo.close(), gateway.close(), services.close()]);
});

/** One profile's world: a client with the creator's key, a way to create an escrow, and the sandbox's view of it. */
interface Profile {
  readonly api: PurpleFleaApiProfile;
  client(): PurpleFleaClient;
  /** Creates an escrow with the key's agent as its creator; its id. */
  createEscrow(amountUsdc: number): Promise<string>;
  /** Releases committed by the sandbox for this escrow. */
  releases(escrowId: string): number;
  /** Moves the escrow as something else would: released by hand, refunded at its timeout, disputed. */
  moveEscrow(escrowId: string, to: 'released' | 'refunded' | 'disputed'): Promise<void>;
  injectReleaseFault(kind: 'timeout-after-commit'): void;
}

const gatewayProfile: Profile = {
  api: GATEWAY_PROFILE,
  client: () => new PurpleFleaClient({ baseUrl: gateway.baseUrl, credentials: staticCredentials(SANDBOX_API_KEY), requestTimeoutMs: 500 }),
  async createEscrow(amountUsdc) {
    const res = await fetch(`${gateway.baseUrl}/escrow/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'authorization': `Bearer ${SANDBOX_API_KEY}` },
      body: JSON.stringify({ buyer: 'agt_buyer', seller: 'agt_seller', amount: amountUsdc, condition: 'approved' }),
    });
    return ((await res.json()) as { escrow_id: string }).escrow_id;
  },
  releases: (escrowId) => gateway.committed().filter((action) => action.kind === 'release' && action.id === escrowId).length,
  moveEscrow: async (escrowId, to) => gateway.setEscrowStatus(escrowId, to),
  injectReleaseFault: (kind) => gateway.injectFaults('*', { kind }),
};

let creator: CasinoAgent;
let seller: CasinoAgent;
const servicesProfile: Profile = {
  api: SERVICES_PROFILE,
  client: () =>
    new PurpleFleaClient({
      services: { escrow: { baseUrl: services.escrowUrl, credentials: staticCredentials(creator.apiKey) } },
      requestTimeoutMs: 500,
    }),
  async createEscrow(amountUsdc) {
    const res = await fetch(`${services.escrowUrl}/escrow/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'authorization': `Bearer ${creator.apiKey}` },
      body: JSON.stringify({ amount_usd: amountUsdc, description: 'approved', counterparty_agent_id: seller.agentId, timeout_hours: 1 }),
    });
    return ((await res.json()) as { escrow_id: string }).escrow_id;
  },
  releases: (escrowId) => services.committed('escrow.release').filter((action) => action.id === escrowId).length,
  async moveEscrow(escrowId, to) {
    if (to === 'refunded') {
      services.clock.advance(2 * 3_600_000);
      await fetch(`${services.escrowUrl}/escrow/${escrowId}`); // the next request runs the due refund sweep
      return;
    }
    const route = to === 'released' ? 'release' : 'dispute';
    const res = await fetch(`${services.escrowUrl}/escrow/${route}/${escrowId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'authorization': `Bearer ${creator.apiKey}` },
      body: '{}',
    });
    expect(res.status).toBe(200);
  },
  injectReleaseFault: (kind) => services.injectFaults('*', { kind }),
};

describe.each([
  ['gateway', gatewayProfile],
  ['services', servicesProfile],
] as const)('an escrow released once, on the %s profile', (_name, profile) => {
  beforeEach(() => {
    gateway.reset();
    services.reset();
    creator = services.addCasinoAgent({ balance: 1_000 });
    seller = services.addCasinoAgent();
  });
  const path = () => new MoneyPath(new ActionLedger({ tableName: TABLE, client: dynamoClient }), profile.client());
  const release = (escrowId: string) =>
    path().executeOnce(escrowReleaseAction(profile.api, profile.client(), { escrowId, amountUsdc: 20 }), {
      deadline: Date.now() + 10_000,
    });

  test('the first release moves it, a second is a repeat that makes no call', async () => {
    const escrowId = await profile.createEscrow(20);
    expect(await release(escrowId)).toMatchObject({ status: 'SUCCEEDED', repeated: false, actionKey: `v1:release:${escrowId}` });
    expect(await release(escrowId)).toMatchObject({ status: 'SUCCEEDED', repeated: true });
    expect(profile.releases(escrowId)).toBe(1);
  });

  test('a lost answer is UNKNOWN, and a later delivery never sends it again', async () => {
    const escrowId = await profile.createEscrow(20);
    profile.injectReleaseFault('timeout-after-commit');
    expect(await release(escrowId)).toMatchObject({ status: 'UNKNOWN' });
    expect(await release(escrowId)).toMatchObject({ status: 'UNKNOWN', repeated: true });
    expect(profile.releases(escrowId)).toBe(1);
  });

  test('released before (by hand): the 409 is read back and recorded as SUCCEEDED, released_before', async () => {
    const escrowId = await profile.createEscrow(20);
    await profile.moveEscrow(escrowId, 'released');
    const report = await release(escrowId);
    expect(report).toMatchObject({
      status: 'SUCCEEDED',
      httpStatus: 409,
      response: { escrow_id: escrowId, status: 'released', released_before: true },
    });
    expect(await release(escrowId)).toMatchObject({ status: 'SUCCEEDED', repeated: true, response: { released_before: true } });
  });

  test.each(['refunded', 'disputed'] as const)('%s: the 409 is read back and REJECTED, naming the state', async (state) => {
    const escrowId = await profile.createEscrow(20);
    await profile.moveEscrow(escrowId, state);
    expect(await release(escrowId)).toMatchObject({
      status: 'REJECTED',
      error: expect.stringContaining(`the escrow is ${state}: it cannot be released`),
    });
    expect(profile.releases(escrowId)).toBe(0);
  });

  test('an escrow that does not exist is REJECTED (404), nothing released', async () => {
    const report = await release(profile === gatewayProfile ? 'esc_999999' : 'esc_nonexistent00');
    expect(report).toMatchObject({ status: 'REJECTED', httpStatus: 404 });
  });
});

describe('reading an escrow back with a rotated key', () => {
  /** A key source that still holds the old key until refreshed, counting the refreshes. */
  function rotatingCredentials(oldKey: string, newKey: string) {
    let current = oldKey;
    const counts = { refreshes: 0 };
    return {
      counts,
      credentials: {
        get: async () => ({ apiKey: current }),
        refresh: async () => {
          counts.refreshes += 1;
          current = newKey;
          return { apiKey: current };
        },
      },
    };
  }
  afterEach(() => gateway.setApiKeys([SANDBOX_API_KEY]));

  test('a 401 re-reads the key once and reads with the new one', async () => {
    const escrowId = await gatewayProfile.createEscrow(20);
    gateway.setApiKeys(['pf_live_rotated']);
    const { counts, credentials } = rotatingCredentials(SANDBOX_API_KEY, 'pf_live_rotated');
    const client = new PurpleFleaClient({ baseUrl: gateway.baseUrl, credentials, requestTimeoutMs: 500 });
    const read = await client.read(GATEWAY_PROFILE.readEscrow(escrowId));
    expect(read).toMatchObject({ kind: 'answered', status: 200, body: { escrow_id: escrowId } });
    expect(counts.refreshes).toBe(1);
  });

  test('a key still refused after the re-read is answered 401, without a second re-read', async () => {
    const escrowId = await gatewayProfile.createEscrow(20);
    gateway.setApiKeys(['pf_live_rotated']);
    const { counts, credentials } = rotatingCredentials(SANDBOX_API_KEY, 'pf_live_stale_again');
    const client = new PurpleFleaClient({ baseUrl: gateway.baseUrl, credentials, requestTimeoutMs: 500 });
    expect(await client.read(GATEWAY_PROFILE.readEscrow(escrowId))).toMatchObject({ kind: 'answered', status: 401 });
    expect(counts.refreshes).toBe(1);
  });
});

describe('createdEscrow: what a creation record says about releasing its escrow', () => {
  const record = (actionKey: string, fields: Partial<LedgerRecord>): LedgerRecord =>
    ({ actionKey, claimToken: 't', leaseExpiresAt: 0, attempts: 1, createdAt: 0, updatedAt: 0, ...fields }) as LedgerRecord;
  const bonus = 'v1:escrow:arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-1';
  const hold = 'v1:hold:txn-1';

  test('no record: none; REJECTED: refused, with its error', () => {
    expect(createdEscrow(undefined)).toEqual({ kind: 'none' });
    expect(createdEscrow(record(hold, { state: 'REJECTED', error: 'insufficient_balance' }))).toEqual({
      kind: 'refused',
      error: 'insufficient_balance',
    });
  });

  test.each(['CLAIMED', 'SENDING', 'UNKNOWN'] as const)('%s: unsettled (the release waits, never guesses)', (state) => {
    expect(createdEscrow(record(bonus, { state }))).toEqual({ kind: 'unsettled', state });
  });

  test("SUCCEEDED: the escrow id from either profile's answer, and the recorded amount", () => {
    expect(createdEscrow(record(bonus, { state: 'SUCCEEDED', amountUsdc: 50, response: { escrow_id: 'esc_0123456789abcdef' } }))).toEqual({
      kind: 'created',
      escrowId: 'esc_0123456789abcdef',
      amountUsdc: 50,
    });
    expect(createdEscrow(record(hold, { state: 'SUCCEEDED', amountUsdc: 25, response: { escrow_id: 'esc_5521' } }))).toMatchObject({
      kind: 'created',
      escrowId: 'esc_5521',
    });
  });

  test('SUCCEEDED without an escrow id or without an amount: incomplete', () => {
    expect(createdEscrow(record(bonus, { state: 'SUCCEEDED', amountUsdc: 50, response: { status: 'funded' } }))).toEqual({
      kind: 'incomplete',
    });
    expect(createdEscrow(record(hold, { state: 'SUCCEEDED', response: { escrow_id: 'esc_5521' } }))).toEqual({ kind: 'incomplete' });
  });
});
