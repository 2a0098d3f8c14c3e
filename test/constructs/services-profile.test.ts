/**
 * The constructs on the services profile: the props where the profiles differ (PredictToTrade's coin and
 * leverage, the escrows' timeout, TrainingBonusEscrow's seller), what each writes into its handler's
 * environment on either profile, and who may read the trading key. The connection's own variables are in
 * purpleflea-connection.test.ts.
 */
import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  BatchPayout,
  FraudHoldEscrow,
  FraudHoldEscrowProps,
  PredictToTrade,
  PredictToTradeProps,
  PurpleFleaApi,
  PurpleFleaConnection,
  PurpleFleaConnectionProps,
  RateLimit,
  TrainingBonusEscrow,
  TrainingBonusEscrowProps,
} from '../../lib';
import { CONNECTION_ENV } from '../../lib/private/contracts/connection-env';
import { readBatchPayoutPaySettings } from '../../lib/private/contracts/batch-payout-env';
import { FRAUD_HOLD_ACT_ENV, readFraudHoldActSettings } from '../../lib/private/contracts/fraud-hold-env';
import { PREDICT_TO_TRADE_ENV, readPredictToTradeSettings } from '../../lib/private/contracts/predict-to-trade-env';
import { TRAINING_BONUS_ESCROW_ENV, readTrainingBonusEscrowSettings } from '../../lib/private/contracts/training-bonus-escrow-env';
import { ACCOUNT, REGION, newConnection, newStack, variablesOf } from './fixtures';

