import { ActRowOutcome, RowOutcome, RowStatus } from '../../../lib/private/contracts/batch-engine';
import type { LedgerRecord } from '../action-ledger';

export const ROW_STATUSES: readonly RowStatus[] = ['SUCCEEDED', 'SKIPPED', 'INVALID', 'REJECTED', 'UNKNOWN'];

/** A row's columns as the run's log shows them: its line, its amount, and the construct's own. */
export type RowColumns = { readonly line: number; readonly amount_usdc?: number; readonly [column: string]: unknown };

export type Totals = { rows: number; amountUsdc: number } & { [status in RowStatus]: { rows: number; amountUsdc: number } };

/**
 * The outcome of a payable row the Map did not settle (its batch failed, or another run held it):
 * what the ledger says, or REJECTED when nothing was ever sent.
 */
export function outcomeFromLedger(base: RowColumns, record: LedgerRecord | undefined): RowOutcome {
  switch (record?.state) {
    case 'SUCCEEDED':
      return { ...base, status: 'SUCCEEDED', result: record.response, repeated: true };
    case 'UNKNOWN':
      return { ...base, status: 'UNKNOWN', error: record.error };
    case 'SENDING':
      return { ...base, status: 'UNKNOWN', error: 'still SENDING when the run was summarized: the request may have taken effect' };
    case 'REJECTED':
      return { ...base, status: 'REJECTED', error: record.error };
    case 'CLAIMED':
      return { ...base, status: 'REJECTED', error: 'claimed but never sent (a rerun or redrive pays it)' };
    default:
      return { ...base, status: 'REJECTED', error: 'never attempted: its batch did not run (a rerun or redrive pays it)' };
  }
}

/** True for a row the Map settled: a final status, not IN_PROGRESS. */
export function isSettled(row: ActRowOutcome | undefined): row is RowOutcome {
  return row !== undefined && row.status !== 'IN_PROGRESS';
}

/** Totals per status, counted in whole cents so that they reconcile exactly. */
export function totalsOf(rows: readonly RowOutcome[]): Totals {
  const cents: { [status: string]: number } = {};
  const counts: { [status: string]: number } = {};
  for (const status of ROW_STATUSES) {
    cents[status] = 0;
    counts[status] = 0;
  }
  for (const row of rows) {
    counts[row.status] += 1;
    cents[row.status] += Math.round((row.amount_usdc ?? 0) * 100);
  }
  const totals = { rows: rows.length, amountUsdc: Object.values(cents).reduce((a, b) => a + b, 0) / 100 } as Totals;
  for (const status of ROW_STATUSES) totals[status] = { rows: counts[status], amountUsdc: cents[status] / 100 };
  return totals;
}
