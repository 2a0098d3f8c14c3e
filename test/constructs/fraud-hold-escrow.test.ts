import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import validateAsl from 'asl-validator';
import { BatchPayout, FraudHoldEscrow, FraudHoldEscrowProps, HoldInputFormat } from '../../lib';
import {
  BATCH_SUMMARIZE_ENV,
  BatchInput,
  batchSummarizeEnvironment,
  BatchSummarizeSettings,
  PreparedRun,
  readBatchSummarizeSettings,
  RUN_FILES,
  SummarizeEvent,
} from '../../lib/private/contracts/batch-engine';
import { connectionEnvironment, readConnectionSettings } from '../../lib/private/contracts/connection-env';
import {
  FRAUD_HOLD_METRICS,
  FRAUD_HOLD_PREPARE_ENV,
  FraudHoldActSettings,
  FraudHoldPrepareSettings,
  HOLDS_LOG_FILE,
  HOLDS_SUMMARY_FILE,
  TRANSFORM_JOB_STATE_CHANGE,
  fraudHoldActEnvironment,
  fraudHoldPrepareEnvironment,
  readFraudHoldActSettings,
  readFraudHoldPrepareSettings,
} from '../../lib/private/contracts/fraud-hold-env';
import {
  ACCOUNT,
  REGION,
  arnWithPartition,
  at,
  format,
  logicalIdOf,
  newConnection,
  newFraudHoldEscrow,
  newStack,
  objectsOf,
  onlyResource,
  policiesOf,
  policy,
  renderDefinition,
  rules,
  sortStatements,
  variablesOf,
} from './fixtures';

const DEFAULT_BUS_ARN = arnWithPartition(`:events:${REGION}:${ACCOUNT}:event-bus/default`);
const transformJobs = (name: string) => arnWithPartition(`:sagemaker:${REGION}:${ACCOUNT}:transform-job/${name}`);

function stateMachineOf(holds: FraudHoldEscrow): string {
  return logicalIdOf(holds.stateMachine);
}

/** The rendered definition and its Distributed Map state. */
function definitionOf(template: Template, holds: FraudHoldEscrow): { definition: any; map: any } {
  const definition = renderDefinition(template, stateMachineOf(holds));
  return { definition, map: definition.States.HoldBatches };
}

/** Props with the transform-job trigger on and its bucket (imported by name). */
const transformTrigger = (stack: Stack, more: Partial<FraudHoldEscrowProps> = {}): Partial<FraudHoldEscrowProps> => ({
  transformJobTrigger: true,
  transformOutputBucket: s3.Bucket.fromBucketName(stack, 'TransformOutput', 'transform-output'),
  ...more,
});

const PREPARED_RUN: PreparedRun = {
  runId: 'run-2024-06-01',
  source: { bucket: 'transform-output', key: 'fraud-2024-06-01/', etag: '0a1b2c' },
  runFolder: { bucket: 'holds-bucket', prefix: 'purpleflea-holds/run-2024-06-01' },
  inputKey: `purpleflea-holds/run-2024-06-01/${RUN_FILES.input}`,
  rowsToAct: 2,
  totalToActUsdc: 640,
};

