import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PurpleFleaApi, PurpleFleaApiProfile, PurpleFleaConnection, PurpleFleaConnectionProps } from '../../lib';
import { connectionEnvironmentOf } from '../../lib/private/handler-environment';
import { ACTION_KINDS } from '../../lib/private/contracts/action-keys';
import { CONNECTION_ENV, connectionEnvironment, readApiProfile, readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { LEDGER_ATTENTION_INDEX, LEDGER_PARTITION_KEY, LEDGER_TTL_ATTRIBUTE } from '../../lib/private/contracts/ledger-schema';
import { grantActionAccess } from '../../lib/private/ledger-access';
import { ACCOUNT, REGION, arnWithPartition, newConnection, newStack, sortStatements } from './fixtures';

describe('PurpleFleaConnection: the ledger table', () => {
  test('is on-demand, has point-in-time recovery, is retained, and does not expire records by default', () => {
    const stack = newStack();
    newConnection(stack);
    const template = Template.fromStack(stack);

    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: LEDGER_PARTITION_KEY, KeyType: 'HASH' }],
        AttributeDefinitions: [
          { AttributeName: LEDGER_PARTITION_KEY, AttributeType: 'S' },
          { AttributeName: LEDGER_ATTENTION_INDEX.partitionKey, AttributeType: 'S' },
          { AttributeName: LEDGER_ATTENTION_INDEX.sortKey, AttributeType: 'N' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: Match.absent(),
      },
    });
  });

  test('has the sparse attention index the operator command queries, with what `list` shows projected', () => {
    const stack = newStack();
    newConnection(stack);

    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [
        {
          IndexName: 'attention',
          KeySchema: [
            { AttributeName: 'attention', KeyType: 'HASH' },
            { AttributeName: 'attentionAt', KeyType: 'RANGE' },
          ],
          Projection: {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: ['state', 'amountUsdc', 'attempts', 'error', 'response', 'leaseExpiresAt', 'createdAt', 'updatedAt'],
          },
        },
      ],
    });
  });

  test('expires records on the TTL attribute when ledgerRetention is given', () => {
    const stack = newStack();
    const connection = newConnection(stack, { ledgerRetention: Duration.days(400) });

    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: LEDGER_TTL_ATTRIBUTE, Enabled: true },
    });
    expect(connectionEnvironmentOf(connection)[CONNECTION_ENV.ledgerRetentionDays]).toBe('400');
  });

  test('an existing ledger table is used, and none is created', () => {
    const stack = newStack();
    const existing = dynamodb.Table.fromTableName(stack, 'Existing', 'my-ledger');
    const connection = newConnection(stack, { ledgerTable: existing });
    connection.grantActionAccess(new iam.Role(stack, 'Grantee', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));

    Template.fromStack(stack).resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(connection.ledgerTable).toBe(existing);
    expect(connectionEnvironmentOf(connection)[CONNECTION_ENV.ledgerTableName]).toBe('my-ledger');
  });
});

