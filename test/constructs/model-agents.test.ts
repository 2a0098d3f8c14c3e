/**
 * ModelAgents (issue 15): the rules, the function's environment (read back by the handler's contract), its exact IAM
 * (its own ledger kinds, secrets under the prefix only), the grants it offers other functions, cdk-nag and one error
 * per validation rule.
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Stack } from 'aws-cdk-lib';
import { readModelAgentsSettings } from '../../lib/private/contracts/model-agents-env';
import { ModelAgents, ModelAgentsProps } from '../../lib/model-agents';
import { PurpleFleaApi } from '../../lib/purpleflea-api';
import { ACCOUNT, REGION, newConnection, newStack, policiesOf, policy, rules, sortStatements, variablesOf } from './fixtures';

function agents(props: Partial<ModelAgentsProps> = {}, stack: Stack = newStack(), connectionProps = {}) {
  const connection = newConnection(stack, { api: PurpleFleaApi.services(), ...connectionProps });
  const construct = new ModelAgents(stack, 'Agents', { connection, ...props });
  return { stack, connection, construct, template: () => Template.fromStack(stack) };
}

const secretsUnder = (pattern: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:secretsmanager:${REGION}:${ACCOUNT}:secret:${pattern}`]],
});

describe('triggers', () => {
  test('by default: completed training jobs (with the prefix in the rule), no model packages', () => {
    const { template } = agents({ trainingJobNamePrefix: 'churn-' });
    expect(rules(template())).toEqual([
      expect.objectContaining({
        State: 'ENABLED',
        EventPattern: {
          'source': ['aws.sagemaker'],
          'detail-type': ['SageMaker Training Job State Change'],
          'detail': { TrainingJobStatus: ['Completed'], TrainingJobName: [{ prefix: 'churn-' }] },
        },
      }),
    ]);
  });

  test('a model package group: its state changes only (the first one seen registers), and no training jobs unless asked', () => {
    const only = agents({ modelPackageGroupName: 'churn-models' });
    expect(rules(only.template())).toEqual([
      expect.objectContaining({
        EventPattern: {
          'source': ['aws.sagemaker'],
          'detail-type': ['SageMaker Model Package State Change'],
          'detail': { ModelPackageGroupName: ['churn-models'] },
        },
      }),
    ]);
    expect(only.construct.trainingJobRule).toBeUndefined();
    const both = agents({ modelPackageGroupNamePrefix: 'churn-', registerTrainingJobs: true });
    expect(rules(both.template()).map((r) => r.EventPattern.detail)).toEqual([
      { TrainingJobStatus: ['Completed'] },
      { ModelPackageGroupName: [{ prefix: 'churn-' }] },
    ]);
  });

  test("the handler's settings, read back by its contract; disabled: the rules are disabled too", () => {
    const { construct, template } = agents({ modelPackageGroupName: 'g', registerTrainingJobs: true, claimFaucet: false, enabled: false });
    expect(readModelAgentsSettings(variablesOf(template(), construct.lambdaFunction))).toEqual({
      trainingJobs: true,
      trainingJobNamePrefix: undefined,
      modelPackageGroupName: 'g',
      modelPackageGroupNamePrefix: undefined,
      secretNamePrefix: 'purpleflea/model-agents/',
      secretKmsKeyId: undefined,
      claimFaucet: false,
      eventBusName: expect.anything(),
      dryRun: false,
      enabled: false,
    });
    expect(rules(template()).map((r) => r.State)).toEqual(['DISABLED', 'DISABLED']);
  });
});

describe('IAM', () => {
  test('the secrets: create, tag, describe, put and read under the prefix only, in a policy of its own', () => {
    const { construct, template } = agents({ secretNamePrefix: 'models/agents/' });
    expect(policy(template(), construct.lambdaFunction.role!, 'AgentsHandlerAgentSecrets')).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'secretsmanager:CreateSecret',
          'secretsmanager:TagResource',
          'secretsmanager:DescribeSecret',
          'secretsmanager:PutSecretValue',
          'secretsmanager:GetSecretValue',
        ],
        Resource: secretsUnder('models/agents/*'),
      },
    ]);
  });

  test("the rest: its own kinds' ledger records only (v1:agent:, v1:faucet:), the connection's key (read), the bus, its dead-letter queue", () => {
    const { construct, template } = agents();
    expect(sortStatements(policy(template(), construct.lambdaFunction.role!, 'AgentsHandlerRoleDefaultPolicy'))).toEqual(
      sortStatements([
        { Effect: 'Allow', Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], Resource: expect.anything() },
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Resource: secretsUnder('PurpleFleaApiKey-??????'),
        },
        {
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^PurpleFleaLedger/), 'Arn'] },
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:agent:*', 'v1:faucet:*'] } },
        },
        { Effect: 'Allow', Action: 'events:PutEvents', Resource: expect.anything() },
      ]),
    );
  });

  test("a connection secret with a KMS key: the agents' secrets are encrypted with it, through Secrets Manager only", () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key');
    const secret = secretsmanager.Secret.fromSecretAttributes(stack, 'Encrypted', {
      secretPartialArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:pf`,
      encryptionKey: key,
    });
    const { construct, template } = agents({}, stack, { apiKeySecret: secret });
    const variables = variablesOf(template(), construct.lambdaFunction);
    expect(readModelAgentsSettings(variables).secretKmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] });
    expect(policy(template(), construct.lambdaFunction.role!, 'AgentsHandlerRoleDefaultPolicy')).toContainEqual({
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] },
      Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } },
    });
  });

  test('grants for other functions: the registry (GetItem on v1:agent: only) and the keys (all, one job, one group)', () => {
    const { stack, construct, template } = agents();
    const role = new iam.Role(stack, 'Consumer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    construct.grantReadRegistry(role);
    construct.grantReadAgentKeys(role);
    construct.grantReadTrainingJobAgentKey(role, 'Churn-1');
    construct.grantReadModelPackageAgentKeys(role, 'Churn-Models');
    const statements = Object.values(policiesOf(template(), role)).flat();
    const secretResources = statements
      .filter((st) => JSON.stringify(st.Action).includes('secretsmanager'))
      .flatMap((st) => [st.Resource].flat());
    expect(secretResources).toEqual([
      secretsUnder('purpleflea/model-agents/*'),
      secretsUnder('purpleflea/model-agents/training-job/churn-1-??????'),
      secretsUnder('purpleflea/model-agents/model-package/churn-models/*'),
    ]);
    expect(statements.filter((st) => JSON.stringify(st.Action).includes('secretsmanager')).map((st) => st.Action)).toEqual(
      Array(statements.length - 1).fill(['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret']),
    );
    expect(statements.slice(0, 1)).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: expect.anything(),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:agent:*'] } },
      },
    ]);
  });
});

test('cdk-nag: no unacknowledged finding (the secrets wildcard is acknowledged on its own policy, with its reason)', () => {
  const { stack } = agents({ modelPackageGroupName: 'g', registerTrainingJobs: true });
  const report = new AwsSolutionsChecks().validateScope(stack);
  expect(report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`))).toEqual([]);
});

describe('validation', () => {
  const build =
    (props: Partial<ModelAgentsProps>, connectionProps = {}) =>
    () =>
      agents(props, newStack(), connectionProps);

  test('the gateway profile is refused at synth, saying why', () => {
    expect(build({}, { api: PurpleFleaApi.gateway() })).toThrow(
      "ModelAgents 'Agents': connection must speak the services profile (api: PurpleFleaApi.services()): agents are registered in the casino registry, and the gateway documents no registration, no balance and no faucet",
    );
  });

  test.each([
    [{ trainingJobNamePrefix: 'bad_prefix' }, 'trainingJobNamePrefix must be a non-empty start of a training job name'],
    [{ modelPackageGroupName: 'bad group' }, 'modelPackageGroupName must follow'],
    [
      { modelPackageGroupName: 'a', modelPackageGroupNamePrefix: 'b' },
      'modelPackageGroupName and modelPackageGroupNamePrefix cannot both be given',
    ],
    [{ registerTrainingJobs: false }, 'registerTrainingJobs is false and no modelPackageGroupName'],
    [
      { registerTrainingJobs: false, modelPackageGroupName: 'g', trainingJobNamePrefix: 'x' },
      'trainingJobNamePrefix cannot be given with registerTrainingJobs: false',
    ],
    [{ secretNamePrefix: 'has space/' }, 'secretNamePrefix must be 1 to 256'],
    [{ secretNamePrefix: 'wild*/' }, 'secretNamePrefix must be 1 to 256'],
    [
      { functionOptions: { environment: { AGENT_SECRET_NAME_PREFIX: 'x' } } },
      'functionOptions.environment.AGENT_SECRET_NAME_PREFIX cannot be set',
    ],
    [{ functionOptions: { retryAttempts: 0 } }, 'functionOptions.retryAttempts cannot be set'],
  ] as const)('%j: %s', (props, message) => {
    expect(build(props as Partial<ModelAgentsProps>)).toThrow(message);
  });

  test('a JavaScript caller: no props at all, or no connection, names the prop', () => {
    expect(() => new ModelAgents(newStack(), 'Agents', undefined as unknown as ModelAgentsProps)).toThrow(
      "ModelAgents 'Agents': connection is required",
    );
    expect(() => new ModelAgents(newStack(), 'Agents', { connection: 'c' } as unknown as ModelAgentsProps)).toThrow(
      'connection must be a PurpleFleaConnection',
    );
  });
});

test('the event bus is the one given', () => {
  const stack = newStack();
  const bus = new events.EventBus(stack, 'Bus');
  const { construct } = agents({ eventBus: bus }, stack);
  expect(construct.eventBus).toBe(bus);
});
