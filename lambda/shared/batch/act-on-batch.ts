import type { Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { ActRowOutcome, ActBatchResult } from '../../../lib/private/contracts/batch-engine';
import { ExecuteOnce, MoneyAction, OutcomeNotRecordedError, Pacing } from '../money-path';
import { compactResponse } from '../api-response';
import type { ApiOutcome } from '../purpleflea-client';
import { countOutcome, OutcomeMetricNames } from '../outcome-metrics';
import { mapWithConcurrency, RateLimiter } from './rate-limiter';
import { RowColumns, withRecordedAmount } from './row-outcomes';

/** What to do with one row: its log columns, and either a reason not to act or the action. */
export interface RowPlan {
  /** The row's columns as the run's log shows them (`line`, `amount_usdc`, and the construct's own). */
  readonly columns: RowColumns;
  readonly invalid?: string;
  readonly skipped?: string;
  /**
   * Not sent now, and sent by a rerun once what it waits for is there (a model agent whose registration is under way):
   * REJECTED with this reason, the status of an action that provably did not take effect and may run again.
   */
  readonly notSent?: string;
  readonly action?: MoneyAction;
}

export interface BatchActOptions<Item, Input> {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Names the log lines: `<label> UNKNOWN`, `<label> INVALID`. */
  readonly label: string;
  readonly metricNames: OutcomeMetricNames;
  readonly apiLatencyMetric: string;
  readonly moneyPath: ExecuteOnce;
  /** This batch's share of the run's rate (the run's maxRequestsPerSecond / the Map's maxConcurrency). */
  readonly requestsPerSecond: number;
  /** Rows in flight at once within the batch. */
  readonly concurrency: number;
  /** How long one request may take: the last slot must leave room for it before the deadline. */
  readonly requestTimeoutMs: number;
  readonly plan: (item: Item, batchInput: Input) => RowPlan | Promise<RowPlan>;
  /** Called as each invocation starts, before any row is planned (to forget what the previous batch cached). */
  readonly startBatch?: () => void;
}

/** Time kept back from the function's timeout to record the last outcomes. */
const RECORDING_MARGIN_MS = 10_000;

/**
 * A row whose slot comes within this long waits for it before touching the ledger, then claims straight
 * as SENDING: two ledger writes instead of three. A row facing a longer wait (a slow pace) claims first,
 * so that a rerun learns at once which rows are done instead of queueing them for slots. (At a fast
 * pace a rerun's done rows do take slots: such a rerun lasts at most as long as the first run.)
 */
const WAIT_BEFORE_CLAIM_MS = 1_000;

/**
 * The Act step of the batch engine (one Distributed Map batch): every row through the ledger path,
 * a few at a time and at the run's pace. Returns one outcome per row; a row's failure is its status.
 */
export function batchActHandler<Item, Input>(options: BatchActOptions<Item, Input>) {
  const { logger, metrics } = options;
  // Per container: kept across the batches one container runs in turn.
  const limiter = new RateLimiter(options.requestsPerSecond);

  const actOn = async (plan: RowPlan, deadline: number): Promise<ActRowOutcome> => {
    if (plan.invalid !== undefined) return { ...plan.columns, status: 'INVALID', error: plan.invalid };
    if (plan.notSent !== undefined) return { ...plan.columns, status: 'REJECTED', error: plan.notSent };
    if (plan.skipped !== undefined || !plan.action) return { ...plan.columns, status: 'SKIPPED', error: plan.skipped };
    const latestSlot = deadline - options.requestTimeoutMs;
    let pacing: RowPacing | undefined;
    let report;
    try {
      // Taken before the claim when it is near; a far one is waited for between claim and send.
      const slotTakenBeforeClaim = limiter.waitMs() <= WAIT_BEFORE_CLAIM_MS && (await limiter.take(latestSlot));
      pacing = new RowPacing(limiter, latestSlot, slotTakenBeforeClaim);
      report = await options.moneyPath.executeOnce(plan.action, { deadline, pacing });
    } catch (error) {
      // One row's failure is that row's status: the batch's other rows are still counted and logged.
      if (error instanceof OutcomeNotRecordedError) {
        return { ...plan.columns, status: error.outcome.outcome, result: compact(error.outcome), error: error.message };
      }
      const reason = pacing?.outOfTime ? 'no time left in this batch' : `${(error as Error).name}: ${(error as Error).message}`;
      return { ...plan.columns, status: 'REJECTED', error: `not sent: ${reason} (a rerun sends it)` };
    }
    if (report.apiLatencyMs !== undefined) metrics.addMetric(options.apiLatencyMetric, MetricUnit.Milliseconds, report.apiLatencyMs);
    return {
      // A repeat shows what the ledger recorded, not what this run computed.
      ...(report.recorded ? withRecordedAmount(plan.columns, report.recorded.amountUsdc) : plan.columns),
      status: report.status,
      result: report.status === 'SUCCEEDED' ? compactResponse(report.response) : undefined,
      error: report.error,
      repeated: report.repeated,
    };
  };

  return async (event: { Items?: readonly Item[]; BatchInput: Input }, context: Context): Promise<ActBatchResult> => {
    logger.addContext(context);
    logger.appendKeys({ runId: (event.BatchInput as { runId?: string } | undefined)?.runId });
    const deadline = Date.now() + context.getRemainingTimeInMillis() - RECORDING_MARGIN_MS;
    limiter.startBatch();
    options.startBatch?.();
    try {
      const rows = await mapWithConcurrency(event.Items ?? [], options.concurrency, async (item) =>
        actOn(await options.plan(item, event.BatchInput), deadline),
      );
      const byStatus: { [status: string]: number } = {};
      for (const row of rows) {
        byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
        countOutcome(metrics, options.metricNames, { status: row.status, repeated: row.repeated, amountUsdc: row.amount_usdc });
        if (row.status === 'UNKNOWN' || row.status === 'INVALID')
          logger.error(`${options.label} ${row.status}`, { ...row } as LogAttributes);
      }
      logger.info('batch done', { rows: rows.length, byStatus });
      return { rows };
    } finally {
      logger.resetKeys();
      metrics.publishStoredMetrics();
    }
  };
}

function compact(outcome: ApiOutcome): { [key: string]: unknown } | undefined {
  return outcome.outcome === 'SUCCEEDED' ? compactResponse(outcome.response) : undefined;
}

/** One row's turn at the batch's pace: the rate limiter, seen through the money path's Pacing. */
class RowPacing implements Pacing {
  /** Set when a slot could not be had before the batch's deadline (the row is then REJECTED, not sent). */
  outOfTime = false;

  constructor(
    private readonly limiter: RateLimiter,
    /** The last moment a slot still leaves one request's time before the deadline. */
    private readonly latestSlot: number,
    private readonly slotInHand: boolean,
  ) {}

  /** A slot in hand (or free now): claim straight as SENDING. Otherwise claim first and then wait. */
  readyNow(): boolean {
    return this.slotInHand || this.limiter.tryTake();
  }

  waitForTurn(): Promise<void> {
    return this.takeSlot('no rate-limit slot before the deadline');
  }

  /** The server's window is full: every row of this container waits for it to renew, not only this one. */
  windowFull(renewsAt: number): void {
    this.limiter.pauseUntil(renewsAt);
  }

  /** A retried request (after a 429) is one more request in the window: it waits for a slot too. */
  beforeRetry(): Promise<void> {
    return this.takeSlot('no rate-limit slot for a retry before the deadline');
  }

  /** Counted as it goes out, after the ledger write that came between its slot and the send. */
  admitAttempt(latestStart: number): Promise<boolean> {
    return this.limiter.admit(latestStart);
  }

  private async takeSlot(reason: string): Promise<void> {
    if (!(await this.limiter.take(this.latestSlot))) {
      this.outOfTime = true;
      throw new Error(reason);
    }
  }
}
