/**
 * A local stand-in for Purple Flea's published services (/work/shared/purpleflea-services.md, "the services
 * profile"): escrow, casino, trading, faucet and domains, for the tests of a client that speaks them.
 *
 * Each service listens on its own loopback port, as the real ones are separate hosts (and processes): a
 * client reaches a service's routes only through that service's base URL, and anything else is 404
 * not_found. The three agent registries are separate (a casino `ag_` id or key is unknown to trading);
 * escrow and faucet share the casino's agents and balances, as they share its database.
 *
 * Like the real services it has NO idempotency: every accepted request takes effect again. Tests count
 * what executed with `committed()`, read state through the accessors (balances, ledgers, escrows,
 * positions), move time with `clock`, and inject the gateway sandbox's faults (sandbox-server.ts) plus
 * two of this profile's own: "400 trade_failed after a real fill" and "500 release_failed after the
 * counterparty was paid".
 *
 * Domains has its own registry and USD balances (section 5): register (names unique across the service, the
 * balance check, a fixed registrar price) and the account's list; its registrar faults are injected as statuses
 * (`{ kind: 'status', status: 500, error: 'registration_failed' }`: nothing registered or charged).
 *
 * Not implemented (404 not_found like any unknown route): domain renewal, DNS and deposits, trade close, risk settings,
 * casino games, bets, withdraw and kelly, /health, /openapi.json, /gossip and /mcp.
 * Where the document is silent the sandbox does the simplest thing, and a comment says "(doc silent)".
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import type { LoopbackServer } from './http-util';
import { FixedWindowLimiter, SandboxCore, headerValue, type Answer, type Fault, type RecordedCall } from './sandbox-server';

export type ServiceName = 'escrow' | 'casino' | 'trading' | 'faucet' | 'domains';
export const SERVICE_NAMES: readonly ServiceName[] = ['escrow', 'casino', 'trading', 'faucet', 'domains'];

/** Each route's path on its service's host (`:id` stands for an escrow id). */
export const SERVICE_PATHS = {
  escrowCreate: '/escrow/create',
  escrowComplete: '/escrow/complete/:id',
  escrowRelease: '/escrow/release/:id',
  escrowDispute: '/escrow/dispute/:id',
  escrowStats: '/escrow/stats',
  escrowGet: '/escrow/:id',
  casinoRegister: '/api/v1/auth/register',
  casinoBalance: '/api/v1/auth/balance',
  casinoLedger: '/api/v1/auth/ledger',
  casinoPay: '/api/v1/stats/pay',
  tradingRegister: '/v1/auth/register',
  tradeOpen: '/v1/trade/open',
  tradePositions: '/v1/trade/positions',
  tradeHistory: '/v1/trade/history',
  tradePnlHistory: '/v1/trade/pnl-history',
  faucetClaim: '/faucet/claim',
  domainsRegister: '/v1/domains/register',
  domainsList: '/v1/domains',
} as const;

/** A route's path with its `:id` filled in. */
export function withId(path: string, id: string): string {
  return path.replace(':id', encodeURIComponent(id));
}

/** Every limit is "N per 60 s", and a window renews only once MORE than 60 s have passed since it opened. */
export const RATE_LIMIT_WINDOW_MS = 60_000;
/** The escrow refund sweep runs at start and every 5 minutes. */
export const ESCROW_SWEEP_INTERVAL_MS = 5 * 60_000;
/** One successful faucet claim per client IP per 24 h. */
export const FAUCET_IP_COOLDOWN_MS = 24 * 3_600_000;
export const ESCROW_COMMISSION_RATE = 0.01;
export const ESCROW_REFERRAL_SHARE = 0.15;
export const FAUCET_CREDIT_USD = 1;
export const DEFAULT_LEVERAGE = 5;
/** The registrar's price of every name unless a test sets another (EUR), the markup and the fixed rate (section 5). */
export const DEFAULT_DOMAIN_PRICE_EUR = 10;
export const DOMAIN_MARKUP = 1.2;
export const DOMAIN_USD_PER_EUR = 1.08;

/** The sandbox's faults: the shared ones, plus two partial writes this profile documents. */
export type ServicesFault =
  | Fault
  /**
   * Trade open only: Hyperliquid fills the order, then the database write fails, and the answer is
   * 400 trade_failed. The position is live on Hyperliquid (`GET /v1/trade/positions`, position_id null)
   * but absent from `?status=all` and the history.
   */
  | { kind: 'trade-failed-after-fill' }
  /**
   * Escrow release only: the counterparty is credited, then a later write throws (the referral credit
   * in the services' code): 500 release_failed, the escrow stays funded/completed, every retry fails on
   * the duplicate ledger id, and the timeout sweep later refunds the creator as well.
   */
  | { kind: 'release-failed-after-credit' };

export interface ServicesCall extends RecordedCall<ServicesFault> {
  /** Which host received it. */
  readonly service: ServiceName;
  /** The route's template (e.g. '/escrow/release/:id'); undefined when no route matched. */
  readonly route: string | undefined;
  /** As the services' limiters see it: the first X-Forwarded-For entry, else X-Real-IP, else 'unknown'. */
  readonly clientIp: string;
}

export type ServicesActionKind =
  | 'casino.register'
  | 'trading.register'
  | 'casino.pay'
  | 'escrow.create'
  | 'escrow.complete'
  | 'escrow.release'
  | 'escrow.dispute'
  | 'escrow.timeout_refund'
  | 'trade.open'
  | 'faucet.claim'
  | 'domains.register';

export interface ServicesCommittedAction {
  readonly kind: ServicesActionKind;
  readonly service: ServiceName;
  /** The id the service gave it: agent, payment, escrow, position (or the Hyperliquid order when no position was recorded), claim. */
  readonly id: string;
  /** The acting agent (for a faucet claim, the agent credited). */
  readonly agentId: string | undefined;
  /** The request's path; undefined when no client request did it (the timeout sweep, the register route's own faucet claim). */
  readonly path: string | undefined;
  readonly body: Record<string, unknown>;
  readonly idempotencyKey: string | undefined;
  /** Trade opens: false when Hyperliquid filled but the database kept no record. */
  readonly recorded?: boolean;
}

export interface ServicesSandboxOptions {
  /** Added before every request is handled. */
  readonly latencyMs?: number;
  /** Freezes the clock at this instant (it then moves only by `clock.advance`); default: real time. */
  readonly frozenAt?: number | Date;
  /**
   * Serves every service under this path (e.g. '/pf'), as a gateway in front of the hosts might, so a
   * test can check that the client keeps its base URL's path. Default: the hosts' own paths at the root.
   */
  readonly mountPath?: string;
  /** The rate-limit window (default RATE_LIMIT_WINDOW_MS, 60 s): a test of waiting out a full window shortens it. */
  readonly rateLimitWindowMs?: number;
}

/** A market as Hyperliquid lists it. Prices are what the sandbox fills at (doc silent: no slippage). */
export interface Market {
  /** Hyperliquid's name, what `coin` answers: 'BTC', or 'xyz:TSLA' for a real-world asset. */
  readonly coin: string;
  /** What clients send and `ticker` answers. */
  readonly ticker: string;
  readonly category: 'crypto' | 'stocks';
  /** '' for Hyperliquid's main dex (doc silent on the value). */
  readonly dex: string;
  readonly sizeDecimals: number;
  readonly maxLeverage: number;
  readonly price: number | undefined;
}

const DEFAULT_MARKETS: readonly Market[] = [
  { coin: 'BTC', ticker: 'BTC', category: 'crypto', dex: '', sizeDecimals: 5, maxLeverage: 40, price: 64_000 },
  { coin: 'ETH', ticker: 'ETH', category: 'crypto', dex: '', sizeDecimals: 4, maxLeverage: 25, price: 3_200 },
  { coin: 'SOL', ticker: 'SOL', category: 'crypto', dex: '', sizeDecimals: 2, maxLeverage: 20, price: 150 },
  { coin: 'xyz:TSLA', ticker: 'TSLA', category: 'stocks', dex: 'xyz', sizeDecimals: 3, maxLeverage: 10, price: 250 },
];
/** Hyperliquid refuses orders worth less than this. */
const MIN_ORDER_USD = 10;
const HL_FEE_RATE = 0.00035;
const BUILDER_FEE_RATE_FREE = 0.0002;

/** The `_info` member every JSON object answer gains (values are the sandbox's own; doc gives only the keys). */
const INFO: Record<ServiceName, Body> = {
  escrow: {
    service: 'agent-escrow',
    docs: 'https://escrow.purpleflea.com/llms.txt',
    referral: 'Earn 15% of escrow fees you refer',
    version: '1.0.0',
  },
  casino: {
    service: 'agent-casino',
    docs: 'https://casino.purpleflea.com/llms.txt',
    referral: 'Share your referral_code',
    version: '1.0.0',
  },
  trading: {
    service: 'agent-trading',
    docs: 'https://trading.purpleflea.com/llms.txt',
    referral: 'Earn 20% of builder fees you refer',
    version: '1.0.0',
  },
  faucet: {
    service: 'agent-faucet',
    docs: 'https://faucet.purpleflea.com/llms.txt',
    referral: 'Pass referral_code when claiming',
    version: '1.0.0',
  },
  domains: {
    service: 'agent-domains',
    docs: 'https://domains.purpleflea.com/llms.txt',
    referral: 'Earn 15% of domain fees you refer',
    version: '1.0.0',
  },
};

type Body = Record<string, unknown>;

export interface CasinoAgent {
  readonly agentId: string;
  readonly apiKey: string;
  readonly referralCode: string;
  readonly referredBy: string | undefined;
  balance: number;
  hasDeposits: boolean;
  totalDeposited: number;
}

export interface CasinoLedgerEntry {
  readonly id: string;
  readonly agentId: string;
  readonly type: 'credit' | 'debit';
  readonly amount: number;
  readonly balanceAfter: number;
  readonly reason: string;
  readonly reference: string | null;
  readonly service: string;
  /** Unix seconds. */
  readonly createdAt: number;
}

