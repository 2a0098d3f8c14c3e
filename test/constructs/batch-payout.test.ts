import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import validateAsl from 'asl-validator';
import { BatchPayout, BatchPayoutProps, RateLimit } from '../../lib';
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
import {
  BATCH_PAYOUT_METRICS,
  BATCH_PAYOUT_PREPARE_ENV,
  BatchPayoutPaySettings,
  BatchPayoutPrepareSettings,
  PROCESSING_JOB_STATE_CHANGE,
  batchPayoutPayEnvironment,
  batchPayoutPrepareEnvironment,
  readBatchPayoutPaySettings,
  readBatchPayoutPrepareSettings,
} from '../../lib/private/contracts/batch-payout-env';
import { connectionEnvironment, readConnectionSettings } from '../../lib/private/contracts/connection-env';
import {
  ACCOUNT,
  REGION,
  arnWithPartition,
  at,
  format,
  logicalIdOf,
  newBatchPayout,
  newConnection,
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

function stateMachineOf(payout: BatchPayout): string {
  return logicalIdOf(payout.stateMachine);
}

/** The rendered definition and its Distributed Map state. */
function definitionOf(template: Template, payout: BatchPayout): { definition: any; map: any } {
  const definition = renderDefinition(template, stateMachineOf(payout));
  return { definition, map: definition.States.PayBatches };
}

const PREPARED_RUN: PreparedRun = {
  runId: 'run-2024-06-01',
  source: { bucket: 'scores-bucket', key: 'scores/june.csv', etag: '0a1b2c' },
  runFolder: { bucket: 'payouts-bucket', prefix: 'purpleflea-payouts/run-2024-06-01' },
  inputKey: `purpleflea-payouts/run-2024-06-01/${RUN_FILES.input}`,
  rowsToAct: 2,
  totalToActUsdc: 12.5,
};

describe('BatchPayout: the workflow', () => {
  test('a Standard state machine: Prepare, then the Distributed Map of Pay batches, then Summarize', () => {
    const { template, payout } = newBatchPayout();
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    const { definition } = definitionOf(template, payout);
    expect(definition.StartAt).toBe('Prepare');
    expect(Object.keys(definition.States)).toEqual(['Prepare', 'PayBatches', 'Summarize']);
    expect(definition.States.Prepare.Next).toBe('PayBatches');
    expect(definition.States.PayBatches.Next).toBe('Summarize');
    expect(definition.States.Summarize.End).toBe(true);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'STANDARD' });
  });

  test('Prepare gets the run id (the execution name) and the execution input, and its answer becomes the state', () => {
    const { template, payout } = newBatchPayout();
    const prepare = definitionOf(template, payout).definition.States.Prepare;
    expect(prepare.Resource).toBe('arn:aws:states:::lambda:invoke');
    expect(prepare.Parameters).toEqual({
      FunctionName: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalIdOf(payout.prepareFunction)}`,
      Payload: { 'runId.$': '$$.Execution.Name', 'input.$': '$' },
    });
    expect(prepare.OutputPath).toBe('$.Payload');
  });

  test('the Map state, as synthesized: CSV reader over the run input, batches with BatchInput, results to the run folder', () => {
    const { template, payout } = newBatchPayout();
    const { map } = definitionOf(template, payout);
    const outputBucket = `bucket-${logicalIdOf(payout.outputBucket).toLowerCase()}`;
    expect(map).toEqual({
      Type: 'Map',
      Label: 'PayBatches',
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
        StartAt: 'Pay',
        States: { Pay: expect.objectContaining({ Type: 'Task', End: true }) },
      },
      Next: 'Summarize',
    });
  });

  test.each<[string, Partial<BatchPayoutProps>, number, number, number]>([
    // [name, props, the run's rate, MaxConcurrency, MaxItemsPerBatch]
    ['the defaults', {}, 10, 10, 100],
    // The README's advice for 20/min: one batch at a time, 72 rows in 4 minutes.
    ['0.3 a second', { maxRequestsPerSecond: 0.3 }, 0.3, 1, 72],
    ['RateLimit.perMinute(20)', { rateLimit: RateLimit.perMinute(20) }, 20 / 60, 1, 80],
    [
      'RateLimit.perMinute(20) and a 15-minute timeout',
      { rateLimit: RateLimit.perMinute(20), functionOptions: { timeout: Duration.minutes(15) } },
      20 / 60,
      2, // 14 minutes at 1/3 a second is 280 rows: two batches of 100 in flight, each at 1/6 a second (600 s)
      100,
    ],
    ['RateLimit.perSecond(2)', { rateLimit: RateLimit.perSecond(2) }, 2, 4, 100],
    ['RateLimit.perSecond(2) and 5 batches in flight', { rateLimit: RateLimit.perSecond(2), maxConcurrency: 5 }, 2, 5, 96],
    ['0.3 a second and 30 rows a batch', { maxRequestsPerSecond: 0.3, itemsPerBatch: 30 }, 0.3, 2, 30],
  ])(
    "left out, maxConcurrency and itemsPerBatch fit a batch in the Pay function's timeout: %s",
    (_name, props, rate, concurrency, items) => {
      const { template, payout } = newBatchPayout(props);
      const { map } = definitionOf(template, payout);
      expect(map.MaxConcurrency).toBe(concurrency);
      expect(map.ItemBatcher.MaxItemsPerBatch).toBe(items);
      expect(readBatchPayoutPaySettings(variablesOf(template, payout.payFunction)).requestsPerSecond).toBeCloseTo(rate / concurrency, 9);
      // A batch at its share of the rate, within the timeout less a minute for backing off.
      const timeout = (props.functionOptions?.timeout ?? Duration.minutes(5)).toSeconds();
      expect((items * concurrency) / rate).toBeLessThanOrEqual(timeout - 60 + 1e-6);
    },
  );

  test('itemsPerBatch, maxConcurrency and toleratedFailurePercentage reach the Map state', () => {
    const { template, payout } = newBatchPayout({ itemsPerBatch: 250, maxConcurrency: 4, toleratedFailurePercentage: 5 });
    const { map } = definitionOf(template, payout);
    expect(map.ItemBatcher.MaxItemsPerBatch).toBe(250);
    expect(map.MaxConcurrency).toBe(4);
    expect(map.ToleratedFailurePercentage).toBe(5);
  });

  test('each batch is paid by the Pay function with the batch as it is, retried on Lambda service errors and throttling', () => {
    const { template, payout } = newBatchPayout();
    const pay = definitionOf(template, payout).map.ItemProcessor.States.Pay;
    expect(pay.Parameters).toEqual({
      'FunctionName': `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalIdOf(payout.payFunction)}`,
      'Payload.$': '$',
    });
    expect(pay.OutputPath).toBe('$.Payload');
    expect(pay.Retry).toEqual([
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
    ]);
  });

  test('Summarize gets the whole state, and its answer is the execution output', () => {
    const { template, payout } = newBatchPayout();
    const summarize = definitionOf(template, payout).definition.States.Summarize;
    expect(summarize.Parameters).toEqual({
      'FunctionName': `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalIdOf(payout.summarizeFunction)}`,
      'Payload.$': '$',
    });
    expect(summarize.OutputPath).toBe('$.Payload');
  });

  test('the JSON paths read what the contract says Prepare returns (checked from the construct side)', () => {
    const { template, payout } = newBatchPayout();
    const { map } = definitionOf(template, payout);
    expect(at(PREPARED_RUN, map.ItemReader.Parameters['Key.$'])).toBe(PREPARED_RUN.inputKey);
    const batchInput = Object.fromEntries(
      Object.entries(map.ItemBatcher.BatchInput as { [key: string]: string }).map(([key, path]) => [
        key.replace(/\.\$$/, ''),
        at(PREPARED_RUN, path),
      ]),
    );
    const expected: BatchInput = {
      runId: 'run-2024-06-01',
      sourceBucket: 'scores-bucket',
      sourceKey: 'scores/june.csv',
      sourceEtag: '0a1b2c',
    };
    expect(batchInput).toEqual(expected);
    expect(format(PREPARED_RUN, map.ResultWriter.Parameters['Prefix.$'])).toBe(`purpleflea-payouts/run-2024-06-01/${RUN_FILES.mapResults}`);
    const mapResultField: keyof SummarizeEvent = 'mapResult';
    expect(map.ResultPath).toBe(`$.${mapResultField}`);
  });

  test.each<[string, (stack: Stack) => Partial<BatchPayoutProps>]>([
    ['the defaults', () => ({})],
    [
      'large batches, high concurrency, every failure tolerated, no prefix',
      () => ({ itemsPerBatch: 1000, maxConcurrency: 200, maxRequestsPerSecond: 1000, toleratedFailurePercentage: 100, outputPrefix: '' }),
    ],
    [
      'both triggers',
      (stack) => ({
        sourceBucket: new s3.Bucket(stack, 'Scores'),
        processingJobTrigger: true,
        processingOutputBucket: s3.Bucket.fromBucketName(stack, 'JobOutput', 'job-output'),
        toleratedFailurePercentage: 1,
      }),
    ],
  ])('the definition is valid Amazon States Language (asl-validator) with %s', (_name, props) => {
    const stack = newStack();
    const { template, payout } = newBatchPayout(props(stack), stack);
    const result = validateAsl(renderDefinition(template, stateMachineOf(payout)));
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  test('asl-validator does catch an invalid Map state (the check is not vacuous)', () => {
    const { template, payout } = newBatchPayout();
    const definition = renderDefinition(template, stateMachineOf(payout));
    definition.States.PayBatches.ToleratedFailurePercentage = 101;
    expect(validateAsl(definition).isValid).toBe(false);
  });

  test('logs every event, with the execution data, to its own log group; traced', () => {
    const { template, payout } = newBatchPayout();
    const { resource } = onlyResource(template, 'AWS::StepFunctions::StateMachine');
    expect(resource.Properties.LoggingConfiguration).toEqual({
      Level: 'ALL',
      IncludeExecutionData: true,
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logicalIdOf(payout.logGroup as logs.LogGroup), 'Arn'] } } }],
    });
    expect(resource.Properties.TracingConfiguration).toEqual({ Enabled: true });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  test('the state machine waits for the policies it is checked against when created', () => {
    const { template, payout } = newBatchPayout();
    const role = payout.stateMachine.role;
    const { resource } = onlyResource(template, 'AWS::StepFunctions::StateMachine');
    const own = Object.keys(policiesOf(template, role)).filter((id) => /RunFolderAccess|LogDelivery|WorkflowTracing/.test(id));
    expect(own).toHaveLength(3);
    expect(resource.DependsOn).toEqual(expect.arrayContaining(own));
  });
});

describe('BatchPayout: triggers', () => {
  test('with no trigger, runs start only by hand: no rule, no dead-letter queue', () => {
    const { template, payout } = newBatchPayout();
    template.resourceCountIs('AWS::Events::Rule', 0);
    template.resourceCountIs('AWS::SQS::Queue', 0);
    expect(payout.objectCreatedRule).toBeUndefined();
    expect(payout.processingJobRule).toBeUndefined();
    expect(payout.deadLetterQueue).toBeUndefined();
    expect(payout.deadLetterQueueAlarm).toBeUndefined();
  });

  test.each<[string, { sourcePrefix?: string; sourceSuffix?: string }, any]>([
    ['every object of the bucket', {}, undefined],
    ['a prefix', { sourcePrefix: 'scores/' }, { key: [{ prefix: 'scores/' }] }],
    ['a suffix', { sourceSuffix: '.csv' }, { key: [{ suffix: '.csv' }] }],
    ['a prefix and a suffix, as one wildcard', { sourcePrefix: 'scores/', sourceSuffix: '.csv' }, { key: [{ wildcard: 'scores/*.csv' }] }],
    [
      'a prefix and a suffix holding a backslash, escaped',
      { sourcePrefix: 'a\\b/', sourceSuffix: '.csv' },
      { key: [{ wildcard: 'a\\\\b/*.csv' }] },
    ],
  ])('an S3 trigger matches exactly the Object Created events of the bucket, for %s', (_name, keyProps, object) => {
    const stack = newStack();
    const sourceBucket = s3.Bucket.fromBucketName(stack, 'Scores', 'my-scores');
    const { template } = newBatchPayout({ sourceBucket, ...keyProps }, stack);
    expect(rules(template)).toHaveLength(1);
    expect(rules(template)[0].EventPattern).toEqual({
      'source': ['aws.s3'],
      'detail-type': ['Object Created'],
      'detail': { bucket: { name: ['my-scores'] }, ...(object !== undefined ? { object } : {}) },
    });
  });

  test('a source bucket of the stack gets EventBridge notifications turned on; an imported one is left as it is', () => {
    const stack = newStack();
    const sourceBucket = new s3.Bucket(stack, 'Scores');
    const { template } = newBatchPayout({ sourceBucket, sourcePrefix: 'scores/' }, stack);
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: logicalIdOf(sourceBucket) },
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
    expect(rules(template)[0].EventPattern.detail.bucket).toEqual({ name: [{ Ref: logicalIdOf(sourceBucket) }] });

    const imported = newStack();
    const { template: importedTemplate } = newBatchPayout(
      { sourceBucket: s3.Bucket.fromBucketName(imported, 'Scores', 'theirs') },
      imported,
    );
    importedTemplate.resourceCountIs('Custom::S3BucketNotifications', 0);
  });

  test('a processing-job trigger with a prefix matches exactly the Completed jobs whose name starts with it, case kept', () => {
    const stack = newStack();
    const { template } = newBatchPayout(
      { processingJobNamePrefix: 'Churn-Scores-', processingOutputBucket: s3.Bucket.fromBucketName(stack, 'JobOutput', 'job-output') },
      stack,
    );
    expect(rules(template).map((r) => r.EventPattern)).toEqual([
      {
        'source': [PROCESSING_JOB_STATE_CHANGE.source],
        'detail-type': [PROCESSING_JOB_STATE_CHANGE.detailType],
        'detail': { ProcessingJobStatus: ['Completed'], ProcessingJobName: [{ prefix: 'Churn-Scores-' }] },
      },
    ]);
    expect(PROCESSING_JOB_STATE_CHANGE).toEqual({
      source: 'aws.sagemaker',
      detailType: 'SageMaker Processing Job State Change',
      completedStatus: 'Completed',
    });
  });

  test('processingJobTrigger without a prefix matches every Completed processing job', () => {
    const stack = newStack();
    const { template } = newBatchPayout(
      { processingJobTrigger: true, processingOutputBucket: s3.Bucket.fromBucketName(stack, 'JobOutput', 'job-output') },
      stack,
    );
    expect(rules(template).map((r) => r.EventPattern)).toEqual([
      {
        'source': ['aws.sagemaker'],
        'detail-type': ['SageMaker Processing Job State Change'],
        'detail': { ProcessingJobStatus: ['Completed'] },
      },
    ]);
  });

  test('each rule starts an execution with the whole event, retried for 24 hours, failures to the one dead-letter queue', () => {
    const stack = newStack();
    const { template, payout } = newBatchPayout(
      {
        sourceBucket: s3.Bucket.fromBucketName(stack, 'Scores', 'my-scores'),
        processingJobTrigger: true,
        processingOutputBucket: s3.Bucket.fromBucketName(stack, 'JobOutput', 'job-output'),
      },
      stack,
    );
    template.resourceCountIs('AWS::SQS::Queue', 1);
    const eventsRole = payout.stateMachine.node.findChild('EventsRole') as iam.Role;
    for (const rule of rules(template)) {
      expect(rule.State).toBe('ENABLED');
      expect(rule.Targets).toEqual([
        {
          Id: 'Target0',
          Arn: { Ref: stateMachineOf(payout) },
          RoleArn: { 'Fn::GetAtt': [logicalIdOf(eventsRole), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalIdOf(payout.deadLetterQueue!), 'Arn'] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        },
      ]);
    }
    // The rules' role may start this state machine and nothing else.
    expect(policy(template, eventsRole, 'PayoutWorkflowStateMachineEventsRoleDefaultPolicy')).toEqual([
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: stateMachineOf(payout) } },
    ]);
    expect(payout.objectCreatedRule).toBeDefined();
    expect(payout.processingJobRule).toBeDefined();
  });

  test('enabled: false creates the rules disabled and tells Prepare, and Pay (finding 5)', () => {
    const stack = newStack();
    const { template, payout } = newBatchPayout(
      {
        enabled: false,
        sourceBucket: s3.Bucket.fromBucketName(stack, 'Scores', 'my-scores'),
        processingJobTrigger: true,
        processingOutputBucket: s3.Bucket.fromBucketName(stack, 'JobOutput', 'job-output'),
      },
      stack,
    );
    expect(rules(template).map((r) => r.State)).toEqual(['DISABLED', 'DISABLED']);
    expect(variablesOf(template, payout.prepareFunction)[BATCH_PAYOUT_PREPARE_ENV.enabled]).toBe('false');
    expect(readBatchPayoutPaySettings(variablesOf(template, payout.payFunction)).enabled).toBe(false);
  });
});

describe('BatchPayout: the functions', () => {
  test('three bundled handlers: arm64, traced; 15 minutes and 1024 MB for Prepare and Summarize, 5 minutes and 256 MB for Pay', () => {
    const { template, payout } = newBatchPayout();
    template.resourceCountIs('AWS::Lambda::Function', 3);
    const props = (fn: any) => template.toJSON().Resources[logicalIdOf(fn)].Properties;
    for (const fn of [payout.prepareFunction, payout.payFunction, payout.summarizeFunction]) {
      expect(props(fn)).toMatchObject({
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
      });
    }
    expect([payout.prepareFunction, payout.payFunction, payout.summarizeFunction].map((fn) => props(fn).Timeout)).toEqual([900, 300, 900]);
    expect(props(payout.prepareFunction).MemorySize).toBe(1024);
    expect(props(payout.payFunction).MemorySize).toBe(256);
    expect(props(payout.summarizeFunction).MemorySize).toBe(1024);
  });

  test('invoked synchronously by Step Functions: no async invocation settings, no Lambda permission', () => {
    const { template } = newBatchPayout();
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
    template.resourceCountIs('AWS::Lambda::Permission', 0);
  });

  test("functionOptions apply to all three, beside the construct's variables", () => {
    const { template, payout } = newBatchPayout({
      functionOptions: { memorySize: 2048, timeout: Duration.minutes(10), environment: { POWERTOOLS_LOG_LEVEL: 'DEBUG' } },
    });
    for (const fn of [payout.prepareFunction, payout.payFunction, payout.summarizeFunction]) {
      const properties = template.toJSON().Resources[logicalIdOf(fn)].Properties;
      expect(properties).toMatchObject({ MemorySize: 2048, Timeout: 600 });
      expect(properties.Environment.Variables).toMatchObject({ POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_SERVICE_NAME: 'batch-payout' });
    }
  });

  test('each function and the state machine log to their own log group, kept as long as logRetention says', () => {
    const { template } = newBatchPayout({ logRetention: logs.RetentionDays.ONE_YEAR });
    template.resourceCountIs('AWS::Logs::LogGroup', 4);
    expect(Object.values(template.findResources('AWS::Logs::LogGroup')).map((g: any) => g.Properties.RetentionInDays)).toEqual([
      365, 365, 365, 365,
    ]);
  });
});

describe('BatchPayout: the handler environments', () => {
  const common = {
    NODE_OPTIONS: '--enable-source-maps',
    POWERTOOLS_SERVICE_NAME: BATCH_PAYOUT_METRICS.serviceName,
    POWERTOOLS_METRICS_NAMESPACE: BATCH_PAYOUT_METRICS.namespace,
  };

  test('Prepare: exactly what the contract produces from the props, reading back to the same settings; no connection (it calls no one)', () => {
    const stack = newStack();
    const outputBucket = s3.Bucket.fromBucketName(stack, 'Out', 'my-payouts');
    const { template, payout } = newBatchPayout(
      {
        outputBucket,
        outputPrefix: 'runs/payouts',
        agentIdColumn: 'agent',
        scoreColumn: 'points',
        usdPerScorePoint: 2.5,
        minPayoutUsdc: 1,
        maxPayoutPerAgentUsdc: 250,
        maxBatchTotalUsdc: 5000,
        processingJobTrigger: true,
        processingOutputBucket: outputBucket,
        processingOutputName: 'scores',
        processingFileName: 'part-0.csv',
      },
      stack,
    );
    // Written out by hand: the construct's side of the contract, not a copy of its code.
    const settings: BatchPayoutPrepareSettings = {
      agentIdColumn: 'agent',
      scoreColumn: 'points',
      usdPerScorePoint: 2.5,
      minPayoutUsdc: 1,
      maxPayoutPerAgentUsdc: 250,
      maxBatchTotalUsdc: 5000,
      outputBucket: 'my-payouts',
      outputPrefix: 'runs/payouts',
      processingOutputName: 'scores',
      processingFileName: 'part-0.csv',
      enabled: true,
    };
    const variables = variablesOf(template, payout.prepareFunction);
    expect(variables).toEqual({ ...common, ...batchPayoutPrepareEnvironment(settings) });
    expect(readBatchPayoutPrepareSettings(variables)).toEqual(settings);
  });

  test('Prepare defaults: agent_id, score, $10 a point, 0.01 minimum, $1000 per agent, $100000 a file, payout/scores.csv', () => {
    const { template, payout } = newBatchPayout();
    const variables = variablesOf(template, payout.prepareFunction);
    expect(variables[BATCH_PAYOUT_PREPARE_ENV.outputBucket]).toEqual({ Ref: logicalIdOf(payout.outputBucket) });
    expect(readBatchPayoutPrepareSettings({ ...variables, [BATCH_PAYOUT_PREPARE_ENV.outputBucket]: 'out' })).toEqual({
      agentIdColumn: 'agent_id',
      scoreColumn: 'score',
      usdPerScorePoint: 10,
      minPayoutUsdc: 0.01,
      maxPayoutPerAgentUsdc: 1000,
      maxBatchTotalUsdc: 100000,
      outputBucket: 'out',
      outputPrefix: 'purpleflea-payouts',
      processingOutputName: 'payout',
      processingFileName: 'scores.csv',
      enabled: true,
    });
  });

  test('an empty outputPrefix reaches Prepare as the contract writes it, and reads back empty', () => {
    const { template, payout } = newBatchPayout({ outputPrefix: '' });
    const variables = variablesOf(template, payout.prepareFunction);
    expect(readBatchPayoutPrepareSettings({ ...variables, [BATCH_PAYOUT_PREPARE_ENV.outputBucket]: 'out' }).outputPrefix).toBe('');
  });

  test('Pay: the connection and its share of the run rate (maxRequestsPerSecond / maxConcurrency), reading back', () => {
    const stack = newStack();
    const { template, payout, connection } = newBatchPayout(
      {
        maxRequestsPerSecond: 200,
        maxConcurrency: 8,
        payConcurrency: 20,
        itemsPerBatch: 50,
        dryRun: true,
        maxPayoutPerAgentUsdc: 250,
        maxBatchTotalUsdc: 5000,
      },
      stack,
    );
    // The caps too (finding 11): Pay checks each row against them again.
    const settings: BatchPayoutPaySettings = {
      requestsPerSecond: 25,
      concurrency: 20,
      dryRun: true,
      enabled: true,
      maxPayoutPerAgentUsdc: 250,
      maxBatchTotalUsdc: 5000,
    };
    const variables = variablesOf(template, payout.payFunction);
    expect(variables).toEqual(
      stack.resolve({
        ...common,
        ...connectionEnvironment({
          secretArn: connection.apiKeySecret.secretArn,
          apiKeyField: 'key',
          agentIdField: 'agent_id',
          baseUrl: 'https://api.purpleflea.com',
          ledgerTableName: connection.ledgerTable.tableName,
          requestTimeoutMs: 10_000,
        }),
        ...batchPayoutPayEnvironment(settings),
      }),
    );
    expect(readBatchPayoutPaySettings(variables)).toEqual(settings);
  });

  test('Pay defaults: 10 requests a second over 10 batches in flight is 1 a second per batch, 5 in flight, live', () => {
    const { template, payout } = newBatchPayout();
    expect(readBatchPayoutPaySettings(variablesOf(template, payout.payFunction))).toEqual({
      requestsPerSecond: 1,
      concurrency: 5,
      dryRun: false,
      enabled: true,
      maxPayoutPerAgentUsdc: 1000,
      maxBatchTotalUsdc: 100_000,
    });
  });

  test('Summarize: the connection (it reads the ledger), the bus ARN and dry run, reading back', () => {
    const stack = newStack();
    const eventBus = events.EventBus.fromEventBusArn(stack, 'Bus', `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/payouts`);
    const { template, payout, connection } = newBatchPayout({ eventBus, dryRun: true }, stack);
    const settings: BatchSummarizeSettings = { eventBusName: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/payouts`, dryRun: true };
    const variables = variablesOf(template, payout.summarizeFunction);
    expect(variables).toEqual(
      stack.resolve({
        ...common,
        ...connectionEnvironment({
          secretArn: connection.apiKeySecret.secretArn,
          apiKeyField: 'key',
          agentIdField: 'agent_id',
          baseUrl: 'https://api.purpleflea.com',
          ledgerTableName: connection.ledgerTable.tableName,
          requestTimeoutMs: 10_000,
        }),
        ...batchSummarizeEnvironment(settings),
      }),
    );
    expect(readBatchSummarizeSettings(variables)).toEqual(settings);
    expect(readConnectionSettings(variables, 'test').ledgerTableName).toEqual({ Ref: logicalIdOf(connection.ledgerTable) });
    expect(payout.eventBus).toBe(eventBus);
  });

  test('Summarize defaults: the default bus, by ARN; live', () => {
    const { template, payout } = newBatchPayout();
    const variables = variablesOf(template, payout.summarizeFunction);
    expect(variables[BATCH_SUMMARIZE_ENV.eventBusName]).toEqual(DEFAULT_BUS_ARN);
    expect(variables[BATCH_SUMMARIZE_ENV.dryRun]).toBe('false');
  });
});

