import type { Readable } from 'node:stream';
import { CsvError } from 'csv-parse';
import { MAX_ROW_AMOUNT_USDC, RowOutcome } from '../../lib/private/contracts/batch-engine';
import type { HoldFieldNames, HoldInputFormatName, HoldItem } from '../../lib/private/contracts/fraud-hold-env';
import { CsvRow, missingColumns, readCsvWithHeader, streamCsvWithHeader } from '../shared/batch/csv-with-header';
import { decideRows, DecidedRow, inputCsvProblem, RowRules } from '../shared/batch/prepare-run';
import { utf8Chunks } from '../shared/batch/run-folder';
import { parseDecimal, toCentsRounded } from '../shared/decimal';
import { JsonNumber, parseJsonKeepingNumbers, WHOLE_NUMBER_LITERAL } from '../shared/exact-json';
import { agentCellProblem } from '../shared/model-version-agents';
import { shownLiteral, shownValue, TRANSACTION_ID_PATTERN, TRANSACTION_ID_RULE } from '../shared/record-ids';

export interface HoldRules extends HoldFieldNames {
  readonly inputFormat: HoldInputFormatName;
  readonly fraudScoreThreshold: number;
  readonly maxHoldUsdc: number;
  /** `agentsFrom`: a buyer or seller may be a model version ARN, which Act resolves to its agent. */
  readonly agentsFromRegistry?: boolean;
}

/** One object of a run, held in memory: a Batch Transform `.out` file, or an uploaded file. */
export interface RecordObject {
  readonly key: string;
  readonly etag: string;
  readonly body: Buffer;
}

/** One object of a run, read as a stream. */
export interface RecordStream {
  readonly key: string;
  readonly etag: string;
  readonly body: Readable;
}

export interface DecidedHolds {
  readonly toAct: readonly HoldItem[];
  readonly notActedOn: readonly RowOutcome[];
  readonly totalToActCents: number;
  readonly rowCount: number;
}

/** A file that cannot be read as records at all: a CSV without a header or without a needed column. */
export class UnreadableRecordsError extends Error {
  override readonly name = 'UnreadableRecordsError';
}

/** The longest JSON Lines record read (characters): a longer line is INVALID, and never held whole. */
export const MAX_RECORD_LINE_CHARS = 1024 * 1024;

type RawRecord = { readonly objectLine: number } & (
  { readonly fields: { readonly [field: string]: unknown } } | { readonly unreadable: string }
);

/** A record of a run: where it is (`line` numbers records across the run's objects), and what it holds. */
export interface HoldRecord {
  readonly line: number;
  readonly object: { readonly key: string; readonly etag: string };
  readonly record: RawRecord;
}

/**
 * Decides every record of a run's objects held in memory (the unit tests' view; Prepare streams them with
 * {@link streamHoldRecords} and prepare-run.ts, with the same rules and the same check of repeated ids).
 */
export function decideHolds(objects: readonly RecordObject[], rules: HoldRules, transformJob: string): DecidedHolds {
  const records: HoldRecord[] = [];
  for (const object of objects) {
    const place = { key: object.key, etag: object.etag };
    for (const record of readRecords(object, rules)) records.push({ line: records.length + 1, object: place, record });
  }
  return decideRows(records, holdRowRules(rules, transformJob));
}

/** The records of a run's objects, read from streams in turn, numbered across them. */
export async function* streamHoldRecords(objects: AsyncIterable<RecordStream>, rules: HoldRules): AsyncGenerator<HoldRecord> {
  let line = 0;
  for await (const object of objects) {
    const place = { key: object.key, etag: object.etag };
    for await (const record of streamRecords(object, rules)) {
      line += 1;
      yield { line, object: place, record };
    }
  }
}

/**
 * How a record is decided: a fraud score strictly above the threshold gets a hold (buyer, seller,
 * amount), at or below it is SKIPPED; a record that is not JSON, has no or a bad amount, a score that is
 * not a number in [0, 1], an invalid agent id, an amount over maxHoldUsdc, a transaction id that breaks
 * the id rule (record-ids.ts) or appears more than once, or an object key that input.csv cannot carry, is
 * INVALID. JSON numbers in the id fields keep the digits they were written with (exact-json.ts).
 */
