/**
 * The worlds the escrow move tests (a release, a dispute) run in, one per profile: the profile's sandbox with an escrow
 * that the client's key created, ways to move it as something else would, what the sandbox committed, and the money
 * path over dynalite. `useEscrowWorlds` starts them for a test file and gives each test a fresh creator and seller.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ActionLedger } from '../../lambda/shared/action-ledger';
import { MoneyPath } from '../../lambda/shared/money-path';
import { GATEWAY_PROFILE, PurpleFleaApiProfile, SERVICES_PROFILE } from '../../lambda/shared/purpleflea-api';
import { PurpleFleaClient } from '../../lambda/shared/purpleflea-client';
import { createLedgerTable, DynaliteServer, dynaliteClient, startDynalite } from '../support/dynalite';
import { staticCredentials } from '../support/money-path-fakes';
import { PurpleFleaSandbox, SANDBOX_API_KEY } from '../support/purpleflea-sandbox';
import { CasinoAgent, PurpleFleaServicesSandbox } from '../support/purpleflea-services-sandbox';

export type EscrowMove = 'release' | 'dispute';

/** One profile's world: a client with the creator's key, a way to create an escrow, and the sandbox's view of it. */
export interface EscrowWorld {
  readonly api: PurpleFleaApiProfile;
  client(): PurpleFleaClient;
  /** Creates an escrow with the key's agent as its creator; its id. */
  createEscrow(amountUsdc: number): Promise<string>;
  /** The moves of one kind the sandbox committed for this escrow, each its request body. */
  committed(move: EscrowMove, escrowId: string): { readonly [field: string]: unknown }[];
  /** Moves the escrow as something else would: released by hand, refunded at its timeout, disputed. */
  moveEscrow(escrowId: string, to: 'released' | 'refunded' | 'disputed'): Promise<void>;
  injectFault(kind: 'timeout-after-commit'): void;
}

export interface EscrowWorlds {
  readonly gateway: EscrowWorld;
  readonly services: EscrowWorld;
  /** The gateway's sandbox itself (to rotate its keys). */
  gatewaySandbox(): PurpleFleaSandbox;
  /** A money path over the file's ledger table, with the world's client. */
  moneyPath(world: EscrowWorld): MoneyPath;
}

export function useEscrowWorlds(table: string): EscrowWorlds {
  let dynamo: DynaliteServer;
  let dynamoClient: DynamoDBClient;
  let gateway: PurpleFleaSandbox;
  let services: PurpleFleaServicesSandbox;
  let creator: CasinoAgent;
  let seller: CasinoAgent;

  beforeAll(async () => {
    [dynamo, gateway, services] = await Promise.all([startDynalite(), PurpleFleaSandbox.start(), PurpleFleaServicesSandbox.start()]);
    await createLedgerTable(dynamo.endpoint, table);
    dynamoClient = dynaliteClient(dynamo.endpoint);
  });
  afterAll(async () => {
    dynamoClient.destroy();
    await Promise.all([dynamo.close(), gateway.close(), services.close()]);
  });
  beforeEach(() => {
    gateway.reset();
    services.reset();
    creator = services.addCasinoAgent({ balance: 1_000 });
    seller = services.addCasinoAgent();
  });

  const gatewayWorld: EscrowWorld = {
    api: GATEWAY_PROFILE,
    client: () =>
      new PurpleFleaClient({ baseUrl: gateway.baseUrl, credentials: staticCredentials(SANDBOX_API_KEY), requestTimeoutMs: 500 }),
    async createEscrow(amountUsdc) {
      const res = await fetch(`${gateway.baseUrl}/escrow/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'authorization': `Bearer ${SANDBOX_API_KEY}` },
        body: JSON.stringify({ buyer: 'agt_buyer', seller: 'agt_seller', amount: amountUsdc, condition: 'approved' }),
      });
      return ((await res.json()) as { escrow_id: string }).escrow_id;
    },
    committed: (move, escrowId) =>
      gateway
        .committed()
        .filter((action) => action.kind === move && action.id === escrowId)
        .map((action) => action.body),
    moveEscrow: async (escrowId, to) => gateway.setEscrowStatus(escrowId, to),
    injectFault: (kind) => gateway.injectFaults('*', { kind }),
  };

  const servicesWorld: EscrowWorld = {
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
    committed: (move, escrowId) =>
      services
        .committed(`escrow.${move}` as const)
        .filter((action) => action.id === escrowId)
        .map((action) => action.body),
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
    injectFault: (kind) => services.injectFaults('*', { kind }),
  };

  return {
    gateway: gatewayWorld,
    services: servicesWorld,
    gatewaySandbox: () => gateway,
    moneyPath: (world) => new MoneyPath(new ActionLedger({ tableName: table, client: dynamoClient }), world.client()),
  };
}
