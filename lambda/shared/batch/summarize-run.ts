import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import type { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse';
import {
  ActRowOutcome,
  BatchSummarizeSettings,
  ActBatchResult,
  RowOutcome,
  RUN_FILES,
  SummarizeEvent,
} from '../../../lib/private/contracts/batch-engine';
import type { ActionLedger } from '../action-ledger';
import { type PutEvents, putOneEvent } from '../events';
import { jsonArrayElements } from './json-array-stream';
import { LineSet } from './line-set';
import { mapWithConcurrency } from './rate-limiter';
import { isSettled, notAttemptedWhileOverlapping, outcomeFromLedger, RowColumns, Totals } from './row-outcomes';
import { LISTED_IN_PROGRESS_LINES, RunLogWriter, RunSummary } from './run-log';
import { openObject, readJson, utf8Chunks, writeObject } from './run-folder';

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
  /** The run's log, JSON Lines, written into the run folder (`payout_log.jsonl`, `holds_log.jsonl`). */
  readonly logFile: string;
  /** The summary beside it (`payout_summary.json`, `holds_summary.json`). */
  readonly summaryFile: string;
  readonly completedEvent: { readonly source: string; readonly detailType: string };
  readonly metricNames: { readonly runsSummarized: string; readonly runUnknownRows: string };
  /** An `input.csv` row's columns as the log shows them. */
  readonly columnsOf: (item: Item) => RowColumns;
  /**
   * The action key of an `input.csv` row, to ask the ledger about a row the Map did not settle; undefined when the row
   * can have none yet (a model version whose agent is not registered: nothing was sent for it).
   */
  readonly actionKeyOf: (item: Item, event: SummarizeEvent) => string | undefined | Promise<string | undefined>;
}

export interface SummarizeResult {
  /** The log's S3 URI (JSON Lines). */
  readonly log: string;
  /** The summary's S3 URI. */
  readonly summary: string;
  readonly totals: Totals;
}

interface ResultManifest {
  readonly ResultFiles?: { readonly [status: string]: readonly { readonly Key: string }[] };
}
interface ChildExecution {
  readonly Output?: string;
}

/** Rows of `input.csv` decided together: their ledger reads go out LEDGER_READS at a time. */
const CHUNK_ROWS = 256;
const LEDGER_READS = 16;

/** Statuses the Map reports that are final: the ledger is not asked about them. */
const FINAL = new Set(['SUCCEEDED', 'SKIPPED', 'INVALID']);

/**
 * The Summarize step of the batch engine: one log entry per source row — the rows Prepare did not pass on,
 * and every `input.csv` row with the status the Map gave it (or, where the Map could not say, the
 * ledger's) — with totals per status that reconcile to the cent; then the construct's completed event.
 *
 * In memory that does not grow with the run: it reads its files as streams, several times, and keeps
 * between readings only a few bits per line ({@link LineSet}), writing the log as it goes.
 * 1. `input.csv`: which lines the run has.
 * 2. Prepare's report: the rows it did not pass on, logged.
 * 3. The Map's result files: a line's first settled row; SUCCEEDED, SKIPPED and INVALID are logged;
 *    REJECTED and UNKNOWN wait for the ledger's word (another run may have completed the action since).
 * 4. `input.csv` again: the ledger, for every row the Map did not settle and every one that waits.
 * 5. The Map's results again, only when some REJECTED or UNKNOWN rows stand: those rows, logged.
 * 6. `input.csv` again, only when some rows were never attempted: logged REJECTED, or IN_PROGRESS when
 *    the run overlapped another invocation (which may still send them).
 */
