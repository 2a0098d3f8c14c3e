/**
 * TradingPnl's contract: the metrics its handler puts (EMF) and the construct shows and alarms on. The handler
 * takes no settings of its own besides the connection's (it reads the trading key's P&L and positions).
 */

/** The EMF metrics of the P&L handler: one namespace, Powertools' `service` dimension and the function's name. */
export const TRADING_PNL_METRICS = {
  namespace: 'PurpleFlea/SageMaker',
  serviceName: 'trading-pnl',
  functionNameDimension: 'FunctionName',
  /** Realized P&L minus fees over the service's window (`pnlWindowDays`), in USDC. */
  netPnl: 'NetPnlUsdc',
  /** Fees over the window, in USDC. */
  fees: 'FeesUsdc',
  /** Share of winning trades over the window, in percent. */
  winRate: 'WinRatePercent',
  /** Today's (UTC) realized P&L minus today's fees, in USDC: what the daily-loss alarm watches. */
  dailyNetPnl: 'DailyNetPnlUsdc',
  /** Positions open now. */
  openPositions: 'OpenPositions',
  /** The open positions' unrealized P&L now, in USDC. */
  unrealizedPnl: 'UnrealizedPnlUsdc',
} as const;

/** The window of `GET /v1/trade/pnl-history?days=` the summary metrics cover: the service's default. */
export const PNL_WINDOW_DAYS = 30;
