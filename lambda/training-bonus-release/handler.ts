import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DescribeModelPackageCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import {
  MODEL_PACKAGE_STATE_CHANGE,
  TRAINING_BONUS_RELEASE_METRICS as METRIC,
  TRAINING_BONUS_RELEASE_OUTCOME_METRICS,
  TrainingBonusReleaseSettings,
} from '../../lib/private/contracts/training-bonus-release-env';
import { ESCROW_RELEASED_EVENT } from '../../lib/private/contracts/escrow-events';
import { escrowActionKey } from '../shared/action-keys';
import type { ActionLedger } from '../shared/action-ledger';
import { createdEscrow, escrowReleaseAction } from '../shared/escrow-release';
import { announceOnce } from '../shared/announce-once';
import { type PutEvents, putOneEvent } from '../shared/events';
import type { ExecuteOnce } from '../shared/money-path';
import type { PurpleFleaApiProfile } from '../shared/purpleflea-api';
import type { ReadApi } from '../shared/purpleflea-client';
import { singleActionHandler } from '../shared/single-action-handler';
import { groupMatches, ModelPackageDescription, parseModelPackageEvent, trainingJobOf } from './model-package';

export type ReleaseStatus = 'SUCCEEDED' | 'SKIPPED' | 'INVALID' | 'REJECTED' | 'UNKNOWN' | 'IN_PROGRESS';

export interface ReleaseResult {
  readonly status: ReleaseStatus;
  readonly modelPackageArn?: string;
  readonly jobName?: string;
  /** The ledger key of the escrow's creation, `v1:escrow:<training job ARN>`. */
  readonly escrowActionKey?: string;
  /** The release's own key, `v1:release:<escrow id>`. */
  readonly actionKey?: string;
  readonly escrowId?: string;
  /** The escrow's amount, as its creation recorded it. */
  readonly amountUsdc?: number;
  /** The escrow was found released already (an earlier attempt whose answer was lost, or by hand). */
  readonly releasedBefore?: boolean;
  readonly repeated?: boolean;
  readonly reason?: string;
}

/** One DescribeModelPackage call; it throws SageMaker's errors as they are. */
export type DescribeModelPackage = (modelPackageArn: string) => Promise<ModelPackageDescription>;

export function describeModelPackageWith(client: SageMakerClient): DescribeModelPackage {
  return (arn) => client.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
}

/**
 * The escrow's creation is not settled (UNKNOWN, or another invocation holds it): nothing is released and nothing
 * guessed. Thrown, so that Lambda delivers the event again and then keeps it in the dead-letter queue, for a redrive
 * once an operator has resolved the creation.
 */
export class CreationNotSettledError extends Error {
  constructor(escrowKey: string, state: string) {
    super(
      `the escrow's creation ${escrowKey} is ${state}: resolve it (purpleflea-ledger) before it can be released; this event is retried, then kept in the dead-letter queue for a redrive`,
    );
    this.name = 'CreationNotSettledError';
  }
}

