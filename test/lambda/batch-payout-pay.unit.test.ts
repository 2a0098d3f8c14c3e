/**
 * BatchPayout's Pay handler factory with plain fakes: a money path that sends each action key once
 * (test/support/money-path-fakes.ts) and an agent id function. No dynalite, no sandbox, no bundle:
 * batch-payout.handler.test.ts runs the bundled handlers end to end.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createBatchPayoutPayHandler } from '../../lambda/batch-payout-pay/handler';
import { GATEWAY_PROFILE } from '../../lambda/shared/purpleflea-api';
import type { BatchInput, PayoutItem } from '../../lib/private/contracts/batch-engine';
import { BATCH_PAYOUT_METRICS as METRIC, BatchPayoutPaySettings } from '../../lib/private/contracts/batch-payout-env';
import { captureOutput, fixedContext } from '../support/handler-fakes';
import { FakeOutcome, moneyPathFake, MoneyPathFake } from '../support/money-path-fakes';

const FROM_AGENT = 'agt_pipeline_treasury';
const BATCH: BatchInput = { runId: 'run-1', sourceBucket: 'scores-bucket', sourceKey: 'round-1/scores.csv', sourceEtag: 'etag-1' };

const defaults: BatchPayoutPaySettings = {
  requestsPerSecond: 1000,
  concurrency: 4,
  dryRun: false,
  enabled: true,
  maxPayoutPerAgentUsdc: 1000,
  maxBatchTotalUsdc: 1_000_000,
};

function row(line: number, agentId: string, amount: string, score = '1.25'): PayoutItem {
  return { line: String(line), agent_id: agentId, score, amount_usdc: amount };
}

function payHandler(
  settings: Partial<BatchPayoutPaySettings> = {},
  moneyPath: MoneyPathFake = moneyPathFake(),
  agentId = async () => FROM_AGENT,
) {
  let agentIdReads = 0;
  const handler = createBatchPayoutPayHandler({
    settings: { ...defaults, ...settings },
    runtime: {
      api: GATEWAY_PROFILE,
      moneyPath,
      requestTimeoutMs: 1_000,
      agentId: () => {
        agentIdReads += 1;
        return agentId();
      },
    },
    logger: new Logger({ serviceName: 'unit' }),
    metrics: new Metrics({ namespace: 'Unit', serviceName: 'unit' }),
  });
  return {
    pay: (items: PayoutItem[]) => handler({ Items: items, BatchInput: BATCH }, fixedContext(60_000)),
    moneyPath,
    agentIdReads: () => agentIdReads,
  };
}

const keyOf = (agentId: string) => `v1:payout:${BATCH.sourceBucket}/${BATCH.sourceKey}:${BATCH.sourceEtag}:${agentId}`;

let output: ReturnType<typeof captureOutput>;
beforeEach(() => {
  output = captureOutput();
});
afterEach(() => output.restore());

describe('createBatchPayoutPayHandler', () => {
  test("one transfer per row from the connection's agent, keyed by the file's ETag and the agent; the rows SUCCEEDED", async () => {
    const { pay, moneyPath } = payHandler();
    const { rows } = await pay([row(2, 'agt_alice', '12.50'), row(3, 'agt_bob', '7.00', '0.7')]);

    expect(rows).toEqual([
      expect.objectContaining({ line: 2, agent_id: 'agt_alice', score: '1.25', amount_usdc: 12.5, status: 'SUCCEEDED', repeated: false }),
      expect.objectContaining({ line: 3, agent_id: 'agt_bob', score: '0.7', amount_usdc: 7, status: 'SUCCEEDED', repeated: false }),
    ]);
    expect(moneyPath.sent.map((action) => action.actionKey).sort()).toEqual([keyOf('agt_alice'), keyOf('agt_bob')]);
    expect(moneyPath.sent.find((action) => action.actionKey === keyOf('agt_alice'))).toEqual({
      actionKey: keyOf('agt_alice'),
      amountUsdc: 12.5,
      request: GATEWAY_PROFILE.walletTransfer({
        fromAgent: FROM_AGENT,
        toAgent: 'agt_alice',
        amountUsdc: 12.5,
        memo: 'pipeline-bonus score=1.250',
      }),
    });
    // Each row is paced: the money path gets the row's pacing and the batch's deadline.
    expect(moneyPath.calls.every((call) => call.options.pacing !== undefined && call.options.deadline > Date.now())).toBe(true);
    expect(output.metric(METRIC.payoutsSucceeded)).toBe(2);
    expect(output.metric(METRIC.paidUsdc)).toBe(19.5);
  });

  test("a malformed row, or one over a cap or with sub-cent digits, is INVALID with the reason; nothing is sent for it, and the agent id isn't read", async () => {
    const { pay, moneyPath, agentIdReads } = payHandler({ maxPayoutPerAgentUsdc: 100 });
    const { rows } = await pay([
      row(2, 'not an agent', '5.00'),
      row(3, 'agt_alice', '150.00'),
      row(4, 'agt_bob', '1.005'),
      row(5, 'agt_carol', '0'),
    ]);

    expect(rows.map((r) => r.status)).toEqual(['INVALID', 'INVALID', 'INVALID', 'INVALID']);
    expect(rows[0].error).toMatch(/^malformed batch item /);
    expect(rows[1].error).toBe('amount_usdc 150.00 is over maxPayoutPerAgentUsdc 100: input.csv is not what Prepare checked; not paid');
    expect(rows[2].error).toBe('amount_usdc "1.005" is not an amount in whole cents: input.csv is not what Prepare wrote; not paid');
    expect(rows[3].error).toMatch(/^malformed batch item /);
    expect(moneyPath.calls).toEqual([]);
    expect(agentIdReads()).toBe(0);
  });

  test('disabled: every row SKIPPED, nothing sent, the secret never read', async () => {
    const { pay, moneyPath, agentIdReads } = payHandler({ enabled: false });
    const { rows } = await pay([row(2, 'agt_alice', '12.50')]);
    expect(rows).toEqual([expect.objectContaining({ status: 'SKIPPED', error: 'disabled (enabled: false): nothing is paid' })]);
    expect(moneyPath.calls).toEqual([]);
    expect(agentIdReads()).toBe(0);
  });

  test('dry run: every row SKIPPED with what it would pay, nothing sent', async () => {
    const { pay, moneyPath } = payHandler({ dryRun: true });
    const { rows } = await pay([row(2, 'agt_alice', '12.5')]);
    expect(rows).toEqual([expect.objectContaining({ status: 'SKIPPED', error: 'dry run: would pay 12.50 USDC' })]);
    expect(moneyPath.calls).toEqual([]);
  });

  test('the same batch again pays no one twice; a row whose amount changed shows the recorded amount and says so', async () => {
    const moneyPath = moneyPathFake();
    await payHandler({}, moneyPath).pay([row(2, 'agt_alice', '12.50'), row(3, 'agt_bob', '7.00')]);

    const { rows } = await payHandler({}, moneyPath).pay([row(2, 'agt_alice', '12.50'), row(3, 'agt_bob', '9.00')]);
    expect(moneyPath.sent).toHaveLength(2);
    expect(rows).toEqual([
      expect.objectContaining({ line: 2, status: 'SUCCEEDED', repeated: true, amount_usdc: 12.5 }),
      expect.objectContaining({
        line: 3,
        status: 'SUCCEEDED',
        repeated: true,
        amount_usdc: 7,
        computed_amount_usdc: 9,
        note: 'repeated: the ledger recorded 7.00 USDC for this action; this run computed 9.00 USDC',
      }),
    ]);
    expect(rows[0].note).toBeUndefined();
  });

  test("one row's refusal or lost answer is that row's status; the others are paid", async () => {
    const outcomes: { [agentId: string]: FakeOutcome } = {
      agt_bob: { status: 'REJECTED', error: 'insufficient_balance' },
      agt_carol: { status: 'UNKNOWN', error: 'no answer after sending' },
    };
    const moneyPath = moneyPathFake((action) => outcomes[action.actionKey.split(':').at(-1)!] ?? { status: 'SUCCEEDED', response: {} });
    const { rows } = await payHandler({}, moneyPath).pay([
      row(2, 'agt_alice', '1.00'),
      row(3, 'agt_bob', '2.00'),
      row(4, 'agt_carol', '3.00'),
    ]);
    expect(rows.map((r) => [r.line, r.status, r.error])).toEqual([
      [2, 'SUCCEEDED', undefined],
      [3, 'REJECTED', 'insufficient_balance'],
      [4, 'UNKNOWN', 'no answer after sending'],
    ]);
    expect(output.records().filter((line) => line.message === 'payout UNKNOWN')).toHaveLength(1);
  });

  test('an agent id that cannot be read fails the batch (its message never quotes the secret), and nothing is sent', async () => {
    const { pay, moneyPath } = payHandler({}, moneyPathFake(), async () => {
      throw new Error('the secret field "agent_id" does not hold a valid agent id (its value is not shown: it comes from the secret)');
    });
    await expect(pay([row(2, 'agt_alice', '12.50')])).rejects.toThrow('does not hold a valid agent id');
    expect(moneyPath.calls).toEqual([]);
  });
});
