import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  FRAUD_HOLD_DISPUTE_OUTCOME_METRICS,
  FRAUD_HOLD_RELEASE_METRICS as METRIC,
  FRAUD_HOLD_RELEASE_OUTCOME_METRICS,
  FraudHoldReleaseSettings,
  HOLD_REVIEW_COMPLETED_EVENT,
  HUMAN_LOOP_NAME_PREFIX,
  HUMAN_LOOP_STATUS_CHANGE,
} from '../../lib/private/contracts/hold-review-env';
import { ESCROW_RELEASED_EVENT } from '../../lib/private/contracts/escrow-events';
import type { ActionDecision, ActionLedger } from '../shared/action-ledger';
import { escrowDisputeAction } from '../shared/escrow-dispute';
import { createdEscrow, escrowReleaseAction } from '../shared/escrow-release';
import { announceOnce } from '../shared/announce-once';
import { type PutEvents, putOneEvent } from '../shared/events';
import { keyIsUnder, parseS3Uri } from '../shared/human-loop';
import type { ExecuteOnce, MoneyAction } from '../shared/money-path';
import type { PurpleFleaApiProfile } from '../shared/purpleflea-api';
import type { ReadApi } from '../shared/purpleflea-client';
import { singleActionHandler } from '../shared/single-action-handler';
import { MAX_REASON_CHARS, Review, reviewOfEvent, reviewOfLoopOutput } from './review';

export type HoldReleaseStatus = 'SUCCEEDED' | 'SKIPPED' | 'INVALID' | 'REJECTED' | 'UNKNOWN' | 'IN_PROGRESS';

export interface HoldReleaseResult {
  readonly status: HoldReleaseStatus;
  /** What the review led to: a release, a dispute, or the hold kept (until its timeout refund). */
  readonly action?: 'release' | 'dispute' | 'keep-hold';
  readonly decision?: 'clear' | 'fraud';
  readonly reviewer?: string;
  readonly transactionId?: string;
  readonly holdActionKey?: string;
  /** The release's or dispute's own key, `v1:release:<escrow id>` / `v1:dispute:<escrow id>`. */
  readonly actionKey?: string;
  readonly escrowId?: string;
  readonly amountUsdc?: number;
  readonly releasedBefore?: boolean;
  readonly disputedBefore?: boolean;
  readonly humanLoopName?: string;
  readonly repeated?: boolean;
  readonly reason?: string;
}

/** Reads an object's text; undefined when there is no such object. Other failures are thrown (and retried). */
export type ReadObjectText = (bucket: string, key: string) => Promise<string | undefined>;

