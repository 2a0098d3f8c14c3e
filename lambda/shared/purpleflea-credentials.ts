import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export interface PurpleFleaCredentials {
  readonly apiKey: string;
  /** From the secret's JSON, when it has the agent id field. */
  readonly agentIdFromSecret?: string;
}

export interface SecretFormat {
  readonly apiKeyField: string;
  readonly agentIdField: string;
}

/**
 * A SecretString that parses as a JSON object holds the key under `apiKeyField` and may hold the
 * agent id under `agentIdField`; any other string is the key itself. Errors name the field, never
 * the value.
 */
export function parseSecretString(secretString: string, format: SecretFormat): PurpleFleaCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    // A broken JSON object must not be sent whole as the key (with whatever else it holds).
    if (secretString.trim().startsWith('{')) throw new Error('the Purple Flea API-key secret looks like a JSON object but does not parse');
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const apiKey = secretString.trim();
    if (apiKey === '') throw new Error('the Purple Flea API-key secret is empty');
    return { apiKey };
  }
  const fields = parsed as { [field: string]: unknown };
  const apiKey = fields[format.apiKeyField];
  if (typeof apiKey !== 'string' || apiKey.trim() === '') {
    throw new Error(`the Purple Flea API-key secret is a JSON object without a non-empty string field "${format.apiKeyField}"`);
  }
  const agentId = fields[format.agentIdField];
  return {
    apiKey: apiKey.trim(),
    agentIdFromSecret: typeof agentId === 'string' && agentId.trim() !== '' ? agentId.trim() : undefined,
  };
}

/** Refreshing more often than this only costs Secrets Manager calls: a rotated key shows up as a 401. */
const CACHE_SECONDS = 15 * 60;

/** The API key, read once per container and cached; `refresh()` after a 401 picks up a rotated key. */
export class CredentialSource {
  private readonly provider: SecretsProvider;

  constructor(
    private readonly secretArn: string,
    private readonly format: SecretFormat,
    client: SecretsManagerClient = new SecretsManagerClient({}),
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
    return parseSecretString(value, this.format);
  }
}
