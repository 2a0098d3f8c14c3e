/**
 * TradingPnl's decision, without I/O: the figures from the two answers, and a PnlReadError (never a guessed figure)
 * when a field is missing or not a number.
 */
import { PnlReadError, pnlFigures } from '../../lambda/trading-pnl/handler';

const NOW = Date.parse('2026-03-10T12:00:00Z');
const history = (summary: object, chart: object[] = []) => ({ period_days: 30, summary, chart, _info: { service: 'agent-trading' } });
const SUMMARY = { total_pnl: 90, total_fees: 3.5, net_pnl: 86.5, total_trades: 4, win_rate_pct: 75, best_day: 100, worst_day: -10 };

test("today's net is today's row (pnl − fees); other days and a missing row give 0", () => {
  const chart = [
    { date: '2026-03-09', daily_pnl: 100, daily_fees: 1, trades: 2, cumulative_pnl: 100 },
    { date: '2026-03-10', daily_pnl: -10, daily_fees: 2.5, trades: 2, cumulative_pnl: 90 },
  ];
  const positions = { positions: [{ unrealized_pnl: 12.34 }, { unrealized_pnl: -2.3 }], count: 2, source: 'hyperliquid' };
  expect(pnlFigures(history(SUMMARY, chart), positions, NOW)).toEqual({
    netPnlUsdc: 86.5,
    feesUsdc: 3.5,
    winRatePercent: 75,
    dailyNetPnlUsdc: -12.5,
    openPositions: 2,
    unrealizedPnlUsdc: 10.04,
  });
  expect(pnlFigures(history(SUMMARY, chart.slice(0, 1)), { positions: [] }, NOW).dailyNetPnlUsdc).toBe(0);
});

test.each<[string, object, object]>([
  ['no summary', { chart: [] }, { positions: [] }],
  ['a summary figure that is not a number', history({ ...SUMMARY, net_pnl: '86.5' }), { positions: [] }],
  ['no chart', { summary: SUMMARY }, { positions: [] }],
  ["today's row without numbers", history(SUMMARY, [{ date: '2026-03-10', daily_pnl: null, daily_fees: 0 }]), { positions: [] }],
  ['no positions list', history(SUMMARY), { error: 'internal_error' }],
  ['a position without unrealized_pnl', history(SUMMARY), { positions: [{ coin: 'BTC' }] }],
])('%s: a PnlReadError, no figure', (_name, pnl, positions) => {
  expect(() => pnlFigures(pnl as any, positions as any, NOW)).toThrow(PnlReadError);
});
