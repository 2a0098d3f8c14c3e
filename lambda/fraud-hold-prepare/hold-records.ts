import type { RowOutcome } from '../../lib/private/contracts/batch-engine';
import type { HoldFieldNames, HoldInputFormatName, HoldItem } from '../../lib/private/contracts/fraud-hold-env';
import { CsvWithHeader, missingColumns, readCsvWithHeader } from '../shared/batch/csv-with-header';
import { linesByKey } from '../shared/batch/prepare-run';
import { parseDecimal, toCentsRounded } from '../shared/decimal';
import { AGENT_ID_PATTERN } from '../shared/purpleflea-api';

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
  readonly payable: readonly HoldItem[];
  readonly notPaid: readonly RowOutcome[];
  readonly payableTotalCents: number;
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
}

/**
 * Decides every record of a run's objects: a fraud score strictly above the threshold gets a hold
 * (buyer, seller, amount), at or below it is SKIPPED; a record that is not JSON, has no or a bad
 * amount, a score that is not a number in [0, 1], an invalid agent id, an amount over maxHoldUsdc,
 * or a transaction id that appears more than once, is INVALID. `line` numbers records across objects.
 */
export function decideHolds(objects: readonly RecordObject[], rules: HoldRules, transformJob: string): DecidedHolds {
  const candidates: Candidate[] = [];
  for (const object of objects) {
    for (const record of readRecords(object, rules)) {
      candidates.push(decide(candidates.length + 1, object, record, rules, transformJob));
    }
  }
  const linesByTransaction = linesByKey(candidates, (c) => c.columns.transaction_id, (c) => Number(c.columns.line));

  const payable: HoldItem[] = [];
  const notPaid: RowOutcome[] = [];
  let payableTotalCents = 0;
  for (const candidate of candidates) {
    const lines = linesByTransaction.get(candidate.columns.transaction_id) ?? [];
    const problem =
      lines.length > 1
        ? { status: 'INVALID' as const, error: `transaction ${JSON.stringify(candidate.columns.transaction_id)} appears more than once (lines ${lines.join(', ')})` }
        : candidate.problem;
    if (problem) {
      const amount = candidate.amountCents === undefined ? undefined : candidate.amountCents / 100;
      notPaid.push({ ...candidate.columns, line: Number(candidate.columns.line), amount_usdc: amount, status: problem.status, error: problem.error });
      continue;
    }
    payableTotalCents += candidate.amountCents!;
    payable.push(candidate.columns);
  }
  return { payable, notPaid, payableTotalCents, rowCount: candidates.length };
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
        value = JSON.parse(text);
      } catch {
        records.push({ objectLine: index + 1, unreadable: `line ${index + 1} of ${object.key} is not JSON` });
        return;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
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
  const text = (value: unknown) => (typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '');

  columns.transaction_id = text(field(rules.transactionIdField));
  columns.buyer = text(field(rules.buyerField));
  columns.seller = text(field(rules.sellerField));
  const invalid = (error: string, amountCents?: number): Candidate => ({ columns, amountCents, problem: { status: 'INVALID', error } });

  const score = toNumber(field(rules.fraudScoreField));
  if (score === undefined || score < 0 || score > 1) {
    return invalid(`${rules.fraudScoreField} must be a number between 0 and 1, got ${show(field(rules.fraudScoreField))}`);
  }
  columns.fraud_score = String(score);
  const amount = toNumber(field(rules.amountField));
  if (amount === undefined) return invalid(`${rules.amountField} must be a number, got ${show(field(rules.amountField))}`);
  const amountCents = toCentsRounded(amount);
  if (!(amountCents > 0)) return invalid(`${rules.amountField} must be positive, got ${show(field(rules.amountField))}`);
  columns.amount_usdc = (amountCents / 100).toFixed(2);
  if (score <= rules.fraudScoreThreshold) {
    return { columns, amountCents, problem: { status: 'SKIPPED', error: `fraud score ${score} is at or below the threshold ${rules.fraudScoreThreshold}` } };
  }
  for (const [name, value] of [[rules.buyerField, columns.buyer], [rules.sellerField, columns.seller]] as const) {
    if (!AGENT_ID_PATTERN.test(value)) return invalid(`${name} ${JSON.stringify(value)} is not a valid agent id`, amountCents);
  }
  if (amountCents > toCentsRounded(rules.maxHoldUsdc)) return invalid(`amount ${columns.amount_usdc} is over maxHoldUsdc ${rules.maxHoldUsdc}`, amountCents);
  return { columns, amountCents };
}

/**
 * A dotted path into a record. A Batch Transform that joins its input (`JoinSource: Input`) puts the
 * model's answer under `SageMakerOutput`: a field not found at the top is looked for there too.
 */
function fieldValue(fields: { readonly [field: string]: unknown }, path: string): unknown {
  const found = readPath(fields, path);
  if (found !== undefined) return found;
  const output = fields.SageMakerOutput;
  return output !== null && typeof output === 'object' ? readPath(output as { [field: string]: unknown }, path) : undefined;
}

function readPath(fields: { readonly [field: string]: unknown }, path: string): unknown {
  if (path in fields) return fields[path];
  let current: unknown = fields;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as { [key: string]: unknown })[part];
  }
  return current;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return parseDecimal(value);
  return undefined;
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value);
}
