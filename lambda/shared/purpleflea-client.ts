import { createHash } from 'node:crypto';
import { DEFAULT_RATE_LIMIT_WINDOW_MS, DEFAULT_REQUEST_TIMEOUT_MS } from '../../lib/private/contracts/connection-env';
import { backoffDelayMs, sleep } from './backoff';
import { httpPost, HttpPostResult } from './http-post';
import { ApiRead, ApiRequest, ApiService, RouteRules } from './purpleflea-api';
import { CredentialsProvider } from './purpleflea-credentials';

/**
 * What a call did, in the ledger's terms: SUCCEEDED (2xx), REJECTED (provably not executed) or
 * UNKNOWN (may have taken effect: never to be re-sent automatically).
 */
export type ApiOutcome =
  | { readonly outcome: 'SUCCEEDED'; readonly status: number; readonly response: { [key: string]: unknown }; readonly attempts: number }
  | { readonly outcome: 'REJECTED'; readonly status?: number; readonly error: string; readonly message?: string; readonly attempts: number }
  | { readonly outcome: 'UNKNOWN'; readonly status?: number; readonly error: string; readonly message?: string; readonly attempts: number };

/** Where one service is, and the key that acts there. */
export interface ServiceEndpoint {
  /** Without a trailing slash (removed if present); a request's path is appended to it, so it keeps its own path. */
  readonly baseUrl: string;
  readonly credentials: CredentialsProvider;
}

export interface PurpleFleaClientOptions {
  /** The gateway's base URL: where a request for the gateway (or naming no service) goes, with `credentials`. */
  readonly baseUrl?: string;
  /** The gateway's key. */
  readonly credentials?: CredentialsProvider;
  /**
   * The services profile's hosts and keys (the casino key for escrow, casino and faucet; the trading key for
   * trading). A request for a service without an endpoint fails before anything is sent, naming the service.
   */
  readonly services?: { readonly [service in Exclude<ApiService, 'gateway'>]?: ServiceEndpoint };
  /** Per request; by default DEFAULT_REQUEST_TIMEOUT_MS (10 s, as the hand-written pattern). */
  readonly requestTimeoutMs?: number;
  /** First backoff ceiling after a connection that never opened; doubles each retry up to `maxBackoffMs`. */
  readonly backoffBaseMs?: number;
  readonly maxBackoffMs?: number;
  /** Purple Flea's fixed rate-limit window, waited out after a 429; by default DEFAULT_RATE_LIMIT_WINDOW_MS (60 s). */
  readonly rateLimitWindowMs?: number;
  readonly now?: () => number;
}

/** How the attempts of one request keep a pace (a batch's rate limiter); a single action has none. */
export interface RequestPacing {
  /** Waited for before each retry (a rate limiter's slot), so that retries keep the run's pace too. */
  beforeRetry(): Promise<void>;
  /**
   * A 429 said the window is full: no request of the pace may go out before `renewsAt` (epoch ms), when the
   * window has surely renewed. Called before `beforeRetry`, which then waits for a slot after it.
   */
  windowFull(renewsAt: number): void;
  /**
   * Waited for right before each attempt goes out, the first one included (a rate limiter's count).
   * Given the latest time the attempt may start; false when it cannot start by then.
   */
  admitAttempt(latestStart: number): Promise<boolean>;
}

export interface PostOptions {
  /** The action key; its SHA-256 goes in the Idempotency-Key header. */
  readonly actionKey: string;
  /** Epoch ms by which the call must be over, leaving the handler time to record the outcome. */
  readonly deadline: number;
  readonly pacing?: RequestPacing;
}

export function idempotencyKey(actionKey: string): string {
  return createHash('sha256').update(actionKey).digest('hex');
}

/** What the money path needs of Purple Flea: one money-moving request, sent and classified. */
export interface MoneyApi {
  post(request: ApiRequest, options: PostOptions): Promise<ApiOutcome>;
}

/** A read route's answer: a JSON object with its status, or why there is none. */
export type ReadResult =
  | { readonly kind: 'answered'; readonly status: number; readonly body: { [key: string]: unknown } }
  | { readonly kind: 'failed'; readonly reason: string };

/** Reads one resource (moves no money): what a handler needs to learn an escrow's state after a refusal. */
export interface ReadApi {
  read(read: ApiRead): Promise<ReadResult>;
}

export class PurpleFleaClient implements MoneyApi, ReadApi {
  private readonly endpoints: { readonly [service in ApiService]?: ServiceEndpoint };
  private readonly requestTimeoutMs: number;
  private readonly backoffBaseMs: number;
  private readonly maxBackoffMs: number;
  private readonly rateLimitWindowMs: number;
  private readonly now: () => number;

