/**
 * The bundled PredictToTrade handler on the services profile (issue 13): a prediction opens one position on the
 * trading service, with the trading key, the construct's coin and leverage (always sent), the notional as
 * `size_usd`; exactly once under repeated deliveries; a 400 trade_failed that may follow a fill, or a lost
 * answer, is UNKNOWN and never re-sent; a partial fill is recorded as the answer reports it.
 */
import {
  PREDICT_TO_TRADE_METRICS as METRIC,
  predictToTradeEnvironment,
  PredictToTradeSettings,
} from '../../lib/private/contracts/predict-to-trade-env';
import { defaultTradeSettings, TEST_ENDPOINT_NAME } from '../support/handler-settings';
import { SERVICE_PATHS } from '../support/purpleflea-services-sandbox';
import { captureOutput, invokeInProcesses, lambdaContext, loadBundledHandler } from './handler-harness';
import {
  readServicesLedger,
  resetServices,
  SECRET_FIELDS,
  servicesEnvironment,
  ServicesHarness,
  servicesSecret,
  SERVICES_SECRET_NAME,
  startServicesHarness,
} from './services-harness';

type Handler = (event: unknown, context: unknown) => Promise<{ status: string; [key: string]: any }>;

const RULE_ARN = 'arn:aws:events:us-east-1:123456789012:rule/services-trader';
/** 0.001 BTC at the sandbox's 64,000 USD: a whole number of the market's size units, so a full fill is exactly the order. */
const ORDER_USD = 64;
const services = { coin: 'BTC', leverage: 2 };

let harness: ServicesHarness;
let output: ReturnType<typeof captureOutput>;
let eventCounter = 0;

const settings = (overrides: Partial<PredictToTradeSettings> = {}) =>
  defaultTradeSettings({ orderAmountUsdc: ORDER_USD, services, ...overrides });
const env = (overrides: Partial<PredictToTradeSettings> = {}, connection = {}) => ({
  ...servicesEnvironment(harness, predictToTradeEnvironment(settings(overrides)), { trades: true, connection }),
  POWERTOOLS_SERVICE_NAME: METRIC.serviceName,
});
const load = (overrides: Partial<PredictToTradeSettings> = {}, connection = {}): Handler =>
  loadBundledHandler<{ handler: Handler }>('predict-to-trade', env(overrides, connection)).handler;

function tradeEvent() {
  eventCounter += 1;
  return {
    eventId: `svc-evt-${eventCounter}-${Date.now()}`,
    eventTime: new Date().toISOString(),
    ruleArn: RULE_ARN,
    features: { rsi: 41.5 },
  };
}
const actionKeyOf = (event: { eventId: string }) => `v1:trade:${RULE_ARN}:${event.eventId}`;
const modelAnswers = (body: string) =>
  harness.aws.setEndpointHandler(TEST_ENDPOINT_NAME, () => ({ body, contentType: 'application/json' }));
const opens = () => harness.sandbox.committed('trade.open');
const tradeCalls = () => harness.sandbox.calls.filter((call) => call.route === SERVICE_PATHS.tradeOpen);

beforeAll(async () => {
  harness = await startServicesHarness();
});
afterAll(async () => {
  await harness.close();
});
beforeEach(() => {
  resetServices(harness);
  modelAnswers('{"direction":"long","confidence":0.8}');
  output = captureOutput();
});
afterEach(() => output.restore());

