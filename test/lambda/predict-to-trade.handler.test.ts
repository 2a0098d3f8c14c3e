import { idempotencyKey } from '../../lambda/shared/purpleflea-client';
import {
  PREDICT_TO_TRADE_METRICS as METRIC,
  predictToTradeEnvironment,
  PredictToTradeSettings,
} from '../../lib/private/contracts/predict-to-trade-env';
import { defaultTradeSettings, TEST_ENDPOINT_NAME } from '../support/handler-settings';
import { SANDBOX_API_KEY, TRADING_ORDER_PATH } from '../support/purpleflea-sandbox';
import {
  AGENT_ID,
  captureOutput,
  Harness,
  handlerEnvironment,
  invokeInProcesses,
  lambdaContext,
  loadBundledHandler,
  readLedger,
  SECRET_NAME,
  startHarness,
  writeLedger,
} from './handler-harness';

type Handler = (event: unknown, context: unknown) => Promise<{ status: string; [key: string]: any }>;

const ENDPOINT = TEST_ENDPOINT_NAME;
const RULE_ARN = 'arn:aws:events:us-east-1:123456789012:rule/trader';

const defaults = defaultTradeSettings();

let harness: Harness;
let output: ReturnType<typeof captureOutput>;
let eventCounter = 0;

function tradeEvent(overrides: { [key: string]: unknown } = {}) {
  eventCounter += 1;
  return {
    eventId: `evt-${eventCounter}-${Date.now()}`,
    eventTime: new Date().toISOString(),
    ruleArn: RULE_ARN,
    features: { rsi: 41.5, momentum: -0.2 },
    ...overrides,
  };
}

function load(settings: Partial<PredictToTradeSettings> = {}, connection = {}): Handler {
  const env = handlerEnvironment(harness, predictToTradeEnvironment({ ...defaults, ...settings }), connection);
  return loadBundledHandler<{ handler: Handler }>('predict-to-trade', { ...env, POWERTOOLS_SERVICE_NAME: METRIC.serviceName }).handler;
}

function modelAnswers(body: string, contentType = 'application/json') {
  harness.aws.setEndpointHandler(ENDPOINT, () => ({ body, contentType }));
}

const orders = () => harness.sandbox.committed(TRADING_ORDER_PATH);

beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness.close();
});
beforeEach(() => {
  harness.sandbox.reset();
  harness.sandbox.setApiKeys([SANDBOX_API_KEY]);
  output = captureOutput();
});
afterEach(() => output.restore());

