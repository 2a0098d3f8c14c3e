import { S3Client } from '@aws-sdk/client-s3';
import { PreparedRun, RowOutcome, RUN_FILES, SourceObject } from '../../../lib/private/contracts/batch-engine';
import { runFolderPrefix, writeObject } from './run-folder';

export interface DecidedRun<Item> {
  readonly runId: string;
  readonly source: SourceObject;
  /** The rows to act on, in the normalized columns. */
  readonly payable: readonly Item[];
  /** SKIPPED and INVALID rows, with reasons. */
  readonly notPaid: readonly RowOutcome[];
  readonly payableTotalCents: number;
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
  const payableTotalUsdc = run.payableTotalCents / 100;
  const counts = {
    rows: run.rowCount,
    payable: run.payable.length,
    skipped: run.notPaid.filter((row) => row.status === 'SKIPPED').length,
    invalid: run.notPaid.filter((row) => row.status === 'INVALID').length,
  };
  const overCap = run.payableTotalCents > Math.round(target.maxBatchTotalUsdc * 100);
  const report = { runId: run.runId, source: run.source, counts, payableTotalUsdc, overCap, notPaid: run.notPaid };
  await writeObject(s3, target.bucket, `${prefix}/${RUN_FILES.prepareReport}`, JSON.stringify(report), 'application/json');
  if (overCap) {
    throw new Error(`the total ${payableTotalUsdc.toFixed(2)} USDC of s3://${run.source.bucket}/${run.source.key} is over maxBatchTotalUsdc ${target.maxBatchTotalUsdc}: nothing moves`);
  }
  await writeObject(s3, target.bucket, `${prefix}/${RUN_FILES.input}`, normalizedCsv(run.payable, columns), 'text/csv');
  return {
    runId: run.runId,
    source: run.source,
    runFolder: { bucket: target.bucket, prefix },
    inputKey: `${prefix}/${RUN_FILES.input}`,
    payableRows: run.payable.length,
    payableTotalUsdc,
  };
}

/** The normalized `input.csv`: a header, then one row per item. */
export function normalizedCsv<Item extends { readonly [column: string]: string }>(rows: readonly Item[], columns: readonly (keyof Item & string)[]): string {
  return [columns.join(','), ...rows.map((row) => columns.map((column) => csvField(row[column] ?? '')).join(','))].join('\n') + '\n';
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
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
