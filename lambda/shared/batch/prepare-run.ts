import { S3Client } from '@aws-sdk/client-s3';
import { MAX_RUN_TOTAL_USDC, PreparedRun, RowOutcome, RUN_FILES, SourceObject } from '../../../lib/private/contracts/batch-engine';
import { centsOfAmount, centsText } from '../decimal';
import { shownValue } from '../record-ids';
import { runFolderPrefix, writeObject } from './run-folder';

export interface DecidedRun<Item> {
  readonly runId: string;
  readonly source: SourceObject;
  /** The rows to act on, in the normalized columns. */
  readonly toAct: readonly Item[];
  /** SKIPPED and INVALID rows, with reasons. */
  readonly notActedOn: readonly RowOutcome[];
  readonly totalToActCents: number;
  readonly rowCount: number;
}

export interface RunFolderTarget {
  readonly bucket: string;
  readonly prefix: string;
  readonly maxBatchTotalUsdc: number;
}

/**
 * The end of every Prepare: writes the run's `prepare_report.json`, refuses a run whose total is over
 * the cap (the execution fails, nothing moves), writes `input.csv` for the Map, and returns the run.
 */
export async function writePreparedRun<Item extends { readonly [column: string]: string }>(
  s3: S3Client,
  target: RunFolderTarget,
  run: DecidedRun<Item>,
  columns: readonly (keyof Item & string)[],
): Promise<PreparedRun> {
  const prefix = runFolderPrefix(target.prefix, run.runId);
  const totalToActUsdc = run.totalToActCents / 100;
  const counts = {
    rows: run.rowCount,
    toAct: run.toAct.length,
    skipped: run.notActedOn.filter((row) => row.status === 'SKIPPED').length,
    invalid: run.notActedOn.filter((row) => row.status === 'INVALID').length,
  };
  const overCap = run.totalToActCents > Math.round(target.maxBatchTotalUsdc * 100);
  const report = { runId: run.runId, source: run.source, counts, totalToActUsdc, overCap, notActedOn: run.notActedOn };
  await writeObject(s3, target.bucket, `${prefix}/${RUN_FILES.prepareReport}`, JSON.stringify(report), 'application/json');
  if (overCap) {
    throw new Error(`the total ${totalToActUsdc.toFixed(2)} USDC of s3://${run.source.bucket}/${run.source.key} is over maxBatchTotalUsdc ${target.maxBatchTotalUsdc}: nothing moves`);
  }
  // Every row's amount is at most MAX_ROW_AMOUNT_USDC; their sum must keep the log's totals exact JSON numbers.
  const rowsTotalCents = run.notActedOn.reduce((sum, row) => sum + centsOfAmount(row.amount_usdc), BigInt(run.totalToActCents));
  if (rowsTotalCents > BigInt(MAX_RUN_TOTAL_USDC) * 100n) {
    throw new Error(
      `the rows of s3://${run.source.bucket}/${run.source.key} add up to ${centsText(rowsTotalCents)} USDC, over ${MAX_RUN_TOTAL_USDC} USDC: ` +
        "its log's totals could not be exact; nothing moves",
    );
  }
  await writeObject(s3, target.bucket, `${prefix}/${RUN_FILES.input}`, normalizedCsv(run.toAct, columns), 'text/csv');
  return {
    runId: run.runId,
    source: run.source,
    runFolder: { bucket: target.bucket, prefix },
    inputKey: `${prefix}/${RUN_FILES.input}`,
    rowsToAct: run.toAct.length,
    totalToActUsdc,
  };
}

/**
 * The normalized `input.csv`: a header, then one row per item, written so that the Distributed Map's CSV
 * reader gives Act every value exactly as it is here (see `inputCsvProblem`). A value it could not carry
 * throws, and the execution fails before any money moves; Prepare turns such rows INVALID first.
 */
export function normalizedCsv<Item extends { readonly [column: string]: string }>(rows: readonly Item[], columns: readonly (keyof Item & string)[]): string {
  const field = (row: Item, column: keyof Item & string): string => {
    const value = row[column] ?? '';
    const problem = inputCsvProblem(value);
    if (problem !== undefined) throw new Error(`input.csv cannot carry ${column} ${shownValue(value)} (line ${row.line ?? '?'}): it has ${problem}`);
    // Quoted, with `""` for a quote, when it holds a quote, a comma or a newline, or starts or ends with a space.
    return /[",\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
  };
  return [columns.join(','), ...rows.map((row) => columns.map((column) => field(row, column)).join(','))].join('\n') + '\n';
}

/**
 * Why a value cannot go into `input.csv`, or undefined. Step Functions' CSV reader documents double-quoted
 * fields (commas and newlines inside, `""` for a quote), and backslash escapes: `\\` and `\,` keep the
 * character, a backslash before anything else is dropped; how it reads a backslash inside quotes, or a
 * carriage return, it does not document. So `input.csv` never holds either: every value it does hold reads
 * back exactly, by Step Functions and by Summarize's reader alike. A lone UTF-16 surrogate has no UTF-8.
 * (Every id, amount and number Prepare accepts passes; the object key of a hold record may not.)
 */
export function inputCsvProblem(value: string): string | undefined {
  if (value.includes('\\')) return 'a backslash';
  if (value.includes('\r')) return 'a carriage return';
  if (/\p{Surrogate}/u.test(value)) return 'half of a UTF-16 surrogate pair (not UTF-8)';
  return undefined;
}

/** Every row of a key (agent id, transaction id) that appears more than once: which one was meant is not ours to guess. */
export function linesByKey<T>(candidates: readonly T[], keyOf: (candidate: T) => string | undefined, lineOf: (candidate: T) => number): Map<string, number[]> {
  const lines = new Map<string, number[]>();
  for (const candidate of candidates) {
    const key = keyOf(candidate);
    if (key === undefined || key === '') continue;
    lines.set(key, [...(lines.get(key) ?? []), lineOf(candidate)]);
  }
  return lines;
}