describe('finding 6: a repeated trade reports the order the ledger recorded', () => {
  test('finding 6: a redelivered event whose model now says short, at a new order amount, reports the long 50 USDC order that was placed, and says so', async () => {
    modelAnswers('{"direction":"long","confidence":0.73}');
    const event = tradeEvent();
    expect(await load()(event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', repeated: false });

    // Redeployed at 80 USDC an order, and the model answers otherwise: the same event, delivered again.
    modelAnswers('{"direction":"short","confidence":0.91}');
    output.clear();
    const repeat = await load({ orderAmountUsdc: 80 })(event, lambdaContext());
    expect(orders()).toHaveLength(1);
    expect(repeat).toMatchObject({
      status: 'SUCCEEDED',
      repeated: true,
      decision: { action: 'order', direction: 'long', amountUsdc: 50, asset: 'BTC-USDC' },
      computedDecision: { action: 'order', direction: 'short', amountUsdc: 80, asset: 'BTC-USDC' },
      note: 'repeated: the ledger recorded a long order of 50 USDC on BTC-USDC; this delivery computed a short order of 80 USDC on BTC-USDC',
    });
    const logged = output.records().filter((line) => line.message === 'trade SUCCEEDED');
    expect(logged).toEqual([
      expect.objectContaining({ decision: { action: 'order', direction: 'long', amountUsdc: 50, asset: 'BTC-USDC' }, repeated: true }),
    ]);
  });

  test('finding 6: a redelivery that computes the same order reports it with no note', async () => {
    modelAnswers('{"direction":"long","confidence":0.8}');
    const event = tradeEvent();
    const handler = load();
    await handler(event, lambdaContext());
    const repeat = await handler(event, lambdaContext());
    expect(repeat).toMatchObject({
      status: 'SUCCEEDED',
      repeated: true,
      decision: { action: 'order', direction: 'long', amountUsdc: 50, asset: 'BTC-USDC' },
    });
    expect(repeat.note).toBeUndefined();
    expect(repeat.computedDecision).toBeUndefined();
  });
});

describe('PredictToTrade handler: the prediction becomes one market order', () => {
  let handler: Handler;
  beforeAll(() => {
    handler = load();
  });

  test("long above the threshold places the story's order, with the idempotency key of the action key", async () => {
    modelAnswers('{"direction":"long","confidence":0.73}');
    const event = tradeEvent();
    const result = await handler(event, lambdaContext());

    const actionKey = `v1:trade:${RULE_ARN}:${event.eventId}`;
    expect(result).toMatchObject({ status: 'SUCCEEDED', actionKey, repeated: false });
    expect(orders()).toHaveLength(1);
    expect(orders()[0].body).toEqual({
      agent_id: AGENT_ID,
      direction: 'long',
      amount: 50,
      asset: 'BTC-USDC',
      order_type: 'market',
      metadata: { source: 'sagemaker', confidence: 0.73, endpoint: ENDPOINT },
    });
    expect(orders()[0].idempotencyKey).toBe(idempotencyKey(actionKey));
    expect(harness.aws.invocations.at(-1)).toMatchObject({ endpointName: ENDPOINT, contentType: 'application/json' });
    expect(JSON.parse(harness.aws.invocations.at(-1)!.body)).toEqual(event.features);

    const record = await readLedger(harness, actionKey);
    expect(record).toMatchObject({ state: 'SUCCEEDED', amountUsdc: 50, response: { order_id: orders()[0].id } });
    expect(output.metric(METRIC.ordersPlaced)).toBe(1);
    expect(output.metric(METRIC.notionalUsdc)).toBe(50);
    // One line per invocation carries the prediction, the decision, the outcome and the action key.
    const logged = output.records().filter((line) => typeof line.message === 'string' && line.message.startsWith('trade '));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      message: 'trade SUCCEEDED',
      level: 'INFO',
      actionKey,
      prediction: { direction: 'long', confidence: 0.73 },
      decision: { action: 'order', direction: 'long', amountUsdc: 50 },
      response: { order_id: orders()[0].id },
    });
  });

  test('short places a short order', async () => {
    modelAnswers('{"direction":"short","confidence":0.91}');
    expect((await handler(tradeEvent(), lambdaContext())).status).toBe('SUCCEEDED');
    expect(orders().map((order) => order.body.direction)).toEqual(['short']);
  });

  test.each([
    ['hold', '{"direction":"hold","confidence":0.95}', 'the model says hold'],
    ['below threshold', '{"direction":"long","confidence":0.59}', 'confidence 0.59 is below the threshold 0.6'],
  ])('%s places nothing', async (_name, body, reason) => {
    modelAnswers(body);
    const result = await handler(tradeEvent(), lambdaContext());
    expect(result).toMatchObject({ status: 'SKIPPED', reason });
    expect(harness.sandbox.calls).toHaveLength(0);
    expect(await readLedger(harness, result.actionKey)).toBeUndefined();
    expect(output.metric(METRIC.ordersSkipped)).toBe(1);
  });

  test.each([
    ['a missing confidence', '{"direction":"long"}', 'confidence field "confidence" is missing'],
    ['a missing direction', '{"confidence":0.9}', 'direction field "direction" is missing'],
    ['NaN', '{"direction":"long","confidence":"NaN"}', 'must be a number between 0 and 1, got "NaN"'],
    ['confidence 1.5', '{"direction":"long","confidence":1.5}', 'must be a number between 0 and 1, got 1.5'],
    ['direction buy', '{"direction":"buy","confidence":0.9}', 'must be one of long, short, hold, got "buy"'],
    ['a non-JSON body', 'Internal model failure', 'model output is not JSON: "Internal model failure"'],
  ])('%s places nothing and logs a clear reason', async (_name, body, reason) => {
    modelAnswers(body);
    const result = await handler(tradeEvent(), lambdaContext());
    expect(result.status).toBe('INVALID');
    expect(result.reason).toContain(reason);
    expect(result.reason).toContain(`endpoint ${ENDPOINT}`);
    expect(harness.sandbox.calls).toHaveLength(0);
    const logged = output.records().find((line) => line.message === 'trade INVALID');
    expect(logged).toMatchObject({ level: 'ERROR' });
    expect(logged!.reason).toContain(reason);
    expect(output.metric(METRIC.ordersInvalid)).toBe(1);
  });

  test('an endpoint error places nothing, logs the reason and fails the invocation (to the dead-letter queue)', async () => {
    harness.aws.setEndpointHandler(ENDPOINT, () => ({ status: 424, body: '{"message":"model container crashed"}' }));
    await expect(handler(tradeEvent(), lambdaContext())).rejects.toThrow(`endpoint ${ENDPOINT} could not be invoked`);
    expect(harness.sandbox.calls).toHaveLength(0);
    expect(output.records().some((line) => line.message === 'trade FAILED' && line.level === 'ERROR')).toBe(true);
  });

  test('a stale eventTime trades nothing and does not even ask the model', async () => {
    modelAnswers('{"direction":"long","confidence":0.99}');
    const invocationsBefore = harness.aws.invocations.length;
    const result = await handler(tradeEvent({ eventTime: new Date(Date.now() - 301_000).toISOString() }), lambdaContext());
    expect(result.status).toBe('SKIPPED');
    expect(result.reason).toMatch(/^stale signal: the event is 30\d s old, maxSignalAge is 300 s$/);
    expect(harness.aws.invocations.length).toBe(invocationsBefore);
    expect(harness.sandbox.calls).toHaveLength(0);
  });

  test('a malformed event is INVALID with the field named', async () => {
    const result = await handler({ eventId: 'x', ruleArn: RULE_ARN, features: {} }, lambdaContext());
    expect(result).toMatchObject({ status: 'INVALID', reason: "the event's eventTime must be a non-empty string, got nothing" });
    expect(harness.sandbox.calls).toHaveLength(0);
  });
});

