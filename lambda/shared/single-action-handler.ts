import type { Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { CountedOutcome, countOutcome, OutcomeMetricNames } from './outcome-metrics';

/** Time kept back from the function's timeout to record the outcome after the call. */
const RECORDING_MARGIN_MS = 5_000;

export interface SingleActionHandlerOptions<R extends CountedOutcome> {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The clock (epoch ms) the deadline is reckoned on: Date.now in Lambda. */
  readonly now: () => number;
  /** Names the log line: `<label> <status>`, e.g. `trade SUCCEEDED`. */
  readonly label: string;
  readonly metricNames: OutcomeMetricNames;
  /** When one handler takes actions of more than one kind (a release or a dispute): the names a result counts under. */
  readonly metricNamesOf?: (result: R) => OutcomeMetricNames;
  /** The amount a SUCCEEDED result moved, for the amount metric. */
  readonly amountOf: (result: R) => number | undefined;
  /** Does the work; `deadline` (epoch ms) is when the money call must be over. */
  readonly act: (event: unknown, deadline: number) => Promise<R>;
}

/**
 * The Lambda entry point of a construct that takes one money-moving action per event (a trade, an
 * escrow): one structured log line per invocation with the outcome, its metrics, and the deadline
 * derived from the function's remaining time.
 */
export function singleActionHandler<R extends CountedOutcome>(options: SingleActionHandlerOptions<R>) {
  const { logger, metrics } = options;
  return async (event: unknown, context: Context): Promise<R> => {
    logger.addContext(context);
    try {
      const result = await options.act(event, options.now() + context.getRemainingTimeInMillis() - RECORDING_MARGIN_MS);
      const names = options.metricNamesOf?.(result) ?? options.metricNames;
      countOutcome(metrics, names, { ...result, amountUsdc: options.amountOf(result) });
      // INVALID, REJECTED and UNKNOWN need a person (nothing retries them on its own): logged as errors.
      const level = result.status === 'UNKNOWN' || result.status === 'INVALID' || result.status === 'REJECTED' ? 'error' : 'info';
      logger[level](`${options.label} ${result.status}`, { ...result } as unknown as LogAttributes);
      return result;
    } finally {
      logger.resetKeys();
      metrics.publishStoredMetrics();
    }
  };
}
