import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { MetricGoal, PredictToTrade, TrainingBonusEscrow } from '../../lib';
import { connectionEnvironment } from '../../lib/private/contracts/connection-env';
import {
  TRAINING_BONUS_ESCROW_ENV,
  TRAINING_BONUS_ESCROW_METRICS,
  TRAINING_JOB_STATE_CHANGE,
  TrainingBonusEscrowSettings,
  readTrainingBonusEscrowSettings,
  trainingBonusEscrowEnvironment,
} from '../../lib/private/contracts/training-bonus-escrow-env';
import {
  ACCOUNT,
  REGION,
  arnWithPartition,
  logicalIdOf,
  newBonusEscrow,
  newConnection,
  newStack,
  onlyResource,
  sortStatements,
} from './fixtures';

const CUSTOM_BUS_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/model-releases`;
const DEFAULT_BUS_ARN = arnWithPartition(`:events:${REGION}:${ACCOUNT}:event-bus/default`);

function ruleOf(template: Template): any {
  return onlyResource(template, 'AWS::Events::Rule').resource.Properties;
}

function variablesOf(template: Template): { [name: string]: any } {
  return onlyResource(template, 'AWS::Lambda::Function').resource.Properties.Environment.Variables;
}

/** The IAM policies attached to a role, by logical id. */
function policiesOf(template: Template, roleId: string): { [id: string]: any } {
  return Object.fromEntries(
    Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, p]: [string, any]) =>
      p.Properties.Roles.some((r: any) => r.Ref === roleId),
    ),
  );
}

describe('TrainingBonusEscrow: the trigger', () => {
  test('matches exactly the Completed state changes of every training job, on the default bus', () => {
    const rule = ruleOf(newBonusEscrow().template);
    expect(rule.EventPattern).toEqual({
      'source': ['aws.sagemaker'],
      'detail-type': ['SageMaker Training Job State Change'],
      'detail': { TrainingJobStatus: ['Completed'] },
    });
    expect(rule.State).toBe('ENABLED');
    expect(rule.EventBusName).toBeUndefined();
    expect(rule.ScheduleExpression).toBeUndefined();
  });

  test('with trainingJobNamePrefix, matches exactly the Completed jobs whose name starts with it, case kept', () => {
    const rule = ruleOf(newBonusEscrow({ trainingJobNamePrefix: 'Churn-Model-' }).template);
    expect(rule.EventPattern).toEqual({
      'source': ['aws.sagemaker'],
      'detail-type': ['SageMaker Training Job State Change'],
      'detail': { TrainingJobStatus: ['Completed'], TrainingJobName: [{ prefix: 'Churn-Model-' }] },
    });
  });

  test('the pattern is built from the contract the handler reads events with', () => {
    const rule = ruleOf(newBonusEscrow().template);
    expect(rule.EventPattern.source).toEqual([TRAINING_JOB_STATE_CHANGE.source]);
    expect(rule.EventPattern['detail-type']).toEqual([TRAINING_JOB_STATE_CHANGE.detailType]);
    expect(rule.EventPattern.detail.TrainingJobStatus).toEqual([TRAINING_JOB_STATE_CHANGE.completedStatus]);
  });

  test('enabled: false creates the rule disabled and tells the handler', () => {
    const { template } = newBonusEscrow({ enabled: false });
    expect(ruleOf(template).State).toBe('DISABLED');
    expect(variablesOf(template)[TRAINING_BONUS_ESCROW_ENV.enabled]).toBe('false');
  });
});

describe('TrainingBonusEscrow: deliveries', () => {
  test('the function gets the whole event, failed deliveries go to the dead-letter queue, retried for 24 hours', () => {
    const { template, escrow } = newBonusEscrow();
    const { Targets } = ruleOf(template);
    expect(Targets).toEqual([
      {
        Id: 'Target0',
        Arn: { 'Fn::GetAtt': [logicalIdOf(escrow.lambdaFunction), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalIdOf(escrow.deadLetterQueue), 'Arn'] } },
        RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
      },
    ]);
    // No Input, InputPath or InputTransformer: EventBridge delivers the event as it is.
    expect(Object.keys(Targets[0]).filter((key) => key.startsWith('Input'))).toEqual([]);
  });

  test('one dead-letter queue, SQS-encrypted, TLS only, 14 days, writable by this rule only', () => {
    const { template, escrow } = newBonusEscrow();
    template.resourceCountIs('AWS::SQS::Queue', 1);
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    const queueArn = { 'Fn::GetAtt': [logicalIdOf(escrow.deadLetterQueue), 'Arn'] };
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: queueArn,
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalIdOf(escrow.rule), 'Arn'] } } },
          }),
        ]),
      },
    });
  });

  test('the function retries a failed invocation twice within 6 hours, then sends it to the same queue', () => {
    const { template, escrow } = newBonusEscrow();
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    expect(onlyResource(template, 'AWS::Lambda::EventInvokeConfig').resource.Properties).toEqual({
      FunctionName: { Ref: logicalIdOf(escrow.lambdaFunction) },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalIdOf(escrow.deadLetterQueue), 'Arn'] } } },
    });
  });

  test('only this rule may invoke the function', () => {
    const { template, escrow } = newBonusEscrow();
    template.resourceCountIs('AWS::Lambda::Permission', 1);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [logicalIdOf(escrow.rule), 'Arn'] },
    });
  });
});

describe('TrainingBonusEscrow: the function', () => {
  test('runs the bundled handler on the newest Node.js runtime, arm64, traced, 256 MB, 90 s', () => {
    const { template } = newBonusEscrow();
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      MemorySize: 256,
      Timeout: 90,
    });
  });

  test("functionOptions override the defaults, and the user's variables are kept beside the construct's", () => {
    const { template } = newBonusEscrow({
      functionOptions: {
        memorySize: 512,
        timeout: Duration.seconds(120),
        reservedConcurrentExecutions: 3,
        environment: { POWERTOOLS_LOG_LEVEL: 'DEBUG' },
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 512,
      Timeout: 120,
      ReservedConcurrentExecutions: 3,
      Environment: { Variables: Match.objectLike({ POWERTOOLS_LOG_LEVEL: 'DEBUG', METRIC_NAME: 'validation:accuracy' }) },
    });
  });

  test('logs to its own log group, kept three months by default, or as long as logRetention says', () => {
    const { template, escrow } = newBonusEscrow();
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: logicalIdOf(escrow.logGroup) } } });

    newBonusEscrow({ logRetention: logs.RetentionDays.ONE_YEAR }).template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 365,
    });
  });
});

describe('TrainingBonusEscrow: the handler environment', () => {
  test('is exactly what the contracts produce from the props, and reads back to the same settings', () => {
    const stack = newStack();
    const eventBus = events.EventBus.fromEventBusArn(stack, 'Releases', CUSTOM_BUS_ARN);
    const { connection, template } = newBonusEscrow(
      {
        trainingJobNamePrefix: 'churn-',
        metricName: 'validation:rmse',
        metricGoal: MetricGoal.MINIMIZE,
        bonusTiers: [
          { threshold: 0.1, amountUsdc: 100 },
          { threshold: 0.25, amountUsdc: 25 },
        ],
        maxBonusUsdc: 250,
        buyerAgentId: 'agt_research_fund',
        sellerTagKey: 'model-owner',
        sellerTemplate: 'agt_owner_{jobName}',
        conditionTemplate: 'approved:{jobName}:{metricName}={metricValue}',
        eventBus,
        dryRun: true,
      },
      stack,
    );
    // Written out by hand: the construct's side of the contract, not a copy of its code.
    const settings: TrainingBonusEscrowSettings = {
      metricName: 'validation:rmse',
      metricGoal: 'MINIMIZE',
      bonusTiers: [
        { threshold: 0.1, amountUsdc: 100 },
        { threshold: 0.25, amountUsdc: 25 },
      ],
      maxBonusUsdc: 250,
      buyerAgentId: 'agt_research_fund',
      sellerTagKey: 'model-owner',
      sellerTemplate: 'agt_owner_{jobName}',
      conditionTemplate: 'approved:{jobName}:{metricName}={metricValue}',
      eventBusName: CUSTOM_BUS_ARN,
      dryRun: true,
      enabled: true,
    };
    const expected = stack.resolve({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: TRAINING_BONUS_ESCROW_METRICS.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: TRAINING_BONUS_ESCROW_METRICS.namespace,
      ...connectionEnvironment({
        secretArn: connection.apiKeySecret.secretArn,
        apiKeyField: 'key',
        agentIdField: 'agent_id',
        baseUrl: 'https://api.purpleflea.com',
        ledgerTableName: connection.ledgerTable.tableName,
        requestTimeoutMs: 10_000,
      }),
      ...trainingBonusEscrowEnvironment(settings),
    });

    const variables = variablesOf(template);
    expect(variables).toEqual(expected);
    expect(readTrainingBonusEscrowSettings(variables)).toEqual(settings);
  });

  test("defaults: validation:accuracy, MAXIMIZE, the story's tiers, $1000 cap, the treasury, agt_model_{jobName}, live, enabled", () => {
    const variables = variablesOf(newBonusEscrow().template);
    // The default bus's ARN is a reference (the partition); the rest reads back as it is.
    expect(variables[TRAINING_BONUS_ESCROW_ENV.eventBusName]).toEqual(DEFAULT_BUS_ARN);
    expect(readTrainingBonusEscrowSettings({ ...variables, [TRAINING_BONUS_ESCROW_ENV.eventBusName]: 'default-bus-arn' })).toEqual({
      metricName: 'validation:accuracy',
      metricGoal: 'MAXIMIZE',
      bonusTiers: [
        { threshold: 0.9, amountUsdc: 50 },
        { threshold: 0.8, amountUsdc: 20 },
        { threshold: 0.7, amountUsdc: 5 },
      ],
      maxBonusUsdc: 1000,
      buyerAgentId: 'agt_platform_treasury',
      sellerTagKey: undefined,
      sellerTemplate: 'agt_model_{jobName}',
      conditionTemplate: 'model_owner_approved:{jobName}',
      eventBusName: 'default-bus-arn',
      dryRun: false,
      enabled: true,
    });
    expect(variables).not.toHaveProperty(TRAINING_BONUS_ESCROW_ENV.sellerTagKey);
  });

  test("DEFAULT_BONUS_TIERS are the story's tiers, and cannot be changed by accident", () => {
    expect(TrainingBonusEscrow.DEFAULT_BONUS_TIERS).toEqual([
      { threshold: 0.9, amountUsdc: 50 },
      { threshold: 0.8, amountUsdc: 20 },
      { threshold: 0.7, amountUsdc: 5 },
    ]);
    expect(Object.isFrozen(TrainingBonusEscrow.DEFAULT_BONUS_TIERS)).toBe(true);
    expect(TrainingBonusEscrow.DEFAULT_BONUS_TIERS.every((tier) => Object.isFrozen(tier))).toBe(true);
  });

  test('a bus created in the stack is named by its ARN', () => {
    const stack = newStack();
    const bus = new events.EventBus(stack, 'Releases');
    const { template } = newBonusEscrow({ eventBus: bus }, stack);
    expect(variablesOf(template)[TRAINING_BONUS_ESCROW_ENV.eventBusName]).toEqual({ 'Fn::GetAtt': [logicalIdOf(bus), 'Arn'] });
  });

  test('bonus tiers holding tokens reach the handler as references in the same JSON', () => {
    const stack = newStack();
    const threshold = new CfnParameter(stack, 'Threshold', { type: 'Number' }).valueAsNumber;
    const amount = new CfnParameter(stack, 'Amount', { type: 'Number' }).valueAsNumber;
    const { template } = newBonusEscrow({ bonusTiers: [{ threshold, amountUsdc: amount }] }, stack);
    expect(variablesOf(template)[TRAINING_BONUS_ESCROW_ENV.bonusTiers]).toEqual({
      'Fn::Join': ['', ['[{"threshold":', { Ref: 'Threshold' }, ',"amountUsdc":', { Ref: 'Amount' }, '}]']],
    });
  });
});

describe('TrainingBonusEscrow: permissions', () => {
  const trainingJobs = (resource: string) => arnWithPartition(`:sagemaker:${REGION}:${ACCOUNT}:training-job/${resource}`);

  /** The role's policies: the default one, X-Ray's, and DescribeTrainingJob's. */
  function policies(template: Template, escrow: TrainingBonusEscrow) {
    const roleId = logicalIdOf(escrow.lambdaFunction.role as iam.Role);
    const byId = policiesOf(template, roleId);
    const find = (match: (doc: string) => boolean) => {
      const found = Object.entries(byId).filter(([, p]) => match(JSON.stringify(p.Properties.PolicyDocument)));
      expect(found).toHaveLength(1);
      return { id: found[0][0], statements: found[0][1].Properties.PolicyDocument.Statement };
    };
    expect(Object.keys(byId)).toHaveLength(3);
    return {
      roleId,
      tracing: find((doc) => doc.includes('xray:')),
      describe: find((doc) => doc.includes('sagemaker:DescribeTrainingJob')),
      main: find((doc) => !doc.includes('xray:') && !doc.includes('sagemaker:')),
    };
  }

  test('the function has its own role with no managed policy, writing only to its own log group', () => {
    const { template, escrow } = newBonusEscrow();
    const roleId = logicalIdOf(escrow.lambdaFunction.role as iam.Role);
    const role = template.findResources('AWS::IAM::Role')[roleId];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toEqual([
      {
        PolicyName: 'WriteOwnLogs',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Resource: { 'Fn::GetAtt': [logicalIdOf(escrow.logGroup), 'Arn'] },
            },
          ],
        },
      },
    ]);
  });

  test('without a prefix: DescribeTrainingJob on every training job, in a policy of its own that the function waits for', () => {
    const { template, escrow } = newBonusEscrow();
    const { describe } = policies(template, escrow);
    expect(describe.statements).toEqual([{ Effect: 'Allow', Action: 'sagemaker:DescribeTrainingJob', Resource: trainingJobs('*') }]);
    template.hasResource('AWS::Lambda::Function', { DependsOn: Match.arrayWith([describe.id]) });
  });

  test('with a prefix: DescribeTrainingJob on the training jobs it names, lower-cased as SageMaker writes ARNs', () => {
    const { template, escrow } = newBonusEscrow({ trainingJobNamePrefix: 'Churn-Model-' });
    expect(policies(template, escrow).describe.statements).toEqual([
      { Effect: 'Allow', Action: 'sagemaker:DescribeTrainingJob', Resource: trainingJobs('churn-model-*') },
    ]);
  });

  test('a prefix that is a token is used as it is', () => {
    const stack = newStack();
    const prefix = new CfnParameter(stack, 'Prefix', { type: 'String' }).valueAsString;
    const { template, escrow } = newBonusEscrow({ trainingJobNamePrefix: prefix }, stack);
    expect(policies(template, escrow).describe.statements[0].Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sagemaker:${REGION}:${ACCOUNT}:training-job/`, { Ref: 'Prefix' }, '*']],
    });
    expect(ruleOf(template).EventPattern.detail.TrainingJobName).toEqual([{ prefix: { Ref: 'Prefix' } }]);
  });

  test('the other policy holds exactly: PutEvents on the default bus, the secret, the ledger, the dead-letter queue', () => {
    const { template, escrow, connection } = newBonusEscrow({ trainingJobNamePrefix: 'churn-' });
    const { main, tracing } = policies(template, escrow);
    expect(tracing.statements).toEqual([{ Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' }]);
    expect(sortStatements(main.statements)).toEqual(
      sortStatements([
        { Effect: 'Allow', Action: 'events:PutEvents', Resource: DEFAULT_BUS_ARN },
        {
          Effect: 'Allow',
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Resource: arnWithPartition(`:secretsmanager:${REGION}:${ACCOUNT}:secret:PurpleFleaApiKey-??????`),
        },
        {
          // Only what the money path calls, and only escrow keys.
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          Resource: { 'Fn::GetAtt': [logicalIdOf(connection.ledgerTable), 'Arn'] },
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:escrow:*'] } },
        },
        {
          Effect: 'Allow',
          Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
          Resource: { 'Fn::GetAtt': [logicalIdOf(escrow.deadLetterQueue), 'Arn'] },
        },
      ]),
    );
  });

  test.each([
    [
      'a bus created in the stack',
      (stack: Stack) => new events.EventBus(stack, 'Releases'),
      (bus: events.IEventBus) => ({ 'Fn::GetAtt': [logicalIdOf(bus), 'Arn'] }),
    ],
    ['a bus imported by ARN', (stack: Stack) => events.EventBus.fromEventBusArn(stack, 'Releases', CUSTOM_BUS_ARN), () => CUSTOM_BUS_ARN],
  ])('with %s, PutEvents is allowed on exactly that bus', (_name, makeBus, arnOf) => {
    const stack = newStack();
    const bus = makeBus(stack);
    const { template, escrow } = newBonusEscrow({ eventBus: bus }, stack);
    const putEvents = policies(template, escrow).main.statements.filter((s: any) => JSON.stringify(s.Action).includes('events:'));
    expect(putEvents).toEqual([{ Effect: 'Allow', Action: 'events:PutEvents', Resource: arnOf(bus) }]);
    expect(escrow.eventBus).toBe(bus);
  });
});

describe('TrainingBonusEscrow: alarms', () => {
  const alarmProps = {
    Threshold: 1,
    EvaluationPeriods: 1,
    Period: 300,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
    AlarmActions: Match.absent(),
  };

  test('on function errors', () => {
    const { template, escrow } = newBonusEscrow();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...alarmProps,
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalIdOf(escrow.lambdaFunction) } }],
    });
    expect(logicalIdOf(escrow.errorsAlarm)).toMatch(/^BonusErrorsAlarm/);
  });

  test('on escrows with an unknown outcome, for this function only', () => {
    const { template, escrow } = newBonusEscrow();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...alarmProps,
      Namespace: TRAINING_BONUS_ESCROW_METRICS.namespace,
      MetricName: TRAINING_BONUS_ESCROW_METRICS.escrowsUnknown,
      Statistic: 'Sum',
      Dimensions: [
        { Name: TRAINING_BONUS_ESCROW_METRICS.functionNameDimension, Value: { Ref: logicalIdOf(escrow.lambdaFunction) } },
        { Name: 'service', Value: TRAINING_BONUS_ESCROW_METRICS.serviceName },
      ],
      AlarmDescription: Match.stringLikeRegexp('escrow may or may not have been created'),
    });
    expect(logicalIdOf(escrow.unknownOutcomesAlarm)).toMatch(/^BonusUnknownOutcomesAlarm/);
  });

  test('on messages in the dead-letter queue', () => {
    const { template, escrow } = newBonusEscrow();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...alarmProps,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Maximum',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalIdOf(escrow.deadLetterQueue), 'QueueName'] } }],
    });
    expect(logicalIdOf(escrow.deadLetterQueueAlarm)).toMatch(/^BonusDeadLetterQueueAlarm/);
  });

  test('exactly three', () => {
    newBonusEscrow().template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
  });
});

