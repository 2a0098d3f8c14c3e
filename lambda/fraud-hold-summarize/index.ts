import { readBatchSummarizeSettings } from '../../lib/private/contracts/batch-engine';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { FRAUD_HOLD_METRICS as METRIC, HoldItem, HOLDS_COMPLETED_EVENT, HOLDS_LOG_FILE } from '../../lib/private/contracts/fraud-hold-env';
import { ActionLedger } from '../shared/action-ledger';
import { summarizeRunHandler } from '../shared/batch/summarize-run';
import { createObservability } from '../shared/observability';
import { holdColumns, holdKeyOf } from '../fraud-hold-act/hold-row';

const connection = readConnectionSettings(process.env, 'FraudHoldEscrow Summarize');
const { logger, metrics } = createObservability(METRIC.functionNameDimension);

/** Summarize (FraudHoldEscrow): `holds_log.json` and the `Purple Flea Holds Completed` event. */
export const handler = summarizeRunHandler<HoldItem>({
  logger,
  metrics,
  settings: readBatchSummarizeSettings(process.env),
  ledger: new ActionLedger({ tableName: connection.ledgerTableName }),
  logFile: HOLDS_LOG_FILE,
  completedEvent: HOLDS_COMPLETED_EVENT,
  metricNames: { runsSummarized: METRIC.runsSummarized, runUnknownRows: METRIC.runUnknownRows },
  columnsOf: holdColumns,
  actionKeyOf: (item, event) => holdKeyOf(item, event.source.bucket),
});