describe('PredictToTrade on the services profile: one position per signal', () => {
  test('a long signal opens one position on the trading host with the trading key: coin, side, size_usd (notional), leverage', async () => {
    const event = tradeEvent();
    const result = await load()(event, lambdaContext());

    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      actionKey: actionKeyOf(event),
      repeated: false,
      decision: { action: 'order', direction: 'long', amountUsdc: ORDER_USD, asset: 'BTC-USDC', coin: 'BTC', leverage: 2 },
      filledUsdc: ORDER_USD,
      response: { position_id: expect.stringMatching(/^pos_/), order_id: expect.stringMatching(/^ord_/), leverage: 2 },
    });
    expect(harness.sandbox.calls).toHaveLength(1);
    expect(harness.sandbox.calls[0]).toMatchObject({
      service: 'trading',
      path: '/v1/trade/open',
      authorization: `Bearer ${harness.trader.apiKey}`,
      body: { coin: 'BTC', side: 'long', size_usd: ORDER_USD, leverage: 2 },
    });
    expect(opens()).toEqual([expect.objectContaining({ agentId: harness.trader.agentId, recorded: true })]);
    expect(await readServicesLedger(harness, actionKeyOf(event))).toMatchObject({
      state: 'SUCCEEDED',
      amountUsdc: ORDER_USD,
      request: { coin: 'BTC', side: 'long', size_usd: ORDER_USD, leverage: 2 },
      response: { position_id: opens()[0].id, size_usd: ORDER_USD },
    });
    expect(output.metric(METRIC.ordersPlaced)).toBe(1);
    expect(output.metric(METRIC.notionalUsdc)).toBe(ORDER_USD);
    expect(output.text()).not.toContain(harness.trader.apiKey);
    expect(output.text()).not.toContain(harness.casino.apiKey);
  });

  test('leverage 1 is sent as 1, and a short signal opens a short', async () => {
    modelAnswers('{"direction":"short","confidence":0.9}');
    await load({ services: { coin: 'ETH', leverage: 1 }, orderAmountUsdc: 32 })(tradeEvent(), lambdaContext());
    expect(tradeCalls().map((call) => call.body)).toEqual([{ coin: 'ETH', side: 'short', size_usd: 32, leverage: 1 }]);
  });

  test('a partial fill is SUCCEEDED with the filled notional the answer reports, recorded in the ledger and counted', async () => {
    harness.sandbox.fillNextOrders(0.25);
    const event = tradeEvent();
    const result = await load()(event, lambdaContext());
    expect(result).toMatchObject({ status: 'SUCCEEDED', filledUsdc: 16, decision: { amountUsdc: ORDER_USD } });
    expect(await readServicesLedger(harness, actionKeyOf(event))).toMatchObject({
      state: 'SUCCEEDED',
      amountUsdc: ORDER_USD,
      response: { size_usd: 16 },
    });
    expect(output.metric(METRIC.notionalUsdc)).toBe(16);
    const logged = output.records().find((line) => line.message === 'trade SUCCEEDED');
    expect(logged).toMatchObject({ filledUsdc: 16 });
  });

  test('a dry run says what it would place, and calls nothing', async () => {
    const result = await load({ dryRun: true })(tradeEvent(), lambdaContext());
    expect(result).toMatchObject({
      status: 'SKIPPED',
      reason: `dry run: would place a long order of ${ORDER_USD} USDC notional on BTC at leverage 2`,
    });
    expect(harness.sandbox.calls).toHaveLength(0);
  });
});