describe('FraudHoldEscrow: the workflow', () => {
  test('a Standard state machine: Prepare, then the Distributed Map of Hold batches, then Summarize', () => {
    const { template, holds } = newFraudHoldEscrow();
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    const { definition } = definitionOf(template, holds);
    expect(definition.StartAt).toBe('Prepare');
    expect(Object.keys(definition.States)).toEqual(['Prepare', 'HoldBatches', 'Summarize']);
    expect(definition.States.Prepare.Next).toBe('HoldBatches');
    expect(definition.States.HoldBatches.Next).toBe('Summarize');
    expect(definition.States.Summarize.End).toBe(true);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'STANDARD' });
  });

  test('Prepare gets the run id (the execution name) and the execution input, and its answer becomes the state', () => {
    const { template, holds } = newFraudHoldEscrow();
    const prepare = definitionOf(template, holds).definition.States.Prepare;
    expect(prepare.Resource).toBe('arn:aws:states:::lambda:invoke');
    expect(prepare.Parameters).toEqual({
      FunctionName: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalIdOf(holds.prepareFunction)}`,
      Payload: { 'runId.$': '$$.Execution.Name', 'input.$': '$' },
    });
    expect(prepare.OutputPath).toBe('$.Payload');
  });

  test('the Map state, as synthesized: CSV reader over the run input, batches with BatchInput, the Act function per batch, results to the run folder', () => {
    const { template, holds } = newFraudHoldEscrow();
    const { map } = definitionOf(template, holds);
    const outputBucket = `bucket-${logicalIdOf(holds.outputBucket).toLowerCase()}`;
    const lambdaRetries = [
      {
        ErrorEquals: [
          'Lambda.ClientExecutionTimeoutException',
          'Lambda.ServiceException',
          'Lambda.AWSLambdaException',
          'Lambda.SdkClientException',
        ],
        IntervalSeconds: 2,
        MaxAttempts: 6,
        BackoffRate: 2,
      },
      { ErrorEquals: ['Lambda.TooManyRequestsException'], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2, JitterStrategy: 'FULL' },
    ];
    expect(map).toEqual({
      Type: 'Map',
      Label: 'HoldBatches',
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
        Parameters: { 'Bucket': outputBucket, 'Key.$': '$.inputKey' },
      },
      ItemBatcher: {
        MaxItemsPerBatch: 100,
        BatchInput: {
          'runId.$': '$.runId',
          'sourceBucket.$': '$.source.bucket',
          'sourceKey.$': '$.source.key',
          'sourceEtag.$': '$.source.etag',
        },
      },
      MaxConcurrency: 10,
      // ToleratedFailurePercentage 0 is left out: the same, no failed batch is tolerated.
      ResultWriter: {
        Resource: 'arn:aws:states:::s3:putObject',
        Parameters: { 'Bucket': outputBucket, 'Prefix.$': "States.Format('{}/map-results', $.runFolder.prefix)" },
      },
      ResultPath: '$.mapResult',
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'Hold',
        States: {
          Hold: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: {
              'FunctionName': `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalIdOf(holds.actFunction)}`,
              'Payload.$': '$',
            },
            OutputPath: '$.Payload',
            Retry: lambdaRetries,
            End: true,
          },
        },
      },
      Next: 'Summarize',
    });
  });

  test('itemsPerBatch, maxConcurrency and toleratedFailurePercentage reach the Map state', () => {
    const { template, holds } = newFraudHoldEscrow({ itemsPerBatch: 250, maxConcurrency: 4, toleratedFailurePercentage: 5 });
    const { map } = definitionOf(template, holds);
    expect(map.ItemBatcher.MaxItemsPerBatch).toBe(250);
    expect(map.MaxConcurrency).toBe(4);
    expect(map.ToleratedFailurePercentage).toBe(5);
  });

  test('Summarize gets the whole state, and its answer is the execution output', () => {
    const { template, holds } = newFraudHoldEscrow();
    const summarize = definitionOf(template, holds).definition.States.Summarize;
    expect(summarize.Parameters).toEqual({
      'FunctionName': `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalIdOf(holds.summarizeFunction)}`,
      'Payload.$': '$',
    });
    expect(summarize.OutputPath).toBe('$.Payload');
  });

  test('the JSON paths read what the contract says Prepare returns (checked from the construct side)', () => {
    const { template, holds } = newFraudHoldEscrow();
    const { map } = definitionOf(template, holds);
    expect(at(PREPARED_RUN, map.ItemReader.Parameters['Key.$'])).toBe(PREPARED_RUN.inputKey);
    const batchInput = Object.fromEntries(
      Object.entries(map.ItemBatcher.BatchInput as { [key: string]: string }).map(([key, path]) => [
        key.replace(/\.\$$/, ''),
        at(PREPARED_RUN, path),
      ]),
    );
    const expected: BatchInput = {
      runId: 'run-2024-06-01',
      sourceBucket: 'transform-output',
      sourceKey: 'fraud-2024-06-01/',
      sourceEtag: '0a1b2c',
    };
    expect(batchInput).toEqual(expected);
    expect(format(PREPARED_RUN, map.ResultWriter.Parameters['Prefix.$'])).toBe(`purpleflea-holds/run-2024-06-01/${RUN_FILES.mapResults}`);
    const mapResultField: keyof SummarizeEvent = 'mapResult';
    expect(map.ResultPath).toBe(`$.${mapResultField}`);
  });

  test.each<[string, (stack: Stack) => Partial<FraudHoldEscrowProps>]>([
    ['the defaults', () => ({})],
    [
      'large batches, high concurrency, every failure tolerated, no prefix',
      () => ({ itemsPerBatch: 1000, maxConcurrency: 200, maxRequestsPerSecond: 1000, toleratedFailurePercentage: 100, outputPrefix: '' }),
    ],
    [
      'every trigger, CSV input',
      (stack) => ({
        ...transformTrigger(stack, { transformJobNamePrefix: 'fraud-', transformOutputPrefix: 'transform/' }),
        sourceBucket: new s3.Bucket(stack, 'Scored'),
        sourceSuffix: '.csv',
        inputFormat: HoldInputFormat.CSV,
        toleratedFailurePercentage: 1,
      }),
    ],
  ])('the definition is valid Amazon States Language (asl-validator) with %s', (_name, props) => {
    const stack = newStack();
    const { template, holds } = newFraudHoldEscrow(props(stack), stack);
    const result = validateAsl(renderDefinition(template, stateMachineOf(holds)));
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  test('asl-validator does catch an invalid Map state (the check is not vacuous)', () => {
    const { template, holds } = newFraudHoldEscrow();
    const definition = renderDefinition(template, stateMachineOf(holds));
    definition.States.HoldBatches.ItemBatcher.MaxItemsPerBatch = 'many';
    expect(validateAsl(definition).isValid).toBe(false);
  });

  test('logs every event, with the execution data, to its own log group; traced', () => {
    const { template, holds } = newFraudHoldEscrow();
    const { resource } = onlyResource(template, 'AWS::StepFunctions::StateMachine');
    expect(resource.Properties.LoggingConfiguration).toEqual({
      Level: 'ALL',
      IncludeExecutionData: true,
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logicalIdOf(holds.logGroup as logs.LogGroup), 'Arn'] } } }],
    });
    expect(resource.Properties.TracingConfiguration).toEqual({ Enabled: true });
  });
});

describe('FraudHoldEscrow: triggers', () => {
  test('with no trigger, runs start only by hand: no rule, no dead-letter queue', () => {
    const { template, holds } = newFraudHoldEscrow();
    template.resourceCountIs('AWS::Events::Rule', 0);
    template.resourceCountIs('AWS::SQS::Queue', 0);
    expect(holds.objectCreatedRule).toBeUndefined();
    expect(holds.transformJobRule).toBeUndefined();
    expect(holds.deadLetterQueue).toBeUndefined();
    expect(holds.deadLetterQueueAlarm).toBeUndefined();
  });

  test('a transform-job trigger with a prefix matches exactly the Completed transform jobs whose name starts with it, case kept', () => {
    const stack = newStack();
    const { template, holds } = newFraudHoldEscrow(
      transformTrigger(stack, { transformJobTrigger: undefined, transformJobNamePrefix: 'Fraud-Scores-' }),
      stack,
    );
    expect(rules(template).map((r) => r.EventPattern)).toEqual([
      {
        'source': ['aws.sagemaker'],
        'detail-type': ['SageMaker Transform Job State Change'],
        'detail': { TransformJobStatus: ['Completed'], TransformJobName: [{ prefix: 'Fraud-Scores-' }] },
      },
    ]);
    expect(TRANSFORM_JOB_STATE_CHANGE).toEqual({
      source: 'aws.sagemaker',
      detailType: 'SageMaker Transform Job State Change',
      completedStatus: 'Completed',
    });
    expect(holds.transformJobRule).toBeDefined();
    expect(logicalIdOf(holds.transformJobRule!)).toMatch(/^HoldsTransformJobRule/);
  });

  test('transformJobTrigger without a prefix matches every Completed transform job', () => {
    const stack = newStack();
    const { template } = newFraudHoldEscrow(transformTrigger(stack), stack);
    expect(rules(template).map((r) => r.EventPattern)).toEqual([
      {
        'source': ['aws.sagemaker'],
        'detail-type': ['SageMaker Transform Job State Change'],
        'detail': { TransformJobStatus: ['Completed'] },
      },
    ]);
  });

  test.each<[string, { sourcePrefix?: string; sourceSuffix?: string }, any]>([
    ['every object of the bucket', {}, undefined],
    ['a prefix', { sourcePrefix: 'scored/' }, { key: [{ prefix: 'scored/' }] }],
    ['a suffix', { sourceSuffix: '.out' }, { key: [{ suffix: '.out' }] }],
    ['a prefix and a suffix, as one wildcard', { sourcePrefix: 'scored/', sourceSuffix: '.out' }, { key: [{ wildcard: 'scored/*.out' }] }],
  ])('an S3 trigger matches exactly the Object Created events of the bucket, for %s', (_name, keyProps, object) => {
    const stack = newStack();
    const sourceBucket = s3.Bucket.fromBucketName(stack, 'Scored', 'my-scored');
    const { template } = newFraudHoldEscrow({ sourceBucket, ...keyProps }, stack);
    expect(rules(template)).toHaveLength(1);
    expect(rules(template)[0].EventPattern).toEqual({
      'source': ['aws.s3'],
      'detail-type': ['Object Created'],
      'detail': { bucket: { name: ['my-scored'] }, ...(object !== undefined ? { object } : {}) },
    });
  });

  test('a source bucket of the stack gets EventBridge notifications turned on', () => {
    const stack = newStack();
    const sourceBucket = new s3.Bucket(stack, 'Scored');
    const { template } = newFraudHoldEscrow({ sourceBucket }, stack);
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: logicalIdOf(sourceBucket) },
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
  });

  test('each rule starts an execution with the whole event, retried for 24 hours, failures to the one dead-letter queue', () => {
    const stack = newStack();
    const { template, holds } = newFraudHoldEscrow(
      { ...transformTrigger(stack), sourceBucket: s3.Bucket.fromBucketName(stack, 'Scored', 'my-scored') },
      stack,
    );
    template.resourceCountIs('AWS::SQS::Queue', 1);
    const eventsRole = holds.stateMachine.node.findChild('EventsRole') as iam.Role;
    expect(rules(template)).toHaveLength(2);
    for (const rule of rules(template)) {
      expect(rule.State).toBe('ENABLED');
      expect(rule.Targets).toEqual([
        {
          Id: 'Target0',
          Arn: { Ref: stateMachineOf(holds) },
          RoleArn: { 'Fn::GetAtt': [logicalIdOf(eventsRole), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalIdOf(holds.deadLetterQueue!), 'Arn'] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        },
      ]);
    }
    expect(policy(template, eventsRole, 'HoldsWorkflowStateMachineEventsRoleDefaultPolicy')).toEqual([
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: stateMachineOf(holds) } },
    ]);
  });

  test('enabled: false creates the rules disabled and tells Prepare, and Act (finding 5)', () => {
    const stack = newStack();
    const { template, holds } = newFraudHoldEscrow(
      { enabled: false, ...transformTrigger(stack), sourceBucket: s3.Bucket.fromBucketName(stack, 'Scored', 'my-scored') },
      stack,
    );
    expect(rules(template).map((r) => r.State)).toEqual(['DISABLED', 'DISABLED']);
    expect(variablesOf(template, holds.prepareFunction)[FRAUD_HOLD_PREPARE_ENV.enabled]).toBe('false');
    expect(readFraudHoldActSettings(variablesOf(template, holds.actFunction)).enabled).toBe(false);
  });
});

describe('FraudHoldEscrow: the functions', () => {
  test('three bundled handlers: arm64, traced; 15 minutes and 1024 MB for Prepare and Summarize, 5 minutes and 256 MB for Act', () => {
    const { template, holds } = newFraudHoldEscrow();
    template.resourceCountIs('AWS::Lambda::Function', 3);
    const props = (fn: any) => template.toJSON().Resources[logicalIdOf(fn)].Properties;
    for (const fn of [holds.prepareFunction, holds.actFunction, holds.summarizeFunction]) {
      expect(props(fn)).toMatchObject({
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
      });
    }
    expect([holds.prepareFunction, holds.actFunction, holds.summarizeFunction].map((fn) => props(fn).Timeout)).toEqual([900, 300, 900]);
    expect(props(holds.prepareFunction).MemorySize).toBe(1024);
    expect(props(holds.actFunction).MemorySize).toBe(256);
    expect(props(holds.summarizeFunction).MemorySize).toBe(1024);
  });

  test('the fraud-hold handler bundles', () => {
    const { template, holds } = newFraudHoldEscrow();
    const description = (fn: any) => template.toJSON().Resources[logicalIdOf(fn)].Properties.Description;
    expect(description(holds.prepareFunction)).toMatch(/^FraudHoldEscrow Prepare: /);
    expect(description(holds.actFunction)).toMatch(/^FraudHoldEscrow Act: /);
    expect(description(holds.summarizeFunction)).toMatch(/^FraudHoldEscrow Summarize: /);
    // The asset folder of each (the staged asset keeps the handler's bundle).
    const stack = Stack.of(holds);
    const assetPaths = [holds.prepareFunction, holds.actFunction, holds.summarizeFunction].map(
      (fn) => stack.resolve((fn.node.defaultChild as any).code).s3Key,
    );
    expect(new Set(assetPaths).size).toBe(3);
  });

  test('invoked synchronously by Step Functions: no async invocation settings, no Lambda permission', () => {
    const { template } = newFraudHoldEscrow();
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
    template.resourceCountIs('AWS::Lambda::Permission', 0);
  });

  test("functionOptions apply to all three, beside the construct's variables", () => {
    const { template, holds } = newFraudHoldEscrow({
      functionOptions: { memorySize: 2048, timeout: Duration.minutes(10), environment: { POWERTOOLS_LOG_LEVEL: 'DEBUG' } },
    });
    for (const fn of [holds.prepareFunction, holds.actFunction, holds.summarizeFunction]) {
      const properties = template.toJSON().Resources[logicalIdOf(fn)].Properties;
      expect(properties).toMatchObject({ MemorySize: 2048, Timeout: 600 });
      expect(properties.Environment.Variables).toMatchObject({
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
        POWERTOOLS_SERVICE_NAME: 'fraud-hold-escrow',
      });
    }
  });

  test('each function and the state machine log to their own log group, kept as long as logRetention says', () => {
    const { template } = newFraudHoldEscrow({ logRetention: logs.RetentionDays.ONE_YEAR });
    template.resourceCountIs('AWS::Logs::LogGroup', 4);
    expect(Object.values(template.findResources('AWS::Logs::LogGroup')).map((g: any) => g.Properties.RetentionInDays)).toEqual([
      365, 365, 365, 365,
    ]);
  });
});

describe('FraudHoldEscrow: the handler environments', () => {
  const common = {
    NODE_OPTIONS: '--enable-source-maps',
    POWERTOOLS_SERVICE_NAME: FRAUD_HOLD_METRICS.serviceName,
    POWERTOOLS_METRICS_NAMESPACE: FRAUD_HOLD_METRICS.namespace,
  };
  const connectionVariables = (stack: Stack, connection: any) =>
    stack.resolve(
      connectionEnvironment({
        secretArn: connection.apiKeySecret.secretArn,
        apiKeyField: 'key',
        agentIdField: 'agent_id',
        baseUrl: 'https://api.purpleflea.com',
        ledgerTableName: connection.ledgerTable.tableName,
        requestTimeoutMs: 10_000,
      }),
    );

  test('Prepare: exactly what the contract produces from the props, reading back to the same settings; no connection (it calls no one)', () => {
    const stack = newStack();
    const { template, holds } = newFraudHoldEscrow(
      {
        outputBucket: s3.Bucket.fromBucketName(stack, 'Out', 'my-holds'),
        outputPrefix: 'runs/holds',
        inputFormat: HoldInputFormat.CSV,
        transactionIdField: 'txn',
        buyerField: 'payer',
        sellerField: 'payee',
        amountField: 'usdc',
        fraudScoreField: 'SageMakerOutput.fraud_score',
        fraudScoreThreshold: 0.95,
        maxHoldUsdc: 250,
        maxBatchTotalUsdc: 5000,
        objectSuffix: '.jsonl.out',
        enabled: true,
      },
      stack,
    );
    // Written out by hand: the construct's side of the contract, not a copy of its code.
    const settings: FraudHoldPrepareSettings = {
      inputFormat: 'CSV',
      transactionIdField: 'txn',
      buyerField: 'payer',
      sellerField: 'payee',
      amountField: 'usdc',
      fraudScoreField: 'SageMakerOutput.fraud_score',
      fraudScoreThreshold: 0.95,
      maxHoldUsdc: 250,
      maxBatchTotalUsdc: 5000,
      objectSuffix: '.jsonl.out',
      outputBucket: 'my-holds',
      outputPrefix: 'runs/holds',
      enabled: true,
    };
    const variables = variablesOf(template, holds.prepareFunction);
    expect(variables).toEqual({ ...common, ...fraudHoldPrepareEnvironment(settings) });
    expect(readFraudHoldPrepareSettings(variables)).toEqual(settings);
  });

  test('Prepare defaults: JSON Lines, transaction_id/buyer/seller/amount/fraud_score, above 0.80, $1000 a hold, $100000 a run, .out objects', () => {
    const { template, holds } = newFraudHoldEscrow();
    const variables = variablesOf(template, holds.prepareFunction);
    expect(variables[FRAUD_HOLD_PREPARE_ENV.outputBucket]).toEqual({ Ref: logicalIdOf(holds.outputBucket) });
    expect(readFraudHoldPrepareSettings({ ...variables, [FRAUD_HOLD_PREPARE_ENV.outputBucket]: 'out' })).toEqual({
      inputFormat: 'JSON_LINES',
      transactionIdField: 'transaction_id',
      buyerField: 'buyer',
      sellerField: 'seller',
      amountField: 'amount',
      fraudScoreField: 'fraud_score',
      fraudScoreThreshold: 0.8,
      maxHoldUsdc: 1000,
      maxBatchTotalUsdc: 100000,
      objectSuffix: '.out',
      outputBucket: 'out',
      outputPrefix: 'purpleflea-holds',
      enabled: true,
    });
  });

  test('an empty outputPrefix and an empty objectSuffix reach Prepare as the contract writes them, and read back empty', () => {
    const { template, holds } = newFraudHoldEscrow({ outputPrefix: '', objectSuffix: '' });
    const variables = variablesOf(template, holds.prepareFunction);
    const settings = readFraudHoldPrepareSettings({ ...variables, [FRAUD_HOLD_PREPARE_ENV.outputBucket]: 'out' });
    expect(settings.outputPrefix).toBe('');
    expect(settings.objectSuffix).toBe('');
  });

  test('Act: the connection, the condition template and its share of the run rate (maxRequestsPerSecond / maxConcurrency), reading back', () => {
    const stack = newStack();
    const { template, holds, connection } = newFraudHoldEscrow(
      {
        maxRequestsPerSecond: 200,
        maxConcurrency: 8,
        actConcurrency: 20,
        itemsPerBatch: 50,
        conditionTemplate: 'fraud_review:{transactionId}:{jobName}:{fraudScore}',
        dryRun: true,
        maxHoldUsdc: 250,
        maxBatchTotalUsdc: 5000,
      },
      stack,
    );
    const settings: FraudHoldActSettings = {
      conditionTemplate: 'fraud_review:{transactionId}:{jobName}:{fraudScore}',
      requestsPerSecond: 25,
      concurrency: 20,
      dryRun: true,
      enabled: true,
      // The caps too (finding 11): Act checks each row against them again.
      maxHoldUsdc: 250,
      maxBatchTotalUsdc: 5000,
    };
    const variables = variablesOf(template, holds.actFunction);
    expect(variables).toEqual({ ...common, ...connectionVariables(stack, connection), ...fraudHoldActEnvironment(settings) });
    expect(readFraudHoldActSettings(variables)).toEqual(settings);
  });

  test("Act defaults: the story's condition, 10 requests a second over 10 batches in flight is 1 a second per batch, 5 in flight, live", () => {
    const { template, holds } = newFraudHoldEscrow();
    expect(readFraudHoldActSettings(variablesOf(template, holds.actFunction))).toEqual({
      conditionTemplate: 'manual_review_cleared:fraud_score={fraudScore}',
      requestsPerSecond: 1,
      concurrency: 5,
      dryRun: false,
      enabled: true,
      maxHoldUsdc: 1000,
      maxBatchTotalUsdc: 100_000,
    });
  });

  test('Summarize: the connection (it reads the ledger), the bus ARN and dry run, reading back', () => {
    const stack = newStack();
    const eventBus = events.EventBus.fromEventBusArn(stack, 'Bus', `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/holds`);
    const { template, holds, connection } = newFraudHoldEscrow({ eventBus, dryRun: true }, stack);
    const settings: BatchSummarizeSettings = { eventBusName: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/holds`, dryRun: true };
    const variables = variablesOf(template, holds.summarizeFunction);
    expect(variables).toEqual({ ...common, ...connectionVariables(stack, connection), ...batchSummarizeEnvironment(settings) });
    expect(readBatchSummarizeSettings(variables)).toEqual(settings);
    expect(readConnectionSettings(variables, 'test').ledgerTableName).toEqual({ Ref: logicalIdOf(connection.ledgerTable) });
    expect(holds.eventBus).toBe(eventBus);
  });

  test('Summarize defaults: the default bus, by ARN; live', () => {
    const { template, holds } = newFraudHoldEscrow();
    const variables = variablesOf(template, holds.summarizeFunction);
    expect(variables[BATCH_SUMMARIZE_ENV.eventBusName]).toEqual(DEFAULT_BUS_ARN);
    expect(variables[BATCH_SUMMARIZE_ENV.dryRun]).toBe('false');
  });
});

