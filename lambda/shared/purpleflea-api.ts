import { createHash } from 'node:crypto';

/**
 * The Purple Flea calls the library makes, as plain data. Request building sits behind one interface per
 * action (`PurpleFleaApiProfile`), one implementation per API a connection may speak: the gateway of the
 * user's story (`GATEWAY_PROFILE`) and Purple Flea's published services (`SERVICES_PROFILE`). The handlers
 * get their profile from the connection's runtime (lambda/shared/connection-runtime.ts) and never build a
 * request body themselves.
 */

/** Which host a request goes to, and so which base URL and key the client uses: the gateway, or one of the services. */
export const API_SERVICES = ['gateway', 'escrow', 'casino', 'trading', 'faucet', 'domains'] as const;
export type ApiService = (typeof API_SERVICES)[number];

export interface TradeOrder {
  readonly agentId: string;
  readonly direction: 'long' | 'short';
  /** The order's amount; on the services profile the notional (`size_usd`), of which the margin is 1/leverage. */
  readonly amountUsdc: number;
  readonly asset: string;
  readonly metadata: { readonly [key: string]: unknown };
  /** What only the services profile sends (the gateway ignores it): the trading service's market and the leverage. */
  readonly services?: { readonly coin: string; readonly leverage: number };
}

export interface EscrowCreation {
  /**
   * Who pays. The gateway sends it; on the services profile the payer is always the key's agent, and the buyer
   * is named in the (public) description only.
   */
  readonly buyer: string;
  readonly seller: string;
  readonly amountUsdc: number;
  readonly condition: string;
  readonly metadata: { readonly [key: string]: unknown };
  /** The action's key: the services profile puts its SHA-256 (never the key) in the description. */
  readonly actionKey?: string;
  /** What only the services profile sends (the gateway ignores it). */
  readonly services?: { readonly timeoutHours: number };
}

export interface WalletTransfer {
  readonly fromAgent: string;
  readonly toAgent: string;
  readonly amountUsdc: number;
  readonly memo: string;
}

/**
 * How a route's error answers are read beyond their status (the client's `classify`). Without rules, a
 * request is read by its status alone, as the gateway's are.
 */
export interface RouteRules {
  /** Names the route in reasons, e.g. `trading POST /trade/open`. */
  readonly name: string;
  /**
   * Error codes of a 4xx answer that do not prove that nothing was executed: such an answer is UNKNOWN, never
   * REJECTED (never re-sent, an operator resolves it).
   */
  readonly mayHaveExecutedOn?: readonly string[];
  /** What an error code means on this route, added to the recorded reason (the services' messages vary, or are absent). */
  readonly reasons?: { readonly [error: string]: string };
  /**
   * Error codes of a 429 that do not mean a full rate-limit window (the faucet's one claim per IP per 24 hours): such an
   * answer is REJECTED at once, never retried within the invocation.
   */
  readonly notRetriedOn429?: readonly string[];
  /**
   * Error codes of a 500 answer that the route gives only before it has done anything (the domains service's
   * availability and price checks, before it registers or charges): such an answer is REJECTED, not UNKNOWN.
   */
  readonly notExecutedOn5xx?: readonly string[];
}

export interface ApiRequest {
  /** The host it goes to; absent means the gateway. */
  readonly service?: ApiService;
  /** Appended to the service's base URL (which keeps its own path, e.g. the casino's `/api/v1`). */
  readonly path: string;
  readonly body: { readonly [key: string]: unknown };
  /** How its error answers are read; absent: by status alone. */
  readonly route?: RouteRules;
}

/** A recorded body read back: what is not there (or not of the right type) is undefined. */
type RecordedBody = { readonly [key: string]: unknown };

export interface RecordedTradeOrder {
  readonly direction: 'long' | 'short';
  readonly amountUsdc: number;
  /** The gateway's asset (`BTC-USDC`). */
  readonly asset: string;
  /** The services profile's market (`BTC`) and leverage. */
  readonly coin: string;
  readonly leverage: number;
}