describe('BatchPayout: permissions', () => {
  const processingJobs = (name: string) => arnWithPartition(`:sagemaker:${REGION}:${ACCOUNT}:processing-job/${name}`);

  test('each role has no managed policy and writes only to its own log group', () => {
    const { template, payout } = newBatchPayout();
    for (const fn of [payout.prepareFunction, payout.payFunction, payout.summarizeFunction]) {
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

  test("Prepare: reads the source under its prefix and the processing jobs' bucket, writes input.csv and the report, describes the jobs", () => {
    const stack = newStack();
    const sourceBucket = new s3.Bucket(stack, 'Scores');
    const { template, payout } = newBatchPayout(
      {
        sourceBucket,
        sourcePrefix: 'scores/',
        processingJobNamePrefix: 'Churn-Scores-',
        processingOutputBucket: s3.Bucket.fromBucketName(stack, 'JobOutput', 'job-output'),
      },
      stack,
    );
    const role = payout.prepareFunction.role!;
    expect(Object.keys(policiesOf(template, role)).sort()).toEqual([
      expect.stringMatching(/^PayoutPrepareAccess/),
      expect.stringMatching(/^PayoutPrepareTracing/),
    ]);
    expect(policy(template, role, 'PayoutPrepareAccess')).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
        Resource: [
          objectsOf(payout.outputBucket, 'purpleflea-payouts/*/input.csv'),
          objectsOf(payout.outputBucket, 'purpleflea-payouts/*/prepare_report.json'),
        ],
      },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: objectsOf(sourceBucket, 'scores/*') },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: arnWithPartition(':s3:::job-output/*') },
      { Effect: 'Allow', Action: 'sagemaker:DescribeProcessingJob', Resource: processingJobs('churn-scores-*') },
    ]);
    // In place before the function can run.
    const accessId = Object.keys(policiesOf(template, role)).find((id) => id.startsWith('PayoutPrepareAccess'));
    expect(template.toJSON().Resources[logicalIdOf(payout.prepareFunction)].DependsOn).toEqual(expect.arrayContaining([accessId]));
  });

  test('Prepare without a source prefix reads any object of the source bucket; without a job prefix describes any processing job', () => {
    const stack = newStack();
    const { template, payout } = newBatchPayout(
      {
        sourceBucket: s3.Bucket.fromBucketName(stack, 'Scores', 'my-scores'),
        processingJobTrigger: true,
        processingOutputBucket: s3.Bucket.fromBucketName(stack, 'JobOutput', 'job-output'),
      },
      stack,
    );
    const statements = policy(template, payout.prepareFunction.role!, 'PayoutPrepareAccess');
    expect(statements).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: 's3:GetObject', Resource: arnWithPartition(':s3:::my-scores/*') },
        { Effect: 'Allow', Action: 'sagemaker:DescribeProcessingJob', Resource: processingJobs('*') },
      ]),
    );
  });

  test('Prepare with no trigger may only write its run files', () => {
    const { template, payout } = newBatchPayout();
    expect(policy(template, payout.prepareFunction.role!, 'PayoutPrepareAccess')).toHaveLength(1);
  });

  test('a source bucket encrypted with a KMS key: Prepare may decrypt with it, nothing more', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'SourceKey');
    const sourceBucket = new s3.Bucket(stack, 'Scores', { encryptionKey: key });
    const { template, payout } = newBatchPayout({ sourceBucket }, stack);
    expect(policy(template, payout.prepareFunction.role!, 'PayoutPrepareRoleDefaultPolicy')).toEqual([
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [logicalIdOf(key), 'Arn'] } },
    ]);
  });

  test('Pay: the secret and the ledger, nothing else', () => {
    const { template, payout, connection } = newBatchPayout();
    const role = payout.payFunction.role!;
    expect(Object.keys(policiesOf(template, role)).sort()).toEqual([
      expect.stringMatching(/^PayoutPayRoleDefaultPolicy/),
      expect.stringMatching(/^PayoutPayTracing/),
    ]);
    expect(sortStatements(policy(template, role, 'PayoutPayRoleDefaultPolicy'))).toEqual(
      sortStatements([
        {
          Effect: 'Allow',
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Resource: arnWithPartition(`:secretsmanager:${REGION}:${ACCOUNT}:secret:PurpleFleaApiKey-??????`),
        },
        {
          // Only what the money path calls, and only payout keys.
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          Resource: { 'Fn::GetAtt': [logicalIdOf(connection.ledgerTable), 'Arn'] },
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:payout:*'] } },
        },
      ]),
    );
  });

  test('Summarize: reads the run files and ledger records, writes the payout log and its summary, puts events on the one bus; no secret', () => {
    const { template, payout, connection } = newBatchPayout();
    const role = payout.summarizeFunction.role!;
    expect(policy(template, role, 'PayoutSummarizeAccess')).toEqual([
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: ['prepare_report.json', 'input.csv', 'map-results/*'].map((file) =>
          objectsOf(payout.outputBucket, `purpleflea-payouts/*/${file}`),
        ),
      },
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
        Resource: ['payout_log.jsonl', 'payout_summary.json'].map((file) => objectsOf(payout.outputBucket, `purpleflea-payouts/*/${file}`)),
      },
    ]);
    expect(sortStatements(policy(template, role, 'PayoutSummarizeRoleDefaultPolicy'))).toEqual(
      sortStatements([
        {
          // Reads single records, only payout keys; never writes.
          Effect: 'Allow',
          Action: 'dynamodb:GetItem',
          Resource: { 'Fn::GetAtt': [logicalIdOf(connection.ledgerTable), 'Arn'] },
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:payout:*'] } },
        },
        { Effect: 'Allow', Action: 'events:PutEvents', Resource: DEFAULT_BUS_ARN },
      ]),
    );
  });

  test('the state machine role: invokes the three functions, reads input.csv and writes map-results of the run folders, runs its own Map', () => {
    const { template, payout } = newBatchPayout();
    const role = payout.stateMachine.role;
    const stateMachine = stateMachineOf(payout);
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
      'PayoutWorkflowLogDelivery',
      'PayoutWorkflowRunFolderAccess',
      'PayoutWorkflowStateMachineDistributedMapPolicy',
      'PayoutWorkflowStateMachineRoleDefaultPolicy',
      'PayoutWorkflowTracing',
    ]);
    expect(sortStatements(policy(template, role, 'PayoutWorkflowStateMachineRoleDefaultPolicy'))).toEqual(
      sortStatements(
        [payout.prepareFunction, payout.payFunction, payout.summarizeFunction].map((fn) => ({
          Effect: 'Allow',
          Action: 'lambda:InvokeFunction',
          Resource: [fnArn(fn), { 'Fn::Join': ['', [fnArn(fn), ':*']] }],
        })),
      ),
    );
    expect(policy(template, role, 'PayoutWorkflowRunFolderAccess')).toEqual([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: objectsOf(payout.outputBucket, 'purpleflea-payouts/*/input.csv') },
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
        Resource: objectsOf(payout.outputBucket, 'purpleflea-payouts/*/map-results/*'),
      },
    ]);
    expect(policy(template, role, 'PayoutWorkflowStateMachineDistributedMapPolicy')).toEqual([
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: stateMachine } },
      { Effect: 'Allow', Action: ['states:DescribeExecution', 'states:StopExecution'], Resource: executions(':*') },
      { Effect: 'Allow', Action: 'states:RedriveExecution', Resource: executions('/PayBatches:*') },
    ]);
    expect(policy(template, role, 'PayoutWorkflowLogDelivery')).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'logs:CreateLogDelivery',
          'logs:GetLogDelivery',
          'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
          'logs:DescribeLogGroups',
        ],
        Resource: '*',
      },
    ]);
    expect(policy(template, role, 'PayoutWorkflowTracing')).toEqual([
      {
        Effect: 'Allow',
        Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'],
        Resource: '*',
      },
    ]);
  });

  test("an empty outputPrefix scopes everything to the run files at the bucket's root", () => {
    const { template, payout } = newBatchPayout({ outputPrefix: '' });
    expect(policy(template, payout.stateMachine.role, 'PayoutWorkflowRunFolderAccess').map((s) => s.Resource)).toEqual([
      objectsOf(payout.outputBucket, '*/input.csv'),
      objectsOf(payout.outputBucket, '*/map-results/*'),
    ]);
    expect(policy(template, payout.summarizeFunction.role!, 'PayoutSummarizeAccess')[1].Resource).toEqual([
      objectsOf(payout.outputBucket, '*/payout_log.jsonl'),
      objectsOf(payout.outputBucket, '*/payout_summary.json'),
    ]);
    expect(policy(template, payout.prepareFunction.role!, 'PayoutPrepareAccess')[0].Resource).toEqual([
      objectsOf(payout.outputBucket, '*/input.csv'),
      objectsOf(payout.outputBucket, '*/prepare_report.json'),
    ]);
  });

  test('an output bucket encrypted with a KMS key: the key is granted to the roles that read or write it, by named actions', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key');
    const outputBucket = new s3.Bucket(stack, 'Out', { encryptionKey: key, enforceSSL: true });
    const { template, payout } = newBatchPayout({ outputBucket }, stack);
    const keyActions = (role: iam.IRole) =>
      Object.values(policiesOf(template, role))
        .flat()
        .filter((s) => JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(key), 'Arn'] }))
        .flatMap((s) => s.Action);
    // Named actions: reading, and writing in parts too.
    for (const role of [payout.prepareFunction.role!, payout.summarizeFunction.role!, payout.stateMachine.role]) {
      expect(keyActions(role)).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    }
    expect(keyActions(payout.payFunction.role!)).toEqual([]);
  });
});

