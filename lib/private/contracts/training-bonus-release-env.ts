import { compactEnvironment, Environment, EnvironmentReader } from './env-reader';
import type { OutcomeMetricNames } from './outcome-metrics';

/** What releases a bonus escrow: the package's approval, or its lifecycle stage (issue 14, EscrowRelease). */
export const RELEASE_TRIGGERS = ['approval', 'lifecycle-stage'] as const;
export type ReleaseTrigger = (typeof RELEASE_TRIGGERS)[number];

/** Everything the TrainingBonusEscrow release handler is told by its construct, besides the connection. */
export interface TrainingBonusReleaseSettings {
  readonly trigger: ReleaseTrigger;
  /** The lifecycle stage that releases (`lifecycle-stage` only), e.g. `Production`. */
  readonly stage?: string;
  /** The model package group whose packages release (exactly one of name and prefix). */
  readonly modelPackageGroupName?: string;
  readonly modelPackageGroupNamePrefix?: string;
  /** The package's customer metadata property naming its training job (a name or an ARN). */
  readonly trainingJobMetadataKey: string;
  /** Name or ARN of the bus that gets `Purple Flea Escrow Released`. */
  readonly eventBusName: string;
  readonly dryRun: boolean;
  readonly enabled: boolean;
}

export const TRAINING_BONUS_RELEASE_ENV = {
  trigger: 'RELEASE_TRIGGER',
  stage: 'RELEASE_STAGE',
  modelPackageGroupName: 'MODEL_PACKAGE_GROUP_NAME',
  modelPackageGroupNamePrefix: 'MODEL_PACKAGE_GROUP_NAME_PREFIX',
  trainingJobMetadataKey: 'TRAINING_JOB_METADATA_KEY',
  eventBusName: 'EVENT_BUS_NAME',
  dryRun: 'DRY_RUN',
  enabled: 'ENABLED',
} as const;

export function trainingBonusReleaseEnvironment(settings: TrainingBonusReleaseSettings): { [name: string]: string } {
  const env = TRAINING_BONUS_RELEASE_ENV;
  return compactEnvironment({
    [env.trigger]: settings.trigger,
    [env.stage]: settings.stage,
    [env.modelPackageGroupName]: settings.modelPackageGroupName,
    [env.modelPackageGroupNamePrefix]: settings.modelPackageGroupNamePrefix,
    [env.trainingJobMetadataKey]: settings.trainingJobMetadataKey,
    [env.eventBusName]: settings.eventBusName,
    [env.dryRun]: String(settings.dryRun),
    [env.enabled]: String(settings.enabled),
  });
}

export function readTrainingBonusReleaseSettings(env: Environment): TrainingBonusReleaseSettings {
  const read = new EnvironmentReader(env, 'TrainingBonusEscrow release');
  const names = TRAINING_BONUS_RELEASE_ENV;
  const trigger = read.oneOf(names.trigger, RELEASE_TRIGGERS);
  const modelPackageGroupName = read.optionalString(names.modelPackageGroupName);
  const modelPackageGroupNamePrefix = read.optionalString(names.modelPackageGroupNamePrefix);
  if ((modelPackageGroupName === undefined) === (modelPackageGroupNamePrefix === undefined)) {
    throw new Error(
      `TrainingBonusEscrow release: exactly one of the environment variables ${names.modelPackageGroupName} and ${names.modelPackageGroupNamePrefix} must be set`,
    );
  }
  return {
    trigger,
    stage: trigger === 'lifecycle-stage' ? read.string(names.stage) : undefined,
    modelPackageGroupName,
    modelPackageGroupNamePrefix,
    trainingJobMetadataKey: read.string(names.trainingJobMetadataKey),
    eventBusName: read.string(names.eventBusName),
    dryRun: read.boolean(names.dryRun),
    enabled: read.boolean(names.enabled),
  };
}

/** The EMF metrics the release handler emits and the construct alarms on and shows. */
export const TRAINING_BONUS_RELEASE_METRICS = {
  namespace: 'PurpleFlea/SageMaker',
  serviceName: 'training-bonus-release',
  functionNameDimension: 'FunctionName',
  escrowsReleased: 'EscrowsReleased',
  /** Of the released: found released already (a lost answer's earlier attempt, or by hand), read back after a 409. */
  escrowsAlreadyReleased: 'EscrowsAlreadyReleased',
  releasesSkipped: 'ReleasesSkipped',
  releasesInvalid: 'ReleasesInvalid',
  releasesRejected: 'ReleasesRejected',
  releasesUnknown: 'ReleasesUnknown',
  /** An approval whose escrow's creation is not settled (UNKNOWN or in progress): retried, never guessed. */
  releasesWaiting: 'ReleasesWaiting',
  releasedUsdc: 'ReleasedUsdc',
  describeLatency: 'DescribeModelPackageLatency',
  apiLatency: 'ApiLatency',
} as const;

export const TRAINING_BONUS_RELEASE_OUTCOME_METRICS: OutcomeMetricNames = {
  succeeded: TRAINING_BONUS_RELEASE_METRICS.escrowsReleased,
  skipped: TRAINING_BONUS_RELEASE_METRICS.releasesSkipped,
  invalid: TRAINING_BONUS_RELEASE_METRICS.releasesInvalid,
  rejected: TRAINING_BONUS_RELEASE_METRICS.releasesRejected,
  unknown: TRAINING_BONUS_RELEASE_METRICS.releasesUnknown,
  amount: TRAINING_BONUS_RELEASE_METRICS.releasedUsdc,
};

/** SageMaker's model package state-change event, as the rule matches it. */
export const MODEL_PACKAGE_STATE_CHANGE = {
  source: 'aws.sagemaker',
  detailType: 'SageMaker Model Package State Change',
  approvedStatus: 'Approved',
} as const;

/** The customer metadata property naming a package's training job, unless the construct says otherwise. */
export const DEFAULT_TRAINING_JOB_METADATA_KEY = 'TrainingJobName';

/** Which of TRAINING_BONUS_RELEASE_METRICS the dashboard shows as what (lib/private/money-action-monitoring.ts). */
export const TRAINING_BONUS_RELEASE_DASHBOARD_METRICS = {
  released: TRAINING_BONUS_RELEASE_METRICS.escrowsReleased,
  alreadyReleased: TRAINING_BONUS_RELEASE_METRICS.escrowsAlreadyReleased,
  refused: TRAINING_BONUS_RELEASE_METRICS.releasesRejected,
  unknown: TRAINING_BONUS_RELEASE_METRICS.releasesUnknown,
  waiting: TRAINING_BONUS_RELEASE_METRICS.releasesWaiting,
  releasedUsdc: TRAINING_BONUS_RELEASE_METRICS.releasedUsdc,
} as const;
