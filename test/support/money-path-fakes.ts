/**
 * Plain fakes for the money path's seams (MoneyPathLedger, CredentialsProvider, Pacing): a unit test
 * states the one behaviour it changes and delegates the rest to the real ledger, with no subclass or cast.
 * And a money path for a handler's unit test (ExecuteOnce), with no ledger at all.
 */
import type { ActionLedger } from '../../lambda/shared/action-ledger';
import type { ActionReport, ExecuteOnce, ExecuteOptions, MoneyAction, MoneyPathLedger, Pacing } from '../../lambda/shared/money-path';
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
    windowFull: () => undefined,
    admitAttempt: async () => true,
    ...overrides,
  };
}

/** What the API did with an action a MoneyPathFake sent: SUCCEEDED with its response, or another status with an error. */
export type FakeOutcome = Pick<ActionReport, 'status' | 'response' | 'error' | 'apiLatencyMs'>;

export interface MoneyPathFake extends ExecuteOnce {
  /** Every call, in order, with its options (the deadline, the pacing). */
  readonly calls: { readonly action: MoneyAction; readonly options: ExecuteOptions }[];
  /** The actions that were sent: the calls that were not repeats. */
  readonly sent: MoneyAction[];
}

/**
 * A money path that sends each action key once, as MoneyPath does: the first call is answered by `outcome`
 * (SUCCEEDED by default); a later call of the same key is a repeat, reported with what was recorded (its
 * amount and request) and the recorded status, unless that was REJECTED (not executed: it is sent again).
 * `notified(actionKey)` is what the ledger says of the follow-up, for a SUCCEEDED repeat.
 */
export function moneyPathFake(
  outcome: (action: MoneyAction) => FakeOutcome = () => ({ status: 'SUCCEEDED', response: {}, apiLatencyMs: 7 }),
  notified: (actionKey: string) => boolean = () => false,
): MoneyPathFake {
  const calls: MoneyPathFake['calls'] = [];
  const sent: MoneyAction[] = [];
  const records = new Map<string, { readonly action: MoneyAction; readonly outcome: FakeOutcome }>();
  return {
    calls,
    sent,
    async executeOnce(action, options) {
      calls.push({ action, options });
      const earlier = records.get(action.actionKey);
      if (earlier && earlier.outcome.status !== 'REJECTED') {
        const { status, response, error } = earlier.outcome;
        return {
          status,
          actionKey: action.actionKey,
          repeated: true,
          response,
          error,
          notified: status === 'SUCCEEDED' ? notified(action.actionKey) : undefined,
          recorded: { amountUsdc: earlier.action.amountUsdc, request: earlier.action.request.body },
        };
      }
      sent.push(action);
      const answer = outcome(action);
      records.set(action.actionKey, { action, outcome: answer });
      return { ...answer, actionKey: action.actionKey, repeated: false };
    },
  };
}
