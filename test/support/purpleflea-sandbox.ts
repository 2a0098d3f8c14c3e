/**
 * A local stand-in for the Purple Flea gateway (purpleflea-api.md sections 1 and 2).
 *
 * Purple Flea has no test mode, so the handler tests run the real HTTP client against this server.
 * Like the real service it has NO idempotency: every accepted request commits a new action, whatever
 * its Idempotency-Key says. That is the point: exactly-once must come from the ledger, and the tests
 * check it by counting `committed()` here.
 */
import type { LoopbackServer } from './http-util';
import { ERROR_CODES, FixedWindowLimiter, SandboxCore, type Answer, type Fault, type RecordedCall } from './sandbox-server';

// The fault and call types live in the shared module; re-exported because tests import them from here.
export type { CallOutcome, Fault, RecordedCall } from './sandbox-server';

/** The key the sandbox accepts unless told otherwise. Not a real key (real ones look like pf_live_...). */
export const SANDBOX_API_KEY = 'pf_sandbox_not_a_real_key';

export const TRADING_ORDER_PATH = '/trading/order';
export const ESCROW_CREATE_PATH = '/escrow/create';
export const WALLET_TRANSFER_PATH = '/wallet/transfer';

/** Agent ids: `agt_...` (the story's) and `ag_...` (service) both pass; validate the shape, not a prefix. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** The release and read routes of an escrow: the story names none; the library takes the escrow service's own. */
export const ESCROW_RELEASE_PATH_PREFIX = '/escrow/release/';
export const ESCROW_READ_PATH_PREFIX = '/escrow/';
/** The dispute route, likewise the escrow service's own (`POST /escrow/dispute/{id}` with `{reason}`). */
export const ESCROW_DISPUTE_PATH_PREFIX = '/escrow/dispute/';

export type ActionKind = 'order' | 'escrow' | 'transfer' | 'release' | 'dispute';

/** An escrow's states, as the escrow service has them (purpleflea-services.md): released and refunded are final. */
export type EscrowStatus = 'funded' | 'released' | 'refunded' | 'disputed';

interface Escrow {
  status: EscrowStatus;
  readonly body: Body;
  releasedAt?: string;
}

export interface CommittedAction {
  readonly kind: ActionKind;
  readonly path: string;
  /** ord_<n>, esc_<n> or tx_<n>. */
  readonly id: string;
  readonly body: Record<string, unknown>;
  readonly idempotencyKey: string | undefined;
}

export interface SandboxOptions {
  /** Accepted bearer keys; default [SANDBOX_API_KEY]. */
  readonly apiKeys?: string[];
  /** Added before every request is handled. */
  readonly latencyMs?: number;
}

type Body = Record<string, unknown>;

interface Route {
  readonly kind: ActionKind;
  readonly idPrefix: string;
  readonly validate: (body: Body) => string | undefined;
  readonly respond: (id: string, body: Body) => Body;
}

