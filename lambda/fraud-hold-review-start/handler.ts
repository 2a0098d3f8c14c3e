import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import { ConflictException, SageMakerA2IRuntimeClient, StartHumanLoopCommand } from '@aws-sdk/client-sagemaker-a2i-runtime';
import type { Context } from 'aws-lambda';
import { HOLDS_COMPLETED_EVENT } from '../../lib/private/contracts/fraud-hold-env';
import { FRAUD_HOLD_REVIEW_START_METRICS as METRIC, FraudHoldReviewStartSettings } from '../../lib/private/contracts/hold-review-env';
import { holdActionKey } from '../shared/action-keys';
import { openObject } from '../shared/batch/run-folder';
import { HoldReviewInput, humanLoopNameOf, keyIsUnder, parseS3Uri } from '../shared/human-loop';
import { TRANSACTION_ID_PATTERN } from '../shared/record-ids';

/** One StartHumanLoop call: `started`, or `exists` when a loop of that name is already there (the same loop). */
export type StartHumanLoop = (loop: { name: string; flowDefinitionArn: string; input: HoldReviewInput }) => Promise<'started' | 'exists'>;

export function startHumanLoopWith(client: SageMakerA2IRuntimeClient): StartHumanLoop {
  return async ({ name, flowDefinitionArn, input }) => {
    try {
      await client.send(
        new StartHumanLoopCommand({
          HumanLoopName: name,
          FlowDefinitionArn: flowDefinitionArn,
          HumanLoopInput: { InputContent: JSON.stringify(input) },
        }),
      );
      return 'started';
    } catch (error) {
      // A2I refuses a second loop of the same name: this hold's loop was started before (a repeated event, a retry).
      if (error instanceof ConflictException || (error as Error).name === 'ConflictException') return 'exists';
      throw error;
    }
  };
}

export interface ReviewStartResult {
  readonly status: 'STARTED' | 'SKIPPED' | 'INVALID';
  readonly runId?: string;
  readonly started?: number;
  readonly alreadyStarted?: number;
  /** Holds placed without a transaction id: no review can name them (they are logged). */
  readonly notReviewable?: number;
  readonly reason?: string;
}

