/**
 * The agents' own secrets in Secrets Manager. Each is created, empty, before its agent is registered, under a name
 * made from the model version (so a repeat finds it), tagged with the model version's ARN; the key goes in once the
 * registration answers, before the outcome is recorded.
 */
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { AGENT_SECRET_FIELDS, AGENT_SECRET_MODEL_VERSION_TAG } from '../../lib/private/contracts/model-agents-env';
import { backoffDelayMs, sleep } from '../shared/backoff';

export interface AgentSecrets {
  /** The ARN of the model version's secret: created without a value, or found (with the model version's tag) if it exists. */
  ensure(name: string, modelVersionArn: string): Promise<string>;
  /** Writes the agent's key and id as the secret's value (`{"key": ..., "agent_id": ...}`). */
  putKey(secretArn: string, agentId: string, apiKey: string): Promise<void>;
}

export function agentSecretsWith(client: SecretsManagerClient, kmsKeyId: string | undefined): AgentSecrets {
  return {
    async ensure(name, modelVersionArn) {
      try {
        const created = await client.send(
          new CreateSecretCommand({
            Name: name,
            // No value: the secret has no version until the key is put, so nothing can read a placeholder as a key.
            Description: `The Purple Flea agent of ${modelVersionArn} (ModelAgents)`,
            KmsKeyId: kmsKeyId,
            Tags: [{ Key: AGENT_SECRET_MODEL_VERSION_TAG, Value: modelVersionArn }],
          }),
        );
        return created.ARN!;
      } catch (error) {
        if (!(error instanceof ResourceExistsException) && (error as Error).name !== 'ResourceExistsException') throw error;
      }
      // A repeat (or a registration retried after a refusal): the secret made before. Its tag says whose it is.
      const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
      const tag = described.Tags?.find((t) => t.Key === AGENT_SECRET_MODEL_VERSION_TAG)?.Value;
      if (tag !== modelVersionArn) {
        throw new Error(
          `the secret ${name} exists but is not the agent secret of ${modelVersionArn} (its ${AGENT_SECRET_MODEL_VERSION_TAG} tag is ${JSON.stringify(tag ?? null)}): ` +
            'nothing is registered until it is renamed or removed',
        );
      }
      return described.ARN!;
    },
    async putKey(secretArn, agentId, apiKey) {
      await client.send(
        new PutSecretValueCommand({
          SecretId: secretArn,
          SecretString: JSON.stringify({ [AGENT_SECRET_FIELDS.key]: apiKey, [AGENT_SECRET_FIELDS.agentId]: agentId }),
        }),
      );
    },
  };
}

/**
 * The key is shown once: its write is tried again (after the SDK's own retries) while the invocation has time, and
 * never logged. The error names the secret and the AWS error, not the value.
 */
export async function putKeyPersistently(
  secrets: AgentSecrets,
  secretArn: string,
  agentId: string,
  apiKey: string,
  options: { readonly deadline: number; readonly now: () => number; readonly attempts?: number },
): Promise<void> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      await secrets.putKey(secretArn, agentId, apiKey);
      return;
    } catch (error) {
      const { name, message } = error as Error;
      const delay = backoffDelayMs(attempt, 200, 2_000) + 50;
      if (attempt >= attempts || options.now() + delay > options.deadline) {
        // Only the AWS error's name and message: PutSecretValue's errors never quote the value sent.
        throw new Error(`PutSecretValue of agent ${agentId}'s key into ${secretArn} failed ${attempt} times (${name}: ${message})`, {
          cause: error,
        });
      }
      await sleep(delay);
    }
  }
}