describe('PurpleFleaConnection: grantActionAccess', () => {
  function grantToRole(connectionProps: Partial<PurpleFleaConnectionProps> = {}, apiKeySecret?: (stack: Stack) => secretsmanager.ISecret) {
    const stack = newStack();
    const connection = newConnection(stack, { ...connectionProps, ...(apiKeySecret ? { apiKeySecret: apiKeySecret(stack) } : {}) });
    const role = new iam.Role(stack, 'Grantee', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    connection.grantActionAccess(role);
    const template = Template.fromStack(stack);
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    expect(policies).toHaveLength(1);
    expect(policies[0].Properties.Roles).toEqual([{ Ref: stack.getLogicalId(role.node.defaultChild as iam.CfnRole) }]);
    return { stack, connection, statements: sortStatements(policies[0].Properties.PolicyDocument.Statement) };
  }

  test('grants read of the one secret and GetItem/UpdateItem on the ledger table (what the money path calls; no PutItem), nothing else', () => {
    const { stack, connection, statements } = grantToRole();
    const tableId = stack.getLogicalId(connection.ledgerTable.node.defaultChild as dynamodb.CfnTable);

    expect(statements).toEqual(
      sortStatements([
        {
          Effect: 'Allow',
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          // The name-imported secret's ARN with Secrets Manager's random six-character suffix.
          Resource: arnWithPartition(`:secretsmanager:${REGION}:${ACCOUNT}:secret:PurpleFleaApiKey-??????`),
        },
        {
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
        },
      ]),
    );
  });

  test('a secret imported by its complete ARN is granted on exactly that ARN', () => {
    const arn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:PurpleFleaApiKey-AbCdEf`;
    const { statements } = grantToRole({}, (stack) => secretsmanager.Secret.fromSecretCompleteArn(stack, 'Complete', arn));
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      Resource: arn,
    });
    expect(JSON.stringify(statements.filter((s) => String(s.Action).includes('secretsmanager')))).not.toContain('??????');
  });

  test('an existing ledger table is granted on its own ARN', () => {
    const stack = newStack();
    const { statements } = grantToRole({ ledgerTable: dynamodb.Table.fromTableName(stack, 'X', 'my-ledger') });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Resource: arnWithPartition(`:dynamodb:${REGION}:${ACCOUNT}:table/my-ledger`),
    });
  });

  test('a ledger table with a customer managed key: the key is granted too, for encrypting and decrypting', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'LedgerKey');
    const connection = newConnection(stack, {
      ledgerTable: dynamodb.Table.fromTableAttributes(stack, 'Encrypted', { tableName: 'my-ledger', encryptionKey: key }),
    });
    const role = new iam.Role(stack, 'Grantee', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    connection.grantActionAccess(role);
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
      (p: any) => p.Properties.PolicyDocument.Statement,
    );
    expect(sortStatements(statements.filter((s) => JSON.stringify(s.Action).includes('kms:')))).toEqual([
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
        Resource: { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] },
      },
    ]);
  });
});

describe('PurpleFleaConnection: the handler environment', () => {
  test('carries the secret ARN, fields, agent id, base URL and table, and reads back through the contract', () => {
    const stack = newStack();
    const secretArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:PurpleFleaApiKey-AbCdEf`;
    const connection = newConnection(stack, {
      apiKeySecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Complete', secretArn),
      agentId: 'agt_model_42',
      apiKeyField: 'api_key',
      agentIdField: 'agent',
      baseUrl: 'https://gateway.example.com/v1/',
      ledgerTable: dynamodb.Table.fromTableName(stack, 'Existing', 'my-ledger'),
    });
    const env = stack.resolve(connectionEnvironmentOf(connection));

    expect(readConnectionSettings(env, 'test')).toEqual({
      // The ARN, never the value.
      secretArn,
      apiKeyField: 'api_key',
      agentIdField: 'agent',
      agentId: 'agt_model_42',
      // Without the trailing slash, so the client can append paths.
      baseUrl: 'https://gateway.example.com/v1',
      ledgerTableName: 'my-ledger',
      ledgerRetentionDays: undefined,
      requestTimeoutMs: 10_000,
      profile: 'gateway',
    });
  });

  test('defaults: key, agent_id, the public API, no agent id, no retention', () => {
    const stack = newStack();
    const connection = newConnection(stack);
    const env = stack.resolve(connectionEnvironmentOf(connection));

    expect(env[CONNECTION_ENV.apiKeyField]).toBe('key');
    expect(env[CONNECTION_ENV.agentIdField]).toBe('agent_id');
    expect(env[CONNECTION_ENV.baseUrl]).toBe(PurpleFleaConnection.DEFAULT_BASE_URL);
    expect(env).not.toHaveProperty(CONNECTION_ENV.agentId);
    expect(env).not.toHaveProperty(CONNECTION_ENV.ledgerRetentionDays);
    expect(env[CONNECTION_ENV.requestTimeoutMs]).toBe('10000');
  });

  test('requestTimeout reaches the handler in milliseconds', () => {
    const stack = newStack();
    const connection = newConnection(stack, { requestTimeout: Duration.seconds(4) });
    expect(stack.resolve(connectionEnvironmentOf(connection))[CONNECTION_ENV.requestTimeoutMs]).toBe('4000');
  });
});

describe('PurpleFleaConnection: validation', () => {
  const build = (props: Partial<PurpleFleaConnectionProps>) => () => newConnection(newStack(), props);

  test('agentId must be a valid agent id', () => {
    expect(build({ agentId: 'agt bad!' })).toThrow(/PurpleFleaConnection 'PurpleFlea': agentId must match .*, got "agt bad!"/);
  });

  test('baseUrl must be https, or http only to loopback', () => {
    expect(build({ baseUrl: 'http://api.purpleflea.com' })).toThrow(/baseUrl must be an https URL .*, got "http:\/\/api.purpleflea.com"/);
  });

  test.each(['https://api.purpleflea.com', 'http://127.0.0.1:8080', 'http://127.3.2.1', 'http://localhost:3000/api', 'http://[::1]:9000'])(
    'baseUrl %s is accepted',
    (baseUrl) => {
      expect(build({ baseUrl })).not.toThrow();
    },
  );

  test.each([
    'http://localhost.example.com',
    'http://127.0.0.1.nip.io',
    'ftp://127.0.0.1',
    'https://user:pw@api.purpleflea.com',
    'not a url',
  ])('baseUrl %s is rejected', (baseUrl) => {
    expect(build({ baseUrl })).toThrow(/baseUrl must be an https URL/);
  });

  test('apiKeyField must not be empty', () => {
    expect(build({ apiKeyField: '' })).toThrow(/apiKeyField must not be empty, got ""/);
  });

  test('agentIdField must not be empty', () => {
    expect(build({ agentIdField: '' })).toThrow(/agentIdField must not be empty, got ""/);
  });

  test('finding 8: agentIdField may not name the field of the key (the key would become the agent id)', () => {
    const refused =
      /agentIdField must not name the API key's field \(apiKeyField\): the key would be read as the agent id, got agentIdField "(\w+)" and apiKeyField "\1"/;
    expect(build({ apiKeyField: 'token', agentIdField: 'token' })).toThrow(refused);
    // Against each other's default too.
    expect(build({ agentIdField: 'key' })).toThrow(/got agentIdField "key" and apiKeyField "key"/);
    expect(build({ apiKeyField: 'agent_id' })).toThrow(/got agentIdField "agent_id" and apiKeyField "agent_id"/);
    // Even with agentId given (the field is then not read, but a later change of agentId must not make it so).
    expect(build({ apiKeyField: 'token', agentIdField: 'token', agentId: 'agt_trader' })).toThrow(refused);
    expect(build({ apiKeyField: 'token', agentIdField: 'agent' })).not.toThrow();
  });

  test('finding 8: field names that are tokens are not compared at synth (the handler refuses them)', () => {
    const stack = newStack();
    const field = new CfnParameter(stack, 'Field').valueAsString;
    expect(() => newConnection(stack, { apiKeyField: field, agentIdField: field })).not.toThrow();
  });

  test('ledgerRetention must be at least 35 days', () => {
    expect(build({ ledgerRetention: Duration.days(7) })).toThrow(/ledgerRetention must be at least 35 days.*, got 7 days/);
  });

  test('requestTimeout must be between 1 and 30 seconds', () => {
    expect(build({ requestTimeout: Duration.minutes(2) })).toThrow(/requestTimeout must be between 1 second and 30 seconds, got 2 minutes/);
  });

  test('every problem is reported in one error', () => {
    expect(build({ agentId: '-x', baseUrl: 'http://example.com', apiKeyField: '' })).toThrow(
      /PurpleFleaConnection 'PurpleFlea' has 3 invalid props:\n {2}- agentId.*\n {2}- baseUrl.*\n {2}- apiKeyField/,
    );
  });
});

/** The connection's variables, resolved, of a function that trades or not. */
function resolvedEnvironment(connection: PurpleFleaConnection, trades = false): { [name: string]: any } {
  return Stack.of(connection).resolve(connectionEnvironmentOf(connection, { trades }));
}

const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:PurpleFleaApiKey-AbCdEf`;
const TRADING_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:PurpleFleaTradingKey-GhIjKl`;

/** A connection on the services profile, its secrets imported by their complete ARNs. */
function servicesConnection(props: Partial<PurpleFleaConnectionProps> = {}, stack = newStack()): PurpleFleaConnection {
  return newConnection(stack, {
    apiKeySecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Complete', SECRET_ARN),
    ledgerTable: dynamodb.Table.fromTableName(stack, 'Existing', 'my-ledger'),
    api: PurpleFleaApi.services(),
    ...props,
  });
}

describe('PurpleFleaConnection: the API profile', () => {
  test('the gateway by default: api is PurpleFleaApi.gateway(), at baseUrl; no trading key', () => {
    const connection = newConnection(newStack(), { baseUrl: 'https://gateway.example.com/' });
    expect(connection.api.profile).toBe(PurpleFleaApiProfile.GATEWAY);
    expect(connection.api.baseUrl).toBe('https://gateway.example.com');
    expect(connection.baseUrl).toBe('https://gateway.example.com');
    expect([connection.tradingKeySecret, connection.tradingKeyField, connection.tradingAgentIdField]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  test('the services: their URLs, no base URL, the trading key in the same secret by default', () => {
    const connection = servicesConnection();
    expect(connection.api.profile).toBe(PurpleFleaApiProfile.SERVICES);
    expect(connection.baseUrl).toBeUndefined();
    expect([connection.tradingKeySecret, connection.tradingKeyField, connection.tradingAgentIdField]).toEqual([
      undefined,
      'trading_key',
      'trading_agent_id',
    ]);
  });
});

describe('PurpleFleaConnection: the environment of each profile', () => {
  /** The variables of before profiles existed, in their order (a template that does not change for the default). */
  const GATEWAY_VARIABLES = [
    'PF_SECRET_ARN',
    'PF_API_KEY_FIELD',
    'PF_AGENT_ID_FIELD',
    'PF_BASE_URL',
    'PF_LEDGER_TABLE',
    'PF_REQUEST_TIMEOUT_MS',
  ];

  test('the gateway, by default or given as api: exactly the variables of before profiles, for every function', () => {
    const byDefault = newConnection(newStack());
    const given = newConnection(newStack(), { api: PurpleFleaApi.gateway() });
    for (const connection of [byDefault, given]) {
      for (const trades of [false, true]) {
        const env = resolvedEnvironment(connection, trades);
        expect(Object.keys(env)).toEqual(GATEWAY_VARIABLES);
        expect(env).toEqual(resolvedEnvironment(byDefault));
        expect(env[CONNECTION_ENV.baseUrl]).toBe('https://api.purpleflea.com');
      }
    }
  });

  test('the gateway at a base URL: the same with baseUrl or with api: PurpleFleaApi.gateway({ baseUrl })', () => {
    const withProp = resolvedEnvironment(newConnection(newStack(), { baseUrl: 'https://gateway.example.com/v1/' }));
    const withApi = resolvedEnvironment(
      newConnection(newStack(), { api: PurpleFleaApi.gateway({ baseUrl: 'https://gateway.example.com/v1/' }) }),
    );
    expect(withApi).toEqual(withProp);
    expect(withApi[CONNECTION_ENV.baseUrl]).toBe('https://gateway.example.com/v1');
  });

  test('the services: the profile and the four URLs, no base URL; the trading key only for a function that trades', () => {
    const connection = servicesConnection();
    const common = {
      PF_SECRET_ARN: SECRET_ARN,
      PF_API_KEY_FIELD: 'key',
      PF_AGENT_ID_FIELD: 'agent_id',
      PF_LEDGER_TABLE: 'my-ledger',
      PF_REQUEST_TIMEOUT_MS: '10000',
      PF_API_PROFILE: 'services',
      PF_ESCROW_URL: 'https://escrow.purpleflea.com',
      PF_CASINO_URL: 'https://casino.purpleflea.com/api/v1',
      PF_TRADING_URL: 'https://trading.purpleflea.com/v1',
      PF_FAUCET_URL: 'https://faucet.purpleflea.com',
    };
    expect(resolvedEnvironment(connection)).toEqual(common);
    // The trading key is in the API-key secret: no second ARN.
    expect(resolvedEnvironment(connection, true)).toEqual({
      ...common,
      PF_TRADING_KEY_FIELD: 'trading_key',
      PF_TRADING_AGENT_ID_FIELD: 'trading_agent_id',
    });
  });

  test('the services with a trading secret and fields: its ARN (never its value) and the fields, for a function that trades', () => {
    const stack = newStack();
    const connection = servicesConnection(
      {
        api: PurpleFleaApi.services({ tradingUrl: 'http://127.0.0.1:4003/v1/' }),
        tradingKeySecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Trading', TRADING_SECRET_ARN),
        tradingKeyField: 'key',
        tradingAgentIdField: 'agent_id',
      },
      stack,
    );
    const env = resolvedEnvironment(connection, true);
    expect(env).toMatchObject({
      PF_TRADING_URL: 'http://127.0.0.1:4003/v1',
      PF_TRADING_SECRET_ARN: TRADING_SECRET_ARN,
      PF_TRADING_KEY_FIELD: 'key',
      PF_TRADING_AGENT_ID_FIELD: 'agent_id',
    });
    expect(
      Object.keys(resolvedEnvironment(connection)).filter((name) => name.startsWith('PF_TRADING_') && name !== 'PF_TRADING_URL'),
    ).toEqual([]);
  });

  test('read back by a handler that speaks the services profile and trades: the same settings', () => {
    const stack = newStack();
    const connection = servicesConnection(
      { agentId: 'ag_0123456789ab', tradingKeySecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Trading', TRADING_SECRET_ARN) },
      stack,
    );
    const env = resolvedEnvironment(connection, true);
    expect(readConnectionSettings(env, 'test', { servicesProfile: true, trades: true })).toEqual({
      profile: 'services',
      secretArn: SECRET_ARN,
      apiKeyField: 'key',
      agentIdField: 'agent_id',
      agentId: 'ag_0123456789ab',
      ledgerTableName: 'my-ledger',
      ledgerRetentionDays: undefined,
      requestTimeoutMs: 10_000,
      escrowUrl: 'https://escrow.purpleflea.com',
      casinoUrl: 'https://casino.purpleflea.com/api/v1',
      tradingUrl: 'https://trading.purpleflea.com/v1',
      faucetUrl: 'https://faucet.purpleflea.com',
      tradingKey: { secretArn: TRADING_SECRET_ARN, keyField: 'trading_key', agentIdField: 'trading_agent_id' },
    });
    // A function that does not trade is not told where the trading key is.
    expect(readConnectionSettings(resolvedEnvironment(connection), 'test', { servicesProfile: true })).toMatchObject({
      tradingKey: undefined,
    });
    // The writer writes what the reader read.
    expect(connectionEnvironment(readConnectionSettings(env, 'test', { servicesProfile: true, trades: true }))).toEqual(env);
  });
});

describe("the connection contract's reader fails at the handler's start, naming the variable", () => {
  const gateway = (): { [name: string]: string } => ({
    PF_SECRET_ARN: SECRET_ARN,
    PF_API_KEY_FIELD: 'key',
    PF_AGENT_ID_FIELD: 'agent_id',
    PF_BASE_URL: 'https://api.purpleflea.com',
    PF_LEDGER_TABLE: 'my-ledger',
  });
  const services = (): { [name: string]: string } => {
    const { PF_BASE_URL: _gatewayOnly, ...common } = gateway();
    return {
      ...common,
      PF_API_PROFILE: 'services',
      PF_ESCROW_URL: 'https://escrow.purpleflea.com',
      PF_CASINO_URL: 'https://casino.purpleflea.com/api/v1',
      PF_TRADING_URL: 'https://trading.purpleflea.com/v1',
      PF_FAUCET_URL: 'https://faucet.purpleflea.com',
      PF_TRADING_KEY_FIELD: 'trading_key',
      PF_TRADING_AGENT_ID_FIELD: 'trading_agent_id',
    };
  };
  const both = { servicesProfile: true } as const;

  test('PF_API_PROFILE absent, empty or gateway is the gateway; any other value is refused', () => {
    expect(readApiProfile(gateway(), 'T')).toBe('gateway');
    expect(readApiProfile({ ...gateway(), PF_API_PROFILE: '' }, 'T')).toBe('gateway');
    expect(readConnectionSettings({ ...gateway(), PF_API_PROFILE: 'gateway' }, 'T').baseUrl).toBe('https://api.purpleflea.com');
    expect(() => readConnectionSettings({ ...gateway(), PF_API_PROFILE: 'Services' }, 'T', both)).toThrow(
      'T: environment variable PF_API_PROFILE must be one of gateway, services, got "Services"',
    );
  });

  test('a handler that speaks only the gateway refuses the services profile', () => {
    expect(() => readConnectionSettings(services(), 'PredictToTrade')).toThrow(
      'PredictToTrade: environment variable PF_API_PROFILE is "services", a profile this handler does not speak yet',
    );
  });

  test.each(['PF_ESCROW_URL', 'PF_CASINO_URL', 'PF_TRADING_URL', 'PF_FAUCET_URL'])('the services profile without %s', (name) => {
    const env = services();
    delete env[name];
    expect(() => readConnectionSettings(env, 'T', both)).toThrow(`T: environment variable ${name} is missing`);
  });

  test.each(['PF_TRADING_KEY_FIELD', 'PF_TRADING_AGENT_ID_FIELD'])('a handler that trades, on the services profile, without %s', (name) => {
    const env = services();
    delete env[name];
    expect(() => readConnectionSettings(env, 'T', { servicesProfile: true, trades: true })).toThrow(
      `T: environment variable ${name} is missing`,
    );
  });

  test('the gateway without PF_BASE_URL', () => {
    const { PF_BASE_URL: _missing, ...env } = gateway();
    expect(() => readConnectionSettings(env, 'T')).toThrow('T: environment variable PF_BASE_URL is missing');
  });

  test("one profile's variables in the other's environment", () => {
    expect(() => readConnectionSettings({ ...gateway(), PF_ESCROW_URL: 'https://escrow.purpleflea.com' }, 'T', both)).toThrow(
      'T: environment variable PF_ESCROW_URL must not be set: PF_API_PROFILE is not "services"',
    );
    expect(() => readConnectionSettings({ ...services(), PF_BASE_URL: 'https://api.purpleflea.com' }, 'T', both)).toThrow(
      /^T: environment variable PF_BASE_URL must not be set: PF_API_PROFILE is "services"/,
    );
  });
});

describe('PurpleFleaConnection: the trading key secret is granted to what trades', () => {
  function servicesWithTradingSecret(tradingSecret: (stack: Stack) => secretsmanager.ISecret) {
    const stack = newStack();
    const connection = servicesConnection({ tradingKeySecret: tradingSecret(stack) }, stack);
    const role = (id: string) => new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    return { stack, connection, role };
  }
  const statementsOf = (stack: Stack, role: iam.Role) =>
    sortStatements(
      Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
        .filter((p: any) => p.Properties.Roles.some((r: any) => r.Ref === stack.getLogicalId(role.node.defaultChild as iam.CfnRole)))
        .flatMap((p: any) => p.Properties.PolicyDocument.Statement),
    );
  const readSecret = (arn: string) => ({
    Effect: 'Allow',
    Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
    Resource: arn,
  });

  test("grantActionAccess: both secrets; the construct's own grants: the trading secret only for a trader's kinds", () => {
    const { stack, connection, role } = servicesWithTradingSecret((s) =>
      secretsmanager.Secret.fromSecretCompleteArn(s, 'Trading', TRADING_SECRET_ARN),
    );
    const user = role('User');
    const trader = role('Trader');
    const escrows = role('Escrows');
    connection.grantActionAccess(user);
    grantActionAccess(connection, trader, [ACTION_KINDS.trade, ACTION_KINDS.dailyNotional]);
    grantActionAccess(connection, escrows, [ACTION_KINDS.escrow]);
    const secrets = (r: iam.Role) => statementsOf(stack, r).filter((s) => String(s.Action).includes('secretsmanager'));
    expect(secrets(user)).toEqual(sortStatements([readSecret(SECRET_ARN), readSecret(TRADING_SECRET_ARN)]));
    expect(secrets(trader)).toEqual(sortStatements([readSecret(SECRET_ARN), readSecret(TRADING_SECRET_ARN)]));
    expect(secrets(escrows)).toEqual([readSecret(SECRET_ARN)]);
  });

  test('a trading secret encrypted with a customer managed key: the key too, to decrypt through Secrets Manager only', () => {
    const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0a1b2c3d-0000-1111-2222-333344445555`;
    const { stack, connection, role } = servicesWithTradingSecret((s) =>
      secretsmanager.Secret.fromSecretAttributes(s, 'Trading', {
        secretCompleteArn: TRADING_SECRET_ARN,
        encryptionKey: kms.Key.fromKeyArn(s, 'TradingKmsKey', keyArn),
      }),
    );
    const trader = role('Trader');
    const escrows = role('Escrows');
    grantActionAccess(connection, trader, [ACTION_KINDS.trade]);
    grantActionAccess(connection, escrows, [ACTION_KINDS.escrow]);
    expect(statementsOf(stack, trader).filter((s) => String(s.Action).includes('kms:'))).toEqual([
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: keyArn,
        Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } },
      },
    ]);
    expect(JSON.stringify(statementsOf(stack, escrows))).not.toMatch(/kms:|PurpleFleaTradingKey/);
  });
});

describe('PurpleFleaConnection: validation of the API and the trading key', () => {
  const build = (props: Partial<PurpleFleaConnectionProps>) => () => newConnection(newStack(), props);
  const services = (props: Partial<PurpleFleaConnectionProps> = {}) => build({ api: PurpleFleaApi.services(), ...props });

  test('baseUrl and api cannot both be given, naming both', () => {
    expect(build({ baseUrl: 'https://gateway.example.com', api: PurpleFleaApi.gateway() })).toThrow(
      "PurpleFleaConnection 'PurpleFlea': baseUrl and api cannot both be given: baseUrl is the gateway's: give api: PurpleFleaApi.gateway({ baseUrl }) instead",
    );
    expect(build({ baseUrl: 'https://gateway.example.com', api: PurpleFleaApi.services() })).toThrow(
      /baseUrl and api cannot both be given/,
    );
  });

  test.each<[string, (stack: Stack) => Partial<PurpleFleaConnectionProps>]>([
    [
      'tradingKeySecret',
      (stack) => ({ tradingKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Trading', 'PurpleFleaTradingKey') }),
    ],
    ['tradingKeyField', () => ({ tradingKeyField: 'trading_key' })],
    ['tradingAgentIdField', () => ({ tradingAgentIdField: 'trading_agent_id' })],
  ])('%s is refused on the gateway (it would have no use there)', (prop, props) => {
    const stack = newStack();
    expect(() => newConnection(stack, props(stack))).toThrow(
      `PurpleFleaConnection 'PurpleFlea': ${prop} cannot be set: the trading key is used by the services profile only (api: PurpleFleaApi.services())`,
    );
  });

  test('the trading fields must not be empty', () => {
    expect(services({ tradingKeyField: '' })).toThrow(/tradingKeyField must not be empty, got ""/);
    expect(services({ tradingAgentIdField: '' })).toThrow(/tradingAgentIdField must not be empty, got ""/);
  });

  test("the trading agent id's field may not name the trading key's (the trading key would become the trading agent id)", () => {
    expect(services({ tradingKeyField: 'trading', tradingAgentIdField: 'trading' })).toThrow(
      `tradingAgentIdField must not name the trading key's field (tradingKeyField): the trading key would be read as the trading agent id, got tradingAgentIdField "trading" and tradingKeyField "trading"`,
    );
    // In a secret of its own too.
    const stack = newStack();
    const tradingKeySecret = secretsmanager.Secret.fromSecretNameV2(stack, 'Trading', 'PurpleFleaTradingKey');
    expect(() =>
      newConnection(stack, { api: PurpleFleaApi.services(), tradingKeySecret, tradingKeyField: 'key', tradingAgentIdField: 'key' }),
    ).toThrow(/got tradingAgentIdField "key" and tradingKeyField "key"/);
  });

  test("in one secret, no field holds one pair's key and the other's agent id, or both keys", () => {
    expect(services({ tradingAgentIdField: 'key' })).toThrow(
      'tradingAgentIdField must not name the API key\'s field (apiKeyField) while the trading key is in apiKeySecret: the casino key would be read as the trading agent id, got tradingAgentIdField "key" and apiKeyField "key"',
    );
    expect(services({ agentIdField: 'trading_key' })).toThrow(
      'agentIdField must not name the trading key\'s field (tradingKeyField) while the trading key is in apiKeySecret: the trading key would be read as the agent id, got agentIdField "trading_key" and tradingKeyField "trading_key"',
    );
    expect(services({ tradingKeyField: 'key' })).toThrow(
      /tradingKeyField must not name the API key's field \(apiKeyField\) while the trading key is in apiKeySecret: the casino key would be sent to the trading service, which has keys of its own, got tradingKeyField "key" and apiKeyField "key"/,
    );
    // The same secret given as tradingKeySecret is still one secret.
    const stack = newStack();
    const apiKeySecret = secretsmanager.Secret.fromSecretNameV2(stack, 'Same', 'PurpleFleaApiKey');
    expect(() =>
      newConnection(stack, { apiKeySecret, tradingKeySecret: apiKeySecret, api: PurpleFleaApi.services(), tradingAgentIdField: 'key' }),
    ).toThrow(/tradingAgentIdField must not name the API key's field/);
  });

  test('a trading key in a secret of its own may use the same field names as the casino key', () => {
    const stack = newStack();
    const tradingKeySecret = secretsmanager.Secret.fromSecretNameV2(stack, 'Trading', 'PurpleFleaTradingKey');
    expect(() =>
      newConnection(stack, { api: PurpleFleaApi.services(), tradingKeySecret, tradingKeyField: 'key', tradingAgentIdField: 'agent_id' }),
    ).not.toThrow();
  });

  test('field names that are tokens are not compared at synth', () => {
    const stack = newStack();
    const field = new CfnParameter(stack, 'Field').valueAsString;
    expect(() =>
      newConnection(stack, { api: PurpleFleaApi.services(), tradingKeyField: field, tradingAgentIdField: field, apiKeyField: field }),
    ).not.toThrow();
  });

  test('every problem is reported in one error', () => {
    expect(services({ tradingKeyField: '', tradingAgentIdField: 'key', agentId: '-x' })).toThrow(
      /PurpleFleaConnection 'PurpleFlea' has 3 invalid props:\n {2}- agentId.*\n {2}- tradingKeyField must not be empty.*\n {2}- tradingAgentIdField must not name the API key's field/,
    );
  });
});
