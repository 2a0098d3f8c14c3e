import type { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import { ActRowOutcome, BatchSummarizeSettings, ActBatchResult, RowOutcome, RUN_FILES, SummarizeEvent } from '../../../lib/private/contracts/batch-engine';
import type { ActionLedger } from '../action-ledger';
import type { PutEvents } from '../events';
import { mapWithConcurrency } from './rate-limiter';
import { readJson, readObject, writeObject } from './run-folder';
import { isSettled, loggableAmount, notAttemptedWhileOverlapping, outcomeFromLedger, RowColumns, Totals, totalsOf } from './row-outcomes';

export interface RunSummaryOptions<Item> {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly settings: BatchSummarizeSettings;
  /** Read for the rows the Map did not settle (the connection's ledger: connectionLedger). */
  readonly ledger: Pick<ActionLedger, 'get'>;
  /** Reads Prepare's report, input.csv and the Map's results; writes the run's log. */
  readonly s3: S3Client;
  /** Puts the completed event on the settings' bus. */
  readonly putEvents: PutEvents;
  /** The clock (epoch ms) a lease in the ledger is live or over by. */
  readonly now: () => number;
  /** The run's log, written into the run folder (`payout_log.json`, `holds_log.json`). */
  readonly logFile: string;
  readonly completedEvent: { readonly source: string; readonly detailType: string };
  readonly metricNames: { readonly runsSummarized: string; readonly runUnknownRows: string };
  /** An `input.csv` row's columns as the log shows them. */
  readonly columnsOf: (item: Item) => RowColumns;
  /** The action key of an `input.csv` row, to ask the ledger about a row the Map did not settle. */
  readonly actionKeyOf: (item: Item, event: SummarizeEvent) => string;
}

export interface SummarizeResult {
  readonly log: string;
  readonly totals: Totals;
}

/** What Summarize reads of Prepare's report: the rows it did not pass on to the Map. */
interface PrepareReport {
  readonly notActedOn?: readonly RowOutcome[];
  /** The same rows, as Prepare of version 0.1.0 named them. */
  readonly notPaid?: readonly RowOutcome[];
}

interface ResultManifest {
  readonly ResultFiles?: { readonly [status: string]: readonly { readonly Key: string }[] };
}
interface ChildExecution {
  readonly Output?: string;
}

/** The completed event names at most this many IN_PROGRESS lines (an event is at most 256 KB); the log has all. */
const ANNOUNCED_LINES = 100;

/**
 * The Summarize step of the batch engine: one entry per source row — the rows Prepare did not pass
 * on, and every `input.csv` row with the status the Map gave it (or, where the Map could not say, the
 * ledger's) — with totals per status that reconcile to the cent; then the construct's completed event.
 */
export function summarizeRunHandler<Item>(options: RunSummaryOptions<Item>) {
  const { logger, metrics, settings, s3 } = options;
  return async (event: SummarizeEvent): Promise<SummarizeResult> => {
    logger.appendKeys({ runId: event.runId });
    try {
      const folder = event.runFolder;
      const report = await readJson<PrepareReport>(s3, folder.bucket, `${folder.prefix}/${RUN_FILES.prepareReport}`);
      // A run prepared before the rename (an execution in flight across an upgrade) calls them notPaid.
      const notActedOn = report.notActedOn ?? report.notPaid ?? [];
      const items = parse((await readObject(s3, folder.bucket, event.inputKey)).body, { columns: true, skip_empty_lines: true }) as Item[];
      const settled = await mapResults(s3, event);

      const now = options.now();
      const ledgerOutcomes = await mapWithConcurrency(items, 16, async (item) => {
        const columns = options.columnsOf(item);
        const row = settled.get(columns.line);
        // SUCCEEDED and SKIPPED (dry run) are final; for anything else the ledger may know more: another
        // run of the same file, or a retried batch, may have completed the action since the Map reported it.
        if (isSettled(row) && (row.status === 'SUCCEEDED' || row.status === 'SKIPPED' || row.status === 'INVALID')) return row;
        const record = await options.ledger.get(options.actionKeyOf(item, event));
        if (isSettled(row) && record?.state !== 'SUCCEEDED') return row;
        return outcomeFromLedger(columns, record, now);
      });
      // Another invocation held some rows: it may still send rows this run never reached, too.
      const overlapped = ledgerOutcomes.some((row) => row.status === 'IN_PROGRESS');
      const itemOutcomes = overlapped ? ledgerOutcomes.map(notAttemptedWhileOverlapping) : ledgerOutcomes;
      // Every amount the log shows is exact in cents (an input.csv rewritten after Prepare may hold others).
      const rows = [...notActedOn, ...itemOutcomes].map((row) => ({ ...row, amount_usdc: loggableAmount(row.amount_usdc) })).sort((a, b) => a.line - b.line);
      const totals = totalsOf(rows);
      const inProgressLines = rows.filter((row) => row.status === 'IN_PROGRESS').map((row) => row.line);

      const logKey = `${folder.prefix}/${options.logFile}`;
      const overlap = overlapped ? { overlapped: true, inProgressLines } : {};
      await writeObject(s3, folder.bucket, logKey, JSON.stringify({ runId: event.runId, source: event.source, dryRun: settings.dryRun, totals, ...overlap, rows }), 'application/json');
      const log = `s3://${folder.bucket}/${logKey}`;
      await announce(event, log, totals, overlapped ? inProgressLines : undefined);

      metrics.addMetric(options.metricNames.runsSummarized, MetricUnit.Count, 1);
      metrics.addMetric(options.metricNames.runUnknownRows, MetricUnit.Count, totals.UNKNOWN.rows);
      logger[totals.UNKNOWN.rows > 0 ? 'error' : 'info']('run summarized', { log, totals });
      if (overlapped) {
        logger.warn('run overlapped another invocation: its IN_PROGRESS rows are reported by that run, or by a rerun after it ends', {
          inProgressRows: inProgressLines.length,
          firstLines: inProgressLines.slice(0, ANNOUNCED_LINES),
        });
      }
      return { log, totals };
    } finally {
      logger.resetKeys();
      metrics.publishStoredMetrics();
    }
  };

  /** `inProgressLines`: when the run overlapped another invocation, the rows that invocation held. */
  async function announce(event: SummarizeEvent, log: string, totals: Totals, inProgressLines?: readonly number[]): Promise<void> {
    const overlap = inProgressLines
      ? { overlapped: true, in_progress_rows: inProgressLines.length, in_progress_lines: inProgressLines.slice(0, ANNOUNCED_LINES) }
      : {};
    const result = await options.putEvents({
      Entries: [
        {
          EventBusName: settings.eventBusName,
          Source: options.completedEvent.source,
          DetailType: options.completedEvent.detailType,
          Detail: JSON.stringify({ run_id: event.runId, source: event.source, log, dry_run: settings.dryRun, totals, ...overlap }),
        },
      ],
    });
    if (result.FailedEntryCount) throw new Error(`PutEvents failed for run ${event.runId}: ${result.Entries?.[0]?.ErrorCode ?? 'unknown error'}`);
  }
}

/** The rows the Map's batches reported, by line; the first settled report of a line wins. */
async function mapResults(s3: S3Client, event: SummarizeEvent): Promise<Map<number, ActRowOutcome>> {
  const byLine = new Map<number, ActRowOutcome>();
  const details = event.mapResult?.ResultWriterDetails;
  if (!details) return byLine;
  const manifest = await readJson<ResultManifest>(s3, details.Bucket, details.Key);
  for (const file of manifest.ResultFiles?.SUCCEEDED ?? []) {
    for (const child of await readJson<ChildExecution[]>(s3, details.Bucket, file.Key)) {
      if (!child.Output) continue;
      for (const row of (JSON.parse(child.Output) as ActBatchResult).rows) {
        if (!isSettled(byLine.get(row.line))) byLine.set(row.line, row);
      }
    }
  }
  return byLine;
}
