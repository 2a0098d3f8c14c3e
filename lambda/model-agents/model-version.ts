/**
 * What the ModelAgents handler reads of SageMaker's events: the model version an agent is for (a completed training
 * job, or a model package of a watched group), by its ARN. Decisions without I/O.
 */
import type { ModelAgentsSettings } from '../../lib/private/contracts/model-agents-env';
import { MODEL_PACKAGE_STATE_CHANGE } from '../../lib/private/contracts/training-bonus-release-env';
import { TRAINING_JOB_STATE_CHANGE } from '../../lib/private/contracts/training-bonus-escrow-env';

export interface ModelVersion {
  readonly kind: 'training-job' | 'model-package';
  /** The ARN as SageMaker writes it (names in lower case): the agent's ledger key, and its secret's name. */
  readonly arn: string;
  /** The job's name as given, or `<group>/<version>`: for logs and the event. */
  readonly name: string;
}

export type Parsed =
  { readonly ok: true; readonly version: ModelVersion } | { readonly ok: false; readonly skip: boolean; readonly reason: string };

const TRAINING_JOB_ARN = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:training-job\/[a-z0-9-]{1,63}$/;
const MODEL_PACKAGE_ARN = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package\/[a-z0-9-]{1,63}\/\d+$/;

/**
 * A completed training job the settings watch, or a model package of a watched group (any state change: the first one
 * seen registers, the ledger makes the rest repeats). `skip` is for events of other jobs, groups or states (the rule
 * filters them; a hand-sent event may not be): SKIPPED, not INVALID.
 */
export function parseModelVersionEvent(event: unknown, settings: ModelAgentsSettings): Parsed {
  const detailType = (event as { 'detail-type'?: unknown } | null)?.['detail-type'];
  const detail = (event as { detail?: unknown } | null)?.detail;
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
    return {
      ok: false,
      skip: false,
      reason: 'the event has no detail object (expected a SageMaker training job or model package state change)',
    };
  }
  const fields = detail as { [key: string]: unknown };
  if (detailType === TRAINING_JOB_STATE_CHANGE.detailType) return trainingJob(fields, settings);
  if (detailType === MODEL_PACKAGE_STATE_CHANGE.detailType) return modelPackage(fields, settings);
  return {
    ok: false,
    skip: false,
    reason: `the event's detail-type must be a SageMaker training job or model package state change, got ${JSON.stringify(detailType) ?? 'nothing'}`,
  };
}

function trainingJob(detail: { [key: string]: unknown }, settings: ModelAgentsSettings): Parsed {
  const { TrainingJobName: name, TrainingJobArn: arn, TrainingJobStatus: status } = detail;
  if (!settings.trainingJobs) return { ok: false, skip: true, reason: 'this ModelAgents registers no training jobs' };
  if (typeof name !== 'string' || typeof arn !== 'string' || !TRAINING_JOB_ARN.test(arn) || !arn.endsWith(`/${name.toLowerCase()}`)) {
    return {
      ok: false,
      skip: false,
      reason: `the event's detail must name a training job (TrainingJobName) and its ARN (TrainingJobArn), got ${JSON.stringify(name) ?? 'nothing'} and ${JSON.stringify(arn) ?? 'nothing'}`,
    };
  }
  if (status !== TRAINING_JOB_STATE_CHANGE.completedStatus) {
    return { ok: false, skip: true, reason: `training job ${name} is ${JSON.stringify(status) ?? 'of no status'}, not Completed` };
  }
  if (settings.trainingJobNamePrefix !== undefined && !name.startsWith(settings.trainingJobNamePrefix)) {
    return { ok: false, skip: true, reason: `training job ${name} does not start with ${JSON.stringify(settings.trainingJobNamePrefix)}` };
  }
  return { ok: true, version: { kind: 'training-job', arn, name } };
}

function modelPackage(detail: { [key: string]: unknown }, settings: ModelAgentsSettings): Parsed {
  const { ModelPackageArn: arn, ModelPackageGroupName: group } = detail;
  if (settings.modelPackageGroupName === undefined && settings.modelPackageGroupNamePrefix === undefined) {
    return { ok: false, skip: true, reason: 'this ModelAgents registers no model packages' };
  }
  if (typeof arn !== 'string' || !MODEL_PACKAGE_ARN.test(arn) || typeof group !== 'string') {
    return {
      ok: false,
      skip: false,
      reason: `the event's detail must name a versioned model package (ModelPackageArn) and its group (ModelPackageGroupName), got ${JSON.stringify(arn) ?? 'nothing'} and ${JSON.stringify(group) ?? 'nothing'}`,
    };
  }
  const watched =
    settings.modelPackageGroupName !== undefined
      ? group === settings.modelPackageGroupName
      : group.startsWith(settings.modelPackageGroupNamePrefix!);
  if (!watched || !arn.includes(`:model-package/${group.toLowerCase()}/`)) {
    return { ok: false, skip: true, reason: `model package ${arn} is not of a group this ModelAgents registers` };
  }
  return { ok: true, version: { kind: 'model-package', arn, name: `${group}/${arn.slice(arn.lastIndexOf('/') + 1)}` } };
}
