import type { LedgerRecord } from '../../lib/private/contracts/ledger-schema';
import type { ActionSummary, ResolveResult } from './ledger-operator';
import type { ReleaseResult } from './escrow-release';
import type { CheckResult } from './lost-answer-check';

/** JSON as the operator reads it: DynamoDB string sets (e.g. a cap counter's released resolutions) become arrays. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (item instanceof Set ? [...item] : item), 2);
}

/**
 * What a terminal may act on rather than print: the C0 controls (ESC, CR, LF, TAB, BEL...), DEL, the C1
 * controls (CSI, NEL...), the Unicode bidi controls (LRM, RLM, ALM, the embeddings and overrides, the
 * isolates) and the line and paragraph separators.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NON_PRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED_ESCAPES: { readonly [char: string]: string } = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `text` with every non-printable character written out visibly (`\n`, `\r`, `\t`, `\x1b`, `\x9b`,
 * `\u202e`), so that a value read from a record prints as text and never moves the cursor, erases a
 * line, starts a new one or reorders what follows. Every text output goes through it; `--json` does not.
 */
export function printable(text: string): string {
  return text.replace(NON_PRINTABLE, (char) => {
    const code = char.charCodeAt(0);
    return NAMED_ESCAPES[char] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/** `printable` line by line: the line breaks of a text the command itself laid out stay line breaks. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

const ERROR_COLUMN_CHARS = 60;

/**
 * `list` as aligned columns; the action key last and whole, so it can be copied into `show` or `resolve`.
 * `plan`, how the list was read (the attention index or a scan, and the items read), follows the count.
 */
export function formatActionTable(
  actions: readonly ActionSummary[],
  plan?: { readonly read: 'index' | 'scan'; readonly itemsRead: number },
): string {
  const cost = plan
    ? ` (${plan.read === 'index' ? 'from the attention index' : 'scanned the whole table'}: ${plan.itemsRead} items read)`
    : '';
  if (actions.length === 0) return `no actions match${cost}\n`;
  const header = ['UPDATED', 'STATE', 'KIND', 'USDC', 'ATTEMPTS', 'REFERENCE', 'ERROR', 'ACTION KEY'];
  // Escaped before the widths are measured, so that the columns line up as printed.
  const rows = actions.map((action) => [
    printable(action.updatedAt ?? ''),
    printable(action.leaseExpired ? `${action.state} (lease expired)` : action.state),
    printable(action.kind ?? ''),
    action.amountUsdc === undefined ? '' : printable(String(action.amountUsdc)),
    action.attempts === undefined ? '' : printable(String(action.attempts)),
    printable(action.reference ?? ''),
    oneLine(action.error ?? '', ERROR_COLUMN_CHARS),
    printable(action.actionKey),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]))).join('  ');
  const count = `${actions.length} action${actions.length === 1 ? '' : 's'}`;
  return [line(header), ...rows.map(line), count + cost].join('\n') + '\n';
}

export function formatRecord(record: LedgerRecord, now: number): string {
  if (record.state === undefined) {
    // A cap counter, shown as stored.
    return `${printable(record.actionKey)} is not an action (it has no state)\n${printableLines(toJson(record))}\n`;
  }
  const fields: [string, string | undefined][] = [
    ['action', record.actionKey],
    ['state', record.state],
    ['amount', record.amountUsdc === undefined ? undefined : `${record.amountUsdc} USDC`],
    ['attempts', record.attempts === undefined ? undefined : String(record.attempts)],
    ['created', record.createdAt],
    ['updated', record.updatedAt],
    [
      'lease',
      record.state === 'CLAIMED' || record.state === 'SENDING'
        ? `${new Date(record.leaseExpiresAt).toISOString()}${record.leaseExpiresAt < now ? ' (expired)' : ''}`
        : undefined,
    ],
    ['cap', record.capCounterKey === undefined ? undefined : `${record.capReservedCents ?? 0} cents reserved on ${record.capCounterKey}`],
    ['error', record.error],
    ['notified', record.notifiedAt],
  ];
  const width = Math.max(...fields.map(([name]) => name.length)) + 2;
  const lines = fields.filter(([, value]) => value !== undefined).map(([name, value]) => `${name.padEnd(width)}${printable(value!)}`);
  // JSON escapes C0 controls in strings but leaves DEL, C1, bidi controls and U+2028/2029 as they are.
  lines.push('request', indent(printableLines(toJson(record.request ?? null))));
  if (record.response !== undefined) lines.push('response', indent(printableLines(toJson(record.response))));
  lines.push('history');
  if (!record.history?.length) lines.push('  (none recorded: written before the ledger kept history)');
  for (const entry of record.history ?? []) {
    const details = [
      entry.error,
      entry.by && `by ${entry.by}`,
      entry.reference && `reference ${entry.reference}`,
      entry.reason && `reason: ${entry.reason}`,
    ].filter(Boolean);
    lines.push(
      `  ${printable(entry.at)}  ${printable(entry.event).padEnd(14)}  ${printable(entry.state).padEnd(9)}  ${printable(details.join('; '))}`.trimEnd(),
    );
  }
  if (record.resolutions?.length) {
    lines.push('resolutions');
    for (const resolution of record.resolutions) {
      const reference = resolution.reference === undefined ? '' : ` (reference ${resolution.reference})`;
      lines.push(`  ${printable(resolution.at)}  ${printable(`${resolution.as}${reference} by ${resolution.by}: ${resolution.reason}`)}`);
    }
  }
  return lines.join('\n') + '\n';
}

export function formatResolution(result: ResolveResult): string {
  const { record, resolution } = result;
  // Each line is one sentence about one record: escaped whole, a value from the record cannot break it.
  const lines: string[] = [];
  if (result.markedUnknown) lines.push(`${record.actionKey} was SENDING with an expired lease: marked UNKNOWN first`);
  if (result.alreadyResolved) {
    lines.push(
      `${record.actionKey} was already resolved as ${resolution.as} by ${resolution.by} at ${resolution.at} (it is ${record.state}); ` +
        'only the release of its cap reservation was left to do',
    );
  } else if (resolution.as === 'succeeded') {
    lines.push(
      `resolved ${record.actionKey} as succeeded: now SUCCEEDED with reference ${resolution.reference}; a repeat delivery returns it without a call`,
    );
  } else {
    lines.push(`resolved ${record.actionKey} as not-executed: now REJECTED; the next delivery, rerun or redrive sends it again`);
  }
  if (result.capRelease?.released) lines.push(`gave back ${result.capRelease.cents} cents reserved on ${result.capRelease.counterKey}`);
  if (result.capRelease && !result.capRelease.released) {
    lines.push(
      `nothing given back on ${result.capRelease.counterKey}: the counter is gone (expired) or holds less than ${result.capRelease.cents} cents`,
    );
  }
  return lines.map(printable).join('\n') + '\n';
}

/** An error message on one line: its line breaks read as spaces, anything else non-printable is escaped. */
function oneLine(text: string, maxChars: number): string {
  const flat = printable(text.replace(/[ \t]*\r?\n[ \t]*/g, ' '))
    .replace(/ {2,}/g, ' ')
    .trim();
  return flat.length > maxChars ? `${flat.slice(0, maxChars - 1)}…` : flat;
}

function indent(text: string): string {
  return text.replace(/^/gm, '  ');
}

/**
 * `show --check`, after the record: the send window searched, each candidate with its confidence and reference,
 * the notes, and that nothing was resolved.
 */
export function formatCheck(check: CheckResult): string {
  const lines = ['check (services profile)', `  window    ${check.window.from} .. ${check.window.to}`];
  if (check.candidates.length === 0) lines.push('candidates', '  none: no read route shows this action');
  else {
    lines.push('candidates');
    for (const candidate of check.candidates) {
      lines.push(
        `  ${printable(candidate.confidence.padEnd(8))}  ${printable(candidate.reference ?? '(no id)')}  ${printable(candidate.source)}`,
        `            ${printable(candidate.why)}`,
      );
    }
  }
  if (check.notes.length) lines.push('notes', ...check.notes.map((note) => `  ${printable(note)}`));
  lines.push('nothing was resolved: after checking, record it with resolve --as succeeded --reference <id> or resolve --as not-executed');
  return lines.join('\n') + '\n';
}

/**
 * `release`, on one line: the release's status and what happened, then the escrow, its amount, the release's key, the
 * hold or bonus escrow it releases, and who decided it and why (as the release record keeps them). Escaped whole:
 * a reason's line break prints as `\n`, and nothing from a record moves the terminal.
 */
export function formatRelease(result: ReleaseResult): string {
  const { status, actionKey } = result;
  let what: string;
  if (status === 'SUCCEEDED') {
    if (result.repeated) what = `already released, as recorded at ${result.recordedAt ?? '?'}: nothing sent`;
    else if (result.releasedBefore) what = 'released before (a 409, read back: the escrow is released); recorded as released';
    else what = 'released';
  } else if (status === 'REJECTED') {
    what = `not released: ${result.error ?? 'refused'}; the escrow stays as it is`;
  } else if (status === 'UNKNOWN') {
    what =
      (result.repeated ? `the release is UNKNOWN (recorded at ${result.recordedAt ?? '?'}): nothing sent` : 'the answer was lost') +
      `${result.error && !result.repeated ? ` (${result.error})` : ''}: the escrow may be released; it is never sent again: check it at Purple Flea (GET /escrow/${result.escrowId}), then resolve ${actionKey}`;
  } else {
    what = `another caller holds the release (${result.recordState ?? 'in progress'}): nothing sent; show ${actionKey} to see how it ends`;
  }
  const decision = result.decision
    ? `decided by ${result.decision.by} (${result.decision.source}): ${result.decision.reason}`
    : 'no decision recorded: released without one, as on a model approval';
  return (
    printable(
      `${status}: ${what} (escrow ${result.escrowId}, ${result.amountUsdc} USDC, ${actionKey}, of ${result.creationKey}; ${decision})`,
    ) + '\n'
  );
}
