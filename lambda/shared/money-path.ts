import { ActionLedger, LedgerRecord, toCents } from './action-ledger';
import { ApiRequest } from './purpleflea-api';
import { PurpleFleaClient } from './purpleflea-client';

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
}

export interface ExecuteOptions {
  /** Epoch ms by which the call must be over. */
  readonly deadline: number;
  /**
   * Work between claiming and sending (a rate limiter's wait). With it, the action is CLAIMED
   * first and marked SENDING after; without it, the claim itself is the SENDING write.
   */
  readonly beforeSend?: () => Promise<void>;
}

/** Longer than any request can still be in flight after the deadline, so a live sender keeps its claim. */
const LEASE_MARGIN_MS = 30_000;

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

    if (action.cap && !(await this.ledger.reserve(action.cap.counterKey, amountCents, toCents(action.cap.capUsdc)))) {
      // A repeat of an action that already ran must report that, not the cap.
      const existing = await this.ledger.get(action.actionKey);
      if (existing) return this.reportExisting(existing);
      return {
        status: 'INVALID',
        actionKey: action.actionKey,
        repeated: false,
        error: `over cap: ${action.amountUsdc} USDC would exceed ${action.cap.capUsdc} USDC on ${action.cap.counterKey}`,
      };
    }
    const releaseReservation = async () => {
      if (action.cap) await this.ledger.release(action.cap.counterKey, amountCents);
    };

    const claim = await this.ledger.claim(action.actionKey, {
      state: options.beforeSend ? 'CLAIMED' : 'SENDING',
      leaseMs: leaseMs(),
      request: action.request.body,
      amountUsdc: action.amountUsdc,
    });
    if (!claim.claimed) {
      await releaseReservation();
      return this.reportExisting(claim.existing);
    }

    if (options.beforeSend) {
      await options.beforeSend();
      if (!(await this.ledger.markSending(action.actionKey, claim.claimToken, leaseMs()))) {
        await releaseReservation();
        return { status: 'IN_PROGRESS', actionKey: action.actionKey, repeated: true, error: 'the claim expired and was taken over' };
      }
    }

    const started = this.now();
    const result = await this.client.post(action.request, { actionKey: action.actionKey, deadline: options.deadline });
    const apiLatencyMs = this.now() - started;
    const error = result.outcome === 'SUCCEEDED' ? undefined : describeError(result.error, 'message' in result ? result.message : undefined);
    const recorded = await this.ledger.recordOutcome(action.actionKey, claim.claimToken, result.outcome, {
      response: result.outcome === 'SUCCEEDED' ? result.response : undefined,
      error,
    });
    if (result.outcome === 'REJECTED') await releaseReservation();
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
        return { ...base, status: 'SUCCEEDED', response: current.response };
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
