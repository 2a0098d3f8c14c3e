import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConnectionSettings, DEFAULT_REQUEST_TIMEOUT_MS } from '../../lib/private/contracts/connection-env';
import { ActionLedger, connectionLedger } from './action-ledger';
import { ExecuteOnce, MoneyPath } from './money-path';
import { PurpleFleaClient } from './purpleflea-client';
import { connectionAgentId, CredentialSource, CredentialsProvider } from './purpleflea-credentials';

/** The AWS SDK clients the connection's runtime uses; each is a new default client when not given. */
export interface ConnectionClients {
  /** The action ledger's table. */
  readonly dynamoDb?: DynamoDBClient;
  /** The API-key secret. */
  readonly secretsManager?: SecretsManagerClient;
}

/**
 * What a money-moving handler needs of the PurpleFleaConnection, built once per container from its settings
 * (the handler's environment): the API key, the action ledger, the money path over both, the request timeout
 * and the agent id money moves from.
 */
export interface ConnectionRuntime {
  readonly credentials: CredentialsProvider;
  readonly ledger: ActionLedger;
  readonly moneyPath: ExecuteOnce;
  /** How long one Purple Flea request may take: the connection's requestTimeout, else DEFAULT_REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs: number;
  /**
   * The connection's agentId, else the secret's agent id field (connectionAgentId): read at each call, from
   * the cached secret. Its errors never quote a value read from the secret.
   */
  agentId(): Promise<string>;
}

export function createConnectionRuntime(connection: ConnectionSettings, clients: ConnectionClients = {}): ConnectionRuntime {
  const credentials = new CredentialSource(connection.secretArn, connection, clients.secretsManager);
  const ledger = connectionLedger(connection, clients.dynamoDb);
  const requestTimeoutMs = connection.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  return {
    credentials,
    ledger,
    moneyPath: new MoneyPath(ledger, new PurpleFleaClient({ baseUrl: connection.baseUrl, credentials, requestTimeoutMs })),
    requestTimeoutMs,
    agentId: () => connectionAgentId(connection, credentials),
  };
}