export type EscrowStatus = 'funded' | 'completed' | 'released' | 'refunded' | 'disputed';

export interface EscrowEvent {
  readonly id: number;
  readonly escrow_id: string;
  readonly event: 'created' | 'completed' | 'released' | 'disputed' | 'refunded';
  readonly actor_id: string;
  readonly note: string | null;
  /** Unix seconds. */
  readonly created_at: number;
}

export interface Escrow {
  readonly id: string;
  status: EscrowStatus;
  readonly amountUsd: number;
  readonly commissionUsd: number;
  readonly netToCounterparty: number;
  readonly description: string;
  readonly creatorId: string;
  readonly counterpartyId: string;
  readonly timeoutHours: number;
  readonly referrerId: string | undefined;
  readonly referralCommission: number;
  /** Milliseconds, whole seconds. */
  readonly createdAt: number;
  readonly autoReleaseAt: number;
  completedAt: number | null;
  releasedAt: number | null;
  disputedAt: number | null;
  readonly events: EscrowEvent[];
}

/** An agent of the domains service's own registry, with its own USD balance (funded by crypto deposits there). */
export interface DomainsAccount {
  readonly agentId: string;
  readonly apiKey: string;
  balance: number;
}

/** A row of the domains service's table: the name is unique across the service. */
export interface RegisteredDomain {
  readonly domainId: string;
  readonly domain: string;
  readonly agentId: string;
  /** Unix seconds. */
  readonly registeredAt: number;
  readonly expiresAt: number;
  readonly pricePaid: number;
}

export interface TradingAgent {
  readonly agentId: string;
  readonly apiKey: string;
  readonly referralCode: string;
  readonly referredBy: string | undefined;
  /** Undefined: no wallet the service can sign for (400 wallet_not_configured). */
  readonly walletAddress: string | undefined;
  maxLeverage: number;
  maxPositionUsd: number;
  maxDailyLossUsd: number | undefined;
  /** Realized loss today, in USD (positive); the sandbox has no close route, so tests set it. */
  lossTodayUsd: number;
}

/** A row of the trading database's positions table (camelCase, as `?status=all` answers it). */
export interface StoredPosition {
  readonly id: string;
  readonly agentId: string;
  readonly coin: string;
  readonly side: 'long' | 'short';
  readonly sizeUsd: number;
  readonly entryPrice: number;
  readonly leverage: number;
  readonly marginUsed: number;
  readonly liquidationPrice: number;
  readonly unrealizedPnl: number;
  readonly status: 'open' | 'closed' | 'liquidated';
  readonly hlOrderId: number;
  readonly openedAt: number;
  readonly closedAt: number | null;
}

export interface TradeRow {
  readonly id: string;
  readonly agentId: string;
  readonly orderId: string;
  readonly coin: string;
  readonly side: 'buy' | 'sell';
  readonly sizeUsd: number;
  readonly price: number;
  readonly fee: number;
  readonly realizedPnl: number;
  readonly createdAt: number;
}

/** What Hyperliquid holds for one agent in one coin: positions net per coin. */
export interface HyperliquidPosition {
  readonly coin: string;
  /** Asset units, negative when short. */
  readonly size: number;
  readonly entryPrice: number;
  readonly leverage: number;
}

/**
 * The sandbox's time: real time plus what tests added, or frozen at an instant that only `advance`
 * moves. It drives escrow timeouts, the refund sweep, rate-limit windows and the faucet's cooldown.
 */
export class SandboxClock {
  private offsetMs = 0;
  private frozenAtMs: number | undefined;

  now(): number {
    return this.frozenAtMs ?? Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    if (this.frozenAtMs === undefined) this.offsetMs += ms;
    else this.frozenAtMs += ms;
  }

  /** Stops the clock at `at` (default: now). */
  freeze(at: number | Date = this.now()): void {
    this.frozenAtMs = typeof at === 'number' ? at : at.getTime();
  }

  /** Back to real time, without an offset. */
  restore(): void {
    this.offsetMs = 0;
    this.frozenAtMs = undefined;
  }
}

interface Route {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** Requests per 60 s per (path, client IP); none when absent. */
  readonly limit?: number;
  readonly handle: (request: ServiceRequest) => Answer;
}

interface ServiceRequest {
  readonly call: ServicesCall;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly raw: string;
  readonly bearerKey: string | undefined;
}

/** Thrown by a ledger write whose id exists: the casino table's primary key refuses the same credit twice. */
class DuplicateLedgerId extends Error {}

export class PurpleFleaServicesSandbox {
  static async start(options: ServicesSandboxOptions = {}): Promise<PurpleFleaServicesSandbox> {
    const sandbox = new PurpleFleaServicesSandbox(options);
    for (const service of SERVICE_NAMES) {
      sandbox.servers[service] = await sandbox.core.listen({
        describe: (req, path) => sandbox.describe(service, req, path),
        handle: (call, raw, req) => sandbox.handle(service, call, raw, req),
        errorBody: (call, _status, error, message) => sandbox.envelope(call.service, { error, message }),
        faultKeys: (call) => [call.path, ...(call.route ? [call.route] : [])],
      });
    }
    return sandbox;
  }

  /** Time as the services see it. */
  readonly clock = new SandboxClock();
  private readonly core: SandboxCore<ServicesFault, ServicesCall>;
  private readonly servers = {} as Record<ServiceName, LoopbackServer>;
  private readonly mountPath: string;
  private readonly limiter = new FixedWindowLimiter(true);
  private rateLimitsOn = true;
  private readonly rateLimitOverrides = new Map<string, number>();
  private infoEnvelopeOn = true;
  private registerClaimsFaucetOn = true;

  // The casino's database (shared by escrow and faucet), the faucet's, the trading service's, Hyperliquid.
  private readonly casinoAgents = new Map<string, CasinoAgent>();
  private readonly casinoKeys = new Map<string, string>();
  private readonly casinoEntries: CasinoLedgerEntry[] = [];
  private readonly casinoEntryIds = new Set<string>();
  private readonly escrows = new Map<string, Escrow>();
  private nextEscrowEventId = 1;
  private readonly faucetClaims: Array<{ id: string; agentId: string; ip: string; claimedAt: number }> = [];
  private readonly tradingAgents = new Map<string, TradingAgent>();
  private readonly tradingKeys = new Map<string, string>();
  private readonly positions: StoredPosition[] = [];
  private readonly trades: TradeRow[] = [];
  /** Per agent, per Hyperliquid coin. */
  private readonly hyperliquid = new Map<string, Map<string, HyperliquidPosition>>();
  private markets = new Map<string, Market>();
  private fills: number[] = [];
  private hyperliquidReachable = true;
  private nextHlOrderId = 90_000_000_001;
  /** The services' start: the escrow sweep runs then and every ESCROW_SWEEP_INTERVAL_MS after. */
  private startedAt = 0;
  private readonly committedActions: ServicesCommittedAction[] = [];
  private readonly domainsAccounts = new Map<string, DomainsAccount>();
  private readonly domainsKeys = new Map<string, string>();
  private readonly registeredDomains = new Map<string, RegisteredDomain>();
  private domainPriceEur = DEFAULT_DOMAIN_PRICE_EUR;

  private constructor(private readonly options: ServicesSandboxOptions) {
    this.core = new SandboxCore<ServicesFault, ServicesCall>(options.latencyMs ?? 0);
    this.mountPath = (options.mountPath ?? '').replace(/\/+$/, '');
    this.resetState();
  }

  // --- Where the services are ---------------------------------------------------------------------

  /** The escrow host, e.g. http://127.0.0.1:PORT (routes at its root: /escrow/...). */
  get escrowUrl(): string {
    return this.urlOf('escrow');
  }

  /** The casino host (routes under /api/v1). */
  get casinoUrl(): string {
    return this.urlOf('casino');
  }

  /** The trading host (routes under /v1). */
  get tradingUrl(): string {
    return this.urlOf('trading');
  }

  /** The faucet host (routes at its root: /faucet/claim). */
  get faucetUrl(): string {
    return this.urlOf('faucet');
  }

  /** The domains host (routes under /v1). */
  get domainsUrl(): string {
    return this.urlOf('domains');
  }

  /** A service's base URL, no trailing slash (with the mount path, when one was given). */
  urlOf(service: ServiceName): string {
    return this.servers[service].url + this.mountPath;
  }

  // --- Recordings, faults, latency (shared with the gateway sandbox) ------------------------------

  /** Every request received by any of the hosts, in arrival order. */
  get calls(): readonly ServicesCall[] {
    return this.core.calls;
  }

  /** Actions that took effect, optionally only those of one kind. */
  committed(kind?: ServicesActionKind): readonly ServicesCommittedAction[] {
    this.sweepDueEscrows(); // time may have passed a sweep since the last request
    return this.committedActions.filter((a) => kind === undefined || a.kind === kind);
  }

  /**
   * Queues faults for requests matching `path`: an exact path as sent ('/escrow/release/esc_...'), a
   * route template from SERVICE_PATHS ('/escrow/release/:id'), or '*' for any request to any host.
   */
  injectFaults(path: string, ...faults: ServicesFault[]): void {
    this.core.injectFaults(path, ...faults);
  }

  get pendingFaults(): number {
    return this.core.pendingFaults;
  }

  setLatency(ms: number): void {
    this.core.setLatency(ms);
  }

  waitForCalls(count: number, timeoutMs = 5_000): Promise<void> {
    return this.core.waitForCalls(count, timeoutMs);
  }

  // --- Knobs --------------------------------------------------------------------------------------

  /** Overrides the documented limit of one route (a SERVICE_PATHS template), per 60 s per (path, IP). */
  setRateLimit(route: string, perWindow: number): void {
    this.rateLimitOverrides.set(route, perWindow);
  }

  /** Turns every per-path limit off (or on again), e.g. for a batch test that is not about limits. */
  setRateLimitsEnabled(enabled: boolean): void {
    this.rateLimitsOn = enabled;
  }