const SELLER = 'ag_0123456789ab';
const TRADING_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:PurpleFleaTradingKey-GhIjKl`;

/** A connection on the services profile (or, with `gateway`, the default one). */
function connectionOf(stack: Stack, profile: 'gateway' | 'services', props: Partial<PurpleFleaConnectionProps> = {}): PurpleFleaConnection {
  return newConnection(stack, profile === 'services' ? { api: PurpleFleaApi.services(), ...props } : props);
}

/** A function's resolved environment. */
function env(stack: Stack, fn: lambda.IFunction): { [name: string]: string } {
  return stack.resolve(variablesOf(Template.fromStack(stack), fn));
}

/** The variables only the services profile writes, whatever the construct. */
const SERVICES_ONLY = [
  CONNECTION_ENV.apiProfile,
  CONNECTION_ENV.escrowUrl,
  CONNECTION_ENV.casinoUrl,
  CONNECTION_ENV.tradingUrl,
  CONNECTION_ENV.faucetUrl,
  CONNECTION_ENV.tradingSecretArn,
  CONNECTION_ENV.tradingKeyField,
  CONNECTION_ENV.tradingAgentIdField,
  PREDICT_TO_TRADE_ENV.coin,
  PREDICT_TO_TRADE_ENV.leverage,
  TRAINING_BONUS_ESCROW_ENV.escrowTimeoutHours,
  FRAUD_HOLD_ACT_ENV.escrowTimeoutHours,
];

describe('PredictToTrade: coin and leverage', () => {
  function trader(profile: 'gateway' | 'services', props: Partial<PredictToTradeProps> = {}, stack = newStack()) {
    const connection = connectionOf(stack, profile);
    const construct = new PredictToTrade(stack, 'Trader', { connection, endpointName: 'demo-direction-model', ...props });
    return { stack, construct, variables: () => env(stack, construct.lambdaFunction) };
  }
  const build = (profile: 'gateway' | 'services', props: Partial<PredictToTradeProps>) => () => trader(profile, props);

  test('on the gateway: neither is written (its order has none), even when given; the handler reads no services settings', () => {
    for (const props of [{}, { coin: 'ETH', leverage: 3 }]) {
      const variables = trader('gateway', props).variables();
      expect(Object.keys(variables).filter((name) => SERVICES_ONLY.includes(name as any))).toEqual([]);
      expect(readPredictToTradeSettings(variables).services).toBeUndefined();
    }
  });

  test('on the services: the coin derived from the asset (BTC-USDC → BTC), leverage 1, and where the trading key is', () => {
    const variables = trader('services').variables();
    expect(variables).toMatchObject({
      PF_API_PROFILE: 'services',
      PF_TRADING_KEY_FIELD: 'trading_key',
      PF_TRADING_AGENT_ID_FIELD: 'trading_agent_id',
      COIN: 'BTC',
      LEVERAGE: '1',
      ASSET: 'BTC-USDC',
    });
    expect(readPredictToTradeSettings(variables).services).toEqual({ coin: 'BTC', leverage: 1 });
  });

  test.each([
    [{ asset: 'eth-usd' }, 'ETH'],
    [{ asset: 'SOL-USDC' }, 'SOL'],
    [{ asset: 'BTC-ETH', coin: 'BTC' }, 'BTC'],
    [{ coin: 'xyz:TSLA' }, 'xyz:TSLA'],
  ])('on the services, %j trades the coin %s', (props, coin) => {
    expect(trader('services', props).variables()[PREDICT_TO_TRADE_ENV.coin]).toBe(coin);
  });

  test('on the services, a leverage given is sent as given', () => {
    expect(readPredictToTradeSettings(trader('services', { leverage: 5 }).variables()).services).toEqual({ coin: 'BTC', leverage: 5 });
  });

  test.each([0, 51, 2.5, -1])('leverage %d is refused: a whole number from 1 to 50', (leverage) => {
    expect(build('gateway', { leverage })).toThrow(
      `PredictToTrade 'Trader': leverage must be an integer between 1 and 50, got ${leverage}`,
    );
    expect(build('services', { leverage })).toThrow(`leverage must be an integer between 1 and 50, got ${leverage}`);
  });

  test.each(['BTC-USDC', '', 'btc/usd', 'a:b:c'])('coin %j is refused', (coin) => {
    expect(build('services', { coin })).toThrow(
      `PredictToTrade 'Trader': coin must be a market of the trading service: letters and digits, optionally after a dex and a colon (BTC, xyz:TSLA), got ${JSON.stringify(coin)}`,
    );
  });

  test('on the services, an asset not quoted in USDC or USD gives no coin: a clear error unless coin is given', () => {
    expect(build('services', { asset: 'BTC-ETH' })).toThrow(
      `PredictToTrade 'Trader': coin cannot be derived from asset "BTC-ETH": the trading service's markets are quoted in USDC (BTC-USDC → BTC); give coin`,
    );
    expect(build('services', { asset: 'BTC-ETH', coin: 'BTC' })).not.toThrow();
    // The gateway has no coin: nothing to derive.
    expect(build('gateway', { asset: 'BTC-ETH' })).not.toThrow();
  });

  test('on the services, an asset that is a token needs a coin; tokens are not checked', () => {
    const withToken = (props: (stack: Stack) => Partial<PredictToTradeProps>) => () => {
      const stack = newStack();
      return trader('services', props(stack), stack);
    };
    expect(withToken((stack) => ({ asset: new CfnParameter(stack, 'Asset').valueAsString }))).toThrow(
      "PredictToTrade 'Trader': coin must be given on the services profile when asset is a token: it is derived from the value of asset at synth",
    );
    expect(withToken((stack) => ({ asset: new CfnParameter(stack, 'Asset').valueAsString, coin: 'BTC' }))).not.toThrow();
    expect(withToken((stack) => ({ coin: new CfnParameter(stack, 'Coin').valueAsString }))).not.toThrow();
    expect(withToken((stack) => ({ leverage: new CfnParameter(stack, 'Leverage', { type: 'Number' }).valueAsNumber }))).not.toThrow();
  });

  test("the handler's reader requires them on the services profile, naming the variable", () => {
    const variables = trader('services').variables();
    for (const name of [PREDICT_TO_TRADE_ENV.coin, PREDICT_TO_TRADE_ENV.leverage]) {
      const { [name]: _missing, ...rest } = variables;
      expect(() => readPredictToTradeSettings(rest)).toThrow(`PredictToTrade: environment variable ${name} is missing`);
    }
    expect(() => readPredictToTradeSettings({ ...variables, PF_API_PROFILE: 'service' })).toThrow(
      'PredictToTrade: environment variable PF_API_PROFILE must be one of gateway, services, got "service"',
    );
  });
});

