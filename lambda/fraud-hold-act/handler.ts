import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { BatchInput } from '../../lib/private/contracts/batch-engine';
import {
  FRAUD_HOLD_METRICS as METRIC,
  FRAUD_HOLD_OUTCOME_METRICS,
  FraudHoldActSettings,
  HoldItem,
} from '../../lib/private/contracts/fraud-hold-env';
import { batchActHandler, RowPlan } from '../shared/batch/act-on-batch';
import type { ConnectionRuntime } from '../shared/connection-runtime';
import type { RegistryLedger } from '../shared/model-agents';
import { ModelVersionAgents } from '../shared/model-version-agents';
import { planHold } from './decide';

export interface FraudHoldActDeps {
  readonly settings: FraudHoldActSettings;
  /**
   * The connection's API profile, money path and request timeout (lambda/shared/connection-runtime.ts), and its
   * ledger, read as the model agents' registry with `agentsFrom` (a test may wrap it to count the reads).
   */
  readonly runtime: Pick<ConnectionRuntime, 'api' | 'moneyPath' | 'requestTimeoutMs'> & { readonly ledger?: RegistryLedger };
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Act (FraudHoldEscrow, one Distributed Map batch): an escrow hold per flagged transaction. */
export function createFraudHoldActHandler(deps: FraudHoldActDeps) {
  const { settings, runtime } = deps;
  if (settings.agentsFromRegistry && runtime.ledger === undefined) throw new Error('FraudHoldEscrow Act: agentsFrom needs the ledger');
  // Per invocation: a batch may name one model version in many records; the next batch reads the registry afresh.
  const modelAgents = settings.agentsFromRegistry ? new ModelVersionAgents(runtime.ledger!) : undefined;

  /**
   * A hold whose buyer or seller names a model version is planned again with the agents the registry names (the hold's
   * key is the transaction's, or its place: no agent in it). The log keeps the record's own buyer and seller and names
   * the agents in `resolved_buyer` and `resolved_seller`.
   */
  async function withAgents(agents: ModelVersionAgents, item: HoldItem, batch: BatchInput, plan: RowPlan): Promise<RowPlan> {
    const resolved: { buyer?: string; seller?: string } = {};
    for (const field of ['buyer', 'seller'] as const) {
      if (!agents.names(item[field])) continue;
      const agent = await agents.resolve(field, item[field], 'not held');
      if (!('agentId' in agent)) return { columns: plan.columns, ...agent };
      resolved[field] = agent.agentId;
    }
    if (resolved.buyer === undefined && resolved.seller === undefined) return plan;
    const replanned = planHold({ ...item, ...resolved }, batch, settings, runtime.api);
    const names = {
      ...(resolved.buyer !== undefined ? { resolved_buyer: resolved.buyer } : {}),
      ...(resolved.seller !== undefined ? { resolved_seller: resolved.seller } : {}),
    };
    return { ...replanned, columns: { ...plan.columns, ...names } };
  }

  return batchActHandler<HoldItem, BatchInput>({
    logger: deps.logger,
    metrics: deps.metrics,
    label: 'hold',
    metricNames: FRAUD_HOLD_OUTCOME_METRICS,
    apiLatencyMetric: METRIC.apiLatency,
    moneyPath: runtime.moneyPath,
    requestsPerSecond: settings.requestsPerSecond,
    concurrency: settings.concurrency,
    requestTimeoutMs: runtime.requestTimeoutMs,
    startBatch: () => modelAgents?.forget(),
    plan: (item, batch) => {
      const plan = planHold(item, batch, settings, runtime.api);
      // Only a hold to place reads the registry: an INVALID, disabled or dry-run row names the record's parties.
      return modelAgents === undefined || plan.action === undefined ? plan : withAgents(modelAgents, item, batch, plan);
    },
  });
}
