/** Where the scores are, as the three triggers say it. */
export type SourceLocation =
  | { readonly kind: 'object'; readonly bucket: string; readonly key: string }
  /** A processing job whose event lacks its outputs: DescribeProcessingJob has them. */
  | { readonly kind: 'processing-job'; readonly jobName: string };

export type ResolvedSource = { readonly ok: true; readonly location: SourceLocation } | { readonly ok: false; readonly reason: string };

export interface ProcessingOutputs {
  readonly Outputs?: readonly { readonly OutputName?: string; readonly S3Output?: { readonly S3Uri?: string } }[];
}

/**
 * Accepts the execution's input: `{bucket, key}` (a manual start), an S3 `Object Created` event, or a
 * SageMaker `Processing Job State Change` event (the scores file in the named output).
 */
export function resolveSource(input: unknown, processing: { readonly outputName: string; readonly fileName: string }): ResolvedSource {
  const value = (input ?? {}) as { [key: string]: any };
  if (typeof value.bucket === 'string' && typeof value.key === 'string') {
    return value.bucket && value.key
      ? { ok: true, location: { kind: 'object', bucket: value.bucket, key: value.key } }
      : { ok: false, reason: 'bucket and key must not be empty' };
  }
  if (value.source === 'aws.s3') {
    const bucket = value.detail?.bucket?.name;
    const key = value.detail?.object?.key;
    if (typeof bucket !== 'string' || typeof key !== 'string')
      return { ok: false, reason: 'the S3 event has no detail.bucket.name or detail.object.key' };
    return { ok: true, location: { kind: 'object', bucket, key } };
  }
  if (value.source === 'aws.sagemaker') {
    const jobName = value.detail?.ProcessingJobName;
    if (typeof jobName !== 'string' || jobName === '')
      return { ok: false, reason: 'the processing-job event has no detail.ProcessingJobName' };
    if (!value.detail?.ProcessingOutputConfig) return { ok: true, location: { kind: 'processing-job', jobName } };
    return scoresInOutputs(jobName, value.detail.ProcessingOutputConfig, processing);
  }
  return {
    ok: false,
    reason: 'the input is neither {bucket, key}, an S3 Object Created event, nor a SageMaker Processing Job State Change event',
  };
}

/** The scores file of a processing job: `<S3Uri of the named output>/<file name>`. */
export function scoresInOutputs(
  jobName: string,
  config: ProcessingOutputs,
  processing: { readonly outputName: string; readonly fileName: string },
): ResolvedSource {
  const output = config.Outputs?.find((candidate) => candidate.OutputName === processing.outputName);
  const uri = output?.S3Output?.S3Uri;
  if (!uri) {
    const names = (config.Outputs ?? []).map((candidate) => candidate.OutputName).join(', ') || 'none';
    return { ok: false, reason: `processing job ${jobName} has no S3 output named "${processing.outputName}" (it has: ${names})` };
  }
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) return { ok: false, reason: `processing job ${jobName}'s output "${processing.outputName}" is not an s3:// URI: ${uri}` };
  const prefix = match[2].replace(/\/+$/, '');
  return {
    ok: true,
    location: { kind: 'object', bucket: match[1], key: prefix === '' ? processing.fileName : `${prefix}/${processing.fileName}` },
  };
}
