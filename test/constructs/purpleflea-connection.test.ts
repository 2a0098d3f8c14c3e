import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PurpleFleaConnection, PurpleFleaConnectionProps } from '../../lib';
import { connectionEnvironmentOf } from '../../lib/private/handler-environment';
import { CONNECTION_ENV, readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { LEDGER_ATTENTION_INDEX, LEDGER_PARTITION_KEY, LEDGER_TTL_ATTRIBUTE } from '../../lib/private/contracts/ledger-schema';
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
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
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

  test.each(['http://localhost.example.com', 'http://127.0.0.1.nip.io', 'ftp://127.0.0.1', 'https://user:pw@api.purpleflea.com', 'not a url'])(
    'baseUrl %s is rejected',
    (baseUrl) => {
      expect(build({ baseUrl })).toThrow(/baseUrl must be an https URL/);
    },
  );

  test('apiKeyField must not be empty', () => {
    expect(build({ apiKeyField: '' })).toThrow(/apiKeyField must not be empty, got ""/);
  });

  test('agentIdField must not be empty', () => {
    expect(build({ agentIdField: '' })).toThrow(/agentIdField must not be empty, got ""/);
  });

  test('finding 8: agentIdField may not name the field of the key (the key would become the agent id)', () => {
    const refused = /agentIdField must not name the API key's field \(apiKeyField\): the key would be read as the agent id, got agentIdField "(\w+)" and apiKeyField "\1"/;
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
