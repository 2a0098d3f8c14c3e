/**
 * The PredictToTrade handler's factory with plain fakes: a scripted model, a money path that sends each
 * action key once (test/support/money-path-fakes.ts), a fixed clock. No dynalite, no sandbox, no bundle:
 * predict-to-trade.handler.test.ts runs the bundled handler end to end.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createPredictToTradeHandler, EndpointRequest, TradeResult } from '../../lambda/predict-to-trade/handler';
import { GATEWAY_PROFILE } from '../../lambda/shared/purpleflea-api';
import { PREDICT_TO_TRADE_METRICS as METRIC, PredictToTradeSettings } from '../../lib/private/contracts/predict-to-trade-env';
import { captureOutput, fixedContext } from '../support/handler-fakes';
import { defaultTradeSettings, TEST_ENDPOINT_NAME } from '../support/handler-settings';
import { moneyPathFake } from '../support/money-path-fakes';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const RULE_ARN = 'arn:aws:events:us-east-1:123456789012:rule/trader';
const AGENT_ID = 'agt_unit_trader';

let output: ReturnType<typeof captureOutput>;
beforeEach(() => {
  output = captureOutput();
});
afterEach(() => output.restore());

/** The handler over fakes; `answer` is the model's body, or an error it throws. */
function tradeHandler(
  settings: Partial<PredictToTradeSettings> = {},
  answer: string | Error = '{"direction":"long","confidence":0.73}',
  moneyPath = moneyPathFake(),
) {
  const requests: EndpointRequest[] = [];
  const handler = createPredictToTradeHandler({
    settings: defaultTradeSettings(settings),
    runtime: { api: GATEWAY_PROFILE, moneyPath, agentId: async () => AGENT_ID },
    invokeEndpoint: async (request) => {
      requests.push(request);
      if (answer instanceof Error) throw answer;
      return answer;
    },
    now: () => NOW,
    logger: new Logger({ serviceName: 'unit' }),
    metrics: new Metrics({ namespace: 'Unit', serviceName: 'unit' }),
  });
  return {
    invoke: (event: unknown, remainingMs?: number): Promise<TradeResult> => handler(event, fixedContext(remainingMs)),
    requests,
    moneyPath,
  };
}

function tradeEvent(overrides: { [key: string]: unknown } = {}) {
  return { eventId: 'evt-1', eventTime: new Date(NOW - 10_000).toISOString(), ruleArn: RULE_ARN, features: { rsi: 41.5 }, ...overrides };
}

const actionKey = `v1:trade:${RULE_ARN}:evt-1`;
const loggedTrades = () => output.records().filter((line) => typeof line.message === 'string' && line.message.startsWith('trade '));