export function holdRowRules(rules: HoldRules, transformJob: string): RowRules<HoldRecord, HoldItem> {
  return {
    decide: ({ line, object, record }) => {
      const candidate = decide(line, object, record, rules, transformJob);
      // A transaction id that breaks the rule is INVALID for that, never counted as a repeat.
      return {
        line,
        key: candidate.idRefused ? undefined : candidate.columns.transaction_id,
        amountCents: candidate.amountCents,
        item: candidate.columns,
        problem: candidate.problem,
      };
    },
    outcomeOf: (row: DecidedRow<HoldItem>, problem) => ({
      ...row.item,
      line: row.line,
      amount_usdc: row.amountCents === undefined ? undefined : row.amountCents / 100,
      status: problem.status,
      error: problem.error,
    }),
    repeatedError: (transactionId, lines) => `transaction ${shownValue(transactionId)} appears more than once (${lines})`,
  };
}

interface Candidate {
  readonly columns: { -readonly [column in keyof HoldItem]: string };
  readonly amountCents?: number;
  readonly problem?: { readonly status: 'SKIPPED' | 'INVALID'; readonly error: string };
  /** Its transaction id breaks the rule: INVALID for that, never counted as a duplicate. */
  readonly idRefused?: boolean;
}

function readRecords(object: RecordObject, rules: HoldRules): RawRecord[] {
  if (rules.inputFormat === 'CSV') {
    let csv;
    try {
      csv = readCsvWithHeader(object.body);
    } catch (error) {
      throw new UnreadableRecordsError(`${object.key} is not valid CSV: ${(error as Error).message}`);
    }
    if (!csv) return [];
    const header = recordHeader(object.key, csv.header, rules);
    return csv.rows.map((row) => csvRecord(header, row));
  }
  const lines = new JsonLines(object.key);
  return [...lines.push(object.body.toString('utf8')), ...lines.end()];
}

async function* streamRecords(object: RecordStream, rules: HoldRules): AsyncGenerator<RawRecord> {
  if (rules.inputFormat === 'CSV') {
    let header: readonly string[] = [];
    try {
      for await (const row of streamCsvWithHeader(object.body, (names) => (header = recordHeader(object.key, names, rules))))
        yield csvRecord(header, row);
    } catch (error) {
      if (error instanceof CsvError) throw new UnreadableRecordsError(`${object.key} is not valid CSV: ${error.message}`);
      throw error;
    }
    return;
  }
  const lines = new JsonLines(object.key);
  for await (const chunk of utf8Chunks(object.body)) yield* lines.push(chunk);
  yield* lines.end();
}

/** A CSV object's header; one without a needed column cannot be read as records. */
function recordHeader(key: string, header: readonly string[], rules: HoldRules): readonly string[] {
  const missing = missingColumns(header, [rules.buyerField, rules.sellerField, rules.amountField, rules.fraudScoreField]);
  if (missing.length > 0)
    throw new UnreadableRecordsError(
      `${key} has no ${missing.map((f) => `"${f}"`).join(', ')} column (its header is: ${header.join(', ')})`,
    );
  return header;
}

function csvRecord(header: readonly string[], { line, cells }: CsvRow): RawRecord {
  return { objectLine: line, fields: Object.fromEntries(header.map((name, index) => [name, cells[index]])) };
}

/**
 * JSON Lines, split as they arrive: one object per line (`\n`, or `\r\n`); blank lines are not records; a
 * BOM at the start is dropped. A line over MAX_RECORD_LINE_CHARS is an unreadable record, never held whole.
 */
class JsonLines {
  private parts: string[] = [];
  private length = 0;
  private tooLong = false;
  private index = 0;
  private first = true;

  constructor(private readonly key: string) {}

