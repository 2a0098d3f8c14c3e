/**
 * A local stand-in for the Purple Flea gateway (purpleflea-api.md sections 1 and 2).
 *
 * Purple Flea has no test mode, so the handler tests run the real HTTP client against this server.
 * Like the real service it has NO idempotency: every accepted request commits a new action, whatever
 * its Idempotency-Key says. That is the point: exactly-once must come from the ledger, and the tests
 * check it by counting `committed()` here.
 */
import type * as http from 'node:http';
import { EventEmitter } from 'node:events';
import { LoopbackServer, Sleeper, readBody, sendJson } from './http-util';

/** The key the sandbox accepts unless told otherwise. Not a real key (real ones look like pf_live_...). */
export const SANDBOX_API_KEY = 'pf_sandbox_not_a_real_key';

export const TRADING_ORDER_PATH = '/trading/order';
export const ESCROW_CREATE_PATH = '/escrow/create';
export const WALLET_TRANSFER_PATH = '/wallet/transfer';

/** Agent ids: `agt_...` (seed) and `ag_...` (service) both pass; validate the shape, not a prefix. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** One injected misbehaviour, consumed by one matching request. */
export type Fault =
  /** Answers an error without committing (429 rate_limited, 402 insufficient_balance, 500 internal_error, ...). */
  | { kind: 'status'; status: number; error?: string; message?: string }
  /**
   * Commits, then answers an error: the money moved but the client sees a failure.
   * (The *-after-commit faults only bite when the request would commit; a 400/401/404/429 is answered as usual.)
   */
  | { kind: 'status-after-commit'; status: number; error?: string; message?: string }
  /** Reads the request, commits nothing, never answers: the client must time out. */
  | { kind: 'timeout' }
  /** Commits, never answers. */
  | { kind: 'timeout-after-commit' }
  /** Destroys the socket after reading the request, without committing. */
  | { kind: 'reset-before-commit' }
  /** "Committed but the answer was lost": commits, then destroys the socket. */
  | { kind: 'reset-after-commit' }
  /** Waits, then handles the request normally (it commits even if the client gave up meanwhile). */
  | { kind: 'delay'; ms: number };

export type CallOutcome = number | 'timeout' | 'reset' | 'pending';

export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  /** Parsed JSON, or the raw text when it is not JSON. */
  readonly body: unknown;
  readonly idempotencyKey: string | undefined;
  readonly authorization: string | undefined;
  /** The status sent, 'timeout' (never answered), 'reset' (socket destroyed) or 'pending' (still in progress). */
  status: CallOutcome;
  committed: boolean;
  /** The fault this call consumed, if any. */
  fault: Fault | undefined;
}

export type ActionKind = 'order' | 'escrow' | 'transfer';

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

/** The error code the real service uses for a status, when the fault does not name one. */
const ERROR_CODES: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  402: 'insufficient_balance',
  403: 'forbidden',
  404: 'not_found',
  409: 'invalid_status',
  429: 'rate_limited',
  500: 'internal_error',
  502: 'bad_gateway',
  503: 'service_unavailable',
};

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
  return typeof amount === 'number' && Number.isFinite(amount) && amount > 0
    ? undefined
    : 'amount must be a number greater than 0';
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

function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