describe('createPredictToTradeHandler', () => {
  test('an order: the model asked with the features, one order from the connection agent, the deadline before the signal goes stale', async () => {
    const { invoke, requests, moneyPath } = tradeHandler();
    const result = await invoke(tradeEvent());

    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      actionKey,
      repeated: false,
      decision: { action: 'order', direction: 'long', amountUsdc: 50, asset: 'BTC-USDC' },
    });
    expect(requests).toEqual([
      { endpointName: TEST_ENDPOINT_NAME, targetVariant: undefined, accept: 'application/json', body: '{"rsi":41.5}' },
    ]);
    expect(moneyPath.sent).toEqual([
      {
        actionKey,
        amountUsdc: 50,
        request: GATEWAY_PROFILE.tradeOrder({
          agentId: AGENT_ID,
          direction: 'long',
          amountUsdc: 50,
          asset: 'BTC-USDC',
          metadata: { source: 'sagemaker', confidence: 0.73, endpoint: TEST_ENDPOINT_NAME },
        }),
        cap: undefined,
      },
    ]);
    // 30 s left less the recording margin (5 s); the signal, 10 s old, stays fresh for 290 s more.
    expect(moneyPath.calls[0].options.deadline).toBe(NOW + 25_000);
    expect(loggedTrades()).toEqual([expect.objectContaining({ message: 'trade SUCCEEDED', actionKey })]);
    expect(output.metric(METRIC.ordersPlaced)).toBe(1);
    expect(output.metric(METRIC.notionalUsdc)).toBe(50);
  });

  test("a signal near its maximum age must be sent before it goes stale: the deadline is the signal's, not the invocation's", async () => {
    const { invoke, moneyPath } = tradeHandler();
    await invoke(tradeEvent({ eventTime: new Date(NOW - 299_000).toISOString() }));
    expect(moneyPath.calls[0].options.deadline).toBe(NOW + 1_000);
  });

  test("the daily cap counts on the clock's day", async () => {
    const { invoke, moneyPath } = tradeHandler({ maxDailyNotionalUsdc: 500 });
    await invoke(tradeEvent());
    expect(moneyPath.sent[0].cap).toEqual({ counterKey: 'v1:daily-notional:TestScope:2026-12-04', capUsdc: 500 });
  });

  test('disabled: SKIPPED, the model never asked, nothing sent', async () => {
    const { invoke, requests, moneyPath } = tradeHandler({ enabled: false });
    expect(await invoke(tradeEvent())).toEqual({ status: 'SKIPPED', actionKey, reason: 'disabled (enabled: false)' });
    expect(requests).toEqual([]);
    expect(moneyPath.calls).toEqual([]);
  });

  test('a stale signal, by the clock: SKIPPED with its age, the model never asked; at exactly maxSignalAge it still trades', async () => {
    const stale = tradeHandler();
    expect(await stale.invoke(tradeEvent({ eventTime: new Date(NOW - 301_000).toISOString() }))).toEqual({
      status: 'SKIPPED',
      actionKey,
      reason: 'stale signal: the event is 301 s old, maxSignalAge is 300 s',
    });
    expect(stale.requests).toEqual([]);
    expect(stale.moneyPath.calls).toEqual([]);

    const justFresh = tradeHandler();
    expect(await justFresh.invoke(tradeEvent({ eventTime: new Date(NOW - 300_000).toISOString() }))).toMatchObject({ status: 'SUCCEEDED' });
  });

  test('dry run: the model asked and the order decided, nothing sent', async () => {
    const { invoke, requests, moneyPath } = tradeHandler({ dryRun: true });
    expect(await invoke(tradeEvent())).toEqual({
      status: 'SKIPPED',
      actionKey,
      prediction: { direction: 'long', confidence: 0.73 },
      decision: { action: 'order', direction: 'long', amountUsdc: 50, asset: 'BTC-USDC' },
      reason: 'dry run: would place a long order of 50 USDC on BTC-USDC',
    });
    expect(requests).toHaveLength(1);
    expect(moneyPath.calls).toEqual([]);
  });

  test('hold: SKIPPED, nothing sent', async () => {
    const { invoke, moneyPath } = tradeHandler({}, '{"direction":"hold","confidence":0.99}');
    expect(await invoke(tradeEvent())).toMatchObject({ status: 'SKIPPED', reason: 'the model says hold' });
    expect(moneyPath.calls).toEqual([]);
  });

  test('below the threshold: SKIPPED with the numbers, nothing sent', async () => {
    const { invoke, moneyPath } = tradeHandler({}, '{"direction":"short","confidence":0.59}');
    expect(await invoke(tradeEvent())).toMatchObject({ status: 'SKIPPED', reason: 'confidence 0.59 is below the threshold 0.6' });
    expect(moneyPath.calls).toEqual([]);
  });

  test("a repeat delivery sends nothing and reports the order the ledger recorded, and this delivery's own where it differs", async () => {
    const moneyPath = moneyPathFake(() => ({ status: 'SUCCEEDED', response: { order_id: 'ord_1' } }));
    const first = tradeHandler({}, '{"direction":"long","confidence":0.73}', moneyPath);
    await first.invoke(tradeEvent());

    const same = await first.invoke(tradeEvent());
    expect(same).toMatchObject({
      status: 'SUCCEEDED',
      repeated: true,
      response: { order_id: 'ord_1' },
      decision: { direction: 'long', amountUsdc: 50 },
    });
    expect(same.note).toBeUndefined();

    // Redeployed at 80 USDC an order, and the model now says short: the same event again.
    const changed = await tradeHandler({ orderAmountUsdc: 80 }, '{"direction":"short","confidence":0.91}', moneyPath).invoke(tradeEvent());
    expect(moneyPath.sent).toHaveLength(1);
    expect(changed).toMatchObject({
      status: 'SUCCEEDED',
      repeated: true,
      decision: { action: 'order', direction: 'long', amountUsdc: 50, asset: 'BTC-USDC' },
      computedDecision: { action: 'order', direction: 'short', amountUsdc: 80, asset: 'BTC-USDC' },
      note: 'repeated: the ledger recorded a long order of 50 USDC on BTC-USDC; this delivery computed a short order of 80 USDC on BTC-USDC',
    });
    // A repeat is counted as skipped: the order was counted once, by the invocation that placed it.
    expect(output.metric(METRIC.ordersPlaced)).toBe(1);
  });

  test("a refused order is REJECTED with the API's error", async () => {
    const { invoke } = tradeHandler(
      {},
      undefined,
      moneyPathFake(() => ({ status: 'REJECTED', error: 'insufficient_balance' })),
    );
    expect(await invoke(tradeEvent())).toMatchObject({ status: 'REJECTED', repeated: false, reason: 'insufficient_balance' });
    expect(loggedTrades()).toEqual([expect.objectContaining({ message: 'trade REJECTED', level: 'ERROR' })]);
  });

  test('a model that cannot be asked fails the invocation with the endpoint named; nothing sent', async () => {
    const error = Object.assign(new Error('Endpoint not found'), { name: 'ValidationError' });
    const { invoke, moneyPath } = tradeHandler({}, error);
    await expect(invoke(tradeEvent())).rejects.toThrow(
      `endpoint ${TEST_ENDPOINT_NAME} could not be invoked: ValidationError: Endpoint not found`,
    );
    expect(moneyPath.calls).toEqual([]);
  });

  test('a malformed event and an unreadable model output are INVALID with the reason', async () => {
    expect(await tradeHandler().invoke({ eventId: 'evt-1' })).toMatchObject({
      status: 'INVALID',
      reason: expect.stringContaining('eventTime'),
    });
    expect(await tradeHandler({}, 'not json').invoke(tradeEvent())).toMatchObject({
      status: 'INVALID',
      reason: expect.stringContaining(`(endpoint ${TEST_ENDPOINT_NAME})`),
    });
  });
});
