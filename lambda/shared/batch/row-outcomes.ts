import { ActRowOutcome, MAX_ROW_AMOUNT_USDC, RowOutcome, RowStatus } from '../../../lib/private/contracts/batch-engine';
import type { LedgerRecord } from '../action-ledger';
import { centsOfAmount, usdcOfCents } from '../decimal';

/**
 * The columns of a row whose action the ledger already had: the amount it recorded (what moved, or may
 * have), and, where this run computed another, that one and a note saying so.
 */
export function withRecordedAmount(columns: RowColumns, recordedUsdc: number | undefined): RowColumns {
  if (recordedUsdc === undefined) return columns;
  const computed = columns.amount_usdc;
  if (computed !== undefined && centsOfAmount(computed) === centsOfAmount(recordedUsdc)) return { ...columns, amount_usdc: recordedUsdc };
  const computedText = computed === undefined ? 'no amount' : `${computed.toFixed(2)} USDC`;
  return {
    ...columns,
    amount_usdc: recordedUsdc,
    computed_amount_usdc: computed,
    note: `repeated: the ledger recorded ${recordedUsdc.toFixed(2)} USDC for this action; this run computed ${computedText}`,
  };
}

export const ROW_STATUSES: readonly RowStatus[] = ['SUCCEEDED', 'SKIPPED', 'INVALID', 'REJECTED', 'UNKNOWN', 'IN_PROGRESS'];

/** A row's columns as the run's log shows them: its line, its amount, and the construct's own. */
export type RowColumns = { readonly line: number; readonly amount_usdc?: number; readonly [column: string]: unknown };

export type Totals = { rows: number; amountUsdc: number } & { [status in RowStatus]: { rows: number; amountUsdc: number } };

/** The reason of a row that no invocation of this run attempted and no one holds in the ledger. */
export const NEVER_ATTEMPTED = 'never attempted: its batch did not run (a rerun or redrive pays it)';

/**
 * The outcome of a row to act on the Map did not settle (its batch failed, or another invocation held
 * it), from the ledger at `now`. A row held under a live lease is IN_PROGRESS: its holder may still
 * send it, so neither REJECTED nor UNKNOWN would be true yet. A lease that ran out tells what happened:
 * CLAIMED was never sent, SENDING may have been.
 */
export function outcomeFromLedger(computed: RowColumns, record: LedgerRecord | undefined, now: number): RowOutcome {
  // Where the request went out, or may have, or is held: the amount the ledger recorded. Otherwise nothing
  // moved, and a rerun sends this run's amount.
  const sentOrHeld = record !== undefined && record.state !== 'REJECTED' && !(record.state === 'CLAIMED' && record.leaseExpiresAt < now);
  const base = sentOrHeld ? withRecordedAmount(computed, record.amountUsdc) : computed;
  const held = (state: string) =>
    `another invocation holds it (${state} until ${new Date(record!.leaseExpiresAt).toISOString()}): an overlapping run of the same file, or a retried batch, is sending it`;
  switch (record?.state) {
    case 'SUCCEEDED':
      return { ...base, status: 'SUCCEEDED', result: record.response, repeated: true };
    case 'UNKNOWN':
      return { ...base, status: 'UNKNOWN', error: record.error };
    case 'SENDING':
      if (record.leaseExpiresAt >= now) return { ...base, status: 'IN_PROGRESS', error: held('SENDING') };
      return {
        ...base,
        status: 'UNKNOWN',
        error: 'still SENDING after its lease when the run was summarized: the request may have taken effect',
      };
    case 'REJECTED':
      return { ...base, status: 'REJECTED', error: record.error };
    case 'CLAIMED':
      if (record.leaseExpiresAt >= now) return { ...base, status: 'IN_PROGRESS', error: held('CLAIMED') };
      return { ...base, status: 'REJECTED', error: 'claimed but never sent (a rerun or redrive pays it)' };
    default:
      return { ...base, status: 'REJECTED', error: NEVER_ATTEMPTED };
  }
}

/**
 * In a run that overlapped another invocation, a row this run never attempted may still be sent by
 * that invocation (it had not reached it yet): IN_PROGRESS, not REJECTED.
 */
export function notAttemptedWhileOverlapping(row: RowOutcome): RowOutcome {
  if (row.status !== 'REJECTED' || row.error !== NEVER_ATTEMPTED) return row;
  return {
    ...row,
    status: 'IN_PROGRESS',
    error: 'not attempted by this run while another invocation was sending rows of the same file: it may still send this one',
  };
}

/** True for a row the Map settled: a final status, not IN_PROGRESS. */
export function isSettled(row: ActRowOutcome | undefined): row is RowOutcome {
  return row !== undefined && row.status !== 'IN_PROGRESS';
}

/**
 * Totals per status, summed in whole cents (BigInt, from each amount's decimal text) so that they reconcile
 * exactly. With every amount at most MAX_ROW_AMOUNT_USDC and their sum at most MAX_RUN_TOTAL_USDC (Prepare
 * refuses a file otherwise), each total is an exact JSON number.
 */
export function totalsOf(rows: readonly RowOutcome[]): Totals {
  const counter = new TotalsCounter();
  for (const row of rows) counter.add(row);
  return counter.totals();
}

/** {@link totalsOf}, one row at a time: what a log written as a stream keeps of its rows. */
export class TotalsCounter {
  private readonly cents = new Map<RowStatus, bigint>(ROW_STATUSES.map((status) => [status, 0n]));
  private readonly counts = new Map<RowStatus, number>(ROW_STATUSES.map((status) => [status, 0]));
  private rows = 0;

  add(row: RowOutcome): void {
    this.rows += 1;
    this.counts.set(row.status, (this.counts.get(row.status) ?? 0) + 1);
    this.cents.set(row.status, (this.cents.get(row.status) ?? 0n) + centsOfAmount(row.amount_usdc));
  }

  totals(): Totals {
    const all = [...this.cents.values()].reduce((a, b) => a + b, 0n);
    const totals = { rows: this.rows, amountUsdc: usdcOfCents(all) } as Totals;
    for (const status of ROW_STATUSES)
      totals[status] = { rows: this.counts.get(status) ?? 0, amountUsdc: usdcOfCents(this.cents.get(status) ?? 0n) };
    return totals;
  }
}

/**
 * An amount the run's log may show: whole cents from 0 to MAX_ROW_AMOUNT_USDC, as Prepare writes them. Any
 * other (only an `input.csv` rewritten after Prepare has one: Pay or Act made that row INVALID, naming the
 * value) is left out of the row and its totals, which stay exact.
 */
export function loggableAmount(amount: number | undefined): number | undefined {
  if (amount === undefined || !(amount >= 0 && amount <= MAX_ROW_AMOUNT_USDC)) return undefined;
  return Number.isInteger(Number((amount * 100).toPrecision(12))) ? amount : undefined;
}
