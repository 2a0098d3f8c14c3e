/**
 * A number prop given as a token (Lazy.number, a CfnParameter) synthesizes wherever a number does.
 */
import { CfnParameter, Lazy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ModelOutputFormat, PredictToTrade, PurpleFleaApi } from '../../lib';
import { BATCH_PAYOUT_PAY_ENV, BATCH_PAYOUT_PREPARE_ENV } from '../../lib/private/contracts/batch-payout-env';
import { FRAUD_HOLD_ACT_ENV, FRAUD_HOLD_PREPARE_ENV } from '../../lib/private/contracts/fraud-hold-env';
import { PREDICT_TO_TRADE_ENV } from '../../lib/private/contracts/predict-to-trade-env';
import { TRAINING_BONUS_ESCROW_ENV } from '../../lib/private/contracts/training-bonus-escrow-env';
import { newBatchPayout, newBonusEscrow, newConnection, newFraudHoldEscrow, newStack, newTrader, variablesOf } from './fixtures';

/** A number token that resolves to `value` at synth, as `Lazy.number` gives. */
const lazy = (value: number) => Lazy.number({ produce: () => value });

describe('number props given as tokens synthesize, with the resolved number in the function environment', () => {
  test.each([
    ['confidenceThreshold', 0.7, PREDICT_TO_TRADE_ENV.confidenceThreshold],
    ['orderAmountUsdc', 25, PREDICT_TO_TRADE_ENV.orderAmountUsdc],
    ['maxOrderAmountUsdc', 500, PREDICT_TO_TRADE_ENV.maxOrderAmountUsdc],
    ['maxDailyNotionalUsdc', 200, PREDICT_TO_TRADE_ENV.maxDailyNotionalUsdc],
  ])('PredictToTrade %s', (prop, value, variable) => {
    const { template, trader } = newTrader({ [prop]: lazy(value) });
    expect(variablesOf(template, trader.lambdaFunction)[variable]).toBe(String(value));
  });

  test("PredictToTrade's CSV columns, and leverage on the services profile", () => {
    const stack = newStack();
    const connection = newConnection(stack, { api: PurpleFleaApi.services() });
    const trader = new PredictToTrade(stack, 'Trader', {
      connection,
      endpointName: 'demo-direction-model',
      modelOutput: ModelOutputFormat.csv({ directionColumn: lazy(2), confidenceColumn: lazy(3) }),
      leverage: lazy(4),
    });
    expect(variablesOf(Template.fromStack(stack), trader.lambdaFunction)).toMatchObject({
      [PREDICT_TO_TRADE_ENV.directionColumn]: '2',
      [PREDICT_TO_TRADE_ENV.confidenceColumn]: '3',
      [PREDICT_TO_TRADE_ENV.leverage]: '4',
    });
  });

  test('TrainingBonusEscrow maxBonusUsdc and the bonus tiers', () => {
    const { template, escrow } = newBonusEscrow({
      maxBonusUsdc: lazy(500),
      bonusTiers: [{ threshold: lazy(0.95), amountUsdc: lazy(75) }],
    });
    const variables = variablesOf(template, escrow.lambdaFunction);
    expect(variables[TRAINING_BONUS_ESCROW_ENV.maxBonusUsdc]).toBe('500');
    expect(JSON.parse(variables[TRAINING_BONUS_ESCROW_ENV.bonusTiers])).toEqual([{ threshold: 0.95, amountUsdc: 75 }]);
  });

  test('BatchPayout: the amounts in Prepare and Pay, and payConcurrency', () => {
    const { template, payout } = newBatchPayout({
      usdPerScorePoint: lazy(0.5),
      minPayoutUsdc: lazy(1),
      maxPayoutPerAgentUsdc: lazy(250),
      maxBatchTotalUsdc: lazy(5000),
      payConcurrency: lazy(3),
    });
    expect(variablesOf(template, payout.prepareFunction)).toMatchObject({
      [BATCH_PAYOUT_PREPARE_ENV.usdPerScorePoint]: '0.5',
      [BATCH_PAYOUT_PREPARE_ENV.minPayoutUsdc]: '1',
      [BATCH_PAYOUT_PREPARE_ENV.maxPayoutPerAgentUsdc]: '250',
      [BATCH_PAYOUT_PREPARE_ENV.maxBatchTotalUsdc]: '5000',
    });
    expect(variablesOf(template, payout.payFunction)).toMatchObject({
      [BATCH_PAYOUT_PAY_ENV.concurrency]: '3',
      [BATCH_PAYOUT_PAY_ENV.maxPayoutPerAgentUsdc]: '250',
      [BATCH_PAYOUT_PAY_ENV.maxBatchTotalUsdc]: '5000',
    });
  });

  test('FraudHoldEscrow: the threshold and amounts in Prepare and Act, and actConcurrency', () => {
    const { template, holds } = newFraudHoldEscrow({
      fraudScoreThreshold: lazy(0.8),
      maxHoldUsdc: lazy(300),
      maxBatchTotalUsdc: lazy(9000),
      actConcurrency: lazy(2),
    });
    expect(variablesOf(template, holds.prepareFunction)).toMatchObject({
      [FRAUD_HOLD_PREPARE_ENV.fraudScoreThreshold]: '0.8',
      [FRAUD_HOLD_PREPARE_ENV.maxHoldUsdc]: '300',
      [FRAUD_HOLD_PREPARE_ENV.maxBatchTotalUsdc]: '9000',
    });
    expect(variablesOf(template, holds.actFunction)).toMatchObject({
      [FRAUD_HOLD_ACT_ENV.concurrency]: '2',
      [FRAUD_HOLD_ACT_ENV.maxHoldUsdc]: '300',
      [FRAUD_HOLD_ACT_ENV.maxBatchTotalUsdc]: '9000',
    });
  });

  test("a Number parameter's value is referenced: CloudFormation passes it as a string", () => {
    const stack = newStack();
    const orderAmount = new CfnParameter(stack, 'OrderAmount', { type: 'Number', default: 50 });
    const { template, trader } = newTrader({ orderAmountUsdc: orderAmount.valueAsNumber }, stack);
    expect(variablesOf(template, trader.lambdaFunction)[PREDICT_TO_TRADE_ENV.orderAmountUsdc]).toEqual({ Ref: 'OrderAmount' });
  });

  test('the props that shape the state machine still refuse a token, saying why', () => {
    expect(() => newBatchPayout({ maxConcurrency: lazy(5) })).toThrow(
      "BatchPayout 'Payout': maxConcurrency must be a number known at synth, got a token: it shapes the state machine and the per-batch rate",
    );
  });
});