export interface FraudHoldReviewStartDeps {
  readonly settings: FraudHoldReviewStartSettings;
  readonly s3: S3Client;
  readonly startHumanLoop: StartHumanLoop;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Loops started at a time: A2I's StartHumanLoop has a per-account rate; the SDK retries its throttling. */
const START_CONCURRENCY = 4;

/**
 * FraudHoldEscrow's review start (HoldReview.augmentedAi): a run's `Purple Flea Holds Completed` event → its holds
 * log → one Amazon A2I human loop per hold the run placed (SUCCEEDED, not a repeat of an earlier run's), named from
 * the hold's action key. It runs after the run, outside the money path: a failed start fails this invocation only
 * (Lambda retries it, then the dead-letter queue keeps the event), and a retry starts only the loops not there yet.
 */
export function createFraudHoldReviewStartHandler(deps: FraudHoldReviewStartDeps) {
  const { settings, logger, metrics } = deps;

  async function start(event: unknown): Promise<ReviewStartResult> {
    const detail = (event as { 'detail'?: Record<string, unknown>; 'detail-type'?: unknown } | undefined)?.detail;
    if ((event as { 'detail-type'?: unknown } | undefined)?.['detail-type'] !== HOLDS_COMPLETED_EVENT.detailType || !detail) {
      return { status: 'INVALID', reason: `not a ${HOLDS_COMPLETED_EVENT.detailType} event` };
    }
    const runId = typeof detail.run_id === 'string' ? detail.run_id : undefined;
    logger.appendKeys({ runId });
    if (!settings.enabled) return { status: 'SKIPPED', runId, reason: 'disabled (enabled: false): no review is started' };
    if (detail.dry_run === true) return { status: 'SKIPPED', runId, reason: 'a dry run placed no hold: nothing to review' };
    const log = parseS3Uri(detail.log);
    if (!log) return { status: 'INVALID', runId, reason: `the event's log ${JSON.stringify(detail.log)} is not an s3:// URI` };
    if (log.bucket !== settings.runBucket || !keyIsUnder(log.key, settings.runPrefix)) {
      return { status: 'INVALID', runId, reason: `the log s3://${log.bucket}/${log.key} is not in this construct's run folders` };
    }

    let started = 0;
    let alreadyStarted = 0;
    let notReviewable = 0;
    const failures: string[] = [];
    const inFlight = new Set<Promise<void>>();
    const { body } = await openObject(deps.s3, log.bucket, log.key);
    for await (const line of createInterface({ input: body as Readable, crlfDelay: Infinity })) {
      const input = reviewInputOf(line, runId);
      if (input === undefined) continue;
      if (input === 'no-transaction-id') {
        notReviewable += 1;
        continue;
      }
      const name = humanLoopNameOf(input.hold_action_key);
      const task = (async () => {
        const began = deps.now();
        try {
          const outcome = await deps.startHumanLoop({ name, flowDefinitionArn: settings.flowDefinitionArn, input });
          if (outcome === 'started') started += 1;
          else alreadyStarted += 1;
        } catch (error) {
          const { name: errorName, message } = error as Error;
          failures.push(`${input.hold_action_key} (loop ${name}): ${errorName}: ${message}`);
        } finally {
          metrics.addMetric(METRIC.startLatency, MetricUnit.Milliseconds, deps.now() - began);
        }
      })();
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
      if (inFlight.size >= START_CONCURRENCY) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    metrics.addMetric(METRIC.reviewsStarted, MetricUnit.Count, started);
    metrics.addMetric(METRIC.reviewsAlreadyStarted, MetricUnit.Count, alreadyStarted);
    if (notReviewable > 0) {
      logger.warn('holds without a transaction id get no review: release them by hand (purpleflea-ledger release)', { notReviewable });
    }
    if (failures.length > 0) {
      // Retried as a whole: the loops started already are found there (ConflictException), nothing is started twice.
      throw new Error(`${failures.length} human loop(s) could not be started: ${failures.slice(0, 5).join('; ')}`);
    }
    return { status: 'STARTED', runId, started, alreadyStarted, notReviewable };
  }

  return async (event: unknown, context: Context): Promise<ReviewStartResult> => {
    logger.addContext(context);
    try {
      const result = await start(event);
      logger[result.status === 'INVALID' ? 'error' : 'info'](`review start ${result.status}`, { ...result });
      return result;
    } finally {
      logger.resetKeys();
      metrics.publishStoredMetrics();
    }
  };
}

/**
 * A holds log entry as a loop's input: a hold this run placed (SUCCEEDED, not a repeat: an earlier run's hold got
 * its loop from that run's event), with its escrow id; `no-transaction-id` for such a hold keyed by its place.
 */
export function reviewInputOf(line: string, runId: string | undefined): HoldReviewInput | 'no-transaction-id' | undefined {
  if (line.trim() === '') return undefined;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (entry.status !== 'SUCCEEDED' || entry.repeated === true) return undefined;
  const result = entry.result as Record<string, unknown> | undefined;
  const escrowId = result?.escrow_id;
  if (typeof escrowId !== 'string') return undefined;
  const transactionId = typeof entry.transaction_id === 'string' ? entry.transaction_id : '';
  if (!TRANSACTION_ID_PATTERN.test(transactionId)) return 'no-transaction-id';
  return {
    hold_action_key: holdActionKey(transactionId),
    transaction_id: transactionId,
    escrow_id: escrowId,
    amount_usdc: Number(entry.amount_usdc),
    fraud_score: typeof entry.fraud_score === 'string' || typeof entry.fraud_score === 'number' ? entry.fraud_score : '',
    buyer: String(entry.buyer ?? ''),
    seller: String(entry.seller ?? ''),
    transform_job: typeof entry.transform_job === 'string' && entry.transform_job !== '' ? entry.transform_job : undefined,
    run_id: runId,
  };
}
