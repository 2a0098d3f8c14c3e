import { compactEnvironment, Environment, EnvironmentReader } from './env-reader';

/** What every handler needs to reach Purple Flea and the action ledger. */
export interface ConnectionSettings {
  /** ARN of the API-key secret (never its value). */
  readonly secretArn: string;
  /** Field of a JSON SecretString holding the key; a non-JSON SecretString is the key itself. */
  readonly apiKeyField: string;
  /** Field of a JSON SecretString holding the agent id, used when agentId is not given. */
  readonly agentIdField: string;
  readonly agentId?: string;
  readonly baseUrl: string;
  readonly ledgerTableName: string;
  /** Ledger records expire after this many days; absent means never. */
  readonly ledgerRetentionDays?: number;
  /** How long one Purple Flea request may take; absent means DEFAULT_REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs?: number;
  /**
   * Purple Flea's rate-limit window (both profiles count requests in fixed windows); absent means
   * DEFAULT_RATE_LIMIT_WINDOW_MS. No construct sets it: it is Purple Flea's, and tests shorten it.
   */
  readonly rateLimitWindowMs?: number;
  /**
   * The gateway profile. ConnectionSettings is a connection on the gateway (PF_API_PROFILE absent or
   * `gateway`), what the handlers have read since before profiles existed: absent means the gateway.
   */
  readonly profile?: 'gateway';
}

/**
 * The APIs a connection may speak (PF_API_PROFILE): the gateway of the user's story, or Purple Flea's
 * published services (purpleflea-services.md). Absent means the gateway, so that a gateway connection's
 * environment is what it was before profiles existed.
 */
export const API_PROFILES = ['gateway', 'services'] as const;
export type ApiProfileName = (typeof API_PROFILES)[number];

/**
 * Where the trading key is, on the services profile: the trading service has its own registry, so its own
 * key and agent id. Only the functions that trade (PredictToTrade's) are told, and only they may read a
 * separate trading secret (their roles are granted it; the others' are not).
 */
export interface TradingKeySettings {
  /** ARN of a second secret holding the trading key (never its value); absent means the connection's secret (secretArn). */
  readonly secretArn?: string;
  /** Field of that secret's JSON SecretString holding the trading key. */
  readonly keyField: string;
  /** Field of that secret's JSON SecretString holding the trading agent id (an `ag_` id of the trading registry). */
  readonly agentIdField: string;
}

/**
 * A connection on the services profile: the casino key and agent id come from the connection's secret
 * (apiKeyField, agentIdField, or agentId) and act on the escrow, casino and faucet services; trades use the
 * trading key (tradingKey). Each URL has no trailing slash; the casino's and the trading service's include
 * their API prefix (`/api/v1`, `/v1`).
 */
export interface ServicesConnectionSettings extends Omit<ConnectionSettings, 'profile' | 'baseUrl'> {
  readonly profile: 'services';
  readonly escrowUrl: string;
  readonly casinoUrl: string;
  readonly tradingUrl: string;
  readonly faucetUrl: string;
  /** Present for the functions that trade (see TradingKeySettings); absent for the others. */
  readonly tradingKey?: TradingKeySettings;
}

/** A connection on either profile; `profile === 'services'` tells them apart. */
export type AnyConnectionSettings = ConnectionSettings | ServicesConnectionSettings;

/** How a handler reads its connection: which profiles it speaks, and whether it trades. */
export interface ReadConnectionOptions {
  /**
   * The handler speaks the services profile too. Without it, readConnectionSettings refuses an environment on the
   * services profile at the handler's start: a handler that speaks only the gateway must not run there.
   */
  readonly servicesProfile: true;
  /** The handler trades: on the services profile it then needs PF_TRADING_KEY_FIELD and PF_TRADING_AGENT_ID_FIELD. */
  readonly trades?: boolean;
}

