import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  AnyConnectionSettings,
  DEFAULT_REQUEST_TIMEOUT_MS,
  ServicesConnectionSettings,
  TradingKeySettings,
} from '../../lib/private/contracts/connection-env';
import { ActionLedger, connectionLedger } from './action-ledger';
import { ExecuteOnce, MoneyPath } from './money-path';
import { ApiService, GATEWAY_PROFILE, PurpleFleaApiProfile, SERVICES_PROFILE } from './purpleflea-api';
import { PurpleFleaClient, ReadApi } from './purpleflea-client';
import { connectionAgentId, CredentialSource, CredentialsProvider, TRADING_KEY_READING } from './purpleflea-credentials';

/** The AWS SDK clients the connection's runtime uses; each is a new default client when not given. */
export interface ConnectionClients {
  /** The action ledger's table. */
  readonly dynamoDb?: DynamoDBClient;
  /** The API-key secret (and the trading key's, when it is another). */
  readonly secretsManager?: SecretsManagerClient;
}

/**
 * What a money-moving handler needs of the PurpleFleaConnection, built once per container from its settings
 * (the handler's environment): the API it speaks, its keys, the action ledger, the money path over both, the
 * request timeout and the agent ids money moves from.
 */
export interface ConnectionRuntime {
  /** The connection's API profile: it builds every request and reads back what the ledger recorded. */
  readonly api: PurpleFleaApiProfile;
  /** The key of the connection's secret: the gateway's, or the casino key (escrow, casino pay, faucet) on the services. */
  readonly credentials: CredentialsProvider;
  readonly ledger: ActionLedger;
  readonly moneyPath: ExecuteOnce;
  /** Purple Flea's read routes (an escrow's state), with the same hosts and keys as the money path. */
  readonly reader: ReadApi;
  /** How long one Purple Flea request may take: the connection's requestTimeout, else DEFAULT_REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs: number;
  /**
   * The agent that acts on `service` (`api.serviceOf`; by default the connection's): the connection's agentId,
   * else the secret's agent id field (connectionAgentId); on the services profile, for trading, the trading
   * key's agent id field. Read at each call, from the cached secret. Its errors never quote a value read from
   * a secret.
   */
  agentId(service?: ApiService): Promise<string>;
}

export function createConnectionRuntime(connection: AnyConnectionSettings, clients: ConnectionClients = {}): ConnectionRuntime {
  const credentials = new CredentialSource(connection.secretArn, connection, clients.secretsManager);
  const ledger = connectionLedger(connection, clients.dynamoDb);
  const requestTimeoutMs = connection.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const agentId = () => connectionAgentId(connection, credentials);
  if (connection.profile === 'services') return servicesRuntime(connection, { credentials, ledger, requestTimeoutMs, agentId }, clients);
  const client = new PurpleFleaClient({
    baseUrl: connection.baseUrl,
    credentials,
    requestTimeoutMs,
    rateLimitWindowMs: connection.rateLimitWindowMs,
  });
  return {
    api: GATEWAY_PROFILE,
    credentials,
    ledger,
    moneyPath: new MoneyPath(ledger, client),
    reader: client,
    requestTimeoutMs,
    agentId,
  };
}

/**
 * The services profile: escrow, casino and faucet with the connection's (casino) key, trading with the trading
 * key, each on its own host. A function that does not trade is not told where the trading key is: a trade
 * request from it fails before anything is sent.
 */
function servicesRuntime(
  connection: ServicesConnectionSettings,
  common: Pick<ConnectionRuntime, 'credentials' | 'ledger' | 'requestTimeoutMs'> & { agentId: () => Promise<string> },
  clients: ConnectionClients,
): ConnectionRuntime {
  const { credentials, ledger, requestTimeoutMs } = common;
  const trading = connection.tradingKey === undefined ? undefined : tradingCredentials(connection, connection.tradingKey, clients);
  const casino = (baseUrl: string) => ({ baseUrl, credentials });
  const client = new PurpleFleaClient({
    services: {
      escrow: casino(connection.escrowUrl),
      casino: casino(connection.casinoUrl),
      faucet: casino(connection.faucetUrl),
      trading: trading && { baseUrl: connection.tradingUrl, credentials: trading },
    },
    requestTimeoutMs,
    rateLimitWindowMs: connection.rateLimitWindowMs,
  });
  return {
    api: SERVICES_PROFILE,
    credentials,
    ledger,
    moneyPath: new MoneyPath(ledger, client),
    reader: client,
    requestTimeoutMs,
    agentId: async (service) => {
      if (service !== 'trading') return common.agentId();
      if (trading === undefined) throw new Error('this function is not told where the trading key is (only the functions that trade are)');
      // TRADING_KEY_READING requires the field and checks it: the trading agent is the key's own.
      return (await trading.get()).agentIdFromSecret!;
    },
  };
}

/** The trading key: from a second secret, or from its own fields of the connection's. */
function tradingCredentials(connection: ServicesConnectionSettings, key: TradingKeySettings, clients: ConnectionClients): CredentialSource {
  return new CredentialSource(
    key.secretArn ?? connection.secretArn,
    { apiKeyField: key.keyField, agentIdField: key.agentIdField },
    clients.secretsManager,
    TRADING_KEY_READING,
  );
}
