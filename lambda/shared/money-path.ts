import { ActionLedger, LedgerRecord, toCents } from './action-ledger';
import { ApiRequest } from './purpleflea-api';
import { recordableResponse } from './api-response';
import { backoffDelayMs, sleep } from './backoff';
import { ApiOutcome, PurpleFleaClient } from './purpleflea-client';

/** One money-moving call and what it counts against. */
export interface MoneyAction {
  /** Readable, versioned, stable: e.g. `v1:trade:<rule ARN>:<event id>`. */
  readonly actionKey: string;
  readonly request: ApiRequest;
  readonly amountUsdc: number;
  /** A running total this action must fit under, e.g. a day's trading notional. */
  readonly cap?: { readonly counterKey: string; readonly capUsdc: number };
}

export type ActionStatus = 'SUCCEEDED' | 'REJECTED' | 'UNKNOWN' | 'IN_PROGRESS' | 'INVALID';

export interface ActionReport {
  readonly status: ActionStatus;
  readonly actionKey: string;
  /** True when an earlier invocation did the work and this one only read the ledger. */
  readonly repeated: boolean;
  readonly response?: { readonly [key: string]: unknown };
  readonly httpStatus?: number;
  readonly error?: string;
  readonly attempts?: number;
  readonly apiLatencyMs?: number;
  /** For SUCCEEDED: whether the action's follow-up was already recorded as done (ActionLedger.markNotified). */
  readonly notified?: boolean;
}

export interface ExecuteOptions {
  /** Epoch ms by which the call must be over. */
  readonly deadline: number;
  /**
   * Work between claiming and sending (a rate limiter's wait). With it, the action is CLAIMED
   * first and marked SENDING after; without it, the claim itself is the SENDING write.
   */
  readonly beforeSend?: () => Promise<void>;
  /**
   * With `beforeSend`: true when the request may go out at once (a rate-limit slot is free now). The
   * claim is then the SENDING write and `beforeSend` is skipped: one ledger write less.
   */
  readonly readyToSend?: () => boolean;
  /** Waited for before each retry of the request (429s, connections that never opened). */
  readonly beforeRetry?: () => Promise<void>;
  /**
   * Waited for right before each attempt of the request goes out, the first one included; false when
   * the attempt cannot start by `latestStart` (it is then not made).
   */
  readonly beforeAttempt?: (latestStart: number) => Promise<boolean>;
}

/** Longer than any request can still be in flight after the deadline, so a live sender keeps its claim. */
const LEASE_MARGIN_MS = 30_000;

/** Writes of an outcome, after the SDK's own retries, before giving up on recording it. */
const RECORD_ATTEMPTS = 4;

/**
 * The API answered but the ledger could not record it. The message names the action and the outcome
 * (with the API's ids), so that the log has what the ledger lacks.
 */
export class OutcomeNotRecordedError extends Error {
  override readonly name = 'OutcomeNotRecordedError';
  constructor(
    readonly actionKey: string,
    readonly outcome: ApiOutcome,
    cause: Error,
  ) {
    super(
      `${outcome.outcome} for ${actionKey} could not be recorded in the ledger (${cause.name}: ${cause.message}); ` +
        `API answer: ${JSON.stringify(outcome.outcome === 'SUCCEEDED' ? outcome.response : { status: outcome.status, error: outcome.error }).slice(0, 500)}`,
    );
  }
}

/**
 * The one path every money-moving call takes (DESIGN.md): claim in the ledger, send once, record
 * the outcome. A repeat delivery finds the record and reports it without calling the API.
 */
export class MoneyPath {
  constructor(
    private readonly ledger: ActionLedger,
    private readonly client: PurpleFleaClient,
    private readonly now: () => number = Date.now,
  ) {}