  constructor(options: PurpleFleaClientOptions) {
    const { baseUrl, credentials } = options;
    const gateway = baseUrl !== undefined && credentials !== undefined ? { baseUrl, credentials } : undefined;
    const endpoints: { [service in ApiService]?: ServiceEndpoint } = { gateway, ...options.services };
    this.endpoints = Object.fromEntries(
      Object.entries(endpoints)
        .filter((entry): entry is [ApiService, ServiceEndpoint] => entry[1] !== undefined)
        .map(([service, endpoint]) => [service, { ...endpoint, baseUrl: endpoint.baseUrl.replace(/\/+$/, '') }]),
    );
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.backoffBaseMs = options.backoffBaseMs ?? 1_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.rateLimitWindowMs = options.rateLimitWindowMs ?? DEFAULT_RATE_LIMIT_WINDOW_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * Sends one money-moving request to its service (the gateway when it names none), with that service's key.
   * Retries only where the request provably did not take effect: 429, a connection that never opened, and one
   * 401 after re-reading the secret. A 429 means the fixed window is full: the retry waits until the window has
   * surely renewed (`windowRenewsAt`), with the whole pace when there is one; a connection that never opened
   * backs off with jitter. Throws, before anything is sent, when the service has no endpoint or its key cannot
   * be read.
   */
  async post(request: ApiRequest, options: PostOptions): Promise<ApiOutcome> {
    const service = request.service ?? 'gateway';
    const endpoint = this.endpoints[service];
    if (endpoint === undefined) throw new Error(`no base URL and key for the ${service} service: this connection does not speak it`);
    const url = new URL(endpoint.baseUrl + request.path);
    const body = JSON.stringify(request.body);
    let credentials = await endpoint.credentials.get();
    let refreshedAfter401 = false;
    let lastRefusal = { status: undefined as number | undefined, error: 'not_sent', message: undefined as string | undefined };

    const latestStart = options.deadline - this.requestTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const mayStart = (await options.pacing?.admitAttempt(latestStart)) ?? true;
      if (!mayStart || this.now() > latestStart) {
        const message = appendReason(lastRefusal.message, "no time left for an attempt within the function's timeout");
        return { outcome: 'REJECTED', status: lastRefusal.status, error: lastRefusal.error, message, attempts: attempt - 1 };
      }
      const result = await httpPost({
        url,
        body,
        timeoutMs: this.requestTimeoutMs,
        headers: {
          'content-type': 'application/json',
          'accept': 'application/json',
          'authorization': `Bearer ${credentials.apiKey}`,
          'idempotency-key': idempotencyKey(options.actionKey),
        },
      });
      const verdict = classify(result, request.route);
      if (verdict.kind === 'final') return { ...verdict.outcome, attempts: attempt };

      if (verdict.kind === 'unauthorized') {
        if (refreshedAfter401)
          return { outcome: 'REJECTED', status: 401, error: 'unauthorized', message: verdict.message, attempts: attempt };
        refreshedAfter401 = true;
        credentials = await endpoint.credentials.refresh();
        continue;
      }
      // Retryable: rate limited, or the connection never opened. Wait, unless the deadline forbids it.
      lastRefusal = { status: verdict.status, error: verdict.error, message: verdict.message };
      const rateLimited = verdict.status === 429;
      const retryAt = rateLimited
        ? this.windowRenewsAt()
        : this.now() + Math.max(backoffDelayMs(attempt - 1, this.backoffBaseMs, this.maxBackoffMs), 50);
      if (retryAt + this.requestTimeoutMs > options.deadline) {
        const why = rateLimited
          ? "the rate-limit window is full and renews too late for the function's timeout"
          : "no time left within the function's timeout";
        const message = appendReason(verdict.message, `gave up after ${attempt} attempts: ${why}`);
        return { outcome: 'REJECTED', status: verdict.status, error: verdict.error, message, attempts: attempt };
      }
      if (rateLimited) options.pacing?.windowFull(retryAt);
      // With a pace, its slot after the renewal is the wait; alone, sleep until then.
      if (!rateLimited || !options.pacing) await sleep(Math.max(retryAt - this.now(), 0));
      await options.pacing?.beforeRetry();
    }
  }

  /**
   * One GET of a read route, with its service's key; one attempt (a read moves no money: a caller that could not
   * read decides again at the next delivery). A 401 re-reads the key once.
   */
  async read(read: ApiRead): Promise<ReadResult> {
    const endpoint = this.endpoints[read.service];
    if (endpoint === undefined) return { kind: 'failed', reason: `no base URL and key for the ${read.service} service` };
    const url = new URL(endpoint.baseUrl + read.path);
    for (let credentials = await endpoint.credentials.get(), refreshed = false; ;) {
      const result = await httpPost({
        method: 'GET',
        url,
        body: '',
        timeoutMs: this.requestTimeoutMs,
        headers: { accept: 'application/json', authorization: `Bearer ${credentials.apiKey}` },
      });
      if (result.kind !== 'answered') return { kind: 'failed', reason: `GET ${read.path}: ${result.reason}` };
      if (result.status === 401 && !refreshed) {
        credentials = await endpoint.credentials.refresh();
        refreshed = true;
        continue;
      }
      const body = parseJsonObject(result.body);
      if (body === undefined) return { kind: 'failed', reason: `GET ${read.path}: ${result.status} without a JSON object` };
      return { kind: 'answered', status: result.status, body };
    }
  }

