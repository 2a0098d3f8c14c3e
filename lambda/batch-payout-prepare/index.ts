import { S3Client } from '@aws-sdk/client-s3';
import { DescribeProcessingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { PAYOUT_COLUMNS, PrepareEvent, PreparedRun, RUN_FILES } from '../../lib/private/contracts/batch-engine';
import { readBatchPayoutPrepareSettings } from '../../lib/private/contracts/batch-payout-env';
import { readObject, runFolderPrefix, writeObject } from '../shared/batch/run-folder';
import { createObservability } from '../shared/observability';
import { normalizedCsv, scoreRows } from './score-rows';
import { resolveSource, scoresInOutputs, SourceLocation } from './source-object';

const settings = readBatchPayoutPrepareSettings(process.env);
const { logger } = createObservability('FunctionName');
const s3 = new S3Client({});
const sagemaker = new SageMakerClient({ maxAttempts: 5 });

/**
 * Prepare: reads the scores file once, decides every row, and writes the run folder: `input.csv`
 * (the rows to pay, for the Map) and `prepare_report.json` (the rows not paid, and why). Fails the
 * execution, paying no one, when the file cannot be read as scores or its total is over the cap.
 */
export const handler = async (event: PrepareEvent): Promise<PreparedRun> => {
  logger.appendKeys({ runId: event.runId });
  try {
    if (!settings.enabled) throw new Error('BatchPayout is disabled (enabled: false): nothing is paid');
    const location = await locateScores(event.input);
    const { body, etag } = await readObject(s3, location.bucket, location.key);
    const source = { bucket: location.bucket, key: location.key, etag };
    const scored = scoreRows(body, settings);

    const prefix = runFolderPrefix(settings.outputPrefix, event.runId);
    const payableTotalUsdc = scored.payableTotalCents / 100;
    const counts = {
      rows: scored.rowCount,
      payable: scored.payable.length,
      skipped: scored.notPaid.filter((row) => row.status === 'SKIPPED').length,
      invalid: scored.notPaid.filter((row) => row.status === 'INVALID').length,
    };
    const overCap = scored.payableTotalCents > Math.round(settings.maxBatchTotalUsdc * 100);
    await writeObject(
      s3,
      settings.outputBucket,
      `${prefix}/${RUN_FILES.prepareReport}`,
      JSON.stringify({ runId: event.runId, source, counts, payableTotalUsdc, overCap, notPaid: scored.notPaid }),
      'application/json',
    );
    if (overCap) {
      throw new Error(`the payable total ${payableTotalUsdc.toFixed(2)} USDC of s3://${source.bucket}/${source.key} is over maxBatchTotalUsdc ${settings.maxBatchTotalUsdc}: nothing is paid`);
    }
    await writeObject(s3, settings.outputBucket, `${prefix}/${RUN_FILES.input}`, normalizedCsv(scored.payable, PAYOUT_COLUMNS), 'text/csv');

    logger.info('prepared', { source, counts, payableTotalUsdc });
    return {
      runId: event.runId,
      source,
      runFolder: { bucket: settings.outputBucket, prefix },
      inputKey: `${prefix}/${RUN_FILES.input}`,
      payableRows: scored.payable.length,
      payableTotalUsdc,
    };
  } catch (error) {
    logger.error('prepare FAILED: nothing is paid', { reason: (error as Error).message });
    throw error;
  } finally {
    logger.resetKeys();
  }
};

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