export function summarizeRunHandler<Item>(options: RunSummaryOptions<Item>) {
  const { logger, metrics, settings, s3 } = options;
  return async (event: SummarizeEvent): Promise<SummarizeResult> => {
    logger.appendKeys({ runId: event.runId });
    try {
      const folder = event.runFolder;
      const logKey = `${folder.prefix}/${options.logFile}`;
      const log = new RunLogWriter(s3, folder.bucket, logKey);
      try {
        await writeEntries(event, log);
      } catch (error) {
        await log.abort();
        throw error;
      }
      await log.close();
      const totals = log.totals();
      const overlapped = log.inProgressRows > 0;
      const inProgressLines = log.inProgressLines;

      const logUri = `s3://${folder.bucket}/${logKey}`;
      const summaryKey = `${folder.prefix}/${options.summaryFile}`;
      const overlap = overlapped ? { overlapped: true as const, inProgressRows: log.inProgressRows, inProgressLines } : {};
      const summary: RunSummary = { runId: event.runId, source: event.source, dryRun: settings.dryRun, log: logUri, totals, ...overlap };
      await writeObject(s3, folder.bucket, summaryKey, JSON.stringify(summary, null, 2) + '\n', 'application/json');
      const summaryUri = `s3://${folder.bucket}/${summaryKey}`;
      await announce(event, logUri, summaryUri, totals, overlapped ? { rows: log.inProgressRows, lines: inProgressLines } : undefined);

      metrics.addMetric(options.metricNames.runsSummarized, MetricUnit.Count, 1);
      metrics.addMetric(options.metricNames.runUnknownRows, MetricUnit.Count, totals.UNKNOWN.rows);
      logger[totals.UNKNOWN.rows > 0 ? 'error' : 'info']('run summarized', { log: logUri, summary: summaryUri, totals });
      if (overlapped) {
        logger.warn('run overlapped another invocation: its IN_PROGRESS rows are reported by that run, or by a rerun after it ends', {
          inProgressRows: log.inProgressRows,
          firstLines: inProgressLines,
        });
      }
      return { log: logUri, summary: summaryUri, totals };
    } finally {
      logger.resetKeys();
      metrics.publishStoredMetrics();
    }
  };

  async function writeEntries(event: SummarizeEvent, log: RunLogWriter): Promise<void> {
    // 1. The lines of input.csv: the Map's rows of any other line are not this run's.
    const inputLines = new LineSet();
    for await (const item of inputItems(event)) inputLines.add(options.columnsOf(item).line);

    // 2. The rows Prepare did not pass on. A run prepared before the rename (an execution in flight across
    // an upgrade) calls them notPaid.
    const report = await openObject(s3, event.runFolder.bucket, `${event.runFolder.prefix}/${RUN_FILES.prepareReport}`);
    for await (const text of jsonArrayElements(utf8Chunks(report.body), ['notActedOn', 'notPaid']))
      await log.add(JSON.parse(text) as RowOutcome);

    // 3. The Map's settled rows: a line's first settled report wins.
    const settled = new LineSet();
    const waiting = new LineSet();
    for await (const row of mapRows(event)) {
      if (!isSettled(row) || !inputLines.has(row.line) || !settled.add(row.line)) continue;
      if (FINAL.has(row.status)) await log.add(row);
      else waiting.add(row.line);
    }

    // 4. The ledger's word, for the rows the Map did not settle and the REJECTED or UNKNOWN ones.
    const now = options.now();
    const neverAttempted = new LineSet();
    for await (const items of chunks(inputItems(event), CHUNK_ROWS)) {
      const outcomes = await mapWithConcurrency(items, LEDGER_READS, async (item): Promise<RowOutcome | undefined> => {
        const columns = options.columnsOf(item);
        const isWaiting = waiting.has(columns.line);
        if (settled.has(columns.line) && !isWaiting) return undefined;
        const actionKey = await options.actionKeyOf(item, event);
        const record = actionKey === undefined ? undefined : await options.ledger.get(actionKey);
        if (isWaiting) {
          // Another run of the same file, or a retried batch, may have completed the action since the Map reported it.
          if (record?.state !== 'SUCCEEDED') return undefined;
          waiting.delete(columns.line);
          return outcomeFromLedger(columns, record, now);
        }
        if (record === undefined) {
          // REJECTED (never attempted), unless the run turns out to have overlapped another invocation: step 6.
          neverAttempted.add(columns.line);
          return undefined;
        }
        return outcomeFromLedger(columns, record, now);
      });
      for (const outcome of outcomes) if (outcome) await log.add(outcome);
    }

    // 5. The Map's REJECTED and UNKNOWN rows the ledger did not overturn: the same first settled row as in step 3.
    if (waiting.size > 0) {
      for await (const row of mapRows(event)) {
        if (isSettled(row) && waiting.delete(row.line)) await log.add(row);
      }
    }

    // 6. Rows no invocation attempted. Another invocation held some rows: it may still send rows this run never reached, too.
    if (neverAttempted.size > 0) {
      const overlapped = log.inProgressRows > 0;
      for await (const item of inputItems(event)) {
        const columns = options.columnsOf(item);
        if (!neverAttempted.has(columns.line)) continue;
        const row = outcomeFromLedger(columns, undefined, now);
        await log.add(overlapped ? notAttemptedWhileOverlapping(row) : row);
      }
    }
  }

  /** `input.csv`'s rows, keyed by its header, as they arrive. */
  async function* inputItems(event: SummarizeEvent): AsyncGenerator<Item> {
    const { body } = await openObject(s3, event.runFolder.bucket, event.inputKey);
    const parser = parse({ columns: true, skip_empty_lines: true });
    pipeline(body as Readable, parser, () => undefined);
    yield* parser as AsyncIterable<Item>;
  }

  /** Every row the Map's batches reported, file by file, as they arrive. */
  async function* mapRows(event: SummarizeEvent): AsyncGenerator<ActRowOutcome> {
    const details = event.mapResult?.ResultWriterDetails;
    if (!details) return;
    const manifest = await readJson<ResultManifest>(s3, details.Bucket, details.Key);
    for (const file of manifest.ResultFiles?.SUCCEEDED ?? []) {
      const { body } = await openObject(s3, details.Bucket, file.Key);
      for await (const text of jsonArrayElements(utf8Chunks(body))) {
        const child = JSON.parse(text) as ChildExecution;
        if (!child.Output) continue;
        yield* (JSON.parse(child.Output) as ActBatchResult).rows;
      }
    }
  }

  /** `inProgress`: when the run overlapped another invocation, how many rows it held, and the first lines. */
  async function announce(
    event: SummarizeEvent,
    log: string,
    summary: string,
    totals: Totals,
    inProgress?: { rows: number; lines: readonly number[] },
  ): Promise<void> {
    const overlap = inProgress
      ? { overlapped: true, in_progress_rows: inProgress.rows, in_progress_lines: inProgress.lines.slice(0, LISTED_IN_PROGRESS_LINES) }
      : {};
    await putOneEvent(
      options.putEvents,
      {
        EventBusName: settings.eventBusName,
        Source: options.completedEvent.source,
        DetailType: options.completedEvent.detailType,
        Detail: JSON.stringify({ run_id: event.runId, source: event.source, log, summary, dry_run: settings.dryRun, totals, ...overlap }),
      },
      `run ${event.runId}`,
    );
  }
}

/** An iterable's items, `size` at a time. */
async function* chunks<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  for await (const item of items) {
    chunk.push(item);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}