describe('TrainingBonusEscrow: the seller and the escrow timeout', () => {
  function bonus(profile: 'gateway' | 'services', props: Partial<TrainingBonusEscrowProps> = {}, stack = newStack()) {
    const connection = connectionOf(stack, profile);
    const construct = new TrainingBonusEscrow(stack, 'Bonus', { connection, ...props });
    return { stack, construct, variables: () => env(stack, construct.lambdaFunction) };
  }
  const build = (profile: 'gateway' | 'services', props: Partial<TrainingBonusEscrowProps>) => () => bonus(profile, props);

  test('on the gateway: no timeout written (its escrow has none); sellerAgentId is the one seller, as a template without placeholders', () => {
    const byDefault = bonus('gateway').variables();
    expect(Object.keys(byDefault).filter((name) => SERVICES_ONLY.includes(name as any))).toEqual([]);
    expect(byDefault[TRAINING_BONUS_ESCROW_ENV.sellerTemplate]).toBe('agt_model_{jobName}');
    const withSeller = bonus('gateway', { sellerAgentId: 'agt_model_owner', escrowTimeout: Duration.days(2) }).variables();
    expect(withSeller[TRAINING_BONUS_ESCROW_ENV.sellerTemplate]).toBe('agt_model_owner');
    expect(withSeller).not.toHaveProperty(TRAINING_BONUS_ESCROW_ENV.escrowTimeoutHours);
    expect(readTrainingBonusEscrowSettings(withSeller).services).toBeUndefined();
  });

  test('on the services: the timeout in hours (30 days by default), the seller of sellerAgentId', () => {
    const variables = bonus('services', { sellerAgentId: SELLER }).variables();
    expect(variables).toMatchObject({ PF_API_PROFILE: 'services', SELLER_TEMPLATE: SELLER, ESCROW_TIMEOUT_HOURS: '720' });
    expect(readTrainingBonusEscrowSettings(variables).services).toEqual({ escrowTimeoutHours: 720 });
    expect(
      readTrainingBonusEscrowSettings(bonus('services', { sellerAgentId: SELLER, escrowTimeout: Duration.hours(36) }).variables()).services,
    ).toEqual({
      escrowTimeoutHours: 36,
    });
    // It does not trade: it is not told where the trading key is.
    expect(Object.keys(variables).filter((name) => name.startsWith('PF_TRADING_') && name !== CONNECTION_ENV.tradingUrl)).toEqual([]);
  });

  test('on the services, a seller template that renders ag_ ids, or a job tag with the template as the fallback', () => {
    const variables = bonus('services', { sellerTagKey: 'purpleflea:seller', sellerTemplate: 'ag_{jobName}' }).variables();
    expect(variables).toMatchObject({ SELLER_TAG_KEY: 'purpleflea:seller', SELLER_TEMPLATE: 'ag_{jobName}' });
  });

  test("on the services, the gateway's default seller template cannot work: a seller must be given", () => {
    const refused =
      `TrainingBonusEscrow 'Bonus': sellerAgentId, sellerTemplate or sellerFrom must be given on the services profile: the default seller template ` +
      '"agt_model_{jobName}" renders agt_ ids, and the escrow service takes only ag_ ids of the casino registry';
    expect(build('services', {})).toThrow(refused);
    expect(build('services', { sellerTagKey: 'purpleflea:seller' })).toThrow(refused);
  });

  test('on the services, the seller must be an ag_ id of the casino registry', () => {
    expect(build('services', { sellerAgentId: 'agt_model_owner' })).toThrow(
      `sellerAgentId must be an ag_ id of the casino registry on the services profile (the escrow service refuses others, such as agt_ ids), got "agt_model_owner"`,
    );
    expect(build('services', { sellerTemplate: 'agt_{jobName}' })).toThrow(
      `sellerTemplate must render an ag_ id of the casino registry on the services profile (the escrow service refuses others, such as agt_ ids), got "agt_{jobName}"`,
    );
    // A template with an unknown placeholder is reported as such, once.
    expect(build('services', { sellerTemplate: 'ag_{job}' })).toThrow(
      /^TrainingBonusEscrow 'Bonus': sellerTemplate uses the unknown placeholder \{job\}/,
    );
  });

  test('on the services, buyerAgentId is refused: the buyer is always the agent of the key', () => {
    expect(build('services', { sellerAgentId: SELLER, buyerAgentId: 'ag_aaaaaaaaaaaa' })).toThrow(
      "TrainingBonusEscrow 'Bonus': buyerAgentId cannot be set: on the services profile the buyer is always the agent of the connection's key",
    );
  });

  test('sellerAgentId: an agent id, and not with sellerTemplate', () => {
    expect(build('gateway', { sellerAgentId: 'agt bad!' })).toThrow(/sellerAgentId must match .*, got "agt bad!"/);
    expect(build('gateway', { sellerAgentId: 'agt_a', sellerTemplate: 'agt_{jobName}' })).toThrow(
      'sellerAgentId and sellerTemplate cannot both be given: give one seller, or a template for each job',
    );
  });

  test.each([
    [Duration.minutes(30), 'escrowTimeout must be between 1 hour and 30 days, got 30 minutes'],
    [Duration.days(31), 'escrowTimeout must be between 1 hour and 30 days, got 31 days'],
    [Duration.minutes(90), 'escrowTimeout must be a whole number of hours (the escrow service takes timeout_hours), got 1 hour 30 minutes'],
  ])('escrowTimeout %s is refused, on either profile', (escrowTimeout, why) => {
    expect(build('gateway', { escrowTimeout })).toThrow(`TrainingBonusEscrow 'Bonus': ${why}`);
    expect(build('services', { sellerAgentId: SELLER, escrowTimeout })).toThrow(why);
  });

  test('escrowTimeout: 1 hour and 30 days are accepted; a token is not checked', () => {
    expect(
      bonus('services', { sellerAgentId: SELLER, escrowTimeout: Duration.hours(1) }).variables()[
        TRAINING_BONUS_ESCROW_ENV.escrowTimeoutHours
      ],
    ).toBe('1');
    expect(build('services', { sellerAgentId: SELLER, escrowTimeout: Duration.days(30) })).not.toThrow();
    const stack = newStack();
    const hours = new CfnParameter(stack, 'Hours', { type: 'Number' }).valueAsNumber;
    const { variables } = bonus('services', { sellerAgentId: SELLER, escrowTimeout: Duration.hours(hours) }, stack);
    expect(variables()[TRAINING_BONUS_ESCROW_ENV.escrowTimeoutHours]).toEqual({ Ref: 'Hours' });
  });
});