/**
 * The handlers' request timeout when PF_REQUEST_TIMEOUT_MS is absent: 10 s, as the hand-written pattern. The
 * construct always writes its connection's requestTimeout, whose default is PURPLEFLEA_CONNECTION_DEFAULTS
 * (lib/private/defaults.ts); test/lambda/connection-runtime.unit.test.ts checks that the two agree.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/**
 * Purple Flea counts each path's requests per client IP in fixed windows of 60 s, on both profiles
 * (purpleflea-api.md §2, purpleflea-services.md "Rate limiting"), and a 429 says no more than that: no
 * Retry-After, no rate headers.
 */
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 60_000;

export const CONNECTION_ENV = {
  secretArn: 'PF_SECRET_ARN',
  apiKeyField: 'PF_API_KEY_FIELD',
  agentIdField: 'PF_AGENT_ID_FIELD',
  agentId: 'PF_AGENT_ID',
  baseUrl: 'PF_BASE_URL',
  ledgerTableName: 'PF_LEDGER_TABLE',
  ledgerRetentionDays: 'PF_LEDGER_RETENTION_DAYS',
  requestTimeoutMs: 'PF_REQUEST_TIMEOUT_MS',
  /** Never written by a construct (ConnectionSettings.rateLimitWindowMs). */
  rateLimitWindowMs: 'PF_RATE_LIMIT_WINDOW_MS',
  /** `services`; absent (or `gateway`) means the gateway, whose base URL is PF_BASE_URL. */
  apiProfile: 'PF_API_PROFILE',
  /** The services profile's URLs, each without a trailing slash. */
  escrowUrl: 'PF_ESCROW_URL',
  casinoUrl: 'PF_CASINO_URL',
  tradingUrl: 'PF_TRADING_URL',
  faucetUrl: 'PF_FAUCET_URL',
  /** The services profile's trading key (TradingKeySettings): in the functions that trade only. */
  tradingSecretArn: 'PF_TRADING_SECRET_ARN',
  tradingKeyField: 'PF_TRADING_KEY_FIELD',
  tradingAgentIdField: 'PF_TRADING_AGENT_ID_FIELD',
} as const;

/** The variables only the services profile has: on the gateway, none of them may be set. */
const SERVICES_ONLY_ENV = [
  CONNECTION_ENV.escrowUrl,
  CONNECTION_ENV.casinoUrl,
  CONNECTION_ENV.tradingUrl,
  CONNECTION_ENV.faucetUrl,
  CONNECTION_ENV.tradingSecretArn,
  CONNECTION_ENV.tradingKeyField,
  CONNECTION_ENV.tradingAgentIdField,
] as const;

const TRADING_KEY_ENV = [CONNECTION_ENV.tradingSecretArn, CONNECTION_ENV.tradingKeyField, CONNECTION_ENV.tradingAgentIdField] as const;

/**
 * The connection's variables. On the gateway they are exactly those of before profiles existed (no
 * PF_API_PROFILE); the services profile adds PF_API_PROFILE=services, its URLs and (for a function that
 * trades) the trading key's, and has no PF_BASE_URL.
 */
export function connectionEnvironment(settings: AnyConnectionSettings): { [name: string]: string } {
  const services = settings.profile === 'services' ? settings : undefined;
  return compactEnvironment({
    [CONNECTION_ENV.secretArn]: settings.secretArn,
    [CONNECTION_ENV.apiKeyField]: settings.apiKeyField,
    [CONNECTION_ENV.agentIdField]: settings.agentIdField,
    [CONNECTION_ENV.agentId]: settings.agentId,
    [CONNECTION_ENV.baseUrl]: settings.profile === 'services' ? undefined : settings.baseUrl,
    [CONNECTION_ENV.ledgerTableName]: settings.ledgerTableName,
    [CONNECTION_ENV.ledgerRetentionDays]: settings.ledgerRetentionDays?.toString(),
    [CONNECTION_ENV.requestTimeoutMs]: settings.requestTimeoutMs?.toString(),
    [CONNECTION_ENV.rateLimitWindowMs]: settings.rateLimitWindowMs?.toString(),
    [CONNECTION_ENV.apiProfile]: services?.profile,
    [CONNECTION_ENV.escrowUrl]: services?.escrowUrl,
    [CONNECTION_ENV.casinoUrl]: services?.casinoUrl,
    [CONNECTION_ENV.tradingUrl]: services?.tradingUrl,
    [CONNECTION_ENV.faucetUrl]: services?.faucetUrl,
    [CONNECTION_ENV.tradingSecretArn]: services?.tradingKey?.secretArn,
    [CONNECTION_ENV.tradingKeyField]: services?.tradingKey?.keyField,
    [CONNECTION_ENV.tradingAgentIdField]: services?.tradingKey?.agentIdField,
  });
}