describe('PredictToTrade on the services profile: exactly once', () => {
  test('the same event 20 times concurrently from 4 processes, then 20 times in sequence: one position', async () => {
    const event = tradeEvent();
    const concurrent = await invokeInProcesses('predict-to-trade', env(), event, 4, 5);
    expect(concurrent).toHaveLength(20);
    expect(concurrent.filter((r) => r.status === 'SUCCEEDED' || r.status === 'IN_PROGRESS')).toHaveLength(20);
    expect(opens()).toHaveLength(1);
    expect(tradeCalls()).toHaveLength(1);

    const handler = load();
    for (let i = 0; i < 20; i++) {
      expect(await handler(event, lambdaContext())).toMatchObject({
        status: 'SUCCEEDED',
        repeated: true,
        response: { position_id: opens()[0].id },
      });
    }
    expect(tradeCalls()).toHaveLength(1);
    expect(output.metric(METRIC.ordersPlaced)).toBe(0);
  });

  test("a repeat reports the order the ledger recorded (its coin and leverage), and this delivery's own where it differs", async () => {
    const event = tradeEvent();
    await load()(event, lambdaContext());
    modelAnswers('{"direction":"short","confidence":0.9}');
    const repeat = await load({ services: { coin: 'ETH', leverage: 3 } })(event, lambdaContext());
    expect(repeat).toMatchObject({
      status: 'SUCCEEDED',
      repeated: true,
      decision: { direction: 'long', amountUsdc: ORDER_USD, coin: 'BTC', leverage: 2 },
      computedDecision: { direction: 'short', coin: 'ETH', leverage: 3 },
      note: `repeated: the ledger recorded a long order of ${ORDER_USD} USDC notional on BTC at leverage 2; this delivery computed a short order of ${ORDER_USD} USDC notional on ETH at leverage 3`,
    });
    expect(tradeCalls()).toHaveLength(1);
  });

  test('400 trade_failed after a real fill is UNKNOWN, never REJECTED, and never re-sent', async () => {
    harness.sandbox.injectFaults(SERVICE_PATHS.tradeOpen, { kind: 'trade-failed-after-fill' });
    const event = tradeEvent();
    const handler = load();
    const result = await handler(event, lambdaContext());
    expect(result).toMatchObject({ status: 'UNKNOWN', actionKey: actionKeyOf(event) });
    expect(result.reason).toContain('trade_failed: Trade failed: SQLITE_BUSY');
    expect(result.reason).toContain('it may have been executed');
    // The fill is real: Hyperliquid holds the position, though the service's database has none.
    expect(harness.sandbox.hyperliquidPosition(harness.trader.agentId, 'BTC')?.size).toBeGreaterThan(0);
    expect(await readServicesLedger(harness, actionKeyOf(event))).toMatchObject({ state: 'UNKNOWN' });
    expect(output.metric(METRIC.ordersUnknown)).toBe(1);

    expect(await handler(event, lambdaContext())).toMatchObject({ status: 'UNKNOWN', repeated: true });
    expect(tradeCalls()).toHaveLength(1);
  });

  test.each([
    ['a connection reset after the fill (the answer lost)', { kind: 'reset-after-commit' } as const],
    ['a timeout after the fill', { kind: 'timeout-after-commit' } as const],
    ['a 500 after the fill', { kind: 'status-after-commit', status: 500 } as const],
  ])('%s is UNKNOWN and never re-sent', async (_name, fault) => {
    harness.sandbox.injectFaults(SERVICE_PATHS.tradeOpen, fault);
    const event = tradeEvent();
    const handler = load();
    expect(await handler(event, lambdaContext())).toMatchObject({ status: 'UNKNOWN' });
    expect(opens()).toHaveLength(1);
    expect(await handler(event, lambdaContext())).toMatchObject({ status: 'UNKNOWN', repeated: true });
    expect(tradeCalls()).toHaveLength(1);
  });

  test('a trade_failed that filled nothing is UNKNOWN too (the answer cannot tell); an operator resolves it', async () => {
    harness.sandbox.setMarketPrice('BTC', undefined);
    const result = await load()(tradeEvent(), lambdaContext());
    expect(result).toMatchObject({ status: 'UNKNOWN' });
    expect(opens()).toHaveLength(0);
  });

  test('429 rate_limited is waited out, then one position', async () => {
    harness.sandbox.injectFaults(SERVICE_PATHS.tradeOpen, { kind: 'status', status: 429, error: 'rate_limited' });
    expect(await load()(tradeEvent(), lambdaContext())).toMatchObject({ status: 'SUCCEEDED' });
    expect(tradeCalls().map((call) => call.status)).toEqual([429, 200]);
    expect(opens()).toHaveLength(1);
  });

  test('403 daily_loss_limit_reached is REJECTED with the code and what it means; the action may run again', async () => {
    harness.sandbox.injectFaults(SERVICE_PATHS.tradeOpen, {
      kind: 'status',
      status: 403,
      error: 'daily_loss_limit_reached',
      message: 'Daily loss limit reached',
    });
    const event = tradeEvent();
    const handler = load();
    const result = await handler(event, lambdaContext());
    expect(result).toMatchObject({ status: 'REJECTED' });
    expect(result.reason).toBe("daily_loss_limit_reached: Daily loss limit reached; the trading agent's daily loss limit is reached");
    expect(await handler(event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', repeated: false });
    expect(opens()).toHaveLength(1);
  });
});

describe('PredictToTrade on the services profile: the trading key', () => {
  test('from a second secret (PF_TRADING_SECRET_ARN): that secret holds the trading key and agent id', async () => {
    const second = harness.aws.setSecret(
      'PurpleFleaTradingKey',
      JSON.stringify({ trading_key: harness.trader.apiKey, trading_agent_id: harness.trader.agentId }),
    );
    harness.aws.setSecret(SERVICES_SECRET_NAME, JSON.stringify({ key: harness.casino.apiKey, agent_id: harness.casino.agentId }));
    const handler = load(
      {},
      { tradingKey: { secretArn: second.arn, keyField: SECRET_FIELDS.tradingKey, agentIdField: SECRET_FIELDS.tradingAgentId } },
    );
    expect(await handler(tradeEvent(), lambdaContext())).toMatchObject({ status: 'SUCCEEDED' });
    expect(tradeCalls()[0].authorization).toBe(`Bearer ${harness.trader.apiKey}`);
  });

  test('a secret without the trading key field fails the invocation naming the field, never a value; nothing is sent', async () => {
    const { trading_key: _dropped, ...withoutTradingKey } = servicesSecret(harness);
    harness.aws.setSecret(SERVICES_SECRET_NAME, JSON.stringify(withoutTradingKey));
    const error: Error = await load()(tradeEvent(), lambdaContext()).then(
      () => new Error('no error'),
      (thrown: Error) => thrown,
    );
    expect(error.message).toBe('the Purple Flea trading-key secret is a JSON object without a non-empty string field "trading_key"');
    expect(output.text()).not.toContain(harness.casino.apiKey);
    expect(harness.sandbox.calls).toHaveLength(0);
  });

  test("the casino key in the trading key's field is refused by the trading service: REJECTED after one re-read", async () => {
    harness.aws.setSecret(SERVICES_SECRET_NAME, JSON.stringify({ ...servicesSecret(harness), trading_key: harness.casino.apiKey }));
    const result = await load()(tradeEvent(), lambdaContext());
    expect(result).toMatchObject({ status: 'REJECTED' });
    expect(tradeCalls().map((call) => call.status)).toEqual([401, 401]);
    expect(opens()).toHaveLength(0);
  });

  test('a missing COIN or TRADING key field variable fails the cold start with its name', () => {
    expect(() => loadBundledHandler('predict-to-trade', { ...env(), COIN: '' })).toThrow(
      'PredictToTrade: environment variable COIN is missing',
    );
    expect(() => loadBundledHandler('predict-to-trade', { ...env(), PF_TRADING_KEY_FIELD: '' })).toThrow('PF_TRADING_KEY_FIELD is missing');
  });
});
