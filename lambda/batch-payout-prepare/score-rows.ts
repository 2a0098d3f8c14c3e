import type { Readable } from 'node:stream';
import { CsvError } from 'csv-parse';
import { MAX_ROW_AMOUNT_USDC, PayoutItem, RowOutcome } from '../../lib/private/contracts/batch-engine';
import { parseDecimal, toCentsRounded } from '../shared/decimal';
import { CsvRow, CsvWithHeader, missingColumns, readCsvWithHeader, streamCsvWithHeader } from '../shared/batch/csv-with-header';
import { decideRows, DecidedRow, RowRules } from '../shared/batch/prepare-run';
import { agentCellProblem } from '../shared/model-version-agents';
import { shownValue } from '../shared/record-ids';

export interface ScoreRules {
  readonly agentIdColumn: string;
  readonly scoreColumn: string;
  readonly usdPerScorePoint: number;
  readonly minPayoutUsdc: number;
  readonly maxPayoutPerAgentUsdc: number;
  /** `agentsFrom`: an agent id cell may be a model version ARN, which Pay resolves to its agent. */
  readonly agentsFromRegistry?: boolean;
}

/** A scores file, sorted into the rows to pay and the rows that are not paid, each with a reason. */
export interface ScoredFile {
  readonly toAct: readonly PayoutItem[];
  /** SKIPPED and INVALID rows, in file order. */
  readonly notActedOn: readonly RowOutcome[];
  readonly totalToActCents: number;
  readonly rowCount: number;
}

/** A file no row of which may be paid: its header lacks a column, or it has no header at all. */
export class UnreadableScoresError extends Error {
  override readonly name = 'UnreadableScoresError';
}

/** One row of a scores file: its line, and its agent id and score as written (trimmed). */
export interface ScoreRow {
  readonly line: number;
  readonly agentId: string;
  readonly score: string;
}

/**
 * Reads a scores CSV held in memory (BOM, CRLF and quoted fields handled by csv-parse) and decides every
 * row (see {@link scoreRowRules}). Prepare streams the file instead ({@link streamScoreRows}, prepare-run.ts);
 * both decide with the same rules and the same check of repeated agent ids.
 */
export function scoreRows(content: Buffer | string, rules: ScoreRules): ScoredFile {
  let csv: CsvWithHeader | undefined;
  try {
    csv = readCsvWithHeader(content);
  } catch (error) {
    throw new UnreadableScoresError(`the scores file is not valid CSV: ${(error as Error).message}`);
  }
  if (!csv) throw new UnreadableScoresError('the scores file is empty: it has no header row');
  const columns = scoreColumns(csv.header, rules);
  return decideRows(
    csv.rows.map((row) => scoreRowOf(row, columns)),
    scoreRowRules(rules),
  );
}

/**
 * The rows of a scores file, read from a stream as they arrive. Throws {@link UnreadableScoresError} for a
 * file that is empty, has not the columns, or is not CSV (a record over 1 MiB included).
 */
export async function* streamScoreRows(body: Readable, rules: ScoreRules): AsyncGenerator<ScoreRow> {
  let columns: { agentId: number; score: number } | undefined;
  try {
    for await (const row of streamCsvWithHeader(body, (header) => (columns = scoreColumns(header, rules)))) yield scoreRowOf(row, columns!);
  } catch (error) {
    if (error instanceof CsvError) throw new UnreadableScoresError(`the scores file is not valid CSV: ${error.message}`);
    throw error;
  }
  if (!columns) throw new UnreadableScoresError('the scores file is empty: it has no header row');
}

/** Where the agent id and the score are; a file without them pays no one. */
function scoreColumns(header: readonly string[], rules: ScoreRules): { agentId: number; score: number } {
  const missing = missingColumns(header, [rules.agentIdColumn, rules.scoreColumn]);
  if (missing.length > 0) {
    throw new UnreadableScoresError(
      `the scores file has no ${missing.map((c) => `"${c}"`).join(' or ')} column (its header is: ${header.map((c) => JSON.stringify(c)).join(', ')})`,
    );
  }
  return { agentId: header.indexOf(rules.agentIdColumn), score: header.indexOf(rules.scoreColumn) };
}