  /**
   * When a window that was full now has surely renewed. The window opened at or before the request that got the
   * 429, so it renews at most a window after the answer; a services window renews only once MORE than its length
   * has passed, and the server's clock and ours may tick apart by a little: 1% more.
   */
  private windowRenewsAt(): number {
    return this.now() + this.rateLimitWindowMs * 1.01;
  }
}

export type Verdict =
  | { readonly kind: 'final'; readonly outcome: DistributiveOmit<ApiOutcome, 'attempts'> }
  | { readonly kind: 'unauthorized'; readonly message?: string }
  | { readonly kind: 'retry'; readonly status?: number; readonly error: string; readonly message?: string };

type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;

/**
 * What one answer means. By status: a 2xx is SUCCEEDED whatever its body (an `_info` envelope, or no id, is
 * recorded as it came); 401 re-reads the key; 429 and a connection that never opened are retried; another 4xx
 * is REJECTED; a 5xx or a lost answer is UNKNOWN. A route's rules (the services profile's, SERVICES_ROUTES) refine
 * a 4xx by its error code: one of `mayHaveExecutedOn` is UNKNOWN, never REJECTED; and `reasons` explains a code
 * in the recorded reason.
 */
export function classify(result: HttpPostResult, route?: RouteRules): Verdict {
  if (result.kind === 'not-sent')
    return { kind: 'retry', error: 'not_sent', message: `connection failed before sending: ${result.reason}` };
  if (result.kind === 'no-answer')
    return { kind: 'final', outcome: { outcome: 'UNKNOWN', error: `no answer after sending: ${result.reason}` } };

  const { status } = result;
  const parsed = parseJsonObject(result.body);
  if (status >= 200 && status < 300) {
    // A 2xx is an executed action even if its body is not the JSON we expect: record what came back.
    return { kind: 'final', outcome: { outcome: 'SUCCEEDED', status, response: parsed ?? { raw: result.body.slice(0, 1000) } } };
  }
  const error = typeof parsed?.error === 'string' ? parsed.error : `http_${status}`;
  const message = typeof parsed?.message === 'string' ? parsed.message : undefined;
  if (status === 401) return { kind: 'unauthorized', message };
  if (status === 429) {
    // Not a full window (the faucet's per-IP day): retrying within the invocation cannot help.
    if (route?.notRetriedOn429?.includes(error)) {
      const reason = route.reasons?.[error];
      return {
        kind: 'final',
        outcome: { outcome: 'REJECTED', status, error, message: reason === undefined ? message : appendReason(message, reason) },
      };
    }
    return { kind: 'retry', status, error, message };
  }
  if (status >= 400 && status < 500) {
    const reason = route?.reasons?.[error];
    if (route?.mayHaveExecutedOn?.includes(error)) {
      const why = reason ?? `a ${status} ${error} from ${route.name} may follow an executed action`;
      return { kind: 'final', outcome: { outcome: 'UNKNOWN', status, error, message: appendReason(message, why) } };
    }
    const explained = reason === undefined ? message : appendReason(message, reason);
    return { kind: 'final', outcome: { outcome: 'REJECTED', status, error, message: explained } };
  }
  // A route's 500 that it gives only before doing anything (the domains service's checks): refused. Any other status
  // with that code (a proxy's?) is not what the contract describes: UNKNOWN, as any 5xx.
  if (status === 500 && route?.notExecutedOn5xx?.includes(error)) {
    const reason = route.reasons?.[error] ?? `${route.name} answers ${status} ${error} before it executes anything`;
    return { kind: 'final', outcome: { outcome: 'REJECTED', status, error, message: appendReason(message, reason) } };
  }
  // 5xx (and anything else): the server may have committed before failing.
  const reason = route?.reasons?.[error];
  return {
    kind: 'final',
    outcome: reason === undefined ? { outcome: 'UNKNOWN', status, error } : { outcome: 'UNKNOWN', status, error, message: reason },
  };
}

function parseJsonObject(text: string): { [key: string]: unknown } | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as { [key: string]: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

function appendReason(message: string | undefined, reason: string): string {
  return message ? `${message}; ${reason}` : reason;
}
