import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ActionLedger } from '../../lambda/shared/action-ledger';
import { MoneyPath, OutcomeNotRecordedError } from '../../lambda/shared/money-path';
import { GATEWAY_PROFILE } from '../../lambda/shared/purpleflea-api';
import { PurpleFleaClient } from '../../lambda/shared/purpleflea-client';
import { FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY } from '../support/aws-env';
import { createLedgerTable, DynaliteServer, dynaliteClient, startDynalite } from '../support/dynalite';
import { ledgerWith, pacingWith, staticCredentials } from '../support/money-path-fakes';
import { PurpleFleaSandbox, SANDBOX_API_KEY, TRADING_ORDER_PATH } from '../support/purpleflea-sandbox';

const TABLE = 'MoneyPathLedger';
let dynamo: DynaliteServer;
let dynamoClient: DynamoDBClient;
let sandbox: PurpleFleaSandbox;
let client: PurpleFleaClient;
let counter = 0;

/** Credentials without Secrets Manager: the money path only needs `get` and `refresh`. */
const credentials = staticCredentials(SANDBOX_API_KEY);

function order(capUsdc?: number) {
  counter += 1;
  return {
    actionKey: `v1:trade:test:${counter}`,
    amountUsdc: 50,
    request: GATEWAY_PROFILE.tradeOrder({ agentId: 'agt_a', direction: 'long', amountUsdc: 50, asset: 'BTC-USDC', metadata: {} }),
    cap: capUsdc === undefined ? undefined : { counterKey: `v1:daily-notional:test:${counter}`, capUsdc },
  };
}

beforeAll(async () => {
  [dynamo, sandbox] = await Promise.all([startDynalite(), PurpleFleaSandbox.start()]);
  await createLedgerTable(dynamo.endpoint, TABLE);
  dynamoClient = dynaliteClient(dynamo.endpoint);
  client = new PurpleFleaClient({ baseUrl: sandbox.baseUrl, credentials, requestTimeoutMs: 1_000 });
});
afterAll(async () => {
  dynamoClient.destroy();
  await Promise.all([dynamo.close(), sandbox.close()]);
});
beforeEach(() => sandbox.reset());

const deadline = () => Date.now() + 20_000;

describe('MoneyPath with a cap', () => {
  test('over the cap: nothing is sent, and the action is REJECTED (it may run again when there is room)', async () => {
    const ledger = new ActionLedger({ tableName: TABLE, client: dynamoClient });
    const path = new MoneyPath(ledger, client);
    const action = order(40);
    const report = await path.executeOnce(action, { deadline: deadline() });
    expect(report).toMatchObject({ status: 'INVALID', repeated: false });
    expect(report.error).toContain('would exceed 40 USDC');
    expect(sandbox.calls).toHaveLength(0);
    expect(await ledger.get(action.actionKey)).toMatchObject({ state: 'REJECTED' });
  });

  test('a ledger failure while reserving fails the call, sends nothing and leaves the action claimable', async () => {
    const ledger = new ActionLedger({ tableName: TABLE, client: dynamoClient });
    const failingReservations = ledgerWith(ledger, {
      reserve: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    });
    const action = order(500);
    await expect(new MoneyPath(failingReservations, client).executeOnce(action, { deadline: deadline() })).rejects.toThrow(
      'ProvisionedThroughputExceededException',
    );
    expect(sandbox.calls).toHaveLength(0);
    expect(await ledger.get(action.actionKey)).toMatchObject({ state: 'REJECTED', error: 'the cap could not be checked' });

    const retried = await new MoneyPath(new ActionLedger({ tableName: TABLE, client: dynamoClient }), client).executeOnce(action, {
      deadline: deadline(),
    });
    expect(retried.status).toBe('SUCCEEDED');
    expect(sandbox.committed(TRADING_ORDER_PATH)).toHaveLength(1);
  });
});