describe('PredictToTrade handler: model output as CSV', () => {
  test('reads the configured columns', async () => {
    const handler = load({ outputFormat: 'CSV', directionColumn: 1, confidenceColumn: 0 });
    modelAnswers('0.81,short\n', 'text/csv');
    const result = await handler(tradeEvent(), lambdaContext());
    expect(result).toMatchObject({ status: 'SUCCEEDED', prediction: { direction: 'short', confidence: 0.81 } });
    expect(harness.aws.invocations.at(-1)).toMatchObject({ accept: 'text/csv' });
    expect(orders().map((order) => order.body.direction)).toEqual(['short']);
  });
});

describe('PredictToTrade handler: exactly once', () => {
  let handler: Handler;
  let env: { [name: string]: string };
  beforeAll(() => {
    env = handlerEnvironment(harness, predictToTradeEnvironment(defaults));
    handler = load();
  });

  test('the same event 20 times concurrently from 4 processes, then 20 times in sequence: one order', async () => {
    modelAnswers('{"direction":"long","confidence":0.8}');
    const event = tradeEvent();
    const concurrent = await invokeInProcesses('predict-to-trade', { ...env, POWERTOOLS_SERVICE_NAME: METRIC.serviceName }, event, 4, 5);
    expect(concurrent).toHaveLength(20);
    expect(orders()).toHaveLength(1);
    expect(harness.sandbox.calls).toHaveLength(1);
    expect(concurrent.filter((result) => result.status === 'SUCCEEDED' || result.status === 'IN_PROGRESS')).toHaveLength(20);

    for (let i = 0; i < 20; i++) {
      const again = await handler(event, lambdaContext());
      expect(again).toMatchObject({ status: 'SUCCEEDED', repeated: true, response: { order_id: orders()[0].id } });
    }
    expect(orders()).toHaveLength(1);
    expect(output.metric(METRIC.ordersPlaced)).toBe(0);
  });

  test('distinct events each trade', async () => {
    modelAnswers('{"direction":"long","confidence":0.8}');
    const results = await Promise.all(Array.from({ length: 5 }, () => handler(tradeEvent(), lambdaContext())));
    expect(results.map((result) => result.status)).toEqual(Array(5).fill('SUCCEEDED'));
    expect(orders()).toHaveLength(5);
    expect(new Set(orders().map((order) => order.idempotencyKey)).size).toBe(5);
  });

  test('an expired SENDING record is never re-sent: it becomes UNKNOWN', async () => {
    modelAnswers('{"direction":"long","confidence":0.8}');
    const event = tradeEvent();
    const actionKey = `v1:trade:${RULE_ARN}:${event.eventId}`;
    await writeLedger(harness, {
      pk: actionKey,
      state: 'SENDING',
      claimToken: 'crashed-invocation',
      leaseExpiresAt: Date.now() - 1_000,
      attempts: 1,
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    });
    const result = await handler(event, lambdaContext());
    expect(result.status).toBe('UNKNOWN');
    expect(harness.sandbox.calls).toHaveLength(0);
    expect(await readLedger(harness, actionKey)).toMatchObject({ state: 'UNKNOWN' });
    expect(output.metric(METRIC.ordersUnknown)).toBe(1);
  });

  test('a live SENDING record (another invocation is sending) is left alone', async () => {
    modelAnswers('{"direction":"long","confidence":0.8}');
    const event = tradeEvent();
    const actionKey = `v1:trade:${RULE_ARN}:${event.eventId}`;
    await writeLedger(harness, {
      pk: actionKey,
      state: 'SENDING',
      claimToken: 'live',
      leaseExpiresAt: Date.now() + 60_000,
      attempts: 1,
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    });
    expect((await handler(event, lambdaContext())).status).toBe('IN_PROGRESS');
    expect(harness.sandbox.calls).toHaveLength(0);
    expect(await readLedger(harness, actionKey)).toMatchObject({ state: 'SENDING', claimToken: 'live' });
  });
});

