import { createHash } from 'node:crypto';
import { HUMAN_LOOP_NAME_PREFIX } from '../../lib/private/contracts/hold-review-env';

/**
 * The A2I human loop of a hold: its name is derived from the hold's action key, so that a repeated start (a
 * repeated event, a retry) is the same loop, and a completed loop names its hold. A2I names are lower case, at most
 * 63 characters, `[a-z0-9](-*[a-z0-9])*`: `hold-` and the first 58 hex digits of the key's SHA-256 (232 bits).
 */
export function humanLoopNameOf(holdActionKey: string): string {
  return `${HUMAN_LOOP_NAME_PREFIX}${createHash('sha256').update(holdActionKey).digest('hex').slice(0, 58)}`;
}

/** What a hold's loop shows its reviewers (the loop's `HumanLoopInput.InputContent`, and `inputContent` in its output). */
export interface HoldReviewInput {
  readonly hold_action_key: string;
  readonly transaction_id: string;
  readonly escrow_id: string;
  readonly amount_usdc: number;
  readonly fraud_score: number | string;
  readonly buyer: string;
  readonly seller: string;
  readonly transform_job?: string;
  readonly run_id?: string;
}

/** `s3://bucket/key` split, or undefined. */
export function parseS3Uri(uri: unknown): { bucket: string; key: string } | undefined {
  if (typeof uri !== 'string') return undefined;
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  return match ? { bucket: match[1], key: match[2] } : undefined;
}

/** Whether `key` is under `prefix` (no leading or trailing slash; empty for the whole bucket). */
export function keyIsUnder(key: string, prefix: string): boolean {
  return prefix === '' || key.startsWith(`${prefix}/`);
}
