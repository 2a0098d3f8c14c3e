/** Where a run's records are, as the triggers say it. */
export type RecordLocation =
  | { readonly kind: 'object'; readonly bucket: string; readonly key: string }
  | { readonly kind: 'prefix'; readonly bucket: string; readonly prefix: string }
  /** A transform job whose event lacks its output path: DescribeTransformJob has it. */
  | { readonly kind: 'transform-job'; readonly jobName: string };

export type ResolvedRecords =
  { readonly ok: true; readonly location: RecordLocation; readonly transformJob: string } | { readonly ok: false; readonly reason: string };

/**
 * Accepts the execution's input: `{bucket, key}` or `{bucket, prefix}` (a manual start), an S3
 * `Object Created` event, or a SageMaker `Transform Job State Change` event (every record object under
 * its `TransformOutput.S3OutputPath`).
 */
export function resolveRecords(input: unknown): ResolvedRecords {
  const value = (input ?? {}) as { [key: string]: any };
  if (typeof value.bucket === 'string' && value.bucket !== '') {
    if (typeof value.key === 'string' && value.key !== '')
      return { ok: true, location: { kind: 'object', bucket: value.bucket, key: value.key }, transformJob: '' };
    if (typeof value.prefix === 'string')
      return { ok: true, location: { kind: 'prefix', bucket: value.bucket, prefix: value.prefix }, transformJob: '' };
    return { ok: false, reason: 'a manual start needs {bucket, key} or {bucket, prefix}' };
  }
  if (value.source === 'aws.s3') {
    const bucket = value.detail?.bucket?.name;
    const key = value.detail?.object?.key;
    if (typeof bucket !== 'string' || typeof key !== 'string')
      return { ok: false, reason: 'the S3 event has no detail.bucket.name or detail.object.key' };
    return { ok: true, location: { kind: 'object', bucket, key }, transformJob: '' };
  }
  if (value.source === 'aws.sagemaker') {
    const jobName = value.detail?.TransformJobName;
    if (typeof jobName !== 'string' || jobName === '')
      return { ok: false, reason: 'the transform-job event has no detail.TransformJobName' };
    const outputPath = value.detail?.TransformOutput?.S3OutputPath;
    if (typeof outputPath !== 'string') return { ok: true, location: { kind: 'transform-job', jobName }, transformJob: jobName };
    return outputLocation(jobName, outputPath);
  }
  return {
    ok: false,
    reason:
      'the input is neither {bucket, key}, {bucket, prefix}, an S3 Object Created event, nor a SageMaker Transform Job State Change event',
  };
}

/** A transform job's output path, `s3://bucket/prefix`, as the prefix to read. */
export function outputLocation(jobName: string, outputPath: string): ResolvedRecords {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(outputPath);
  if (!match) return { ok: false, reason: `transform job ${jobName}'s output path is not an s3:// URI: ${outputPath}` };
  const prefix = match[2] === '' || match[2].endsWith('/') ? match[2] : `${match[2]}/`;
  return { ok: true, location: { kind: 'prefix', bucket: match[1], prefix }, transformJob: jobName };
}