  /**
   * Whether the casino's register route posts its own faucet claim for the new agent (on by default, as the service
   * does). Off: that background claim did not happen or has not run yet, so the agent waits for its $1.
   */
  setRegisterClaimsFaucet(enabled: boolean): void {
    this.registerClaimsFaucetOn = enabled;
  }

  /** Answers with or without `_info`: the services "normally" add it, and clients must tolerate both. */
  setInfoEnvelope(enabled: boolean): void {
    this.infoEnvelopeOn = enabled;
  }

  /** Sets a market's price by ticker ('BTC', 'TSLA'); undefined = Hyperliquid has no price (trade_failed). */
  setMarketPrice(ticker: string, price: number | undefined): void {
    const market = this.marketOf(ticker);
    if (!market) throw new Error(`no market ${ticker} in the sandbox`);
    this.markets.set(market.ticker, { ...market, price });
  }

  /** The share (0..1) of each next order that fills, one per order; afterwards orders fill completely. */
  fillNextOrders(...fractions: number[]): void {
    for (const fraction of fractions) {
      if (!(fraction >= 0 && fraction <= 1)) throw new Error(`a fill fraction is within [0, 1], got ${fraction}`);
    }
    this.fills.push(...fractions);
  }

  /** When false, Hyperliquid cannot be reached: opens fail with trade_failed, positions come from the database. */
  setHyperliquidReachable(reachable: boolean): void {
    this.hyperliquidReachable = reachable;
  }

  // --- Registries and balances, set up by tests ---------------------------------------------------

  /** Adds a casino agent (usable by casino, escrow and faucet). `balance` is funded silently: no ledger entry, no deposit. */
  addCasinoAgent(options: { balance?: number; referredBy?: string; hasDeposits?: boolean } = {}): CasinoAgent {
    const agent: CasinoAgent = {
      agentId: newAgentId(),
      apiKey: `sk_live_${randomHex(24)}`,
      referralCode: `ref_${randomHex(4)}`,
      referredBy: options.referredBy,
      balance: options.balance ?? 0,
      hasDeposits: options.hasDeposits ?? false,
      totalDeposited: 0,
    };
    this.casinoAgents.set(agent.agentId, agent);
    this.casinoKeys.set(agent.apiKey, agent.agentId);
    return { ...agent };
  }

  /**
   * Adds a trading agent with its own id and key (unknown to the casino), with a fresh wallet unless
   * `walletAddress` names one, or is null for an agent without one (400 wallet_not_configured).
   */
  addTradingAgent(
    options: {
      walletAddress?: string | null;
      referredBy?: string;
      maxLeverage?: number;
      maxPositionUsd?: number;
      maxDailyLossUsd?: number;
      lossTodayUsd?: number;
    } = {},
  ): TradingAgent {
    const agent: TradingAgent = {
      agentId: newAgentId(),
      apiKey: `sk_trade_${randomHex(24)}`,
      referralCode: `ref_${randomHex(4)}`,
      referredBy: options.referredBy,
      walletAddress: options.walletAddress === null ? undefined : (options.walletAddress ?? `0x${randomHex(20)}`),
      maxLeverage: options.maxLeverage ?? 10,
      maxPositionUsd: options.maxPositionUsd ?? 10_000,
      maxDailyLossUsd: options.maxDailyLossUsd,
      lossTodayUsd: options.lossTodayUsd ?? 0,
    };
    this.tradingAgents.set(agent.agentId, agent);
    this.tradingKeys.set(agent.apiKey, agent.agentId);
    return { ...agent };
  }

  /** Adds an account of the domains registry (unknown to the others), with `balance` USD. */
  addDomainsAccount(options: { balance?: number } = {}): DomainsAccount {
    const account: DomainsAccount = { agentId: newAgentId(), apiKey: `sk_domains_${randomHex(24)}`, balance: options.balance ?? 0 };
    this.domainsAccounts.set(account.agentId, account);
    this.domainsKeys.set(account.apiKey, account.agentId);
    return { ...account };
  }

  /** Adds USD to a domains account's balance (a deposit, silently). */
  fundDomainsAccount(agentId: string, usd: number): void {
    const account = this.domainsAccounts.get(agentId);
    if (!account) throw new Error(`no domains account ${agentId} in the sandbox`);
    account.balance = round2(account.balance + usd);
  }

  domainsAccount(agentId: string): DomainsAccount | undefined {
    const account = this.domainsAccounts.get(agentId);
    return account && { ...account };
  }

  /** Every registered domain of the service (any account), or one account's. */
  domains(agentId?: string): readonly RegisteredDomain[] {
    return [...this.registeredDomains.values()].filter((d) => agentId === undefined || d.agentId === agentId);
  }

  /** The registrar's price (EUR) of every name from now on. */
  setDomainPriceEur(eur: number): void {
    this.domainPriceEur = eur;
  }

  /** What a registration charges in USD: the registrar's EUR price plus 20% (cents), at the fixed rate (cents). */
  domainPriceUsd(): number {
    return round2(round2(this.domainPriceEur * DOMAIN_MARKUP) * DOMAIN_USD_PER_EUR);
  }

  casinoAgent(agentId: string): CasinoAgent | undefined {
    const agent = this.casinoAgents.get(agentId);
    return agent && { ...agent };
  }

  tradingAgent(agentId: string): TradingAgent | undefined {
    const agent = this.tradingAgents.get(agentId);
    return agent && { ...agent };
  }

  /** The agent's casino balance (USD, unrounded doubles as the services keep them). */
  casinoBalance(agentId: string): number {
    this.sweepDueEscrows();
    return this.casinoAgentOrThrow(agentId).balance;
  }

  /** Every casino ledger entry of the agent, oldest first (the route shows only the 50 newest). */
  casinoLedger(agentId: string): readonly CasinoLedgerEntry[] {
    this.sweepDueEscrows();
    return this.casinoEntries.filter((e) => e.agentId === agentId);
  }

  escrow(escrowId: string): Escrow | undefined {
    this.sweepDueEscrows();
    const escrow = this.escrows.get(escrowId);
    return escrow && { ...escrow, events: [...escrow.events] };
  }

  /** The trading database's positions of one agent, oldest first. */
  storedPositions(agentId: string): readonly StoredPosition[] {
    return this.positions.filter((p) => p.agentId === agentId);
  }

  /**
   * Records a closing trade of the agent (the sandbox has no close route): its realized P&L and fee, at `at` (epoch
   * ms; default the sandbox's now). What `GET /v1/trade/history` and `/v1/trade/pnl-history` then answer.
   */
  addClosedTrade(agentId: string, trade: { coin?: string; realizedPnl: number; fee: number; sizeUsd?: number; at?: number }): TradeRow {
    if (!this.tradingAgents.has(agentId)) throw new Error(`no trading agent ${agentId} in the sandbox`);
    const row: TradeRow = {
      id: `trd_${randomUUID()}`,
      agentId,
      orderId: `ord_${randomUUID()}`,
      coin: trade.coin ?? 'BTC',
      side: 'sell',
      sizeUsd: trade.sizeUsd ?? 1_000,
      price: this.marketOf(trade.coin ?? 'BTC')?.price ?? 1,
      fee: trade.fee,
      realizedPnl: trade.realizedPnl,
      createdAt: Math.floor((trade.at ?? this.clock.now()) / 1000),
    };
    this.trades.push(row);
    return { ...row };
  }

  /** What Hyperliquid holds for the agent in a coin (by ticker or Hyperliquid name), if anything. */
  hyperliquidPosition(agentId: string, coin: string): HyperliquidPosition | undefined {
    const market = this.marketOf(coin);
    return market && this.hyperliquid.get(agentId)?.get(market.coin);
  }

  /** Forgets every agent, balance, escrow, position and claim; clears recordings, faults, latency, limits and knobs; resets the clock. */
  reset(): void {
    this.core.reset();
    this.resetState();
  }

  /** Stops every host, cancels delays and cuts every socket, including never-answered requests. */
  async close(): Promise<void> {
    await this.core.close();
  }

  private resetState(): void {
    this.registerClaimsFaucetOn = true;
    this.clock.restore();
    if (this.options.frozenAt !== undefined) this.clock.freeze(this.options.frozenAt);
    this.startedAt = this.clock.now();
    this.limiter.clear();
    this.rateLimitsOn = true;
    this.rateLimitOverrides.clear();
    this.infoEnvelopeOn = true;
    this.casinoAgents.clear();
    this.casinoKeys.clear();
    this.casinoEntries.length = 0;
    this.casinoEntryIds.clear();
    this.escrows.clear();
    this.faucetClaims.length = 0;
    this.tradingAgents.clear();
    this.tradingKeys.clear();
    this.positions.length = 0;
    this.trades.length = 0;
    this.hyperliquid.clear();
    this.markets = new Map(DEFAULT_MARKETS.map((m) => [m.ticker, m]));
    this.fills = [];
    this.hyperliquidReachable = true;
    this.committedActions.length = 0;
    this.domainsAccounts.clear();
    this.domainsKeys.clear();
    this.registeredDomains.clear();
    this.domainPriceEur = DEFAULT_DOMAIN_PRICE_EUR;
  }

  // --- The request pipeline -----------------------------------------------------------------------

