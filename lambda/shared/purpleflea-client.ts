import { createHash } from 'node:crypto';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../../lib/private/contracts/connection-env';
import { backoffDelayMs, sleep } from './backoff';
import { httpPost, HttpPostResult } from './http-post';
import { ApiRequest } from './purpleflea-api';
import { CredentialsProvider } from './purpleflea-credentials';

/**
 * What a call did, in the ledger's terms: SUCCEEDED (2xx), REJECTED (provably not executed) or
 * UNKNOWN (may have taken effect: never to be re-sent automatically).
 */
export type ApiOutcome =
  | { readonly outcome: 'SUCCEEDED'; readonly status: number; readonly response: { [key: string]: unknown }; readonly attempts: number }
  | { readonly outcome: 'REJECTED'; readonly status?: number; readonly error: string; readonly message?: string; readonly attempts: number }
  | { readonly outcome: 'UNKNOWN'; readonly status?: number; readonly error: string; readonly attempts: number };

export interface PurpleFleaClientOptions {
  readonly baseUrl: string;
  readonly credentials: CredentialsProvider;
  /** Per request; by default DEFAULT_REQUEST_TIMEOUT_MS (10 s, as the hand-written pattern). */
  readonly requestTimeoutMs?: number;
  /** First backoff ceiling; doubles each retry up to `maxBackoffMs`. */
  readonly backoffBaseMs?: number;
  /** Purple Flea's rate limits are fixed one-minute windows with no Retry-After: wait up to a minute. */
  readonly maxBackoffMs?: number;
  readonly now?: () => number;
}

/** How the attempts of one request keep a pace (a batch's rate limiter); a single action has none. */
export interface RequestPacing {
  /** Waited for before each retry (a rate limiter's slot), so that retries keep the run's pace too. */
  beforeRetry(): Promise<void>;
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

export class PurpleFleaClient implements MoneyApi {
  private readonly baseUrl: string;
  private readonly requestTimeoutMs: number;
  private readonly backoffBaseMs: number;
  private readonly maxBackoffMs: number;
  private readonly now: () => number;

  constructor(private readonly options: PurpleFleaClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.backoffBaseMs = options.backoffBaseMs ?? 1_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Sends one money-moving request. Retries only where the request provably did not take effect:
   * 429, a connection that never opened, and one 401 after re-reading the secret.
   */
  async post(request: ApiRequest, options: PostOptions): Promise<ApiOutcome> {
    const url = new URL(this.baseUrl + request.path);
    const body = JSON.stringify(request.body);
    let credentials = await this.options.credentials.get();
    let refreshedAfter401 = false;
    let lastRefusal = { status: undefined as number | undefined, error: 'not_sent', message: undefined as string | undefined };

    const latestStart = options.deadline - this.requestTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const mayStart = (await options.pacing?.admitAttempt(latestStart)) ?? true;
      if (!mayStart || this.now() > latestStart) {
        const message = appendReason(lastRefusal.message, 'no time left for an attempt within the function\'s timeout');
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
      const verdict = classify(result);
      if (verdict.kind === 'final') return { ...verdict.outcome, attempts: attempt };

      if (verdict.kind === 'unauthorized') {
        if (refreshedAfter401) return { outcome: 'REJECTED', status: 401, error: 'unauthorized', message: verdict.message, attempts: attempt };
        refreshedAfter401 = true;
        credentials = await this.options.credentials.refresh();
        continue;
      }
      // Retryable: rate limited, or the connection never opened. Wait, unless the deadline forbids it.
      lastRefusal = { status: verdict.status, error: verdict.error, message: verdict.message };
      const wait = Math.max(backoffDelayMs(attempt - 1, this.backoffBaseMs, this.maxBackoffMs), 50);
      if (this.now() + wait + this.requestTimeoutMs > options.deadline) {
        const message = appendReason(verdict.message, `gave up after ${attempt} attempts: no time left within the function's timeout`);
        return { outcome: 'REJECTED', status: verdict.status, error: verdict.error, message, attempts: attempt };
      }
      await sleep(wait);
      await options.pacing?.beforeRetry();
    }
  }
}

type Verdict =
  | { readonly kind: 'final'; readonly outcome: DistributiveOmit<ApiOutcome, 'attempts'> }
  | { readonly kind: 'unauthorized'; readonly message?: string }
  | { readonly kind: 'retry'; readonly status?: number; readonly error: string; readonly message?: string };

type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;

function classify(result: HttpPostResult): Verdict {
  if (result.kind === 'not-sent') return { kind: 'retry', error: 'not_sent', message: `connection failed before sending: ${result.reason}` };
  if (result.kind === 'no-answer') return { kind: 'final', outcome: { outcome: 'UNKNOWN', error: `no answer after sending: ${result.reason}` } };

  const { status } = result;
  const parsed = parseJsonObject(result.body);
  if (status >= 200 && status < 300) {
    // A 2xx is an executed action even if its body is not the JSON we expect: record what came back.
    return { kind: 'final', outcome: { outcome: 'SUCCEEDED', status, response: parsed ?? { raw: result.body.slice(0, 1000) } } };
  }
  const error = typeof parsed?.error === 'string' ? parsed.error : `http_${status}`;
  const message = typeof parsed?.message === 'string' ? parsed.message : undefined;
  if (status === 401) return { kind: 'unauthorized', message };
  if (status === 429) return { kind: 'retry', status, error, message };
  if (status >= 400 && status < 500) return { kind: 'final', outcome: { outcome: 'REJECTED', status, error, message } };
  // 5xx (and anything else): the server may have committed before failing.
  return { kind: 'final', outcome: { outcome: 'UNKNOWN', status, error } };
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
