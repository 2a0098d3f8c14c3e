import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ActionLedger, ClaimRequest, ClaimResult } from '../../lambda/shared/action-ledger';
import { compactResponse, recordableResponse } from '../../lambda/shared/api-response';
import { batchActHandler, RowPlan } from '../../lambda/shared/batch/act-on-batch';
import { mapWithConcurrency, RateLimiter } from '../../lambda/shared/batch/rate-limiter';
import { MoneyPath } from '../../lambda/shared/money-path';
import { GATEWAY_PROFILE } from '../../lambda/shared/purpleflea-api';
import { PurpleFleaClient } from '../../lambda/shared/purpleflea-client';
import { CredentialSource } from '../../lambda/shared/purpleflea-credentials';
import { createLedgerTable, DynaliteServer, dynaliteClient, startDynalite } from '../support/dynalite';
import { PurpleFleaSandbox, SANDBOX_API_KEY, WALLET_TRANSFER_PATH } from '../support/purpleflea-sandbox';
import { captureOutput, lambdaContext } from './handler-harness';

const TABLE = 'ActOnBatchLedger';
let dynamo: DynaliteServer;
let dynamoClient: DynamoDBClient;
let sandbox: PurpleFleaSandbox;
const credentials = { get: async () => ({ apiKey: SANDBOX_API_KEY }), refresh: async () => ({ apiKey: SANDBOX_API_KEY }) } as unknown as CredentialSource;

beforeAll(async () => {
  [dynamo, sandbox] = await Promise.all([startDynalite(), PurpleFleaSandbox.start()]);
  await createLedgerTable(dynamo.endpoint, TABLE);
  dynamoClient = dynaliteClient(dynamo.endpoint);
});
afterAll(async () => {
  dynamoClient.destroy();
  await Promise.all([dynamo.close(), sandbox.close()]);
});

interface Item {
  readonly line: number;
  readonly to: string;
}

function handlerWith(ledger: ActionLedger) {
  const run = Date.now();
  return batchActHandler<Item, { runId: string }>({
    logger: new Logger({ serviceName: 'test' }),
    metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
    label: 'payout',
    metricNames: { succeeded: 'Ok', skipped: 'Skipped', invalid: 'Invalid', rejected: 'Rejected', unknown: 'Unknown', amount: 'Amount' },
    apiLatencyMetric: 'Latency',
    moneyPath: new MoneyPath(ledger, new PurpleFleaClient({ baseUrl: sandbox.baseUrl, credentials, requestTimeoutMs: 1_000 })),
    requestsPerSecond: 1000,
    concurrency: 3,
    requestTimeoutMs: 1_000,
    plan: (item): RowPlan => ({
      columns: { line: item.line, agent_id: item.to, amount_usdc: 1 },
      action: {
        actionKey: `v1:payout:test-${run}:${item.to}`,
        amountUsdc: 1,
        request: GATEWAY_PROFILE.walletTransfer({ fromAgent: 'agt_from', toAgent: item.to, amountUsdc: 1, memo: 'm' }),
      },
    }),
  });
}

test("one row's ledger failure is that row's status: the other rows are paid, counted and logged", async () => {
  class FailsForOneRow extends ActionLedger {
    override async claim(actionKey: string, claim: ClaimRequest): Promise<ClaimResult> {
      if (actionKey.endsWith(':agt_b')) throw new Error('InternalServerError');
      return super.claim(actionKey, claim);
    }
  }
  const output = captureOutput();
  try {
    const handler = handlerWith(new FailsForOneRow({ tableName: TABLE, client: dynamoClient }));
    const items = ['agt_a', 'agt_b', 'agt_c', 'agt_d'].map((to, index) => ({ line: index + 2, to }));
    const result = await handler({ Items: items, BatchInput: { runId: 'r' } }, lambdaContext() as any);
    expect(result.rows.map((row) => [row.agent_id, row.status])).toEqual([
      ['agt_a', 'SUCCEEDED'],
      ['agt_b', 'REJECTED'],
      ['agt_c', 'SUCCEEDED'],
      ['agt_d', 'SUCCEEDED'],
    ]);
    expect(result.rows[1].error).toBe('not sent: Error: InternalServerError (a rerun sends it)');
    expect(sandbox.committed(WALLET_TRANSFER_PATH).map((t) => t.body.to_agent)).toEqual(expect.arrayContaining(['agt_a', 'agt_c', 'agt_d']));
    expect(output.metric('Ok')).toBe(3);
    expect(output.metric('Rejected')).toBe(1);
    // The row output keeps the API's ids only, so a batch of 1,000 stays under Step Functions' payload limit.
    expect(Object.keys(result.rows[0].result ?? {}).sort()).toEqual(['status', 'transfer_id']);
  } finally {
    output.restore();
  }
});

test('recordableResponse keeps the whole answer unless it is too large for a ledger record', () => {
  const small = { transfer_id: 'tx_1', note: 'x'.repeat(100) };
  expect(recordableResponse(small)).toBe(small);
  expect(recordableResponse({ transfer_id: 'tx_2', blob: 'x'.repeat(70_000) })).toEqual({ transfer_id: 'tx_2', _truncated: true });
});

test('compactResponse keeps ids and status, short', () => {
  expect(compactResponse({ transfer_id: 'tx_1', status: 'done', _info: { a: 1 }, memo: 'long text', id: 7, note_id: 'x'.repeat(300) })).toEqual({
    transfer_id: 'tx_1',
    status: 'done',
    id: 7,
    note_id: 'x'.repeat(128),
  });
});

test('mapWithConcurrency: after a failure no new item starts, and it throws once the items in flight are done', async () => {
  const started: number[] = [];
  const finished: number[] = [];
  const work = async (n: number) => {
    started.push(n);
    await new Promise((resolve) => setTimeout(resolve, n === 1 ? 5 : 20));
    if (n === 1) throw new Error('boom');
    finished.push(n);
    return n;
  };
  await expect(mapWithConcurrency([0, 1, 2, 3, 4, 5, 6], 2, work)).rejects.toThrow('boom');
  // Items 0 and 1 were in flight; 1 failed first, 0 finished, and nothing else started.
  expect(started).toEqual([0, 1]);
  expect(finished).toEqual([0]);
});

test('RateLimiter.tryTake takes a slot only when one is free now, and paces the waiting ones after it', async () => {
  let now = 1_000;
  const limiter = new RateLimiter(10, () => now);
  expect(limiter.tryTake()).toBe(true);
  expect(limiter.tryTake()).toBe(false);
  now += 100;
  expect(limiter.tryTake()).toBe(true);
  expect(await limiter.take(now + 50)).toBe(false);
});
