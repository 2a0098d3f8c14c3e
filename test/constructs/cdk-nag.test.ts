import { App, CfnParameter, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import {
  BatchPayout,
  BatchPayoutProps,
  FraudHoldEscrow,
  FraudHoldEscrowProps,
  HoldReview,
  ConfirmedFraudAction,
  ModelAgents,
  ModelAgentsProps,
  TradingPnl,
  HoldInputFormat,
  PredictToTrade,
  PurpleFleaApi,
  PurpleFleaConnection,
  PurpleFleaConnectionProps,
  PurpleFleaDashboard,
  TrainingBonusEscrow,
  TrainingBonusEscrowProps,
  EscrowRelease,
} from '../../lib';
import { ACCOUNT, REGION, newConnection, newStack } from './fixtures';

/** cdk-nag's findings as `<rule> <construct path>` lines, easy to read in a failure. */
function unacknowledgedFindings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
}

/** Every acknowledgment in the tree: where, which finding, and why. */
function acknowledgments(scope: IConstruct): { path: string; id: string; reason: string }[] {
  return scope.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as { [id: string]: string }).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

/** A bucket of the test's own that cdk-nag accepts (TLS only, access logs to itself). */
function scoresBucket(stack: Stack, id = 'Scores'): s3.Bucket {
  return new s3.Bucket(stack, id, { enforceSSL: true, serverAccessLogsPrefix: 'access-logs/' });
}

/** The construct id aws-cdk-lib gives its bucket-notifications handler singleton in a stack. */
const BUCKET_NOTIFICATIONS_HANDLER = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

/** A stack with both constructs: a scheduled trader and an event-driven one. */
function stackWithBothTriggers(): Stack {
  const stack = newStack('Nag');
  const connection = newConnection(stack);
  new PredictToTrade(stack, 'Scheduled', { connection, endpointName: 'demo-direction-model' });
  new PredictToTrade(stack, 'OnEvent', {
    connection,
    endpointName: 'demo-direction-model',
    eventPattern: { source: ['my.signals'], detailType: ['Features Ready'] },
    maxDailyNotionalUsdc: 500,
  });
  return stack;
}

