/**
 * TradingPnl (issue 15, "P&L to CloudWatch"), end to end with the bundled handler on the services sandbox over real
 * HTTP: it reads `GET /v1/trade/pnl-history` and `GET /v1/trade/positions` with the trading key and puts the sandbox's
 * figures as EMF metrics. A failed read (a 5xx, a timeout, a body without the figures) puts no figure at all and fails
 * the invocation, so that the errors alarm fires and the graphs show a gap, never a wrong figure.
 */
import { TRADING_PNL_METRICS as METRIC } from '../../lib/private/contracts/trading-pnl-env';
import { applyEnvironment } from '../support/aws-env';
import { SERVICE_PATHS } from '../support/purpleflea-services-sandbox';
import { captureOutput, lambdaContext, loadBundledHandler } from './handler-harness';
import { resetServices, servicesEnvironment, ServicesHarness, startServicesHarness } from './services-harness';

type Handler = (event: unknown, context: unknown) => Promise<{ [key: string]: number }>;

const FIGURES = [METRIC.netPnl, METRIC.fees, METRIC.winRate, METRIC.dailyNetPnl, METRIC.openPositions, METRIC.unrealizedPnl];

let harness: ServicesHarness;
let output: ReturnType<typeof captureOutput>;
let restoreEnv: () => void;

beforeAll(async () => {
  harness = await startServicesHarness();
});
afterAll(async () => {
  await harness.close();
});
afterEach(() => {
  output?.restore();
  restoreEnv?.();
});

/** A fresh sandbox and container (the secret is cached per container). */
function load(): Handler {
  resetServices(harness);
  const env = servicesEnvironment(harness, { POWERTOOLS_SERVICE_NAME: METRIC.serviceName }, { trades: true });
  restoreEnv = applyEnvironment(env);
  const loaded = loadBundledHandler<{ handler: Handler }>('trading-pnl', env);
  output = captureOutput();
  return loaded.handler;
}

