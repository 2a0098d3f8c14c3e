import type { RefusedOutcome } from './money-path';
import type { PurpleFleaApiProfile } from './purpleflea-api';
import type { ApiOutcome, ReadApi } from './purpleflea-client';

/** The state a release or a dispute moves an escrow to, as `GET /escrow/{id}` reads it, and what to keep of the read. */
export interface EscrowTarget {
  /** `released` or `disputed`: the escrow's `status` once the action took effect. */
  readonly state: string;
  /** The verb of the refusal's reason: `it cannot be <verb>`. */
  readonly verb: string;
  /** A field of the read escrow to keep on the outcome (the release's `released_at`). */
  readonly keepField?: string;
}

/**
 * A refusal of a release or a dispute, read back before it is recorded. Only a 409 `invalid_status` needs it: it says
 * only that the escrow cannot be moved now, so `GET /escrow/{id}` tells why:
 * - already in the target state (an earlier attempt whose answer was lost, or by hand): SUCCEEDED, with
 *   `<state>_before: true`;
 * - another state (refunded at its timeout, released, disputed): REJECTED, naming the state;
 * - 404: REJECTED, `not_found`;
 * - a read that fails: the 409 as it came (REJECTED), so the next delivery tries and reads again.
 * Any other refusal is returned as it came.
 */
export async function readBackConflict(
  api: PurpleFleaApiProfile,
  reader: ReadApi,
  escrowId: string,
  refusal: RefusedOutcome,
  target: EscrowTarget,
): Promise<ApiOutcome> {
  if (refusal.status !== 409) return refusal;
  const read = await reader.read(api.readEscrow(escrowId));
  const because = (why: string) => (refusal.message ? `${refusal.message}; ${why}` : why);
  if (read.kind === 'failed') return { ...refusal, message: because(`the escrow could not be read back: ${read.reason}`) };
  if (read.status === 404) return { ...refusal, error: 'not_found', message: because(`GET /escrow/${escrowId} found no such escrow`) };
  const state = typeof read.body.status === 'string' ? read.body.status : undefined;
  if (read.status === 200 && state === target.state) {
    return {
      outcome: 'SUCCEEDED',
      status: 409,
      attempts: refusal.attempts,
      response: {
        escrow_id: escrowId,
        status: target.state,
        [`${target.state}_before`]: true,
        ...(target.keepField !== undefined ? { [target.keepField]: read.body[target.keepField] } : {}),
        note: `the escrow was already ${target.state} (an earlier attempt whose answer was lost, or by hand): read back after a 409`,
      },
    };
  }
  const seen = state === undefined ? `GET /escrow/${escrowId} answered ${read.status}` : `the escrow is ${state}`;
  return { ...refusal, message: because(`${seen}: it cannot be ${target.verb}`) };
}
