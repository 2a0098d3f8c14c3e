import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { AGENT_SECRET_FIELDS, MODEL_AGENTS_METRICS, readModelAgentsSettings } from '../../lib/private/contracts/model-agents-env';
import { createConnectionRuntime } from '../shared/connection-runtime';
import { putEventsWith } from '../shared/events';
import { MoneyPath } from '../shared/money-path';
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

/**
 * With domainName: the domains service, with the domains account's key (its own secret: the domains service has its own
 * registry and USD balance), through a money path of its own over the connection's ledger.
 */
function domainsOf(domain: NonNullable<typeof settings.domain>) {
  const client = new PurpleFleaClient({
    services: {
      domains: {
        baseUrl: domain.domainsUrl,
        credentials: new CredentialSource(domain.keySecretArn, { apiKeyField: domain.keyField }, secretsManager, {
          secretName: 'the Purple Flea domains-key secret',
        }),
      },
    },
    requestTimeoutMs: runtime.requestTimeoutMs,
    rateLimitWindowMs: connection.rateLimitWindowMs,
  });
  return { moneyPath: new MoneyPath(runtime.ledger, client), reader: client };
}

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
  domains: settings.domain === undefined ? undefined : domainsOf(settings.domain),
  putEvents: putEventsWith(new EventBridgeClient({})),
  now: Date.now,
  logger,
  metrics,
});