export interface TrainingBonusReleaseDeps {
  readonly settings: TrainingBonusReleaseSettings;
  readonly runtime: {
    readonly api: PurpleFleaApiProfile;
    readonly moneyPath: ExecuteOnce;
    readonly reader: ReadApi;
    readonly ledger: Pick<ActionLedger, 'get' | 'claimNotification' | 'releaseNotification' | 'markNotified'>;
  };
  readonly describeModelPackage: DescribeModelPackage;
  /** Puts `Purple Flea Escrow Released` on the settings' bus. */
  readonly putEvents: PutEvents;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * TrainingBonusEscrow's release: a model package approved (or staged to the configured lifecycle stage) → its
 * training job → the escrow the library created for it (the ledger's `v1:escrow:<job ARN>`) → one release
 * (`v1:release:<escrow id>`), announced once. The ledger deduplicates, not the event: an approval, a rejection and
 * a second approval release once, and another package of the same job finds the release done.
 */
export function createTrainingBonusReleaseHandler(deps: TrainingBonusReleaseDeps) {
  const { settings, runtime, now, logger, metrics } = deps;

  async function release(event: unknown, deadline: number): Promise<ReleaseResult> {
    const parsed = parseModelPackageEvent(event);
    if (!parsed.ok) return { status: 'INVALID', reason: parsed.reason };
    const { modelPackageArn, groupName } = parsed.value;
    logger.appendKeys({ modelPackageArn });
    if (!groupMatches(groupName, settings)) {
      const wanted = settings.modelPackageGroupName ?? `a name starting ${JSON.stringify(settings.modelPackageGroupNamePrefix)}`;
      return { status: 'SKIPPED', modelPackageArn, reason: `the package's group ${JSON.stringify(groupName)} is not ${wanted}` };
    }
    if (settings.trigger === 'approval' && parsed.value.approvalStatus !== MODEL_PACKAGE_STATE_CHANGE.approvedStatus) {
      return {
        status: 'SKIPPED',
        modelPackageArn,
        reason: `the package is ${parsed.value.approvalStatus ?? 'of no approval status'}, not Approved`,
      };
    }

    const described = await describeModelPackage(modelPackageArn);
    if ('reason' in described) return { status: 'INVALID', modelPackageArn, reason: described.reason };
    const pkg = described.pkg;
    // The event may be an old one delivered again: the package as it is now decides.
    if (settings.trigger === 'approval' && pkg.ModelApprovalStatus !== MODEL_PACKAGE_STATE_CHANGE.approvedStatus) {
      return {
        status: 'SKIPPED',
        modelPackageArn,
        reason: `the package is now ${pkg.ModelApprovalStatus ?? 'of no approval status'}, not Approved`,
      };
    }
    if (settings.trigger === 'lifecycle-stage' && pkg.ModelLifeCycle?.Stage !== settings.stage) {
      return {
        status: 'SKIPPED',
        modelPackageArn,
        reason: `the package's lifecycle stage is ${JSON.stringify(pkg.ModelLifeCycle?.Stage ?? null)}, not ${JSON.stringify(settings.stage)}`,
      };
    }

    const link = trainingJobOf(modelPackageArn, pkg, settings.trainingJobMetadataKey);
    if (!link.ok) return { status: 'INVALID', modelPackageArn, reason: link.reason };
    const { jobName, jobArn } = link.value;
    const creationKey = escrowActionKey(jobArn);
    const common = { modelPackageArn, jobName, escrowActionKey: creationKey };
    logger.appendKeys({ jobName, escrowActionKey: creationKey });

    const creation = createdEscrow(await runtime.ledger.get(creationKey));
    switch (creation.kind) {
      case 'none':
        return {
          ...common,
          status: 'SKIPPED',
          reason: `no escrow was created for training job ${jobName} (no bonus was earned, or it was not a job of this construct)`,
        };
      case 'refused':
        return {
          ...common,
          status: 'SKIPPED',
          reason: `the escrow of training job ${jobName} was never created (its creation was refused: ${creation.error ?? 'no reason recorded'})`,
        };
      case 'unsettled':
        metrics.addMetric(METRIC.releasesWaiting, MetricUnit.Count, 1);
        logger.warn('release waits for its escrow', { ...common, creationState: creation.state });
        throw new CreationNotSettledError(creationKey, creation.state);
      case 'incomplete':
        return {
          ...common,
          status: 'INVALID',
          reason: `the escrow of training job ${jobName} was created, but its record has no escrow id or amount to release`,
        };
    }
    const { escrowId, amountUsdc } = creation;
    const action = escrowReleaseAction(runtime.api, runtime.reader, { escrowId, amountUsdc });
    const planned = { ...common, escrowId, amountUsdc, actionKey: action.actionKey };
    if (!settings.enabled) return { ...planned, status: 'SKIPPED', reason: 'disabled: the construct is switched off (enabled: false)' };
    if (settings.dryRun)
      return {
        ...planned,
        status: 'SKIPPED',
        reason: `dry run: would release escrow ${escrowId} (${amountUsdc} USDC) of training job ${jobName}`,
      };

    const report = await runtime.moneyPath.executeOnce(action, { deadline });
    if (report.apiLatencyMs !== undefined) metrics.addMetric(METRIC.apiLatency, MetricUnit.Milliseconds, report.apiLatencyMs);
    const releasedBefore = report.status === 'SUCCEEDED' && report.response?.released_before === true;
    if (releasedBefore && !report.repeated) metrics.addMetric(METRIC.escrowsAlreadyReleased, MetricUnit.Count, 1);
    if (report.status === 'SUCCEEDED' && !report.notified) {
      await announceOnce(runtime.ledger, action.actionKey, () => announceRelease({ ...planned, jobArn, releasedBefore }));
    }
    return {
      ...planned,
      status: report.status,
      releasedBefore: releasedBefore || undefined,
      repeated: report.repeated,
      reason: report.error,
    };
  }

  type Described = { readonly pkg: ModelPackageDescription } | { readonly reason: string };

  /** A package SageMaker does not know is bad input (no retry helps); any other failure is thrown, to be retried. */
  async function describeModelPackage(arn: string): Promise<Described> {
    const started = now();
    try {
      return { pkg: await deps.describeModelPackage(arn) };
    } catch (error) {
      const { name, message } = error as Error;
      if (name === 'ResourceNotFound' || (name === 'ValidationException' && /not (found|exist)/i.test(message))) {
        return { reason: `model package ${arn} was not found by DescribeModelPackage: ${message}` };
      }
      throw new Error(`DescribeModelPackage failed for ${arn}: ${name}: ${message}`, { cause: error });
    } finally {
      metrics.addMetric(METRIC.describeLatency, MetricUnit.Milliseconds, now() - started);
    }
  }

  async function announceRelease(detail: {
    modelPackageArn: string;
    jobName: string;
    jobArn: string;
    escrowActionKey: string;
    actionKey: string;
    escrowId: string;
    amountUsdc: number;
    releasedBefore: boolean;
  }): Promise<void> {
    await putOneEvent(
      deps.putEvents,
      {
        EventBusName: settings.eventBusName,
        Source: ESCROW_RELEASED_EVENT.source,
        DetailType: ESCROW_RELEASED_EVENT.detailType,
        Resources: [detail.modelPackageArn, detail.jobArn],
        Detail: JSON.stringify({
          escrow_id: detail.escrowId,
          amount_usdc: detail.amountUsdc,
          released_before: detail.releasedBefore,
          reason: settings.trigger === 'approval' ? 'model package approved' : `model package in lifecycle stage ${settings.stage}`,
          model_package_arn: detail.modelPackageArn,
          training_job: detail.jobName,
          training_job_arn: detail.jobArn,
          escrow_action_key: detail.escrowActionKey,
          action_key: detail.actionKey,
        }),
      },
      `the release of escrow ${detail.escrowId}`,
    );
  }

  return singleActionHandler<ReleaseResult>({
    logger,
    metrics,
    now,
    label: 'release',
    metricNames: TRAINING_BONUS_RELEASE_OUTCOME_METRICS,
    amountOf: (result) => result.amountUsdc,
    act: release,
  });
}
