/**
 * Drives a batch run locally the way the state machine does (there is no Step Functions here):
 * Prepare, then the Distributed Map's reading of `input.csv` (the model of its CSV reader in
 * test/support/step-functions-csv.ts) and batching into Act invocations (bounded like maxConcurrency),
 * then the ResultWriter's manifest and result files, then Summarize.
 */
import { mapWithConcurrency } from '../../lambda/shared/batch/rate-limiter';
import { readRunLog } from '../../lambda/shared/batch/run-log';
import { BatchInput, ActBatchEvent, PreparedRun, RUN_FILES } from '../../lib/private/contracts/batch-engine';
import { FakeS3 } from '../support/fake-s3';
import { readCsvAsStepFunctions } from '../support/step-functions-csv';
import { lambdaContext } from './handler-harness';

type Handler<E, R> = (event: E, context: unknown) => Promise<R>;

export interface BatchHandlers {
  readonly prepare: Handler<unknown, PreparedRun>;
  readonly act: Handler<any, unknown>;
  readonly summarize: Handler<unknown, { log: string; summary: string }>;
}

export interface DriveOptions {
  readonly itemsPerBatch?: number;
  readonly maxConcurrency?: number;
  /** The log Summarize writes into the run folder (its name is checked). */
  readonly logFile?: string;
}

export interface ChildExecutionResult {
  readonly Status: 'SUCCEEDED' | 'FAILED';
  readonly Input: string;
  readonly Output?: string;
  readonly Error?: string;
}

export async function driveRun(s3: FakeS3, handlers: BatchHandlers, runId: string, input: unknown, options: DriveOptions = {}) {
  const prepared = await handlers.prepare({ runId, input }, lambdaContext(300_000));
  const { bucket } = prepared.runFolder;
  // The Map's CSV reader, as AWS documents it (a model that refuses what the documentation leaves open).
  const items = readCsvAsStepFunctions(s3.getObject(bucket, prepared.inputKey)!) as unknown as ActBatchEvent['Items'];

  const batchInput: BatchInput = {
    runId,
    sourceBucket: prepared.source.bucket,
    sourceKey: prepared.source.key,
    sourceEtag: prepared.source.etag,
  };
  const size = options.itemsPerBatch ?? 100;
  const batches: ActBatchEvent[] = [];
  for (let start = 0; start < items.length; start += size)
    batches.push({ Items: items.slice(start, start + size), BatchInput: batchInput });

  const children = await mapWithConcurrency(batches, options.maxConcurrency ?? 10, async (batch): Promise<ChildExecutionResult> => {
    try {
      const output = await handlers.act(batch, lambdaContext(300_000));
      return { Status: 'SUCCEEDED', Input: JSON.stringify(batch), Output: JSON.stringify(output) };
    } catch (error) {
      return { Status: 'FAILED', Input: JSON.stringify(batch), Error: (error as Error).message };
    }
  });

  // What the ResultWriter leaves: result files per status and a manifest naming them.
  const resultsPrefix = `${prepared.runFolder.prefix}/${RUN_FILES.mapResults}/${runId}-map-run`;
  const resultFiles: { [status: string]: { Key: string; Size: number }[] } = { FAILED: [], PENDING: [], SUCCEEDED: [] };
  for (const status of ['SUCCEEDED', 'FAILED'] as const) {
    const ofStatus = children.filter((child) => child.Status === status);
    if (ofStatus.length === 0) continue;
    const key = `${resultsPrefix}/${status}_0.json`;
    const body = JSON.stringify(ofStatus);
    s3.putObject(bucket, key, body);
    resultFiles[status].push({ Key: key, Size: body.length });
  }
  const manifestKey = `${resultsPrefix}/manifest.json`;
  s3.putObject(
    bucket,
    manifestKey,
    JSON.stringify({
      DestinationBucket: bucket,
      MapRunArn: `arn:aws:states:us-east-1:123456789012:mapRun:x/${runId}`,
      ResultFiles: resultFiles,
    }),
  );

  const summary = await handlers.summarize(
    { ...prepared, mapResult: { ResultWriterDetails: { Bucket: bucket, Key: manifestKey } } },
    lambdaContext(300_000),
  );
  // The JSON Lines log and its summary, read whole (rows in line order): the shape of 0.1.0's payout_log.json.
  if (options.logFile !== undefined && !summary.log.endsWith(`/${options.logFile}`))
    throw new Error(`Summarize wrote ${summary.log}, not ${options.logFile}`);
  const read = (uri: string) => {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)!;
    return s3.getObject(match[1], match[2])!.toString('utf8');
  };
  const log = readRunLog({ log: read(summary.log), summary: read(summary.summary) }) as any;
  return { prepared, children, summary, log };
}