  private readonly routes: Record<ServiceName, readonly Route[]> = {
    escrow: [
      { method: 'POST', path: SERVICE_PATHS.escrowCreate, limit: 20, handle: (r) => this.escrowCreate(r) },
      { method: 'POST', path: SERVICE_PATHS.escrowComplete, limit: 30, handle: (r) => this.escrowComplete(r) },
      { method: 'POST', path: SERVICE_PATHS.escrowRelease, limit: 30, handle: (r) => this.escrowRelease(r) },
      { method: 'POST', path: SERVICE_PATHS.escrowDispute, limit: 10, handle: (r) => this.escrowDispute(r) },
      // Before /escrow/:id, which would otherwise take 'stats' for an id.
      { method: 'GET', path: SERVICE_PATHS.escrowStats, handle: () => this.escrowStats() },
      { method: 'GET', path: SERVICE_PATHS.escrowGet, handle: (r) => this.escrowGet(r) },
    ],
    casino: [
      { method: 'POST', path: SERVICE_PATHS.casinoRegister, limit: 10, handle: (r) => this.casinoRegister(r) },
      { method: 'GET', path: SERVICE_PATHS.casinoBalance, handle: (r) => this.casinoBalanceRead(r) },
      { method: 'GET', path: SERVICE_PATHS.casinoLedger, handle: (r) => this.casinoLedgerRead(r) },
      { method: 'POST', path: SERVICE_PATHS.casinoPay, handle: (r) => this.casinoPay(r) },
    ],
    trading: [
      { method: 'POST', path: SERVICE_PATHS.tradingRegister, limit: 10, handle: (r) => this.tradingRegister(r) },
      { method: 'POST', path: SERVICE_PATHS.tradeOpen, limit: 30, handle: (r) => this.tradeOpen(r) },
      { method: 'GET', path: SERVICE_PATHS.tradePositions, handle: (r) => this.tradePositions(r) },
      { method: 'GET', path: SERVICE_PATHS.tradeHistory, handle: (r) => this.tradeHistory(r) },
      { method: 'GET', path: SERVICE_PATHS.tradePnlHistory, handle: (r) => this.tradePnlHistory(r) },
    ],
    faucet: [{ method: 'POST', path: SERVICE_PATHS.faucetClaim, limit: 5, handle: (r) => this.faucetClaimRoute(r) }],
    // No rate limit on the domains service.
    domains: [
      { method: 'POST', path: SERVICE_PATHS.domainsRegister, handle: (r) => this.domainsRegister(r) },
      { method: 'GET', path: SERVICE_PATHS.domainsList, handle: (r) => this.domainsList(r) },
    ],
  };

  private describe(service: ServiceName, req: http.IncomingMessage, path: string): Omit<ServicesCall, keyof RecordedCall<ServicesFault>> {
    const servicePath = this.servicePath(path);
    return {
      service,
      route: servicePath === undefined ? undefined : this.matchRoute(service, req.method ?? '', servicePath)?.route.path,
      clientIp: clientIpOf(req),
    };
  }

  /** Routing, the per-path limit, then the route (auth, validation, commit): the order of the services' middleware. */
  private handle(service: ServiceName, call: ServicesCall, raw: string, req: http.IncomingMessage): Answer {
    this.sweepDueEscrows();
    const servicePath = this.servicePath(call.path);
    const match = servicePath === undefined ? undefined : this.matchRoute(service, call.method, servicePath);
    if (servicePath === undefined || !match) return this.answer(service, 404, { error: 'not_found' });

    const limit = this.limitOf(match.route);
    if (limit !== undefined && this.overLimit(service, servicePath, call.clientIp, limit)) {
      return this.answer(service, 429, { error: 'rate_limited', message: `Too many requests. Limit: ${limit} per 60s` });
    }
    const query = new URL(req.url ?? '/', 'http://sandbox').searchParams;
    const authorization = call.authorization ?? '';
    const answer = match.route.handle({
      call,
      params: match.params,
      query,
      raw,
      bearerKey: authorization.startsWith('Bearer ') ? authorization.slice('Bearer '.length).trim() : undefined,
    });
    return { status: answer.status, body: this.envelope(service, answer.body as Body) };
  }

  private answer(service: ServiceName, status: number, body: Body): Answer {
    return { status, body: this.envelope(service, body) };
  }

  /** Every JSON object answer, success or error, gains `_info` (unless a test turned it off). */
  private envelope(service: ServiceName, body: Body): Body {
    const withoutUndefined = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
    return this.infoEnvelopeOn ? { ...withoutUndefined, _info: INFO[service] } : withoutUndefined;
  }

  /** The path on the service's host, or undefined when it is outside the mount path. */
  private servicePath(path: string): string | undefined {
    if (!this.mountPath) return path;
    return path.startsWith(this.mountPath + '/') ? path.slice(this.mountPath.length) : undefined;
  }

  private matchRoute(service: ServiceName, method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    for (const route of this.routes[service]) {
      if (route.method !== method) continue;
      const params = matchTemplate(route.path, path);
      if (params) return { route, params };
    }
    return undefined;
  }

  private limitOf(route: Route): number | undefined {
    if (!this.rateLimitsOn) return undefined;
    return this.rateLimitOverrides.get(route.path) ?? route.limit;
  }

  /** The services' limiter: keyed by the request path (so per escrow id) and the client IP, per process. */
  private overLimit(service: ServiceName, path: string, clientIp: string, limit: number): boolean {
    return this.limiter.overLimit(
      `${service} ${path} ${clientIp}`,
      limit,
      this.options.rateLimitWindowMs ?? RATE_LIMIT_WINDOW_MS,
      this.clock.now(),
    );
  }

  private commit(request: ServiceRequest | undefined, action: Omit<ServicesCommittedAction, 'path' | 'body' | 'idempotencyKey'>): void {
    if (request) request.call.committed = true;
    this.committedActions.push({
      ...action,
      path: request?.call.path,
      body: request && isObject(request.call.body) ? request.call.body : {},
      idempotencyKey: request?.call.idempotencyKey,
    });
  }

  // --- Casino: https://casino.purpleflea.com/api/v1 -----------------------------------------------

  private casinoRegister(request: ServiceRequest): Answer {
    const body = strictBody(request.raw);
    if (!body) return invalidJson();
    const referrer = this.casinoAgentByReferralCode(body.referral_code); // unknown codes are ignored
    const agent = this.addCasinoAgent({ referredBy: referrer?.agentId });
    this.commit(request, { kind: 'casino.register', service: 'casino', id: agent.agentId, agentId: agent.agentId });
    // The route also posts a faucet claim for the new agent, server-side and without a forwarded IP, so
    // under the faucet's limits for the IP 'unknown'. Done at once here (doc: "in the background"); the
    // answer still says balance 0.
    if (this.registerClaimsFaucetOn) this.faucetClaim({ agent_casino_id: agent.agentId }, 'unknown', undefined);
    return reply(201, {
      agent_id: agent.agentId,
      api_key: agent.apiKey,
      referral_code: agent.referralCode,
      balance: 0,
      tier: 'free',
      risk_factor: 0.25,
      referral_commission: '10%', // (doc silent on the value)
      message: 'Agent registered. Save your api_key: it is shown once and cannot be recovered.',
      next_steps: { balance: 'GET /api/v1/auth/balance', faucet: 'POST https://faucet.purpleflea.com/faucet/claim' },
    });
  }

  private casinoBalanceRead(request: ServiceRequest): Answer {
    const agent = this.casinoCaller(request);
    if (!agent) return casinoUnauthorized();
    const entries = this.casinoLedger(agent.agentId);
    return reply(200, {
      agent_id: agent.agentId,
      balance_usd: agent.balance,
      tier: 'free',
      risk_factor: 0.25,
      // The sandbox has no games or withdrawals, so only deposits are ever non-zero.
      lifetime: { total_deposited: agent.totalDeposited, total_withdrawn: 0, total_wagered: 0, total_won: 0, net_profit: 0 },
      recent_activity: newestFirst(entries, (e) => e.createdAt)
        .slice(0, 10)
        .map((e) => ({
          type: e.type,
          amount: e.amount,
          balance_after: e.balanceAfter,
          reason: e.reason,
          service: e.service,
          at: isoOfSeconds(e.createdAt),
        })),
    });
  }

  private casinoLedgerRead(request: ServiceRequest): Answer {
    const agent = this.casinoCaller(request);
    if (!agent) return casinoUnauthorized();
    const entries = newestFirst(this.casinoLedger(agent.agentId), (e) => e.createdAt).slice(0, 50);
    return reply(200, { entries: entries.map((e) => ({ ...e, at: isoOfSeconds(e.createdAt) })) });
  }

  /** Agent-to-agent transfer of casino balance. No rate limit. */
  private casinoPay(request: ServiceRequest): Answer {
    const sender = this.casinoCaller(request);
    if (!sender) return casinoUnauthorized();
    const body = strictBody(request.raw);
    if (!body) return invalidJson();
    const { to_agent_id: to, amount, memo } = body;
    if (!to || !amount) {
      return failure(400, 'invalid_request', 'to_agent_id and amount are required', {
        example: { to_agent_id: 'ag_...', amount: 1.5, memo: 'optional' },
      });
    }
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0.01)
      return failure(400, 'invalid_amount', 'amount must be a number of at least 0.01');
    if (to === sender.agentId) return failure(400, 'same_agent', 'Cannot pay yourself');
    const recipient = typeof to === 'string' ? this.casinoAgents.get(to) : undefined;
    if (!recipient) return failure(404, 'recipient_not_found', `No agent ${String(to)}`);
    if (sender.balance < amount) return failure(400, 'insufficient_balance', `Balance ${sender.balance} is less than ${amount}`);