export function readObjectTextWith(s3: S3Client): ReadObjectText {
  return async (bucket, key) => {
    try {
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await response.Body!.transformToString('utf8');
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  };
}

/**
 * The hold's creation is not settled (UNKNOWN, or another invocation holds it): nothing is released and nothing
 * guessed. Thrown, so that Lambda delivers the event again and then keeps it in the dead-letter queue, for a redrive
 * once an operator has resolved the hold.
 */
export class HoldNotSettledError extends Error {
  constructor(holdKey: string, state: string) {
    super(
      `the hold ${holdKey} is ${state}: resolve it (purpleflea-ledger) before its review can release or dispute it; this event is retried, then kept in the dead-letter queue for a redrive`,
    );
    this.name = 'HoldNotSettledError';
  }
}

export interface FraudHoldReleaseDeps {
  readonly settings: FraudHoldReleaseSettings;
  readonly runtime: {
    readonly api: PurpleFleaApiProfile;
    readonly moneyPath: ExecuteOnce;
    readonly reader: ReadApi;
    readonly ledger: Pick<ActionLedger, 'get' | 'claimNotification' | 'releaseNotification' | 'markNotified'>;
  };
  /** The loops' output.json (Augmented AI only). */
  readonly readObject: ReadObjectText;
  /** Puts `Purple Flea Escrow Released` on the settings' bus. */
  readonly putEvents: PutEvents;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * FraudHoldEscrow's hold release (HoldReview): a completed review → the hold (the ledger's `v1:hold:<transaction
 * id>`) → on "clear", one release (`v1:release:<escrow id>`, announced once as `Purple Flea Escrow Released`); on
 * "fraud", the hold stays (its timeout refunds its creator, less the commission), or is disputed once
 * (`v1:dispute:<escrow id>`) when onConfirmedFraud says so. The ledger deduplicates, not the event: a review
 * delivered twice, or concurrently, releases once. Who decided and why are recorded on the release's record.
 */
export function createFraudHoldReleaseHandler(deps: FraudHoldReleaseDeps) {
  const { settings, runtime, now, logger, metrics } = deps;

  async function handle(event: unknown, deadline: number): Promise<HoldReleaseResult> {
    const envelope = (event ?? {}) as { 'detail-type'?: unknown; 'source'?: unknown; 'detail'?: unknown };
    const detailType = envelope['detail-type'];
    if (settings.source === 'augmented-ai' && detailType === HUMAN_LOOP_STATUS_CHANGE.detailType)
      return humanLoopEnded(envelope.detail, deadline);
    if (settings.source === 'events' && detailType === HOLD_REVIEW_COMPLETED_EVENT.detailType) {
      const review = reviewOfEvent(envelope.detail);
      if (!review.ok) return { status: 'INVALID', reason: `${HOLD_REVIEW_COMPLETED_EVENT.detailType}: ${review.reason}` };
      return act(review.value, 'review-event', deadline);
    }
    return { status: 'INVALID', reason: `not an event this review reads (${JSON.stringify(detailType ?? null)})` };
  }

  async function humanLoopEnded(detail: unknown, deadline: number): Promise<HoldReleaseResult> {
    const d = (detail ?? {}) as Record<string, unknown>;
    const loopName = typeof d.humanLoopName === 'string' ? d.humanLoopName : undefined;
    logger.appendKeys({ humanLoopName: loopName });
    if (d.flowDefinitionArn !== settings.flowDefinitionArn) {
      return { status: 'SKIPPED', humanLoopName: loopName, reason: `a loop of another flow definition (${String(d.flowDefinitionArn)})` };
    }
    if (loopName === undefined || !loopName.startsWith(HUMAN_LOOP_NAME_PREFIX)) {
      return {
        status: 'SKIPPED',
        humanLoopName: loopName,
        reason: `the loop ${String(loopName)} is not a hold's (${HUMAN_LOOP_NAME_PREFIX}...)`,
      };
    }
    const status = d.humanLoopStatus;
    if ((HUMAN_LOOP_STATUS_CHANGE.failedStatuses as readonly unknown[]).includes(status)) {
      metrics.addMetric(METRIC.reviewsFailed, MetricUnit.Count, 1);
      return {
        status: 'SKIPPED',
        humanLoopName: loopName,
        reason:
          `the human loop ended ${String(status)}${d.failureReason ? ` (${String(d.failureReason)})` : ''}: no decision, the hold stays; ` +
          'review it again, or release it by hand (purpleflea-ledger release)',
      };
    }
    if (status !== HUMAN_LOOP_STATUS_CHANGE.completedStatus) {
      return { status: 'SKIPPED', humanLoopName: loopName, reason: `the human loop is ${String(status)}, not Completed` };
    }
    const where = parseS3Uri((d.humanLoopOutput as { outputS3Uri?: unknown } | undefined)?.outputS3Uri);
    if (!where) return { status: 'INVALID', humanLoopName: loopName, reason: 'the event has no humanLoopOutput.outputS3Uri' };
    const uri = `s3://${where.bucket}/${where.key}`;
    if (where.bucket !== settings.humanLoopOutputBucket || !keyIsUnder(where.key, settings.humanLoopOutputPrefix ?? '')) {
      return {
        status: 'INVALID',
        humanLoopName: loopName,
        reason: `the loop's output ${uri} is not where this review reads (humanLoopOutputBucket)`,
      };
    }
    const began = now();
    const text = await deps.readObject(where.bucket, where.key);
    metrics.addMetric(METRIC.outputReadLatency, MetricUnit.Milliseconds, now() - began);
    if (text === undefined) return { status: 'INVALID', humanLoopName: loopName, reason: `the loop's output ${uri} does not exist` };
    let output: unknown;
    try {
      output = JSON.parse(text);
    } catch {
      return { status: 'INVALID', humanLoopName: loopName, reason: `the loop's output ${uri} is not JSON` };
    }
    const review = reviewOfLoopOutput(output, loopName, settings.answers!);
    if (!review.ok) return { status: 'INVALID', humanLoopName: loopName, reason: `${uri}: ${review.reason}` };
    return { ...(await act(review.value, 'augmented-ai', deadline)), humanLoopName: loopName };
  }

  async function act(review: Review, source: string, deadline: number): Promise<HoldReleaseResult> {
    const common = {
      decision: review.decision,
      reviewer: review.reviewer,
      transactionId: review.transactionId,
      holdActionKey: review.holdActionKey,
    };
    logger.appendKeys({ holdActionKey: review.holdActionKey, decision: review.decision });
    const hold = createdEscrow(await runtime.ledger.get(review.holdActionKey));
    switch (hold.kind) {
      case 'none':
        return { ...common, status: 'SKIPPED', reason: `no hold was placed for ${review.holdActionKey}: nothing to release` };
      case 'refused':
        return { ...common, status: 'SKIPPED', reason: `the hold was never placed (refused: ${hold.error ?? 'no reason recorded'})` };
      case 'unsettled':
        metrics.addMetric(METRIC.releasesWaiting, MetricUnit.Count, 1);
        logger.warn('the review waits for its hold', { ...common, holdState: hold.state });
        throw new HoldNotSettledError(review.holdActionKey, hold.state);
      case 'incomplete':
        return {
          ...common,
          status: 'INVALID',
          reason: `the hold ${review.holdActionKey} succeeded, but its record has no escrow id or amount`,
        };
    }
    const { escrowId, amountUsdc } = hold;
    const decision: ActionDecision = { by: review.reviewer, reason: review.reason, source };

    if (review.decision === 'fraud' && settings.onConfirmedFraud === 'keep-hold') {
      if (settings.enabled && !settings.dryRun) metrics.addMetric(METRIC.holdsKept, MetricUnit.Count, 1);
      return {
        ...common,
        escrowId,
        amountUsdc,
        action: 'keep-hold',
        status: 'SKIPPED',
        reason: `confirmed fraud (${review.reason}): the hold stays; the escrow's timeout refunds its creator, less the commission`,
      };
    }
    const action: MoneyAction =
      review.decision === 'clear'
        ? { ...escrowReleaseAction(runtime.api, runtime.reader, { escrowId, amountUsdc }), decision }
        : {
            ...escrowDisputeAction(runtime.api, runtime.reader, {
              escrowId,
              amountUsdc,
              reason: `confirmed fraud by ${review.reviewer}: ${review.reason}`.slice(0, MAX_REASON_CHARS),
            }),
            decision,
          };
    const kind = review.decision === 'clear' ? 'release' : 'dispute';
    const planned = { ...common, escrowId, amountUsdc, action: kind, actionKey: action.actionKey } as const;
    if (!settings.enabled) return { ...planned, status: 'SKIPPED', reason: 'disabled: the construct is switched off (enabled: false)' };
    if (settings.dryRun) return { ...planned, status: 'SKIPPED', reason: `dry run: would ${kind} escrow ${escrowId} (${amountUsdc} USDC)` };

    const report = await runtime.moneyPath.executeOnce(action, { deadline });
    if (report.apiLatencyMs !== undefined) metrics.addMetric(METRIC.apiLatency, MetricUnit.Milliseconds, report.apiLatencyMs);
    const releasedBefore = kind === 'release' && report.status === 'SUCCEEDED' && report.response?.released_before === true;
    const disputedBefore = kind === 'dispute' && report.status === 'SUCCEEDED' && report.response?.disputed_before === true;
    if (releasedBefore && !report.repeated) metrics.addMetric(METRIC.escrowsAlreadyReleased, MetricUnit.Count, 1);
    if (kind === 'release' && report.status === 'SUCCEEDED' && !report.notified) {
      await announceOnce(runtime.ledger, action.actionKey, () =>
        announceRelease({ ...planned, releasedBefore, source, reason: review.reason }),
      );
    }
    return {
      ...planned,
      status: report.status,
      releasedBefore: releasedBefore || undefined,
      disputedBefore: disputedBefore || undefined,
      repeated: report.repeated,
      reason: report.error,
    };
  }

  async function announceRelease(detail: {
    escrowId: string;
    amountUsdc: number;
    releasedBefore: boolean;
    transactionId?: string;
    holdActionKey: string;
    actionKey: string;
    reviewer: string;
    reason: string;
    source: string;
  }): Promise<void> {
    await putOneEvent(
      deps.putEvents,
      {
        EventBusName: settings.eventBusName,
        Source: ESCROW_RELEASED_EVENT.source,
        DetailType: ESCROW_RELEASED_EVENT.detailType,
        Detail: JSON.stringify({
          escrow_id: detail.escrowId,
          amount_usdc: detail.amountUsdc,
          released_before: detail.releasedBefore,
          reason: 'hold review cleared',
          transaction_id: detail.transactionId ?? null,
          hold_action_key: detail.holdActionKey,
          action_key: detail.actionKey,
          reviewer: detail.reviewer,
          review_reason: detail.reason,
          review_source: detail.source,
        }),
      },
      `the release of escrow ${detail.escrowId}`,
    );
  }

  return singleActionHandler<HoldReleaseResult>({
    logger,
    metrics,
    now,
    label: 'hold review',
    metricNames: FRAUD_HOLD_RELEASE_OUTCOME_METRICS,
    metricNamesOf: (result) => (result.action === 'dispute' ? FRAUD_HOLD_DISPUTE_OUTCOME_METRICS : FRAUD_HOLD_RELEASE_OUTCOME_METRICS),
    amountOf: (result) => result.amountUsdc,
    act: handle,
  });
}
