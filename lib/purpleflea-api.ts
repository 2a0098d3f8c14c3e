import { PURPLEFLEA_API_DEFAULTS } from './private/defaults';
import { API_URL_RULE, isAllowedApiUrl, trimTrailingSlashes } from './private/urls';
import { PropsValidator } from './private/validation';

/** Which of Purple Flea's two APIs a connection speaks. */
export enum PurpleFleaApiProfile {
  /**
   * One host, the gateway of the hand-written pattern: `POST /trading/order`, `/escrow/create`,
   * `/wallet/transfer`, one key.
   */
  GATEWAY = 'GATEWAY',
  /**
   * Purple Flea's published services, each on its own host: escrow, casino (agent-to-agent pay), trading and
   * faucet, with a casino key and a trading key.
   */
  SERVICES = 'SERVICES',
}

/** Where the gateway is. */
export interface GatewayApiOptions {
  /**
   * The gateway's base URL. Must be https; plain http is accepted only to a loopback address
   * (127.0.0.0/8, localhost, [::1]), for tests. Trailing slashes are removed.
   * @default 'https://api.purpleflea.com'
   */
  readonly baseUrl?: string;
}

/**
 * Where each of Purple Flea's published services is. Each URL must be https; plain http is accepted only to
 * a loopback address (127.0.0.0/8, localhost, [::1]), for tests. Trailing slashes are removed.
 */
export interface ServicesApiOptions {
  /**
   * The escrow service (its paths start at the root: `/escrow/create`).
   * @default 'https://escrow.purpleflea.com'
   */
  readonly escrowUrl?: string;

  /**
   * The casino's API, with its prefix: agents pay each other here (`/stats/pay`), and the casino key's
   * balance and ledger are here.
   * @default 'https://casino.purpleflea.com/api/v1'
   */
  readonly casinoUrl?: string;

  /**
   * The trading service's API, with its prefix (`/trade/open`).
   * @default 'https://trading.purpleflea.com/v1'
   */
  readonly tradingUrl?: string;

  /**
   * The faucet (its paths start at the root: `/faucet/claim`).
   * @default 'https://faucet.purpleflea.com'
   */
  readonly faucetUrl?: string;

  /**
   * The domains service's API, with its prefix (`/domains/register`): only ModelAgents' optional domain registration
   * (`domainName`) calls it, with a domains account's own key.
   * @default 'https://domains.purpleflea.com/v1'
   */
  readonly domainsUrl?: string;
}

/**
 * Which Purple Flea API a {@link PurpleFleaConnection} speaks, and where it is: the gateway (the default) or
 * Purple Flea's published services. A connection speaks exactly one; switching is one prop of the connection
 * (`api`). The URLs are checked when the factory is called: https, or plain http to loopback only; a URL that
 * is a CDK token is used as it is.
 */
export class PurpleFleaApi {
  /**
   * The gateway: one host, the routes of the hand-written pattern, one key.
   */
  public static gateway(options: GatewayApiOptions = {}): PurpleFleaApi {
    new PropsValidator('PurpleFleaApi.gateway()').string('baseUrl', options.baseUrl, isAllowedApiUrl, API_URL_RULE).throwIfInvalid();
    return new PurpleFleaApi(PurpleFleaApiProfile.GATEWAY, trimTrailingSlashes(options.baseUrl ?? PURPLEFLEA_API_DEFAULTS.baseUrl));
  }

  /**
   * Purple Flea's published services, each on its own host: escrows on the escrow service, agent-to-agent
   * payments on the casino, trades on the trading service. The casino key (escrow, pay, faucet) and the
   * trading key are separate; the connection says where each is.
   */
  public static services(options: ServicesApiOptions = {}): PurpleFleaApi {
    new PropsValidator('PurpleFleaApi.services()')
      .string('escrowUrl', options.escrowUrl, isAllowedApiUrl, API_URL_RULE)
      .string('casinoUrl', options.casinoUrl, isAllowedApiUrl, API_URL_RULE)
      .string('tradingUrl', options.tradingUrl, isAllowedApiUrl, API_URL_RULE)
      .string('faucetUrl', options.faucetUrl, isAllowedApiUrl, API_URL_RULE)
      .string('domainsUrl', options.domainsUrl, isAllowedApiUrl, API_URL_RULE)
      .throwIfInvalid();
    return new PurpleFleaApi(
      PurpleFleaApiProfile.SERVICES,
      undefined,
      trimTrailingSlashes(options.escrowUrl ?? PURPLEFLEA_API_DEFAULTS.escrowUrl),
      trimTrailingSlashes(options.casinoUrl ?? PURPLEFLEA_API_DEFAULTS.casinoUrl),
      trimTrailingSlashes(options.tradingUrl ?? PURPLEFLEA_API_DEFAULTS.tradingUrl),
      trimTrailingSlashes(options.faucetUrl ?? PURPLEFLEA_API_DEFAULTS.faucetUrl),
      trimTrailingSlashes(options.domainsUrl ?? PURPLEFLEA_API_DEFAULTS.domainsUrl),
    );
  }

  /** Which API: the gateway or the services. */
  public readonly profile: PurpleFleaApiProfile;
  /** The gateway's base URL, without a trailing slash (the gateway only). */
  public readonly baseUrl?: string;
  /** The escrow service, without a trailing slash (the services only). */
  public readonly escrowUrl?: string;
  /** The casino's API, without a trailing slash (the services only). */
  public readonly casinoUrl?: string;
  /** The trading service's API, without a trailing slash (the services only). */
  public readonly tradingUrl?: string;
  /** The faucet, without a trailing slash (the services only). */
  public readonly faucetUrl?: string;
  /** The domains service's API, without a trailing slash (the services only). */
  public readonly domainsUrl?: string;

  private constructor(
    profile: PurpleFleaApiProfile,
    baseUrl?: string,
    escrowUrl?: string,
    casinoUrl?: string,
    tradingUrl?: string,
    faucetUrl?: string,
    domainsUrl?: string,
  ) {
    this.profile = profile;
    this.baseUrl = baseUrl;
    this.escrowUrl = escrowUrl;
    this.casinoUrl = casinoUrl;
    this.tradingUrl = tradingUrl;
    this.faucetUrl = faucetUrl;
    this.domainsUrl = domainsUrl;
  }
}
