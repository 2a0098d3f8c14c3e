/**
 * `show <key> --check`: what the services' read routes say about an UNKNOWN action of the services profile
 * (purpleflea-services.md section 6). No service takes an idempotency key or a client reference, so this
 * finds candidates and says how sure each match is; it never resolves anything.
 */
import { createHash } from 'node:crypto';
import type { LedgerRecord } from '../../lib/private/contracts/ledger-schema';

export const DEFAULT_SERVICE_URLS = {
  escrow: 'https://escrow.purpleflea.com',
  casino: 'https://casino.purpleflea.com',
  trading: 'https://trading.purpleflea.com',
} as const;

export interface CheckOptions {
  readonly escrowUrl: string;
  readonly casinoUrl: string;
  readonly tradingUrl: string;
  /** The casino key (escrow, pay); read only for the kinds that need it. */
  readonly casinoKey: () => Promise<string>;
  /** The trading key (trades). */
  readonly tradingKey: () => Promise<string>;
}

export type Confidence = 'exact' | 'likely' | 'possible';

export interface Candidate {
  readonly confidence: Confidence;
  /** What `resolve --as succeeded --reference` takes, when the service gave one. */
  readonly reference?: string;
  /** The route that showed it. */
  readonly source: string;
  readonly why: string;
}

export interface CheckResult {
  readonly profile: 'services';
  readonly kind: string;
  /** The send window searched: from the claim to the UNKNOWN time, widened by the margins below. */
  readonly window: { readonly from: string; readonly to: string };
  readonly candidates: readonly Candidate[];
  readonly notes: readonly string[];
  readonly resolved: false;
}

/** The problem that stops a check: named for the operator, never with a secret value. */
export class CheckError extends Error {
  override readonly name = 'CheckError';
}

/** Services timestamps are whole seconds, and a request may be committed a while after its answer was lost. */
export const WINDOW_BEFORE_MS = 5_000;
export const WINDOW_AFTER_MS = 5 * 60_000;
const AMOUNT_EPSILON = 1e-9;
const REQUEST_TIMEOUT_MS = 15_000;

/** The field only a services-profile request of each kind has (the record does not name its profile). */
const SERVICES_REQUEST_FIELD: { readonly [kind: string]: string } = {
  trade: 'size_usd',
  escrow: 'counterparty_agent_id',
  hold: 'counterparty_agent_id',
  payout: 'to_agent_id',
};

export async function checkLostAnswer(record: LedgerRecord, options: CheckOptions): Promise<CheckResult> {
  const kind = record.actionKey.split(':')[1] ?? '';
  const request = record.request ?? {};
  const servicesField = SERVICES_REQUEST_FIELD[kind];
  if (servicesField === undefined) throw new CheckError(`--check knows the kinds trade, escrow, hold and payout, not '${kind}'`);
  if (request[servicesField] === undefined) {
    throw new CheckError(
      `--check speaks the services profile only: this record's request went to the gateway (it has no '${servicesField}'); check at Purple Flea as the runbook says`,
    );
  }
  if (record.state !== 'UNKNOWN' && record.state !== 'SENDING') {
    throw new CheckError(`action '${record.actionKey}' is ${record.state}: --check is for UNKNOWN (or SENDING) actions`);
  }
  const window = sendWindow(record);
  const notes: string[] = [];
  let candidates: Candidate[];
  if (kind === 'escrow' || kind === 'hold') candidates = await checkEscrow(record, options, notes);
  else if (kind === 'payout') candidates = await checkPay(request, window, options, notes);
  else candidates = await checkTrade(request, window, options, notes);
  return {
    profile: 'services',
    kind,
    window: { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() },
    candidates,
    notes,
    resolved: false,
  };
}