describe('FraudHoldEscrow: the escrow timeout', () => {
  function holds(profile: 'gateway' | 'services', props: Partial<FraudHoldEscrowProps> = {}, stack = newStack()) {
    const connection = connectionOf(stack, profile);
    const construct = new FraudHoldEscrow(stack, 'Holds', { connection, ...props });
    return { stack, construct, act: () => env(stack, construct.actFunction) };
  }

  test('on the gateway: not written (its escrow has none)', () => {
    const act = holds('gateway', { escrowTimeout: Duration.days(2) }).act();
    expect(Object.keys(act).filter((name) => SERVICES_ONLY.includes(name as any))).toEqual([]);
    expect(readFraudHoldActSettings(act).services).toBeUndefined();
  });

  test("on the services: Act's timeout in hours, 7 days by default", () => {
    const act = holds('services').act();
    expect(act).toMatchObject({ PF_API_PROFILE: 'services', ESCROW_TIMEOUT_HOURS: '168' });
    expect(readFraudHoldActSettings(act).services).toEqual({ escrowTimeoutHours: 168 });
    expect(readFraudHoldActSettings(holds('services', { escrowTimeout: Duration.days(2) }).act()).services).toEqual({
      escrowTimeoutHours: 48,
    });
    const { [FRAUD_HOLD_ACT_ENV.escrowTimeoutHours]: _missing, ...rest } = act;
    expect(() => readFraudHoldActSettings(rest)).toThrow('FraudHoldEscrow Act: environment variable ESCROW_TIMEOUT_HOURS is missing');
  });

  test('Prepare and Summarize are not given the timeout', () => {
    const { stack, construct } = holds('services');
    for (const fn of [construct.prepareFunction, construct.summarizeFunction]) {
      expect(env(stack, fn)).not.toHaveProperty(FRAUD_HOLD_ACT_ENV.escrowTimeoutHours);
    }
  });

  test.each([
    [Duration.minutes(59), 'escrowTimeout must be between 1 hour and 30 days, got 59 minutes'],
    [Duration.hours(721), 'escrowTimeout must be between 1 hour and 30 days, got 30 days 1 hour'],
    [
      Duration.seconds(5400),
      'escrowTimeout must be a whole number of hours (the escrow service takes timeout_hours), got 1 hour 30 minutes',
    ],
  ])('escrowTimeout %s is refused', (escrowTimeout, why) => {
    expect(() => holds('services', { escrowTimeout })).toThrow(`FraudHoldEscrow 'Holds': ${why}`);
  });
});

