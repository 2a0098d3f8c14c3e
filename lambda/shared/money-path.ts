import { ActionDecision, CapReservation, ClaimRequest, ClaimResult, LedgerRecord, toCents } from './action-ledger';
import { ApiRequest } from './purpleflea-api';
import { recordableResponse } from './api-response';
import { backoffDelayMs, sleep } from './backoff';
import { ApiOutcome, MoneyApi, RequestPacing } from './purpleflea-client';

/**
 * The ledger operations the money path uses: ActionLedger implements them against DynamoDB; a unit
 * test may implement them in memory.
 */
export interface MoneyPathLedger {
  claim(actionKey: string, claim: ClaimRequest): Promise<ClaimResult>;
  markSending(actionKey: string, claimToken: string, leaseMs: number): Promise<boolean>;
  recordOutcome(
    actionKey: string,
    claimToken: string,
    state: 'SUCCEEDED' | 'REJECTED' | 'UNKNOWN',
    details: { readonly response?: { readonly [key: string]: unknown }; readonly error?: string },
  ): Promise<boolean>;
  releaseClaim(actionKey: string, claimToken: string, error: string): Promise<boolean>;
  markExpiredSendingUnknown(record: LedgerRecord): Promise<{ readonly record: LedgerRecord; readonly changed: boolean }>;
  reserve(reservation: CapReservation, capCents: number): Promise<boolean>;
  release(reservation: CapReservation): Promise<boolean>;
}

/** One money-moving call and what it counts against. */
export interface MoneyAction {
  /** Readable, versioned, stable: e.g. `v1:trade:<rule ARN>:<event id>`. */
  readonly actionKey: string;
  readonly request: ApiRequest;
  readonly amountUsdc: number;
  /** A running total this action must fit under, e.g. a day's trading notional. */
  readonly cap?: { readonly counterKey: string; readonly capUsdc: number };
  /**
   * A refusal that does not say what happened (an escrow release's 409 `invalid_status`: released before, or
   * refunded, or disputed) is read back before it is recorded: the outcome to record instead (or the refusal).
   */
  readonly readBackRefusal?: (refusal: RefusedOutcome) => Promise<ApiOutcome>;
  /**
   * An answer that may have taken effect (a lost answer, a 5xx) is looked up before it is recorded, where the service
   * can show it (the domains service lists an account's domains): the SUCCEEDED it proves, or anything else to keep
   * it UNKNOWN. Only a lookup that finds the action done can change it: a lookup that finds nothing is no proof that
   * nothing was done (it may still be committing), so the outcome stays UNKNOWN.
   */
  readonly readBackUnknown?: (unknown: UnknownOutcome) => Promise<ApiOutcome>;
  /** Who decided the action and why (a release after a review, an operator's release): written with its claim. */
  readonly decision?: ActionDecision;
  /**
   * What of a SUCCEEDED answer may be kept anywhere: the ledger records it, the report returns it (to logs and events),
   * an error quotes it. By default the whole answer. An answer that carries a secret (a new agent's `api_key`, shown
   * once) is cut here to what may be read by anyone who reads the ledger.
   */
  readonly recordable?: (response: { readonly [key: string]: unknown }) => { readonly [key: string]: unknown };
  /**
   * Done with a SUCCEEDED answer before its outcome is recorded (a new agent's key written into its own secret): the
   * record stays SENDING meanwhile, so an invocation that dies here leaves it to turn UNKNOWN, never SUCCEEDED without
   * what this kept. If it throws, the outcome is recorded UNKNOWN with the recordable answer and the error (the action
   * did take effect, but what it gave could not be kept: an operator's case), and the report says UNKNOWN.
   */
  readonly beforeRecording?: (response: { readonly [key: string]: unknown }) => Promise<void>;
}

export type RefusedOutcome = Extract<ApiOutcome, { readonly outcome: 'REJECTED' }>;
export type UnknownOutcome = Extract<ApiOutcome, { readonly outcome: 'UNKNOWN' }>;

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
  /** When the ledger already had the action: what it recorded (it may differ from the action this invocation computed). */
  readonly recorded?: { readonly amountUsdc?: number; readonly request?: { readonly [key: string]: unknown } };
}

