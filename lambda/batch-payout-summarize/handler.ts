import type { PayoutItem } from '../../lib/private/contracts/batch-engine';
import {
  BATCH_PAYOUT_METRICS as METRIC,
  PAYOUT_COMPLETED_EVENT,
  PAYOUT_LOG_FILE,
  PAYOUT_SUMMARY_FILE,
  type BatchPayoutSummarizeSettings,
} from '../../lib/private/contracts/batch-payout-env';
import { payoutActionKey } from '../shared/action-keys';
import { RunSummaryOptions, summarizeRunHandler } from '../shared/batch/summarize-run';
import { ModelVersionAgents } from '../shared/model-version-agents';

/** The settings, the ledger, the clients, the clock and the observability a Summarize needs (summarize-run.ts). */
export type BatchPayoutSummarizeDeps = Pick<
  RunSummaryOptions<PayoutItem>,
  'settings' | 'ledger' | 's3' | 'putEvents' | 'now' | 'logger' | 'metrics'
> & {
  /** BatchPayout's own: with `agentsFrom`, a row naming a model version is keyed by its agent. */
  readonly payoutSettings?: BatchPayoutSummarizeSettings;
};

/** Summarize: `payout_log.jsonl`, `payout_summary.json` and the `Purple Flea Payout Completed` event. */
export function createBatchPayoutSummarizeHandler(deps: BatchPayoutSummarizeDeps) {
  const { payoutSettings, ...common } = deps;
  // The payout's key names the agent paid, which for a row naming a model version is the registry's: Pay resolved it,
  // and so must Summarize, to find the record of a row the Map did not settle. A model version has one agent, ever, so
  // both find the same one; a version with no registered agent has no payout yet (nothing was sent for it).
  const modelAgents = payoutSettings?.agentsFromRegistry ? new ModelVersionAgents(deps.ledger) : undefined;
  const agentOf = async (agentIdCell: string): Promise<string | undefined> => {
    if (modelAgents === undefined || !modelAgents.names(agentIdCell)) return agentIdCell;
    const agent = await modelAgents.agentOf(agentIdCell);
    return agent.status === 'REGISTERED' ? agent.agentId : undefined;
  };
  const summarize = summarizeRunHandler<PayoutItem>({
    ...common,
    logFile: PAYOUT_LOG_FILE,
    summaryFile: PAYOUT_SUMMARY_FILE,
    completedEvent: PAYOUT_COMPLETED_EVENT,
    metricNames: { runsSummarized: METRIC.runsSummarized, runUnknownRows: METRIC.runUnknownRows },
    columnsOf: (item) => ({ line: Number(item.line), agent_id: item.agent_id, score: item.score, amount_usdc: Number(item.amount_usdc) }),
    actionKeyOf: async (item, event) => {
      const agentId = await agentOf(item.agent_id);
      return agentId === undefined ? undefined : payoutActionKey(event.source.bucket, event.source.key, event.source.etag, agentId);
    },
  });
  // Each run reads the registry afresh: a registration under way at the last run may be done now.
  return (event: Parameters<typeof summarize>[0]) => {
    modelAgents?.forget();
    return summarize(event);
  };
}
