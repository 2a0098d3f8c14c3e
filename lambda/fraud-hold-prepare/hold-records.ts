import { MAX_ROW_AMOUNT_USDC, RowOutcome } from '../../lib/private/contracts/batch-engine';
import type { HoldFieldNames, HoldInputFormatName, HoldItem } from '../../lib/private/contracts/fraud-hold-env';
import { CsvWithHeader, missingColumns, readCsvWithHeader } from '../shared/batch/csv-with-header';
import { inputCsvProblem, linesByKey } from '../shared/batch/prepare-run';
import { parseDecimal, toCentsRounded } from '../shared/decimal';
import { JsonNumber, parseJsonKeepingNumbers, WHOLE_NUMBER_LITERAL } from '../shared/exact-json';
import { AGENT_ID_PATTERN } from '../shared/purpleflea-api';
import { shownLiteral, shownValue, TRANSACTION_ID_PATTERN, TRANSACTION_ID_RULE } from '../shared/record-ids';

export interface HoldRules extends HoldFieldNames {
  readonly inputFormat: HoldInputFormatName;
  readonly fraudScoreThreshold: number;
  readonly maxHoldUsdc: number;
}

/** One object of a run: a Batch Transform `.out` file, or an uploaded file. */
export interface RecordObject {
  readonly key: string;
  readonly etag: string;
  readonly body: Buffer;
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

interface Candidate {
  readonly columns: { -readonly [column in keyof HoldItem]: string };
  readonly amountCents?: number;
  readonly problem?: { readonly status: 'SKIPPED' | 'INVALID'; readonly error: string };
  /** Its transaction id breaks the rule: INVALID for that, never counted as a duplicate. */
  readonly idRefused?: boolean;
}

/**
 * Decides every record of a run's objects: a fraud score strictly above the threshold gets a hold
 * (buyer, seller, amount), at or below it is SKIPPED; a record that is not JSON, has no or a bad
 * amount, a score that is not a number in [0, 1], an invalid agent id, an amount over maxHoldUsdc,
 * a transaction id that breaks the id rule (record-ids.ts) or appears more than once, or an object key
 * that input.csv cannot carry, is INVALID. JSON numbers in the id fields keep the digits they were
 * written with (exact-json.ts). `line` numbers records across objects.
 */
export function decideHolds(objects: readonly RecordObject[], rules: HoldRules, transformJob: string): DecidedHolds {
  const candidates: Candidate[] = [];
  for (const object of objects) {
    for (const record of readRecords(object, rules)) {
      candidates.push(decide(candidates.length + 1, object, record, rules, transformJob));
    }
  }
  const linesByTransaction = linesByKey(candidates, (c) => (c.idRefused ? undefined : c.columns.transaction_id), (c) => Number(c.columns.line));

  const toAct: HoldItem[] = [];
  const notActedOn: RowOutcome[] = [];
  let totalToActCents = 0;
  for (const candidate of candidates) {
    const lines = linesByTransaction.get(candidate.columns.transaction_id) ?? [];
    const problem =
      lines.length > 1
        ? { status: 'INVALID' as const, error: `transaction ${shownValue(candidate.columns.transaction_id)} appears more than once (lines ${lines.join(', ')})` }
        : candidate.problem;
    if (problem) {
      const amount = candidate.amountCents === undefined ? undefined : candidate.amountCents / 100;
      notActedOn.push({ ...candidate.columns, line: Number(candidate.columns.line), amount_usdc: amount, status: problem.status, error: problem.error });
      continue;
    }
    totalToActCents += candidate.amountCents!;
    toAct.push(candidate.columns);
  }
  return { toAct, notActedOn, totalToActCents, rowCount: candidates.length };
}

type RawRecord = { readonly objectLine: number } & ({ readonly fields: { readonly [field: string]: unknown } } | { readonly unreadable: string });

function readRecords(object: RecordObject, rules: HoldRules): RawRecord[] {
  if (rules.inputFormat === 'CSV') {
    let csv: CsvWithHeader | undefined;
    try {
      csv = readCsvWithHeader(object.body);
    } catch (error) {
      throw new UnreadableRecordsError(`${object.key} is not valid CSV: ${(error as Error).message}`);
    }
    if (!csv) return [];
    const { header } = csv;
    const missing = missingColumns(header, [rules.buyerField, rules.sellerField, rules.amountField, rules.fraudScoreField]);
    if (missing.length > 0) throw new UnreadableRecordsError(`${object.key} has no ${missing.map((f) => `"${f}"`).join(', ')} column (its header is: ${header.join(', ')})`);
    return csv.rows.map(({ line, cells }) => ({ objectLine: line, fields: Object.fromEntries(header.map((name, index) => [name, cells[index]])) }));
  }
  // JSON Lines: one object per line; blank lines are not records.
  const records: RawRecord[] = [];
  object.body
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((text, index) => {
      if (text.trim() === '') return;
      let value: unknown;
      try {
        // Numbers keep their literal: two ids beyond 2^53 stay two ids.
        value = parseJsonKeepingNumbers(text);
      } catch {
        records.push({ objectLine: index + 1, unreadable: `line ${index + 1} of ${object.key} is not JSON` });
        return;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof JsonNumber) {
        records.push({ objectLine: index + 1, unreadable: `line ${index + 1} of ${object.key} is not a JSON object` });
        return;
      }
      records.push({ objectLine: index + 1, fields: value as { [field: string]: unknown } });
    });
  return records;
}

function decide(line: number, object: RecordObject, record: RawRecord, rules: HoldRules, transformJob: string): Candidate {
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
  const invalid = (error: string, amountCents?: number): Candidate => ({ columns, amountCents, idRefused, problem: { status: 'INVALID', error } });

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
  if (!(amountCents <= MAX_ROW_AMOUNT_USDC * 100)) return invalid(`${rules.amountField} ${show(field(rules.amountField))} is over ${MAX_ROW_AMOUNT_USDC} USDC, the largest a row may have`);
  columns.amount_usdc = (amountCents / 100).toFixed(2);
  // Whatever its score: a record whose id breaks the rule is INVALID, not SKIPPED.
  if (transactionId.problem !== undefined) return invalid(transactionId.problem, amountCents);
  if (score <= rules.fraudScoreThreshold) {
    return { columns, amountCents, problem: { status: 'SKIPPED', error: `fraud score ${score} is at or below the threshold ${rules.fraudScoreThreshold}` } };
  }
  // A hold goes to Act through input.csv, which must carry its object key exactly.
  const keyProblem = inputCsvProblem(object.key);
  if (keyProblem !== undefined) return invalid(`the object key ${shownValue(object.key)} has ${keyProblem}, which input.csv cannot pass on to Step Functions unchanged`, amountCents);
  for (const [name, value] of [[rules.buyerField, columns.buyer], [rules.sellerField, columns.seller]] as const) {
    const written = field(name);
    if (written instanceof JsonNumber && !WHOLE_NUMBER_LITERAL.test(written.literal)) return invalid(`${name} ${shownLiteral(written.literal)} is not a valid agent id`, amountCents);
    if (!AGENT_ID_PATTERN.test(value)) return invalid(`${name} ${shownValue(value)} is not a valid agent id`, amountCents);
  }
  if (amountCents > toCentsRounded(rules.maxHoldUsdc)) return invalid(`amount ${columns.amount_usdc} is over maxHoldUsdc ${rules.maxHoldUsdc}`, amountCents);
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
      return refused(value.literal, `${shownLiteral(value.literal)} is not a valid transaction id: a number must be a whole number as digits (write any other id as a string)`);
    }
    return TRANSACTION_ID_PATTERN.test(value.literal) ? { text: value.literal } : refused(value.literal, `${shownLiteral(value.literal)} is not a valid transaction id: ${TRANSACTION_ID_RULE}`);
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
  return output !== null && typeof output === 'object' && !(output instanceof JsonNumber) ? readPath(output as { [field: string]: unknown }, path) : undefined;
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