export interface RecordedEscrow {
  readonly buyer: string;
  readonly seller: string;
  readonly amountUsdc: number;
  readonly condition: string;
  /** The services profile's `timeout_hours`. */
  readonly timeoutHours: number;
}

export interface RecordedTransfer {
  readonly fromAgent: string;
  readonly toAgent: string;
  readonly amountUsdc: number;
  readonly memo: string;
}

/** Which actions go to which service: the key, and the agent id, each acts with. */
export interface ActionServices {
  readonly trade: ApiService;
  readonly escrow: ApiService;
  readonly transfer: ApiService;
}

/** A read route: a GET of one resource, with the key of its service. */
export interface ApiRead {
  readonly service: ApiService;
  /** Appended to the service's base URL. */
  readonly path: string;
}

/**
 * The casino registry's routes, which only the services profile has (the gateway documents no registration, no
 * balance and no faucet): what ModelAgents uses to give each model version an agent of its own.
 */
export interface AgentRoutes {
  /** `POST /api/v1/auth/register`, no body: a new casino agent; its answer carries `api_key`, shown once. */
  registerAgent(): ApiRequest;
  /** `GET /api/v1/auth/balance`, with the agent's own key: `balance_usd`, and `recent_activity` (a faucet credit among it). */
  readBalance(): ApiRead;
  /** `POST /faucet/claim` with `{agent_casino_id}` (no key): $1 to the agent's casino balance, once per agent. */
  claimFaucet(agentId: string): ApiRequest;
}

/**
 * The domains service's routes, which only the services profile has: ModelAgents registers a domain for a model
 * version's agent with a funded domains account's key (the domains service has its own registry and USD balance).
 */
export interface DomainRoutes {
  /** `POST /v1/domains/register` with `{domain}`: the account's balance pays; the name is unique across the service. */
  registerDomain(domain: string): ApiRequest;
  /** `GET /v1/domains`: every domain of the key's account (`domains` [{`domain_id`, `domain`, `expires_at`, `price_paid`, ...}]). */
  listDomains(): ApiRead;
}

export interface PurpleFleaApiProfile {
  readonly name: 'gateway' | 'services';
  /** The casino registry's routes: the services profile's only. */
  readonly agents?: AgentRoutes;
  /** The domains service's routes: the services profile's only. */
  readonly domains?: DomainRoutes;
  readonly serviceOf: ActionServices;
  /**
   * True when an escrow's payer is always the key's agent (the services profile: the escrow service takes no
   * buyer); false when the request names it (the gateway).
   */
  readonly escrowBuyerIsKeyAgent: boolean;
  /**
   * Why `agentId` cannot be the other party of an action of this profile (an escrow's seller, a payment's
   * recipient), or undefined. Such an action is INVALID, never sent.
   */
  counterpartyProblem(agentId: string): string | undefined;
  tradeOrder(order: TradeOrder): ApiRequest;
  /** A trade order's request body as the ledger recorded it, read back. */
  recordedTradeOrder(body: RecordedBody): Partial<RecordedTradeOrder>;
  /** The notional a SUCCEEDED trade's answer says was filled (the services' `size_usd`; a fill may be partial), if it says. */
  filledUsdc(response: RecordedBody | undefined): number | undefined;
  createEscrow(escrow: EscrowCreation): ApiRequest;
  /** An escrow's request body as the ledger recorded it, read back. */
  recordedEscrow(body: RecordedBody): Partial<RecordedEscrow>;
  walletTransfer(transfer: WalletTransfer): ApiRequest;
  /** A transfer's request body as the ledger recorded it, read back. */
  recordedTransfer(body: RecordedBody): Partial<RecordedTransfer>;
  /** Releases an escrow the key's agent created: `POST /escrow/release/{id}`, no body. */
  releaseEscrow(escrowId: string): ApiRequest;
  /** Reads an escrow back (`GET /escrow/{id}`): its `status` says whether it was released, refunded or disputed. */
  readEscrow(escrowId: string): ApiRead;
  /**
   * Disputes an escrow (`POST /escrow/dispute/{id}` with `{reason}`): its funds stay locked until Purple Flea resolves
   * it, and its timeout no longer refunds it.
   */
  disputeEscrow(escrowId: string, reason: string): ApiRequest;
}