describe('MoneyPath with work between claim and send (CLAIMED first)', () => {
  test('claims, waits, marks SENDING, sends once', async () => {
    const ledger = new ActionLedger({ tableName: TABLE, client: dynamoClient });
    const action = order();
    const statesSeenWhileWaiting: string[] = [];
    const report = await new MoneyPath(ledger, client).executeOnce(action, {
      deadline: deadline(),
      pacing: pacingWith({
        waitForTurn: async () => {
          statesSeenWhileWaiting.push((await ledger.get(action.actionKey))!.state);
        },
      }),
    });
    expect(statesSeenWhileWaiting).toEqual(['CLAIMED']);
    expect(report.status).toBe('SUCCEEDED');
    expect(await ledger.get(action.actionKey)).toMatchObject({ state: 'SUCCEEDED' });
    expect(sandbox.committed(TRADING_ORDER_PATH)).toHaveLength(1);
  });

  test('a claim lost during the wait (lease expired, taken over) is not sent', async () => {
    let now = Date.now();
    const ledger = new ActionLedger({ tableName: TABLE, client: dynamoClient, now: () => now });
    const action = order();
    const report = await new MoneyPath(ledger, client, () => now).executeOnce(action, {
      deadline: now + 1_000,
      pacing: pacingWith({
        waitForTurn: async () => {
          now += 120_000;
          const takeover = await ledger.claim(action.actionKey, { state: 'CLAIMED', leaseMs: 60_000, request: {}, amountUsdc: 50 });
          expect(takeover.claimed).toBe(true);
        },
      }),
    });
    expect(report.status).toBe('IN_PROGRESS');
    expect(sandbox.calls).toHaveLength(0);
  });
  test('a REJECTED answer gives the reservation back even when the ledger has meanwhile called the action UNKNOWN', async () => {
    // The lease ran out during the call and a repeat delivery turned the record UNKNOWN: our outcome write fails.
    const ledger = new ActionLedger({ tableName: TABLE, client: dynamoClient });
    const claimLostDuringCall = ledgerWith(ledger, { recordOutcome: async () => false });
    const action = order(500);
    sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'status', status: 402, error: 'insufficient_balance' });
    const report = await new MoneyPath(claimLostDuringCall, client).executeOnce(action, { deadline: deadline() });
    expect(report.status).toBe('REJECTED');
    // Refused, so not executed: given back now. The operator's not-executed resolution later finds it released.
    const counter = await ledger.get(action.cap!.counterKey);
    expect((counter as unknown as { reservedCents: number }).reservedCents).toBe(0);
    expect(
      await ledger.holds({ counterKey: action.cap!.counterKey, cents: 5_000, id: (await ledger.get(action.actionKey))!.claimToken }),
    ).toBe(false);
  });
});

describe('MoneyPath when something fails around the call', () => {
  test('the secret cannot be read: nothing is sent, the action is REJECTED at once (not stuck SENDING)', async () => {
    const ledger = new ActionLedger({ tableName: TABLE, client: dynamoClient });
    let failures = 1;
    const flakyCredentials = {
      get: async () => {
        if (failures-- > 0) throw new Error('Secrets Manager unavailable');
        return { apiKey: SANDBOX_API_KEY };
      },
      refresh: async () => ({ apiKey: SANDBOX_API_KEY }),
    };
    const path = new MoneyPath(
      ledger,
      new PurpleFleaClient({ baseUrl: sandbox.baseUrl, credentials: flakyCredentials, requestTimeoutMs: 1_000 }),
    );
    const action = order(500);
    await expect(path.executeOnce(action, { deadline: deadline() })).rejects.toThrow('Secrets Manager unavailable');
    expect(sandbox.calls).toHaveLength(0);
    expect(await ledger.get(action.actionKey)).toMatchObject({ state: 'REJECTED' });
    // The reservation was given back, and the next delivery places the order.
    expect((await path.executeOnce(action, { deadline: deadline() })).status).toBe('SUCCEEDED');
    expect(sandbox.committed(TRADING_ORDER_PATH)).toHaveLength(1);
  });

  test('the outcome cannot be recorded: the error carries the outcome and the API ids; nothing is sent again', async () => {
    const cannotRecord = ledgerWith(new ActionLedger({ tableName: TABLE, client: dynamoClient }), {
      recordOutcome: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    });
    const action = order();
    const failure = new MoneyPath(cannotRecord, client).executeOnce(action, { deadline: deadline() });
    await expect(failure).rejects.toBeInstanceOf(OutcomeNotRecordedError);
    const committed = sandbox.committed(TRADING_ORDER_PATH);
    expect(committed).toHaveLength(1);
    await expect(failure).rejects.toThrow(`SUCCEEDED for ${action.actionKey} could not be recorded`);
    await expect(failure).rejects.toThrow(committed[0].id);
    // A repeat finds SENDING and sends nothing.
    expect(
      (
        await new MoneyPath(new ActionLedger({ tableName: TABLE, client: dynamoClient }), client).executeOnce(action, {
          deadline: deadline(),
        })
      ).status,
    ).toBe('IN_PROGRESS');
    expect(sandbox.calls).toHaveLength(1);
  });

  test('a ledger write whose answer was lost and which the SDK retried is still our own claim', async () => {
    // Every write is applied twice, the first answer lost: what an SDK retry after a dropped connection does.
    class LosesFirstAnswer extends DynamoDBClient {
      override async send(command: any, ...rest: any[]): Promise<any> {
        if (command.constructor.name === 'UpdateItemCommand') {
          await super.send(command, ...rest).catch(() => undefined);
        }
        return super.send(command, ...rest);
      }
    }
    const lossy = new LosesFirstAnswer({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: FAKE_ACCESS_KEY_ID, secretAccessKey: FAKE_SECRET_ACCESS_KEY },
    });
    try {
      const ledger = new ActionLedger({ tableName: TABLE, client: lossy });
      const action = order();
      const report = await new MoneyPath(ledger, client).executeOnce(action, { deadline: deadline(), pacing: pacingWith() });
      expect(report.status).toBe('SUCCEEDED');
      expect(sandbox.committed(TRADING_ORDER_PATH)).toHaveLength(1);
      expect(await ledger.get(action.actionKey)).toMatchObject({ state: 'SUCCEEDED' });
    } finally {
      lossy.destroy();
    }
  });
});