describe('FraudHoldEscrow: permissions', () => {
  test('each role has no managed policy and writes only to its own log group', () => {
    const { template, holds } = newFraudHoldEscrow();
    for (const fn of [holds.prepareFunction, holds.actFunction, holds.summarizeFunction]) {
      const role = template.toJSON().Resources[logicalIdOf(fn.role as iam.Role)];
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.Policies[0].PolicyDocument.Statement).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/LogGroup/), 'Arn'] },
        },
      ]);
    }
  });

  test('Prepare with both triggers: writes its run files, reads the source under its prefix, lists and reads the transform output under its prefix, describes the jobs', () => {
    const stack = newStack();
    const sourceBucket = new s3.Bucket(stack, 'Scored');
    const transformOutputBucket = new s3.Bucket(stack, 'TransformOut');
    const { template, holds } = newFraudHoldEscrow(
      {
        sourceBucket,
        sourcePrefix: 'scored/',
        transformJobNamePrefix: 'Fraud-Scores-',
        transformOutputBucket,
        transformOutputPrefix: 'transform/',
      },
      stack,
    );
    const role = holds.prepareFunction.role!;
    expect(Object.keys(policiesOf(template, role)).sort()).toEqual([
      expect.stringMatching(/^HoldsPrepareAccess/),
      expect.stringMatching(/^HoldsPrepareTracing/),
    ]);
    expect(policy(template, role, 'HoldsPrepareAccess')).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
        Resource: [
          objectsOf(holds.outputBucket, 'purpleflea-holds/*/input.csv'),
          objectsOf(holds.outputBucket, 'purpleflea-holds/*/prepare_report.json'),
        ],
      },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: objectsOf(sourceBucket, 'scored/*') },
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': [logicalIdOf(transformOutputBucket), 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['transform/*'] } },
      },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: objectsOf(transformOutputBucket, 'transform/*') },
      // The name prefix in lower case, as SageMaker writes ARNs.
      { Effect: 'Allow', Action: 'sagemaker:DescribeTransformJob', Resource: transformJobs('fraud-scores-*') },
    ]);
    // In place before the function can run.
    const accessId = Object.keys(policiesOf(template, role)).find((id) => id.startsWith('HoldsPrepareAccess'));
    expect(template.toJSON().Resources[logicalIdOf(holds.prepareFunction)].DependsOn).toEqual(expect.arrayContaining([accessId]));
  });

  test('Prepare without an output prefix lists and reads the whole transform output bucket; without a job prefix describes any transform job', () => {
    const stack = newStack();
    const { template, holds } = newFraudHoldEscrow(transformTrigger(stack), stack);
    expect(policy(template, holds.prepareFunction.role!, 'HoldsPrepareAccess').slice(1)).toEqual([
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: arnWithPartition(':s3:::transform-output') },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: arnWithPartition(':s3:::transform-output/*') },
      { Effect: 'Allow', Action: 'sagemaker:DescribeTransformJob', Resource: transformJobs('*') },
    ]);
  });

  test('Prepare with no trigger may only write its run files', () => {
    const { template, holds } = newFraudHoldEscrow();
    expect(policy(template, holds.prepareFunction.role!, 'HoldsPrepareAccess')).toHaveLength(1);
  });

  test('a transform output bucket encrypted with a KMS key: Prepare may decrypt with it, nothing more', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'TransformKey');
    const transformOutputBucket = new s3.Bucket(stack, 'TransformOut', { encryptionKey: key });
    const { template, holds } = newFraudHoldEscrow({ transformJobTrigger: true, transformOutputBucket }, stack);
    expect(policy(template, holds.prepareFunction.role!, 'HoldsPrepareRoleDefaultPolicy')).toEqual([
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [logicalIdOf(key), 'Arn'] } },
    ]);
  });

  test('Act: the secret and the ledger, nothing else', () => {
    const { template, holds, connection } = newFraudHoldEscrow();
    const role = holds.actFunction.role!;
    expect(Object.keys(policiesOf(template, role)).sort()).toEqual([
      expect.stringMatching(/^HoldsActRoleDefaultPolicy/),
      expect.stringMatching(/^HoldsActTracing/),
    ]);
    expect(sortStatements(policy(template, role, 'HoldsActRoleDefaultPolicy'))).toEqual(
      sortStatements([
        {
          Effect: 'Allow',
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Resource: arnWithPartition(`:secretsmanager:${REGION}:${ACCOUNT}:secret:PurpleFleaApiKey-??????`),
        },
        {
          // Only what the money path calls, and only hold keys.
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          Resource: { 'Fn::GetAtt': [logicalIdOf(connection.ledgerTable), 'Arn'] },
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:hold:*'] } },
        },
      ]),
    );
  });

  test('Summarize: reads the run files and ledger records, writes holds_log.jsonl and holds_summary.json only, puts events on the one bus; no secret', () => {
    const { template, holds, connection } = newFraudHoldEscrow();
    const role = holds.summarizeFunction.role!;
    expect(policy(template, role, 'HoldsSummarizeAccess')).toEqual([
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: ['prepare_report.json', 'input.csv', 'map-results/*'].map((file) =>
          objectsOf(holds.outputBucket, `purpleflea-holds/*/${file}`),
        ),
      },
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
        Resource: [HOLDS_LOG_FILE, HOLDS_SUMMARY_FILE].map((file) => objectsOf(holds.outputBucket, `purpleflea-holds/*/${file}`)),
      },
    ]);
    expect([HOLDS_LOG_FILE, HOLDS_SUMMARY_FILE]).toEqual(['holds_log.jsonl', 'holds_summary.json']);
    expect(sortStatements(policy(template, role, 'HoldsSummarizeRoleDefaultPolicy'))).toEqual(
      sortStatements([
        {
          // Reads single records, only hold keys; never writes.
          Effect: 'Allow',
          Action: 'dynamodb:GetItem',
          Resource: { 'Fn::GetAtt': [logicalIdOf(connection.ledgerTable), 'Arn'] },
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:hold:*'] } },
        },
        { Effect: 'Allow', Action: 'events:PutEvents', Resource: DEFAULT_BUS_ARN },
      ]),
    );
  });

  test('the state machine role: invokes the three functions, reads input.csv and writes map-results of the run folders, runs its own Map', () => {
    const { template, holds } = newFraudHoldEscrow();
    const role = holds.stateMachine.role;
    const stateMachine = stateMachineOf(holds);
    const fnArn = (fn: any) => ({ 'Fn::GetAtt': [logicalIdOf(fn), 'Arn'] });
    const executions = (suffix: string) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          `:states:${REGION}:${ACCOUNT}:execution:`,
          { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: stateMachine }] }] },
          suffix,
        ],
      ],
    });
    expect(
      Object.keys(policiesOf(template, role))
        .map((id) => id.replace(/[0-9A-F]{8}$/, ''))
        .sort(),
    ).toEqual([
      'HoldsWorkflowLogDelivery',
      'HoldsWorkflowRunFolderAccess',
      'HoldsWorkflowStateMachineDistributedMapPolicy',
      'HoldsWorkflowStateMachineRoleDefaultPolicy',
      'HoldsWorkflowTracing',
    ]);
    expect(sortStatements(policy(template, role, 'HoldsWorkflowStateMachineRoleDefaultPolicy'))).toEqual(
      sortStatements(
        [holds.prepareFunction, holds.actFunction, holds.summarizeFunction].map((fn) => ({
          Effect: 'Allow',
          Action: 'lambda:InvokeFunction',
          Resource: [fnArn(fn), { 'Fn::Join': ['', [fnArn(fn), ':*']] }],
        })),
      ),
    );
    expect(policy(template, role, 'HoldsWorkflowRunFolderAccess')).toEqual([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: objectsOf(holds.outputBucket, 'purpleflea-holds/*/input.csv') },
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
        Resource: objectsOf(holds.outputBucket, 'purpleflea-holds/*/map-results/*'),
      },
    ]);
    expect(policy(template, role, 'HoldsWorkflowStateMachineDistributedMapPolicy')).toEqual([
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: stateMachine } },
      { Effect: 'Allow', Action: ['states:DescribeExecution', 'states:StopExecution'], Resource: executions(':*') },
      { Effect: 'Allow', Action: 'states:RedriveExecution', Resource: executions('/HoldBatches:*') },
    ]);
  });

  test("an empty outputPrefix scopes everything to the run files at the bucket's root", () => {
    const { template, holds } = newFraudHoldEscrow({ outputPrefix: '' });
    expect(policy(template, holds.stateMachine.role, 'HoldsWorkflowRunFolderAccess').map((s) => s.Resource)).toEqual([
      objectsOf(holds.outputBucket, '*/input.csv'),
      objectsOf(holds.outputBucket, '*/map-results/*'),
    ]);
    expect(policy(template, holds.summarizeFunction.role!, 'HoldsSummarizeAccess')[1].Resource).toEqual([
      objectsOf(holds.outputBucket, '*/holds_log.jsonl'),
      objectsOf(holds.outputBucket, '*/holds_summary.json'),
    ]);
  });

  test('an output bucket encrypted with a KMS key: the key is granted to the roles that read or write it, by named actions', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key');
    const outputBucket = new s3.Bucket(stack, 'Out', { encryptionKey: key, enforceSSL: true });
    const { template, holds } = newFraudHoldEscrow({ outputBucket }, stack);
    const keyActions = (role: iam.IRole) =>
      Object.values(policiesOf(template, role))
        .flat()
        .filter((s) => JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(key), 'Arn'] }))
        .flatMap((s) => s.Action);
    for (const role of [holds.prepareFunction.role!, holds.summarizeFunction.role!, holds.stateMachine.role]) {
      expect(keyActions(role)).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    }
    expect(keyActions(holds.actFunction.role!)).toEqual([]);
  });
});

