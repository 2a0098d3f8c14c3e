import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { OutcomeMetricNames } from '../../lib/private/contracts/outcome-metrics';

// Defined with the constructs' contracts: each construct's mapping is there, read by its handler and its dashboard.
export type { OutcomeMetricNames };

export interface CountedOutcome {
  readonly status: string;
  readonly repeated?: boolean;
  readonly amountUsdc?: number;
}

/**
 * Counts one action's outcome. A repeat delivery reports what an earlier invocation did, so it is
 * counted as skipped: every order, escrow or payout is counted once, by the invocation that made it.
 */
export function countOutcome(metrics: Metrics, names: OutcomeMetricNames, outcome: CountedOutcome): void {
  if (outcome.repeated) {
    metrics.addMetric(names.skipped, MetricUnit.Count, 1);
    return;
  }
  switch (outcome.status) {
    case 'SUCCEEDED':
      metrics.addMetric(names.succeeded, MetricUnit.Count, 1);
      if (outcome.amountUsdc !== undefined) metrics.addMetric(names.amount, MetricUnit.NoUnit, outcome.amountUsdc);
      return;
    case 'REJECTED':
      metrics.addMetric(names.rejected, MetricUnit.Count, 1);
      return;
    case 'UNKNOWN':
      metrics.addMetric(names.unknown, MetricUnit.Count, 1);
      return;
    case 'INVALID':
      metrics.addMetric(names.invalid, MetricUnit.Count, 1);
      return;
    default:
      metrics.addMetric(names.skipped, MetricUnit.Count, 1);
  }
}
