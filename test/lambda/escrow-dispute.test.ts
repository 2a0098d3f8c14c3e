/**
 * Disputing a hold once (issue 14, FraudHoldEscrow's onConfirmedFraud: DISPUTE), through the money path with the real
 * client, dynalite and each profile's sandbox: one dispute per escrow id, with its reason; a repeat makes no call, a
 * lost answer is UNKNOWN and never re-sent, and a 409 `invalid_status` is read back (`GET /escrow/{id}`): disputed
 * before → SUCCEEDED (`disputed_before`), released or refunded → REJECTED naming the state; an unknown escrow is REJECTED.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ActionLedger } from '../../lambda/shared/action-ledger';
import { escrowDisputeAction } from '../../lambda/shared/escrow-dispute';
import { MoneyPath } from '../../lambda/shared/money-path';
import { GATEWAY_PROFILE, PurpleFleaApiProfile, SERVICES_PROFILE } from '../../lambda/shared/purpleflea-api';
import { PurpleFleaClient } from '../../lambda/shared/purpleflea-client';
import { createLedgerTable, DynaliteServer, dynaliteClient, startDynalite } from '../support/dynalite';
import { staticCredentials } from '../support/money-path-fakes';
import { PurpleFleaSandbox, SANDBOX_API_KEY } from '../support/purpleflea-sandbox';
import { CasinoAgent, PurpleFleaServicesSandbox } from '../support/purpleflea-services-sandbox';

const TABLE = 'DisputeLedger';
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
  /** Disputes committed by the sandbox for this escrow, with their reasons. */
  disputes(escrowId: string): string[];
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
  disputes: (escrowId) =>
    gateway
      .committed()
      .filter((action) => action.kind === 'dispute' && action.id === escrowId)
      .map((action) => String(action.body.reason)),
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
  disputes: (escrowId) =>
    services
      .committed('escrow.dispute')
      .filter((action) => action.id === escrowId)
      .map((action) => String(action.body.reason)),
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
] as const)('a hold disputed once, on the %s profile', (_name, profile) => {
  beforeEach(() => {
    gateway.reset();
    services.reset();
    creator = services.addCasinoAgent({ balance: 1_000 });
    seller = services.addCasinoAgent();
  });
  const REASON = 'review confirmed fraud: chargeback pattern';
  const path = () => new MoneyPath(new ActionLedger({ tableName: TABLE, client: dynamoClient }), profile.client());
  const dispute = (escrowId: string) =>
    path().executeOnce(escrowDisputeAction(profile.api, profile.client(), { escrowId, amountUsdc: 20, reason: REASON }), {
      deadline: Date.now() + 10_000,
    });

  test('the first dispute is sent with its reason, a second is a repeat that makes no call', async () => {
    const escrowId = await profile.createEscrow(20);
    expect(await dispute(escrowId)).toMatchObject({ status: 'SUCCEEDED', repeated: false, actionKey: `v1:dispute:${escrowId}` });
    expect(await dispute(escrowId)).toMatchObject({ status: 'SUCCEEDED', repeated: true });
    expect(profile.disputes(escrowId)).toEqual([REASON]);
  });

  test('a lost answer is UNKNOWN, and a later delivery never sends it again', async () => {
    const escrowId = await profile.createEscrow(20);
    profile.injectReleaseFault('timeout-after-commit');
    expect(await dispute(escrowId)).toMatchObject({ status: 'UNKNOWN' });
    expect(await dispute(escrowId)).toMatchObject({ status: 'UNKNOWN', repeated: true });
    expect(profile.disputes(escrowId)).toHaveLength(1);
  });

  test('disputed before (by hand): the 409 is read back and recorded as SUCCEEDED, disputed_before', async () => {
    const escrowId = await profile.createEscrow(20);
    await profile.moveEscrow(escrowId, 'disputed');
    expect(await dispute(escrowId)).toMatchObject({
      status: 'SUCCEEDED',
      httpStatus: 409,
      response: { escrow_id: escrowId, status: 'disputed', disputed_before: true },
    });
  });

  test.each(['released', 'refunded'] as const)('%s: the 409 is read back and REJECTED, naming the state', async (state) => {
    const escrowId = await profile.createEscrow(20);
    await profile.moveEscrow(escrowId, state);
    const before = profile.disputes(escrowId).length;
    expect(await dispute(escrowId)).toMatchObject({
      status: 'REJECTED',
      error: expect.stringContaining(`the escrow is ${state}: it cannot be disputed`),
    });
    expect(profile.disputes(escrowId)).toHaveLength(before);
  });

  test('an escrow that does not exist is REJECTED (404), nothing disputed', async () => {
    const report = await dispute(profile === gatewayProfile ? 'esc_999999' : 'esc_nonexistent00');
    expect(report).toMatchObject({ status: 'REJECTED', httpStatus: 404 });
  });
});