/**
 * How an action waits for its turn to be sent (a batch's rate limiter implements it per row). Without
 * one, the claim itself is the SENDING write and the request goes out at once.
 */
export interface Pacing extends RequestPacing {
  /**
   * True when the request may go out at once (a rate-limit slot is free now, or was taken before the
   * claim): the claim is then the SENDING write, and `waitForTurn` is skipped (one ledger write less).
   */
  readyNow(): boolean;
  /**
   * Otherwise the action is CLAIMED first, this is waited for, and then it is marked SENDING. Throws
   * when the turn cannot come in time: the action is given back (REJECTED) with nothing sent.
   */
  waitForTurn(): Promise<void>;
}

export interface ExecuteOptions {
  /** Epoch ms by which the call must be over. */
  readonly deadline: number;
  readonly pacing?: Pacing;
}

/** The money path as a handler uses it: MoneyPath implements it; a handler's unit test may fake it. */
export interface ExecuteOnce {
  executeOnce(action: MoneyAction, options: ExecuteOptions): Promise<ActionReport>;
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
 * The one path every money-moving call takes (docs/design.md): claim in the ledger, send once, record
 * the outcome. A repeat delivery finds the record and reports it without calling the API.
 */
export class MoneyPath implements ExecuteOnce {
  constructor(
    private readonly ledger: MoneyPathLedger,
    private readonly client: MoneyApi,
    private readonly now: () => number = Date.now,
  ) {}