export class PurpleFleaSandbox {
  static async start(options: SandboxOptions = {}): Promise<PurpleFleaSandbox> {
    const sandbox = new PurpleFleaSandbox(options);
    sandbox.server = await LoopbackServer.listen((req, res) => {
      sandbox.handle(req, res).catch((err: unknown) => {
        // A bug in the sandbox itself: make it loud rather than a silent hang.
        if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: 'sandbox_bug', message: String(err) });
      });
    });
    return sandbox;
  }

  private server!: LoopbackServer;
  private readonly sleeper = new Sleeper();
  private readonly events = new EventEmitter();
  private apiKeys: Set<string>;
  private latencyMs: number;
  private faults: Array<{ path: string; fault: Fault }> = [];
  private rateLimits = new Map<string, { limit: number; windowMs: number; windowStart: number; count: number }>();
  private readonly recordedCalls: RecordedCall[] = [];
  private readonly committedActions: CommittedAction[] = [];
  /** Never reset, so an id from an earlier test is never handed out again. */
  private nextId = 1;

  private constructor(options: SandboxOptions) {
    this.apiKeys = new Set(options.apiKeys ?? [SANDBOX_API_KEY]);
    this.latencyMs = options.latencyMs ?? 0;
  }

  /** http://127.0.0.1:PORT, no trailing slash. */
  get baseUrl(): string {
    return this.server.url;
  }

  /** Every request received, in arrival order. */
  get calls(): readonly RecordedCall[] {
    return [...this.recordedCalls];
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
    this.latencyMs = ms;
  }

  /** Queues faults for `path` ('*' = any path); each matching request consumes the oldest matching one. */
  injectFaults(path: string, ...faults: Fault[]): void {
    for (const fault of faults) this.faults.push({ path, fault });
  }

  /** Faults queued but not consumed yet. */
  get pendingFaults(): number {
    return this.faults.length;
  }

  /**
   * Fixed-window limit per path, like the real per-IP limits: beyond it 429 rate_limited, no Retry-After.
   * The window starts at the first request after this call (not at a clock minute) so tests are not
   * flaky at minute boundaries; `windowMs` can be shortened for tests of back-off.
   */
  setRateLimit(path: string, perMinute: number, windowMs = 60_000): void {
    this.rateLimits.set(path, { limit: perMinute, windowMs, windowStart: -Infinity, count: 0 });
  }

  /** Clears recordings, faults, latency and rate limits (keys and id counter are kept). */
  reset(): void {
    this.recordedCalls.length = 0;
    this.committedActions.length = 0;
    this.faults = [];
    this.rateLimits.clear();
    this.latencyMs = 0;
  }

  /** Resolves once at least `count` requests have arrived (useful while a request hangs). */
  waitForCalls(count: number, timeoutMs = 5_000): Promise<void> {
    if (this.recordedCalls.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onCall = (): void => {
        if (this.recordedCalls.length < count) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`sandbox saw ${this.recordedCalls.length} calls, expected ${count} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.events.off('call', onCall);
      };
      this.events.on('call', onCall);
    });
  }

  /** Stops the server, cancels delays and cuts every socket, including never-answered requests. */
  async close(): Promise<void> {
    this.sleeper.cancelAll();
    await this.server.close();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Read the whole request first: every fault happens after the client has sent everything,
    // which is exactly when the client can no longer tell whether the action happened.
    const raw = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
    const call: RecordedCall = {
      method: req.method ?? '',
      path,
      body: parseJson(raw),
      idempotencyKey: headerValue(req, 'idempotency-key'),
      authorization: headerValue(req, 'authorization'),
      status: 'pending',
      committed: false,
      fault: this.takeFault(path),
    };
    this.recordedCalls.push(call);
    this.events.emit('call');

    if (!(await this.sleeper.sleep(this.latencyMs))) return;

    const fault = call.fault;
    switch (fault?.kind) {
      case 'delay':
        if (!(await this.sleeper.sleep(fault.ms))) return;
        break;
      case 'status':
        return this.sendError(res, call, fault.status, fault.error, fault.message ?? 'injected fault');
      case 'timeout':
        call.status = 'timeout';
        return; // never answer; close() destroys the socket
      case 'reset-before-commit':
        call.status = 'reset';
        req.socket.destroy();
        return;
      default:
        break;
    }

    const outcome = this.process(call);
    if ('error' in outcome) return this.sendError(res, call, outcome.status, outcome.error, outcome.message);

    // The action is committed; only the answer can still go wrong.
    switch (fault?.kind) {
      case 'timeout-after-commit':
        call.status = 'timeout';
        return;
      case 'reset-after-commit':
        call.status = 'reset';
        req.socket.destroy();
        return;
      case 'status-after-commit':
        return this.sendError(res, call, fault.status, fault.error, fault.message ?? 'injected fault after commit');
      default:
        call.status = 200;
        sendJson(res, 200, outcome.response);
    }
  }

  /** Routing, rate limit, auth, validation and commit, in the order a request meets them. */
  private process(
    call: RecordedCall,
  ): { response: Body } | { status: number; error: string | undefined; message?: string } {
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
    return { response: route.respond(id, call.body) };
  }

  private takeFault(path: string): Fault | undefined {
    const index = this.faults.findIndex((f) => f.path === '*' || f.path === path);
    return index < 0 ? undefined : this.faults.splice(index, 1)[0].fault;
  }

  private overRateLimit(path: string): boolean {
    const limit = this.rateLimits.get(path);
    if (!limit) return false;
    const now = Date.now();
    if (now - limit.windowStart >= limit.windowMs) {
      limit.windowStart = now;
      limit.count = 0;
    }
    limit.count += 1;
    return limit.count > limit.limit;
  }

  private authorized(header: string | undefined): boolean {
    const match = /^Bearer (\S+)$/i.exec(header ?? '');
    return match !== null && this.apiKeys.has(match[1]);
  }

  private sendError(
    res: http.ServerResponse,
    call: RecordedCall,
    status: number,
    error: string | undefined,
    message: string | undefined,
  ): void {
    call.status = status;
    const body: Body = { error: error ?? ERROR_CODES[status] ?? 'error' };
    if (message !== undefined) body.message = message;
    // The real service sometimes adds _info to error bodies too.
    if (status === 429) body._info = { hint: 'slow down' };
    sendJson(res, status, body);
  }
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
