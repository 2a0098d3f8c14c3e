/**
 * What a JavaScript user is told, with no compiler to catch a missing or mistyped prop: every construct and
 * factory checks its required props first and names each problem in the library's one error style, and a
 * number prop given as a token (Lazy.number, a CfnParameter) synthesizes wherever a number does.
 */
import { CfnParameter, Lazy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  BatchPayout,
  FraudHoldEscrow,
  ModelOutputFormat,
  PredictToTrade,
  PurpleFleaApi,
  PurpleFleaConnection,
  PurpleFleaDashboard,
  RateLimit,
  TrainingBonusEscrow,
} from '../../lib';
import { BATCH_PAYOUT_PAY_ENV, BATCH_PAYOUT_PREPARE_ENV } from '../../lib/private/contracts/batch-payout-env';
import { FRAUD_HOLD_ACT_ENV, FRAUD_HOLD_PREPARE_ENV } from '../../lib/private/contracts/fraud-hold-env';
import { PREDICT_TO_TRADE_ENV } from '../../lib/private/contracts/predict-to-trade-env';
import { TRAINING_BONUS_ESCROW_ENV } from '../../lib/private/contracts/training-bonus-escrow-env';
import { newBatchPayout, newBonusEscrow, newConnection, newFraudHoldEscrow, newStack, newTrader, variablesOf } from './fixtures';

/** Whatever a JavaScript caller may pass: the compiler is not there to refuse it. */
const js = (value: unknown): any => value;

/** `build` throws exactly `message` (not a TypeError from deeper in). */
function expectError(build: () => unknown, message: string): void {
  expect(build).toThrow(new Error(message));
}