    const txId = `pay_${randomHex(8)}`;
    // The sender's entry names neither the recipient nor the memo; the memo is never stored.
    this.ledgerWrite(sender, 'debit', amount, { reason: 'payment_sent', reference: txId, service: 'payment' });
    this.ledgerWrite(recipient, 'credit', amount, { reason: 'payment_received', reference: txId, service: 'payment' });
    this.commit(request, { kind: 'casino.pay', service: 'casino', id: txId, agentId: sender.agentId });
    return reply(200, {
      tx_id: txId,
      from: sender.agentId,
      to: recipient.agentId,
      amount,
      memo: typeof memo === 'string' ? memo : null,
      sender_new_balance: sender.balance,
      timestamp: isoOfSeconds(this.nowSeconds()),
      message: `Sent $${amount} to ${recipient.agentId}`,
      note: 'Transfers are final.',
    });
  }

  private casinoCaller(request: ServiceRequest): CasinoAgent | undefined {
    const agentId = request.bearerKey === undefined ? undefined : this.casinoKeys.get(request.bearerKey);
    return agentId === undefined ? undefined : this.casinoAgents.get(agentId);
  }

  private casinoAgentByReferralCode(code: unknown): CasinoAgent | undefined {
    if (typeof code !== 'string') return undefined;
    return [...this.casinoAgents.values()].find((a) => a.referralCode === code);
  }

  private casinoAgentOrThrow(agentId: string): CasinoAgent {
    const agent = this.casinoAgents.get(agentId);
    if (!agent) throw new Error(`no casino agent ${agentId} in the sandbox`);
    return agent;
  }

  /** One casino ledger write (the table every service that moves casino money writes). */
  private ledgerWrite(
    agent: CasinoAgent,
    type: 'credit' | 'debit',
    amount: number,
    entry: { id?: string; reason: string; reference?: string; service: string; at?: number },
  ): void {
    const id = entry.id ?? randomUUID();
    if (this.casinoEntryIds.has(id)) throw new DuplicateLedgerId(`UNIQUE constraint failed: ledger.id (${id})`);
    this.casinoEntryIds.add(id);
    agent.balance += type === 'credit' ? amount : -amount;
    this.casinoEntries.push({
      id,
      agentId: agent.agentId,
      type,
      amount,
      balanceAfter: agent.balance,
      reason: entry.reason,
      reference: entry.reference ?? null,
      service: entry.service,
      createdAt: Math.floor((entry.at ?? this.clock.now()) / 1000),
    });
  }

  // --- Escrow: https://escrow.purpleflea.com (casino keys and balances) ---------------------------

  private escrowCreate(request: ServiceRequest): Answer {
    const creator = this.casinoCaller(request);
    if (!creator) return failure(401, 'unauthorized', 'Missing or invalid API key (use your casino key)');
    const body = lenientBody(request.raw);

    const amount = typeof body.amount_usd === 'string' ? Number(body.amount_usd) : body.amount_usd;
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0.1)
      return failure(400, 'invalid_amount', 'amount_usd must be at least 0.10');
    const { description, counterparty_agent_id: counterpartyId } = body;
    if (!description) return failure(400, 'invalid_description', 'description must be at least 3 characters');
    if (typeof description !== 'string') return bareInternalError(); // `.trim()` of a non-string throws
    if (description.trim().length < 3) return failure(400, 'invalid_description', 'description must be at least 3 characters');
    if (!counterpartyId) return failure(400, 'invalid_counterparty', 'counterparty_agent_id must be an ag_ agent id');
    if (typeof counterpartyId !== 'string') return bareInternalError();
    if (!counterpartyId.startsWith('ag_')) return failure(400, 'invalid_counterparty', 'counterparty_agent_id must be an ag_ agent id');
    if (counterpartyId === creator.agentId) return failure(400, 'self_escrow', 'Cannot create an escrow with yourself');
    if (!this.casinoAgents.has(counterpartyId)) return failure(404, 'counterparty_not_found', `No agent ${counterpartyId}`);
    // 404 creator_not_found (the key that passed auth names an existing agent) and 500 debit_failed (the
    // balance changed by another process between check and debit) cannot happen in one process: inject them.
    if (creator.balance < amount)
      return failure(402, 'insufficient_balance', `Balance ${creator.balance} is less than ${amount}`, { balance: creator.balance });

    const escrowId = `esc_${randomHex(8)}`;
    const lock = { reason: `escrow_lock: ${escrowId}`, reference: escrowId, service: 'escrow' };
    this.ledgerWrite(creator, 'debit', amount, { id: `${escrowId}_debit`, ...lock });
    const timeoutHours = Math.min(720, Math.max(1, Math.floor((body.timeout_hours ?? 24) as number)));
    if (Number.isNaN(timeoutHours)) {
      // A non-numeric timeout fails the record's insert after the debit; the debit is refunded.
      this.ledgerWrite(creator, 'credit', amount, { ...lock, id: `${escrowId}_refund_credit`, reason: `escrow_refund: ${escrowId}` });
      return failure(500, 'internal_error', 'Failed to create escrow');
    }

    const commission = round6(amount * ESCROW_COMMISSION_RATE);
    // A referral_code, when sent, replaces the creator's own referrer; an unknown or own code means none.
    const referrer = body.referral_code ? this.casinoAgentByReferralCode(body.referral_code) : undefined;
    const referrerId = body.referral_code
      ? referrer && referrer.agentId !== creator.agentId
        ? referrer.agentId
        : undefined
      : creator.referredBy;
    const createdAt = this.nowSeconds() * 1000;
    const escrow: Escrow = {
      id: escrowId,
      status: 'funded',
      amountUsd: amount,
      commissionUsd: commission,
      netToCounterparty: round6(amount - commission),
      description,
      creatorId: creator.agentId,
      counterpartyId,
      timeoutHours,
      referrerId,
      referralCommission: referrerId ? round6(commission * ESCROW_REFERRAL_SHARE) : 0,
      createdAt,
      autoReleaseAt: createdAt + timeoutHours * 3_600_000,
      completedAt: null,
      releasedAt: null,
      disputedAt: null,
      events: [],
    };
    this.escrows.set(escrowId, escrow);
    this.escrowEvent(escrow, 'created', creator.agentId, null);
    this.commit(request, { kind: 'escrow.create', service: 'escrow', id: escrowId, agentId: creator.agentId });
    return reply(201, {
      escrow_id: escrowId,
      amount_usd: amount,
      commission_usd: escrow.commissionUsd,
      net_to_counterparty: escrow.netToCounterparty,
      description,
      creator_id: creator.agentId,
      counterparty_id: counterpartyId,
      status: 'funded',
      timeout_hours: timeoutHours,
      auto_release_at: iso(escrow.autoReleaseAt),
      next_steps: {
        counterparty: `POST /escrow/complete/${escrowId} when the task is done`,
        creator: `POST /escrow/release/${escrowId} to pay the counterparty`,
      },
    });
  }

  /** Counterparty only; moves no money. */
  private escrowComplete(request: ServiceRequest): Answer {
    const found = this.escrowForParty(request, 'counterparty');
    if ('status' in found) return found;
    const { escrow, caller } = found;
    if (escrow.status !== 'funded') return invalidStatus(escrow);
    escrow.status = 'completed';
    escrow.completedAt = this.nowSeconds() * 1000;
    this.escrowEvent(escrow, 'completed', caller.agentId, null);
    this.commit(request, { kind: 'escrow.complete', service: 'escrow', id: escrow.id, agentId: caller.agentId });
    return reply(200, {
      escrow_id: escrow.id,
      status: 'completed',
      message: 'Task marked complete. The creator can now release the funds.',
      next_step: `The creator calls POST /escrow/release/${escrow.id}`,
      auto_release_at: iso(escrow.autoReleaseAt),
    });
  }

  /** Creator only; from funded or completed; does not look at auto_release_at (a release before the sweep succeeds). */
  private escrowRelease(request: ServiceRequest): Answer {
    const found = this.escrowForParty(request, 'creator');
    if ('status' in found) return found;
    const { escrow, caller } = found;
    if (escrow.status !== 'funded' && escrow.status !== 'completed') return invalidStatus(escrow);
    try {
      // Pays first, then changes the status, as the service does.
      this.ledgerWrite(this.casinoAgentOrThrow(escrow.counterpartyId), 'credit', escrow.netToCounterparty, {
        id: `${escrow.id}_release_credit`,
        reason: `escrow_release: ${escrow.id}`,
        reference: escrow.id,
        service: 'escrow',
      });
      if (request.call.fault?.kind === 'release-failed-after-credit') {
        this.commit(request, { kind: 'escrow.release', service: 'escrow', id: escrow.id, agentId: caller.agentId });
        throw new Error('SQLITE_BUSY: database is locked');
      }
      this.payReferralCommission(escrow);
    } catch (err) {
      return failure(500, 'release_failed', `Release failed: ${(err as Error).message}`);
    }
    escrow.status = 'released';
    escrow.releasedAt = this.nowSeconds() * 1000;
    this.escrowEvent(escrow, 'released', caller.agentId, null);
    this.commit(request, { kind: 'escrow.release', service: 'escrow', id: escrow.id, agentId: caller.agentId });
    return reply(200, {
      escrow_id: escrow.id,
      status: 'released',
      amount_released: escrow.netToCounterparty,
      commission: escrow.commissionUsd,
      referral_commission: escrow.referralCommission,
      counterparty_id: escrow.counterpartyId,
      message: `Released $${escrow.netToCounterparty} to ${escrow.counterpartyId}`,
    });
  }

  /** Either party; funds stay locked, and no route or sweep ever moves a disputed escrow. */
  private escrowDispute(request: ServiceRequest): Answer {
    const found = this.escrowForParty(request, 'either');
    if ('status' in found) return found;
    const { escrow, caller } = found;
    if (escrow.status !== 'funded' && escrow.status !== 'completed') return invalidStatus(escrow);
    const body = lenientBody(request.raw);
    const reason = typeof body.reason === 'string' && body.reason ? body.reason : 'No reason provided';
    escrow.status = 'disputed';
    escrow.disputedAt = this.nowSeconds() * 1000;
    this.escrowEvent(escrow, 'disputed', caller.agentId, reason);
    this.commit(request, { kind: 'escrow.dispute', service: 'escrow', id: escrow.id, agentId: caller.agentId });
    return reply(200, {
      escrow_id: escrow.id,
      status: 'disputed',
      reason,
      message: 'Escrow disputed. Funds stay locked until Purple Flea resolves it.',
      contact: 'support@purpleflea.com', // (doc silent on the value)
    });
  }

  /** Anyone with the id; a participant's key adds the events, any other key silently gives the public view. */
  private escrowGet(request: ServiceRequest): Answer {
    const escrow = this.escrows.get(request.params.id);
    if (!escrow) return failure(404, 'not_found', 'Escrow not found');
    const caller = this.casinoCaller(request);
    const participant = caller !== undefined && (caller.agentId === escrow.creatorId || caller.agentId === escrow.counterpartyId);
    return reply(200, { ...publicEscrow(escrow), ...(participant ? { events: escrow.events } : {}) });
  }

  private escrowStats(): Answer {
    const all = [...this.escrows.values()];
    return reply(200, {
      total_created: all.length,
      total_released: all.filter((e) => e.status === 'released').length,
      total_disputed: all.filter((e) => e.status === 'disputed').length,
      total_volume_usd: all.reduce((sum, e) => sum + e.amountUsd, 0),
      total_commission_usd: all.reduce((sum, e) => sum + e.commissionUsd, 0),
      commission_rate: '1%',
      referral_commission_rate: '15%',
    });
  }

  /** 401, 404, 403 in that order; escrow errors other than on create carry no message. */
  private escrowForParty(
    request: ServiceRequest,
    party: 'creator' | 'counterparty' | 'either',
  ): { escrow: Escrow; caller: CasinoAgent } | Answer {
    const caller = this.casinoCaller(request);
    if (!caller) return failure(401, 'unauthorized');
    const escrow = this.escrows.get(request.params.id);
    if (!escrow) return failure(404, 'not_found');
    const allowed =
      party === 'creator'
        ? caller.agentId === escrow.creatorId
        : party === 'counterparty'
          ? caller.agentId === escrow.counterpartyId
          : caller.agentId === escrow.creatorId || caller.agentId === escrow.counterpartyId;
    if (!allowed) return failure(403, 'forbidden', `Only the ${party === 'either' ? 'creator or counterparty' : party} can do this`);
    return { escrow, caller };
  }

  private payReferralCommission(escrow: Escrow, at?: number): void {
    const referrer = escrow.referrerId ? this.casinoAgents.get(escrow.referrerId) : undefined;
    if (!referrer || escrow.referralCommission <= 0) return;
    // (doc silent on the reason's text; the id is documented)
    this.ledgerWrite(referrer, 'credit', escrow.referralCommission, {
      id: `${escrow.id}_refcom_credit`,
      reason: `escrow_referral_commission: ${escrow.id}`,
      reference: escrow.id,
      service: 'escrow',
      at,
    });
  }

  private escrowEvent(escrow: Escrow, event: EscrowEvent['event'], actorId: string, note: string | null, at = this.clock.now()): void {
    escrow.events.push({
      id: this.nextEscrowEventId++,
      escrow_id: escrow.id,
      event,
      actor_id: actorId,
      note,
      created_at: Math.floor(at / 1000),
    });
  }

  /**
   * The timeout "auto-release" is a refund: the sweep (at start and every 5 minutes) refunds each funded
   * or completed escrow whose auto_release_at has passed: the creator gets the amount minus the
   * commission, the referrer still gets its share, the counterparty nothing. Run lazily, whenever the
   * sandbox is asked anything, each escrow at the first sweep time at or after its auto_release_at.
   */
  private sweepDueEscrows(): void {
    const now = this.clock.now();
    const due = [...this.escrows.values()]
      .filter((e) => e.status === 'funded' || e.status === 'completed')
      .map((escrow) => ({ escrow, sweptAt: this.firstSweepAtOrAfter(escrow.autoReleaseAt) }))
      .filter(({ sweptAt }) => sweptAt <= now)
      .sort((a, b) => a.sweptAt - b.sweptAt);
    for (const { escrow, sweptAt } of due) {
      const creator = this.casinoAgentOrThrow(escrow.creatorId);
      this.ledgerWrite(creator, 'credit', escrow.netToCounterparty, {
        id: `${escrow.id}_timeout_credit`,
        reason: `escrow_timeout_refund: ${escrow.id}`,
        reference: escrow.id,
        service: 'escrow',
        at: sweptAt,
      });
      this.payReferralCommission(escrow, sweptAt);
      escrow.status = 'refunded';
      escrow.releasedAt = Math.floor(sweptAt / 1000) * 1000;
      this.escrowEvent(escrow, 'refunded', 'system', 'timeout', sweptAt); // (doc silent on the actor)
      this.commit(undefined, { kind: 'escrow.timeout_refund', service: 'escrow', id: escrow.id, agentId: escrow.creatorId });
    }
  }

  private firstSweepAtOrAfter(at: number): number {
    const sweeps = Math.max(0, Math.ceil((at - this.startedAt) / ESCROW_SWEEP_INTERVAL_MS));
    return this.startedAt + sweeps * ESCROW_SWEEP_INTERVAL_MS;
  }

  // --- Faucet: https://faucet.purpleflea.com (credits the casino balance) -------------------------

  private faucetClaimRoute(request: ServiceRequest): Answer {
    return this.faucetClaim(lenientBody(request.raw), request.call.clientIp, request);
  }

  /** The claim, for a client's request or for the casino register route's own post (`request` undefined). */
  private faucetClaim(body: Body, clientIp: string, request: ServiceRequest | undefined): Answer {
    // A client's request met the route's limit in handle(); the register route's post meets it here.
    const limit = this.limitOf(this.routes.faucet[0]);
    if (!request && limit !== undefined && this.overLimit('faucet', SERVICE_PATHS.faucetClaim, clientIp, limit)) {
      return failure(429, 'rate_limited', `Too many requests. Limit: ${limit} per 60s`);
    }
    const agentId = body.agent_casino_id;
    if (typeof agentId !== 'string' || !agentId.startsWith('ag_'))
      return failure(400, 'invalid_request', 'agent_casino_id (ag_...) is required');
    const now = this.clock.now();
    // Checked before the agent: a repeat from the same IP within 24 h never reaches already_claimed.
    if (this.faucetClaims.some((c) => c.ip === clientIp && now - c.claimedAt < FAUCET_IP_COOLDOWN_MS)) {
      return failure(429, 'ip_rate_limited', 'One claim per IP per 24 hours');
    }
    const agent = this.casinoAgents.get(agentId);
    if (!agent) return failure(404, 'agent_not_found', `No casino agent ${agentId}`);
    if (this.faucetClaims.some((c) => c.agentId === agentId)) return failure(409, 'already_claimed', 'This agent already claimed');
    if (agent.hasDeposits) return failure(403, 'has_deposits', 'The faucet is for agents that have not deposited');

    const claimId = randomUUID();
    this.ledgerWrite(agent, 'credit', FAUCET_CREDIT_USD, {
      id: `${claimId}_ledger`,
      reason: 'faucet_claim: $1 free credits',
      reference: claimId,
      service: 'faucet',
    });
    this.faucetClaims.push({ id: claimId, agentId, ip: clientIp, claimedAt: now });
    this.commit(request, { kind: 'faucet.claim', service: 'faucet', id: claimId, agentId });
    // (doc silent) referral_tracked: the code names another casino agent; it is recorded only, no money moves.
    const referrer = this.casinoAgentByReferralCode(body.referral_code);
    return reply(200, {
      credited: FAUCET_CREDIT_USD,
      message: '$1.00 credited to your casino balance',
      casino_url: this.casinoUrl,
      claim_id: claimId,
      agent_id: agentId,
      referral_tracked: referrer !== undefined && referrer.agentId !== agentId,
    });
  }

  // --- Trading: https://trading.purpleflea.com/v1 (its own registry; money on Hyperliquid) --------

  private tradingRegister(request: ServiceRequest): Answer {
    const body = strictBody(request.raw);
    if (!body) return invalidJson();
    const { hl_wallet_address: address, hl_signing_key: signingKey } = body;
    if (address !== undefined && !(typeof address === 'string' && /^0x[0-9a-fA-F]{40}$/.test(address))) {
      return failure(400, 'invalid_wallet', 'hl_wallet_address must be 0x followed by 40 hex characters');
    }
    if (signingKey !== undefined && !(typeof signingKey === 'string' && /^0x[0-9a-fA-F]{64}$/.test(signingKey))) {
      return failure(400, 'invalid_signing_key', 'hl_signing_key must be 0x followed by 64 hex characters');
    }
    // Address and key: stored. Key alone: the address is derived. Otherwise, an address alone
    // included, a fresh wallet is generated (addTradingAgent's default).
    const generated = typeof signingKey !== 'string';
    const walletAddress = generated ? undefined : typeof address === 'string' ? address : addressOfKey(signingKey);
    const referrer =
      typeof body.referral_code === 'string'
        ? [...this.tradingAgents.values()].find((a) => a.referralCode === body.referral_code)
        : undefined;
    const agent = this.addTradingAgent({
      walletAddress,
      referredBy: referrer && !referrer.referredBy ? referrer.agentId : undefined, // honoured only if the referrer was not itself referred
    });
    this.commit(request, { kind: 'trading.register', service: 'trading', id: agent.agentId, agentId: agent.agentId });
    return reply(201, {
      agent_id: agent.agentId,
      api_key: agent.apiKey,
      referral_code: agent.referralCode,
      tier: 'free',
      deposit_address: agent.walletAddress,
      hl_wallet: {
        address: agent.walletAddress,
        generated,
        signing_key_stored: true,
        builder_fee_approved: false,
        execution: 'real',
        onboarding: 'Deposit USDC on Arbitrum to the address, then trade.',
      },
      message: 'Trading agent registered. Save your api_key: it is shown once.',
      fee_structure: { hyperliquid: '3.5 bp', purple_flea_builder: '2 bp (free tier)' },
      referral_commission: '20% of builder fees',
      next_steps: { open: 'POST /v1/trade/open', positions: 'GET /v1/trade/positions' },
    });
  }

  private tradeOpen(request: ServiceRequest): Answer {
    const auth = this.tradingCaller(request);
    if ('status' in auth) return auth;
    const agent = auth;
    const body = strictBody(request.raw);
    if (!body) return invalidJson();
    const { coin, side, size_usd: sizeUsd } = body;
    if (!coin || !side || !sizeUsd) {
      return failure(400, 'invalid_request', 'coin, side and size_usd are required', {
        examples: [{ coin: 'BTC', side: 'long', size_usd: 100, leverage: 5 }],
      });
    }
    if (typeof sizeUsd !== 'number' || !Number.isFinite(sizeUsd) || sizeUsd <= 0)
      return failure(400, 'invalid_size', 'size_usd must be a positive number');
    if (side !== 'long' && side !== 'short') return failure(400, 'invalid_side', 'side must be "long" or "short"');
    const requestedLeverage = body.leverage ?? DEFAULT_LEVERAGE;
    if (typeof requestedLeverage !== 'number' || !Number.isFinite(requestedLeverage) || requestedLeverage < 1) {
      return failure(400, 'invalid_leverage', 'leverage must be a number of at least 1');
    }
    // Silently capped at the agent's maximum; non-integers pass (Hyperliquid's answer to them is undetermined).
    const leverage = Math.min(requestedLeverage, agent.maxLeverage);
    if (sizeUsd > agent.maxPositionUsd) {
      return failure(400, 'position_too_large', `size_usd exceeds your max_position_usd of ${agent.maxPositionUsd}`, {
        max_position_usd: agent.maxPositionUsd,
      });
    }
    if (agent.maxDailyLossUsd !== undefined && agent.lossTodayUsd >= agent.maxDailyLossUsd) {
      return failure(403, 'daily_loss_limit_reached', 'Daily loss limit reached', { resets_at: iso(nextUtcMidnight(this.clock.now())) });
    }
    if (!agent.walletAddress) return failure(400, 'wallet_not_configured', 'No Hyperliquid wallet configured for this agent');

    // Execution: every failure from here on is 400 trade_failed, even one after a real fill.
    const tradeFailed = (reason: string): Answer => failure(400, 'trade_failed', `Trade failed: ${reason}`);
    if (!this.hyperliquidReachable) return tradeFailed('fetch failed (Hyperliquid unreachable)');
    const market = this.marketOf(String(coin));
    if (!market) return tradeFailed(`Unknown market: ${String(coin)}`);
    if (market.price === undefined) return tradeFailed(`No price for ${market.coin}`);
    if (leverage > market.maxLeverage)
      return tradeFailed(`Leverage ${leverage}x exceeds the maximum of ${market.maxLeverage}x for ${market.coin}`);
    const price = market.price;
    const size = roundTo(sizeUsd / price, market.sizeDecimals);
    if (size * price < MIN_ORDER_USD) return tradeFailed(`Order must have minimum value of $${MIN_ORDER_USD}`);
    // An immediate-or-cancel order: part of it may fill, or none (then nothing happened).
    const filledSize = floorTo(size * (this.fills.shift() ?? 1), market.sizeDecimals);
    if (filledSize <= 0) return tradeFailed('Order could not immediately match against any resting orders');

    const hlOrderId = this.nextHlOrderId++;
    this.fillOnHyperliquid(agent.agentId, market.coin, side === 'long' ? filledSize : -filledSize, price, leverage);
    const filledUsd = round2(filledSize * price);
    if (request.call.fault?.kind === 'trade-failed-after-fill') {
      this.commit(request, { kind: 'trade.open', service: 'trading', id: `hl_${hlOrderId}`, agentId: agent.agentId, recorded: false });
      return tradeFailed('SQLITE_BUSY: database is locked');
    }

    const hlFee = round2(filledUsd * HL_FEE_RATE);
    const builderFee = round2(filledUsd * BUILDER_FEE_RATE_FREE);
    const position: StoredPosition = {
      id: `pos_${randomUUID()}`,
      agentId: agent.agentId,
      coin: market.coin,
      side,
      sizeUsd: filledUsd,
      entryPrice: price,
      leverage,
      marginUsed: round2(filledUsd / leverage),
      liquidationPrice: liquidationPrice(price, leverage, side),
      unrealizedPnl: 0,
      status: 'open',
      hlOrderId,
      openedAt: this.nowSeconds(),
      closedAt: null,
    };
    const orderId = `ord_${randomUUID()}`;
    this.positions.push(position);
    this.trades.push({
      id: `trd_${randomUUID()}`,
      agentId: agent.agentId,
      orderId,
      coin: market.coin,
      side: side === 'long' ? 'buy' : 'sell',
      sizeUsd: filledUsd,
      price,
      fee: round2(hlFee + builderFee),
      realizedPnl: 0,
      createdAt: position.openedAt,
    });
    this.commit(request, { kind: 'trade.open', service: 'trading', id: position.id, agentId: agent.agentId, recorded: true });
    return reply(200, {
      position_id: position.id,
      order_id: orderId,
      coin: market.coin,
      ticker: market.ticker,
      category: market.category,
      dex: market.dex,
      side,
      size_usd: filledUsd,
      entry_price: price,
      leverage,
      max_leverage: market.maxLeverage,
      margin_used: position.marginUsed,
      liquidation_price: position.liquidationPrice,
      fee: round2(hlFee + builderFee),
      fee_breakdown: { hyperliquid: hlFee, purple_flea_builder: builderFee },
      hl_order_id: hlOrderId,
      execution: 'real',
      status: 'open',
    });
  }

  /** Live Hyperliquid positions by default (database rows when it cannot be reached); `?status=all`: the 50 newest stored rows. */
  private tradePositions(request: ServiceRequest): Answer {
    const auth = this.tradingCaller(request);
    if ('status' in auth) return auth;
    const stored = this.positions.filter((p) => p.agentId === auth.agentId);
    const withQuote = (p: StoredPosition): Body => {
      const market = this.marketOf(p.coin);
      const current = market?.price ?? p.entryPrice;
      const units = p.sizeUsd / p.entryPrice;
      return {
        ...p,
        ticker: market?.ticker ?? p.coin,
        current_price: current,
        unrealized_pnl: round2((current - p.entryPrice) * units * (p.side === 'long' ? 1 : -1)),
      };
    };
    // (doc silent on this envelope's source and on the fallback's item shape: the stored rows, as ?status=all)
    if (request.query.get('status') === 'all') {
      const rows = newestFirst(stored, (p) => p.openedAt)
        .slice(0, 50)
        .map(withQuote);
      return reply(200, { positions: rows, count: rows.length, source: 'database' });
    }
    if (!this.hyperliquidReachable) {
      const rows = stored.filter((p) => p.status === 'open').map(withQuote);
      return reply(200, { positions: rows, count: rows.length, source: 'database' });
    }
    const live = [...(this.hyperliquid.get(auth.agentId)?.values() ?? [])].filter((p) => p.size !== 0);
    const items = live.map((p) => {
      const market = this.marketOf(p.coin);
      const current = market?.price ?? p.entryPrice;
      const sizeUsd = round2(Math.abs(p.size) * current);
      const margin = round2(sizeUsd / p.leverage);
      const pnl = round2((current - p.entryPrice) * p.size);
      const side = p.size > 0 ? 'long' : 'short';
      // Matched by coin to an open stored position (the newest); a fill the database lost has none.
      const match = newestFirst(stored, (s) => s.openedAt).find((s) => s.coin === p.coin && s.status === 'open');
      return {
        position_id: match?.id ?? null,
        coin: p.coin,
        ticker: market?.ticker ?? p.coin,
        side,
        size: Math.abs(p.size),
        size_usd: sizeUsd,
        entry_price: p.entryPrice,
        current_price: current,
        leverage: p.leverage,
        margin_used: margin,
        liquidation_price: liquidationPrice(p.entryPrice, p.leverage, side),
        unrealized_pnl: pnl,
        return_on_equity: margin > 0 ? round2(pnl / margin) : 0,
        source: 'hyperliquid',
      };
    });
    return reply(200, { positions: items, count: items.length, source: 'hyperliquid' });
  }

  private tradeHistory(request: ServiceRequest): Answer {
    const auth = this.tradingCaller(request);
    if ('status' in auth) return auth;
    // (doc silent on a bad or non-positive limit: the default, and at least 1)
    const asked = Number.parseInt(request.query.get('limit') ?? '', 10);
    const limit = Math.min(200, Math.max(1, Number.isNaN(asked) ? 50 : asked));
    const trades = newestFirst(
      this.trades.filter((t) => t.agentId === auth.agentId),
      (t) => t.createdAt,
    ).slice(0, limit);
    return reply(200, { trades, count: trades.length });
  }

  /**
   * Realized P&L by UTC day over the last `days` (default 30, at most 365). (doc silent on the details: a trade counts
   * when its realizedPnl is not 0, i.e. a close; a win has realizedPnl > 0; net = pnl − fees of every trade; chart rows
   * only for days with trades, oldest first, `date` as YYYY-MM-DD; figures in cents.)
   */
  private tradePnlHistory(request: ServiceRequest): Answer {
    const auth = this.tradingCaller(request);
    if ('status' in auth) return auth;
    const asked = Number.parseInt(request.query.get('days') ?? '', 10);
    const days = Math.min(365, Math.max(1, Number.isNaN(asked) ? 30 : asked));
    const since = this.nowSeconds() - days * 86_400;
    const trades = this.trades.filter((t) => t.agentId === auth.agentId && t.createdAt > since).sort((a, b) => a.createdAt - b.createdAt);
    const closes = trades.filter((t) => t.realizedPnl !== 0);
    const totalPnl = round2(trades.reduce((sum, t) => sum + t.realizedPnl, 0));
    const totalFees = round2(trades.reduce((sum, t) => sum + t.fee, 0));
    const byDay = new Map<string, { daily_pnl: number; daily_fees: number; trades: number }>();
    for (const t of trades) {
      const date = new Date(t.createdAt * 1000).toISOString().slice(0, 10);
      const day = byDay.get(date) ?? { daily_pnl: 0, daily_fees: 0, trades: 0 };
      byDay.set(date, { daily_pnl: day.daily_pnl + t.realizedPnl, daily_fees: day.daily_fees + t.fee, trades: day.trades + 1 });
    }
    let cumulative = 0;
    const chart = [...byDay.entries()].map(([date, day]) => {
      cumulative += day.daily_pnl;
      return {
        date,
        daily_pnl: round2(day.daily_pnl),
        daily_fees: round2(day.daily_fees),
        trades: day.trades,
        cumulative_pnl: round2(cumulative),
      };
    });
    const dailyPnls = chart.map((c) => c.daily_pnl);
    return reply(200, {
      period_days: days,
      summary: {
        total_pnl: totalPnl,
        total_fees: totalFees,
        net_pnl: round2(totalPnl - totalFees),
        total_trades: closes.length,
        win_rate_pct: closes.length === 0 ? 0 : round2((closes.filter((t) => t.realizedPnl > 0).length / closes.length) * 100),
        best_day: dailyPnls.length === 0 ? 0 : Math.max(...dailyPnls),
        worst_day: dailyPnls.length === 0 ? 0 : Math.min(...dailyPnls),
      },
      chart,
      note: 'Realized PnL by UTC day.',
    });
  }

  // --- Domains: https://domains.purpleflea.com/v1 (its own registry and balances) ---------------------

  /** The checks in the service's order; the registrar's faults (availability, price, registration) are injected. */
  private domainsRegister(request: ServiceRequest): Answer {
    const account = this.domainsCaller(request);
    if (!('agentId' in account)) return account;
    const body = strictBody(request.raw);
    if (!body) return invalidJson();
    const domain = typeof body.domain === 'string' ? body.domain.trim().toLowerCase() : '';
    if (!domain.includes('.')) return failure(400, 'invalid_domain', 'Provide a valid domain name, e.g. example.com');
    if (this.registeredDomains.has(domain)) return failure(400, 'domain_unavailable', `${domain} is not available`);
    const totalEur = round2(this.domainPriceEur * DOMAIN_MARKUP);
    const totalUsd = this.domainPriceUsd();
    if (account.balance < totalUsd) {
      return failure(400, 'insufficient_balance', `Balance ${account.balance} USD is less than ${totalUsd} USD`, {
        balance_usd: account.balance,
        required_usd: totalUsd,
        required_eur: totalEur,
        shortfall_usd: round2(totalUsd - account.balance),
        exchange_rate: DOMAIN_USD_PER_EUR,
      });
    }
    const now = this.nowSeconds();
    const registered: RegisteredDomain = {
      domainId: `dom_${randomHex(8)}`,
      domain,
      agentId: account.agentId,
      registeredAt: now,
      expiresAt: now + 365 * 86_400,
      pricePaid: totalUsd,
    };
    this.registeredDomains.set(domain, registered);
    account.balance = round2(account.balance - totalUsd);
    this.commit(request, { kind: 'domains.register', service: 'domains', id: registered.domainId, agentId: account.agentId });
    return reply(201, {
      domain_id: registered.domainId,
      domain,
      status: 'active',
      expires_at: isoOfSeconds(registered.expiresAt),
      cost: {
        base_price_eur: this.domainPriceEur,
        base_price_usd: round2(this.domainPriceEur * DOMAIN_USD_PER_EUR),
        markup: '20%',
        total_charged_eur: totalEur,
        total_charged_usd: totalUsd,
        exchange_rate: DOMAIN_USD_PER_EUR,
      },
      balance_usd: account.balance,
      transaction_id: `tx_${randomHex(8)}`,
      next_steps: { dns: `POST /v1/domains/${registered.domainId}/dns` },
    });
  }

  private domainsList(request: ServiceRequest): Answer {
    const account = this.domainsCaller(request);
    if (!('agentId' in account)) return account;
    const domains = this.domains(account.agentId).map((d) => ({
      domain_id: d.domainId,
      domain: d.domain,
      status: 'active',
      registered_at: isoOfSeconds(d.registeredAt),
      expires_at: isoOfSeconds(d.expiresAt),
      auto_renew: false,
      price_paid: d.pricePaid,
    }));
    return reply(200, { total: domains.length, domains });
  }

  /** As trading's: 401 unauthorized without a bearer header, 401 invalid_key for an unknown key. */
  private domainsCaller(request: ServiceRequest): DomainsAccount | Answer {
    if (request.bearerKey === undefined) return failure(401, 'unauthorized', 'Missing Authorization: Bearer <api_key>');
    const agentId = this.domainsKeys.get(request.bearerKey);
    const account = agentId === undefined ? undefined : this.domainsAccounts.get(agentId);
    return account ?? failure(401, 'invalid_key');
  }

  /** 401 unauthorized without a bearer header, 401 invalid_key (no message) for an unknown key. */
  private tradingCaller(request: ServiceRequest): TradingAgent | Answer {
    if (request.bearerKey === undefined) return failure(401, 'unauthorized', 'Missing Authorization: Bearer <api_key>');
    const agentId = this.tradingKeys.get(request.bearerKey);
    const agent = agentId === undefined ? undefined : this.tradingAgents.get(agentId);
    return agent ?? failure(401, 'invalid_key');
  }

  private marketOf(coin: string): Market | undefined {
    const name = coin.toUpperCase();
    return this.markets.get(name) ?? [...this.markets.values()].find((m) => m.coin.toUpperCase() === name);
  }

  /** Hyperliquid nets per coin: adding to a side averages the entry, reducing keeps it, flipping starts anew. */
  private fillOnHyperliquid(agentId: string, coin: string, signedSize: number, price: number, leverage: number): void {
    let account = this.hyperliquid.get(agentId);
    if (!account) this.hyperliquid.set(agentId, (account = new Map()));
    const held = account.get(coin);
    const oldSize = held?.size ?? 0;
    const newSize = roundTo(oldSize + signedSize, 8);
    let entryPrice = price;
    if (held && Math.sign(oldSize) === Math.sign(signedSize)) entryPrice = (held.entryPrice * oldSize + price * signedSize) / newSize;
    else if (held && Math.sign(newSize) === Math.sign(oldSize)) entryPrice = held.entryPrice;
    account.set(coin, { coin, size: newSize, entryPrice, leverage });
  }

  private nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }
}

