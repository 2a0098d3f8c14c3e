/**
 * ModelAgents' optional domain registration (`domainName`, `domainKeySecret`): off by default (the template is what it
 * was before domains existed), its environment read back by the handler's contract, its IAM (the domains key's secret
 * read, and its KMS key; the v1:domain: records) only when on, its alarm, cdk-nag, and one error per validation rule.
 */
import { CfnParameter, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MODEL_AGENTS_METRICS, readModelAgentsSettings } from '../../lib/private/contracts/model-agents-env';
import { ModelAgents, ModelAgentsProps } from '../../lib/model-agents';
import { PurpleFleaApi } from '../../lib/purpleflea-api';
import { ACCOUNT, REGION, newConnection, newStack, policy, sortStatements, variablesOf } from './fixtures';

const TEMPLATE = '{modelVersionName}.agents.example.com';

function agents(props: Partial<ModelAgentsProps> = {}, stack: Stack = newStack(), api = PurpleFleaApi.services()) {
  const connection = newConnection(stack, { api });
  const construct = new ModelAgents(stack, 'Agents', { connection, trainingJobNamePrefix: 'churn-', ...props });
  return { stack, connection, construct, template: () => Template.fromStack(stack) };
}

function domainsKey(stack: Stack, encryptionKey?: kms.IKey): secretsmanager.ISecret {
  return secretsmanager.Secret.fromSecretAttributes(stack, 'DomainsKey', {
    secretPartialArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:purpleflea-domains`,
    encryptionKey,
  });
}

function withDomains(props: Partial<ModelAgentsProps> = {}, encryptionKey?: (stack: Stack) => kms.IKey) {
  const stack = newStack();
  return agents({ domainName: TEMPLATE, domainKeySecret: domainsKey(stack, encryptionKey?.(stack)), ...props }, stack);
}

const DOMAINS_KEY_READ = {
  Effect: 'Allow',
  Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
  Resource: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:purpleflea-domains-??????`,
};

test('off by default: the template is exactly the one without any domain props (no variable, grant or alarm)', () => {
  const plain = agents().template().toJSON();
  const stack = newStack();
  // A domainsUrl on the connection's API changes nothing either: only domainName turns registration on.
  const withUrl = agents({}, stack, PurpleFleaApi.services({ domainsUrl: 'https://domains.example.com/v1' }));
  expect(withUrl.template().toJSON()).toEqual(plain);
  expect(withUrl.construct.unknownDomainRegistrationsAlarm).toBeUndefined();
  expect(JSON.stringify(plain)).not.toMatch(/DOMAIN|v1:domain/);
});

test("on: the handler's settings, read back by its contract, with the connection's domainsUrl", () => {
  const stack = newStack();
  const { construct, template } = agents(
    { domainName: TEMPLATE, domainKeySecret: domainsKey(stack), domainKeyField: 'domains_key' },
    stack,
    PurpleFleaApi.services({ domainsUrl: 'https://domains.example.com/v1/' }),
  );
  expect(readModelAgentsSettings(variablesOf(template(), construct.lambdaFunction)).domain).toEqual({
    nameTemplate: TEMPLATE,
    domainsUrl: 'https://domains.example.com/v1',
    keySecretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:purpleflea-domains`,
    keyField: 'domains_key',
  });
  expect(readModelAgentsSettings(variablesOf(withDomains().template(), withDomains().construct.lambdaFunction)).domain).toMatchObject({
    domainsUrl: 'https://domains.purpleflea.com/v1',
    keyField: 'key',
  });
});

test("IAM: the domains key's secret read and the v1:domain: records, besides what it had; nothing else", () => {
  const { construct, template } = withDomains();
  const statements = policy(template(), construct.lambdaFunction.role!, 'AgentsHandlerRoleDefaultPolicy');
  expect(sortStatements(statements)).toEqual(
    sortStatements([
      { Effect: 'Allow', Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], Resource: expect.anything() },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: expect.objectContaining({ 'Fn::Join': expect.anything() }),
      },
      DOMAINS_KEY_READ,
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^PurpleFleaLedger/), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:agent:*', 'v1:faucet:*', 'v1:domain:*'] } },
      },
      { Effect: 'Allow', Action: 'events:PutEvents', Resource: expect.anything() },
    ]),
  );
});

test('an encrypted domains key: decrypt with its KMS key, through Secrets Manager only', () => {
  const { construct, template } = withDomains({}, (stack) => new kms.Key(stack, 'DomainsKmsKey'));
  expect(policy(template(), construct.lambdaFunction.role!, 'AgentsHandlerRoleDefaultPolicy')).toContainEqual({
    Effect: 'Allow',
    Action: 'kms:Decrypt',
    Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DomainsKmsKey/), 'Arn'] },
    Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } },
  });
});

test('an alarm on unknown domain registrations, on its own metric', () => {
  const { construct, template } = withDomains();
  expect(construct.unknownDomainRegistrationsAlarm).toBeDefined();
  const alarms = template().findResources('AWS::CloudWatch::Alarm', {
    Properties: { MetricName: MODEL_AGENTS_METRICS.domainRegistrationsUnknown },
  });
  expect(Object.values(alarms)).toEqual([
    expect.objectContaining({
      Properties: expect.objectContaining({
        Namespace: MODEL_AGENTS_METRICS.namespace,
        Statistic: 'Sum',
        Threshold: 1,
        AlarmDescription: expect.stringContaining('v1:domain:'),
      }),
    }),
  ]);
});

test('cdk-nag: no unacknowledged finding with domains on', () => {
  const { stack } = withDomains();
  const report = new AwsSolutionsChecks().validateScope(stack);
  expect(report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`))).toEqual([]);
});

describe('validation', () => {
  const build = (props: Partial<ModelAgentsProps>) => () => {
    const stack = newStack();
    const resolved = { ...props };
    if ((props as { domainKeySecret?: unknown }).domainKeySecret === 'SECRET') resolved.domainKeySecret = domainsKey(stack);
    return agents(resolved, stack);
  };

  test.each([
    [{ domainName: TEMPLATE }, 'domainName needs domainKeySecret'],
    [{ domainKeySecret: 'SECRET' }, 'domainKeySecret needs domainName'],
    [{ domainKeyField: 'k' }, 'domainKeyField needs domainKeySecret'],
    [{ domainName: TEMPLATE, domainKeySecret: 'SECRET', domainKeyField: '' }, 'domainKeyField must not be empty, got ""'],
    [{ domainName: TEMPLATE, domainKeySecret: 'a secret' }, 'domainKeySecret must be a Secrets Manager secret'],
    [
      { domainName: '{jobName}.agents.example.com', domainKeySecret: 'SECRET' },
      'domainName uses the unknown placeholder {jobName} (allowed: {modelVersionName}), got "{jobName}.agents.example.com"',
    ],
    [
      { domainName: 'agents.example.com', domainKeySecret: 'SECRET' },
      'domainName must use {modelVersionName}, so that each model version gets a domain of its own, got "agents.example.com"',
    ],
    [
      { domainName: '{modelVersionName}', domainKeySecret: 'SECRET' },
      'domainName must render a domain name: at least two dot-separated labels',
    ],
    [{ domainName: '{modelVersionName}_x.example.com', domainKeySecret: 'SECRET' }, 'got "{modelVersionName}_x.example.com"'],
    [{ domainName: '{modelVersionName}.example.com.', domainKeySecret: 'SECRET' }, 'domainName must render a domain name'],
    [{ domainName: '{modelVersionName.example.com', domainKeySecret: 'SECRET' }, 'domainName has an unbalanced "{" at position 0'],
  ] as const)('%j: %s', (props, message) => {
    expect(build(props as unknown as Partial<ModelAgentsProps>)).toThrow(message);
  });

  test('a domainName that is a token is not checked at synth (the handler checks each rendered name)', () => {
    const stack = newStack();
    const domainName = new CfnParameter(stack, 'DomainTemplate').valueAsString;
    expect(() => agents({ domainName, domainKeySecret: domainsKey(stack) }, stack)).not.toThrow();
  });
});