  *push(chunk: string): Generator<RawRecord> {
    if (this.first) {
      this.first = false;
      if (chunk.startsWith('\uFEFF')) chunk = chunk.slice(1);
    }
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf('\n', start);
      if (newline === -1) {
        this.keep(chunk.slice(start));
        return;
      }
      this.keep(chunk.slice(start, newline));
      const record = this.take(true);
      if (record) yield record;
      start = newline + 1;
    }
  }

  *end(): Generator<RawRecord> {
    const record = this.take(false);
    if (record) yield record;
  }

  private keep(text: string): void {
    if (this.tooLong || text === '') return;
    this.parts.push(text);
    this.length += text.length;
    if (this.length > MAX_RECORD_LINE_CHARS) {
      this.tooLong = true;
      this.parts = [];
    }
  }

  /** The line ended (by a newline, or the end of the object): its record, or undefined for a blank line. */
  private take(newline: boolean): RawRecord | undefined {
    this.index += 1;
    const objectLine = this.index;
    let text = this.parts.join('');
    const tooLong = this.tooLong;
    this.parts = [];
    this.length = 0;
    this.tooLong = false;
    if (tooLong) return { objectLine, unreadable: `line ${objectLine} of ${this.key} is longer than ${MAX_RECORD_LINE_CHARS} characters` };
    if (newline && text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') return undefined;
    let value: unknown;
    try {
      // Numbers keep their literal: two ids beyond 2^53 stay two ids.
      value = parseJsonKeepingNumbers(text);
    } catch {
      return { objectLine, unreadable: `line ${objectLine} of ${this.key} is not JSON` };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof JsonNumber) {
      return { objectLine, unreadable: `line ${objectLine} of ${this.key} is not a JSON object` };
    }
    return { objectLine, fields: value as { [field: string]: unknown } };
  }
}

function decide(
  line: number,
  object: { readonly key: string; readonly etag: string },
  record: RawRecord,
  rules: HoldRules,
  transformJob: string,
): Candidate {
  const columns = {
    line: String(line),
    object_key: object.key,
    object_etag: object.etag,
    object_line: String(record.objectLine),
    transaction_id: '',
    buyer: '',
    seller: '',
    amount_usdc: '',
    fraud_score: '',
    transform_job: transformJob,
  };
  if ('unreadable' in record) return { columns, problem: { status: 'INVALID', error: record.unreadable } };
  const field = (name: string) => fieldValue(record.fields, name);

  const transactionId = transactionIdOf(rules.transactionIdField, field(rules.transactionIdField));
  columns.transaction_id = transactionId.text;
  columns.buyer = agentIdText(field(rules.buyerField));
  columns.seller = agentIdText(field(rules.sellerField));
  const idRefused = transactionId.problem !== undefined;
  const invalid = (error: string, amountCents?: number): Candidate => ({
    columns,
    amountCents,
    idRefused,
    problem: { status: 'INVALID', error },
  });

  const score = toNumber(field(rules.fraudScoreField));
  if (score === undefined || score < 0 || score > 1) {
    return invalid(`${rules.fraudScoreField} must be a number between 0 and 1, got ${show(field(rules.fraudScoreField))}`);
  }
  columns.fraud_score = String(score);
  const amount = toNumber(field(rules.amountField));
  if (amount === undefined) return invalid(`${rules.amountField} must be a number, got ${show(field(rules.amountField))}`);
  const amountCents = toCentsRounded(amount);
  if (!(amountCents > 0)) return invalid(`${rules.amountField} must be positive, got ${show(field(rules.amountField))}`);
  // Whatever its score (a SKIPPED record's amount is logged too): past the largest a row may have, no amount.
  if (!(amountCents <= MAX_ROW_AMOUNT_USDC * 100))
    return invalid(
      `${rules.amountField} ${show(field(rules.amountField))} is over ${MAX_ROW_AMOUNT_USDC} USDC, the largest a row may have`,
    );
  columns.amount_usdc = (amountCents / 100).toFixed(2);
  // Whatever its score: a record whose id breaks the rule is INVALID, not SKIPPED.
  if (transactionId.problem !== undefined) return invalid(transactionId.problem, amountCents);
  if (score <= rules.fraudScoreThreshold) {
    return {
      columns,
      amountCents,
      problem: { status: 'SKIPPED', error: `fraud score ${score} is at or below the threshold ${rules.fraudScoreThreshold}` },
    };
  }
  // A hold goes to Act through input.csv, which must carry its object key exactly.
  const keyProblem = inputCsvProblem(object.key);
  if (keyProblem !== undefined)
    return invalid(
      `the object key ${shownValue(object.key)} has ${keyProblem}, which input.csv cannot pass on to Step Functions unchanged`,
      amountCents,
    );
  for (const [name, value] of [
    [rules.buyerField, columns.buyer],
    [rules.sellerField, columns.seller],
  ] as const) {
    const written = field(name);
    if (written instanceof JsonNumber && !WHOLE_NUMBER_LITERAL.test(written.literal))
      return invalid(`${name} ${shownLiteral(written.literal)} is not a valid agent id`, amountCents);
    const problem = agentCellProblem(name, value, rules.agentsFromRegistry === true);
    if (problem !== undefined) return invalid(problem, amountCents);
  }
  if (amountCents > toCentsRounded(rules.maxHoldUsdc))
    return invalid(`amount ${columns.amount_usdc} is over maxHoldUsdc ${rules.maxHoldUsdc}`, amountCents);
  return { columns, amountCents };
}

