/**
 * The connection's runtime on the services profile (lambda/shared/connection-runtime.ts): the services profile's
 * requests, the casino key's agent for escrow and pay, the trading key's agent for trading (from the connection's
 * secret or a second one), and clear errors for a function not told where the trading key is. Secrets Manager's
 * send is faked; the ledger and the API are never called.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createConnectionRuntime } from '../../lambda/shared/connection-runtime';
import { GATEWAY_PROFILE, SERVICES_PROFILE } from '../../lambda/shared/purpleflea-api';
import { ServicesConnectionSettings } from '../../lib/private/contracts/connection-env';

const CONNECTION_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:PurpleFleaKeys';
const TRADING_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:PurpleFleaTradingKey';

const connection: ServicesConnectionSettings = {
  profile: 'services',
  secretArn: CONNECTION_SECRET,
  apiKeyField: 'key',
  agentIdField: 'agent_id',
  escrowUrl: 'https://escrow.purpleflea.test',
  casinoUrl: 'https://casino.purpleflea.test/api/v1',
  tradingUrl: 'https://trading.purpleflea.test/v1',
  faucetUrl: 'https://faucet.purpleflea.test',
  ledgerTableName: 'ActionLedger',
};
const tradingKey = { keyField: 'trading_key', agentIdField: 'trading_agent_id' };

/** A Secrets Manager client answering each secret id from `secrets`, counting reads per id. */
function secretsManager(secrets: { [arn: string]: object }) {
  const client = new SecretsManagerClient({ region: 'us-east-1' });
  const reads: string[] = [];
  jest.spyOn(client, 'send').mockImplementation((async (command: GetSecretValueCommand) => {
    const id = command.input.SecretId!;
    reads.push(id);
    return { SecretString: JSON.stringify(secrets[id]), $metadata: {} };
  }) as any);
  return { client, reads };
}

const keys = { key: 'sk_live_casino', agent_id: 'ag_aaaaaaaaaaaa', trading_key: 'sk_trade_trading', trading_agent_id: 'ag_bbbbbbbbbbbb' };

test('the services profile: its requests, the casino agent for escrow and pay, the trading agent for trading', async () => {
  const secrets = secretsManager({ [CONNECTION_SECRET]: keys });
  const runtime = createConnectionRuntime({ ...connection, tradingKey }, { secretsManager: secrets.client });
  expect(runtime.api).toBe(SERVICES_PROFILE);
  expect(await runtime.agentId()).toBe('ag_aaaaaaaaaaaa');
  expect(await runtime.agentId(runtime.api.serviceOf.escrow)).toBe('ag_aaaaaaaaaaaa');
  expect(await runtime.agentId(runtime.api.serviceOf.transfer)).toBe('ag_aaaaaaaaaaaa');
  expect(await runtime.agentId(runtime.api.serviceOf.trade)).toBe('ag_bbbbbbbbbbbb');
  expect(await runtime.credentials.get()).toEqual({ apiKey: 'sk_live_casino', agentIdFromSecret: 'ag_aaaaaaaaaaaa' });
});

test("the connection's agentId names the casino agent; the trading agent is always the trading key's", async () => {
  const secrets = secretsManager({ [CONNECTION_SECRET]: keys });
  const runtime = createConnectionRuntime({ ...connection, agentId: 'ag_cccccccccccc', tradingKey }, { secretsManager: secrets.client });
  expect(await runtime.agentId()).toBe('ag_cccccccccccc');
  expect(await runtime.agentId('trading')).toBe('ag_bbbbbbbbbbbb');
});

test('the trading key from a second secret (PF_TRADING_SECRET_ARN)', async () => {
  const secrets = secretsManager({
    [CONNECTION_SECRET]: { key: 'sk_live_casino', agent_id: 'ag_aaaaaaaaaaaa' },
    [TRADING_SECRET]: { trading_key: 'sk_trade_trading', trading_agent_id: 'ag_bbbbbbbbbbbb' },
  });
  const runtime = createConnectionRuntime(
    { ...connection, tradingKey: { ...tradingKey, secretArn: TRADING_SECRET } },
    { secretsManager: secrets.client },
  );
  expect(await runtime.agentId('trading')).toBe('ag_bbbbbbbbbbbb');
  expect(secrets.reads).toEqual([TRADING_SECRET]);
});

test('a function not told where the trading key is cannot name the trading agent; a missing field is named, never a value', async () => {
  const secrets = secretsManager({ [CONNECTION_SECRET]: { key: 'sk_live_casino', agent_id: 'ag_aaaaaaaaaaaa' } });
  await expect(createConnectionRuntime(connection, { secretsManager: secrets.client }).agentId('trading')).rejects.toThrow(
    'this function is not told where the trading key is',
  );
  const error: Error = await createConnectionRuntime({ ...connection, tradingKey }, { secretsManager: secrets.client })
    .agentId('trading')
    .then(
      () => new Error('no error'),
      (thrown: Error) => thrown,
    );
  expect(error.message).toBe('the Purple Flea trading-key secret is a JSON object without a non-empty string field "trading_key"');
  expect(error.message).not.toContain('sk_live_casino');
});

test('the gateway connection is as before: the gateway profile, one agent for every action', async () => {
  const secrets = secretsManager({ [CONNECTION_SECRET]: { key: 'pf_live_key', agent_id: 'agt_gateway' } });
  const runtime = createConnectionRuntime(
    {
      secretArn: CONNECTION_SECRET,
      apiKeyField: 'key',
      agentIdField: 'agent_id',
      baseUrl: 'https://api.purpleflea.test',
      ledgerTableName: 'ActionLedger',
    },
    { secretsManager: secrets.client },
  );
  expect(runtime.api).toBe(GATEWAY_PROFILE);
  expect(await runtime.agentId()).toBe('agt_gateway');
  expect(await runtime.agentId(runtime.api.serviceOf.trade)).toBe('agt_gateway');
});
