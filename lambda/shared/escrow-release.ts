import { actionKindOf, referenceOf } from '../../lib/private/contracts/action-keys';
import type { LedgerRecord } from './action-ledger';
import { releaseActionKey } from './action-keys';
import { readBackConflict } from './escrow-read-back';
import type { MoneyAction } from './money-path';
import type { PurpleFleaApiProfile } from './purpleflea-api';
import type { ReadApi } from './purpleflea-client';

/** What a release is of: the escrow the library created, as its creation's ledger record has it. */
export interface EscrowToRelease {
  readonly escrowId: string;
  /** The escrow's amount, as the creation recorded it: what the release counts as moved. */
  readonly amountUsdc: number;
}

/** What the ledger record of an escrow's creation (a training bonus, a hold) says about releasing that escrow. */
export type CreatedEscrow =
  /** No record: nothing was created under this key (no bonus earned, no hold placed, or not this construct's). */
  | { readonly kind: 'none' }
  /** REJECTED: the creation was refused, so no escrow exists. */
  | { readonly kind: 'refused'; readonly error?: string }
  /** In flight or UNKNOWN: the escrow may exist; a release waits for the creation to settle, never guesses. */
  | { readonly kind: 'unsettled'; readonly state: string }
  /** SUCCEEDED, but without the escrow id or the amount a release needs. */
  | { readonly kind: 'incomplete' }
  | ({ readonly kind: 'created' } & EscrowToRelease);

/** Reads a creation's record (`v1:escrow:<job ARN>`, `v1:hold:<transaction id>`) as the escrow to release, or why not. */
export function createdEscrow(record: LedgerRecord | undefined): CreatedEscrow {
  if (record === undefined) return { kind: 'none' };
  if (record.state === 'REJECTED') return { kind: 'refused', error: record.error };
  if (record.state !== 'SUCCEEDED') return { kind: 'unsettled', state: record.state };
  const escrowId = referenceOf(actionKindOf(record.actionKey), record.response);
  if (escrowId === undefined || record.amountUsdc === undefined) return { kind: 'incomplete' };
  return { kind: 'created', escrowId, amountUsdc: record.amountUsdc };
}

/**
 * The money action that releases an escrow once (`v1:release:<escrow id>`). A 409 `invalid_status` says only that
 * the escrow can no longer be released, so it is read back (`GET /escrow/{id}`) before it is recorded:
 * - `released`: it was released before (an earlier attempt whose answer was lost, or by hand): SUCCEEDED, with
 *   `released_before: true` and what the escrow says;
 * - `refunded` (its timeout) or `disputed`: REJECTED, naming the state;
 * - a read that fails: the 409 as it came (REJECTED), so the next delivery tries and reads again.
 */
export function escrowReleaseAction(api: PurpleFleaApiProfile, reader: ReadApi, escrow: EscrowToRelease): MoneyAction {
  return {
    actionKey: releaseActionKey(escrow.escrowId),
    amountUsdc: escrow.amountUsdc,
    request: api.releaseEscrow(escrow.escrowId),
    readBackRefusal: (refusal) =>
      readBackConflict(api, reader, escrow.escrowId, refusal, { state: 'released', verb: 'released', keepField: 'released_at' }),
  };
}
