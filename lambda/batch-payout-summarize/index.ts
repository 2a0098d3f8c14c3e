import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import { ActRowOutcome, PayBatchResult, PayoutItem, readBatchSummarizeSettings, RowOutcome, RUN_FILES, SummarizeEvent } from '../../lib/private/contracts/batch-engine';
import { BATCH_PAYOUT_METRICS as METRIC, PAYOUT_COMPLETED_EVENT, PAYOUT_LOG_FILE } from '../../lib/private/contracts/batch-payout-env';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { ActionLedger } from '../shared/action-ledger';
import { readJson, readObject, writeObject } from '../shared/batch/run-folder';
import { mapWithConcurrency } from '../shared/batch/rate-limiter';
import { createObservability } from '../shared/observability';
import { payoutActionKey } from '../shared/action-keys';
import { isSettled, outcomeFromLedger, Totals, totalsOf } from './payout-log';

const settings = readBatchSummarizeSettings(process.env);
const connection = readConnectionSettings(process.env, 'BatchPayout Summarize');
const { logger, metrics } = createObservability(METRIC.functionNameDimension);
const s3 = new S3Client({});
const eventBridge = new EventBridgeClient({});
const ledger = new ActionLedger({ tableName: connection.ledgerTableName });

interface ResultManifest {
  readonly ResultFiles?: { readonly [status: string]: readonly { readonly Key: string }[] };
}
interface ChildExecution {
  readonly Status?: string;
  readonly Output?: string;
}

export interface SummarizeResult {
  readonly payoutLog: string;
  readonly totals: Totals;
}

/**
 * Summarize: one entry per source row — the rows Prepare did not pass on, and every payable row
 * with the status the Map gave it (or, where the Map could not say, the ledger's) — with totals per
 * status that reconcile to the cent; then the `Purple Flea Payout Completed` event.
 */
export const handler = async (event: SummarizeEvent): Promise<SummarizeResult> => {
  logger.appendKeys({ runId: event.runId });
  try {
    const folder = event.runFolder;
    const report = await readJson<{ notPaid: RowOutcome[] }>(s3, folder.bucket, `${folder.prefix}/${RUN_FILES.prepareReport}`);
    const payable = parse((await readObject(s3, folder.bucket, event.inputKey)).body, { columns: true, skip_empty_lines: true }) as PayoutItem[];
    const settled = await mapResults(event);

    const payableOutcomes = await mapWithConcurrency(payable, 16, async (item) => {
      const row = settled.get(Number(item.line));
      if (isSettled(row)) return row;
      const key = payoutActionKey(event.source.bucket, event.source.key, event.source.etag, item.agent_id);
      return outcomeFromLedger(item, await ledger.get(key));
    });
    const rows = [...report.notPaid, ...payableOutcomes].sort((a, b) => a.line - b.line);
    const totals = totalsOf(rows);

    const logKey = `${folder.prefix}/${PAYOUT_LOG_FILE}`;
    await writeObject(s3, folder.bucket, logKey, JSON.stringify({ runId: event.runId, source: event.source, dryRun: settings.dryRun, totals, rows }), 'application/json');
    const payoutLog = `s3://${folder.bucket}/${logKey}`;
    await announce(event, payoutLog, totals);

    metrics.addMetric(METRIC.runsSummarized, MetricUnit.Count, 1);
    metrics.addMetric(METRIC.runUnknownRows, MetricUnit.Count, totals.UNKNOWN.rows);
    logger[totals.UNKNOWN.rows > 0 ? 'error' : 'info']('payout run summarized', { payoutLog, totals });
    return { payoutLog, totals };
  } finally {
    logger.resetKeys();
    metrics.publishStoredMetrics();
  }
};

/** The rows the Map's batches reported, by line; a later report of a line (a redrive) wins. */
async function mapResults(event: SummarizeEvent): Promise<Map<number, ActRowOutcome>> {
  const byLine = new Map<number, ActRowOutcome>();
  const details = event.mapResult?.ResultWriterDetails;
  if (!details) return byLine;
  const manifest = await readJson<ResultManifest>(s3, details.Bucket, details.Key);
  for (const file of manifest.ResultFiles?.SUCCEEDED ?? []) {
    for (const child of await readJson<ChildExecution[]>(s3, details.Bucket, file.Key)) {
      if (!child.Output) continue;
      for (const row of (JSON.parse(child.Output) as PayBatchResult).rows) {
        if (!isSettled(byLine.get(row.line))) byLine.set(row.line, row);
      }
    }
  }
  return byLine;
}

async function announce(event: SummarizeEvent, payoutLog: string, totals: Totals): Promise<void> {
  const result = await eventBridge.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: settings.eventBusName,
          Source: PAYOUT_COMPLETED_EVENT.source,
          DetailType: PAYOUT_COMPLETED_EVENT.detailType,
          Resources: [],
          Detail: JSON.stringify({ run_id: event.runId, source: event.source, payout_log: payoutLog, dry_run: settings.dryRun, totals }),
        },
      ],
    }),
  );
  if (result.FailedEntryCount) throw new Error(`PutEvents failed for run ${event.runId}: ${result.Entries?.[0]?.ErrorCode ?? 'unknown error'}`);
}
