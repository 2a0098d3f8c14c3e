import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { PNL_WINDOW_DAYS, TRADING_PNL_METRICS as METRIC } from '../../lib/private/contracts/trading-pnl-env';
import type { ReadApi } from '../shared/purpleflea-client';

/** The figures one run puts, each in USDC unless named otherwise. */
export interface PnlFigures {
  readonly netPnlUsdc: number;
  readonly feesUsdc: number;
  readonly winRatePercent: number;
  /** Today's (UTC) realized P&L minus today's fees; 0 when nothing was realized today. */
  readonly dailyNetPnlUsdc: number;
  readonly openPositions: number;
  readonly unrealizedPnlUsdc: number;
}

/** A read that gave no trustworthy figure: the run puts nothing, and the invocation fails (the errors alarm). */
export class PnlReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PnlReadError';
  }
}

export const PNL_HISTORY_PATH = `/trade/pnl-history?days=${PNL_WINDOW_DAYS}`;
export const POSITIONS_PATH = '/trade/positions';

type Body = { readonly [key: string]: unknown };

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
/** Money as the service keeps it (cents), without a double's noise. */
const cents = (value: number) => Math.round(value * 100) / 100;

/**
 * The figures of one run from the two answers (`GET /v1/trade/pnl-history?days=30` and `GET /v1/trade/positions`):
 * pure, so that what is put is decided without any I/O. Throws a PnlReadError naming the field that is missing or not
 * a number: a figure is never guessed.
 */
export function pnlFigures(history: Body, positions: Body, now: number): PnlFigures {
  const summary = history.summary as Body | undefined;
  if (summary === null || typeof summary !== 'object') throw new PnlReadError('pnl-history: the answer has no summary object');
  const field = (name: string): number => {
    const value = summary[name];
    if (!finite(value)) throw new PnlReadError(`pnl-history: summary.${name} is not a number`);
    return value;
  };
  const chart = history.chart;
  if (!Array.isArray(chart)) throw new PnlReadError('pnl-history: the answer has no chart list');
  const today = new Date(now).toISOString().slice(0, 10);
  const day = chart.find((row) => row !== null && typeof row === 'object' && (row as Body).date === today) as Body | undefined;
  let dailyNetPnlUsdc = 0;
  if (day !== undefined) {
    const { daily_pnl: pnl, daily_fees: fees } = day;
    if (!finite(pnl) || !finite(fees)) throw new PnlReadError(`pnl-history: chart row ${today} has no daily_pnl and daily_fees numbers`);
    dailyNetPnlUsdc = cents(pnl - fees);
  }

  const list = positions.positions;
  if (!Array.isArray(list)) throw new PnlReadError('positions: the answer has no positions list');
  let unrealized = 0;
  for (const [index, position] of list.entries()) {
    const value = position !== null && typeof position === 'object' ? (position as Body).unrealized_pnl : undefined;
    if (!finite(value)) throw new PnlReadError(`positions: positions[${index}].unrealized_pnl is not a number`);
    unrealized += value;
  }
  return {
    netPnlUsdc: field('net_pnl'),
    feesUsdc: field('total_fees'),
    winRatePercent: field('win_rate_pct'),
    dailyNetPnlUsdc,
    openPositions: list.length,
    unrealizedPnlUsdc: cents(unrealized),
  };
}

export interface TradingPnlDeps {
  /** Purple Flea's read routes; trading reads go with the trading key. */
  readonly reader: ReadApi;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * TradingPnl's handler: reads the P&L history and the positions, then puts all six figures or none. A read that fails
 * (no answer, a timeout, a status other than 200, a body without the figures) throws, so the invocation fails and the
 * errors alarm fires: a gap in the graphs, never a wrong figure (a 0 that looks like a flat day).
 */
export function createTradingPnlHandler(deps: TradingPnlDeps) {
  const { reader, now, logger, metrics } = deps;

  async function read(path: string): Promise<Body> {
    const result = await reader.read({ service: 'trading', path });
    if (result.kind === 'failed') throw new PnlReadError(`GET ${path} failed: ${result.reason}`);
    if (result.status !== 200) {
      const error = typeof result.body.error === 'string' ? result.body.error : 'no error code';
      throw new PnlReadError(`GET ${path} answered ${result.status} (${error})`);
    }
    return result.body;
  }

  return async (_event: unknown): Promise<PnlFigures> => {
    try {
      const [history, positions] = await Promise.all([read(PNL_HISTORY_PATH), read(POSITIONS_PATH)]);
      const figures = pnlFigures(history, positions, now());
      metrics.addMetric(METRIC.netPnl, MetricUnit.NoUnit, figures.netPnlUsdc);
      metrics.addMetric(METRIC.fees, MetricUnit.NoUnit, figures.feesUsdc);
      metrics.addMetric(METRIC.winRate, MetricUnit.Percent, figures.winRatePercent);
      metrics.addMetric(METRIC.dailyNetPnl, MetricUnit.NoUnit, figures.dailyNetPnlUsdc);
      metrics.addMetric(METRIC.openPositions, MetricUnit.Count, figures.openPositions);
      metrics.addMetric(METRIC.unrealizedPnl, MetricUnit.NoUnit, figures.unrealizedPnlUsdc);
      logger.info('P&L put', { ...figures, positionsSource: positions.source });
      return figures;
    } catch (error) {
      logger.error('P&L not put: no figure of this run was put', { error: (error as Error).message });
      throw error;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