/**
 * The profile a handler's environment names (PF_API_PROFILE): absent or empty means the gateway; any other
 * value than `gateway` or `services` fails at the handler's start, naming the variable.
 */
export function readApiProfile(env: Environment, handlerName: string): ApiProfileName {
  return new EnvironmentReader(env, handlerName).optionalOneOf(CONNECTION_ENV.apiProfile, API_PROFILES) ?? 'gateway';
}

/**
 * Reads the connection at a handler's start; a missing or malformed variable fails, naming it. Without options
 * the handler speaks only the gateway, and an environment on the services profile fails; with
 * `{ servicesProfile: true }` it reads either profile.
 */
export function readConnectionSettings(env: Environment, handlerName: string): ConnectionSettings;
export function readConnectionSettings(env: Environment, handlerName: string, options: ReadConnectionOptions): AnyConnectionSettings;
export function readConnectionSettings(env: Environment, handlerName: string, options?: ReadConnectionOptions): AnyConnectionSettings {
  const read = new EnvironmentReader(env, handlerName);
  const profile = readApiProfile(env, handlerName);
  const common = {
    secretArn: read.string(CONNECTION_ENV.secretArn),
    apiKeyField: read.string(CONNECTION_ENV.apiKeyField),
    agentIdField: read.string(CONNECTION_ENV.agentIdField),
    agentId: read.optionalString(CONNECTION_ENV.agentId),
    ledgerTableName: read.string(CONNECTION_ENV.ledgerTableName),
    ledgerRetentionDays: read.optionalNumber(CONNECTION_ENV.ledgerRetentionDays),
    requestTimeoutMs: read.optionalNumber(CONNECTION_ENV.requestTimeoutMs),
    rateLimitWindowMs: read.optionalNumber(CONNECTION_ENV.rateLimitWindowMs),
  };
  if (profile === 'gateway') {
    for (const name of SERVICES_ONLY_ENV) read.absent(name, `${CONNECTION_ENV.apiProfile} is not "services"`);
    return { ...common, baseUrl: read.string(CONNECTION_ENV.baseUrl), profile };
  }
  if (options?.servicesProfile !== true) {
    throw new Error(
      `${handlerName}: environment variable ${CONNECTION_ENV.apiProfile} is "services", a profile this handler does not speak yet`,
    );
  }
  read.absent(CONNECTION_ENV.baseUrl, `${CONNECTION_ENV.apiProfile} is "services" (the gateway's base URL has no use there)`);
  const tradingKeyGiven = TRADING_KEY_ENV.some((name) => read.optionalString(name) !== undefined);
  return {
    ...common,
    profile,
    escrowUrl: read.string(CONNECTION_ENV.escrowUrl),
    casinoUrl: read.string(CONNECTION_ENV.casinoUrl),
    tradingUrl: read.string(CONNECTION_ENV.tradingUrl),
    faucetUrl: read.string(CONNECTION_ENV.faucetUrl),
    tradingKey:
      options.trades === true || tradingKeyGiven
        ? {
            secretArn: read.optionalString(CONNECTION_ENV.tradingSecretArn),
            keyField: read.string(CONNECTION_ENV.tradingKeyField),
            agentIdField: read.string(CONNECTION_ENV.tradingAgentIdField),
          }
        : undefined,
  };
}