/** purpleflea-api.md §3: both `agt_...` and `ag_...` ids exist, so check the shape, not a prefix. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

const stringOf = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const numberOf = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
const sideOf = (value: unknown): 'long' | 'short' | undefined => (value === 'long' || value === 'short' ? value : undefined);

/** The gateway contract at api.purpleflea.com (purpleflea-api.md §1), as the user's story calls it: one host, one key. */
export const GATEWAY_PROFILE: PurpleFleaApiProfile = {
  name: 'gateway',
  serviceOf: { trade: 'gateway', escrow: 'gateway', transfer: 'gateway' },
  escrowBuyerIsKeyAgent: false,
  counterpartyProblem: (agentId) =>
    AGENT_ID_PATTERN.test(agentId) ? undefined : `${JSON.stringify(agentId)} is not a Purple Flea agent id (${AGENT_ID_PATTERN.source})`,
  tradeOrder: (order) => ({
    service: 'gateway',
    path: '/trading/order',
    body: {
      agent_id: order.agentId,
      direction: order.direction,
      amount: order.amountUsdc,
      asset: order.asset,
      order_type: 'market',
      metadata: order.metadata,
    },
  }),
  recordedTradeOrder: (body) => ({
    direction: sideOf(body.direction),
    amountUsdc: numberOf(body.amount),
    asset: stringOf(body.asset),
  }),
  // The gateway's answer says nothing of a fill.
  filledUsdc: () => undefined,
  createEscrow: (escrow) => ({
    service: 'gateway',
    path: '/escrow/create',
    body: {
      buyer: escrow.buyer,
      seller: escrow.seller,
      amount: escrow.amountUsdc,
      condition: escrow.condition,
      metadata: escrow.metadata,
    },
  }),
  recordedEscrow: (body) => ({
    buyer: stringOf(body.buyer),
    seller: stringOf(body.seller),
    amountUsdc: numberOf(body.amount),
    condition: stringOf(body.condition),
  }),
  // The story names no release or read route: the gateway is taken to front the escrow service's own
  // (purpleflea-services.md), as it does for /escrow/create. docs/purpleflea-contract.md.
  releaseEscrow: (escrowId) => ({ service: 'gateway', path: `/escrow/release/${encodeURIComponent(escrowId)}`, body: {} }),
  readEscrow: (escrowId) => ({ service: 'gateway', path: `/escrow/${encodeURIComponent(escrowId)}` }),
  disputeEscrow: (escrowId, reason) => ({ service: 'gateway', path: `/escrow/dispute/${encodeURIComponent(escrowId)}`, body: { reason } }),
  walletTransfer: (transfer) => ({
    service: 'gateway',
    path: '/wallet/transfer',
    body: {
      from_agent: transfer.fromAgent,
      to_agent: transfer.toAgent,
      amount: transfer.amountUsdc,
      memo: transfer.memo,
    },
  }),
  recordedTransfer: (body) => ({
    fromAgent: stringOf(body.from_agent),
    toAgent: stringOf(body.to_agent),
    amountUsdc: numberOf(body.amount),
    memo: stringOf(body.memo),
  }),
};

/**
 * The services profile's routes and how their answers are read: one table (docs/purpleflea-contract.md, "The services"):
 * a 4xx not listed in `mayHaveExecutedOn` is REJECTED, 401 re-reads the key once, 429
 * is retried within the deadline, a 5xx or a lost answer is UNKNOWN, a 2xx is SUCCEEDED whatever its body.
 */