describe('cdk-nag AwsSolutionsChecks', () => {
  test('the checks run: an unprotected queue is reported', () => {
    const stack = newStack('Control');
    new sqs.Queue(stack, 'Plain');
    expect(unacknowledgedFindings(stack)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^AwsSolutions-SQS3 Control\/Plain\/Resource$/)]),
    );
  });

  test('no unacknowledged finding for a connection and PredictToTrade on a schedule and on an event pattern', () => {
    expect(unacknowledgedFindings(stackWithBothTriggers())).toEqual([]);
  });

  test("no unacknowledged finding for PredictToTrade on an event pattern of the user's own bus", () => {
    const stack = newStack('NagOwnBus');
    new PredictToTrade(stack, 'OnOwnBus', {
      connection: newConnection(stack),
      endpointName: 'demo-direction-model',
      eventPattern: { source: ['my.signals'] },
      eventBus: new events.EventBus(stack, 'Signals'),
    });
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test.each<[string, (stack: Stack) => Partial<TrainingBonusEscrowProps>]>([
    ['without a prefix, on the default bus', () => ({})],
    ['with a prefix', () => ({ trainingJobNamePrefix: 'Churn-Model-' })],
    ['with a prefix and a custom bus', (stack) => ({ trainingJobNamePrefix: 'churn-', eventBus: new events.EventBus(stack, 'Releases') })],
    ['with a prefix that is a token', (stack) => ({ trainingJobNamePrefix: new CfnParameter(stack, 'Prefix').valueAsString })],
    ['released on model approval', () => ({ release: EscrowRelease.onModelApproval({ modelPackageGroupName: 'churn-models' }) })],
    [
      'released on a lifecycle stage, groups by prefix',
      () => ({ release: EscrowRelease.onLifecycleStage({ stage: 'Production', modelPackageGroupNamePrefix: 'churn-' }) }),
    ],
  ])('no unacknowledged finding for a connection, PredictToTrade and TrainingBonusEscrow %s', (_name, props) => {
    const stack = stackWithBothTriggers();
    const connection = stack.node.findChild('PurpleFlea') as PurpleFleaConnection;
    new TrainingBonusEscrow(stack, 'Bonus', { connection, ...props(stack) });
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test.each<[string, (stack: Stack) => Partial<BatchPayoutProps>]>([
    ['started by hand only', () => ({})],
    [
      'on uploads under a prefix to a bucket of the stack',
      (stack) => ({ sourceBucket: scoresBucket(stack), sourcePrefix: 'scores/', sourceSuffix: '.csv' }),
    ],
    [
      'on uploads to an imported bucket, no prefix',
      (stack) => ({ sourceBucket: s3.Bucket.fromBucketName(stack, 'Theirs', 'their-scores') }),
    ],
    [
      'on completed processing jobs with a prefix, and a custom bus',
      (stack) => ({
        processingJobNamePrefix: 'Churn-',
        processingOutputBucket: s3.Bucket.fromBucketName(stack, 'JobOutput', 'job-output'),
        eventBus: new events.EventBus(stack, 'Payouts'),
      }),
    ],
    [
      'on both triggers, with an output bucket of its own encrypted with a KMS key, and no output prefix',
      (stack) => ({
        sourceBucket: scoresBucket(stack),
        processingJobTrigger: true,
        processingOutputBucket: scoresBucket(stack, 'JobOutput'),
        outputBucket: new s3.Bucket(stack, 'Out', {
          encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }),
          enforceSSL: true,
          serverAccessLogsPrefix: 'access-logs/',
        }),
        outputPrefix: '',
      }),
    ],
    [
      'with prefixes that are tokens',
      (stack) => ({
        sourceBucket: scoresBucket(stack),
        sourcePrefix: new CfnParameter(stack, 'SourcePrefix').valueAsString,
        processingJobNamePrefix: new CfnParameter(stack, 'JobPrefix').valueAsString,
        processingOutputBucket: s3.Bucket.fromBucketName(stack, 'JobOutput', 'job-output'),
        outputPrefix: new CfnParameter(stack, 'OutputPrefix').valueAsString,
      }),
    ],
  ])('no unacknowledged finding for all four constructs, with BatchPayout %s', (_name, props) => {
    const stack = stackWithBothTriggers();
    const connection = stack.node.findChild('PurpleFlea') as PurpleFleaConnection;
    new TrainingBonusEscrow(stack, 'Bonus', { connection, trainingJobNamePrefix: 'churn-' });
    new BatchPayout(stack, 'Payout', { connection, ...props(stack) });
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test.each<[string, (stack: Stack) => Partial<FraudHoldEscrowProps>]>([
    ['started by hand only', () => ({})],
    [
      'on completed transform jobs with a prefix, reading their output under a prefix of a bucket of the stack',
      (stack) => ({
        transformJobNamePrefix: 'Fraud-',
        transformOutputBucket: scoresBucket(stack, 'TransformOutput'),
        transformOutputPrefix: 'transform/',
      }),
    ],
    [
      'on any completed transform job (an imported bucket, no prefixes), on uploads too, and a custom bus',
      (stack) => ({
        transformJobTrigger: true,
        transformOutputBucket: s3.Bucket.fromBucketName(stack, 'TransformOutput', 'transform-output'),
        sourceBucket: scoresBucket(stack, 'Scored'),
        sourceSuffix: '.out',
        eventBus: new events.EventBus(stack, 'HoldsBus'),
      }),
    ],
    [
      'on both triggers, CSV, with an output bucket of its own encrypted with a KMS key, and no output prefix',
      (stack) => ({
        transformJobTrigger: true,
        transformOutputBucket: new s3.Bucket(stack, 'TransformOutput', {
          encryptionKey: new kms.Key(stack, 'TransformKey', { enableKeyRotation: true }),
          enforceSSL: true,
          serverAccessLogsPrefix: 'access-logs/',
        }),
        sourceBucket: scoresBucket(stack, 'Scored'),
        inputFormat: HoldInputFormat.CSV,
        outputBucket: new s3.Bucket(stack, 'HoldsOut', {
          encryptionKey: new kms.Key(stack, 'HoldsKey', { enableKeyRotation: true }),
          enforceSSL: true,
          serverAccessLogsPrefix: 'access-logs/',
        }),
        outputPrefix: '',
      }),
    ],
    [
      'with prefixes that are tokens',
      (stack) => ({
        transformJobNamePrefix: new CfnParameter(stack, 'TransformJobPrefix').valueAsString,
        transformOutputBucket: s3.Bucket.fromBucketName(stack, 'TransformOutput', 'transform-output'),
        transformOutputPrefix: new CfnParameter(stack, 'TransformOutputPrefix').valueAsString,
        sourceBucket: scoresBucket(stack, 'Scored'),
        sourcePrefix: new CfnParameter(stack, 'HoldsSourcePrefix').valueAsString,
        outputPrefix: new CfnParameter(stack, 'HoldsOutputPrefix').valueAsString,
      }),
    ],
    [
      'reviewed with Amazon A2I, confirmed fraud disputed',
      (stack) => ({
        sourceBucket: scoresBucket(stack, 'Scored'),
        review: HoldReview.augmentedAi({
          flowDefinition: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:flow-definition/hold-review`,
          humanLoopOutputBucket: s3.Bucket.fromBucketName(stack, 'Reviews', 'a2i-output'),
          humanLoopOutputPrefix: 'hold-reviews',
        }),
        onConfirmedFraud: ConfirmedFraudAction.DISPUTE,
      }),
    ],
    ["reviewed by the user's own events", (stack) => ({ sourceBucket: scoresBucket(stack, 'Scored'), review: HoldReview.events() })],
  ])('no unacknowledged finding for all five constructs, with FraudHoldEscrow %s', (_name, props) => {
    const stack = stackWithBothTriggers();
    const connection = stack.node.findChild('PurpleFlea') as PurpleFleaConnection;
    new TrainingBonusEscrow(stack, 'Bonus', { connection, trainingJobNamePrefix: 'churn-' });
    new BatchPayout(stack, 'Payout', {
      connection,
      sourceBucket: scoresBucket(stack),
      sourcePrefix: 'scores/',
      processingJobNamePrefix: 'churn-',
      processingOutputBucket: s3.Bucket.fromBucketName(stack, 'JobOutput', 'job-output'),
    });
    new FraudHoldEscrow(stack, 'Holds', { connection, ...props(stack) });
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  /** Every construct, each with a trigger, on one connection (on the services profile, with `connectionProps`). */
  function stackWithEveryConstruct(id: string, connectionProps: (stack: Stack) => Partial<PurpleFleaConnectionProps>): Stack {
    const stack = newStack(id);
    const connection = newConnection(stack, connectionProps(stack));
    const services = connection.api.baseUrl === undefined;
    const monitored = [
      new PredictToTrade(stack, 'Scheduled', { connection, endpointName: 'demo-direction-model' }),
      new PredictToTrade(stack, 'OnEvent', {
        connection,
        endpointName: 'demo-direction-model',
        eventPattern: { source: ['my.signals'], detailType: ['Features Ready'] },
        maxDailyNotionalUsdc: 500,
      }),
      new TrainingBonusEscrow(stack, 'Bonus', {
        connection,
        trainingJobNamePrefix: 'churn-',
        sellerAgentId: services ? 'ag_0123456789ab' : undefined,
      }),
      new BatchPayout(stack, 'Payout', { connection, sourceBucket: scoresBucket(stack), sourcePrefix: 'scores/' }),
      new FraudHoldEscrow(stack, 'Holds', {
        connection,
        transformJobNamePrefix: 'fraud-',
        transformOutputBucket: s3.Bucket.fromBucketName(stack, 'TransformOutput', 'transform-output'),
      }),
    ];
    new PurpleFleaDashboard(stack, 'Dashboard', { monitored });
    return stack;
  }

  test.each<[string, (stack: Stack) => Partial<PurpleFleaConnectionProps>]>([
    ['the trading key in the API-key secret', () => ({})],
    [
      'a trading key secret of its own',
      (stack) => ({ tradingKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'TradingKey', 'PurpleFleaTradingKey') }),
    ],
    [
      'a trading key secret encrypted with a customer managed key',
      (stack) => ({
        tradingKeySecret: secretsmanager.Secret.fromSecretAttributes(stack, 'TradingKey', {
          secretCompleteArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:PurpleFleaTradingKey-AbCdEf`,
          encryptionKey: new kms.Key(stack, 'TradingKmsKey', { enableKeyRotation: true }),
        }),
      }),
    ],
  ])('the services profile, with %s: no unacknowledged finding, and exactly the acknowledgments of the gateway', (_name, tradingKey) => {
    const services = stackWithEveryConstruct('NagProfile', (stack) => ({ api: PurpleFleaApi.services(), ...tradingKey(stack) }));
    const gateway = stackWithEveryConstruct('NagProfile', () => ({}));
    expect(unacknowledgedFindings(services)).toEqual([]);
    expect(unacknowledgedFindings(gateway)).toEqual([]);
    const sorted = (stack: Stack) => acknowledgments(stack).sort((a, b) => `${a.path} ${a.id}`.localeCompare(`${b.path} ${b.id}`));
    expect(sorted(services).length).toBeGreaterThan(0);
    expect(sorted(services)).toEqual(sorted(gateway));
  });

  test.each<[string, Partial<ModelAgentsProps>]>([
    ['on completed training jobs', { trainingJobNamePrefix: 'churn-' }],
    ['on a model package group, the faucet off', { modelPackageGroupName: 'churn-models', claimFaucet: false }],
    ['on both, groups by prefix', { registerTrainingJobs: true, modelPackageGroupNamePrefix: 'churn-' }],
  ])('no unacknowledged finding for ModelAgents (services profile) %s', (_name, props) => {
    const stack = newStack('NagAgents');
    const connection = newConnection(stack, { api: PurpleFleaApi.services() });
    new ModelAgents(stack, 'Agents', { connection, ...props });
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test.each<[string, boolean]>([
    ['the trading key in the connection secret', false],
    ['a trading key secret of its own', true],
  ])('no unacknowledged finding for TradingPnl (services profile), %s', (_name, ownSecret) => {
    const stack = newStack('NagPnl');
    const tradingKeySecret = ownSecret ? secretsmanager.Secret.fromSecretNameV2(stack, 'TradingKey', 'PurpleFleaTradingKey') : undefined;
    const connection = newConnection(stack, { api: PurpleFleaApi.services(), tradingKeySecret });
    new TradingPnl(stack, 'Pnl', { connection, dailyLossAlarmUsdc: 100 });
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test('no unacknowledged finding for two BatchPayouts on one source bucket', () => {
    const stack = newStack('NagTwoPayouts');
    const connection = newConnection(stack);
    const sourceBucket = scoresBucket(stack);
    new BatchPayout(stack, 'Weekly', { connection, sourceBucket, sourcePrefix: 'weekly/' });
    new BatchPayout(stack, 'Monthly', { connection, sourceBucket, sourcePrefix: 'monthly/' });
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test('no unacknowledged finding, and nothing to acknowledge, for a PurpleFleaDashboard of all four constructs', () => {
    const stack = stackWithBothTriggers();
    const connection = stack.node.findChild('PurpleFlea') as PurpleFleaConnection;
    const monitored = [
      stack.node.findChild('Scheduled') as PredictToTrade,
      new TrainingBonusEscrow(stack, 'Bonus', { connection, trainingJobNamePrefix: 'churn-' }),
      new BatchPayout(stack, 'Payout', { connection, sourceBucket: scoresBucket(stack), sourcePrefix: 'scores/' }),
      new FraudHoldEscrow(stack, 'Holds', { connection }),
    ];
    const dashboard = new PurpleFleaDashboard(stack, 'Dashboard', { monitored });
    expect(unacknowledgedFindings(stack)).toEqual([]);
    expect(acknowledgments(dashboard)).toEqual([]);
  });

  test('no unacknowledged finding in an environment-agnostic stack (region and account unknown at synth)', () => {
    const stack = new Stack(new App(), 'Agnostic');
    const connection = newConnection(stack);
    new PredictToTrade(stack, 'Trader', { connection, endpointName: 'demo-direction-model' });
    new TrainingBonusEscrow(stack, 'Bonus', { connection, trainingJobNamePrefix: 'churn-' });
    new TrainingBonusEscrow(stack, 'AnyJob', { connection });
    new BatchPayout(stack, 'Payout', {
      connection,
      sourceBucket: scoresBucket(stack),
      sourcePrefix: 'scores/',
      processingJobNamePrefix: 'churn-',
      processingOutputBucket: s3.Bucket.fromBucketName(stack, 'JobOutput', 'job-output'),
    });
    new FraudHoldEscrow(stack, 'Holds', {
      connection,
      transformJobNamePrefix: 'fraud-',
      transformOutputBucket: s3.Bucket.fromBucketName(stack, 'TransformOutput', 'transform-output'),
      transformOutputPrefix: 'transform/',
    });
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test('no unacknowledged finding with the function in a VPC', () => {
    const stack = newStack('NagVpc');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    // The test's own VPC is not part of the library.
    Validations.of(vpc).acknowledge({ id: 'AwsSolutions-VPC7', reason: 'Test fixture: a VPC without flow logs.' });
    const connection = newConnection(stack);
    new PredictToTrade(stack, 'InVpc', { connection, endpointName: 'demo-direction-model', functionOptions: { vpc } });
    new BatchPayout(stack, 'PayoutInVpc', { connection, functionOptions: { vpc } });
    new FraudHoldEscrow(stack, 'HoldsInVpc', { connection, functionOptions: { vpc } });

    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test('the constructs acknowledge exactly these findings, narrowly and with a reason', () => {
    const stack = newStack('NagVpc');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const connection = newConnection(stack);
    const trader = new PredictToTrade(stack, 'Trader', { connection, endpointName: 'demo-direction-model', functionOptions: { vpc } });
    const bonus = new TrainingBonusEscrow(stack, 'Bonus', { connection, trainingJobNamePrefix: 'Churn-', functionOptions: { vpc } });
    const anyJob = new TrainingBonusEscrow(stack, 'AnyJob', { connection });

    const payout = new BatchPayout(stack, 'Payout', {
      connection,
      sourceBucket: scoresBucket(stack),
      sourcePrefix: 'scores/',
      processingJobNamePrefix: 'Churn-',
      processingOutputBucket: s3.Bucket.fromBucketName(stack, 'JobOutput', 'job-output'),
      functionOptions: { vpc },
    });
    const manual = new BatchPayout(stack, 'Manual', { connection, outputPrefix: '' });
    const holds = new FraudHoldEscrow(stack, 'Holds', {
      connection,
      transformJobNamePrefix: 'Fraud-',
      transformOutputBucket: scoresBucket(stack, 'TransformOutput'),
      transformOutputPrefix: 'transform/',
      sourceBucket: s3.Bucket.fromBucketName(stack, 'Scored', 'their-scored'),
      functionOptions: { vpc },
    });
    const anyTransform = new FraudHoldEscrow(stack, 'AnyTransform', {
      connection,
      transformJobTrigger: true,
      transformOutputBucket: s3.Bucket.fromBucketName(stack, 'AnyTransformOutput', 'transform-output'),
      outputPrefix: '',
    });
    const notificationsHandler = stack.node.findChild(BUCKET_NOTIFICATIONS_HANDLER);

    // (aws-cdk-lib's Vpc acknowledges a CloudFormation validation rule of its own on the stack.)
    const found = [
      ...acknowledgments(connection),
      ...acknowledgments(trader),
      ...acknowledgments(bonus),
      ...acknowledgments(anyJob),
      ...acknowledgments(payout),
      ...acknowledgments(manual),
      ...acknowledgments(holds),
      ...acknowledgments(anyTransform),
      ...acknowledgments(notificationsHandler),
    ];
    const invokeVersions = (fn: lambda.IFunction) =>
      `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`;
    /** A batch construct, by what differs: its act function and step, and its run log. */
    type Batch = {
      construct: BatchPayout | FraudHoldEscrow;
      act: lambda.IFunction;
      actId: string;
      mapLabel: string;
      logFile: string;
      summaryFile: string;
    };
    const payoutBatch = (construct: BatchPayout): Batch => ({
      construct,
      act: construct.payFunction,
      actId: 'Pay',
      mapLabel: 'PayBatches',
      logFile: 'payout_log.jsonl',
      summaryFile: 'payout_summary.json',
    });
    const holdsBatch = (construct: FraudHoldEscrow): Batch => ({
      construct,
      act: construct.actFunction,
      actId: 'Act',
      mapLabel: 'HoldBatches',
      logFile: 'holds_log.jsonl',
      summaryFile: 'holds_summary.json',
    });
    const executions = (sm: Batch['construct']) => {
      const id = stack.getLogicalId(sm.stateMachine.node.defaultChild as sfn.CfnStateMachine);
      return `arn:<AWS::Partition>:states:${REGION}:${ACCOUNT}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${id}"}]}]}`;
    };
    const objects = (sm: Batch['construct'], pattern: string) =>
      `<${stack.getLogicalId(sm.outputBucket.node.defaultChild as s3.CfnBucket)}.Arn>/${pattern}`;
    const bucketArn = (id: string) => `<${stack.getLogicalId(stack.node.findChild(id).node.defaultChild as s3.CfnBucket)}.Arn>`;
    const batchAcknowledgments = (
      { construct: sm, act, actId, mapLabel, logFile, summaryFile }: Batch,
      name: string,
      prefix: string,
      vpcToo: boolean,
    ) => [
      // The three functions: X-Ray and (in a VPC) network interfaces, in policies of their own, as the other constructs.
      ...['Prepare', actId, 'Summarize'].flatMap((fn) => [
        `AwsSolutions-IAM5[Resource::*] NagVpc/${name}/${fn}Tracing`,
        ...(vpcToo ? [`AwsSolutions-IAM5[Resource::*] NagVpc/${name}/${fn}NetworkInterfaces`] : []),
      ]),
      // The output bucket: no server access logs (the run folders are written by the construct's roles only).
      `AwsSolutions-S1 NagVpc/${name}/OutputBucket`,
      // The run files of every run folder, named by the execution.
      `AwsSolutions-IAM5[Resource::${objects(sm, `${prefix}*/input.csv`)}] NagVpc/${name}/PrepareAccess`,
      `AwsSolutions-IAM5[Resource::${objects(sm, `${prefix}*/prepare_report.json`)}] NagVpc/${name}/PrepareAccess`,
      `AwsSolutions-IAM5[Resource::${objects(sm, `${prefix}*/prepare_report.json`)}] NagVpc/${name}/SummarizeAccess`,
      `AwsSolutions-IAM5[Resource::${objects(sm, `${prefix}*/input.csv`)}] NagVpc/${name}/SummarizeAccess`,
      `AwsSolutions-IAM5[Resource::${objects(sm, `${prefix}*/map-results/*`)}] NagVpc/${name}/SummarizeAccess`,
      `AwsSolutions-IAM5[Resource::${objects(sm, `${prefix}*/${logFile}`)}] NagVpc/${name}/SummarizeAccess`,
      `AwsSolutions-IAM5[Resource::${objects(sm, `${prefix}*/${summaryFile}`)}] NagVpc/${name}/SummarizeAccess`,
      `AwsSolutions-IAM5[Resource::${objects(sm, `${prefix}*/input.csv`)}] NagVpc/${name}/Workflow/RunFolderAccess`,
      `AwsSolutions-IAM5[Resource::${objects(sm, `${prefix}*/map-results/*`)}] NagVpc/${name}/Workflow/RunFolderAccess`,
      // The state machine: log delivery and X-Ray, in policies of their own...
      `AwsSolutions-IAM5[Resource::*] NagVpc/${name}/Workflow/LogDelivery`,
      `AwsSolutions-IAM5[Resource::*] NagVpc/${name}/Workflow/Tracing`,
      // ...what aws-cdk-lib's LambdaInvoke adds: the functions' versions, named exactly...
      ...[sm.prepareFunction, act, sm.summarizeFunction].map(
        (fn) => `${invokeVersions(fn)} NagVpc/${name}/Workflow/StateMachine/Role/DefaultPolicy`,
      ),
      // ...and what its Distributed Map adds: this state machine's child executions and its Map Runs.
      `AwsSolutions-IAM5[Resource::${executions(sm)}:*] NagVpc/${name}/Workflow/StateMachine/DistributedMapPolicy`,
      `AwsSolutions-IAM5[Resource::${executions(sm)}/${mapLabel}:*] NagVpc/${name}/Workflow/StateMachine/DistributedMapPolicy`,
    ];
    expect(found.map(({ path, id }) => `${id} ${path}`).sort()).toEqual(
      [
        // The DLQ is itself the dead-letter queue.
        'AwsSolutions-SQS3 NagVpc/Trader/DeadLetterQueue',
        // X-Ray's actions take no resource: in their own policy.
        'AwsSolutions-IAM5[Resource::*] NagVpc/Trader/HandlerTracing',
        // Lambda's VPC network-interface actions, in their own policy.
        'AwsSolutions-IAM5[Resource::*] NagVpc/Trader/HandlerNetworkInterfaces',
        // The same three for each TrainingBonusEscrow (the second one is not in a VPC)...
        'AwsSolutions-SQS3 NagVpc/Bonus/DeadLetterQueue',
        'AwsSolutions-IAM5[Resource::*] NagVpc/Bonus/HandlerTracing',
        'AwsSolutions-IAM5[Resource::*] NagVpc/Bonus/HandlerNetworkInterfaces',
        'AwsSolutions-SQS3 NagVpc/AnyJob/DeadLetterQueue',
        'AwsSolutions-IAM5[Resource::*] NagVpc/AnyJob/HandlerTracing',
        // ...and DescribeTrainingJob on the jobs the rule matches, named exactly, in a policy of its own.
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:${REGION}:${ACCOUNT}:training-job/churn-*] NagVpc/Bonus/HandlerDescribeTrainingJob`,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:${REGION}:${ACCOUNT}:training-job/*] NagVpc/AnyJob/HandlerDescribeTrainingJob`,
        // BatchPayout, in a VPC, on both triggers...
        ...batchAcknowledgments(payoutBatch(payout), 'Payout', 'purpleflea-payouts/', true),
        'AwsSolutions-SQS3 NagVpc/Payout/DeadLetterQueue',
        // ...reading the source under its prefix, the processing jobs' bucket, and describing the jobs the rule matches.
        `AwsSolutions-IAM5[Resource::${bucketArn('Scores')}/scores/*] NagVpc/Payout/PrepareAccess`,
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::job-output/*] NagVpc/Payout/PrepareAccess',
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:${REGION}:${ACCOUNT}:processing-job/churn-*] NagVpc/Payout/PrepareAccess`,
        // aws-cdk-lib's bucket-notifications handler, which turns on the source bucket's EventBridge notifications.
        `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole] NagVpc/${BUCKET_NOTIFICATIONS_HANDLER}/Role`,
        // BatchPayout started by hand, run folders at the bucket's root: no trigger, so no dead-letter queue.
        ...batchAcknowledgments(payoutBatch(manual), 'Manual', '', false),
        // FraudHoldEscrow, in a VPC, on both triggers...
        ...batchAcknowledgments(holdsBatch(holds), 'Holds', 'purpleflea-holds/', true),
        'AwsSolutions-SQS3 NagVpc/Holds/DeadLetterQueue',
        // ...reading any object of the (imported) source bucket, and the transform output under its prefix (listing it is not a
        // wildcard: the bucket, with an s3:prefix condition), and describing the transform jobs the rule matches.
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::their-scored/*] NagVpc/Holds/PrepareAccess',
        `AwsSolutions-IAM5[Resource::${bucketArn('TransformOutput')}/transform/*] NagVpc/Holds/PrepareAccess`,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:${REGION}:${ACCOUNT}:transform-job/fraud-*] NagVpc/Holds/PrepareAccess`,
        // FraudHoldEscrow on any transform job, reading its whole (imported) bucket, run folders at the bucket's root.
        ...batchAcknowledgments(holdsBatch(anyTransform), 'AnyTransform', '', false),
        'AwsSolutions-SQS3 NagVpc/AnyTransform/DeadLetterQueue',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::transform-output/*] NagVpc/AnyTransform/PrepareAccess',
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:${REGION}:${ACCOUNT}:transform-job/*] NagVpc/AnyTransform/PrepareAccess`,
      ].sort(),
    );
    for (const { reason } of found) expect(reason.length).toBeGreaterThan(40);
  });

  test("a wildcard a user adds to the function's role is still reported", () => {
    const stack = newStack('UserWildcard');
    const trader = new PredictToTrade(stack, 'Trader', { connection: newConnection(stack), endpointName: 'demo-direction-model' });
    trader.lambdaFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
    expect(unacknowledgedFindings(stack)).toEqual([
      'AwsSolutions-IAM5[Resource::*] UserWildcard/Trader/HandlerRole/DefaultPolicy/Resource',
    ]);
  });

  test("a wildcard a user adds to BatchPayout's state machine role is still reported, even on the run folders it may read", () => {
    const stack = newStack('UserWildcardPayout');
    const payout = new BatchPayout(stack, 'Payout', { connection: newConnection(stack) });
    const runInputs = payout.outputBucket.arnForObjects('purpleflea-payouts/*/input.csv');
    payout.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: [runInputs] }));
    payout.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
    const bucketId = stack.getLogicalId(payout.outputBucket.node.defaultChild as s3.CfnBucket);
    expect(unacknowledgedFindings(stack).sort()).toEqual(
      [
        `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/purpleflea-payouts/*/input.csv] UserWildcardPayout/Payout/Workflow/StateMachine/Role/DefaultPolicy/Resource`,
        'AwsSolutions-IAM5[Resource::*] UserWildcardPayout/Payout/Workflow/StateMachine/Role/DefaultPolicy/Resource',
      ].sort(),
    );
  });

  test("a wildcard a user adds to FraudHoldEscrow's Prepare role is still reported, even on the transform output and jobs it may read", () => {
    const stack = newStack('UserWildcardHolds');
    const holds = new FraudHoldEscrow(stack, 'Holds', {
      connection: newConnection(stack),
      transformJobNamePrefix: 'fraud-',
      transformOutputBucket: s3.Bucket.fromBucketName(stack, 'TransformOutput', 'transform-output'),
      transformOutputPrefix: 'transform/',
    });
    // The very resources the construct acknowledges on its own policy: the acknowledgments do not reach the role's.
    const transformObjects = 'arn:aws:s3:::transform-output/transform/*';
    const transformJobs = `arn:aws:sagemaker:${REGION}:${ACCOUNT}:transform-job/fraud-*`;
    holds.prepareFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: [transformObjects] }));
    holds.prepareFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:StopTransformJob'], resources: [transformJobs] }));
    expect(unacknowledgedFindings(stack).sort()).toEqual(
      [
        `AwsSolutions-IAM5[Resource::${transformObjects}] UserWildcardHolds/Holds/PrepareRole/DefaultPolicy/Resource`,
        `AwsSolutions-IAM5[Resource::${transformJobs}] UserWildcardHolds/Holds/PrepareRole/DefaultPolicy/Resource`,
      ].sort(),
    );
  });

  test('without tracing there is no wildcard to acknowledge', () => {
    const stack = newStack('NoTracing');
    const trader = new PredictToTrade(stack, 'Trader', {
      connection: newConnection(stack),
      endpointName: 'demo-direction-model',
      functionOptions: { tracing: lambda.Tracing.DISABLED },
    });
    expect(acknowledgments(trader).map((a) => a.id)).toEqual(['AwsSolutions-SQS3']);
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test("a wildcard a user adds to TrainingBonusEscrow's role is still reported, even on the training jobs it may describe", () => {
    const stack = newStack('UserWildcardBonus');
    const bonus = new TrainingBonusEscrow(stack, 'Bonus', { connection: newConnection(stack), trainingJobNamePrefix: 'churn-' });
    // The very resource the construct acknowledges on its own policy: the acknowledgment does not reach the role's.
    const trainingJobs = `arn:aws:sagemaker:${REGION}:${ACCOUNT}:training-job/churn-*`;
    bonus.lambdaFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:StopTrainingJob'], resources: [trainingJobs] }));
    expect(unacknowledgedFindings(stack)).toEqual([
      `AwsSolutions-IAM5[Resource::${trainingJobs}] UserWildcardBonus/Bonus/HandlerRole/DefaultPolicy/Resource`,
    ]);
  });

  test("the acknowledged finding id is cdk-nag's own: without the acknowledgment, cdk-nag reports exactly that id", () => {
    const stack = newStack('Unacknowledged');
    const bonus = new TrainingBonusEscrow(stack, 'Bonus', { connection: newConnection(stack), trainingJobNamePrefix: 'Churn-' });
    const [acknowledged] = acknowledgments(bonus.node.findChild('HandlerDescribeTrainingJob'));
    // The same statement in a policy of the user's, which nothing acknowledges.
    new iam.Policy(stack, 'Copy', {
      roles: [bonus.lambdaFunction.role!],
      statements: [
        new iam.PolicyStatement({
          actions: ['sagemaker:DescribeTrainingJob'],
          resources: [stack.formatArn({ service: 'sagemaker', resource: 'training-job', resourceName: 'churn-*' })],
        }),
      ],
    });
    expect(unacknowledgedFindings(stack)).toEqual([`${acknowledged.id} Unacknowledged/Copy/Resource`]);
  });
});
