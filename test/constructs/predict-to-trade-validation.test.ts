import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import { ModelOutputFormat, PredictToTrade, PredictToTradeProps } from '../../lib';
import { ACCOUNT, REGION, newConnection, newStack, substituteInputTemplate } from './fixtures';

/** Builds a PredictToTrade 'Trader' with the given props; returns a thunk for `toThrow`. */
function build(props: Partial<PredictToTradeProps>, stack: Stack = newStack()): () => PredictToTrade {
  return () => new PredictToTrade(stack, 'Trader', { connection: newConnection(stack), endpointName: 'demo-direction-model', ...props });
}

describe('PredictToTrade: one error per invalid prop', () => {
  test('endpointName must follow SageMaker naming', () => {
    expect(build({ endpointName: 'my_model' })).toThrow(
      /PredictToTrade 'Trader': endpointName must follow SageMaker's naming rule .*, got "my_model"/,
    );
  });

  test('targetVariant must follow SageMaker naming', () => {
    expect(build({ targetVariant: 'blue green' })).toThrow(/targetVariant must follow SageMaker's naming rule .*, got "blue green"/);
  });

  test('schedule and eventPattern cannot both be given', () => {
    expect(build({ schedule: events.Schedule.rate(Duration.hours(1)), eventPattern: { source: ['x'] } })).toThrow(
      /schedule and eventPattern cannot both be given/,
    );
  });

  test('features cannot be given with an eventPattern', () => {
    expect(build({ eventPattern: { source: ['x'] }, features: { a: 1 } })).toThrow(/features cannot be set: with an eventPattern/);
  });

  test('featuresPath cannot be given with a schedule', () => {
    expect(build({ featuresPath: '$.detail' })).toThrow(/featuresPath cannot be set: it applies only to an eventPattern/);
  });

  test('features must fit in an EventBridge input template', () => {
    expect(build({ features: { window: 'x'.repeat(8000) } })).toThrow(/features must be at most 8000 characters of JSON, got 8013/);
  });

  test("featuresPath must start with '$'", () => {
    expect(build({ eventPattern: { source: ['x'] }, featuresPath: 'detail.features' })).toThrow(
      /featuresPath must be a JSON path starting with '\$', got "detail.features"/,
    );
  });

  test('modelOutput.directionField must not be empty', () => {
    expect(build({ modelOutput: ModelOutputFormat.json({ directionField: '' }) })).toThrow(
      /modelOutput.directionField must not be empty, got ""/,
    );
  });

  test('modelOutput.confidenceField must not be empty', () => {
    expect(build({ modelOutput: ModelOutputFormat.json({ confidenceField: '' }) })).toThrow(
      /modelOutput.confidenceField must not be empty, got ""/,
    );
  });

  test('modelOutput fields must differ', () => {
    expect(build({ modelOutput: ModelOutputFormat.json({ directionField: 'out', confidenceField: 'out' }) })).toThrow(
      /directionField and confidenceField must differ, got "out" for both/,
    );
  });

  test('modelOutput.directionColumn must be a non-negative integer', () => {
    expect(build({ modelOutput: ModelOutputFormat.csv({ directionColumn: -1 }) })).toThrow(
      /modelOutput.directionColumn must be an integer of at least 0, got -1/,
    );
  });

  test('modelOutput.confidenceColumn must be a non-negative integer', () => {
    expect(build({ modelOutput: ModelOutputFormat.csv({ confidenceColumn: 1.5 }) })).toThrow(
      /modelOutput.confidenceColumn must be an integer of at least 0, got 1.5/,
    );
  });

  test('modelOutput columns must differ', () => {
    expect(build({ modelOutput: ModelOutputFormat.csv({ directionColumn: 1 }) })).toThrow(
      /directionColumn and confidenceColumn must differ, got 1 for both/,
    );
  });

  test('confidenceThreshold must be in [0, 1]', () => {
    expect(build({ confidenceThreshold: 1.5 })).toThrow(/PredictToTrade 'Trader': confidenceThreshold must be between 0 and 1, got 1.5/);
  });

  test('orderAmountUsdc must be positive', () => {
    expect(build({ orderAmountUsdc: 0 })).toThrow(/orderAmountUsdc must be a number greater than 0, got 0/);
  });

  test('orderAmountUsdc must not exceed maxOrderAmountUsdc', () => {
    expect(build({ orderAmountUsdc: 5000 })).toThrow(/orderAmountUsdc must be at most maxOrderAmountUsdc \(1000\), got 5000/);
  });

  test('maxOrderAmountUsdc must be positive', () => {
    expect(build({ maxOrderAmountUsdc: -1 })).toThrow(/maxOrderAmountUsdc must be a number greater than 0, got -1/);
  });

  test('maxOrderAmountUsdc must allow the default order amount', () => {
    expect(build({ maxOrderAmountUsdc: 20 })).toThrow(/maxOrderAmountUsdc must be at least orderAmountUsdc \(50\), got 20/);
  });

  test('maxDailyNotionalUsdc must be positive', () => {
    expect(build({ maxDailyNotionalUsdc: Number.NaN })).toThrow(/maxDailyNotionalUsdc must be a number greater than 0, got NaN/);
  });

  test('maxDailyNotionalUsdc must allow one order', () => {
    expect(build({ orderAmountUsdc: 100, maxDailyNotionalUsdc: 50 })).toThrow(
      /maxDailyNotionalUsdc must be at least orderAmountUsdc \(100\), got 50/,
    );
  });

  test('asset must be a market', () => {
    expect(build({ asset: 'BTC' })).toThrow(/asset must be a market like BTC-USDC, got "BTC"/);
  });

  test('maxSignalAge must be between 1 minute and 24 hours', () => {
    expect(build({ maxSignalAge: Duration.seconds(30) })).toThrow(/maxSignalAge must be between 1 minute and 1 day, got 30 seconds/);
  });

  test('functionOptions.role cannot be set', () => {
    const stack = newStack();
    const role = new iam.Role(stack, 'Mine', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(build({ functionOptions: { role } }, stack)).toThrow(
      /functionOptions.role cannot be set: the function gets its own least-privilege role/,
    );
  });

  test('functionOptions.logGroup cannot be set', () => {
    const stack = newStack();
    const logGroup = new logs.LogGroup(stack, 'Mine');
    expect(build({ functionOptions: { logGroup } }, stack)).toThrow(/functionOptions.logGroup cannot be set/);
  });

  test('functionOptions.logRetention cannot be set', () => {
    expect(build({ functionOptions: { logRetention: logs.RetentionDays.ONE_DAY } })).toThrow(
      /functionOptions.logRetention cannot be set: use the logRetention prop/,
    );
  });

  test('functionOptions.retryAttempts cannot be set', () => {
    expect(build({ functionOptions: { retryAttempts: 2 } })).toThrow(/functionOptions.retryAttempts cannot be set/);
  });

  test('functionOptions.maxEventAge cannot be set', () => {
    expect(build({ functionOptions: { maxEventAge: Duration.hours(1) } })).toThrow(
      /functionOptions.maxEventAge cannot be set: it follows maxSignalAge/,
    );
  });

  test('functionOptions.onFailure cannot be set', () => {
    const stack = newStack();
    const queue = new sqs.Queue(stack, 'Mine');
    expect(build({ functionOptions: { onFailure: new destinations.SqsDestination(queue) } }, stack)).toThrow(
      /functionOptions.onFailure cannot be set/,
    );
  });

  test("functionOptions.environment cannot set the construct's variables", () => {
    expect(build({ functionOptions: { environment: { DRY_RUN: 'false' } } })).toThrow(
      /functionOptions.environment.DRY_RUN cannot be set: the construct sets it/,
    );
  });

  test('every problem is reported in one error', () => {
    let message = '';
    try {
      build({ endpointName: 'bad_name', confidenceThreshold: -0.1, asset: '' })();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      "PredictToTrade 'Trader' has 3 invalid props:\n" +
        '  - endpointName must follow SageMaker\'s naming rule ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$, got "bad_name"\n' +
        '  - confidenceThreshold must be between 0 and 1, got -0.1\n' +
        '  - asset must be a market like BTC-USDC, got ""',
    );
  });

  test('valid edge values are accepted', () => {
    expect(
      build({
        endpointName: 'a',
        confidenceThreshold: 0,
        orderAmountUsdc: 1000,
        maxDailyNotionalUsdc: 1000,
        maxSignalAge: Duration.hours(24),
        modelOutput: ModelOutputFormat.csv({ directionColumn: 3, confidenceColumn: 0 }),
      }),
    ).not.toThrow();
    expect(build({ confidenceThreshold: 1, maxSignalAge: Duration.minutes(1) })).not.toThrow();
  });
});

describe('PredictToTrade: props that are tokens', () => {
  function tokenStack() {
    const stack = newStack();
    const endpointName = new CfnParameter(stack, 'EndpointName', { type: 'String' }).valueAsString;
    const threshold = new CfnParameter(stack, 'Threshold', { type: 'Number' }).valueAsNumber;
    const amount = new CfnParameter(stack, 'Amount', { type: 'Number' }).valueAsNumber;
    const asset = new CfnParameter(stack, 'Asset', { type: 'String' }).valueAsString;
    const trader = new PredictToTrade(stack, 'Trader', {
      connection: newConnection(stack),
      endpointName,
      confidenceThreshold: threshold,
      orderAmountUsdc: amount,
      // Would fail against a known amount above 10; with a token amount it cannot be checked here.
      maxOrderAmountUsdc: 10,
      asset,
      features: { region: stack.region, account: stack.account, symbol: Stack.of(stack).stackName },
    });
    return { stack, trader, template: Template.fromStack(stack) };
  }

  test('skip the checks that need a value', () => {
    expect(() => tokenStack()).not.toThrow();
  });

  test('reach the template as references: the endpoint ARN keeps the name as given', () => {
    const { template } = tokenStack();
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: 'sagemaker:InvokeEndpoint',
            Resource: {
              'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sagemaker:${REGION}:${ACCOUNT}:endpoint/`, { Ref: 'EndpointName' }]],
            },
          },
        ]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          ENDPOINT_NAME: { Ref: 'EndpointName' },
          CONFIDENCE_THRESHOLD: { Ref: 'Threshold' },
          ORDER_AMOUNT_USDC: { Ref: 'Amount' },
          ASSET: { Ref: 'Asset' },
        }),
      },
    });
  });

  test('static features holding tokens still make a valid envelope', () => {
    const { template } = tokenStack();
    const rule = Object.values(template.findResources('AWS::Events::Rule'))[0] as any;
    const inputTemplate = rule.Properties.Targets[0].InputTransformer.InputTemplate;
    // A stack with an explicit environment resolves region and account; the stack name is literal too.
    const text = typeof inputTemplate === 'string' ? inputTemplate : inputTemplate['Fn::Join'][1].join('');
    const delivered = JSON.parse(substituteInputTemplate(text, { 'id': 'e', 'time': 't', 'aws.events.rule-arn': 'arn' }));
    expect(delivered).toEqual({
      eventId: 'e',
      eventTime: 't',
      ruleArn: 'arn',
      features: { region: REGION, account: ACCOUNT, symbol: 'Test' },
    });
  });

  test('an unresolved token inside static features is kept as a reference, with the rule ARN unquoted', () => {
    const stack = newStack();
    const symbol = new CfnParameter(stack, 'Symbol', { type: 'String' }).valueAsString;
    new PredictToTrade(stack, 'Trader', { connection: newConnection(stack), endpointName: 'm', features: { symbol } });
    const rule = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule'))[0] as any;
    expect(rule.Properties.Targets[0].InputTransformer.InputTemplate).toEqual({
      'Fn::Join': [
        '',
        ['{"eventId":<id>,"eventTime":<time>,"ruleArn":<aws.events.rule-arn>,"features":{"symbol":"', { Ref: 'Symbol' }, '"}}'],
      ],
    });
  });

  test('a maxSignalAge token bounds the event ages by the 6-hour maximum', () => {
    const stack = newStack();
    const seconds = new CfnParameter(stack, 'MaxSignalAgeSeconds', { type: 'Number' }).valueAsNumber;
    new PredictToTrade(stack, 'Trader', {
      connection: newConnection(stack),
      endpointName: 'm',
      maxSignalAge: Duration.seconds(seconds),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumEventAgeInSeconds: 21600 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Environment: { Variables: Match.objectLike({ MAX_SIGNAL_AGE_SECONDS: { Ref: 'MaxSignalAgeSeconds' } }) },
    });
  });
});