// --- Answers ----------------------------------------------------------------------------------------

function reply(status: number, body: Body): Answer {
  return { status, body };
}

function failure(status: number, error: string, message?: string, extra: Body = {}): Answer {
  return { status, body: { error, message, ...extra } };
}

function invalidJson(): Answer {
  return failure(400, 'invalid_json', 'Request body must be valid JSON');
}

function casinoUnauthorized(): Answer {
  return failure(401, 'unauthorized', 'Missing or invalid API key', {
    suggestion: 'Register at POST /api/v1/auth/register and send Authorization: Bearer <api_key>',
  });
}

/** What the framework answers for an uncaught exception. */
function bareInternalError(): Answer {
  return failure(500, 'internal_error');
}

/** A repeat of a state change is refused with the current status in the message. */
function invalidStatus(escrow: Escrow): Answer {
  return failure(409, 'invalid_status', `Escrow is ${escrow.status}`);
}

function publicEscrow(escrow: Escrow): Body {
  return {
    escrow_id: escrow.id,
    status: escrow.status,
    amount_usd: escrow.amountUsd,
    commission_usd: escrow.commissionUsd,
    net_to_counterparty: escrow.netToCounterparty,
    description: escrow.description,
    creator_id: escrow.creatorId,
    counterparty_id: escrow.counterpartyId,
    timeout_hours: escrow.timeoutHours,
    created_at: iso(escrow.createdAt),
    auto_release_at: iso(escrow.autoReleaseAt),
    completed_at: escrow.completedAt === null ? null : iso(escrow.completedAt),
    released_at: escrow.releasedAt === null ? null : iso(escrow.releasedAt),
    disputed_at: escrow.disputedAt === null ? null : iso(escrow.disputedAt),
  };
}

