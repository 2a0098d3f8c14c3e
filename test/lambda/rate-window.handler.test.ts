/**
 * A 429 means the window is full (issue 13, "Pacing to real limits"): the bundled handlers, on the services
 * profile, against the services sandbox whose fixed windows are shortened to WINDOW_MS, and told the same window
 * (PF_RATE_LIMIT_WINDOW_MS, which no construct writes: Purple Flea's is 60 s).
 * - BatchPayout's Pay, at a rate far over the route's limit: once a 429 comes back, no row of the container
 *   starts another request in that window (only those already in flight meet a 429); every row is paid once.
 * - PredictToTrade (one action, no pace): the order waits out the window after its 429 and is placed once.
 */
import { batchPayoutPayEnvironment } from '../../lib/private/contracts/batch-payout-env';
import { BATCH_PAYOUT_METRICS } from '../../lib/private/contracts/batch-payout-env';
import { FixedWindowLimiter } from '../support/sandbox-server';
import { CasinoAgent, SERVICE_PATHS, ServicesCall } from '../support/purpleflea-services-sandbox';
import { PREDICT_TO_TRADE_METRICS, predictToTradeEnvironment } from '../../lib/private/contracts/predict-to-trade-env';
import { defaultPayoutPrepareSettings, defaultTradeSettings, TEST_ENDPOINT_NAME } from '../support/handler-settings';
import { captureOutput, lambdaContext, loadBundledHandler } from './handler-harness';
import { resetServices, servicesEnvironment, ServicesHarness, startServicesHarness } from './services-harness';
import type { ActBatchEvent, ActBatchResult } from '../../lib/private/contracts/batch-engine';

const WINDOW_MS = 1_000;
const PAY_LIMIT = 4;
const ROWS_IN_FLIGHT = 5;

let harness: ServicesHarness;
let output: ReturnType<typeof captureOutput>;

beforeAll(async () => {
  harness = await startServicesHarness({ rateLimitWindowMs: WINDOW_MS });
});
afterAll(async () => {
  await harness.close();
});
beforeEach(() => {
  resetServices(harness, { balance: 1_000, rateLimits: true });
  harness.sandbox.setRateLimit(SERVICE_PATHS.casinoPay, PAY_LIMIT);
  output = captureOutput();
});
afterEach(() => output.restore());

/** The Pay handler at a rate that never binds (a misconfigured rateLimit): only the 429s slow it. */
function payHandler(): (event: ActBatchEvent, context: unknown) => Promise<ActBatchResult> {
  const { maxPayoutPerAgentUsdc, maxBatchTotalUsdc } = defaultPayoutPrepareSettings('unused');
  return loadBundledHandler<{ handler: (event: ActBatchEvent, context: unknown) => Promise<ActBatchResult> }>('batch-payout-pay', {
    POWERTOOLS_SERVICE_NAME: BATCH_PAYOUT_METRICS.serviceName,
    ...servicesEnvironment(
      harness,
      batchPayoutPayEnvironment({
        requestsPerSecond: 1_000,
        concurrency: ROWS_IN_FLIGHT,
        dryRun: false,
        enabled: true,
        maxPayoutPerAgentUsdc,
        maxBatchTotalUsdc,
      }),
      { connection: { rateLimitWindowMs: WINDOW_MS } },
    ),
  }).handler;
}

/** The services' windows over the calls, as the sandbox counted them: the 429s of each window. */
function refusalsPerWindow(calls: readonly ServicesCall[]): number[] {
  const windows = new FixedWindowLimiter(true);
  const perWindow: number[] = [];
  let openedAt = -Infinity;
  for (const call of calls) {
    if (call.receivedAt - openedAt > WINDOW_MS) {
      openedAt = call.receivedAt;
      perWindow.push(0);
    }
    windows.overLimit('pay', PAY_LIMIT, WINDOW_MS, call.receivedAt);
    if (call.status === 429) perWindow[perWindow.length - 1] += 1;
  }
  return perWindow;
}

