import type { PayoutItem } from '../../lib/private/contracts/batch-engine';
import {
  BATCH_PAYOUT_METRICS as METRIC,
  PAYOUT_COMPLETED_EVENT,
  PAYOUT_LOG_FILE,
  PAYOUT_SUMMARY_FILE,
} from '../../lib/private/contracts/batch-payout-env';
import { payoutActionKey } from '../shared/action-keys';
import { RunSummaryOptions, summarizeRunHandler } from '../shared/batch/summarize-run';

/** The settings, the ledger, the clients, the clock and the observability a Summarize needs (summarize-run.ts). */
export type BatchPayoutSummarizeDeps = Pick<
  RunSummaryOptions<PayoutItem>,
  'settings' | 'ledger' | 's3' | 'putEvents' | 'now' | 'logger' | 'metrics'
>;

/** Summarize: `payout_log.jsonl`, `payout_summary.json` and the `Purple Flea Payout Completed` event. */
export function createBatchPayoutSummarizeHandler(deps: BatchPayoutSummarizeDeps) {
  return summarizeRunHandler<PayoutItem>({
    ...deps,
    logFile: PAYOUT_LOG_FILE,
    summaryFile: PAYOUT_SUMMARY_FILE,
    completedEvent: PAYOUT_COMPLETED_EVENT,
    metricNames: { runsSummarized: METRIC.runsSummarized, runUnknownRows: METRIC.runUnknownRows },
    columnsOf: (item) => ({ line: Number(item.line), agent_id: item.agent_id, score: item.score, amount_usdc: Number(item.amount_usdc) }),
    actionKeyOf: (item, event) => payoutActionKey(event.source.bucket, event.source.key, event.source.etag, item.agent_id),
  });
}
