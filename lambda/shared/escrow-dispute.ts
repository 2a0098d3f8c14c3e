import { disputeActionKey } from './action-keys';
import { readBackConflict } from './escrow-read-back';
import type { MoneyAction } from './money-path';
import type { PurpleFleaApiProfile } from './purpleflea-api';
import type { ReadApi } from './purpleflea-client';

/** What a dispute is of: a hold the library created, as its creation's ledger record has it, and why. */
export interface EscrowToDispute {
  readonly escrowId: string;
  /** The escrow's amount, as the creation recorded it: what the dispute keeps locked (it moves nothing). */
  readonly amountUsdc: number;
  /** Sent as the dispute's `reason` (public to the escrow's parties). */
  readonly reason: string;
}

/**
 * The money action that disputes an escrow once (`v1:dispute:<escrow id>`): its funds stay locked until Purple
 * Flea resolves it, and its timeout no longer refunds it. A 409 `invalid_status` is read back (`GET /escrow/{id}`):
 * - `disputed`: it was disputed before (an earlier attempt whose answer was lost, or by hand): SUCCEEDED, with
 *   `disputed_before: true`;
 * - `released` or `refunded`: REJECTED, naming the state (nothing is left to dispute);
 * - a read that fails: the 409 as it came (REJECTED), so the next delivery tries and reads again.
 */
export function escrowDisputeAction(api: PurpleFleaApiProfile, reader: ReadApi, escrow: EscrowToDispute): MoneyAction {
  return {
    actionKey: disputeActionKey(escrow.escrowId),
    amountUsdc: escrow.amountUsdc,
    request: api.disputeEscrow(escrow.escrowId, escrow.reason),
    readBackRefusal: (refusal) => readBackConflict(api, reader, escrow.escrowId, refusal, { state: 'disputed', verb: 'disputed' }),
  };
}