  async executeOnce(action: MoneyAction, options: ExecuteOptions): Promise<ActionReport> {
    const leaseMs = () => Math.max(options.deadline - this.now(), 0) + LEASE_MARGIN_MS;
    const amountCents = toCents(action.amountUsdc);

    const pacing = options.pacing;
    const waitBeforeSend = pacing !== undefined && !pacing.readyNow();
    const claimState = waitBeforeSend ? 'CLAIMED' : 'SENDING';
    const cap = action.cap;
    // The claim comes first, and only its winner reserves: a repeat delivery never takes part in the cap.
    const claim = await this.ledger.claim(action.actionKey, {
      state: claimState,
      leaseMs: leaseMs(),
      request: action.request.body,
      amountUsdc: action.amountUsdc,
      // Listed on the record before it is made, so that whoever finds the attempt never executed can release it.
      cap: cap ? { counterKey: cap.counterKey, cents: amountCents } : undefined,
      decision: action.decision,
    });
    if (!claim.claimed) return this.reportExisting(claim.existing);
    const reservation: CapReservation | undefined = cap
      ? { counterKey: cap.counterKey, cents: amountCents, id: claim.claimToken }
      : undefined;

    // Gives the action up before anything was sent: the reservation back first (the counter makes the
    // release happen once, whoever else tries it), then the record REJECTED, so that it may run again.
    // A release that fails stays listed on the record, for the next claim or an operator's resolution.
    const releaseReservation = async () => {
      if (reservation) await this.ledger.release(reservation).catch(() => false);
    };
    const abandon = async (error: string) => {
      await releaseReservation();
      return claimState === 'CLAIMED'
        ? this.ledger.releaseClaim(action.actionKey, claim.claimToken, error)
        : this.ledger.recordOutcome(action.actionKey, claim.claimToken, 'REJECTED', { error });
    };

    if (cap && reservation) {
      let reserved: boolean;
      try {
        reserved = await this.ledger.reserve(reservation, toCents(cap.capUsdc));
      } catch (error) {
        // The reservation may have been applied with its answer lost: released (if held) with the claim.
        await abandon('the cap could not be checked');
        throw error;
      }
      if (!reserved) {
        const error = `over cap: ${action.amountUsdc} USDC would exceed ${cap.capUsdc} USDC on ${cap.counterKey}`;
        await abandon(error);
        return { status: 'INVALID', actionKey: action.actionKey, repeated: false, error };
      }
    }

    if (waitBeforeSend) {
      try {
        await pacing!.waitForTurn();
      } catch (error) {
        // Nothing was sent: give the action back at once, rather than when the lease runs out.
        await abandon(`not sent: ${(error as Error).message}`);
        throw error;
      }
      if (!(await this.ledger.markSending(action.actionKey, claim.claimToken, leaseMs()))) {
        // Taken over after our lease ran out: nothing was sent under this attempt.
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
        pacing,
      });
    } catch (error) {
      // The client throws only when no request of this call can have taken effect: reading the secret
      // failed before any went out, or no slot was left for a retry after 429s (refused, not executed).
      // The record is SENDING by now, whichever way it was claimed.
      await releaseReservation();
      await this.ledger.recordOutcome(action.actionKey, claim.claimToken, 'REJECTED', { error: `not sent: ${(error as Error).message}` });
      throw error;
    }
    const apiLatencyMs = this.now() - started;
    if (result.outcome === 'REJECTED' && action.readBackRefusal) result = await readBack(result, action.readBackRefusal);
    if (result.outcome === 'UNKNOWN' && action.readBackUnknown) result = await readBackUnknown(result, action.readBackUnknown);
    // From here on only the recordable answer exists outside this block: the record, the report, any error.
    let keptResponse: { readonly [key: string]: unknown } | undefined;
    if (result.outcome === 'SUCCEEDED') {
      const whole = result.response;
      keptResponse = action.recordable ? action.recordable(whole) : whole;
      result = { ...result, response: { ...keptResponse } };
      if (action.beforeRecording) {
        try {
          await action.beforeRecording(whole);
        } catch (keepError) {
          result = {
            outcome: 'UNKNOWN',
            status: result.status,
            attempts: result.attempts,
            error: 'answer_not_kept',
            message: `the action took effect, but what its answer gave could not be kept: ${(keepError as Error).message}`,
          };
        }
      }
    }
    const error =
      result.outcome === 'SUCCEEDED' ? undefined : describeError(result.error, 'message' in result ? result.message : undefined);
    // A refusal did not execute: its reservation goes back even if the record has meanwhile turned
    // UNKNOWN (an operator's not-executed resolution then finds it released, and releases nothing).
    if (result.outcome === 'REJECTED') await releaseReservation();
    const recorded = await this.recordOutcome(action.actionKey, claim.claimToken, result, error, keptResponse);
    return {
      status: result.outcome,
      actionKey: action.actionKey,
      repeated: false,
      response: result.outcome === 'SUCCEEDED' ? result.response : keptResponse,
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
  private async recordOutcome(
    actionKey: string,
    claimToken: string,
    result: ApiOutcome,
    error: string | undefined,
    keptResponse?: { readonly [key: string]: unknown },
  ): Promise<boolean> {
    // An UNKNOWN whose answer came (but could not be kept) records that answer too: what the action created, for the operator.
    const response = result.outcome === 'SUCCEEDED' ? result.response : keptResponse;
    const details = { response: recordableResponse(response), error };
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
    const base = {
      actionKey: current.actionKey,
      repeated: !foundUnknown,
      error: current.error,
      recorded: { amountUsdc: current.amountUsdc, request: current.request },
    };
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

/** The refusal as it came when it cannot be read back: the next delivery sends again and reads again. */
async function readBack(refusal: RefusedOutcome, read: (refusal: RefusedOutcome) => Promise<ApiOutcome>): Promise<ApiOutcome> {
  try {
    return await read(refusal);
  } catch (error) {
    return { ...refusal, message: appendError(refusal.message, `it could not be read back: ${(error as Error).message}`) };
  }
}

/** An UNKNOWN becomes SUCCEEDED only on proof; a lookup that finds nothing, or fails, leaves it UNKNOWN (with why). */
async function readBackUnknown(unknown: UnknownOutcome, read: (unknown: UnknownOutcome) => Promise<ApiOutcome>): Promise<ApiOutcome> {
  let found: ApiOutcome;
  try {
    found = await read(unknown);
  } catch (error) {
    return { ...unknown, message: appendError(unknown.message, `it could not be read back: ${(error as Error).message}`) };
  }
  if (found.outcome === 'SUCCEEDED') return { ...found, attempts: unknown.attempts };
  return found === unknown
    ? unknown
    : { ...unknown, message: appendError(unknown.message, found.message ?? 'the read-back did not find it done') };
}

function describeError(code: string, message: string | undefined): string {
  return message ? `${code}: ${message}` : code;
}

function appendError(error: string | undefined, addition: string): string {
  return error ? `${error}; ${addition}` : addition;
}