export const SERVICES_ROUTES = {
  /** Trading `POST /v1/trade/open` (the trading URL includes `/v1`), with the trading key. */
  tradeOpen: {
    service: 'trading',
    path: '/trade/open',
    rules: {
      name: 'trading POST /trade/open',
      mayHaveExecutedOn: ['trade_failed'],
      reasons: {
        trade_failed:
          'the trading service answers 400 trade_failed for every failure during execution, including a database error after Hyperliquid filled the order: it may have been executed',
        position_too_large: "size_usd is over the trading agent's max_position_usd",
        daily_loss_limit_reached: "the trading agent's daily loss limit is reached",
        wallet_not_configured: 'the trading agent has no Hyperliquid wallet the service can sign for',
        invalid_leverage: 'the leverage must be at least 1',
      },
    },
  },
  /** Trading `POST /v1/trade/close`: no action closes positions yet; its rule is here for when one does. */
  tradeClose: {
    service: 'trading',
    path: '/trade/close',
    rules: {
      name: 'trading POST /trade/close',
      mayHaveExecutedOn: ['close_failed'],
      reasons: {
        close_failed: 'the trading service answers 400 close_failed for a Hyperliquid or database failure, which may follow a real close',
      },
    },
  },
  /** Escrow `POST /escrow/create`, with the casino key: the key's agent pays. */
  escrowCreate: {
    service: 'escrow',
    path: '/escrow/create',
    rules: {
      name: 'escrow POST /escrow/create',
      reasons: {
        insufficient_balance: "the casino balance of the key's agent is below the amount (402: nothing was debited)",
        counterparty_not_found: 'the seller is not an agent of the casino registry',
        invalid_counterparty: 'the seller must be an ag_ id of the casino registry',
        self_escrow: "the seller is the key's own agent",
        invalid_amount: 'the escrow service takes at least 0.10',
      },
    },
  },
  /** Escrow `POST /escrow/release/:id`, with the casino key: only the creator may release; limited per escrow id. */
  escrowRelease: {
    service: 'escrow',
    path: '/escrow/release/:id',
    rules: {
      name: 'escrow POST /escrow/release/:id',
      reasons: {
        invalid_status: 'the escrow is no longer funded or completed: released, refunded at its timeout, or disputed',
        forbidden: "only the escrow's creator may release it, and the key's agent is not",
        not_found: 'no escrow has this id',
      },
    },
  },
  /** Escrow `POST /escrow/dispute/:id` with `{reason}`, with the casino key: either party; limited to 10 a minute per escrow id. */
  escrowDispute: {
    service: 'escrow',
    path: '/escrow/dispute/:id',
    rules: {
      name: 'escrow POST /escrow/dispute/:id',
      reasons: {
        invalid_status: 'the escrow is no longer funded or completed: released, refunded at its timeout, or disputed',
        forbidden: "only a party of the escrow may dispute it, and the key's agent is not",
        not_found: 'no escrow has this id',
      },
    },
  },
  /**
   * Casino `POST /api/v1/auth/register` (no auth; 10 a minute per IP): a new agent. Its answer's `api_key` is shown once
   * and never again: ModelAgents keeps it in the agent's own secret before the outcome is recorded, and records the
   * answer without it.
   */
  casinoRegister: {
    service: 'casino',
    path: '/auth/register',
    rules: { name: 'casino POST /auth/register' },
  },
  /**
   * Faucet `POST /faucet/claim` with `{agent_casino_id}` (no auth; 5 a minute, and one successful claim per IP per 24
   * hours): $1 to a casino agent, once per agent.
   */
  faucetClaim: {
    service: 'faucet',
    path: '/faucet/claim',
    rules: {
      name: 'faucet POST /faucet/claim',
      notRetriedOn429: ['ip_rate_limited'],
      reasons: {
        ip_rate_limited: 'the faucet takes one claim per client IP per 24 hours (and checks it before the agent): a later run claims it',
        already_claimed: 'the agent has claimed its $1 before',
        agent_not_found: 'the agent is not in the casino registry',
        has_deposits: 'the faucet is for agents that have not deposited',
      },
    },
  },
  /**
   * Domains `POST /v1/domains/register` with `{domain}` (the domains URL includes `/v1`), with a domains account's key:
   * its own USD balance pays. No rate limit. The checks run in this order, and only the last two can follow a
   * registration: 400 invalid_domain, 500 availability_check_failed, 400 domain_unavailable, 500 price_unavailable,
   * 400 insufficient_balance, then Njalla's registration (500 registration_failed) and one database transaction (an
   * uncaught failure there is 500 internal_error after the name was registered). So the two 5xx of the checks are
   * REJECTED; 400 domain_unavailable is read back (`GET /v1/domains`: ours from before, or someone else's).
   */
  domainRegister: {
    service: 'domains',
    path: '/domains/register',
    rules: {
      name: 'domains POST /domains/register',
      notExecutedOn5xx: ['availability_check_failed', 'price_unavailable'],
      reasons: {
        invalid_domain: 'the domains service refuses the name',
        availability_check_failed: "the registrar's availability check failed, before anything was registered or charged",
        domain_unavailable: 'the name is taken, or the registrar does not offer it',
        price_unavailable: 'the registrar gave no price, before anything was registered or charged',
        insufficient_balance:
          "the domains account's USD balance is below the price (nothing was charged): fund it, and a later delivery registers it",
        registration_failed: "the registrar's registration failed: it may have registered the name",
      },
    },
  },
  /** Casino `POST /api/v1/stats/pay` (the casino URL includes `/api/v1`), with the casino key: the key's agent pays. */
  casinoPay: {
    service: 'casino',
    path: '/stats/pay',
    rules: {
      name: 'casino POST /stats/pay',
      reasons: {
        insufficient_balance: "the casino balance of the key's agent is below the amount (400 on this route: nothing was paid)",
        recipient_not_found: 'the recipient is not an agent of the casino registry',
        same_agent: "the recipient is the key's own agent",
        invalid_amount: 'casino pay takes at least 0.01',
      },
    },
  },
} as const satisfies { readonly [route: string]: { readonly service: ApiService; readonly path: string; readonly rules: RouteRules } };