test('Pay: after a 429 no row of the batch starts a request until the window renews; every row is paid once', async () => {
  const recipients: CasinoAgent[] = Array.from({ length: 14 }, () => harness.sandbox.addCasinoAgent());
  const items = recipients.map((agent, i) => ({ line: String(i + 2), agent_id: agent.agentId, amount_usdc: '1.5', score: '0.15' }));
  const result = await payHandler()(
    {
      Items: items,
      BatchInput: { runId: 'window-run', sourceBucket: 'b', sourceKey: 'k.csv', sourceEtag: 'e1' },
    } as unknown as ActBatchEvent,
    lambdaContext(120_000),
  );

  expect(result.rows.map((row) => row.status)).toEqual(items.map(() => 'SUCCEEDED'));
  const paid = harness.sandbox.committed('casino.pay').map((payment) => (payment.body as { to_agent_id: string }).to_agent_id);
  expect(paid.sort()).toEqual(recipients.map((agent) => agent.agentId).sort());

  const calls = harness.sandbox.calls.filter((call) => call.route === SERVICE_PATHS.casinoPay);
  const refusals = refusalsPerWindow(calls);
  expect(refusals.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  // Only requests already in flight when the first 429 came back can meet one in the same window.
  for (const count of refusals) expect(count).toBeLessThanOrEqual(ROWS_IN_FLIGHT);
  // And after each 429's answer, nothing new is sent within a window of it, except what was in flight.
  for (const limited of calls.filter((call) => call.status === 429)) {
    const sentSoonAfter = calls.filter(
      (call) => call.receivedAt > limited.answeredAt! + 50 && call.receivedAt < limited.answeredAt! + WINDOW_MS,
    );
    expect(sentSoonAfter).toEqual([]);
  }
});

describe('PredictToTrade (one action, no pace)', () => {
  const RULE_ARN = 'arn:aws:events:us-east-1:123456789012:rule/window-trader';
  let events = 0;
  const tradeEvent = () => ({
    eventId: `window-evt-${++events}-${Date.now()}`,
    eventTime: new Date().toISOString(),
    ruleArn: RULE_ARN,
    features: { rsi: 41.5 },
  });
  const trader = () =>
    loadBundledHandler<{ handler: (event: unknown, context: unknown) => Promise<{ status: string; reason?: string }> }>(
      'predict-to-trade',
      {
        POWERTOOLS_SERVICE_NAME: PREDICT_TO_TRADE_METRICS.serviceName,
        ...servicesEnvironment(
          harness,
          predictToTradeEnvironment(defaultTradeSettings({ orderAmountUsdc: 64, services: { coin: 'BTC', leverage: 2 } })),
          { trades: true, connection: { rateLimitWindowMs: WINDOW_MS } },
        ),
      },
    ).handler;
  const tradeCalls = () => harness.sandbox.calls.filter((call) => call.route === SERVICE_PATHS.tradeOpen);

  /** Another client behind the same IP uses the route's whole window (the limit runs before auth: any key counts). */
  async function fillTheWindow(): Promise<void> {
    harness.sandbox.setRateLimit(SERVICE_PATHS.tradeOpen, 1);
    const res = await fetch(`${harness.sandbox.tradingUrl}${SERVICE_PATHS.tradeOpen}`, { method: 'POST', body: '{}' });
    expect(res.status).not.toBe(429);
  }

  beforeEach(() =>
    harness.aws.setEndpointHandler(TEST_ENDPOINT_NAME, () => ({
      body: '{"direction":"long","confidence":0.8}',
      contentType: 'application/json',
    })),
  );

  test('the order meets the full window, waits until it renews, and is placed once', async () => {
    await fillTheWindow();
    expect(await trader()(tradeEvent(), lambdaContext(60_000))).toMatchObject({ status: 'SUCCEEDED' });
    const [, limited, placed] = tradeCalls();
    expect([limited.status, placed.status]).toEqual([429, 200]);
    expect(placed.receivedAt - limited.answeredAt!).toBeGreaterThanOrEqual(WINDOW_MS);
    expect(harness.sandbox.committed('trade.open')).toHaveLength(1);
  });

  test('a window that renews after the deadline: REJECTED at once (nothing was placed), with the reason', async () => {
    await fillTheWindow();
    // 7 s: the recording margin (5 s), a second to start the request, its 1 s timeout; not a window more.
    const handler = trader();
    const result = await handler(tradeEvent(), lambdaContext(7_000));
    expect(result).toMatchObject({
      status: 'REJECTED',
      reason: expect.stringContaining('the rate-limit window is full and renews too late'),
    });
    expect(tradeCalls().map((call) => call.status)).toEqual([expect.anything(), 429]);
    expect(harness.sandbox.committed('trade.open')).toHaveLength(0);
  });
});
