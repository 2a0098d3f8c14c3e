/**
 * The action ledger's schema, shared by the construct that creates the table (PurpleFleaConnection), the
 * handlers that write it (lambda/shared/action-ledger.ts) and the operator's command (cli/src): the table's
 * layout, the states of an action and the shape of its record.
 */
export const LEDGER_PARTITION_KEY = 'pk';
/** Epoch seconds; only written when the user opts in to a retention period. */
export const LEDGER_TTL_ATTRIBUTE = 'expiresAt';
/** Shorter retention could let a late retry or redrive find no record and pay again. */
export const LEDGER_MINIMUM_RETENTION_DAYS = 35;

/**
 * The sparse index of the records an operator may need: only records that are UNKNOWN or SENDING carry
 * its key (`attention` = the state), so listing them is a Query whose cost follows their number, not the
 * table's size. Its sort key `attentionAt` is the lease's end for SENDING (one past it is an UNKNOWN in
 * effect) and the time the record became UNKNOWN otherwise. The ledger sets and removes both attributes in
 * the same conditional write that changes the state.
 */
export const LEDGER_ATTENTION_INDEX = {
  indexName: 'attention',
  partitionKey: 'attention',
  sortKey: 'attentionAt',
  /** What `purpleflea-ledger list` shows of a record, projected into the index. */
  projected: ['state', 'amountUsdc', 'attempts', 'error', 'response', 'leaseExpiresAt', 'createdAt', 'updatedAt'],
} as const;

/** The states that put a record in the attention index. */
export const ATTENTION_STATES: readonly LedgerState[] = ['SENDING', 'UNKNOWN'];

/**
 * The attention index's attributes of a record entering `state` at `now` with a lease ending at
 * `leaseExpiresAt`: the values to set, or undefined when the record leaves the index.
 */
export function attentionOf(
  state: LedgerState,
  leaseExpiresAt: number,
  now: number,
): { readonly attention: LedgerState; readonly attentionAt: number } | undefined {
  if (state === 'SENDING') return { attention: state, attentionAt: leaseExpiresAt };
  if (state === 'UNKNOWN') return { attention: state, attentionAt: now };
  return undefined;
}

/** docs/design.md "Money moves exactly once": the states of one money-moving action. */
export type LedgerState = 'CLAIMED' | 'SENDING' | 'SUCCEEDED' | 'REJECTED' | 'UNKNOWN';

/** Which ledger operation made a transition: the method's name, for the record's history. */
export type LedgerEvent = 'claim' | 'mark-sending' | 'record-outcome' | 'release-claim' | 'expire-sending' | 'resolve';

/** One state transition, appended to the record in the same conditional write that makes it. */
export interface LedgerHistoryEntry {
  readonly at: string;
  readonly event: LedgerEvent;
  readonly state: LedgerState;
  readonly error?: string;
  /**
   * Resolutions: who resolved it (an IAM ARN), why, and the Purple Flea id when the money moved. Claims of an action
   * someone decided (a release on a review): who decided it and why (the record's `decision`).
   */
  readonly by?: string;
  readonly reason?: string;
  readonly reference?: string;
}

/** An operator's decision on an UNKNOWN action (cli/src/ledger-operator.ts). Never trimmed. */
export interface LedgerResolution {
  /** Unique per resolution: recognises our own write when the SDK retried it. */
  readonly id: string;
  readonly at: string;
  readonly by: string;
  readonly as: 'succeeded' | 'not-executed';
  readonly reason: string;
  readonly reference?: string;
  /** The error the action was UNKNOWN with. */
  readonly previousError?: string;
}

/**
 * Who decided an action that a person (or a review) decides, and why: a hold's release or dispute after a review,
 * or an operator's `release`. Written by the attempt that claims it; a later attempt's claim writes its own.
 */
export interface ActionDecision {
  /** Who: the caller's IAM ARN (operator), the reviewer (the user's review tool), or the human loop's ARN. */
  readonly by: string;
  readonly reason: string;
  /** What the decision came from: `augmented-ai`, `review-event`, `operator`. */
  readonly source: string;
}

export interface LedgerRecord {
  readonly actionKey: string;
  readonly state: LedgerState;
  readonly claimToken: string;
  /** Epoch ms; a CLAIMED record past it may be taken over, a SENDING one becomes UNKNOWN. */
  readonly leaseExpiresAt: number;
  /** How many times the action was claimed (a REJECTED action may run again). */
  readonly attempts: number;
  /** What was (or is about to be) sent, without credentials. */
  readonly request?: { readonly [key: string]: unknown };
  readonly amountUsdc?: number;
  readonly response?: { readonly [key: string]: unknown };
  readonly error?: string;
  /** When the follow-up of a SUCCEEDED action (e.g. an EventBridge notification) was done. */
  readonly notifiedAt?: string;
  /** Who decided the action and why, for an action a person or a review decides (its last claim's). */
  readonly decision?: ActionDecision;
  /** The running total this attempt reserves on (e.g. a day's notional), and how much: for display. */
  readonly capCounterKey?: string;
  readonly capReservedCents?: number;
  /**
   * The cap reservations of this action's attempts that may still be held on their counters, oldest
   * first; the current attempt's has its claim token as id. Whoever releases one does it on the
   * counter, once (see ActionLedger.release in lambda/shared/action-ledger.ts); the next claim releases and drops the earlier ones.
   */
  readonly capReservations?: readonly CapReservation[];
  /** Oldest first; at most MAX_HISTORY_ENTRIES of the ledger (older entries are trimmed when a claim adds one). */
  readonly history?: readonly LedgerHistoryEntry[];
  readonly resolutions?: readonly LedgerResolution[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What one attempt reserves on a cap counter: `cents` on `counterKey`, under the attempt's claim token. */
export interface CapReservation {
  readonly counterKey: string;
  readonly cents: number;
  /** The claim token of the attempt that reserves it: the counter holds each id at most once. */
  readonly id: string;
}

/** Every state, in the order an action moves through them. */
export const LEDGER_STATES: readonly LedgerState[] = ['CLAIMED', 'SENDING', 'SUCCEEDED', 'REJECTED', 'UNKNOWN'];
