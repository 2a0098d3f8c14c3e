import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ActionLedger } from '../../lambda/shared/action-ledger';
import { compactResponse, recordableResponse } from '../../lambda/shared/api-response';
import { batchActHandler, RowPlan } from '../../lambda/shared/batch/act-on-batch';
import { mapWithConcurrency } from '../../lambda/shared/batch/rate-limiter';
import { MoneyPath, MoneyPathLedger } from '../../lambda/shared/money-path';
import { GATEWAY_PROFILE } from '../../lambda/shared/purpleflea-api';
import { PurpleFleaClient } from '../../lambda/shared/purpleflea-client';
import { createLedgerTable, DynaliteServer, dynaliteClient, startDynalite } from '../support/dynalite';
import { ledgerWith, staticCredentials } from '../support/money-path-fakes';
import { PurpleFleaSandbox, SANDBOX_API_KEY, WALLET_TRANSFER_PATH } from '../support/purpleflea-sandbox';
import { captureOutput, lambdaContext } from './handler-harness';

const TABLE = 'ActOnBatchLedger';
let dynamo: DynaliteServer;
let dynamoClient: DynamoDBClient;
let sandbox: PurpleFleaSandbox;
const credentials = staticCredentials(SANDBOX_API_KEY);

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

function handlerWith(ledger: MoneyPathLedger, requestsPerSecond = 1000, concurrency = 3) {
  const run = Date.now();
  return batchActHandler<Item, { runId: string }>({
    logger: new Logger({ serviceName: 'test' }),
    metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
    label: 'payout',
    metricNames: { succeeded: 'Ok', skipped: 'Skipped', invalid: 'Invalid', rejected: 'Rejected', unknown: 'Unknown', amount: 'Amount' },
    apiLatencyMetric: 'Latency',
    moneyPath: new MoneyPath(ledger, new PurpleFleaClient({ baseUrl: sandbox.baseUrl, credentials, requestTimeoutMs: 1_000 })),
    requestsPerSecond,
    concurrency,
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

/** DynamoDB requests the ledger made while `work` ran. */
async function ledgerRequestsDuring(work: () => Promise<unknown>): Promise<number> {
  let requests = 0;
  const count = () => requests++;
  dynamo.server!.on('request', count);
  try {
    await work();
  } finally {
    dynamo.server!.off('request', count);
  }
  return requests;
}

test('a paced row waits for its slot first, then claims straight as SENDING: two ledger writes a row', async () => {
  const output = captureOutput();
  try {
    // 40 requests a second, 5 rows in flight: each row's slot is under a second away.
    const handler = handlerWith(new ActionLedger({ tableName: TABLE, client: dynamoClient }), 40, 5);
    const items = Array.from({ length: 12 }, (_, index) => ({ line: index + 2, to: `agt_paced_${index}` }));
    let result: Awaited<ReturnType<typeof handler>> | undefined;
    const requests = await ledgerRequestsDuring(async () => {
      result = await handler({ Items: items, BatchInput: { runId: 'paced' } }, lambdaContext() as any);
    });
    expect(result!.rows.map((row) => row.status)).toEqual(items.map(() => 'SUCCEEDED'));
    // The claim (as SENDING) and the outcome; claiming first and marking SENDING after the wait would be three.
    expect(requests).toBe(2 * items.length);
  } finally {
    output.restore();
  }
});

test('at a slow pace, a row claims before its long wait, so a rerun of done rows waits for no slot', async () => {
  const output = captureOutput();
  try {
    // Half a request a second: the second row's slot is two seconds away.
    const handler = handlerWith(new ActionLedger({ tableName: TABLE, client: dynamoClient }), 0.5, 2);
    const event = {
      Items: [
        { line: 2, to: 'agt_slow_a' },
        { line: 3, to: 'agt_slow_b' },
      ],
      BatchInput: { runId: 'slow' },
    };
    const first = await handler(event, lambdaContext() as any);
    expect(first.rows.map((row) => row.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);

    const started = Date.now();
    const rerun = await handler(event, lambdaContext() as any);
    expect(rerun.rows.map((row) => [row.status, row.repeated])).toEqual([
      ['SUCCEEDED', true],
      ['SUCCEEDED', true],
    ]);
    // The next free slot is two seconds away; the done rows did not wait for it.
    expect(Date.now() - started).toBeLessThan(1_000);
  } finally {
    output.restore();
  }
});

test("one row's ledger failure is that row's status: the other rows are paid, counted and logged", async () => {
  const ledger = new ActionLedger({ tableName: TABLE, client: dynamoClient });
  const failsForOneRow = ledgerWith(ledger, {
    claim: async (actionKey, claim) => {
      if (actionKey.endsWith(':agt_b')) throw new Error('InternalServerError');
      return ledger.claim(actionKey, claim);
    },
  });
  const output = captureOutput();
  try {
    const handler = handlerWith(failsForOneRow);
    const items = ['agt_a', 'agt_b', 'agt_c', 'agt_d'].map((to, index) => ({ line: index + 2, to }));
    const result = await handler({ Items: items, BatchInput: { runId: 'r' } }, lambdaContext() as any);
    expect(result.rows.map((row) => [row.agent_id, row.status])).toEqual([
      ['agt_a', 'SUCCEEDED'],
      ['agt_b', 'REJECTED'],
      ['agt_c', 'SUCCEEDED'],
      ['agt_d', 'SUCCEEDED'],
    ]);
    expect(result.rows[1].error).toBe('not sent: Error: InternalServerError (a rerun sends it)');
    expect(sandbox.committed(WALLET_TRANSFER_PATH).map((t) => t.body.to_agent)).toEqual(
      expect.arrayContaining(['agt_a', 'agt_c', 'agt_d']),
    );
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
  expect(
    compactResponse({ transfer_id: 'tx_1', status: 'done', _info: { a: 1 }, memo: 'long text', id: 7, note_id: 'x'.repeat(300) }),
  ).toEqual({
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
