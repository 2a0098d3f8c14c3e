/**
 * The action keys (DESIGN.md): readable, versioned, and stable across library versions — a changed
 * key would let a repeat delivery pay again. Documented in the README.
 */

/** One order per scheduled or matched event. */
export function tradeActionKey(ruleArn: string, eventId: string): string {
  return `v1:trade:${ruleArn}:${eventId}`;
}

/** One escrow per training job, ever. */
export function escrowActionKey(trainingJobArn: string): string {
  return `v1:escrow:${trainingJobArn}`;
}

/** One payout per agent per file content: re-uploading identical content pays no one again. */
export function payoutActionKey(bucket: string, key: string, etag: string, agentId: string): string {
  return `v1:payout:${bucket}/${key}:${etag}:${agentId}`;
}

/** The running total of one PredictToTrade's orders on one UTC day, for its daily cap. */
export function dailyNotionalKey(scope: string, now: Date): string {
  return `v1:daily-notional:${scope}:${now.toISOString().slice(0, 10)}`;
}

/** One hold per transaction, ever. */
export function holdActionKey(transactionId: string): string {
  return `v1:hold:${transactionId}`;
}

/** A record without a transaction id is identified by where it is: its object's content and its line. */
export function holdActionKeyByPosition(bucket: string, key: string, etag: string, line: number): string {
  return `v1:hold:${bucket}/${key}:${etag}:${line}`;
}
