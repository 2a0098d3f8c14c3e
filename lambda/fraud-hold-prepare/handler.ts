import { Readable } from 'node:stream';
import type { Logger } from '@aws-lambda-powertools/logger';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DescribeTransformJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { PrepareEvent, PreparedRun } from '../../lib/private/contracts/batch-engine';
import { FraudHoldPrepareSettings, HOLD_COLUMNS } from '../../lib/private/contracts/fraud-hold-env';
import { prepareRun } from '../shared/batch/prepare-run';
import { openObject } from '../shared/batch/run-folder';
import { holdRowRules, RecordStream, streamHoldRecords } from './hold-records';
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

/** A record object of the run, and its size when the listing said it. */
interface RecordKey {
  readonly key: string;
  readonly size?: number;
}

/**
 * Objects up to this size are read whole, up to OBJECTS_AHEAD of them ahead of their turn (a transform job's
 * many small `.out` files, without a round trip each in turn); a larger one is streamed when its turn comes.
 * So at most OBJECTS_AHEAD MiB wait in memory.
 */
const SMALL_OBJECT_BYTES = 1024 * 1024;
const OBJECTS_AHEAD = 8;

/**
 * Prepare (FraudHoldEscrow): streams the run's record objects twice, in key order (their repeated
 * transaction ids, then every record decided: hold-records.ts, prepare-run.ts), writing the run folder as it
 * goes. Fails the execution, holding nothing, when the objects cannot be read as records, one changes
 * between the two readings, or the run's total is over the cap.
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
  async function recordKeys(location: ReadableLocation): Promise<RecordKey[]> {
    const keys = location.kind === 'object' ? [{ key: location.key }] : await listRecordKeys(location.bucket, location.prefix);
    if (keys.length === 0) {
      throw new Error(
        `no record objects (ending in "${settings.objectSuffix}") under s3://${location.bucket}/${location.kind === 'prefix' ? location.prefix : ''}`,
      );
    }
    return keys;
  }

  async function listRecordKeys(bucket: string, prefix: string): Promise<RecordKey[]> {
    const keys: RecordKey[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (object.Key && object.Key.endsWith(settings.objectSuffix) && !object.Key.endsWith('/'))
          keys.push({ key: object.Key, size: object.Size });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * The run's objects in key order, each read with the ETag its first reading saw (`etags`, filled by the
   * first reading): small ones whole and ahead of their turn, large ones streamed in turn.
   */
  async function* recordObjects(bucket: string, keys: readonly RecordKey[], etags: Map<string, string>): AsyncGenerator<RecordStream> {
    const open = async (key: string, whole: boolean): Promise<RecordStream> => {
      const object = await openObject(s3, bucket, key, etags.get(key));
      if (!etags.has(key)) etags.set(key, object.etag);
      if (!whole) return { key, etag: object.etag, body: object.body };
      const chunks: Buffer[] = [];
      for await (const chunk of object.body) chunks.push(chunk as Buffer);
      return { key, etag: object.etag, body: Readable.from([Buffer.concat(chunks)]) };
    };
    const small = (index: number) => (keys[index].size ?? Infinity) <= SMALL_OBJECT_BYTES;
    const ahead = new Map<number, Promise<RecordStream>>();
    for (let index = 0; index < keys.length; index++) {
      for (let next = index; next < Math.min(keys.length, index + OBJECTS_AHEAD); next++) {
        if (ahead.has(next) || !small(next)) continue;
        const reading = open(keys[next].key, true);
        // Its failure is seen when its turn comes (or not at all, when an earlier failure ends the run).
        reading.catch(() => undefined);
        ahead.set(next, reading);
      }
      const current = ahead.get(index) ?? open(keys[index].key, false);
      ahead.delete(index);
      yield await current;
    }
  }

  return async (event: PrepareEvent): Promise<PreparedRun> => {
    logger.appendKeys({ runId: event.runId });
    try {
      if (!settings.enabled) throw new Error('FraudHoldEscrow is disabled (enabled: false): nothing is held');
      const { location, transformJob } = await locateRecords(event.input);
      const keys = await recordKeys(location);
      // Each object's ETag from the first reading (it is in the action key of a record without an id); the second must read the same.
      const etags = new Map<string, string>();
      // One object names itself; several are named by their prefix (each row names its own object too).
      const source = () =>
        keys.length === 1
          ? { bucket: location.bucket, key: keys[0].key, etag: etags.get(keys[0].key)! }
          : { bucket: location.bucket, key: location.kind === 'prefix' ? location.prefix : location.key, etag: '' };
      const { rowCount, ...prepared } = await prepareRun(
        s3,
        { bucket: settings.outputBucket, prefix: settings.outputPrefix, maxBatchTotalUsdc: settings.maxBatchTotalUsdc },
        {
          runId: event.runId,
          rules: holdRowRules(settings, transformJob),
          columns: HOLD_COLUMNS,
          read: () => streamHoldRecords(recordObjects(location.bucket, keys, etags), settings),
          source,
        },
      );
      logger.info('prepared', {
        source: prepared.source,
        objects: keys.length,
        rows: rowCount,
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