/** Opens a position with the trading key, as a trading function would. */
async function openPosition(coin: string, side: 'long' | 'short', sizeUsd: number): Promise<void> {
  const answer = await fetch(`${harness.sandbox.tradingUrl}${SERVICE_PATHS.tradeOpen}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'authorization': `Bearer ${harness.trader.apiKey}` },
    body: JSON.stringify({ coin, side, size_usd: sizeUsd }),
  });
  expect(answer.status).toBe(200);
}

/** The one EMF record the run put. */
function emfRecords(): { [key: string]: any }[] {
  return output.records().filter((record) => record._aws?.CloudWatchMetrics);
}

describe('TradingPnl handler on the services sandbox', () => {
  test("puts the sandbox's P&L, fees, win rate, today's net, open positions and unrealized P&L", async () => {
    const handler = load();
    const day = 86_400_000;
    const now = Date.now();
    // Three closes: two wins, one loss, one of them days ago; today's net is 120.5 − 30 − fees.
    harness.sandbox.addClosedTrade(harness.trader.agentId, { realizedPnl: 120.5, fee: 1.25, at: now - 1_000 });
    harness.sandbox.addClosedTrade(harness.trader.agentId, { realizedPnl: -30, fee: 0.75, at: now - 2_000 });
    harness.sandbox.addClosedTrade(harness.trader.agentId, { realizedPnl: 40, fee: 0.5, at: now - 3 * day });
    await openPosition('BTC', 'long', 1_000);
    await openPosition('ETH', 'short', 500);
    harness.sandbox.setMarketPrice('BTC', 70_400); // +10 %
    harness.sandbox.setMarketPrice('ETH', 3_520); // +10 % against a short

    const figures = await handler({}, lambdaContext());

    // What the sandbox answers, read back over HTTP with the same key.
    const get = async (path: string): Promise<any> =>
      (await fetch(`${harness.sandbox.tradingUrl}${path}`, { headers: { authorization: `Bearer ${harness.trader.apiKey}` } })).json();
    const history = await get('/v1/trade/pnl-history?days=30');
    const positions = await get(SERVICE_PATHS.tradePositions);
    const unrealized = positions.positions.reduce((sum: number, p: { unrealized_pnl: number }) => sum + p.unrealized_pnl, 0);
    const today = new Date().toISOString().slice(0, 10);
    const todayRow = history.chart.find((row: { date: string }) => row.date === today);
    const expected = {
      [METRIC.netPnl]: history.summary.net_pnl,
      [METRIC.fees]: history.summary.total_fees,
      [METRIC.winRate]: history.summary.win_rate_pct,
      [METRIC.dailyNetPnl]: Math.round((todayRow.daily_pnl - todayRow.daily_fees) * 100) / 100,
      [METRIC.openPositions]: positions.count,
      [METRIC.unrealizedPnl]: Math.round(unrealized * 100) / 100,
    };
    // The sandbox's numbers, worked out by hand: the opens' fees count in the totals too.
    expect(history.summary.total_trades).toBe(3);
    expect(history.summary.win_rate_pct).toBe(66.67);
    expect(positions.count).toBe(2);
    expect(expected[METRIC.unrealizedPnl]).toBeCloseTo(50, 0); // +10 % on 1,000 long, −10 % on 500 short (sizes rounded)

    const records = emfRecords();
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record._aws.CloudWatchMetrics[0].Namespace).toBe('PurpleFlea/SageMaker');
    expect(record._aws.CloudWatchMetrics[0].Dimensions).toEqual([expect.arrayContaining(['service', METRIC.functionNameDimension])]);
    expect(record.service).toBe(METRIC.serviceName);
    for (const name of FIGURES) expect({ name, value: record[name] }).toEqual({ name, value: expected[name] });
    expect(figures).toMatchObject({ netPnlUsdc: expected[METRIC.netPnl], openPositions: 2 });

    // Both reads went to the trading host with the trading key, and only reads.
    const reads = harness.sandbox.calls.filter((c) => c.authorization === `Bearer ${harness.trader.apiKey}` && c.method === 'GET');
    expect(reads.map((c) => c.route)).toEqual(expect.arrayContaining([SERVICE_PATHS.tradePnlHistory, SERVICE_PATHS.tradePositions]));
    expect(harness.sandbox.calls.filter((c) => c.authorization === `Bearer ${harness.casino.apiKey}`)).toEqual([]);
  });

  test('with no trades and no positions, puts zeros (a flat account, read and true)', async () => {
    const handler = load();
    await handler({}, lambdaContext());
    const [record] = emfRecords();
    for (const name of FIGURES) expect({ name, value: record[name] }).toEqual({ name, value: 0 });
  });

  test.each([
    ['a 500 from pnl-history', SERVICE_PATHS.tradePnlHistory, { kind: 'status', status: 500 } as const],
    ['a 503 from positions', SERVICE_PATHS.tradePositions, { kind: 'status', status: 503 } as const],
    ['a timeout of pnl-history', SERVICE_PATHS.tradePnlHistory, { kind: 'timeout' } as const],
    ['a reset of positions', SERVICE_PATHS.tradePositions, { kind: 'reset-before-commit' } as const],
  ])('%s: no figure is put, the invocation fails and the log says why', async (_name, path, fault) => {
    const handler = load();
    harness.sandbox.addClosedTrade(harness.trader.agentId, { realizedPnl: -500, fee: 1 });
    harness.sandbox.injectFaults(path, fault);
    // Twice: the HTTP client may send a GET again on a fresh connection once (a read is idempotent).
    harness.sandbox.injectFaults(path, fault);
    await expect(handler({}, lambdaContext())).rejects.toThrow(/failed|answered 5\d\d/);
    const records = emfRecords();
    for (const name of FIGURES) expect(records.filter((record) => name in record)).toEqual([]);
    const error = output.records().find((record) => record.level === 'ERROR');
    expect(error?.message).toBe('P&L not put: no figure of this run was put');
    expect(error?.error).toContain('GET /trade/');
    // No key in any line.
    expect(output.text()).not.toContain(harness.trader.apiKey);
  });
});
