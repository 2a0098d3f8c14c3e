import { MAX_ROW_AMOUNT_USDC, PayoutItem, RowOutcome } from '../../lib/private/contracts/batch-engine';
import { parseDecimal, toCentsRounded } from '../shared/decimal';
import { CsvWithHeader, missingColumns, readCsvWithHeader } from '../shared/batch/csv-with-header';
import { linesByKey } from '../shared/batch/prepare-run';
import { AGENT_ID_PATTERN } from '../shared/purpleflea-api';
import { shownValue } from '../shared/record-ids';

export interface ScoreRules {
  readonly agentIdColumn: string;
  readonly scoreColumn: string;
  readonly usdPerScorePoint: number;
  readonly minPayoutUsdc: number;
  readonly maxPayoutPerAgentUsdc: number;
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

interface Candidate {
  readonly line: number;
  readonly agentId: string;
  readonly score: string;
  readonly amountCents?: number;
  readonly problem?: { readonly status: 'SKIPPED' | 'INVALID'; readonly error: string };
}

/**
 * Reads a scores CSV (BOM, CRLF and quoted fields handled by csv-parse) and decides every row:
 * amount = round(score × usdPerScorePoint, 2); at or below minPayoutUsdc is SKIPPED; over
 * maxPayoutPerAgentUsdc, a bad agent id or score, and every row of an agent id that appears more
 * than once are INVALID. Other columns are ignored.
 */
export function scoreRows(content: Buffer | string, rules: ScoreRules): ScoredFile {
  let csv: CsvWithHeader | undefined;
  try {
    csv = readCsvWithHeader(content);
  } catch (error) {
    throw new UnreadableScoresError(`the scores file is not valid CSV: ${(error as Error).message}`);
  }
  if (!csv) throw new UnreadableScoresError('the scores file is empty: it has no header row');

  const { header } = csv;
  const missing = missingColumns(header, [rules.agentIdColumn, rules.scoreColumn]);
  if (missing.length > 0) {
    throw new UnreadableScoresError(
      `the scores file has no ${missing.map((c) => `"${c}"`).join(' or ')} column (its header is: ${header.map((c) => JSON.stringify(c)).join(', ')})`,
    );
  }
  const agentIdIndex = header.indexOf(rules.agentIdColumn);
  const scoreIndex = header.indexOf(rules.scoreColumn);

  const candidates = csv.rows.map(({ line, cells }) =>
    scoreRow(line, (cells[agentIdIndex] ?? '').trim(), (cells[scoreIndex] ?? '').trim(), rules),
  );

  // An agent id that breaks the rule is INVALID for that, not counted as a duplicate.
  const linesByAgent = linesByKey(candidates, (candidate) => (AGENT_ID_PATTERN.test(candidate.agentId) ? candidate.agentId : undefined), (candidate) => candidate.line);

  const toAct: PayoutItem[] = [];
  const notActedOn: RowOutcome[] = [];
  let totalToActCents = 0;
  for (const candidate of candidates) {
    const lines = linesByAgent.get(candidate.agentId) ?? [];
    const problem =
      lines.length > 1
        ? { status: 'INVALID' as const, error: `${rules.agentIdColumn} ${shownValue(candidate.agentId)} appears more than once (lines ${lines.join(', ')})` }
        : candidate.problem;
    const amount = candidate.amountCents === undefined ? undefined : candidate.amountCents / 100;
    if (problem) {
      notActedOn.push({ line: candidate.line, agent_id: candidate.agentId, score: candidate.score, amount_usdc: amount, status: problem.status, error: problem.error });
      continue;
    }
    totalToActCents += candidate.amountCents!;
    toAct.push({ line: String(candidate.line), agent_id: candidate.agentId, score: candidate.score, amount_usdc: amount!.toFixed(2) });
  }
  return { toAct, notActedOn, totalToActCents, rowCount: candidates.length };
}

function scoreRow(line: number, agentId: string, score: string, rules: ScoreRules): Candidate {
  const invalid = (error: string, amountCents?: number): Candidate => ({ line, agentId, score, amountCents, problem: { status: 'INVALID', error } });
  if (agentId === '') return invalid(`${rules.agentIdColumn} is empty`);
  if (!AGENT_ID_PATTERN.test(agentId)) return invalid(`${rules.agentIdColumn} ${shownValue(agentId)} is not a valid agent id`);
  if (score === '') return invalid(`${rules.scoreColumn} is empty`);
  const value = parseDecimal(score);
  if (value === undefined) return invalid(`${rules.scoreColumn} ${JSON.stringify(score)} is not a number`);
  if (value < 0) return invalid(`${rules.scoreColumn} ${score} is negative`);
  const amountCents = toCentsRounded(value * rules.usdPerScorePoint);
  // No amount in the log past the largest a row may have: its cents, and the run's totals, stay exact.
  if (!(amountCents <= MAX_ROW_AMOUNT_USDC * 100)) return invalid(`${rules.scoreColumn} ${score} gives an amount over ${MAX_ROW_AMOUNT_USDC} USDC, the largest a row may have`);
  const amount = amountCents / 100;
  if (amountCents <= toCentsRounded(rules.minPayoutUsdc)) {
    return { line, agentId, score, amountCents, problem: { status: 'SKIPPED', error: `amount ${amount.toFixed(2)} is at or below minPayoutUsdc ${rules.minPayoutUsdc}` } };
  }
  if (amountCents > toCentsRounded(rules.maxPayoutPerAgentUsdc)) {
    return invalid(`amount ${amount.toFixed(2)} is over maxPayoutPerAgentUsdc ${rules.maxPayoutPerAgentUsdc}`, amountCents);
  }
  return { line, agentId, score, amountCents };
}
