/**
 * The ledger's keys (docs/exactly-once.md): `v1:<kind>:<what>`. The handlers build every key
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
  /** The release of an escrow the library created (a bonus on approval, a hold on a cleared review), by escrow id. */
  release: 'release',
  /** The dispute of a hold whose review confirmed fraud (FraudHoldEscrow's onConfirmedFraud: DISPUTE), by escrow id. */
  dispute: 'dispute',
  /** ModelAgents' registrations: one Purple Flea agent per model version (a training job or a model package), by its ARN. */
  agent: 'agent',
  /** ModelAgents' faucet claims: the $1 of one new agent, by its agent id. */
  faucet: 'faucet',
  /** ModelAgents' domain registrations (optional, `domainName`): one domain, by its name in lower case. */
  domain: 'domain',
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
  /** TrainingBonusEscrow's release function (it reads the escrows' records, never writes them). */
  trainingBonusRelease: [ACTION_KINDS.release],
  batchPayout: [ACTION_KINDS.payout],
  fraudHoldEscrow: [ACTION_KINDS.hold],
  /** FraudHoldEscrow's review: releases (and disputes) its holds; it reads the holds, never writes them. */
  fraudHoldRelease: [ACTION_KINDS.release, ACTION_KINDS.dispute],
  /** ModelAgents: registers each model version's agent (its record is the registry) and claims its faucet dollar. */
  modelAgents: [ACTION_KINDS.agent, ACTION_KINDS.faucet],
  /** ModelAgents with `domainName`: its domain registrations too (added to its role only then). */
  modelAgentDomains: [ACTION_KINDS.domain],
} as const satisfies { readonly [construct: string]: readonly ActionKind[] };

/** The kind of an action key (`trade`, `escrow`, `payout`, `hold`; a counter's is `daily-notional`). */
export function actionKindOf(key: string): string | undefined {
  return new RegExp(`^${ACTION_KEY_VERSION}:([^:]+):`).exec(key)?.[1];
}

/**
 * Where a SUCCEEDED record's response holds the id of what the action created, on the gateway: the field the API
 * answers with, which the handlers, run logs and the operator's command read. (An operator's resolution of a
 * gateway record writes its reference under this field.)
 */
export const REFERENCE_FIELD_BY_KIND: { readonly [kind: string]: string } = {
  [ACTION_KINDS.trade]: 'order_id',
  [ACTION_KINDS.escrow]: 'escrow_id',
  [ACTION_KINDS.payout]: 'transfer_id',
  [ACTION_KINDS.hold]: 'escrow_id',
  [ACTION_KINDS.release]: 'escrow_id',
  [ACTION_KINDS.dispute]: 'escrow_id',
  [ACTION_KINDS.agent]: 'agent_id',
  [ACTION_KINDS.faucet]: 'claim_id',
  [ACTION_KINDS.domain]: 'domain_id',
};

/**
 * The same on the services profile (purpleflea-services.md): a trade's position (`pos_...`, what a close and the
 * positions read name; its answer also has `order_id`), an escrow's `escrow_id`, a casino payment's `tx_id`.
 */
export const SERVICES_REFERENCE_FIELD_BY_KIND: { readonly [kind: string]: string } = {
  [ACTION_KINDS.trade]: 'position_id',
  [ACTION_KINDS.escrow]: 'escrow_id',
  [ACTION_KINDS.payout]: 'tx_id',
  [ACTION_KINDS.hold]: 'escrow_id',
  [ACTION_KINDS.release]: 'escrow_id',
  [ACTION_KINDS.dispute]: 'escrow_id',
  [ACTION_KINDS.agent]: 'agent_id',
  [ACTION_KINDS.faucet]: 'claim_id',
  [ACTION_KINDS.domain]: 'domain_id',
};

/**
 * A field only the services profile's request of a kind has: a record does not name its connection's profile,
 * but its recorded request (the body sent) tells them apart.
 */
const SERVICES_REQUEST_FIELD_BY_KIND: { readonly [kind: string]: string } = {
  [ACTION_KINDS.trade]: 'size_usd',
  [ACTION_KINDS.escrow]: 'counterparty_agent_id',
  [ACTION_KINDS.payout]: 'to_agent_id',
  [ACTION_KINDS.hold]: 'counterparty_agent_id',
};

/**
 * The response field naming what a record's action created, on the profile its recorded request was sent to
 * (the gateway's when the request is absent or of the gateway); `id` for a kind without one. An operator's
 * resolution writes the reference it is given under this field.
 */
export function referenceFieldOf(kind: string | undefined, request?: { readonly [field: string]: unknown }): string {
  const servicesField = SERVICES_REQUEST_FIELD_BY_KIND[kind ?? ''];
  const services = servicesField !== undefined && request?.[servicesField] !== undefined;
  return (services ? SERVICES_REFERENCE_FIELD_BY_KIND : REFERENCE_FIELD_BY_KIND)[kind ?? ''] ?? 'id';
}

/**
 * The reference a SUCCEEDED record's response holds, on either profile: read from the response alone (the
 * operator's `list` does not read the request), the services' field first where both profiles' could be there
 * (a services trade answers `position_id` and `order_id`; a gateway order has no `position_id`); `id` for a kind
 * without a field.
 */
export function referenceOf(kind: string | undefined, response: { readonly [field: string]: unknown } | undefined): string | undefined {
  const gatewayField = REFERENCE_FIELD_BY_KIND[kind ?? ''];
  const fields = gatewayField === undefined ? ['id'] : [SERVICES_REFERENCE_FIELD_BY_KIND[kind ?? ''], gatewayField];
  for (const field of fields) {
    const value = response?.[field];
    if (typeof value === 'string' || typeof value === 'number') return String(value);
  }
  return undefined;
}
