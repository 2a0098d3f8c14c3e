/**
 * The daily cap's reservations (issue 12, findings 1 and 2): each reservation has one owner of its
 * release, and a repeat delivery never takes part in the cap. Against dynalite and the sandbox.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { ActionLedger } from '../../lambda/shared/action-ledger';
import { LedgerOperator, SENDING_EXPIRY_MARGIN_MS } from '../../cli/src/ledger-operator';
import { MoneyAction, MoneyPath } from '../../lambda/shared/money-path';
import { GATEWAY_PROFILE } from '../../lambda/shared/purpleflea-api';
import { PurpleFleaClient } from '../../lambda/shared/purpleflea-client';
import { LEDGER_PARTITION_KEY } from '../../lib/private/contracts/ledger-schema';
import { interceptedDynaliteClient, LedgerWrite, LocalLedger, lostAnswerError, startLocalLedger } from '../support/dynalite';
import { PurpleFleaSandbox, SANDBOX_API_KEY, TRADING_ORDER_PATH } from '../support/purpleflea-sandbox';

const TABLE = 'CapReservationLedger';
let local: LocalLedger;
let sandbox: PurpleFleaSandbox;
let client: PurpleFleaClient;
let scenario = 0;

const credentials = { get: async () => ({ apiKey: SANDBOX_API_KEY }), refresh: async () => ({ apiKey: SANDBOX_API_KEY }) };

beforeAll(async () => {
  [local, sandbox] = await Promise.all([startLocalLedger(TABLE), PurpleFleaSandbox.start()]);
  client = new PurpleFleaClient({ baseUrl: sandbox.baseUrl, credentials, requestTimeoutMs: 2_000 });
});
afterAll(async () => {
  await Promise.all([local.close(), sandbox.close()]);
});
beforeEach(() => {
  sandbox.reset();
  scenario += 1;
});

function order(name: string, amountUsdc: number, capUsdc: number): MoneyAction {
  return {
    actionKey: `v1:trade:cap-test-${scenario}:${name}`,
    amountUsdc,
    request: GATEWAY_PROFILE.tradeOrder({ agentId: 'agt_a', direction: 'long', amountUsdc, asset: 'BTC-USDC', metadata: {} }),
    cap: { counterKey: `v1:daily-notional:cap-test-${scenario}:2026-12-04`, capUsdc },
  };
}

async function reservedCents(client: DynamoDBClient, counterKey: string): Promise<number> {
  const { Item } = await DynamoDBDocumentClient.from(client).send(
    new GetCommand({ TableName: TABLE, Key: { [LEDGER_PARTITION_KEY]: counterKey }, ConsistentRead: true }),
  );
  return (Item?.reservedCents as number | undefined) ?? 0;
}

const orderedUsdc = () => sandbox.committed(TRADING_ORDER_PATH).reduce((sum, action) => sum + Number(action.body.amount ?? 0), 0);

describe('finding 1: a reservation is given back once', () => {
  test('a claim whose answer was lost, then resolved not-executed by the operator, does not free the cap twice', async () => {
    let now = Date.now();
    const first = order('lost-claim', 60, 100);
    // The claim of `first` is applied, but its answer never comes back.
    const lossy = interceptedDynaliteClient(local.dynamo.endpoint, async (write: LedgerWrite, send) => {
      const result = await send();
      if (write.key === first.actionKey) throw lostAnswerError();
      return result;
    });
    try {
      const lossyPath = new MoneyPath(new ActionLedger({ tableName: TABLE, client: lossy, now: () => now }), client, () => now);
      await expect(lossyPath.executeOnce(first, { deadline: now + 5_000 })).rejects.toThrow('socket hang up');
    } finally {
      lossy.destroy();
    }
    const path = new MoneyPath(new ActionLedger({ tableName: TABLE, client: local.client, now: () => now }), client, () => now);
    expect((await path.executeOnce(order('second', 60, 100), { deadline: now + 5_000 })).status).toBe('SUCCEEDED');

    // The first action's lease has long ended: the operator finds it never executed and says so.
    now += 60 * 60_000 + SENDING_EXPIRY_MARGIN_MS;
    const operator = new LedgerOperator({ tableName: TABLE, client: local.client, now: () => now });
    await operator.resolve(first.actionKey, {
      as: 'not-executed',
      reason: 'no such order in the account',
      by: 'arn:aws:iam::123456789012:user/op',
    });

    const third = await path.executeOnce(order('third', 60, 100), { deadline: now + 5_000 });
    expect(third.status).toBe('INVALID');
    expect(orderedUsdc()).toBe(60);
    expect(await reservedCents(local.client, first.cap!.counterKey)).toBe(6_000);
  });
});

describe('finding 2: a repeat delivery never takes part in the cap', () => {
  test('two deliveries of one order near the cap, interleaved claim against reservation, place it once', async () => {
    const action = order('repeated', 60, 100);
    const counterKey = action.cap!.counterKey;
    // Completion of each client's writes, by key, so that each can wait for the other's.
    const done = { a: new Map<string, number>(), b: new Map<string, number>() };
    const seen = (log: Map<string, number>, key: string) => log.get(key) ?? 0;
    const waitUntil = async (condition: () => boolean, maxMs = 400) => {
      for (const until = Date.now() + maxMs; !condition() && Date.now() < until;) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    const recorder = (log: Map<string, number>, before: (write: LedgerWrite, nth: number) => Promise<void>) =>
      interceptedDynaliteClient(local.dynamo.endpoint, async (write, send) => {
        const nth = seen(log, write.key) + (pending.get(log)!.get(write.key) ?? 0) + 1;
        pending.get(log)!.set(write.key, (pending.get(log)!.get(write.key) ?? 0) + 1);
        await before(write, nth);
        try {
          return await send();
        } finally {
          pending.get(log)!.set(write.key, pending.get(log)!.get(write.key)! - 1);
          log.set(write.key, seen(log, write.key) + 1);
        }
      });
    const pending = new Map([
      [done.a, new Map<string, number>()],
      [done.b, new Map<string, number>()],
    ]);
    // Delivery A: its claim goes first; its counter write waits for B's; its second action write waits for B's claim.
    const clientA = recorder(done.a, async (write, nth) => {
      if (write.key === counterKey) await waitUntil(() => seen(done.b, counterKey) >= 1);
      if (write.key === action.actionKey && nth === 2) await waitUntil(() => seen(done.b, action.actionKey) >= 1);
    });
    // Delivery B: its claim waits for A's; a second counter write (a release) waits for A's counter write.
    const clientB = recorder(done.b, async (write, nth) => {
      if (write.key === action.actionKey) await waitUntil(() => seen(done.a, action.actionKey) >= 1);
      if (write.key === counterKey && nth === 2) await waitUntil(() => seen(done.a, counterKey) >= 1);
    });
    try {
      const deadline = Date.now() + 10_000;
      const reports = await Promise.all([
        new MoneyPath(new ActionLedger({ tableName: TABLE, client: clientA }), client).executeOnce(action, { deadline }),
        new MoneyPath(new ActionLedger({ tableName: TABLE, client: clientB }), client).executeOnce(action, { deadline }),
      ]);
      expect(reports.map((report) => report.status).sort()).toEqual(['IN_PROGRESS', 'SUCCEEDED']);
      expect(sandbox.committed(TRADING_ORDER_PATH)).toHaveLength(1);
      expect(await reservedCents(local.client, counterKey)).toBe(6_000);
    } finally {
      clientA.destroy();
      clientB.destroy();
    }
  });
});
