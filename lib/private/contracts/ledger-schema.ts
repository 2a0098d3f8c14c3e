/** The action ledger's table layout: written by PurpleFleaConnection, used by lambda/shared/ledger.ts. */
export const LEDGER_PARTITION_KEY = 'pk';
/** Epoch seconds; only written when the user opts in to a retention period. */
export const LEDGER_TTL_ATTRIBUTE = 'expiresAt';
/** Shorter retention could let a late retry or redrive find no record and pay again. */
export const LEDGER_MINIMUM_RETENTION_DAYS = 35;
