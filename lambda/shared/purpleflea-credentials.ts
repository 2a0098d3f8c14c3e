import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AGENT_ID_PATTERN } from './purpleflea-api';

export interface PurpleFleaCredentials {
  readonly apiKey: string;
  /** From the secret's JSON, when it has the agent id field. */
  readonly agentIdFromSecret?: string;
}

export interface SecretFormat {
  readonly apiKeyField: string;
  /** Absent for a key whose agent id is never needed (a domains account's key): nothing but the key is read. */
  readonly agentIdField?: string;
}

/** How a key is read from its secret, beyond its fields. */
export interface KeyReading {
  /** Names the secret in errors; default `the Purple Flea API-key secret`. */
  readonly secretName?: string;
  /**
   * The secret must be a JSON object holding both fields, the agent id a valid one (the services profile's
   * trading key: a plain string could only be the connection's key, and the trading agent is the key's own).
   */
  readonly fieldsRequired?: boolean;
}

/** The services profile's trading key, read from its secret (the connection's, or a second one). */
export const TRADING_KEY_READING: KeyReading = { secretName: 'the Purple Flea trading-key secret', fieldsRequired: true };

/**
 * A SecretString that parses as a JSON object holds the key under `apiKeyField` and may hold the
 * agent id under `agentIdField`; any other string is the key itself. Errors name the field, never
 * the value. The key is never the agent id: equal field names, or an agent id field holding the key
 * itself, are errors. With `fieldsRequired`, only a JSON object with both fields (and a valid agent id) will do.
 */
export function parseSecretString(secretString: string, format: SecretFormat, reading: KeyReading = {}): PurpleFleaCredentials {
  const secretName = reading.secretName ?? 'the Purple Flea API-key secret';
  if (format.agentIdField === format.apiKeyField) {
    // The construct refuses this at synth; fields given as tokens (or an edited environment) reach here.
    throw new Error(
      `${secretName}'s fields are misconfigured: agentIdField and apiKeyField both name "${format.apiKeyField}", so the key would be read as the agent id`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    // A broken JSON object must not be sent whole as the key (with whatever else it holds).
    if (secretString.trim().startsWith('{')) throw new Error(`${secretName} looks like a JSON object but does not parse`);
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    if (reading.fieldsRequired) {
      throw new Error(`${secretName} must be a JSON object with the fields "${format.apiKeyField}" and "${format.agentIdField}"`);
    }
    const apiKey = secretString.trim();
    if (apiKey === '') throw new Error(`${secretName} is empty`);
    return { apiKey };
  }
  const fields = parsed as { [field: string]: unknown };
  const apiKey = fields[format.apiKeyField];
  if (typeof apiKey !== 'string' || apiKey.trim() === '') {
    throw new Error(`${secretName} is a JSON object without a non-empty string field "${format.apiKeyField}"`);
  }
  if (format.agentIdField === undefined) {
    if (reading.fieldsRequired) throw new Error(`${secretName}: fieldsRequired needs an agent id field`);
    return { apiKey: apiKey.trim() };
  }
  const agentId = fields[format.agentIdField];
  const agentIdFromSecret = typeof agentId === 'string' && agentId.trim() !== '' ? agentId.trim() : undefined;
  if (agentIdFromSecret === apiKey.trim()) {
    throw new Error(
      `${secretName}'s field "${format.agentIdField}" holds the same value as its field "${format.apiKeyField}" (the API key): it is not read as the agent id`,
    );
  }
  if (reading.fieldsRequired && agentIdFromSecret === undefined) {
    throw new Error(`${secretName} is a JSON object without a non-empty string field "${format.agentIdField}"`);
  }
  if (reading.fieldsRequired && !AGENT_ID_PATTERN.test(agentIdFromSecret!)) {
    throw new Error(
      `${secretName}'s field "${format.agentIdField}" does not hold a valid agent id (its value is not shown: it comes from the secret)`,
    );
  }
  return { apiKey: apiKey.trim(), agentIdFromSecret };
}

/**
 * The agent id money moves from: the connection's `agentId`, else the secret's agent id field. An
 * invalid one is an error that quotes the connection's value (it is in the template, not secret) but
 * never a value read from the secret.
 */
export async function connectionAgentId(
  connection: { readonly agentId?: string; readonly agentIdField: string },
  credentials: Pick<CredentialsProvider, 'get'>,
): Promise<string> {
  if (connection.agentId !== undefined) {
    if (!AGENT_ID_PATTERN.test(connection.agentId)) {
      throw new Error(`the connection's agentId is not a valid agent id, got ${JSON.stringify(connection.agentId)}`);
    }
    return connection.agentId;
  }
  const fromSecret = (await credentials.get()).agentIdFromSecret;
  if (fromSecret === undefined) {
    throw new Error(`no agent id: set agentId on the PurpleFleaConnection, or put it in the secret field "${connection.agentIdField}"`);
  }
  if (!AGENT_ID_PATTERN.test(fromSecret)) {
    throw new Error(
      `the secret field "${connection.agentIdField}" does not hold a valid agent id (its value is not shown: it comes from the secret); fix it, or set agentId on the PurpleFleaConnection`,
    );
  }
  return fromSecret;
}

/** Refreshing more often than this only costs Secrets Manager calls: a rotated key shows up as a 401. */
const CACHE_SECONDS = 15 * 60;

/** Where the API key comes from: `refresh()` after a 401 must pick up a rotated key. */
export interface CredentialsProvider {
  get(): Promise<PurpleFleaCredentials>;
  refresh(): Promise<PurpleFleaCredentials>;
}

/** The API key, read once per container and cached; `refresh()` after a 401 picks up a rotated key. */
export class CredentialSource implements CredentialsProvider {
  private readonly provider: SecretsProvider;

  constructor(
    private readonly secretArn: string,
    private readonly format: SecretFormat,
    client: SecretsManagerClient = new SecretsManagerClient({}),
    private readonly reading: KeyReading = {},
  ) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
  }

  get(): Promise<PurpleFleaCredentials> {
    return this.read(false);
  }

  refresh(): Promise<PurpleFleaCredentials> {
    return this.read(true);
  }

  private async read(forceFetch: boolean): Promise<PurpleFleaCredentials> {
    const value = await this.provider.get(this.secretArn, { maxAge: CACHE_SECONDS, forceFetch });
    if (typeof value !== 'string') {
      throw new Error(`secret ${this.secretArn} has no SecretString (binary secrets are not supported)`);
    }
    return parseSecretString(value, this.format, this.reading);
  }
}