describe('PredictToTrade handler: the daily notional cap', () => {
  test('holds under 20 concurrent invocations of distinct events', async () => {
    const handler = load({ maxDailyNotionalUsdc: 150, dailyCapScope: `cap-${Date.now()}` });
    modelAnswers('{"direction":"long","confidence":0.8}');
    const results = await Promise.all(Array.from({ length: 20 }, () => handler(tradeEvent(), lambdaContext())));
    expect(results.filter((result) => result.status === 'SUCCEEDED')).toHaveLength(3);
    expect(results.filter((result) => result.status === 'INVALID')).toHaveLength(17);
    expect(results.find((result) => result.status === 'INVALID')!.reason).toContain('would exceed 150 USDC');
    expect(orders()).toHaveLength(3);
  });

  test('a rejected order gives its reservation back; a repeat of a placed order reports it, not the cap', async () => {
    const handler = load({ maxDailyNotionalUsdc: 50, dailyCapScope: `cap-release-${Date.now()}` });
    modelAnswers('{"direction":"long","confidence":0.8}');
    harness.sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'status', status: 402, error: 'insufficient_balance' });
    expect((await handler(tradeEvent(), lambdaContext())).status).toBe('REJECTED');
    const event = tradeEvent();
    expect((await handler(event, lambdaContext())).status).toBe('SUCCEEDED');
    expect(await handler(event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', repeated: true });
    expect((await handler(tradeEvent(), lambdaContext())).status).toBe('INVALID');
    expect(orders()).toHaveLength(1);
  });
});

