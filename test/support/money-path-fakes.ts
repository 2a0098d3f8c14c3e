/**
 * Plain fakes for the money path's seams (MoneyPathLedger, CredentialsProvider, Pacing): a unit test
 * states the one behaviour it changes and delegates the rest to the real ledger, with no subclass or cast.
 */
import type { ActionLedger } from '../../lambda/shared/action-ledger';
import type { MoneyPathLedger, Pacing } from '../../lambda/shared/money-path';
import type { CredentialsProvider } from '../../lambda/shared/purpleflea-credentials';

/** The real ledger's operations, except those in `overrides`. */
export function ledgerWith(real: ActionLedger, overrides: Partial<MoneyPathLedger> = {}): MoneyPathLedger {
  return {
    claim: (actionKey, claim) => real.claim(actionKey, claim),
    markSending: (actionKey, claimToken, leaseMs) => real.markSending(actionKey, claimToken, leaseMs),
    recordOutcome: (actionKey, claimToken, state, details) => real.recordOutcome(actionKey, claimToken, state, details),
    releaseClaim: (actionKey, claimToken, error) => real.releaseClaim(actionKey, claimToken, error),
    markExpiredSendingUnknown: (record) => real.markExpiredSendingUnknown(record),
    reserve: (reservation, capCents) => real.reserve(reservation, capCents),
    release: (reservation) => real.release(reservation),
    ...overrides,
  };
}

/** A key that never changes, without Secrets Manager. */
export function staticCredentials(apiKey: string): CredentialsProvider {
  return { get: async () => ({ apiKey }), refresh: async () => ({ apiKey }) };
}

/** A pacing that is never ready at once (the action is CLAIMED first), with `overrides` for the rest. */
export function pacingWith(overrides: Partial<Pacing> = {}): Pacing {
  return {
    readyNow: () => false,
    waitForTurn: async () => undefined,
    beforeRetry: async () => undefined,
    admitAttempt: async () => true,
    ...overrides,
  };
}
