import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { TRADING_PNL_METRICS } from '../../lib/private/contracts/trading-pnl-env';
import { createConnectionRuntime } from '../shared/connection-runtime';
import { createObservability } from '../shared/observability';
import { createTradingPnlHandler } from './handler';

// Read and checked once per container: a missing variable fails the cold start with its name. The function reads
// with the trading key (told where it is, as the functions that trade are); it never touches the ledger.
const connection = readConnectionSettings(process.env, 'TradingPnl', { servicesProfile: true, trades: true });
const { logger, metrics } = createObservability(TRADING_PNL_METRICS.functionNameDimension);

export const handler = createTradingPnlHandler({
  reader: createConnectionRuntime(connection).reader,
  now: Date.now,
  logger,
  metrics,
});
