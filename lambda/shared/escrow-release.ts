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
