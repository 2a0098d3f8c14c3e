import type { S3Client } from '@aws-sdk/client-s3';
import { MAX_RUN_TOTAL_USDC, PreparedRun, RowOutcome, RUN_FILES, SourceObject } from '../../../lib/private/contracts/batch-engine';
import { centsOfAmount, centsText, usdcOfCents } from '../decimal';
import { shownValue } from '../record-ids';
import { linesText, RepeatedKeys } from './repeated-keys';
import { ObjectWriter, runFolderPrefix } from './run-folder';

/** Why a row is not acted on. */
export interface RowProblem {
  readonly status: 'SKIPPED' | 'INVALID';
  readonly error: string;
}

/** One source row, decided on its own: every rule but the run-wide one of repeated keys. */
export interface DecidedRow<Item> {
  readonly line: number;
  /** The key no two rows may share (an agent id, a transaction id); none when the row is not counted. */
  readonly key?: string;
  /** In whole cents; none when the row has no amount to log. */
  readonly amountCents?: number;
  /** Its normalized columns: `input.csv`'s row when it is acted on. */
  readonly item: Item;
  readonly problem?: RowProblem;
}

/** What a construct's Prepare decides; the batch engine applies the rule of repeated keys and writes the run. */
export interface RowRules<Row, Item> {
  readonly decide: (row: Row) => DecidedRow<Item>;
  /** The log row of a row that is not acted on. */
  readonly outcomeOf: (row: DecidedRow<Item>, problem: RowProblem) => RowOutcome;
  /** Why every row of a key that appears more than once is INVALID (`lines`: `lines 2, 5`). */
  readonly repeatedError: (key: string, lines: string) => string;
}

/** A run decided in memory: what a whole-file reading of the source gives (the unit tests' view). */
export interface DecidedRun<Item> {
  /** The rows to act on, in the normalized columns. */
  readonly toAct: readonly Item[];
  /** SKIPPED and INVALID rows, with reasons, in file order. */
  readonly notActedOn: readonly RowOutcome[];
  readonly totalToActCents: number;
  readonly rowCount: number;
}

type Verdict<Item> = { readonly act: Item; readonly cents: number } | { readonly outcome: RowOutcome };

/** A row's verdict once the rule of repeated keys is applied: every row of a repeated key is INVALID. */
function settle<Row, Item>(row: DecidedRow<Item>, keys: RepeatedKeys, rules: RowRules<Row, Item>): Verdict<Item> {
  const repeats = row.key ? keys.repeatsOf(row.key, row.line) : undefined;
  const problem = repeats ? { status: 'INVALID' as const, error: rules.repeatedError(row.key!, linesText(repeats)) } : row.problem;
  if (problem) return { outcome: rules.outcomeOf(row, problem) };
  return { act: row.item, cents: row.amountCents! };
}

/** Decides the rows of a source held in memory, with the same rules and the same repeated-key check as {@link prepareRun}. */
export function decideRows<Row, Item>(rows: readonly Row[], rules: RowRules<Row, Item>): DecidedRun<Item> {
  const decided = rows.map((row) => rules.decide(row));
  const keys = RepeatedKeys.forRows(decided.length);
  for (const row of decided) if (row.key) keys.see(row.key, row.line);
  const toAct: Item[] = [];
  const notActedOn: RowOutcome[] = [];
  let totalToActCents = 0;
  for (const row of decided) {
    const verdict = settle(row, keys, rules);
    if ('outcome' in verdict) {
      notActedOn.push(verdict.outcome);
    } else {
      toAct.push(verdict.act);
      totalToActCents += verdict.cents;
    }
  }
  return { toAct, notActedOn, totalToActCents, rowCount: decided.length };
}

export interface RunFolderTarget {
  readonly bucket: string;
  readonly prefix: string;
  readonly maxBatchTotalUsdc: number;
}

export interface PrepareRunOptions<Row, Item> {
  readonly runId: string;
  readonly rules: RowRules<Row, Item>;
  readonly columns: readonly (keyof Item & string)[];
  /**
   * Reads the source from its start: every row, in file order. Called twice; the second reading must
   * fail rather than see other content than the first did (read each object with the first one's ETag).
   */
  readonly read: () => AsyncIterable<Row>;
  /** The source, as the first reading found it. */
  readonly source: () => SourceObject;
}

/**
 * Every Prepare, in memory that does not grow with the source: reads the source twice (the first time for
 * the keys that repeat, see repeated-keys.ts; the second to decide every row), and writes the run folder as
 * it goes: `input.csv` (for the Map) and `prepare_report.json` (the rows not acted on), each a multipart
 * upload. Then it refuses a run whose total is over the cap, or whose rows add up past what the log's
 * totals can hold exactly: the report is written, `input.csv` never is, the execution fails and nothing
 * moves. Otherwise `input.csv` is completed and the run returned.
 */
