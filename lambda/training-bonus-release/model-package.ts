/**
 * What the release handler reads of a `SageMaker Model Package State Change` event and of DescribeModelPackage,
 * and how it finds the training job behind a package.
 */
import type { DescribeModelPackageCommandOutput } from '@aws-sdk/client-sagemaker';

/** What the handler needs of the event. SageMaker may send one change more than once, and sends no previous status. */
export interface ModelPackageEvent {
  readonly modelPackageArn: string;
  readonly groupName?: string;
  readonly approvalStatus?: string;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export function parseModelPackageEvent(event: unknown): Parsed<ModelPackageEvent> {
  const detail = (event as { detail?: unknown } | null)?.detail;
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
    return { ok: false, reason: 'the event has no detail object (expected a SageMaker Model Package State Change event)' };
  }
  const { ModelPackageArn, ModelPackageGroupName, ModelApprovalStatus } = detail as { [key: string]: unknown };
  if (typeof ModelPackageArn !== 'string' || !MODEL_PACKAGE_ARN.test(ModelPackageArn)) {
    return {
      ok: false,
      reason: `the event's detail.ModelPackageArn must be a model package ARN, got ${JSON.stringify(ModelPackageArn) ?? 'nothing'}`,
    };
  }
  return {
    ok: true,
    value: {
      modelPackageArn: ModelPackageArn,
      groupName: typeof ModelPackageGroupName === 'string' ? ModelPackageGroupName : undefined,
      approvalStatus: typeof ModelApprovalStatus === 'string' ? ModelApprovalStatus : undefined,
    },
  };
}

/** `arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version>` (or an unversioned package's name). */
const MODEL_PACKAGE_ARN = /^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):(\d{12}):model-package\/(.+)$/;
const TRAINING_JOB_ARN = /^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):(\d{12}):training-job\/([a-zA-Z0-9-]{1,63})$/;
const TRAINING_JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
/** SageMaker writes a job's model to `<output path>/<job name>/output/model.tar.gz`. */
const MODEL_DATA_URL = /^s3:\/\/.+\/([^/]+)\/output\/model\.tar\.gz$/;

/** What the handler reads of DescribeModelPackage's answer. */
export type ModelPackageDescription = Pick<
  DescribeModelPackageCommandOutput,
  | 'ModelPackageArn'
  | 'ModelPackageGroupName'
  | 'ModelApprovalStatus'
  | 'CustomerMetadataProperties'
  | 'InferenceSpecification'
  | 'ModelLifeCycle'
>;

/** The training job behind a package: its name and its ARN (as SageMaker writes it: the name in lower case). */
export interface TrainingJobLink {
  readonly jobName: string;
  readonly jobArn: string;
  /** Where it was found, for the log. */
  readonly from: string;
}

/**
 * The package's training job: the customer metadata property `metadataKey` (a job name, or a training job ARN),
 * else the job name in the first container's `ModelDataUrl`. Its ARN is built in the package's partition, region and
 * account (an ARN given in the metadata is taken as it is, its name lower-cased as SageMaker writes it).
 */
export function trainingJobOf(packageArn: string, description: ModelPackageDescription, metadataKey: string): Parsed<TrainingJobLink> {
  const [, partition, region, account] = MODEL_PACKAGE_ARN.exec(packageArn) ?? [];
  const arnOf = (name: string) => `arn:${partition}:sagemaker:${region}:${account}:training-job/${name.toLowerCase()}`;
  const named = description.CustomerMetadataProperties?.[metadataKey];
  if (named !== undefined) {
    const asArn = TRAINING_JOB_ARN.exec(named);
    if (asArn) {
      const [, p, r, a, name] = asArn;
      return {
        ok: true,
        value: {
          jobName: name,
          jobArn: `arn:${p}:sagemaker:${r}:${a}:training-job/${name.toLowerCase()}`,
          from: `metadata ${metadataKey}`,
        },
      };
    }
    if (TRAINING_JOB_NAME.test(named))
      return { ok: true, value: { jobName: named, jobArn: arnOf(named), from: `metadata ${metadataKey}` } };
    return {
      ok: false,
      reason: `the package's customer metadata ${metadataKey} must be a training job name or ARN, got ${JSON.stringify(named)}`,
    };
  }
  const url = description.InferenceSpecification?.Containers?.[0]?.ModelDataUrl;
  const fromUrl = url === undefined ? undefined : MODEL_DATA_URL.exec(url)?.[1];
  if (fromUrl !== undefined && TRAINING_JOB_NAME.test(fromUrl)) {
    return { ok: true, value: { jobName: fromUrl, jobArn: arnOf(fromUrl), from: "the first container's ModelDataUrl" } };
  }
  return {
    ok: false,
    reason:
      `the package names no training job: no customer metadata ${metadataKey}, and ` +
      (url === undefined
        ? 'no ModelDataUrl in its first container'
        : `its ModelDataUrl ${JSON.stringify(url)} is not <output path>/<job name>/output/model.tar.gz`),
  };
}

/** Whether a package group is one the construct releases for: its name, or a name with its prefix. */
export function groupMatches(
  group: string | undefined,
  settings: { modelPackageGroupName?: string; modelPackageGroupNamePrefix?: string },
): boolean {
  if (group === undefined) return false;
  if (settings.modelPackageGroupName !== undefined) return group === settings.modelPackageGroupName;
  return settings.modelPackageGroupNamePrefix !== undefined && group.startsWith(settings.modelPackageGroupNamePrefix);
}
