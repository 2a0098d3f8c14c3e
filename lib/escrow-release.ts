import { DEFAULT_TRAINING_JOB_METADATA_KEY, ReleaseTrigger } from './private/contracts/training-bonus-release-env';
import { SAGEMAKER_NAME_RULE, isSageMakerNamePrefix, SAGEMAKER_NAME } from './private/patterns';
import { PropsValidator } from './private/validation';

/** Which model packages release a bonus: one group's, or those of the groups whose names start with a prefix. */
export interface ModelApprovalReleaseOptions {
  /**
   * The model package group whose packages release bonuses. Give it, or `modelPackageGroupNamePrefix`.
   * @default - none: give `modelPackageGroupNamePrefix`
   */
  readonly modelPackageGroupName?: string;

  /**
   * The packages of every group whose name starts with this release bonuses. Give it, or `modelPackageGroupName`.
   * @default - none: give `modelPackageGroupName`
   */
  readonly modelPackageGroupNamePrefix?: string;

  /**
   * The package's customer metadata property that names its training job (the job's name, or its ARN). A package
   * without it is linked by its first container's `ModelDataUrl` (`<output path>/<job name>/output/model.tar.gz`).
   * @default 'TrainingJobName'
   */
  readonly trainingJobMetadataKey?: string;
}

/** A lifecycle stage that releases bonuses, and the packages it applies to. */
export interface LifecycleStageReleaseOptions extends ModelApprovalReleaseOptions {
  /** The package's `ModelLifeCycle` stage that releases the bonus, e.g. `Production`. */
  readonly stage: string;
}

/**
 * When a {@link TrainingBonusEscrow} releases the bonus it escrowed: on a signal SageMaker gives about the model
 * trained by the job. A release is exactly once per escrow (the ledger's `v1:release:<escrow id>`), whatever the
 * number of signals: SageMaker may send a change more than once, and approving a second version of the same job's
 * model releases nothing more.
 *
 * @example
 * EscrowRelease.onModelApproval({ modelPackageGroupName: 'churn-models' })
 */
export class EscrowRelease {
  /**
   * Releases when a model package of the group is `Approved` (the `SageMaker Model Package State Change` event,
   * filtered in the rule; the handler reads the package again, so an old approval of a since-rejected package
   * releases nothing).
   */
  public static onModelApproval(options: ModelApprovalReleaseOptions): EscrowRelease {
    return new EscrowRelease('approval', 'EscrowRelease.onModelApproval()', options);
  }

  /**
   * Releases when a model package of the group reaches the lifecycle `stage` (the same event; the handler reads
   * the package's `ModelLifeCycle` with DescribeModelPackage, since the event does not carry it).
   */
  public static onLifecycleStage(options: LifecycleStageReleaseOptions): EscrowRelease {
    return new EscrowRelease('lifecycle-stage', 'EscrowRelease.onLifecycleStage()', options, options?.stage);
  }

  /** `approval` or `lifecycle-stage`. */
  public readonly trigger: string;
  /** The lifecycle stage that releases (`onLifecycleStage` only). */
  public readonly stage?: string;
  /** The group whose packages release. */
  public readonly modelPackageGroupName?: string;
  /** The prefix of the groups whose packages release. */
  public readonly modelPackageGroupNamePrefix?: string;
  /** The customer metadata property that names a package's training job. */
  public readonly trainingJobMetadataKey: string;

  private constructor(trigger: ReleaseTrigger, factory: string, options: ModelApprovalReleaseOptions | undefined, stage?: string) {
    const given = options ?? {};
    const v = new PropsValidator(factory);
    if (given.modelPackageGroupName === undefined && given.modelPackageGroupNamePrefix === undefined) {
      v.fail('modelPackageGroupName or modelPackageGroupNamePrefix is required: which packages release a bonus');
    }
    v.notBoth('modelPackageGroupName', given.modelPackageGroupName, 'modelPackageGroupNamePrefix', given.modelPackageGroupNamePrefix)
      .matches('modelPackageGroupName', given.modelPackageGroupName, SAGEMAKER_NAME, SAGEMAKER_NAME_RULE)
      .string(
        'modelPackageGroupNamePrefix',
        given.modelPackageGroupNamePrefix,
        isSageMakerNamePrefix,
        `${SAGEMAKER_NAME_RULE} (as the start of a name)`,
      )
      .string(
        'trainingJobMetadataKey',
        given.trainingJobMetadataKey,
        (key) => /^[a-zA-Z0-9_.:/=+\-@ ]{1,128}$/.test(key),
        'must be a customer metadata key: 1 to 128 letters, digits, spaces and _.:/=+-@',
      );
    if (trigger === 'lifecycle-stage')
      v.required('stage', stage).string(
        'stage',
        stage,
        (value) => value.trim().length > 0 && value.length <= 64,
        'must be a stage name of 1 to 64 characters',
      );
    v.throwIfInvalid();
    this.trigger = trigger;
    this.stage = stage;
    this.modelPackageGroupName = given.modelPackageGroupName;
    this.modelPackageGroupNamePrefix = given.modelPackageGroupNamePrefix;
    this.trainingJobMetadataKey = given.trainingJobMetadataKey ?? DEFAULT_TRAINING_JOB_METADATA_KEY;
  }
}
