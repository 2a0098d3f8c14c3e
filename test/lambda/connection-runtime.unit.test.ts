/**
 * The connection's runtime (lambda/shared/connection-runtime.ts), built from its settings: the one request
 * timeout default, and the agent id money moves from. The secret is read through a Secrets Manager client
 * whose send is faked; the ledger and the API are never called.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createConnectionRuntime } from '../../lambda/shared/connection-runtime';
import { ConnectionSettings, DEFAULT_REQUEST_TIMEOUT_MS } from '../../lib/private/contracts/connection-env';
import { PURPLEFLEA_CONNECTION_DEFAULTS } from '../../lib/private/defaults';

const connection: ConnectionSettings = {
  secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:PurpleFleaApiKey',
  apiKeyField: 'key',
  agentIdField: 'agent_id',
  baseUrl: 'https://api.purpleflea.test',
  ledgerTableName: 'ActionLedger',
};

/** A Secrets Manager client whose every GetSecretValue answers `secretString`, counting the calls. */
function secretsManager(secretString: string) {
  const client = new SecretsManagerClient({ region: 'us-east-1' });
  const send = jest.spyOn(client, 'send').mockImplementation((async () => ({ SecretString: secretString, $metadata: {} })) as any);
  return { client, reads: () => send.mock.calls.length };
}

test("the handlers' request timeout when the environment has none is the construct's default requestTimeout", () => {
  expect(DEFAULT_REQUEST_TIMEOUT_MS).toBe(PURPLEFLEA_CONNECTION_DEFAULTS.requestTimeoutSeconds * 1000);
  expect(createConnectionRuntime(connection).requestTimeoutMs).toBe(DEFAULT_REQUEST_TIMEOUT_MS);
  expect(createConnectionRuntime({ ...connection, requestTimeoutMs: 4_000 }).requestTimeoutMs).toBe(4_000);
});

test("agentId(): the connection's agentId, without reading the secret", async () => {
  const secrets = secretsManager(JSON.stringify({ key: 'pf_live_key', agent_id: 'agt_from_secret' }));
  const runtime = createConnectionRuntime({ ...connection, agentId: 'agt_from_connection' }, { secretsManager: secrets.client });
  expect(await runtime.agentId()).toBe('agt_from_connection');
  expect(secrets.reads()).toBe(0);
});

test("agentId(): else the secret's agent id field, read through the runtime's credentials", async () => {
  const secrets = secretsManager(JSON.stringify({ key: 'pf_live_key', agent_id: 'agt_from_secret' }));
  const runtime = createConnectionRuntime(connection, { secretsManager: secrets.client });
  expect(await runtime.agentId()).toBe('agt_from_secret');
  expect(await runtime.credentials.get()).toEqual({ apiKey: 'pf_live_key', agentIdFromSecret: 'agt_from_secret' });
});

test('agentId(): an invalid agent id from the secret is an error that names the field, never the value', async () => {
  const secrets = secretsManager(JSON.stringify({ key: 'pf_live_key', agent_id: 'not a valid id' }));
  const runtime = createConnectionRuntime(connection, { secretsManager: secrets.client });
  const error: Error = await runtime.agentId().then(
    () => new Error('no error'),
    (thrown: Error) => thrown,
  );
  expect(error.message).toContain('the secret field "agent_id" does not hold a valid agent id');
  expect(error.message).not.toContain('not a valid id');
});

test('agentId(): an invalid agentId on the connection is named (it is in the template, not the secret)', async () => {
  const runtime = createConnectionRuntime({ ...connection, agentId: 'bad id' }, { secretsManager: secretsManager('pf_live_key').client });
  await expect(runtime.agentId()).rejects.toThrow(`the connection's agentId is not a valid agent id, got "bad id"`);
});
