/**
 * The act steps' decisions on one row of input.csv, with no I/O: BatchPayout Pay's checkPayoutRow and
 * payoutAction, FraudHoldEscrow Act's planHold.
 */
import { checkPayoutRow, payoutAction, PayoutRowRules } from '../../lambda/batch-payout-pay/decide';
import { HoldRowRules, planHold } from '../../lambda/fraud-hold-act/decide';
import { GATEWAY_PROFILE } from '../../lambda/shared/purpleflea-api';
import type { BatchInput, PayoutItem } from '../../lib/private/contracts/batch-engine';
import type { HoldItem } from '../../lib/private/contracts/fraud-hold-env';

const BATCH: BatchInput = { runId: 'run-1', sourceBucket: 'bucket', sourceKey: 'in/scores.csv', sourceEtag: 'etag-1' };

describe('checkPayoutRow and payoutAction (BatchPayout Pay)', () => {
  const rules: PayoutRowRules = { enabled: true, dryRun: false, maxPayoutPerAgentUsdc: 100, maxBatchTotalUsdc: 1000 };
  const item = (overrides: Partial<PayoutItem> = {}): PayoutItem => ({
    line: '2',
    agent_id: 'agt_alice',
    score: '1.5',
    amount_usdc: '15.00',
    ...overrides,
  });
  const columns = { line: 2, agent_id: 'agt_alice', score: '1.5', amount_usdc: 15 };

  test('a well-formed row within the caps is paid its amount', () => {
    expect(checkPayoutRow(item(), rules)).toEqual({ columns, amountUsdc: 15 });
  });

  test.each([
    ['a line that is no integer', { line: 'x' }],
    ['an invalid agent id', { agent_id: 'agt alice' }],
    ['no amount', { amount_usdc: '' }],
    ['a zero amount', { amount_usdc: '0.00' }],
    ['a negative amount', { amount_usdc: '-1.00' }],
  ])('%s is INVALID, malformed', (_name, overrides) => {
    const checked = checkPayoutRow(item(overrides), rules);
    expect('invalid' in checked && checked.invalid).toBe(`malformed batch item ${JSON.stringify(item(overrides))}`);
  });

  test('the caps are checked again: a row over either is INVALID, naming the cap', () => {
    expect(checkPayoutRow(item({ amount_usdc: '100.01' }), rules)).toEqual({
      columns: { ...columns, amount_usdc: 100.01 },
      invalid: 'amount_usdc 100.01 is over maxPayoutPerAgentUsdc 100: input.csv is not what Prepare checked; not paid',
    });
    expect(
      checkPayoutRow(item({ amount_usdc: '100.01' }), { ...rules, maxPayoutPerAgentUsdc: 5000, maxBatchTotalUsdc: 100 }),
    ).toMatchObject({
      invalid: 'amount_usdc 100.01 is over maxBatchTotalUsdc 100: input.csv is not what Prepare checked; not paid',
    });
  });

  test('disabled and dry run are SKIPPED, disabled first; a malformed row is INVALID either way', () => {
    expect(checkPayoutRow(item(), { ...rules, enabled: false, dryRun: true })).toEqual({
      columns,
      skipped: 'disabled (enabled: false): nothing is paid',
    });
    expect(checkPayoutRow(item(), { ...rules, dryRun: true })).toEqual({ columns, skipped: 'dry run: would pay 15.00 USDC' });
    expect(checkPayoutRow(item({ agent_id: '' }), { ...rules, enabled: false })).toMatchObject({
      invalid: expect.stringMatching(/^malformed batch item/),
    });
  });

  test("the transfer: from the connection's agent, keyed by the file's ETag and the agent, the score in the memo", () => {
    expect(payoutAction(item(), BATCH, 15, 'agt_treasury', GATEWAY_PROFILE)).toEqual({
      actionKey: 'v1:payout:bucket/in/scores.csv:etag-1:agt_alice',
      amountUsdc: 15,
      request: GATEWAY_PROFILE.walletTransfer({
        fromAgent: 'agt_treasury',
        toAgent: 'agt_alice',
        amountUsdc: 15,
        memo: 'pipeline-bonus score=1.500',
      }),
    });
  });
});

describe('planHold (FraudHoldEscrow Act)', () => {
  const rules: HoldRowRules = {
    conditionTemplate: 'fraud_review_cleared:{transactionId}:{fraudScore}:{jobName}',
    enabled: true,
    dryRun: false,
    maxHoldUsdc: 1000,
    maxBatchTotalUsdc: 100_000,
  };
  const item = (overrides: Partial<HoldItem> = {}): HoldItem => ({
    line: '2',
    object_key: 'out/part-1.out',
    object_etag: 'etag-9',
    object_line: '7',
    transaction_id: 'txn_1',
    buyer: 'agt_buyer',
    seller: 'agt_seller',
    amount_usdc: '250.00',
    fraud_score: '0.912',
    transform_job: 'fraud-job',
    ...overrides,
  });

  test("a hold: the transaction's key, the story's condition and metadata", () => {
    const plan = planHold(item(), BATCH, rules, GATEWAY_PROFILE);
    expect(plan.invalid ?? plan.skipped).toBeUndefined();
    expect(plan.action).toEqual({
      actionKey: 'v1:hold:txn_1',
      amountUsdc: 250,
      request: GATEWAY_PROFILE.createEscrow({
        buyer: 'agt_buyer',
        seller: 'agt_seller',
        amountUsdc: 250,
        condition: 'fraud_review_cleared:txn_1:0.91:fraud-job',
        metadata: { source: 'sagemaker-batch', transaction_id: 'txn_1', fraud_score: 0.912, transform_job: 'fraud-job' },
      }),
    });
  });

  test('a record without a transaction id is held by its place: bucket, object, ETag and line', () => {
    const plan = planHold(item({ transaction_id: '', transform_job: '' }), BATCH, rules, GATEWAY_PROFILE);
    expect(plan.action?.actionKey).toBe('v1:hold:bucket/out/part-1.out:etag-9:7');
    expect(plan.action?.request.body).toMatchObject({ metadata: { transaction_id: null, transform_job: null } });
  });

  test.each([
    ['a transaction id that breaks the rule', { transaction_id: 'txn\\1' }],
    ['an invalid buyer', { buyer: 'x y' }],
    ['no fraud score', { fraud_score: '' }],
    ['a zero amount', { amount_usdc: '0' }],
  ])('%s is INVALID, malformed', (_name, overrides) => {
    expect(planHold(item(overrides), BATCH, rules, GATEWAY_PROFILE).invalid).toBe(
      `malformed batch item ${JSON.stringify(item(overrides))}`,
    );
  });

  test('the caps are checked again; disabled and dry run hold nothing', () => {
    expect(planHold(item({ amount_usdc: '1000.01' }), BATCH, rules, GATEWAY_PROFILE).invalid).toBe(
      'amount_usdc 1000.01 is over maxHoldUsdc 1000: input.csv is not what Prepare checked; not held',
    );
    expect(planHold(item(), BATCH, { ...rules, enabled: false }, GATEWAY_PROFILE)).toMatchObject({
      skipped: 'disabled (enabled: false): nothing is held',
    });
    expect(planHold(item(), BATCH, { ...rules, dryRun: true }, GATEWAY_PROFILE)).toMatchObject({
      skipped: 'dry run: would hold 250.00 USDC from agt_buyer for agt_seller',
    });
  });
});