/** From the current attempt's claim (its last `claim` entry, else the record's creation) to the UNKNOWN time. */
function sendWindow(record: LedgerRecord): { from: number; to: number } {
  const claims = (record.history ?? []).filter((entry) => entry.event === 'claim');
  const from = Date.parse(claims.at(-1)?.at ?? record.createdAt);
  const unknown = (record.history ?? []).filter((entry) => entry.state === 'UNKNOWN').at(-1)?.at ?? record.updatedAt;
  return { from: from - WINDOW_BEFORE_MS, to: Math.max(Date.parse(unknown), from) + WINDOW_AFTER_MS };
}

interface CasinoEntry {
  readonly id?: unknown;
  readonly type?: unknown;
  readonly amount?: unknown;
  readonly reason?: unknown;
  readonly reference?: unknown;
  readonly service?: unknown;
  readonly createdAt?: unknown;
}

async function casinoLedger(options: CheckOptions, notes: string[]): Promise<CasinoEntry[]> {
  const key = await options.casinoKey();
  const body = await getJson(`${options.casinoUrl}/api/v1/auth/ledger`, 'the casino ledger', key);
  const entries = Array.isArray(body.entries) ? (body.entries as CasinoEntry[]) : [];
  if (entries.length >= 50) {
    notes.push('the casino ledger shows only its 50 newest entries: an older entry of the send window cannot be seen');
  }
  return entries;
}

async function checkEscrow(record: LedgerRecord, options: CheckOptions, notes: string[]): Promise<Candidate[]> {
  const hash = createHash('sha256').update(record.actionKey).digest('hex');
  const locks = (await casinoLedger(options, notes)).filter(
    (entry) => typeof entry.reason === 'string' && entry.reason.startsWith('escrow_lock: ') && typeof entry.reference === 'string',
  );
  const candidates: Candidate[] = [];
  for (const lock of locks) {
    const escrowId = lock.reference as string;
    const escrow = await getJson(`${options.escrowUrl}/escrow/${encodeURIComponent(escrowId)}`, `escrow ${escrowId}`);
    if (typeof escrow.description === 'string' && escrow.description.endsWith(`action sha256:${hash}`)) {
      candidates.push({
        confidence: 'exact',
        reference: escrowId,
        source: 'GET /escrow/{id}',
        why: `its description carries the action key's hash; status ${String(escrow.status)}, ${String(escrow.amount_usd)} USD to ${String(escrow.counterparty_id)}, created ${String(escrow.created_at)}`,
      });
    }
  }
  notes.push(
    `read ${locks.length} escrow_lock entr${locks.length === 1 ? 'y' : 'ies'} of the casino ledger; an escrow of this action carries 'action sha256:${hash}' in its description`,
  );
  return candidates;
}

async function checkPay(
  request: { readonly [key: string]: unknown },
  window: { from: number; to: number },
  options: CheckOptions,
  notes: string[],
): Promise<Candidate[]> {
  const amount = Number(request.amount);
  const matches = (await casinoLedger(options, notes)).filter(
    (entry) =>
      entry.reason === 'payment_sent' &&
      Math.abs(Number(entry.amount) - amount) < AMOUNT_EPSILON &&
      inWindow(Number(entry.createdAt) * 1000, window),
  );
  notes.push('the casino records neither the recipient nor the memo of a payment: equal amounts in one window cannot be told apart');
  return matches.map((entry) => ({
    confidence: matches.length === 1 ? 'likely' : 'possible',
    reference: typeof entry.reference === 'string' ? entry.reference : undefined,
    source: 'GET /api/v1/auth/ledger',
    why: `payment_sent of ${String(entry.amount)} USD at ${isoOf(entry.createdAt)}${matches.length > 1 ? ` (one of ${matches.length} of that amount in the window)` : ''}`,
  }));
}

