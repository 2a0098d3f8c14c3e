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
import { checkPayoutRow, payoutAction, recipientProblem } from './decide';

export interface BatchPayoutPayDeps {
  readonly settings: BatchPayoutPaySettings;
  /** The connection's API profile, money path, request timeout and agent id (lambda/shared/connection-runtime.ts). */
  readonly runtime: Pick<ConnectionRuntime, 'api' | 'moneyPath' | 'requestTimeoutMs' | 'agentId'>;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Pay (one Distributed Map batch): a transfer per row (casino pay on the services profile), from the connection's agent. */
export function createBatchPayoutPayHandler(deps: BatchPayoutPayDeps) {
  const { settings, runtime } = deps;
  const { api } = runtime;
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
    plan: async (item, batch): Promise<RowPlan> => {
      const row = checkPayoutRow(item, settings);
      if ('invalid' in row) return row;
      // A recipient the connection's API cannot pay is INVALID, in a dry run or a disabled run too.
      const recipient = recipientProblem(item, api);
      if (recipient !== undefined) return { columns: row.columns, invalid: recipient };
      if (!('amountUsdc' in row)) return row;
      // Read only for a row to pay. Errors never quote a value read from the secret.
      const fromAgent = await runtime.agentId(api.serviceOf.transfer);
      return { columns: row.columns, action: payoutAction(item, batch, row.amountUsdc, fromAgent, api) };
    },
  });
}
