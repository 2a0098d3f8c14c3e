import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { BatchInput, PayoutItem } from '../../lib/private/contracts/batch-engine';
import {
  BATCH_PAYOUT_METRICS as METRIC,
  BATCH_PAYOUT_OUTCOME_METRICS,
  BatchPayoutPaySettings,
} from '../../lib/private/contracts/batch-payout-env';
import { batchActHandler, RowPlan } from '../shared/batch/act-on-batch';
import type { ConnectionRuntime } from '../shared/connection-runtime';
import type { RegistryLedger } from '../shared/model-agents';
import { ModelVersionAgents } from '../shared/model-version-agents';
import { checkPayoutRow, payoutAction, recipientProblem } from './decide';

export interface BatchPayoutPayDeps {
  readonly settings: BatchPayoutPaySettings;
  /**
   * The connection's API profile, money path, request timeout and agent id (lambda/shared/connection-runtime.ts), and
   * its ledger, read as the model agents' registry with `agentsFrom` (a test may wrap it to count the reads).
   */
  readonly runtime: Pick<ConnectionRuntime, 'api' | 'moneyPath' | 'requestTimeoutMs' | 'agentId'> & { readonly ledger?: RegistryLedger };
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Pay (one Distributed Map batch): a transfer per row (casino pay on the services profile), from the connection's agent. */
export function createBatchPayoutPayHandler(deps: BatchPayoutPayDeps) {
  const { settings, runtime } = deps;
  const { api } = runtime;
  if (settings.agentsFromRegistry && runtime.ledger === undefined) throw new Error('BatchPayout Pay: agentsFrom needs the ledger');
  // Per invocation: a batch may name one model version in many rows; the next batch reads the registry afresh.
  const modelAgents = settings.agentsFromRegistry ? new ModelVersionAgents(runtime.ledger!) : undefined;
  return batchActHandler<PayoutItem, BatchInput>({
    logger: deps.logger,
    metrics: deps.metrics,
    label: 'payout',
    metricNames: BATCH_PAYOUT_OUTCOME_METRICS,
    apiLatencyMetric: METRIC.apiLatency,
    moneyPath: runtime.moneyPath,
    requestsPerSecond: settings.requestsPerSecond,
    concurrency: settings.concurrency,
    requestTimeoutMs: runtime.requestTimeoutMs,
    startBatch: () => modelAgents?.forget(),
    plan: async (item, batch): Promise<RowPlan> => {
      const row = checkPayoutRow(item, settings);
      if ('invalid' in row) return row;
      const version = modelAgents !== undefined && modelAgents.names(item.agent_id);
      // A recipient the connection's API cannot pay is INVALID, in a dry run or a disabled run too (a model version's
      // agent once it is resolved: only for a row to pay).
      const recipient = version ? undefined : recipientProblem(item, api);
      if (recipient !== undefined) return { columns: row.columns, invalid: recipient };
      if (!('amountUsdc' in row)) return row;
      let paid = item;
      let columns = row.columns;
      if (version) {
        const resolved = await modelAgents.resolve('agent_id', item.agent_id, 'not paid');
        if (!('agentId' in resolved)) return { columns, ...resolved };
        paid = { ...item, agent_id: resolved.agentId };
        // The log keeps the row's own agent_id (its model version) and names the agent paid.
        columns = { ...columns, resolved_agent_id: resolved.agentId };
        const problem = recipientProblem(paid, api);
        if (problem !== undefined) return { columns, invalid: problem };
      }
      // Read only for a row to pay. Errors never quote a value read from the secret.
      const fromAgent = await runtime.agentId(api.serviceOf.transfer);
      return { columns, action: payoutAction(paid, batch, row.amountUsdc, fromAgent, api) };
    },
  });
}
