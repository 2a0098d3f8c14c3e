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
}

/**
 * The handlers' request timeout when PF_REQUEST_TIMEOUT_MS is absent: 10 s, as the hand-written pattern. The
 * construct always writes its connection's requestTimeout, whose default is PURPLEFLEA_CONNECTION_DEFAULTS
 * (lib/private/defaults.ts); test/lambda/connection-runtime.unit.test.ts checks that the two agree.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export const CONNECTION_ENV = {
  secretArn: 'PF_SECRET_ARN',
  apiKeyField: 'PF_API_KEY_FIELD',
  agentIdField: 'PF_AGENT_ID_FIELD',
  agentId: 'PF_AGENT_ID',
  baseUrl: 'PF_BASE_URL',
  ledgerTableName: 'PF_LEDGER_TABLE',
  ledgerRetentionDays: 'PF_LEDGER_RETENTION_DAYS',
  requestTimeoutMs: 'PF_REQUEST_TIMEOUT_MS',
} as const;

export function connectionEnvironment(settings: ConnectionSettings): { [name: string]: string } {
  return compactEnvironment({
    [CONNECTION_ENV.secretArn]: settings.secretArn,
    [CONNECTION_ENV.apiKeyField]: settings.apiKeyField,
    [CONNECTION_ENV.agentIdField]: settings.agentIdField,
    [CONNECTION_ENV.agentId]: settings.agentId,
    [CONNECTION_ENV.baseUrl]: settings.baseUrl,
    [CONNECTION_ENV.ledgerTableName]: settings.ledgerTableName,
    [CONNECTION_ENV.ledgerRetentionDays]: settings.ledgerRetentionDays?.toString(),
    [CONNECTION_ENV.requestTimeoutMs]: settings.requestTimeoutMs?.toString(),
  });
}

export function readConnectionSettings(env: Environment, handlerName: string): ConnectionSettings {
  const read = new EnvironmentReader(env, handlerName);
  return {
    secretArn: read.string(CONNECTION_ENV.secretArn),
    apiKeyField: read.string(CONNECTION_ENV.apiKeyField),
    agentIdField: read.string(CONNECTION_ENV.agentIdField),
    agentId: read.optionalString(CONNECTION_ENV.agentId),
    baseUrl: read.string(CONNECTION_ENV.baseUrl),
    ledgerTableName: read.string(CONNECTION_ENV.ledgerTableName),
    ledgerRetentionDays: read.optionalNumber(CONNECTION_ENV.ledgerRetentionDays),
    requestTimeoutMs: read.optionalNumber(CONNECTION_ENV.requestTimeoutMs),
  };
}