describe('a required prop missing, no props at all, or a value of the wrong JavaScript type', () => {
  test('PurpleFleaConnection', () => {
    const stack = newStack();
    expectError(() => new PurpleFleaConnection(stack, 'Empty', js({})), "PurpleFleaConnection 'Empty': apiKeySecret is required");
    expectError(
      () => new PurpleFleaConnection(stack, 'NoProps', js(undefined)),
      "PurpleFleaConnection 'NoProps': apiKeySecret is required",
    );
    expectError(
      () => new PurpleFleaConnection(stack, 'Named', js({ apiKeySecret: 'PurpleFleaApiKey' })),
      "PurpleFleaConnection 'Named': apiKeySecret must be a Secrets Manager secret (secretsmanager.ISecret, e.g. Secret.fromSecretNameV2), " +
        'got "PurpleFleaApiKey" (a string)',
    );
    const apiKeySecret = secretsmanager.Secret.fromSecretNameV2(stack, 'ApiKey', 'PurpleFleaApiKey');
    expectError(
      () => new PurpleFleaConnection(stack, 'Mistyped', js({ apiKeySecret, api: 'services', ledgerRetention: 90, requestTimeout: 10 })),
      "PurpleFleaConnection 'Mistyped' has 3 invalid props:\n" +
        '  - api must be a PurpleFleaApi (PurpleFleaApi.gateway() or PurpleFleaApi.services()), got "services" (a string)\n' +
        '  - ledgerRetention must be a Duration (e.g. Duration.minutes(5)), got 90 (a number)\n' +
        '  - requestTimeout must be a Duration (e.g. Duration.minutes(5)), got 10 (a number)',
    );
  });

  test('PredictToTrade', () => {
    const stack = newStack();
    const connection = newConnection(stack);
    expectError(
      () => new PredictToTrade(stack, 'NoProps', js(undefined)),
      "PredictToTrade 'NoProps' has 2 invalid props:\n  - connection is required\n  - endpointName is required",
    );
    // Was: TypeError: Cannot read properties of undefined (reading 'toLowerCase').
    expectError(() => new PredictToTrade(stack, 'NoEndpoint', js({ connection })), "PredictToTrade 'NoEndpoint': endpointName is required");
    expectError(
      () => new PredictToTrade(stack, 'Mistyped', js({ connection, endpointName: 42, orderAmountUsdc: '50', confidenceThreshold: '0.7' })),
      "PredictToTrade 'Mistyped' has 3 invalid props:\n" +
        '  - endpointName must be a string, got 42 (a number)\n' +
        '  - confidenceThreshold must be a number, got "0.7" (a string)\n' +
        '  - orderAmountUsdc must be a number, got "50" (a string)',
    );
    expectError(
      () => new PredictToTrade(stack, 'SecretForConnection', js({ connection: connection.apiKeySecret, endpointName: 'model' })),
      "PredictToTrade 'SecretForConnection': connection must be a PurpleFleaConnection, got Test/ApiKey (an object)",
    );
    expectError(
      () => new PredictToTrade(stack, 'Output', js({ connection, endpointName: 'model', modelOutput: 'csv', maxSignalAge: 300 })),
      "PredictToTrade 'Output' has 2 invalid props:\n" +
        '  - modelOutput must be a ModelOutputFormat (ModelOutputFormat.json() or ModelOutputFormat.csv()), got "csv" (a string)\n' +
        '  - maxSignalAge must be a Duration (e.g. Duration.minutes(5)), got 300 (a number)',
    );
    expectError(
      () =>
        new PredictToTrade(stack, 'Columns', {
          connection,
          endpointName: 'model',
          modelOutput: ModelOutputFormat.csv(js({ directionColumn: '0' })),
        }),
      'PredictToTrade \'Columns\': modelOutput.directionColumn must be a number, got "0" (a string)',
    );
  });

  test('TrainingBonusEscrow', () => {
    const stack = newStack();
    const connection = newConnection(stack);
    expectError(() => new TrainingBonusEscrow(stack, 'NoProps', js(undefined)), "TrainingBonusEscrow 'NoProps': connection is required");
    expectError(() => new TrainingBonusEscrow(stack, 'Empty', js({})), "TrainingBonusEscrow 'Empty': connection is required");
    expectError(
      () =>
        new TrainingBonusEscrow(
          stack,
          'Tiers',
          js({ connection, bonusTiers: [{ threshold: 0.9 }, { threshold: '0.8', amountUsdc: 20 }, null], maxBonusUsdc: '1000' }),
        ),
      "TrainingBonusEscrow 'Tiers' has 4 invalid props:\n" +
        '  - maxBonusUsdc must be a number, got "1000" (a string)\n' +
        '  - bonusTiers[0].amountUsdc is required\n' +
        '  - bonusTiers[1].threshold must be a number, got "0.8" (a string)\n' +
        '  - bonusTiers[2] must be a bonus tier ({ threshold, amountUsdc }), got null',
    );
    expectError(
      () => new TrainingBonusEscrow(stack, 'OneTier', js({ connection, bonusTiers: { threshold: 0.9, amountUsdc: 50 } })),
      'TrainingBonusEscrow \'OneTier\': bonusTiers must be a list of bonus tiers ({ threshold, amountUsdc }), got {"threshold":0.9,"amountUsdc":50} (an object)',
    );
  });

  test('BatchPayout', () => {
    const stack = newStack();
    const connection = newConnection(stack);
    expectError(() => new BatchPayout(stack, 'NoProps', js(undefined)), "BatchPayout 'NoProps': connection is required");
    expectError(
      () => new BatchPayout(stack, 'NotAConnection', js({ connection: {} })),
      "BatchPayout 'NotAConnection': connection must be a PurpleFleaConnection, got {} (an object)",
    );
    expectError(
      () => new BatchPayout(stack, 'Mistyped', js({ connection, usdPerScorePoint: '0.5', rateLimit: 20, agentIdColumn: 7 })),
      "BatchPayout 'Mistyped' has 3 invalid props:\n" +
        '  - agentIdColumn must be a string, got 7 (a number)\n' +
        '  - usdPerScorePoint must be a number, got "0.5" (a string)\n' +
        '  - rateLimit must be a RateLimit (RateLimit.perSecond(n) or RateLimit.perMinute(n)), got 20 (a number)',
    );
  });

  test('FraudHoldEscrow', () => {
    const stack = newStack();
    const connection = newConnection(stack);
    expectError(() => new FraudHoldEscrow(stack, 'NoProps', js(undefined)), "FraudHoldEscrow 'NoProps': connection is required");
    expectError(() => new FraudHoldEscrow(stack, 'Empty', js({})), "FraudHoldEscrow 'Empty': connection is required");
    expectError(
      () => new FraudHoldEscrow(stack, 'Mistyped', js({ connection, fraudScoreThreshold: '0.9', escrowTimeout: 24, amountField: 3 })),
      "FraudHoldEscrow 'Mistyped' has 3 invalid props:\n" +
        '  - amountField must be a string, got 3 (a number)\n' +
        '  - fraudScoreThreshold must be a number, got "0.9" (a string)\n' +
        '  - escrowTimeout must be a Duration (e.g. Duration.minutes(5)), got 24 (a number)',
    );
  });

  test('PurpleFleaDashboard (no required props)', () => {
    const { stack, trader } = newTrader();
    expect(() => new PurpleFleaDashboard(stack, 'NoProps').addMonitored(trader)).not.toThrow();
    expectError(
      () => new PurpleFleaDashboard(stack, 'Mistyped', js({ dashboardName: 5, period: 5, monitored: trader })),
      "PurpleFleaDashboard 'Mistyped' has 3 invalid props:\n" +
        '  - dashboardName must be a string, got 5 (a number)\n' +
        '  - period must be a Duration (e.g. Duration.minutes(5)), got 5 (a number)\n' +
        '  - monitored must be a list of constructs that implement IMonitoredMoneyAction, got Test/Trader (an object)',
    );
    expectError(
      () => new PurpleFleaDashboard(stack, 'NotMonitored', { monitored: js([trader.lambdaFunction]) }),
      "PurpleFleaDashboard 'NotMonitored': monitored[0] must be a construct that implements IMonitoredMoneyAction (PredictToTrade, BatchPayout...), " +
        'got Test/Trader/Handler (an object)',
    );
    expectError(
      () => new PurpleFleaDashboard(stack, 'Added').addMonitored(js(undefined)),
      "PurpleFleaDashboard 'Added': addMonitored(monitored) is required",
    );
  });

  test('the factories: RateLimit.perSecond/perMinute, PurpleFleaApi.gateway/services', () => {
    expectError(() => RateLimit.perMinute(js(undefined)), 'RateLimit.perMinute(): requests is required');
    expectError(() => RateLimit.perSecond(js('10')), 'RateLimit.perSecond(): requests must be a number, got "10" (a string)');
    expectError(
      () => PurpleFleaApi.services(js({ escrowUrl: 443 })),
      'PurpleFleaApi.services(): escrowUrl must be a string, got 443 (a number)',
    );
    expectError(
      () => PurpleFleaApi.gateway(js({ baseUrl: true })),
      'PurpleFleaApi.gateway(): baseUrl must be a string, got true (a boolean)',
    );
  });
});

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