describe('TrainingBonusEscrow: beside other constructs', () => {
  test('public properties reach every resource it creates', () => {
    const { escrow } = newBonusEscrow();
    expect(escrow.lambdaFunction).toBeInstanceOf(lambda.Function);
    expect(escrow.rule).toBeInstanceOf(events.Rule);
    expect(escrow.deadLetterQueue).toBeInstanceOf(sqs.Queue);
    expect(escrow.logGroup).toBeInstanceOf(logs.LogGroup);
    expect(escrow.eventBus.eventBusName).toBe('default');
  });

  test('two escrows and a PredictToTrade share one connection and keep their own resources', () => {
    const stack = newStack();
    const connection = newConnection(stack);
    new TrainingBonusEscrow(stack, 'Churn', { connection, trainingJobNamePrefix: 'churn-' });
    new TrainingBonusEscrow(stack, 'Fraud', { connection, trainingJobNamePrefix: 'fraud-', metricName: 'validation:f1' });
    new PredictToTrade(stack, 'Trader', { connection, endpointName: 'demo-direction-model' });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::Lambda::Function', 3);
    template.resourceCountIs('AWS::Events::Rule', 3);
    template.resourceCountIs('AWS::SQS::Queue', 3);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
    const resources = JSON.stringify(template.toJSON());
    expect(resources).toContain(':training-job/churn-*');
    expect(resources).toContain(':training-job/fraud-*');
  });

  test('an environment-agnostic stack synthesizes, with the region and account as references', () => {
    const stack = new Stack(new App(), 'Agnostic');
    const { template } = newBonusEscrow({ trainingJobNamePrefix: 'churn-' }, stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sagemaker:DescribeTrainingJob',
            Resource: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':sagemaker:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':training-job/churn-*',
                ],
              ],
            },
          },
        ],
      },
    });
  });
});