describe('PredictToTrade handler: Purple Flea faults', () => {
  let handler: Handler;
  beforeAll(() => {
    handler = load();
  });
  beforeEach(() => modelAnswers('{"direction":"long","confidence":0.8}'));

  test('a 429 then success gives one order', async () => {
    harness.sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'status', status: 429 });
    const result = await handler(tradeEvent(), lambdaContext());
    expect(result.status).toBe('SUCCEEDED');
    expect(harness.sandbox.calls.map((call) => call.status)).toEqual([429, 200]);
    expect(orders()).toHaveLength(1);
  });

  test('429s until the time runs out are REJECTED (not executed), and the action may run again', async () => {
    harness.sandbox.injectFaults(TRADING_ORDER_PATH, ...Array(50).fill({ kind: 'status', status: 429 }));
    const event = tradeEvent();
    const result = await handler(event, lambdaContext(8_000));
    expect(result.status).toBe('REJECTED');
    expect(result.reason).toContain('rate_limited');
    expect(orders()).toHaveLength(0);
    harness.sandbox.reset();
    expect((await handler(event, lambdaContext())).status).toBe('SUCCEEDED');
    expect(orders()).toHaveLength(1);
  });

  test.each([
    ['a 500', { kind: 'status', status: 500 } as const],
    ['a 500 after committing', { kind: 'status-after-commit', status: 500 } as const],
    ['a timeout', { kind: 'timeout' } as const],
    ['a timeout after committing', { kind: 'timeout-after-commit' } as const],
    ['a connection reset after the request was sent', { kind: 'reset-after-commit' } as const],
  ])('%s is UNKNOWN: no retry, the metric, and never re-sent', async (_name, fault) => {
    harness.sandbox.injectFaults(TRADING_ORDER_PATH, fault);
    const event = tradeEvent();
    const result = await handler(event, lambdaContext());
    expect(result.status).toBe('UNKNOWN');
    expect(harness.sandbox.calls).toHaveLength(1);
    expect(output.metric(METRIC.ordersUnknown)).toBe(1);
    expect(await readLedger(harness, result.actionKey)).toMatchObject({ state: 'UNKNOWN' });

    const again = await handler(event, lambdaContext());
    expect(again).toMatchObject({ status: 'UNKNOWN', repeated: true });
    expect(harness.sandbox.calls).toHaveLength(1);
  });

  test('a 401 re-reads the secret once and succeeds with the rotated key', async () => {
    const rotated = 'pf_sandbox_rotated_key';
    harness.aws.setSecret(SECRET_NAME, JSON.stringify({ key: rotated, agent_id: AGENT_ID }));
    harness.sandbox.setApiKeys([rotated]);
    const readsBefore = harness.aws.secretReads;
    try {
      const result = await handler(tradeEvent(), lambdaContext());
      expect(result.status).toBe('SUCCEEDED');
      expect(harness.aws.secretReads).toBe(readsBefore + 1);
      expect(harness.sandbox.calls.map((call) => call.status)).toEqual([401, 200]);
    } finally {
      harness.aws.setSecret(SECRET_NAME, JSON.stringify({ key: SANDBOX_API_KEY, agent_id: AGENT_ID }));
    }
  });

  test('a 401 that persists after the refresh is REJECTED, with one refresh only', async () => {
    harness.sandbox.setApiKeys(['some-other-key']);
    const readsBefore = harness.aws.secretReads;
    const result = await handler(tradeEvent(), lambdaContext());
    expect(result).toMatchObject({ status: 'REJECTED' });
    expect(result.reason).toContain('unauthorized');
    expect(harness.aws.secretReads).toBe(readsBefore + 1);
    expect(harness.sandbox.calls).toHaveLength(2);
  });

  test('a 4xx rejection is REJECTED with the API error code', async () => {
    harness.sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'status', status: 402, error: 'insufficient_balance' });
    const result = await handler(tradeEvent(), lambdaContext());
    expect(result).toMatchObject({ status: 'REJECTED' });
    expect(result.reason).toContain('insufficient_balance');
    expect(output.metric(METRIC.ordersRejected)).toBe(1);
  });

  test('a connection refused before sending is retried, then REJECTED when time runs out (nothing was sent)', async () => {
    const unreachable = load({}, { baseUrl: 'http://127.0.0.1:9' });
    const result = await unreachable(tradeEvent(), lambdaContext(8_000));
    expect(result.status).toBe('REJECTED');
    expect(result.reason).toContain('connection failed before sending: ECONNREFUSED');
  });

  test('the secret value appears nowhere in the logs', async () => {
    harness.sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'status', status: 500 });
    await handler(tradeEvent(), lambdaContext());
    await handler(tradeEvent(), lambdaContext());
    expect(output.text().length).toBeGreaterThan(0);
    expect(output.text()).not.toContain(SANDBOX_API_KEY);
  });
});

describe('PredictToTrade handler: switches', () => {
  test('dryRun decides and logs but makes no call at all', async () => {
    const handler = load({ dryRun: true });
    modelAnswers('{"direction":"long","confidence":0.8}');
    const result = await handler(tradeEvent(), lambdaContext());
    expect(result).toMatchObject({ status: 'SKIPPED', reason: 'dry run: would place a long order of 50 USDC on BTC-USDC' });
    expect(harness.sandbox.calls).toHaveLength(0);
    expect(await readLedger(harness, result.actionKey)).toBeUndefined();
  });

  test('enabled: false does nothing, not even the endpoint call', async () => {
    const handler = load({ enabled: false });
    const before = harness.aws.invocations.length;
    expect((await handler(tradeEvent(), lambdaContext())).status).toBe('SKIPPED');
    expect(harness.aws.invocations.length).toBe(before);
    expect(harness.sandbox.calls).toHaveLength(0);
  });

  test('a missing environment variable fails the cold start with its name', () => {
    const env = handlerEnvironment(harness, predictToTradeEnvironment(defaults));
    expect(() => loadBundledHandler('predict-to-trade', { ...env, ENDPOINT_NAME: '' })).toThrow(
      'PredictToTrade: environment variable ENDPOINT_NAME is missing',
    );
    expect(() => loadBundledHandler('predict-to-trade', { ...env, CONFIDENCE_THRESHOLD: 'high' })).toThrow(
      'CONFIDENCE_THRESHOLD must be a finite number, got "high"',
    );
  });
});
