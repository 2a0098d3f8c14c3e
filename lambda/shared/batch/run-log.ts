import type { S3Client } from '@aws-sdk/client-s3';
import type { RowOutcome, SourceObject } from '../../../lib/private/contracts/batch-engine';
import { loggableAmount, Totals, TotalsCounter } from './row-outcomes';
import { ObjectWriter } from './run-folder';

/**
 * A run's log, as Summarize writes it into the run folder:
 *
 * - the log (`payout_log.jsonl`, `holds_log.jsonl`): JSON Lines, one entry a source row (its `line`, its
 *   columns, `status`, the API's `result` or the `error`...), grouped by how each row was settled, not in
 *   line order (sort by `line`: `jq -s 'sort_by(.line)'`);
 * - beside it, the summary (`payout_summary.json`, `holds_summary.json`): {@link RunSummary}, the totals.
 *
 * No step holds the whole log: Summarize writes it entry by entry (a multipart upload), keeping the totals
 * and the first IN_PROGRESS lines. It replaces 0.1.0's `payout_log.json` / `holds_log.json` (one JSON
 * object: the summary's fields and `rows`), which {@link readRunLog} still reads.
 */

/** The summary names at most this many IN_PROGRESS lines (the first, in order); the log has every one. */
export const LISTED_IN_PROGRESS_LINES = 100;

/** The small object beside a run's log. */
export interface RunSummary {
  readonly runId: string;
  readonly source: SourceObject;
  readonly dryRun: boolean;
  /** The log's S3 URI. */
  readonly log: string;
  /** Rows and USDC per status, in whole cents: they reconcile with the log's entries to the cent. */
  readonly totals: Totals;
  /** Present when the run overlapped another invocation (some rows IN_PROGRESS). */
  readonly overlapped?: true;
  readonly inProgressRows?: number;
  /** The first LISTED_IN_PROGRESS_LINES IN_PROGRESS lines, in order. */
  readonly inProgressLines?: readonly number[];
}

/** Writes a log entry by entry, counting the totals and the IN_PROGRESS rows. */
export class RunLogWriter {
  private readonly out: ObjectWriter;
  private readonly counter = new TotalsCounter();
  private inProgress = 0;
  private firstInProgress: number[] = [];

  constructor(s3: S3Client, bucket: string, key: string) {
    this.out = new ObjectWriter(s3, bucket, key, 'application/x-ndjson');
  }

  /** One source row's entry; its amount as the log may show it (see `loggableAmount`). */
  async add(row: RowOutcome): Promise<void> {
    const entry = { ...row, amount_usdc: loggableAmount(row.amount_usdc) };
    this.counter.add(entry);
    if (entry.status === 'IN_PROGRESS') this.countInProgress(entry.line);
    await this.out.write(JSON.stringify(entry) + '\n');
  }

  get inProgressRows(): number {
    return this.inProgress;
  }

  /** The first IN_PROGRESS lines, in order (at most LISTED_IN_PROGRESS_LINES). */
  get inProgressLines(): readonly number[] {
    return this.sortedFirst();
  }

  totals(): Totals {
    return this.counter.totals();
  }

  close(): Promise<void> {
    return this.out.close();
  }

  abort(): Promise<void> {
    return this.out.abort();
  }

  private countInProgress(line: number): void {
    this.inProgress += 1;
    this.firstInProgress.push(line);
    // Entries come in no line order: keep the smallest, trimming now and then.
    if (this.firstInProgress.length >= 4 * LISTED_IN_PROGRESS_LINES) this.firstInProgress = this.sortedFirst();
  }

  private sortedFirst(): number[] {
    return [...this.firstInProgress].sort((a, b) => a - b).slice(0, LISTED_IN_PROGRESS_LINES);
  }
}

/** A log read whole, in the shape of 0.1.0's `payout_log.json`: the summary's fields and every row, in line order. */
export type RunLog = Partial<RunSummary> & Pick<RunSummary, 'runId' | 'totals'> & { readonly rows: readonly RowOutcome[] };

/**
 * Reads a run's log whole (a small run; tests): a JSON Lines log with its summary, its entries sorted by
 * line; or, without a summary, a `payout_log.json` / `holds_log.json` written by 0.1.0, as it is.
 */
export function readRunLog(files: { readonly log: string; readonly summary?: string }): RunLog {
  if (files.summary === undefined) {
    const old = JSON.parse(files.log) as RunLog;
    if (old === null || typeof old !== 'object' || !Array.isArray(old.rows)) {
      throw new Error('not a run log of 0.1.0 (one JSON object with rows); a JSON Lines log is read with its summary');
    }
    return old;
  }
  const summary = JSON.parse(files.summary) as RunSummary;
  const rows = files.log
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RowOutcome)
    .sort((a, b) => a.line - b.line);
  return { ...summary, rows };
}
