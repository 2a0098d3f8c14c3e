import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import { DescribeProcessingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { PAYOUT_COLUMNS, PrepareEvent, PreparedRun } from '../../lib/private/contracts/batch-engine';
import type { BatchPayoutPrepareSettings } from '../../lib/private/contracts/batch-payout-env';
import { prepareRun } from '../shared/batch/prepare-run';
import { openObject } from '../shared/batch/run-folder';
import { scoreRowRules, streamScoreRows } from './score-rows';
import { resolveSource, scoresInOutputs, SourceLocation } from './source-object';

export interface BatchPayoutPrepareDeps {
  readonly settings: BatchPayoutPrepareSettings;
  /** Reads the scores file; writes the run folder. */
  readonly s3: S3Client;
  /** Describes a processing job whose event lacks its outputs. */
  readonly sagemaker: SageMakerClient;
  readonly logger: Logger;
}

/**
 * Prepare: streams the scores file twice (its repeated agent ids, then every row decided: score-rows.ts,
 * prepare-run.ts), writing the run folder as it goes: `input.csv` (the rows to pay, for the Map) and
 * `prepare_report.json` (the rows not paid, and why). Fails the execution, paying no one, when the file
 * cannot be read as scores, changes between the two readings, or its total is over the cap.
 */
export function createBatchPayoutPrepareHandler(deps: BatchPayoutPrepareDeps) {
  const { settings, s3, sagemaker, logger } = deps;

  async function locateScores(input: unknown): Promise<Extract<SourceLocation, { kind: 'object' }>> {
    const processing = { outputName: settings.processingOutputName, fileName: settings.processingFileName };
    let resolved = resolveSource(input, processing);
    if (resolved.ok && resolved.location.kind === 'processing-job') {
      const job = await sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: resolved.location.jobName }));
      resolved = scoresInOutputs(resolved.location.jobName, job.ProcessingOutputConfig ?? {}, processing);
    }
    if (!resolved.ok) throw new Error(`cannot tell which scores file to read: ${resolved.reason}`);
    if (resolved.location.kind !== 'object') throw new Error('cannot tell which scores file to read');
    return resolved.location;
  }

  return async (event: PrepareEvent): Promise<PreparedRun> => {
    logger.appendKeys({ runId: event.runId });
    try {
      if (!settings.enabled) throw new Error('BatchPayout is disabled (enabled: false): nothing is paid');
      const location = await locateScores(event.input);
      // The first reading's ETag names the content (it is in every action key); the second must read the same.
      let etag: string | undefined;
      const { rowCount, ...prepared } = await prepareRun(
        s3,
        { bucket: settings.outputBucket, prefix: settings.outputPrefix, maxBatchTotalUsdc: settings.maxBatchTotalUsdc },
        {
          runId: event.runId,
          rules: scoreRowRules(settings),
          columns: PAYOUT_COLUMNS,
          read: async function* () {
            const object = await openObject(s3, location.bucket, location.key, etag);
            etag ??= object.etag;
            yield* streamScoreRows(object.body, settings);
          },
          source: () => ({ bucket: location.bucket, key: location.key, etag: etag! }),
        },
      );
      logger.info('prepared', {
        source: prepared.source,
        rows: rowCount,
        rowsToAct: prepared.rowsToAct,
        totalToActUsdc: prepared.totalToActUsdc,
      });
      return prepared;
    } catch (error) {
      logger.error('prepare FAILED: nothing is paid', { reason: (error as Error).message });
      throw error;
    } finally {
      logger.resetKeys();
    }
  };
}