async function checkTrade(
  request: { readonly [key: string]: unknown },
  window: { from: number; to: number },
  options: CheckOptions,
  notes: string[],
): Promise<Candidate[]> {
  const key = await options.tradingKey();
  const coin = String(request.coin ?? '');
  const side = String(request.side ?? '');
  const sizeUsd = Number(request.size_usd);
  const sameCoin = (value: unknown) => typeof value === 'string' && coinName(value) === coinName(coin);
  // Fills can be partial: the filled notional is at most the request (cents, plus a cent of rounding).
  const sizeFits = (value: unknown) => Number(value) > 0 && Number(value) <= sizeUsd + 0.01;

  const stored = await getJson(`${options.tradingUrl}/v1/trade/positions?status=all`, 'the stored trade positions', key);
  const positions = (Array.isArray(stored.positions) ? stored.positions : []) as Array<{ [field: string]: unknown }>;
  const history = await getJson(`${options.tradingUrl}/v1/trade/history?limit=200`, 'the trade history', key);
  const trades = (Array.isArray(history.trades) ? history.trades : []) as Array<{ [field: string]: unknown }>;

  const matches = positions.filter(
    (p) => sameCoin(p.coin) && p.side === side && inWindow(Number(p.openedAt) * 1000, window) && sizeFits(p.sizeUsd),
  );
  const candidates: Candidate[] = matches.map((p) => {
    const fill = trades.find((t) => t.orderId !== undefined && Number(t.createdAt) === Number(p.openedAt) && sameCoin(t.coin));
    return {
      confidence: matches.length === 1 ? 'likely' : 'possible',
      reference: typeof p.id === 'string' ? p.id : undefined,
      source: 'GET /v1/trade/positions?status=all',
      why:
        `${side} ${String(p.coin)} of ${String(p.sizeUsd)} USD (requested ${sizeUsd}) opened ${isoOf(p.openedAt)}, now ${String(p.status)}` +
        (fill ? `; the history's fill ${String(fill.orderId)}` : '') +
        (matches.length > 1 ? ` (one of ${matches.length} in the window)` : ''),
    };
  });

  // A fill after which the service's database write failed is live on Hyperliquid only, with no position id.
  const live = await getJson(`${options.tradingUrl}/v1/trade/positions`, 'the live trade positions', key);
  const livePositions = (Array.isArray(live.positions) ? live.positions : []) as Array<{ [field: string]: unknown }>;
  for (const p of livePositions) {
    if (sameCoin(p.coin) && p.side === side && (p.position_id === null || p.position_id === undefined)) {
      candidates.push({
        confidence: 'possible',
        source: 'GET /v1/trade/positions',
        why: `a live ${side} ${String(p.coin)} position of ${String(p.size_usd)} USD on Hyperliquid that the service did not record (a fill whose database write failed?); it has no position id`,
      });
    }
  }
  notes.push('Hyperliquid nets positions per coin: an earlier position in the same coin makes the live state ambiguous');
  return candidates;
}

/** `BTC`, `btc` and `xyz:BTC` name one market. */
function coinName(coin: string): string {
  return coin.split(':').at(-1)!.toUpperCase();
}

function inWindow(ms: number, window: { from: number; to: number }): boolean {
  return Number.isFinite(ms) && ms >= window.from && ms <= window.to;
}

function isoOf(unixSeconds: unknown): string {
  const ms = Number(unixSeconds) * 1000;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(unixSeconds);
}

/** One read route; errors name the route and the status, never the key. */
async function getJson(url: string, what: string, key?: string): Promise<{ [field: string]: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new CheckError(`could not read ${what} (${new URL(url).origin}): ${(error as Error).message}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok || body === null || typeof body !== 'object') {
    const code = (body as { error?: unknown } | undefined)?.error;
    throw new CheckError(
      `could not read ${what} (${new URL(url).origin}): HTTP ${response.status}${typeof code === 'string' ? ` ${code}` : ''}`,
    );
  }
  return body as { [field: string]: unknown };
}

/** A key from a secret's JSON `SecretString`; errors name the secret and the field, never a value. */
export function keyFromSecret(secretString: string | undefined, secretId: string, field: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString ?? '');
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CheckError(`secret '${secretId}' is not a JSON object with a field '${field}'`);
  }
  const value = (parsed as { [field: string]: unknown })[field];
  if (typeof value !== 'string' || value.trim() === '')
    throw new CheckError(`secret '${secretId}' has no non-empty string field '${field}'`);
  return value.trim();
}
