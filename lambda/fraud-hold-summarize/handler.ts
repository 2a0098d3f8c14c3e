import type { HoldItem } from '../../lib/private/contracts/fraud-hold-env';
import {
  FRAUD_HOLD_METRICS as METRIC,
  HOLDS_COMPLETED_EVENT,
  HOLDS_LOG_FILE,
  HOLDS_SUMMARY_FILE,
} from '../../lib/private/contracts/fraud-hold-env';
import { RunSummaryOptions, summarizeRunHandler } from '../shared/batch/summarize-run';
import { holdColumns, holdKeyOf } from '../fraud-hold-act/hold-row';

/** The settings, the ledger, the clients, the clock and the observability a Summarize needs (summarize-run.ts). */
export type FraudHoldSummarizeDeps = Pick<
  RunSummaryOptions<HoldItem>,
  'settings' | 'ledger' | 's3' | 'putEvents' | 'now' | 'logger' | 'metrics'
>;

/** Summarize (FraudHoldEscrow): `holds_log.jsonl`, `holds_summary.json` and the `Purple Flea Holds Completed` event. */
export function createFraudHoldSummarizeHandler(deps: FraudHoldSummarizeDeps) {
  return summarizeRunHandler<HoldItem>({
    ...deps,
    logFile: HOLDS_LOG_FILE,
    summaryFile: HOLDS_SUMMARY_FILE,
    completedEvent: HOLDS_COMPLETED_EVENT,
    metricNames: { runsSummarized: METRIC.runsSummarized, runUnknownRows: METRIC.runUnknownRows },
    columnsOf: holdColumns,
    actionKeyOf: (item, event) => holdKeyOf(item, event.source.bucket),
  });
}
