/** What the handler needs of a `SageMaker Training Job State Change` event. */
export interface TrainingJobEvent {
  readonly jobName: string;
  /** Present in SageMaker's events; DescribeTrainingJob has it too. */
  readonly jobArn?: string;
  readonly status: string;
  readonly tags: { readonly [key: string]: string };
}

export type ParsedTrainingJobEvent =
  { readonly ok: true; readonly event: TrainingJobEvent } | { readonly ok: false; readonly reason: string };

export function parseTrainingJobEvent(event: unknown): ParsedTrainingJobEvent {
  const detail = (event as { detail?: unknown } | null)?.detail;
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
    return { ok: false, reason: 'the event has no detail object (expected a SageMaker Training Job State Change event)' };
  }
  const { TrainingJobName, TrainingJobArn, TrainingJobStatus, Tags } = detail as { [key: string]: unknown };
  if (typeof TrainingJobName !== 'string' || TrainingJobName === '') {
    return {
      ok: false,
      reason: `the event's detail.TrainingJobName must be a non-empty string, got ${JSON.stringify(TrainingJobName) ?? 'nothing'}`,
    };
  }
  if (typeof TrainingJobStatus !== 'string') {
    return {
      ok: false,
      reason: `the event's detail.TrainingJobStatus must be a string, got ${JSON.stringify(TrainingJobStatus) ?? 'nothing'} (job ${TrainingJobName})`,
    };
  }
  return {
    ok: true,
    event: {
      jobName: TrainingJobName,
      jobArn: typeof TrainingJobArn === 'string' && TrainingJobArn !== '' ? TrainingJobArn : undefined,
      status: TrainingJobStatus,
      tags: readTags(Tags),
    },
  };
}

/** SageMaker's events carry tags as a map; tolerate the API's [{Key, Value}] list too. */
function readTags(tags: unknown): { [key: string]: string } {
  const out: { [key: string]: string } = {};
  if (Array.isArray(tags)) {
    for (const tag of tags) {
      const { Key, Value } = (tag ?? {}) as { Key?: unknown; Value?: unknown };
      if (typeof Key === 'string' && typeof Value === 'string') out[Key] = Value;
    }
  } else if (tags !== null && typeof tags === 'object') {
    for (const [key, value] of Object.entries(tags)) if (typeof value === 'string') out[key] = value;
  }
  return out;
}