describe('FraudHoldEscrow: the output bucket', () => {
  test('by default a new one: S3-managed encryption, TLS only, public access blocked, versioned, retained', () => {
    const { template, holds } = newFraudHoldEscrow();
    template.resourceCountIs('AWS::S3::Bucket', 1);
    const bucket = template.toJSON().Resources[logicalIdOf(holds.outputBucket)];
    expect(bucket).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(bucket.Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalIdOf(holds.outputBucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('a given bucket is used as it is, and no bucket is created', () => {
    const stack = newStack();
    const outputBucket = s3.Bucket.fromBucketName(stack, 'Out', 'my-holds');
    const { template, holds } = newFraudHoldEscrow({ outputBucket }, stack);
    template.resourceCountIs('AWS::S3::Bucket', 0);
    expect(holds.outputBucket).toBe(outputBucket);
    expect(holds.outputPrefix).toBe('purpleflea-holds');
  });
});

describe('FraudHoldEscrow: alarms', () => {
  test('failed runs, unknown holds of the Act function, and the dead-letter queue, each at the first occurrence in 5 minutes', () => {
    const stack = newStack();
    const { template, holds } = newFraudHoldEscrow(transformTrigger(stack), stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    const alarm = (a: any) => template.toJSON().Resources[logicalIdOf(a)].Properties;
    const onAny = {
      Threshold: 1,
      EvaluationPeriods: 1,
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    };
    expect(alarm(holds.executionsFailedAlarm)).toMatchObject({
      ...onAny,
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: stateMachineOf(holds) } }],
    });
    expect(alarm(holds.unknownOutcomesAlarm)).toMatchObject({
      ...onAny,
      Namespace: FRAUD_HOLD_METRICS.namespace,
      MetricName: FRAUD_HOLD_METRICS.holdsUnknown,
      Statistic: 'Sum',
      Dimensions: [
        { Name: FRAUD_HOLD_METRICS.functionNameDimension, Value: { Ref: logicalIdOf(holds.actFunction) } },
        { Name: 'service', Value: FRAUD_HOLD_METRICS.serviceName },
      ],
    });
    expect(alarm(holds.deadLetterQueueAlarm!)).toMatchObject({
      ...onAny,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
    });
  });
});

describe('FraudHoldEscrow: props that are tokens', () => {
  test('skip the checks that need a value, and reach the environment, the rule and the policies as references', () => {
    const stack = newStack();
    const text = (id: string) => new CfnParameter(stack, id, { type: 'String' }).valueAsString;
    const number = (id: string) => new CfnParameter(stack, id, { type: 'Number' }).valueAsNumber;
    const { template, holds } = newFraudHoldEscrow(
      {
        transformJobNamePrefix: text('JobPrefix'),
        transformOutputBucket: s3.Bucket.fromBucketName(stack, 'TransformOutput', 'transform-output'),
        transformOutputPrefix: text('TransformPrefix'),
        sourceBucket: s3.Bucket.fromBucketName(stack, 'Scored', 'my-scored'),
        sourcePrefix: text('SourcePrefix'),
        objectSuffix: text('Suffix'),
        // Would fail as strings (the same field twice); as tokens they cannot be checked here.
        transactionIdField: text('IdField'),
        buyerField: text('BuyerField'),
        sellerField: text('SellerField'),
        amountField: text('AmountField'),
        fraudScoreField: text('ScoreField'),
        fraudScoreThreshold: number('Threshold'),
        conditionTemplate: text('Condition'),
        maxHoldUsdc: number('MaxHold'),
        maxBatchTotalUsdc: number('Total'),
        actConcurrency: number('ActConcurrency'),
        outputPrefix: text('OutputPrefix'),
      },
      stack,
    );
    expect(variablesOf(template, holds.prepareFunction)).toMatchObject({
      TRANSACTION_ID_FIELD: { Ref: 'IdField' },
      BUYER_FIELD: { Ref: 'BuyerField' },
      SELLER_FIELD: { Ref: 'SellerField' },
      AMOUNT_FIELD: { Ref: 'AmountField' },
      FRAUD_SCORE_FIELD: { Ref: 'ScoreField' },
      FRAUD_SCORE_THRESHOLD: { Ref: 'Threshold' },
      MAX_HOLD_USDC: { Ref: 'MaxHold' },
      MAX_BATCH_TOTAL_USDC: { Ref: 'Total' },
      OBJECT_SUFFIX: { Ref: 'Suffix' },
      OUTPUT_PREFIX: { Ref: 'OutputPrefix' },
    });
    expect(variablesOf(template, holds.actFunction)).toMatchObject({
      CONDITION_TEMPLATE: { Ref: 'Condition' },
      ACT_CONCURRENCY: { Ref: 'ActConcurrency' },
    });
    expect(rules(template).map((r) => JSON.stringify(r.EventPattern))).toEqual([
      expect.stringContaining('{"prefix":{"Ref":"SourcePrefix"}}'),
      expect.stringContaining('"TransformJobName":[{"prefix":{"Ref":"JobPrefix"}}]'),
    ]);
    // A token prefix is used as it is in the policies.
    const prepare = JSON.stringify(policy(template, holds.prepareFunction.role!, 'HoldsPrepareAccess'));
    expect(prepare).toContain(':transform-job/",{"Ref":"JobPrefix"},"*"');
    expect(prepare).toContain('"s3:prefix":[{"Fn::Join":["",[{"Ref":"TransformPrefix"},"*"]]}]');
  });
});

describe('FraudHoldEscrow: beside the other constructs', () => {
  test('two FraudHoldEscrows and a BatchPayout in one stack, sharing a connection, do not collide', () => {
    const stack = newStack();
    const connection = newConnection(stack);
    new FraudHoldEscrow(stack, 'First', { connection });
    new FraudHoldEscrow(stack, 'Second', {
      connection,
      transformJobTrigger: true,
      transformOutputBucket: s3.Bucket.fromBucketName(stack, 'T', 'transform-output'),
    });
    new BatchPayout(stack, 'Payout', { connection });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 3);
    template.resourceCountIs('AWS::S3::Bucket', 3);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
  });
});
