import { PayoutItem, readBatchSummarizeSettings } from '../../lib/private/contracts/batch-engine';
import { BATCH_PAYOUT_METRICS as METRIC, PAYOUT_COMPLETED_EVENT, PAYOUT_LOG_FILE } from '../../lib/private/contracts/batch-payout-env';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { payoutActionKey } from '../shared/action-keys';
import { ActionLedger } from '../shared/action-ledger';
import { summarizeRunHandler } from '../shared/batch/summarize-run';
import { createObservability } from '../shared/observability';

const connection = readConnectionSettings(process.env, 'BatchPayout Summarize');
const { logger, metrics } = createObservability(METRIC.functionNameDimension);

/** Summarize: `payout_log.json` and the `Purple Flea Payout Completed` event. */
export const handler = summarizeRunHandler<PayoutItem>({
  logger,
  metrics,
  settings: readBatchSummarizeSettings(process.env),
  ledger: new ActionLedger({ tableName: connection.ledgerTableName }),
  logFile: PAYOUT_LOG_FILE,
  completedEvent: PAYOUT_COMPLETED_EVENT,
  metricNames: { runsSummarized: METRIC.runsSummarized, runUnknownRows: METRIC.runUnknownRows },
  columnsOf: (item) => ({ line: Number(item.line), agent_id: item.agent_id, score: item.score, amount_usdc: Number(item.amount_usdc) }),
  actionKeyOf: (item, event) => payoutActionKey(event.source.bucket, event.source.key, event.source.etag, item.agent_id),
});
