/**
 * The rule for a FraudHoldEscrow transaction id (docs/constructs/fraud-hold-escrow.md), checked where records are read.
 *
 * 1 to 128 characters, each an ASCII letter or digit or one of `_ . : @ + = -`. So an id:
 * - keeps its hold key `v1:hold:<id>` within 136 bytes, far below DynamoDB's 2,048-byte partition key
 *   (an id the ledger cannot store would fail its claim on every run);
 * - never has a `/`, which every key of a record identified by its place has
 *   (`v1:hold:<bucket>/<key>:<ETag>:<line>`): an id cannot take another record's key;
 * - has nothing that `input.csv` must quote or escape (comma, double quote, backslash, line breaks) and no
 *   space (ids are trimmed where they are read): Step Functions' CSV reader gives Act the id as written;
 * - reads the same in the ledger, the logs, the operator's command line and a condition template.
 * A number is its digits as written (see exact-json.ts), so `-1` or 30-digit ids pass.
 *
 * Agent ids have the API's own rule, `AGENT_ID_PATTERN` (purpleflea-api.ts): 1 to 128 characters too.
 */
export const TRANSACTION_ID_PATTERN = /^[A-Za-z0-9_.:@+=-]{1,128}$/;

/** The rule in words, for the reason an id is refused. */
export const TRANSACTION_ID_RULE = '1 to 128 letters, digits and _ . : @ + = -';

/** The longest part of a value that a reason quotes. */
const SHOWN_CHARACTERS = 64;

/**
 * A value for a reason: as JSON, and cut to its first 64 characters with its length when longer, so a
 * 2 KB id does not make a 2 KB log line.
 */
export function shownValue(value: string): string {
  if (value.length <= SHOWN_CHARACTERS) return JSON.stringify(value);
  return `${JSON.stringify(`${value.slice(0, SHOWN_CHARACTERS)}…`)} (${value.length} characters)`;
}

/** A literal (a JSON number, an object's JSON) for a reason, as it is, cut the same way. */
export function shownLiteral(literal: string): string {
  return literal.length <= SHOWN_CHARACTERS ? literal : `${literal.slice(0, SHOWN_CHARACTERS)}… (${literal.length} characters)`;
}