describe('MoneyPath with a rate-limit slot free at once', () => {
  test('readyNow: the claim is the SENDING write and waitForTurn is not waited for', async () => {
    const ledger = new ActionLedger({ tableName: TABLE, client: dynamoClient });
    const action = order();
    let waited = false;
    const report = await new MoneyPath(ledger, client).executeOnce(action, {
      deadline: deadline(),
      pacing: pacingWith({
        readyNow: () => true,
        waitForTurn: async () => {
          waited = true;
        },
      }),
    });
    expect(report.status).toBe('SUCCEEDED');
    expect(waited).toBe(false);
    expect(await ledger.get(action.actionKey)).toMatchObject({ state: 'SUCCEEDED', attempts: 1 });
  });
});

test('a retried request (after a 429) tells its pacing the window is full until it renews, then waits for its pacing, once per retry', async () => {
  const ledger = new ActionLedger({ tableName: TABLE, client: dynamoClient });
  sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'status', status: 429 }, { kind: 'status', status: 429 });
  const windowMs = 5_000;
  const events: string[] = [];
  const renewals: number[] = [];
  const report = await new MoneyPath(
    ledger,
    new PurpleFleaClient({ baseUrl: sandbox.baseUrl, credentials, requestTimeoutMs: 1_000, rateLimitWindowMs: windowMs }),
  ).executeOnce(order(), {
    deadline: Date.now() + 30_000,
    pacing: pacingWith({
      readyNow: () => true,
      windowFull: (renewsAt) => {
        events.push('windowFull');
        renewals.push(renewsAt);
      },
      beforeRetry: async () => {
        events.push('beforeRetry');
      },
    }),
  });
  expect(report.status).toBe('SUCCEEDED');
  expect(events).toEqual(['windowFull', 'beforeRetry', 'windowFull', 'beforeRetry']);
  // The pacing does the waiting (this one does not wait at all): the client itself did not sleep out the window.
  const calls = sandbox.calls;
  expect(calls.map((call) => call.status)).toEqual([429, 429, 200]);
  expect(calls[2].receivedAt - calls[0].receivedAt).toBeLessThan(windowMs);
  // Each renewal is a whole window (and its 1% margin) after the 429 was answered.
  renewals.forEach((renewsAt, i) => expect(renewsAt - calls[i].answeredAt!).toBeGreaterThanOrEqual(windowMs * 1.01 - 1));
});

test('a 429 without pacing (a single action) sleeps out the window, then sends once; a window that renews past the deadline is REJECTED at once', async () => {
  const ledger = new ActionLedger({ tableName: TABLE, client: dynamoClient });
  const windowMs = 300;
  const client = new PurpleFleaClient({ baseUrl: sandbox.baseUrl, credentials, requestTimeoutMs: 1_000, rateLimitWindowMs: windowMs });
  sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'status', status: 429 });
  const report = await new MoneyPath(ledger, client).executeOnce(order(), { deadline: Date.now() + 30_000 });
  expect(report.status).toBe('SUCCEEDED');
  const [limited, sent] = sandbox.calls;
  expect(sent.receivedAt - limited.answeredAt!).toBeGreaterThanOrEqual(windowMs);

  sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'status', status: 429 });
  const late = await new MoneyPath(ledger, client).executeOnce(order(), {
    // Room for a request, not for a window and a request.
    deadline: Date.now() + 1_200,
  });
  expect(late).toMatchObject({ status: 'REJECTED', error: expect.stringContaining('the rate-limit window is full and renews too late') });
  expect(sandbox.calls).toHaveLength(3);
});

test('the secret cannot be read after a CLAIMED wait: the SENDING record is given back as REJECTED too', async () => {
  const ledger = new ActionLedger({ tableName: TABLE, client: dynamoClient });
  const failing = {
    get: async () => {
      throw new Error('Secrets Manager unavailable');
    },
    refresh: async () => ({ apiKey: SANDBOX_API_KEY }),
  };
  const action = order();
  await expect(
    new MoneyPath(ledger, new PurpleFleaClient({ baseUrl: sandbox.baseUrl, credentials: failing, requestTimeoutMs: 1_000 })).executeOnce(
      action,
      {
        deadline: deadline(),
        pacing: pacingWith(),
      },
    ),
  ).rejects.toThrow('Secrets Manager unavailable');
  expect(await ledger.get(action.actionKey)).toMatchObject({ state: 'REJECTED', error: 'not sent: Secrets Manager unavailable' });
  expect(sandbox.calls).toHaveLength(0);
});