/**
 * A record's transaction id (trimmed) and, when it breaks the rule, why. None (missing, null, blank) is
 * no error: the record is identified by its place. A number is its literal, and must be a whole number
 * written as digits: `1.0` or `1e3` would not be the id `JSON.parse` made of them in earlier versions.
 */
function transactionIdOf(name: string, value: unknown): { text: string; problem?: string } {
  const refused = (text: string, why: string) => ({ text, problem: `${name} ${why}` });
  if (value === undefined || value === null) return { text: '' };
  if (value instanceof JsonNumber) {
    if (!WHOLE_NUMBER_LITERAL.test(value.literal)) {
      return refused(
        value.literal,
        `${shownLiteral(value.literal)} is not a valid transaction id: a number must be a whole number as digits (write any other id as a string)`,
      );
    }
    return TRANSACTION_ID_PATTERN.test(value.literal)
      ? { text: value.literal }
      : refused(value.literal, `${shownLiteral(value.literal)} is not a valid transaction id: ${TRANSACTION_ID_RULE}`);
  }
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '' || TRANSACTION_ID_PATTERN.test(text)) return { text };
    return refused(text, `${shownValue(text)} is not a valid transaction id: ${TRANSACTION_ID_RULE}`);
  }
  return refused('', `${show(value)} is not a valid transaction id: it must be a string or a whole number`);
}

/** A buyer's or seller's agent id as written (a number: its literal), trimmed; checked against the API's rule later. */
function agentIdText(value: unknown): string {
  if (typeof value === 'string') return value.trim();
  if (value instanceof JsonNumber) return value.literal;
  return '';
}

/**
 * A dotted path into a record. A Batch Transform that joins its input (`JoinSource: Input`) puts the
 * model's answer under `SageMakerOutput`: a field not found at the top is looked for there too.
 */
function fieldValue(fields: { readonly [field: string]: unknown }, path: string): unknown {
  const found = readPath(fields, path);
  if (found !== undefined) return found;
  const output = fields.SageMakerOutput;
  return output !== null && typeof output === 'object' && !(output instanceof JsonNumber)
    ? readPath(output as { [field: string]: unknown }, path)
    : undefined;
}

function readPath(fields: { readonly [field: string]: unknown }, path: string): unknown {
  if (path in fields) return fields[path];
  let current: unknown = fields;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || current instanceof JsonNumber) return undefined;
    current = (current as { [key: string]: unknown })[part];
  }
  return current;
}

function toNumber(value: unknown): number | undefined {
  if (value instanceof JsonNumber) value = value.value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return parseDecimal(value);
  return undefined;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value instanceof JsonNumber) return shownLiteral(value.literal);
  return typeof value === 'string' ? shownValue(value) : shownLiteral(JSON.stringify(value) ?? String(value));
}