export async function prepareRun<Row, Item extends { readonly [column: string]: string }>(
  s3: S3Client,
  target: RunFolderTarget,
  options: PrepareRunOptions<Row, Item>,
): Promise<PreparedRun & { readonly rowCount: number }> {
  const { rules } = options;
  const keys = new RepeatedKeys();
  let firstCount = 0;
  for await (const row of options.read()) {
    const decided = rules.decide(row);
    if (decided.key) keys.see(decided.key, decided.line);
    firstCount += 1;
  }

  const writer = new PreparedRunWriter<Item>(s3, target, options.runId, options.source(), options.columns);
  try {
    for await (const row of options.read()) {
      const verdict = settle(rules.decide(row), keys, rules);
      if ('outcome' in verdict) await writer.notActedOn(verdict.outcome);
      else await writer.act(verdict.act, verdict.cents);
    }
    if (writer.rowCount !== firstCount)
      throw new Error(`the source gave ${firstCount} rows, then ${writer.rowCount}: nothing moves; start the run again`);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return { ...(await writer.finish()), rowCount: writer.rowCount };
}

/** Writes a run's `input.csv` and `prepare_report.json` row by row, and counts. */
class PreparedRunWriter<Item extends { readonly [column: string]: string }> {
  private readonly prefix: string;
  private readonly input: ObjectWriter;
  private readonly report: ObjectWriter;
  private readonly counts = { rows: 0, toAct: 0, skipped: 0, invalid: 0 };
  private totalToActCents = 0n;
  private notActedOnCents = 0n;

  constructor(
    s3: S3Client,
    private readonly target: RunFolderTarget,
    private readonly runId: string,
    private readonly source: SourceObject,
    private readonly columns: readonly (keyof Item & string)[],
  ) {
    this.prefix = runFolderPrefix(target.prefix, runId);
    this.input = new ObjectWriter(s3, target.bucket, `${this.prefix}/${RUN_FILES.input}`, 'text/csv');
    this.report = new ObjectWriter(s3, target.bucket, `${this.prefix}/${RUN_FILES.prepareReport}`, 'application/json');
    this.input.append(columns.join(',') + '\n');
    // The rows first, the counts after them: one JSON object, written as the rows are decided.
    this.report.append(`{"runId":${JSON.stringify(runId)},"source":${JSON.stringify(source)},"notActedOn":[`);
  }

  get rowCount(): number {
    return this.counts.rows;
  }

  async act(item: Item, cents: number): Promise<void> {
    this.counts.rows += 1;
    this.counts.toAct += 1;
    this.totalToActCents += BigInt(cents);
    await this.input.write(csvLine(item, this.columns));
  }

  async notActedOn(row: RowOutcome): Promise<void> {
    this.counts.rows += 1;
    if (row.status === 'SKIPPED') this.counts.skipped += 1;
    if (row.status === 'INVALID') this.counts.invalid += 1;
    this.notActedOnCents += centsOfAmount(row.amount_usdc);
    await this.report.write(`${this.counts.rows - this.counts.toAct === 1 ? '' : ','}\n${JSON.stringify(row)}`);
  }

  async finish(): Promise<PreparedRun> {
    const { source } = this;
    const totalToActUsdc = usdcOfCents(this.totalToActCents);
    const overCap = this.totalToActCents > BigInt(Math.round(this.target.maxBatchTotalUsdc * 100));
    try {
      await this.report.write(
        `\n],"counts":${JSON.stringify(this.counts)},"totalToActUsdc":${JSON.stringify(totalToActUsdc)},"overCap":${overCap}}\n`,
      );
      await this.report.close();
      if (overCap) {
        throw new Error(
          `the total ${centsText(this.totalToActCents)} USDC of s3://${source.bucket}/${source.key} is over maxBatchTotalUsdc ${this.target.maxBatchTotalUsdc}: nothing moves`,
        );
      }
      // Every row's amount is at most MAX_ROW_AMOUNT_USDC; their sum must keep the log's totals exact JSON numbers.
      const rowsTotalCents = this.totalToActCents + this.notActedOnCents;
      if (rowsTotalCents > BigInt(MAX_RUN_TOTAL_USDC) * 100n) {
        throw new Error(
          `the rows of s3://${source.bucket}/${source.key} add up to ${centsText(rowsTotalCents)} USDC, over ${MAX_RUN_TOTAL_USDC} USDC: ` +
            "its log's totals could not be exact; nothing moves",
        );
      }
      await this.input.close();
    } catch (error) {
      await this.abort();
      throw error;
    }
    return {
      runId: this.runId,
      source,
      runFolder: { bucket: this.target.bucket, prefix: this.prefix },
      inputKey: `${this.prefix}/${RUN_FILES.input}`,
      rowsToAct: this.counts.toAct,
      totalToActUsdc,
    };
  }

  /** Neither file is left half written (a completed one stays). */
  async abort(): Promise<void> {
    await Promise.all([this.input.abort(), this.report.abort()]);
  }
}

/**
 * The normalized `input.csv`: a header, then one row per item, written so that the Distributed Map's CSV
 * reader gives Act every value exactly as it is here (see `inputCsvProblem`). A value it could not carry
 * throws, and the execution fails before any money moves; Prepare turns such rows INVALID first.
 */
export function normalizedCsv<Item extends { readonly [column: string]: string }>(
  rows: readonly Item[],
  columns: readonly (keyof Item & string)[],
): string {
  return columns.join(',') + '\n' + rows.map((row) => csvLine(row, columns)).join('');
}

/** One row of `input.csv`, with its newline. */
export function csvLine<Item extends { readonly [column: string]: string }>(row: Item, columns: readonly (keyof Item & string)[]): string {
  const field = (column: keyof Item & string): string => {
    const value = row[column] ?? '';
    const problem = inputCsvProblem(value);
    if (problem !== undefined)
      throw new Error(`input.csv cannot carry ${column} ${shownValue(value)} (line ${row.line ?? '?'}): it has ${problem}`);
    // Quoted, with `""` for a quote, when it holds a quote, a comma or a newline, or starts or ends with a space.
    return /[",\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
  };
  return columns.map(field).join(',') + '\n';
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
