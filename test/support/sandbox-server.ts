/**
 * What the Purple Flea sandboxes share (the gateway's, purpleflea-sandbox.ts, and the per-service one,
 * purpleflea-services-sandbox.ts): the HTTP plumbing on loopback, the recording of every call, injected
 * faults and latency, and fixed-window rate counting. A sandbox brings its routes as one `handle`
 * function, which validates, commits (marking the call) and returns the answer; this module decides
 * whether and how that answer reaches the client.
 */
import type * as http from 'node:http';
import { EventEmitter } from 'node:events';
import { LoopbackServer, Sleeper, readBody, sendJson } from './http-util';

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

export interface RecordedCall<F extends { kind: string } = Fault> {
  readonly method: string;
  readonly path: string;
  /** Parsed JSON, or the raw text when it is not JSON. */
  readonly body: unknown;
  readonly idempotencyKey: string | undefined;
  readonly authorization: string | undefined;
  /** The status sent, 'timeout' (never answered), 'reset' (socket destroyed) or 'pending' (still in progress). */
  status: CallOutcome;
  /** Set by the sandbox's routes when the request took effect. */
  committed: boolean;
  /** The fault this call consumed, if any. */
  fault: F | undefined;
  /** When its body had arrived (epoch ms, real time). */
  readonly receivedAt: number;
  /** When its answer was sent (epoch ms, real time); undefined while pending or when never answered. */
  answeredAt?: number;
}

/** What a sandbox's routes answer. */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** The error code the real services use for a status, when a fault does not name one. */
export const ERROR_CODES: Record<number, string> = {
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

export interface SandboxRoutes<F extends { kind: string }, Call extends RecordedCall<F>> {
  /** Fields a sandbox adds to each recorded call (which service, the client's IP, ...). */
  readonly describe: (req: http.IncomingMessage, path: string) => Omit<Call, keyof RecordedCall<F>>;
  /**
   * Routing, limits, auth, validation and commit, in the order a request meets them. Sets
   * `call.committed` when the request took effect; a fault the shared pipeline does not know
   * (a sandbox's own kind) is the route's to act on.
   */
  readonly handle: (call: Call, raw: string, req: http.IncomingMessage) => Answer;
  /** The body of an injected error, in the sandbox's dialect. */
  readonly errorBody: (call: Call, status: number, error: string, message: string) => unknown;
  /** Names a queued fault may match besides '*' (default: the call's path). */
  readonly faultKeys?: (call: Call) => readonly string[];
}

/**
 * Recording, faults and latency for the loopback servers of one sandbox (several servers may share
 * one core: the services sandbox runs one per host, with one set of recordings and one fault queue).
 */
export class SandboxCore<F extends { kind: string } = Fault, Call extends RecordedCall<F> = RecordedCall<F>> {
  private readonly sleeper = new Sleeper();
  private readonly events = new EventEmitter();
  private readonly servers: LoopbackServer[] = [];
  private faults: Array<{ key: string; fault: F }> = [];
  private readonly recordedCalls: Call[] = [];

  constructor(private latencyMs = 0) {}

  /** Every request received, in arrival order. */
  get calls(): readonly Call[] {
    return [...this.recordedCalls];
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Queues faults under `key` ('*' = any request); each matching request consumes the oldest matching one. */
  injectFaults(key: string, ...faults: F[]): void {
    for (const fault of faults) this.faults.push({ key, fault });
  }

  /** Faults queued but not consumed yet. */
  get pendingFaults(): number {
    return this.faults.length;
  }

  /** Clears recordings, faults and latency. */
  reset(): void {
    this.recordedCalls.length = 0;
    this.faults = [];
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

  /** Starts a loopback server (127.0.0.1, a free port) that answers through `routes`. */
  async listen(routes: SandboxRoutes<F, Call>): Promise<LoopbackServer> {
    const server = await LoopbackServer.listen((req, res) => {
      this.exchange(routes, req, res).catch((err: unknown) => {
        // A bug in the sandbox itself: make it loud rather than a silent hang.
        if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: 'sandbox_bug', message: String(err) });
      });
    });
    this.servers.push(server);
    return server;
  }

  /** Stops the servers, cancels delays and cuts every socket, including never-answered requests. */
  async close(): Promise<void> {
    this.sleeper.cancelAll();
    await Promise.all(this.servers.map((server) => server.close()));
  }

  private async exchange(routes: SandboxRoutes<F, Call>, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Read the whole request first: every fault happens after the client has sent everything,
    // which is exactly when the client can no longer tell whether the action happened.
    const raw = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
    const call = {
      method: req.method ?? '',
      path,
      body: parseJson(raw),
      idempotencyKey: headerValue(req, 'idempotency-key'),
      authorization: headerValue(req, 'authorization'),
      status: 'pending',
      committed: false,
      fault: undefined,
      receivedAt: Date.now(),
      ...routes.describe(req, path),
    } as Call;
    call.fault = this.takeFault(routes.faultKeys?.(call) ?? [path]);
    this.recordedCalls.push(call);
    this.events.emit('call');

    if (!(await this.sleeper.sleep(this.latencyMs))) return;

    const fault = call.fault as Fault | undefined;
    switch (fault?.kind) {
      case 'delay':
        if (!(await this.sleeper.sleep(fault.ms))) return;
        break;
      case 'status':
        return this.send(res, call, fault.status, injectedError(routes, call, fault, 'injected fault'));
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

    const answer = routes.handle(call, raw, req);
    if (call.committed) {
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
          return this.send(res, call, fault.status, injectedError(routes, call, fault, 'injected fault after commit'));
        default:
          break;
      }
    }
    this.send(res, call, answer.status, answer.body);
  }

  private send(res: http.ServerResponse, call: Call, status: number, body: unknown): void {
    call.status = status;
    call.answeredAt = Date.now();
    sendJson(res, status, body);
  }

  private takeFault(keys: readonly string[]): F | undefined {
    const index = this.faults.findIndex((f) => f.key === '*' || keys.includes(f.key));
    return index < 0 ? undefined : this.faults.splice(index, 1)[0].fault;
  }
}

function injectedError<F extends { kind: string }, Call extends RecordedCall<F>>(
  routes: SandboxRoutes<F, Call>,
  call: Call,
  fault: { status: number; error?: string; message?: string },
  defaultMessage: string,
): unknown {
  return routes.errorBody(call, fault.status, fault.error ?? ERROR_CODES[fault.status] ?? 'error', fault.message ?? defaultMessage);
}

/**
 * Fixed-window request counts per key, as Purple Flea's limiters keep them: a key's window opens at its
 * first request, a later request past the window's end opens a new one, and rejected requests count too.
 */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, { openedAt: number; count: number }>();

  /**
   * @param renewsAfterMoreThanWindow false: a new window opens once `windowMs` have passed since the last
   *   one opened; true: only once MORE than `windowMs` have (the services' `now - start > 60_000`).
   */
  constructor(private readonly renewsAfterMoreThanWindow: boolean) {}

  /** Counts one request under `key` at `now`; true when it is beyond `limit` in its window. */
  overLimit(key: string, limit: number, windowMs: number, now: number): boolean {
    let window = this.windows.get(key);
    const elapsed = window ? now - window.openedAt : Infinity;
    if (!window || (this.renewsAfterMoreThanWindow ? elapsed > windowMs : elapsed >= windowMs)) {
      window = { openedAt: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count += 1;
    return window.count > limit;
  }

  /** Forgets one key's window (its next request opens a new one). */
  forget(key: string): void {
    this.windows.delete(key);
  }

  clear(): void {
    this.windows.clear();
  }
}

export function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
