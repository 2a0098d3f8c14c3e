import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { AGENT_SECRET_FIELDS, MODEL_AGENTS_METRICS, readModelAgentsSettings } from '../../lib/private/contracts/model-agents-env';
import { createConnectionRuntime } from '../shared/connection-runtime';
import { putEventsWith } from '../shared/events';
import { createObservability } from '../shared/observability';
import { PurpleFleaClient } from '../shared/purpleflea-client';
import { CredentialSource } from '../shared/purpleflea-credentials';
import { agentSecretsWith } from './agent-secrets';
import { createModelAgentsHandler } from './handler';

// Read and checked once per container: a missing variable fails the cold start with its name.
const settings = readModelAgentsSettings(process.env);
const connection = readConnectionSettings(process.env, 'ModelAgents', { servicesProfile: true });
if (connection.profile !== 'services') {
  throw new Error(
    'ModelAgents: the connection must speak the services profile (PF_API_PROFILE=services): the gateway documents no agent registration',
  );
}
const { logger, metrics } = createObservability(MODEL_AGENTS_METRICS.functionNameDimension);
// Throttling and 5xx from Secrets Manager are retried by the SDK before the handler's own retries of the key's write.
const secretsManager = new SecretsManagerClient({ maxAttempts: 3 });
const runtime = createConnectionRuntime(connection, { secretsManager });

export const handler = createModelAgentsHandler({
  settings,
  runtime,
  secrets: agentSecretsWith(secretsManager, settings.secretKmsKeyId),
  agentReader: (secretArn) =>
    new PurpleFleaClient({
      services: {
        casino: {
          baseUrl: connection.casinoUrl,
          credentials: new CredentialSource(
            secretArn,
            { apiKeyField: AGENT_SECRET_FIELDS.key, agentIdField: AGENT_SECRET_FIELDS.agentId },
            secretsManager,
            { secretName: "the model agent's secret", fieldsRequired: true },
          ),
        },
      },
      requestTimeoutMs: runtime.requestTimeoutMs,
    }),
  putEvents: putEventsWith(new EventBridgeClient({})),
  now: Date.now,
  logger,
  metrics,
});
