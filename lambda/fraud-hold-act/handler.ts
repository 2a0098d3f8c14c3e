import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { BatchInput } from '../../lib/private/contracts/batch-engine';
import {
  FRAUD_HOLD_METRICS as METRIC,
  FRAUD_HOLD_OUTCOME_METRICS,
  FraudHoldActSettings,
  HoldItem,
} from '../../lib/private/contracts/fraud-hold-env';
import { batchActHandler } from '../shared/batch/act-on-batch';
import type { ConnectionRuntime } from '../shared/connection-runtime';
import { planHold } from './decide';

export interface FraudHoldActDeps {
  readonly settings: FraudHoldActSettings;
  /** The connection's API profile, money path and request timeout (lambda/shared/connection-runtime.ts). */
  readonly runtime: Pick<ConnectionRuntime, 'api' | 'moneyPath' | 'requestTimeoutMs'>;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Act (FraudHoldEscrow, one Distributed Map batch): an escrow hold per flagged transaction. */
export function createFraudHoldActHandler(deps: FraudHoldActDeps) {
  const { settings, runtime } = deps;
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
    plan: (item, batch) => planHold(item, batch, settings, runtime.api),
  });
}
