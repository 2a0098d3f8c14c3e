import { disputeActionKey } from './action-keys';
import type { MoneyAction, RefusedOutcome } from './money-path';
import type { PurpleFleaApiProfile } from './purpleflea-api';
import type { ApiOutcome, ReadApi } from './purpleflea-client';

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
    readBackRefusal: (refusal) =>
      refusal.status === 409 ? readBackDispute(api, reader, escrow.escrowId, refusal) : Promise.resolve(refusal),
  };
}

async function readBackDispute(api: PurpleFleaApiProfile, reader: ReadApi, escrowId: string, refusal: RefusedOutcome): Promise<ApiOutcome> {
  const read = await reader.read(api.readEscrow(escrowId));
  const because = (why: string) => (refusal.message ? `${refusal.message}; ${why}` : why);
  if (read.kind === 'failed') return { ...refusal, message: because(`the escrow could not be read back: ${read.reason}`) };
  if (read.status === 404) return { ...refusal, error: 'not_found', message: because(`GET /escrow/${escrowId} found no such escrow`) };
  const state = typeof read.body.status === 'string' ? read.body.status : undefined;
  if (read.status === 200 && state === 'disputed') {
    return {
      outcome: 'SUCCEEDED',
      status: 409,
      attempts: refusal.attempts,
      response: {
        escrow_id: escrowId,
        status: 'disputed',
        disputed_before: true,
        note: 'the escrow was already disputed (an earlier attempt whose answer was lost, or by hand): read back after a 409',
      },
    };
  }
  const seen = state === undefined ? `GET /escrow/${escrowId} answered ${read.status}` : `the escrow is ${state}`;
  return { ...refusal, message: because(`${seen}: it cannot be disputed`) };
}