function scoreRowOf({ line, cells }: CsvRow, columns: { agentId: number; score: number }): ScoreRow {
  return { line, agentId: (cells[columns.agentId] ?? '').trim(), score: (cells[columns.score] ?? '').trim() };
}

/**
 * How a scores row is decided: amount = round(score × usdPerScorePoint, 2); at or below minPayoutUsdc is
 * SKIPPED; over maxPayoutPerAgentUsdc, a bad agent id or score, and every row of an agent id that appears
 * more than once are INVALID. Other columns are ignored.
 */
export function scoreRowRules(rules: ScoreRules): RowRules<ScoreRow, PayoutItem> {
  return {
    decide: (row) => scoreRow(row, rules),
    outcomeOf: (row, problem) => ({
      line: row.line,
      agent_id: row.item.agent_id,
      score: row.item.score,
      amount_usdc: row.amountCents === undefined ? undefined : row.amountCents / 100,
      status: problem.status,
      error: problem.error,
    }),
    repeatedError: (agentId, lines) => `${rules.agentIdColumn} ${shownValue(agentId)} appears more than once (${lines})`,
  };
}

function scoreRow({ line, agentId, score }: ScoreRow, rules: ScoreRules): DecidedRow<PayoutItem> {
  // An agent id that breaks the rule is INVALID for that, not counted as a repeat. With agentsFrom, a model version
  // ARN is a key too: two rows naming one version are both INVALID, as two rows naming one agent id are. (A row naming
  // a version and another naming its agent directly are told apart only by Pay, which resolves the version: one
  // payout, keyed by the agent; see docs/design.md.)
  const agentProblem = agentCellProblem(rules.agentIdColumn, agentId, rules.agentsFromRegistry === true);
  const key = agentProblem === undefined ? agentId : undefined;
  const row = (amountCents?: number) => ({
    line,
    key,
    amountCents,
    item: { line: String(line), agent_id: agentId, score, amount_usdc: amountCents === undefined ? '' : (amountCents / 100).toFixed(2) },
  });
  const invalid = (error: string, amountCents?: number): DecidedRow<PayoutItem> => ({
    ...row(amountCents),
    problem: { status: 'INVALID', error },
  });
  if (agentId === '') return invalid(`${rules.agentIdColumn} is empty`);
  if (agentProblem !== undefined) return invalid(agentProblem);
  if (score === '') return invalid(`${rules.scoreColumn} is empty`);
  const value = parseDecimal(score);
  if (value === undefined) return invalid(`${rules.scoreColumn} ${JSON.stringify(score)} is not a number`);
  if (value < 0) return invalid(`${rules.scoreColumn} ${score} is negative`);
  const amountCents = toCentsRounded(value * rules.usdPerScorePoint);
  // No amount in the log past the largest a row may have: its cents, and the run's totals, stay exact.
  if (!(amountCents <= MAX_ROW_AMOUNT_USDC * 100))
    return invalid(`${rules.scoreColumn} ${score} gives an amount over ${MAX_ROW_AMOUNT_USDC} USDC, the largest a row may have`);
  const amount = amountCents / 100;
  if (amountCents <= toCentsRounded(rules.minPayoutUsdc)) {
    return {
      ...row(amountCents),
      problem: { status: 'SKIPPED', error: `amount ${amount.toFixed(2)} is at or below minPayoutUsdc ${rules.minPayoutUsdc}` },
    };
  }
  if (amountCents > toCentsRounded(rules.maxPayoutPerAgentUsdc)) {
    return invalid(`amount ${amount.toFixed(2)} is over maxPayoutPerAgentUsdc ${rules.maxPayoutPerAgentUsdc}`, amountCents);
  }
  return row(amountCents);
}
