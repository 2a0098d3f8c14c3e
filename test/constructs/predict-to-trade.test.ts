import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { ModelOutputFormat, PredictToTrade } from '../../lib';
import { connectionEnvironment } from '../../lib/private/contracts/connection-env';
import {
  PREDICT_TO_TRADE_ENV,
  PREDICT_TO_TRADE_METRICS,
  PredictToTradeSettings,
  predictToTradeEnvironment,
  readPredictToTradeSettings,
} from '../../lib/private/contracts/predict-to-trade-env';
import { defaultHandlerRuntime } from '../../lib/private/handler-function';
import {
  ACCOUNT,
  REGION,
  arnWithPartition,
  newConnection,
  newStack,
  newTrader,
  onlyResource,
  sortStatements,
  substituteInputTemplate,
} from './fixtures';

const RULE_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:rule/Test-TraderRule`;

/** The logical id of a construct's CloudFormation resource. */
function logicalId(construct: { node: { defaultChild?: any } } | any): string {
  const child = construct.node.defaultChild ?? construct;
  return child.stack.getLogicalId(child);
}

describe('PredictToTrade: the trigger', () => {
  test('runs every 5 minutes by default', () => {
    const { template } = newTrader();
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      EventPattern: Match.absent(),
    });
  });

  test('runs on the given schedule', () => {
    const { template } = newTrader({ schedule: events.Schedule.cron({ minute: '0', hour: '*/4' }) });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 */4 * * ? *)' });
  });

  test('runs on matching events instead of a schedule when given an event pattern', () => {
    const { template } = newTrader({
      eventPattern: { source: ['my.signals'], detailType: ['Features Ready'] },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'source': ['my.signals'], 'detail-type': ['Features Ready'] },
      ScheduleExpression: Match.absent(),
    });
  });

  test('enabled: false creates the rule disabled and tells the handler', () => {
    const { template } = newTrader({ enabled: false });
    template.hasResourceProperties('AWS::Events::Rule', { State: 'DISABLED' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [PREDICT_TO_TRADE_ENV.enabled]: 'false' }) },
    });
  });
});

describe('PredictToTrade: the envelope handed to the handler', () => {
  function target(template: Template): any {
    const { resource } = onlyResource(template, 'AWS::Events::Rule');
    expect(resource.Properties.Targets).toHaveLength(1);
    return resource.Properties.Targets[0];
  }

  test('a schedule sends {eventId, eventTime, ruleArn, features} with the static features', () => {
    const features = { symbol: 'BTC', window: [1, 5, 15], nested: { quote: 'say "hi"', ok: true } };
    const { template } = newTrader({ features });
    const { InputTransformer } = target(template);

    expect(InputTransformer.InputPathsMap).toEqual({ id: '$.id', time: '$.time' });
    expect(InputTransformer.InputTemplate).toBe(
      '{"eventId":<id>,"eventTime":<time>,"ruleArn":<aws.events.rule-arn>,' +
        '"features":{"symbol":"BTC","window":[1,5,15],"nested":{"quote":"say \\"hi\\"","ok":true}}}',
    );

    // What EventBridge delivers once it substitutes the values is one valid JSON envelope.
    const delivered = substituteInputTemplate(InputTransformer.InputTemplate, {
      'id': '7bf73129-1428-4cd3-a780-95db273d1602',
      'time': '2026-01-05T10:00:00Z',
      'aws.events.rule-arn': RULE_ARN,
    });
    expect(JSON.parse(delivered)).toEqual({
      eventId: '7bf73129-1428-4cd3-a780-95db273d1602',
      eventTime: '2026-01-05T10:00:00Z',
      ruleArn: RULE_ARN,
      features,
    });
  });

  test('a schedule without features sends an empty object', () => {
    const { template } = newTrader();
    expect(target(template).InputTransformer.InputTemplate).toBe(
      '{"eventId":<id>,"eventTime":<time>,"ruleArn":<aws.events.rule-arn>,"features":{}}',
    );
  });

  test('an event pattern sends the event detail as the features by default', () => {
    const { template } = newTrader({ eventPattern: { source: ['my.signals'] } });
    const { InputTransformer } = target(template);

    expect(InputTransformer.InputPathsMap).toEqual({ id: '$.id', time: '$.time', detail: '$.detail' });
    expect(InputTransformer.InputTemplate).toBe('{"eventId":<id>,"eventTime":<time>,"ruleArn":<aws.events.rule-arn>,"features":<detail>}');
    const detail = { rsi: 61.5, volume: [1, 2], tag: 'x' };
    const delivered = substituteInputTemplate(InputTransformer.InputTemplate, {
      'id': 'e-1',
      'time': '2026-01-05T10:00:00Z',
      'aws.events.rule-arn': RULE_ARN,
      'detail': detail,
    });
    expect(JSON.parse(delivered)).toEqual({ eventId: 'e-1', eventTime: '2026-01-05T10:00:00Z', ruleArn: RULE_ARN, features: detail });
  });

  test('an event pattern sends the part of the event at featuresPath', () => {
    const { template } = newTrader({ eventPattern: { source: ['my.signals'] }, featuresPath: '$.detail.features' });
    const { InputTransformer } = target(template);

    expect(InputTransformer.InputPathsMap).toEqual({ 'id': '$.id', 'time': '$.time', 'detail-features': '$.detail.features' });
    expect(InputTransformer.InputTemplate).toBe(
      '{"eventId":<id>,"eventTime":<time>,"ruleArn":<aws.events.rule-arn>,"features":<detail-features>}',
    );
  });
});

describe('PredictToTrade: failed deliveries', () => {
  test('one dead-letter queue, SQS-encrypted, TLS only, keeping messages 14 days', () => {
    const { template } = newTrader();
    template.resourceCountIs('AWS::SQS::Queue', 1);
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('the rule target sends failed deliveries to it, retrying within the signal age', () => {
    const { template, trader } = newTrader();
    const queueArn = { 'Fn::GetAtt': [logicalId(trader.deadLetterQueue), 'Arn'] };
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(trader.lambdaFunction), 'Arn'] },
          DeadLetterConfig: { Arn: queueArn },
          RetryPolicy: { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 5 },
        }),
      ],
    });
    // Only this rule may write to it.
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: queueArn,
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalId(trader.rule), 'Arn'] } } },
          }),
        ]),
      },
    });
  });

  test('the function has no async retries, a bounded event age, and sends failures to the same queue', () => {
    const { template, trader } = newTrader();
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(trader.lambdaFunction) },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 300,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(trader.deadLetterQueue), 'Arn'] } } },
    });
  });

  test.each([
    [Duration.minutes(1), 60],
    [Duration.seconds(90), 90],
    [Duration.hours(2), 7200],
    // Lambda keeps async events at most 6 hours; the handler still checks the 24-hour signal age.
    [Duration.hours(24), 21600],
  ])('maxSignalAge %s bounds both event ages to %i s', (maxSignalAge, seconds) => {
    const { template } = newTrader({ maxSignalAge });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumEventAgeInSeconds: seconds });
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ RetryPolicy: Match.objectLike({ MaximumEventAgeInSeconds: seconds }) })],
    });
  });

  test('only this rule may invoke the function', () => {
    const { template, trader } = newTrader();
    template.resourceCountIs('AWS::Lambda::Permission', 1);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [logicalId(trader.rule), 'Arn'] },
    });
  });
});

describe('PredictToTrade: the function', () => {
  test('runs the bundled handler on the newest Node.js runtime, arm64, traced, 256 MB, 90 s', () => {
    const { template } = newTrader();
    // The newest Node.js runtime the project's aws-cdk-lib names (test/constructs/runtime.test.ts).
    expect(defaultHandlerRuntime()).toBe(lambda.Runtime.NODEJS_24_X);
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

  test('functionOptions override the defaults', () => {
    const { template } = newTrader({
      functionOptions: { memorySize: 1024, timeout: Duration.seconds(120), reservedConcurrentExecutions: 2 },
    });
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 1024, Timeout: 120, ReservedConcurrentExecutions: 2 });
  });

  test("the user's environment variables are kept beside the construct's", () => {
    const { template } = newTrader({ functionOptions: { environment: { POWERTOOLS_LOG_LEVEL: 'DEBUG' } } });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_LOG_LEVEL: 'DEBUG', ENDPOINT_NAME: 'demo-direction-model' }) },
    });
  });

  test('logs to its own log group, kept three months by default', () => {
    const { template, trader } = newTrader();
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: { Ref: logicalId(trader.logGroup) } },
    });
  });

  test('logRetention sets the log group retention', () => {
    const { template } = newTrader({ logRetention: logs.RetentionDays.ONE_YEAR });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });
});

describe('PredictToTrade: the handler environment', () => {
  test('is exactly what the contracts produce from the props, and reads back to the same settings', () => {
    const { stack, connection, trader, template } = newTrader({
      targetVariant: 'Blue',
      modelOutput: ModelOutputFormat.csv({ directionColumn: 2, confidenceColumn: 0 }),
      confidenceThreshold: 0.75,
      orderAmountUsdc: 25,
      maxOrderAmountUsdc: 200,
      maxDailyNotionalUsdc: 500,
      asset: 'ETH-USDC',
      dryRun: true,
      maxSignalAge: Duration.minutes(10),
    });
    const settings: PredictToTradeSettings = {
      endpointName: 'demo-direction-model',
      targetVariant: 'Blue',
      outputFormat: 'CSV',
      directionField: 'direction',
      confidenceField: 'confidence',
      directionColumn: 2,
      confidenceColumn: 0,
      confidenceThreshold: 0.75,
      orderAmountUsdc: 25,
      maxOrderAmountUsdc: 200,
      maxDailyNotionalUsdc: 500,
      dailyCapScope: trader.node.addr,
      asset: 'ETH-USDC',
      dryRun: true,
      enabled: true,
      maxSignalAgeSeconds: 600,
    };
    const expected = stack.resolve({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: PREDICT_TO_TRADE_METRICS.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: PREDICT_TO_TRADE_METRICS.namespace,
      ...connectionEnvironment({
        secretArn: connection.apiKeySecret.secretArn,
        apiKeyField: 'key',
        agentIdField: 'agent_id',
        baseUrl: 'https://api.purpleflea.com',
        ledgerTableName: connection.ledgerTable.tableName,
        requestTimeoutMs: 10_000,
      }),
      ...predictToTradeEnvironment(settings),
    });

    const { resource } = onlyResource(template, 'AWS::Lambda::Function');
    const variables = resource.Properties.Environment.Variables;
    expect(variables).toEqual(expected);
    expect(readPredictToTradeSettings(variables)).toEqual(settings);
  });

  test('defaults: JSON output, 0.60, $50 of BTC-USDC, $1000 cap, no daily cap, live, enabled, 5 minutes', () => {
    const { template, trader } = newTrader();
    const { resource } = onlyResource(template, 'AWS::Lambda::Function');
    expect(readPredictToTradeSettings(resource.Properties.Environment.Variables)).toEqual({
      endpointName: 'demo-direction-model',
      targetVariant: undefined,
      outputFormat: 'JSON',
      directionField: 'direction',
      confidenceField: 'confidence',
      directionColumn: 0,
      confidenceColumn: 1,
      confidenceThreshold: 0.6,
      orderAmountUsdc: 50,
      maxOrderAmountUsdc: 1000,
      maxDailyNotionalUsdc: undefined,
      dailyCapScope: trader.node.addr,
      asset: 'BTC-USDC',
      dryRun: false,
      enabled: true,
      maxSignalAgeSeconds: 300,
    });
  });

  test('JSON field names are passed to the handler', () => {
    const { template } = newTrader({ modelOutput: ModelOutputFormat.json({ directionField: 'side', confidenceField: 'p' }) });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ MODEL_OUTPUT_FORMAT: 'JSON', DIRECTION_FIELD: 'side', CONFIDENCE_FIELD: 'p' }),
      },
    });
  });

  test('two PredictToTrade keep separate daily caps', () => {
    const stack = newStack();
    const connection = newConnection(stack);
    const a = new PredictToTrade(stack, 'A', { connection, endpointName: 'model-a', maxDailyNotionalUsdc: 500 });
    const b = new PredictToTrade(stack, 'B', { connection, endpointName: 'model-b', maxDailyNotionalUsdc: 500 });
    const scopes = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).map(
      (f: any) => f.Properties.Environment.Variables[PREDICT_TO_TRADE_ENV.dailyCapScope],
    );
    expect(scopes.sort()).toEqual([a.node.addr, b.node.addr].sort());
    expect(a.node.addr).not.toEqual(b.node.addr);
  });
});

describe('PredictToTrade: permissions', () => {
  function handlerPolicies(template: Template, roleId: string): any[] {
    return Object.values(template.findResources('AWS::IAM::Policy')).filter((p: any) =>
      p.Properties.Roles.some((r: any) => r.Ref === roleId),
    );
  }

  test('the function has its own role with no managed policy, writing only to its own log group', () => {
    const { template, trader } = newTrader();
    const roleId = logicalId(trader.lambdaFunction.role as iam.Role);
    template.hasResourceProperties('AWS::Lambda::Function', { Role: { 'Fn::GetAtt': [roleId, 'Arn'] } });

    const role = template.findResources('AWS::IAM::Role')[roleId];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
    expect(role.Properties.Policies).toEqual([
      {
        PolicyName: 'WriteOwnLogs',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Resource: { 'Fn::GetAtt': [logicalId(trader.logGroup), 'Arn'] },
            },
          ],
        },
      },
    ]);
  });

  test('its policies hold exactly: the endpoint, the secret, the ledger, the dead-letter queue; X-Ray apart', () => {
    const { template, trader, connection } = newTrader({ endpointName: 'Demo-Direction-Model' });
    const roleId = logicalId(trader.lambdaFunction.role as iam.Role);
    const policies = handlerPolicies(template, roleId);
    expect(policies).toHaveLength(2);
    const [tracing, main] = [...policies].sort(
      (a, b) => (JSON.stringify(a).includes('xray:') ? -1 : 1) - (JSON.stringify(b).includes('xray:') ? -1 : 1),
    );

    // X-Ray's actions take no resource: they sit alone, so the acknowledged wildcard covers nothing else.
    expect(tracing.Properties.PolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });

    expect(sortStatements(main.Properties.PolicyDocument.Statement)).toEqual(
      sortStatements([
        {
          Effect: 'Allow',
          Action: 'sagemaker:InvokeEndpoint',
          // SageMaker puts endpoint names in ARNs in lower case.
          Resource: arnWithPartition(`:sagemaker:${REGION}:${ACCOUNT}:endpoint/demo-direction-model`),
        },
        {
          Effect: 'Allow',
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Resource: arnWithPartition(`:secretsmanager:${REGION}:${ACCOUNT}:secret:PurpleFleaApiKey-??????`),
        },
        {
          // Only what the money path calls, and only its own kinds of keys: trades and its daily cap's counters.
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          Resource: { 'Fn::GetAtt': [logicalId(connection.ledgerTable), 'Arn'] },
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:trade:*', 'v1:daily-notional:*'] } },
        },
        {
          Effect: 'Allow',
          Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
          Resource: { 'Fn::GetAtt': [logicalId(trader.deadLetterQueue), 'Arn'] },
        },
      ]),
    );
  });

  test('in a VPC, the network-interface actions are in a policy of their own that outlives the function', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const { template, trader } = newTrader({ functionOptions: { vpc } }, stack);
    const roleId = logicalId(trader.lambdaFunction.role as iam.Role);

    const policies = handlerPolicies(template, roleId);
    expect(policies).toHaveLength(3);
    const [networkPolicyId] = Object.entries(template.findResources('AWS::IAM::Policy')).find(([, p]: [string, any]) =>
      JSON.stringify(p).includes('ec2:CreateNetworkInterface'),
    )!;
    const networkPolicy = template.findResources('AWS::IAM::Policy')[networkPolicyId];
    expect(networkPolicy.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        Resource: '*',
      },
    ]);
    template.hasResource('AWS::Lambda::Function', {
      DependsOn: Match.arrayWith([networkPolicyId]),
      Properties: Match.objectLike({ VpcConfig: Match.anyValue() }),
    });
    const role = template.findResources('AWS::IAM::Role')[roleId];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe('PredictToTrade: alarms', () => {
  const alarmProps = {
    Threshold: 1,
    EvaluationPeriods: 1,
    Period: 300,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
    AlarmActions: Match.absent(),
  };

  test('on function errors', () => {
    const { template, trader } = newTrader();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...alarmProps,
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(trader.lambdaFunction) } }],
    });
    expect(trader.errorsAlarm).toBeDefined();
  });

  test('on orders with an unknown outcome, for this function only', () => {
    const { template, trader } = newTrader();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...alarmProps,
      Namespace: PREDICT_TO_TRADE_METRICS.namespace,
      MetricName: PREDICT_TO_TRADE_METRICS.ordersUnknown,
      Statistic: 'Sum',
      // The dimensions the handler's metrics carry (Powertools' service, and the function's name).
      Dimensions: [
        { Name: PREDICT_TO_TRADE_METRICS.functionNameDimension, Value: { Ref: logicalId(trader.lambdaFunction) } },
        { Name: 'service', Value: PREDICT_TO_TRADE_METRICS.serviceName },
      ],
    });
    expect(trader.unknownOutcomesAlarm).toBeDefined();
  });

  test('on messages in the dead-letter queue', () => {
    const { template, trader } = newTrader();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...alarmProps,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(trader.deadLetterQueue), 'QueueName'] } }],
    });
    expect(trader.deadLetterQueueAlarm).toBeDefined();
  });

  test('exactly three', () => {
    newTrader().template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
  });
});

describe('PredictToTrade: public properties', () => {
  test('every resource it creates is reachable', () => {
    const { trader } = newTrader();
    expect(trader.lambdaFunction).toBeInstanceOf(lambda.Function);
    expect(trader.rule).toBeInstanceOf(events.Rule);
    expect(trader.deadLetterQueue).toBeInstanceOf(sqs.Queue);
    expect(trader.logGroup).toBeInstanceOf(logs.LogGroup);
    expect(PredictToTrade.DEFAULT_SCHEDULE_RATE.toMinutes()).toBe(5);
  });
});