const ROUTES: Record<string, Route> = {
  [TRADING_ORDER_PATH]: {
    kind: 'order',
    idPrefix: 'ord_',
    validate: (b) =>
      agentIdProblem(b, 'agent_id') ??
      (b.direction === 'long' || b.direction === 'short' ? undefined : 'direction must be "long" or "short"') ??
      amountProblem(b) ??
      nonEmptyStringProblem(b, 'asset') ??
      (b.order_type === 'market' ? undefined : 'order_type must be "market"') ??
      metadataProblem(b),
    respond: (id, b) => ({
      order_id: id,
      status: 'filled',
      agent_id: b.agent_id,
      direction: b.direction,
      amount: b.amount,
      asset: b.asset,
      fill_price: 64000.5,
      _info: { sandbox: true, note: 'clients must tolerate unknown fields' },
    }),
  },
  [ESCROW_CREATE_PATH]: {
    kind: 'escrow',
    idPrefix: 'esc_',
    validate: (b) =>
      agentIdProblem(b, 'buyer') ??
      agentIdProblem(b, 'seller') ??
      amountProblem(b) ??
      nonEmptyStringProblem(b, 'condition') ??
      metadataProblem(b),
    respond: (id, b) => ({
      escrow_id: id,
      status: 'funded',
      buyer: b.buyer,
      seller: b.seller,
      amount: b.amount,
      _info: { fee_on_release_pct: 1, referral_share_of_fee_pct: 15 },
    }),
  },
  [WALLET_TRANSFER_PATH]: {
    kind: 'transfer',
    idPrefix: 'tx_',
    validate: (b) =>
      agentIdProblem(b, 'from_agent') ??
      agentIdProblem(b, 'to_agent') ??
      amountProblem(b) ??
      (b.memo === undefined || typeof b.memo === 'string' ? undefined : 'memo must be a string'),
    respond: (id, b) => ({
      transfer_id: id,
      status: 'completed',
      from_agent: b.from_agent,
      to_agent: b.to_agent,
      amount: b.amount,
    }),
  },
};

function agentIdProblem(b: Body, field: string): string | undefined {
  const value = b[field];
  return typeof value === 'string' && AGENT_ID_PATTERN.test(value) ? undefined : `${field} must be a valid agent id`;
}

function amountProblem(b: Body): string | undefined {
  const { amount } = b;
  return typeof amount === 'number' && Number.isFinite(amount) && amount > 0 ? undefined : 'amount must be a number greater than 0';
}

function nonEmptyStringProblem(b: Body, field: string): string | undefined {
  const value = b[field];
  return typeof value === 'string' && value.length > 0 ? undefined : `${field} must be a non-empty string`;
}

/** metadata is part of the contract; when sent it must be a JSON object. */
function metadataProblem(b: Body): string | undefined {
  return b.metadata === undefined || isObject(b.metadata) ? undefined : 'metadata must be an object';
}

function isObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class PurpleFleaSandbox {
  static async start(options: SandboxOptions = {}): Promise<PurpleFleaSandbox> {
    const sandbox = new PurpleFleaSandbox(options);
    sandbox.server = await sandbox.core.listen({
      describe: () => ({}),
      handle: (call) => sandbox.answer(call),
      errorBody: (_call, status, error, message) => errorBody(status, error, message),
    });
    return sandbox;
  }

  /** Kept by name: the bench counts this server's connections (bench/stand-ins-process.ts). */
  private server!: LoopbackServer;
  private readonly core: SandboxCore;
  private apiKeys: Set<string>;
  private rateLimits = new Map<string, { limit: number; windowMs: number }>();
  private readonly rateWindows = new FixedWindowLimiter(false);
  private readonly committedActions: CommittedAction[] = [];
  private readonly escrows = new Map<string, Escrow>();
  /** Never reset, so an id from an earlier test is never handed out again. */
  private nextId = 1;

  private constructor(options: SandboxOptions) {
    this.apiKeys = new Set(options.apiKeys ?? [SANDBOX_API_KEY]);
    this.core = new SandboxCore(options.latencyMs ?? 0);
  }

  /** http://127.0.0.1:PORT, no trailing slash. */
  get baseUrl(): string {
    return this.server.url;
  }

  /** Every request received, in arrival order. */
  get calls(): readonly RecordedCall[] {
    return this.core.calls;
  }

  /** Actions that really happened (money moved), optionally only those of one path. */
  committed(path?: string): readonly CommittedAction[] {
    return this.committedActions.filter((a) => path === undefined || a.path === path);
  }

  /** Replaces the accepted keys, e.g. to simulate a rotated secret. */
  setApiKeys(keys: string[]): void {
    this.apiKeys = new Set(keys);
  }

  setLatency(ms: number): void {
    this.core.setLatency(ms);
  }

  /** Queues faults for `path` ('*' = any path); each matching request consumes the oldest matching one. */
  injectFaults(path: string, ...faults: Fault[]): void {
    this.core.injectFaults(path, ...faults);
  }

  /** Faults queued but not consumed yet. */
  get pendingFaults(): number {
    return this.core.pendingFaults;
  }

  /**
   * Fixed-window limit per path, like the real per-IP limits: beyond it 429 rate_limited, no Retry-After.
   * The window starts at the first request after this call (not at a clock minute) so tests are not
   * flaky at minute boundaries; `windowMs` can be shortened for tests of back-off.
   */
  setRateLimit(path: string, perMinute: number, windowMs = 60_000): void {
    this.rateLimits.set(path, { limit: perMinute, windowMs });
    this.rateWindows.forget(path);
  }

  /** An escrow's state now; undefined for an id the sandbox never created. */
  escrowStatus(escrowId: string): EscrowStatus | undefined {
    return this.escrows.get(escrowId)?.status;
  }

  /** Moves an escrow as something other than this client would: its timeout refund, a dispute, a release by hand. */
  setEscrowStatus(escrowId: string, status: EscrowStatus): void {
    const escrow = this.escrows.get(escrowId);
    if (!escrow) throw new Error(`the sandbox has no escrow ${escrowId}`);
    escrow.status = status;
    if (status === 'released') escrow.releasedAt = new Date().toISOString();
  }

  /** Clears recordings, faults, latency, rate limits and escrows (keys and id counter are kept). */
  reset(): void {
    this.core.reset();
    this.committedActions.length = 0;
    this.escrows.clear();
    this.rateLimits.clear();
    this.rateWindows.clear();
  }

  /** Resolves once at least `count` requests have arrived (useful while a request hangs). */
  waitForCalls(count: number, timeoutMs = 5_000): Promise<void> {
    return this.core.waitForCalls(count, timeoutMs);
  }

  /** Stops the server, cancels delays and cuts every socket, including never-answered requests. */
  async close(): Promise<void> {
    await this.core.close();
  }

  private answer(call: RecordedCall): Answer {
    const outcome = this.process(call);
    return 'error' in outcome
      ? {
          status: outcome.status,
          body: errorBody(outcome.status, outcome.error ?? ERROR_CODES[outcome.status] ?? 'error', outcome.message),
        }
      : { status: 200, body: outcome.response };
  }

  /** Routing, rate limit, auth, validation and commit, in the order a request meets them. */
  private process(call: RecordedCall): { response: Body } | { status: number; error: string | undefined; message?: string } {
    if (call.method === 'POST' && call.path.startsWith(ESCROW_RELEASE_PATH_PREFIX)) return this.release(call);
    if (call.method === 'POST' && call.path.startsWith(ESCROW_DISPUTE_PATH_PREFIX)) return this.dispute(call);
    if (call.method === 'GET' && call.path.startsWith(ESCROW_READ_PATH_PREFIX)) return this.readEscrow(call);
    const route = call.method === 'POST' ? ROUTES[call.path] : undefined;
    // No message here: clients must cope with error bodies that have only `error`.
    if (!route) return { status: 404, error: 'not_found' };
    if (this.overRateLimit(call.path)) return { status: 429, error: 'rate_limited', message: 'Too many requests' };
    if (!this.authorized(call.authorization)) return { status: 401, error: 'unauthorized', message: 'Invalid API key' };
    if (!isObject(call.body)) return { status: 400, error: 'invalid_request', message: 'body must be a JSON object' };
    const problem = route.validate(call.body);
    if (problem) return { status: 400, error: 'invalid_request', message: problem };

    const id = `${route.idPrefix}${this.nextId++}`;
    this.committedActions.push({
      kind: route.kind,
      path: call.path,
      id,
      body: call.body,
      idempotencyKey: call.idempotencyKey,
    });
    call.committed = true;
    if (route.kind === 'escrow') this.escrows.set(id, { status: 'funded', body: call.body });
    return { response: route.respond(id, call.body) };
  }

  /** `POST /escrow/release/{id}`: a funded escrow becomes released, once; otherwise 409 invalid_status. */
  private release(call: RecordedCall): { response: Body } | { status: number; error: string; message?: string } {
    if (this.overRateLimit(call.path)) return { status: 429, error: 'rate_limited', message: 'Too many requests' };
    if (!this.authorized(call.authorization)) return { status: 401, error: 'unauthorized', message: 'Invalid API key' };
    const escrowId = decodeURIComponent(call.path.slice(ESCROW_RELEASE_PATH_PREFIX.length));
    const escrow = this.escrows.get(escrowId);
    if (!escrow) return { status: 404, error: 'not_found' };
    if (escrow.status !== 'funded') return { status: 409, error: 'invalid_status', message: `Escrow is ${escrow.status}` };
    escrow.status = 'released';
    escrow.releasedAt = new Date().toISOString();
    this.committedActions.push({ kind: 'release', path: call.path, id: escrowId, body: {}, idempotencyKey: call.idempotencyKey });
    call.committed = true;
    const amount = escrow.body.amount as number;
    return { response: { escrow_id: escrowId, status: 'released', amount_released: Math.round(amount * 99) / 100 } };
  }

  /** `POST /escrow/dispute/{id}` with `{reason}`: a funded escrow becomes disputed, once; otherwise 409 invalid_status. */
  private dispute(call: RecordedCall): { response: Body } | { status: number; error: string; message?: string } {
    if (this.overRateLimit(call.path)) return { status: 429, error: 'rate_limited', message: 'Too many requests' };
    if (!this.authorized(call.authorization)) return { status: 401, error: 'unauthorized', message: 'Invalid API key' };
    const escrowId = decodeURIComponent(call.path.slice(ESCROW_DISPUTE_PATH_PREFIX.length));
    const escrow = this.escrows.get(escrowId);
    if (!escrow) return { status: 404, error: 'not_found' };
    if (escrow.status !== 'funded') return { status: 409, error: 'invalid_status', message: `Escrow is ${escrow.status}` };
    const body = isObject(call.body) ? call.body : {};
    const reason = typeof body.reason === 'string' && body.reason ? body.reason : 'No reason provided';
    escrow.status = 'disputed';
    this.committedActions.push({ kind: 'dispute', path: call.path, id: escrowId, body: { reason }, idempotencyKey: call.idempotencyKey });
    call.committed = true;
    return { response: { escrow_id: escrowId, status: 'disputed', reason } };
  }

  /** `GET /escrow/{id}`: the escrow's state and parties. */
  private readEscrow(call: RecordedCall): { response: Body } | { status: number; error: string } {
    if (!this.authorized(call.authorization)) return { status: 401, error: 'unauthorized' };
    const escrowId = decodeURIComponent(call.path.slice(ESCROW_READ_PATH_PREFIX.length));
    const escrow = this.escrows.get(escrowId);
    if (!escrow) return { status: 404, error: 'not_found' };
    const { buyer, seller, amount } = escrow.body;
    return { response: { escrow_id: escrowId, status: escrow.status, buyer, seller, amount, released_at: escrow.releasedAt ?? null } };
  }

  private overRateLimit(path: string): boolean {
    const limit = this.rateLimits.get(path);
    return limit !== undefined && this.rateWindows.overLimit(path, limit.limit, limit.windowMs, Date.now());
  }

  private authorized(header: string | undefined): boolean {
    const match = /^Bearer (\S+)$/i.exec(header ?? '');
    return match !== null && this.apiKeys.has(match[1]);
  }
}

function errorBody(status: number, error: string, message: string | undefined): Body {
  const body: Body = { error };
  if (message !== undefined) body.message = message;
  // The real service sometimes adds _info to error bodies too.
  if (status === 429) body._info = { hint: 'slow down' };
  return body;
}
