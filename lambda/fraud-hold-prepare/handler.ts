import type { Logger } from '@aws-lambda-powertools/logger';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DescribeTransformJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { PrepareEvent, PreparedRun } from '../../lib/private/contracts/batch-engine';
import { FraudHoldPrepareSettings, HOLD_COLUMNS } from '../../lib/private/contracts/fraud-hold-env';
import { writePreparedRun } from '../shared/batch/prepare-run';
import { mapWithConcurrency } from '../shared/batch/rate-limiter';
import { readObject } from '../shared/batch/run-folder';
import { decideHolds, RecordObject } from './hold-records';
import { outputLocation, RecordLocation, resolveRecords } from './record-sources';

export interface FraudHoldPrepareDeps {
  readonly settings: FraudHoldPrepareSettings;
  /** Lists and reads the record objects; writes the run folder. */
  readonly s3: S3Client;
  /** Describes a transform job whose event lacks its output path. */
  readonly sagemaker: SageMakerClient;
  readonly logger: Logger;
}

type ReadableLocation = Exclude<RecordLocation, { kind: 'transform-job' }>;

/**
 * Prepare (FraudHoldEscrow): reads every record object of the run once, decides every record
 * (hold-records.ts), and writes the run folder. Fails the execution, holding nothing, when the objects
 * cannot be read as records or the run's total is over the cap.
 */
export function createFraudHoldPrepareHandler(deps: FraudHoldPrepareDeps) {
  const { settings, s3, sagemaker, logger } = deps;

  async function locateRecords(input: unknown): Promise<{ location: ReadableLocation; transformJob: string }> {
    let resolved = resolveRecords(input);
    if (resolved.ok && resolved.location.kind === 'transform-job') {
      const job = await sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: resolved.location.jobName }));
      const path = job.TransformOutput?.S3OutputPath;
      resolved = path
        ? outputLocation(resolved.location.jobName, path)
        : { ok: false, reason: `transform job ${resolved.location.jobName} has no TransformOutput.S3OutputPath` };
    }
    if (!resolved.ok) throw new Error(`cannot tell which records to read: ${resolved.reason}`);
    if (resolved.location.kind === 'transform-job') throw new Error('cannot tell which records to read');
    return { location: resolved.location, transformJob: resolved.transformJob };
  }

  /** The object, or every object under the prefix that ends in the record suffix, in key order. */
  async function readRecordObjects(location: ReadableLocation): Promise<RecordObject[]> {
    const keys = location.kind === 'object' ? [location.key] : await listRecordKeys(location.bucket, location.prefix);
    if (keys.length === 0) {
      throw new Error(
        `no record objects (ending in "${settings.objectSuffix}") under s3://${location.bucket}/${location.kind === 'prefix' ? location.prefix : ''}`,
      );
    }
    return mapWithConcurrency(keys, 8, async (key) => ({ key, ...(await readObject(s3, location.bucket, key)) }));
  }

  async function listRecordKeys(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (object.Key && object.Key.endsWith(settings.objectSuffix) && !object.Key.endsWith('/')) keys.push(object.Key);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  return async (event: PrepareEvent): Promise<PreparedRun> => {
    logger.appendKeys({ runId: event.runId });
    try {
      if (!settings.enabled) throw new Error('FraudHoldEscrow is disabled (enabled: false): nothing is held');
      const { location, transformJob } = await locateRecords(event.input);
      const objects = await readRecordObjects(location);
      const decided = decideHolds(objects, settings, transformJob);
      // One object names itself; several are named by their prefix (each row names its own object too).
      const source =
        objects.length === 1
          ? { bucket: location.bucket, key: objects[0].key, etag: objects[0].etag }
          : { bucket: location.bucket, key: location.kind === 'prefix' ? location.prefix : location.key, etag: '' };
      const prepared = await writePreparedRun(
        s3,
        { bucket: settings.outputBucket, prefix: settings.outputPrefix, maxBatchTotalUsdc: settings.maxBatchTotalUsdc },
        { runId: event.runId, source, ...decided },
        HOLD_COLUMNS,
      );
      logger.info('prepared', {
        source,
        objects: objects.length,
        rows: decided.rowCount,
        holds: prepared.rowsToAct,
        totalUsdc: prepared.totalToActUsdc,
      });
      return prepared;
    } catch (error) {
      logger.error('prepare FAILED: nothing is held', { reason: (error as Error).message });
      throw error;
    } finally {
      logger.resetKeys();
    }
  };
}