// --- Requests ---------------------------------------------------------------------------------------

/**
 * The casino's and trading's reading of a body: undefined (→ 400 invalid_json) when it is not JSON.
 * An empty body is {} and JSON that is not an object reads as {} (doc silent on both).
 */
function strictBody(raw: string): Body | undefined {
  if (raw.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    return isObject(parsed) ? parsed : {};
  } catch {
    return undefined;
  }
}

/** Escrow and faucet read bad JSON as {}. */
function lenientBody(raw: string): Body {
  return strictBody(raw) ?? {};
}

function clientIpOf(req: http.IncomingMessage): string {
  const forwarded = headerValue(req, 'x-forwarded-for')?.split(',')[0]?.trim();
  return forwarded || headerValue(req, 'x-real-ip')?.trim() || 'unknown';
}

function matchTemplate(template: string, path: string): Record<string, string> | undefined {
  const want = template.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':') && got[i] !== '') params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return undefined;
  }
  return params;
}

function isObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// --- Ids, numbers, time ------------------------------------------------------------------------------

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** Stands in for deriving an Ethereum address from a key (a hash here, not secp256k1 and keccak). */
function addressOfKey(signingKey: string): string {
  return `0x${createHash('sha256').update(signingKey).digest('hex').slice(0, 40)}`;
}

function newAgentId(): string {
  return `ag_${randomHex(6)}`;
}

function roundTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/** Rounds down to `decimals`, after dropping binary noise (0.01563 × 1 stays 0.01563). */
function floorTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.floor(Number((value * factor).toFixed(6))) / factor;
}

const round2 = (value: number): number => roundTo(value, 2);
const round6 = (value: number): number => roundTo(value, 6);

/** The service's estimate: entry × (1 ∓ 1/leverage ± 0.005). */
function liquidationPrice(entry: number, leverage: number, side: 'long' | 'short'): number {
  return round2(side === 'long' ? entry * (1 - 1 / leverage + 0.005) : entry * (1 + 1 / leverage - 0.005));
}

/** Newest first; within one second (the services' resolution), the last written first. */
function newestFirst<T>(items: readonly T[], timeOf: (item: T) => number): T[] {
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => timeOf(b.item) - timeOf(a.item) || b.index - a.index)
    .map(({ item }) => item);
}

function iso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

function isoOfSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

function nextUtcMidnight(ms: number): number {
  const day = new Date(ms);
  return Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1);
}