  async executeOnce(action: MoneyAction, options: ExecuteOptions): Promise<ActionReport> {
    const leaseMs = () => Math.max(options.deadline - this.now(), 0) + LEASE_MARGIN_MS;
    const amountCents = toCents(action.amountUsdc);

    const waitBeforeSend = options.beforeSend !== undefined && !(options.readyToSend?.() ?? false);
    const claimState = waitBeforeSend ? 'CLAIMED' : 'SENDING';
    const cap = action.cap;
    // Gives the action up before anything was sent: REJECTED, so it may run again.
    const abandon = (claimToken: string, error: string) =>
      claimState === 'CLAIMED'
        ? this.ledger.releaseClaim(action.actionKey, claimToken, error)
        : this.ledger.recordOutcome(action.actionKey, claimToken, 'REJECTED', { error });
    // The claim and the cap reservation are independent conditional writes: made together, the cap
    // costs no extra latency. Whichever fails undoes the other.
    const [claimed, reservation] = await Promise.allSettled([
      this.ledger.claim(action.actionKey, {
        state: claimState,
        leaseMs: leaseMs(),
        request: action.request.body,
        amountUsdc: action.amountUsdc,
        // Recorded with the claim, so that an operator who finds the action never executed can give the reservation back.
        cap: cap ? { counterKey: cap.counterKey, cents: amountCents } : undefined,
      }),
      cap ? this.ledger.reserve(cap.counterKey, amountCents, toCents(cap.capUsdc)) : Promise.resolve(true),
    ]);
    if (claimed.status === 'rejected' || reservation.status === 'rejected') {
      // A ledger write failed outright: undo the one that went through, and let the invocation fail.
      if (claimed.status === 'fulfilled' && claimed.value.claimed) {
        await abandon(claimed.value.claimToken, 'the cap could not be checked');
      }
      if (cap && reservation.status === 'fulfilled' && reservation.value) await this.ledger.release(cap.counterKey, amountCents);
      throw claimed.status === 'rejected' ? claimed.reason : (reservation as PromiseRejectedResult).reason;
    }
    const claim = claimed.value;
    const reserved = reservation.value;
    const releaseReservation = async () => {
      if (cap && reserved) await this.ledger.release(cap.counterKey, amountCents);
    };
    if (!claim.claimed) {
      // A repeat of an action reports the action, whatever the cap says.
      await releaseReservation();
      return this.reportExisting(claim.existing);
    }
    if (!reserved) {
      const error = `over cap: ${action.amountUsdc} USDC would exceed ${cap!.capUsdc} USDC on ${cap!.counterKey}`;
      await abandon(claim.claimToken, error);
      return { status: 'INVALID', actionKey: action.actionKey, repeated: false, error };
    }

    if (waitBeforeSend) {
      try {
        await options.beforeSend!();
      } catch (error) {
        // Nothing was sent: give the action back at once, rather than when the lease runs out.
        await abandon(claim.claimToken, `not sent: ${(error as Error).message}`);
        await releaseReservation();
        throw error;
      }
      if (!(await this.ledger.markSending(action.actionKey, claim.claimToken, leaseMs()))) {
        await releaseReservation();
        return { status: 'IN_PROGRESS', actionKey: action.actionKey, repeated: true, error: 'the claim expired and was taken over' };
      }
    }

    const started = this.now();
    let result: ApiOutcome;
    try {
      result = await this.client.post(action.request, {
        actionKey: action.actionKey,
        deadline: options.deadline,
        beforeRetry: options.beforeRetry,
        beforeAttempt: options.beforeAttempt,
      });
    } catch (error) {
      // The client throws only when no request of this call can have taken effect: reading the secret
      // failed before any went out, or no slot was left for a retry after 429s (refused, not executed).
      // The record is SENDING by now, whichever way it was claimed. A record no longer ours (turned
      // UNKNOWN meanwhile) keeps its reservation: an operator's resolution gives it back.
      if (await this.ledger.recordOutcome(action.actionKey, claim.claimToken, 'REJECTED', { error: `not sent: ${(error as Error).message}` })) {
        await releaseReservation();
      }
      throw error;
    }
    const apiLatencyMs = this.now() - started;
    const error = result.outcome === 'SUCCEEDED' ? undefined : describeError(result.error, 'message' in result ? result.message : undefined);
    const recorded = await this.recordOutcome(action.actionKey, claim.claimToken, result, error);
    // Given back only if the ledger says REJECTED: a record turned UNKNOWN meanwhile keeps it for the
    // operator's resolution, which gives it back (once).
    if (result.outcome === 'REJECTED' && recorded) await releaseReservation();
    return {
      status: result.outcome,
      actionKey: action.actionKey,
      repeated: false,
      response: result.outcome === 'SUCCEEDED' ? result.response : undefined,
      httpStatus: result.status,
      // The answer arrived after our lease was given up: the ledger says UNKNOWN, an operator reconciles.
      error: recorded ? error : appendError(error, 'the outcome could not be recorded: the ledger lease had expired'),
      attempts: result.attempts,
      apiLatencyMs,
    };
  }

  /**
   * Records what the API did. The money has moved (or may have): a failed write is retried, and if
   * it still fails, the error carries the outcome so that it reaches the logs; the record stays
   * SENDING, which a later delivery turns into UNKNOWN.
   */
  private async recordOutcome(actionKey: string, claimToken: string, result: ApiOutcome, error: string | undefined): Promise<boolean> {
    const details = { response: result.outcome === 'SUCCEEDED' ? recordableResponse(result.response) : undefined, error };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.ledger.recordOutcome(actionKey, claimToken, result.outcome, details);
      } catch (writeError) {
        if (attempt >= RECORD_ATTEMPTS) throw new OutcomeNotRecordedError(actionKey, result, writeError as Error);
        await sleep(backoffDelayMs(attempt, 200, 2_000) + 50);
      }
    }
  }

  private async reportExisting(record: LedgerRecord): Promise<ActionReport> {
    let current = record;
    let foundUnknown = false;
    if (current.state === 'SENDING' && current.leaseExpiresAt < this.now()) {
      ({ record: current, changed: foundUnknown } = await this.ledger.markExpiredSendingUnknown(current));
    }
    // The invocation that turns an expired SENDING into UNKNOWN reports it as its own outcome, so
    // it is counted (and alarmed) once; every later repeat reads it as already known.
    const base = { actionKey: current.actionKey, repeated: !foundUnknown, error: current.error };
    switch (current.state) {
      case 'SUCCEEDED':
        return { ...base, status: 'SUCCEEDED', response: current.response, notified: current.notifiedAt !== undefined };
      case 'UNKNOWN':
        return { ...base, status: 'UNKNOWN' };
      default:
        // CLAIMED or SENDING under a live lease (or REJECTED re-taken by someone else just now).
        return { ...base, status: 'IN_PROGRESS', error: `another invocation holds this action (${current.state})` };
    }
  }
}

function describeError(code: string, message: string | undefined): string {
  return message ? `${code}: ${message}` : code;
}

function appendError(error: string | undefined, addition: string): string {
  return error ? `${error}; ${addition}` : addition;
}
