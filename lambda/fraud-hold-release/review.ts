/**
 * FraudHoldEscrow's review decisions, with no I/O: a completed A2I loop's `output.json` read and its answers combined,
 * and the user's `Purple Flea Hold Review Completed` event read.
 */
import type { ReviewAnswerSettings } from '../../lib/private/contracts/hold-review-env';
import { ACTION_KINDS, actionKeyPrefix } from '../../lib/private/contracts/action-keys';
import { holdActionKey } from '../shared/action-keys';
import { humanLoopNameOf } from '../shared/human-loop';
import { TRANSACTION_ID_PATTERN, TRANSACTION_ID_RULE } from '../shared/record-ids';

export type ReviewDecision = 'clear' | 'fraud';

/** A review's outcome: which hold, the decision, who decided and why. */
export interface Review {
  readonly holdActionKey: string;
  readonly transactionId?: string;
  readonly decision: ReviewDecision;
  readonly reviewer: string;
  readonly reason: string;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const fail = (reason: string): Parsed<never> => ({ ok: false, reason });

/** The longest reviewer and reason kept (the reason goes into a dispute's body and the ledger). */
export const MAX_REVIEWER_CHARS = 256;
export const MAX_REASON_CHARS = 1000;

/**
 * A loop's `output.json`: its `inputContent` names the hold (and must be the one the loop's name was derived from),
 * and its `humanAnswers` are combined:
 * - each answer is `answerContent.<answerField>` (a dotted path), a string, or an object with a `label` (a
 *   crowd-classifier's answer); it must be `fraudValue` or `clearValue`: any other answer, or none, decides nothing;
 * - `any-fraud` (the default): fraud if any reviewer answered fraud, clear only if every one answered clear;
 * - `majority`: clear if more reviewers answered clear than fraud; a tie is fraud.
 */
export function reviewOfLoopOutput(output: unknown, loopName: string, rules: ReviewAnswerSettings): Parsed<Review> {
  if (typeof output !== 'object' || output === null || Array.isArray(output)) return fail('output.json is not a JSON object');
  const { inputContent, humanAnswers } = output as { inputContent?: unknown; humanAnswers?: unknown };
  const input = typeof inputContent === 'string' ? safeJson(inputContent) : inputContent;
  const holdKey = (input as { hold_action_key?: unknown } | undefined)?.hold_action_key;
  if (typeof holdKey !== 'string' || !holdKey.startsWith(actionKeyPrefix(ACTION_KINDS.hold))) {
    return fail("output.json's inputContent has no hold_action_key (v1:hold:...): not a loop of this construct");
  }
  if (humanLoopNameOf(holdKey) !== loopName) {
    return fail(`output.json's inputContent names ${holdKey}, whose loop is ${humanLoopNameOf(holdKey)}, not ${loopName}`);
  }
  if (!Array.isArray(humanAnswers) || humanAnswers.length === 0) return fail('output.json has no humanAnswers');
  let fraud = 0;
  let clear = 0;
  const workers: string[] = [];
  for (const [index, answer] of humanAnswers.entries()) {
    const content = (answer as { answerContent?: unknown } | null)?.answerContent;
    const value = answerValue(pathIn(content, rules.answerField));
    if (value === rules.fraudValue) fraud += 1;
    else if (value === rules.clearValue) clear += 1;
    else {
      return fail(
        `answer ${index + 1} of ${humanAnswers.length}: answerContent.${rules.answerField} is ${JSON.stringify(value ?? null)}, ` +
          `neither ${JSON.stringify(rules.clearValue)} nor ${JSON.stringify(rules.fraudValue)}: the review decides nothing`,
      );
    }
    const worker = (answer as { workerId?: unknown }).workerId;
    if (typeof worker === 'string' && worker !== '') workers.push(worker);
  }
  const decision: ReviewDecision = rules.decisionRule === 'majority' ? (clear > fraud ? 'clear' : 'fraud') : fraud > 0 ? 'fraud' : 'clear';
  const transactionId = (input as { transaction_id?: unknown }).transaction_id;
  return {
    ok: true,
    value: {
      holdActionKey: holdKey,
      transactionId: typeof transactionId === 'string' ? transactionId : undefined,
      decision,
      reviewer: workers.length > 0 ? workers.join(',').slice(0, MAX_REVIEWER_CHARS) : `human loop ${loopName}`,
      reason: `A2I human loop ${loopName}: ${clear} clear, ${fraud} fraud (rule ${rules.decisionRule})`,
    },
  };
}

/** `Purple Flea Hold Review Completed`'s detail: `{ transactionId, decision: 'clear' | 'fraud', reviewer, reason }`. */
export function reviewOfEvent(detail: unknown): Parsed<Review> {
  if (typeof detail !== 'object' || detail === null) return fail('the event has no detail object');
  const { transactionId, decision, reviewer, reason } = detail as Record<string, unknown>;
  if (typeof transactionId !== 'string' || !TRANSACTION_ID_PATTERN.test(transactionId)) {
    return fail(`detail.transactionId ${JSON.stringify(transactionId ?? null)} is not a transaction id (${TRANSACTION_ID_RULE})`);
  }
  if (decision !== 'clear' && decision !== 'fraud') {
    return fail(`detail.decision must be "clear" or "fraud", got ${JSON.stringify(decision ?? null)}`);
  }
  if (typeof reviewer !== 'string' || reviewer.trim() === '' || reviewer.length > MAX_REVIEWER_CHARS) {
    return fail(`detail.reviewer must name who decided (1 to ${MAX_REVIEWER_CHARS} characters)`);
  }
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > MAX_REASON_CHARS) {
    return fail(`detail.reason must say why (1 to ${MAX_REASON_CHARS} characters)`);
  }
  return { ok: true, value: { holdActionKey: holdActionKey(transactionId), transactionId, decision, reviewer, reason } };
}

function pathIn(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function answerValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const label = (value as { label?: unknown } | null | undefined)?.label;
  return typeof label === 'string' ? label : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