describe('BatchPayout: the output bucket', () => {
  test('by default a new one: S3-managed encryption, TLS only, public access blocked, versioned, retained', () => {
    const { template, payout } = newBatchPayout();
    template.resourceCountIs('AWS::S3::Bucket', 1);
    const bucketId = logicalIdOf(payout.outputBucket);
    const bucket = template.toJSON().Resources[bucketId];
    expect(bucket).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(bucket.Properties).toEqual({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      VersioningConfiguration: { Status: 'Enabled' },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('a given bucket is used as it is, and no bucket is created', () => {
    const stack = newStack();
    const outputBucket = s3.Bucket.fromBucketName(stack, 'Out', 'my-payouts');
    const { template, payout } = newBatchPayout({ outputBucket }, stack);
    template.resourceCountIs('AWS::S3::Bucket', 0);
    expect(payout.outputBucket).toBe(outputBucket);
    expect(payout.outputPrefix).toBe('purpleflea-payouts');
  });
});

describe('BatchPayout: alarms', () => {
  test('failed runs, unknown payouts of the Pay function, and the dead-letter queue, each at the first occurrence in 5 minutes', () => {
    const stack = newStack();
    const { template, payout } = newBatchPayout({ sourceBucket: s3.Bucket.fromBucketName(stack, 'Scores', 'my-scores') }, stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    const alarm = (a: any) => template.toJSON().Resources[logicalIdOf(a)].Properties;
    const onAny = {
      Threshold: 1,
      EvaluationPeriods: 1,
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    };
    expect(alarm(payout.executionsFailedAlarm)).toMatchObject({
      ...onAny,
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Statistic: 'Sum',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: stateMachineOf(payout) } }],
    });
    expect(alarm(payout.unknownOutcomesAlarm)).toMatchObject({
      ...onAny,
      Namespace: BATCH_PAYOUT_METRICS.namespace,
      MetricName: BATCH_PAYOUT_METRICS.payoutsUnknown,
      Statistic: 'Sum',
      Dimensions: [
        { Name: BATCH_PAYOUT_METRICS.functionNameDimension, Value: { Ref: logicalIdOf(payout.payFunction) } },
        { Name: 'service', Value: BATCH_PAYOUT_METRICS.serviceName },
      ],
    });
    expect(alarm(payout.deadLetterQueueAlarm!)).toMatchObject({
      ...onAny,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Maximum',
    });
  });
});

describe('BatchPayout: props that are tokens', () => {
  test('skip the checks that need a value, and reach the environment as references', () => {
    const stack = newStack();
    const text = (id: string) => new CfnParameter(stack, id, { type: 'String' }).valueAsString;
    const number = (id: string) => new CfnParameter(stack, id, { type: 'Number' }).valueAsNumber;
    const { template, payout } = newBatchPayout(
      {
        sourceBucket: s3.Bucket.fromBucketName(stack, 'Scores', 'my-scores'),
        sourcePrefix: text('SourcePrefix'),
        processingJobNamePrefix: text('JobPrefix'),
        processingOutputBucket: s3.Bucket.fromBucketName(stack, 'JobOutput', 'job-output'),
        processingOutputName: text('OutputName'),
        agentIdColumn: text('AgentColumn'),
        scoreColumn: text('ScoreColumn'),
        usdPerScorePoint: number('PerPoint'),
        // Would fail as numbers (a maximum under the minimum); as tokens they cannot be checked here.
        minPayoutUsdc: number('Min'),
        maxPayoutPerAgentUsdc: number('Max'),
        maxBatchTotalUsdc: number('Total'),
        payConcurrency: number('PayConcurrency'),
        outputPrefix: text('OutputPrefix'),
      },
      stack,
    );
    expect(variablesOf(template, payout.prepareFunction)).toMatchObject({
      AGENT_ID_COLUMN: { Ref: 'AgentColumn' },
      SCORE_COLUMN: { Ref: 'ScoreColumn' },
      USD_PER_SCORE_POINT: { Ref: 'PerPoint' },
      MIN_PAYOUT_USDC: { Ref: 'Min' },
      MAX_PAYOUT_PER_AGENT_USDC: { Ref: 'Max' },
      MAX_BATCH_TOTAL_USDC: { Ref: 'Total' },
      OUTPUT_PREFIX: { Ref: 'OutputPrefix' },
      PROCESSING_OUTPUT_NAME: { Ref: 'OutputName' },
    });
    expect(variablesOf(template, payout.payFunction).PAY_CONCURRENCY).toEqual({ Ref: 'PayConcurrency' });
    expect(rules(template).map((r) => JSON.stringify(r.EventPattern))).toEqual([
      expect.stringContaining('{"prefix":{"Ref":"SourcePrefix"}}'),
      expect.stringContaining('{"prefix":{"Ref":"JobPrefix"}}'),
    ]);
  });
});

describe('BatchPayout: more than one', () => {
  test('two BatchPayouts in one stack, sharing a connection, do not collide', () => {
    const stack = newStack();
    const connection = newConnection(stack);
    new BatchPayout(stack, 'First', { connection });
    new BatchPayout(stack, 'Second', { connection });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
    template.resourceCountIs('AWS::S3::Bucket', 2);
  });
});