/** The casino registry's agent ids: `ag_` and 12 lowercase hex in the services' code; only the prefix is checked. */
export const SERVICES_AGENT_ID_PREFIX = 'ag_';

/**
 * The (public) description of a services-profile escrow: the condition, the buyer it is for, and the SHA-256 of
 * the action key, which makes the escrow findable after a lost answer (the description is the only text the
 * escrow service stores) without publishing the key. Read back by `parseServicesEscrowDescription`.
 */
export function servicesEscrowDescription(condition: string, buyer: string, actionKey: string): string {
  return `${condition} | buyer ${buyer} | action sha256:${sha256Hex(actionKey)}`;
}

const DESCRIPTION = /^([\s\S]*) \| buyer (\S+) \| action sha256:([0-9a-f]{64})$/;

/** A services escrow's description read back: the condition, the buyer and the action key's hash; a description of another shape is all condition. */
export function parseServicesEscrowDescription(description: string): { condition: string; buyer?: string; actionKeySha256?: string } {
  const match = DESCRIPTION.exec(description);
  return match ? { condition: match[1], buyer: match[2], actionKeySha256: match[3] } : { condition: description };
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function servicesRequest(route: (typeof SERVICES_ROUTES)[keyof typeof SERVICES_ROUTES], body: RecordedBody): ApiRequest {
  return { service: route.service, path: route.path, body, route: route.rules };
}

/** A handler bug, not an input problem: the contract reader gives every services setting on the services profile. */
function missing(what: string): never {
  throw new Error(`the services profile needs ${what}, which the handler did not give`);
}

/**
 * Purple Flea's published services (purpleflea-services.md): trades on the trading host with the trading key
 * (the agent is the key's), escrows on the escrow host and agent-to-agent payments on the casino, both with
 * the casino key and paid by its agent. Counterparties are `ag_` ids of the casino registry.
 */
export const SERVICES_PROFILE: PurpleFleaApiProfile = {
  name: 'services',
  agents: {
    registerAgent: () => servicesRequest(SERVICES_ROUTES.casinoRegister, {}),
    readBalance: () => ({ service: 'casino', path: '/auth/balance' }),
    claimFaucet: (agentId) => servicesRequest(SERVICES_ROUTES.faucetClaim, { agent_casino_id: agentId }),
  },
  domains: {
    registerDomain: (domain) => servicesRequest(SERVICES_ROUTES.domainRegister, { domain }),
    listDomains: () => ({ service: 'domains', path: '/domains' }),
  },
  serviceOf: { trade: 'trading', escrow: 'escrow', transfer: 'casino' },
  escrowBuyerIsKeyAgent: true,
  counterpartyProblem: (agentId) => {
    if (!AGENT_ID_PATTERN.test(agentId)) return `${JSON.stringify(agentId)} is not a Purple Flea agent id (${AGENT_ID_PATTERN.source})`;
    if (!agentId.startsWith(SERVICES_AGENT_ID_PREFIX)) {
      return `${JSON.stringify(agentId)} is not an ag_ id of the casino registry: the services profile's escrow and pay take only those (an agt_ id is the gateway's)`;
    }
    return undefined;
  },
  tradeOrder: (order) => {
    const market = order.services ?? missing("a trade's coin and leverage");
    // The leverage is always sent: the service's own default is 5. `size_usd` is the notional.
    return servicesRequest(SERVICES_ROUTES.tradeOpen, {
      coin: market.coin,
      side: order.direction,
      size_usd: order.amountUsdc,
      leverage: market.leverage,
    });
  },
  recordedTradeOrder: (body) => ({
    direction: sideOf(body.side),
    amountUsdc: numberOf(body.size_usd),
    coin: stringOf(body.coin),
    leverage: numberOf(body.leverage),
  }),
  // Immediate-or-cancel: the answer's size_usd is the filled notional, which may be less than the request.
  filledUsdc: (response) => numberOf(response?.size_usd),
  createEscrow: (escrow) => {
    const timeoutHours = escrow.services?.timeoutHours ?? missing("an escrow's timeout_hours");
    const actionKey = escrow.actionKey ?? missing("an escrow's action key");
    // The buyer is the key's agent (it cannot be named): the description says whom the escrow is for.
    return servicesRequest(SERVICES_ROUTES.escrowCreate, {
      amount_usd: escrow.amountUsdc,
      description: servicesEscrowDescription(escrow.condition, escrow.buyer, actionKey),
      counterparty_agent_id: escrow.seller,
      timeout_hours: timeoutHours,
    });
  },
  recordedEscrow: (body) => {
    const description = stringOf(body.description);
    const parsed = description === undefined ? undefined : parseServicesEscrowDescription(description);
    return {
      buyer: parsed?.buyer,
      seller: stringOf(body.counterparty_agent_id),
      amountUsdc: numberOf(body.amount_usd),
      condition: parsed?.condition,
      timeoutHours: numberOf(body.timeout_hours),
    };
  },
  releaseEscrow: (escrowId) => ({
    service: SERVICES_ROUTES.escrowRelease.service,
    path: SERVICES_ROUTES.escrowRelease.path.replace(':id', encodeURIComponent(escrowId)),
    body: {},
    route: SERVICES_ROUTES.escrowRelease.rules,
  }),
  readEscrow: (escrowId) => ({ service: 'escrow', path: `/escrow/${encodeURIComponent(escrowId)}` }),
  disputeEscrow: (escrowId, reason) => ({
    service: SERVICES_ROUTES.escrowDispute.service,
    path: SERVICES_ROUTES.escrowDispute.path.replace(':id', encodeURIComponent(escrowId)),
    body: { reason },
    route: SERVICES_ROUTES.escrowDispute.rules,
  }),
  // The sender is the key's agent; the memo is echoed in the answer, never stored by the casino.
  walletTransfer: (transfer) =>
    servicesRequest(SERVICES_ROUTES.casinoPay, {
      to_agent_id: transfer.toAgent,
      amount: transfer.amountUsdc,
      memo: transfer.memo,
    }),
  recordedTransfer: (body) => ({
    toAgent: stringOf(body.to_agent_id),
    amountUsdc: numberOf(body.amount),
    memo: stringOf(body.memo),
  }),
};
