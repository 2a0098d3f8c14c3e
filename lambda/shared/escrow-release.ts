import { releaseActionKey } from './action-keys';
import type { MoneyAction, RefusedOutcome } from './money-path';
import type { PurpleFleaApiProfile } from './purpleflea-api';
import type { ApiOutcome, ReadApi } from './purpleflea-client';

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
      refusal.status === 409 ? readBackRelease(api, reader, escrow.escrowId, refusal) : Promise.resolve(refusal),
  };
}

async function readBackRelease(api: PurpleFleaApiProfile, reader: ReadApi, escrowId: string, refusal: RefusedOutcome): Promise<ApiOutcome> {
  const read = await reader.read(api.readEscrow(escrowId));
  const because = (why: string) => (refusal.message ? `${refusal.message}; ${why}` : why);
  if (read.kind === 'failed') return { ...refusal, message: because(`the escrow could not be read back: ${read.reason}`) };
  if (read.status === 404) return { ...refusal, error: 'not_found', message: because(`GET /escrow/${escrowId} found no such escrow`) };
  const state = typeof read.body.status === 'string' ? read.body.status : undefined;
  if (read.status === 200 && state === 'released') {
    return {
      outcome: 'SUCCEEDED',
      status: 409,
      attempts: refusal.attempts,
      response: {
        escrow_id: escrowId,
        status: 'released',
        released_before: true,
        released_at: read.body.released_at,
        note: 'the escrow was already released (an earlier attempt whose answer was lost, or by hand): read back after a 409',
      },
    };
  }
  const seen = state === undefined ? `GET /escrow/${escrowId} answered ${read.status}` : `the escrow is ${state}`;
  return { ...refusal, message: because(`${seen}: it cannot be released`) };
}