describe("the run's default rate, per profile", () => {
  /** The Map state's concurrency and batch size, and the act function's share of the rate. */
  function shapeOf(stack: Stack, construct: BatchPayout | FraudHoldEscrow) {
    const template = Template.fromStack(stack);
    const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as any[];
    const definition = JSON.stringify(stack.resolve(machine.Properties.DefinitionString));
    const variables = env(stack, construct instanceof BatchPayout ? construct.payFunction : construct.actFunction);
    const share = construct instanceof BatchPayout ? readBatchPayoutPaySettings(variables) : readFraudHoldActSettings(variables);
    return {
      maxConcurrency: Number(/MaxConcurrency\\?":(\d+)/.exec(definition)![1]),
      itemsPerBatch: Number(/MaxItemsPerBatch\\?":(\d+)/.exec(definition)![1]),
      requestsPerSecond: share.requestsPerSecond,
    };
  }

  test.each<[string, 'gateway' | 'services', { maxConcurrency: number; itemsPerBatch: number; requestsPerSecond: number }]>([
    ['on the gateway, 10 a second', 'gateway', { maxConcurrency: 10, itemsPerBatch: 100, requestsPerSecond: 1 }],
    // Escrow create allows 20 a minute per client IP: 18 a minute, one batch of 72 holds at a time.
    [
      "on the services, escrow create's 20 a minute less a tenth",
      'services',
      { maxConcurrency: 1, itemsPerBatch: 72, requestsPerSecond: 0.3 },
    ],
  ])('FraudHoldEscrow %s', (_name, profile, expected) => {
    const stack = newStack();
    const holds = new FraudHoldEscrow(stack, 'Holds', { connection: connectionOf(stack, profile) });
    const shape = shapeOf(stack, holds);
    expect(shape).toEqual({ ...expected, requestsPerSecond: expect.any(Number) });
    expect(shape.requestsPerSecond).toBeCloseTo(expected.requestsPerSecond, 9);
  });

  test.each(['gateway', 'services'] as const)('BatchPayout on the %s: 10 a second (casino pay has no limit)', (profile) => {
    const stack = newStack();
    const payout = new BatchPayout(stack, 'Payout', { connection: connectionOf(stack, profile) });
    expect(shapeOf(stack, payout)).toEqual({ maxConcurrency: 10, itemsPerBatch: 100, requestsPerSecond: 1 });
  });

  test('a rate the user gives is kept on the services profile', () => {
    const stack = newStack();
    const holds = new FraudHoldEscrow(stack, 'Holds', { connection: connectionOf(stack, 'services'), rateLimit: RateLimit.perMinute(10) });
    const other = newStack();
    const fast = new FraudHoldEscrow(other, 'Holds', { connection: connectionOf(other, 'services'), maxRequestsPerSecond: 10 });
    expect(shapeOf(stack, holds).itemsPerBatch).toBe(40);
    expect(shapeOf(other, fast)).toEqual({ maxConcurrency: 10, itemsPerBatch: 100, requestsPerSecond: 1 });
  });
});

describe('the trading key secret: only the function that trades may read it', () => {
  test('PredictToTrade reads both secrets; the escrow, payout and hold functions only the API-key secret', () => {
    const stack = newStack();
    const tradingKeySecret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Trading', TRADING_SECRET_ARN);
    const connection = connectionOf(stack, 'services', { tradingKeySecret });
    const trader = new PredictToTrade(stack, 'Trader', { connection, endpointName: 'demo-direction-model' });
    const bonus = new TrainingBonusEscrow(stack, 'Bonus', { connection, sellerAgentId: SELLER });
    const payout = new BatchPayout(stack, 'Payout', { connection });
    const holds = new FraudHoldEscrow(stack, 'Holds', { connection });
    const template = Template.fromStack(stack);
    const readsTradingSecret = (fn: lambda.IFunction) => {
      const roleId = stack.getLogicalId(fn.role!.node.defaultChild as iam.CfnRole);
      return Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p: any) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
        .some((p: any) => JSON.stringify(p.Properties.PolicyDocument).includes(TRADING_SECRET_ARN));
    };
    const functions = {
      trader: trader.lambdaFunction,
      bonus: bonus.lambdaFunction,
      pay: payout.payFunction,
      payoutSummarize: payout.summarizeFunction,
      act: holds.actFunction,
      holdsSummarize: holds.summarizeFunction,
    };
    expect(Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, readsTradingSecret(fn)]))).toEqual({
      trader: true,
      bonus: false,
      pay: false,
      payoutSummarize: false,
      act: false,
      holdsSummarize: false,
    });
    expect(
      Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, env(stack, fn)[CONNECTION_ENV.tradingSecretArn]])),
    ).toEqual({
      trader: TRADING_SECRET_ARN,
      bonus: undefined,
      pay: undefined,
      payoutSummarize: undefined,
      act: undefined,
      holdsSummarize: undefined,
    });
  });
});
