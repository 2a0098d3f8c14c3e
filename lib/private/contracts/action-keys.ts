/**
 * The ledger's keys (README "Money moves exactly once"): `v1:<kind>:<what>`. The handlers build every key
 * from these prefixes (lambda/shared/action-keys.ts), and each construct limits its roles to its own kinds'
 * keys with the same prefixes (`dynamodb:LeadingKeys`, lib/private/ledger-access.ts): the two cannot drift.
 *
 * The keys are versioned and stable across library versions: a changed key would let a repeat delivery pay again.
 */
export const ACTION_KEY_VERSION = 'v1';

/** The kinds of ledger records: one per kind of money-moving action, and one per kind of cap counter. */
export const ACTION_KINDS = {
  /** PredictToTrade's orders. */
  trade: 'trade',
  /** PredictToTrade's running total of one UTC day's orders, for its daily cap (a counter, not an action). */
  dailyNotional: 'daily-notional',
  /** TrainingBonusEscrow's escrows. */
  escrow: 'escrow',
  /** BatchPayout's payouts. */
  payout: 'payout',
  /** FraudHoldEscrow's holds. */
  hold: 'hold',
} as const;

export type ActionKind = (typeof ACTION_KINDS)[keyof typeof ACTION_KINDS];

/** `v1:<kind>:`, the start of every key of that kind. */
export function actionKeyPrefix(kind: ActionKind): string {
  return `${ACTION_KEY_VERSION}:${kind}:`;
}

/**
 * The kinds of keys each construct's handlers read and write, and the only ones its roles may: a role
 * of one construct cannot touch (e.g. set `REJECTED`, and so have re-sent) another construct's records.
 */
export const CONSTRUCT_ACTION_KINDS = {
  predictToTrade: [ACTION_KINDS.trade, ACTION_KINDS.dailyNotional],
  trainingBonusEscrow: [ACTION_KINDS.escrow],
  batchPayout: [ACTION_KINDS.payout],
  fraudHoldEscrow: [ACTION_KINDS.hold],
} as const satisfies { readonly [construct: string]: readonly ActionKind[] };

/** The kind of an action key (`trade`, `escrow`, `payout`, `hold`; a counter's is `daily-notional`). */
export function actionKindOf(key: string): string | undefined {
  return new RegExp(`^${ACTION_KEY_VERSION}:([^:]+):`).exec(key)?.[1];
}

/**
 * Where a SUCCEEDED record's response holds the id of what the action created: the field the API
 * answers with, which the handlers, run logs and the operator's command read.
 */
export const REFERENCE_FIELD_BY_KIND: { readonly [kind: string]: string } = {
  [ACTION_KINDS.trade]: 'order_id',
  [ACTION_KINDS.escrow]: 'escrow_id',
  [ACTION_KINDS.payout]: 'transfer_id',
  [ACTION_KINDS.hold]: 'escrow_id',
};
