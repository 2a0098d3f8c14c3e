import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ALARM_PERIOD, newAlarmOnAny, newDeadLetterQueueAlarm, newUnknownOutcomesAlarm } from './private/alarms';
import {
  BatchWorkflow,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MAX_ITEMS_PER_BATCH as DEFAULT_ITEMS_PER_BATCH,
  DEFAULT_TOLERATED_FAILURE_PERCENTAGE,
  S3_KMS_OBJECT_ACTIONS,
} from './private/batch-workflow';
import { BATCH_SUMMARIZE_ENV, batchSummarizeEnvironment, RUN_FILES } from './private/contracts/batch-engine';
import { BATCH_PAYOUT_METRICS, BATCH_PAYOUT_PAY_ENV, BATCH_PAYOUT_PREPARE_ENV, PAYOUT_LOG_FILE, PROCESSING_JOB_STATE_CHANGE, batchPayoutPayEnvironment, batchPayoutPrepareEnvironment } from './private/contracts/batch-payout-env';
import { newDeadLetterQueue } from './private/dead-letter-queue';
import { commonHandlerEnvironment, constructEnvironmentNames, handlerEnvironment } from './private/handler-environment';
import { checkFunctionOptions, HandlerFunction } from './private/handler-function';
import { SAGEMAKER_NAME_RULE, isSageMakerNamePrefix } from './private/patterns';
import { sageMakerArn, sageMakerNameInArn } from './private/sagemaker-arns';
import { NumberRange, PropsValidator, isInRange, isToken } from './private/validation';
import { WildcardStatement, newWildcardPolicy } from './private/wildcard-policy';
import { PurpleFleaConnection } from './purpleflea-connection';

/** Props of a {@link BatchPayout}. */
export interface BatchPayoutProps {
  /** How to reach Purple Flea and the action ledger. */
  readonly connection: PurpleFleaConnection;

  // Triggers: any combination; with none, runs start only by hand (StartExecution with `{"bucket", "key"}`).

  /**
   * Start a run when a scores file is created in this bucket (EventBridge `Object Created` events).
   * A bucket created in the same stack gets EventBridge notifications turned on; an imported bucket
   * must have them turned on by its owner (S3 console: Properties, Amazon EventBridge).
   * @default - no S3 trigger
   */
  readonly sourceBucket?: s3.IBucket;

  /**
   * Only objects whose key starts with this start a run (e.g. `scores/`); the function may read only them.
   * Requires `sourceBucket`.
   * @default - every object in `sourceBucket`
   */
  readonly sourcePrefix?: string;

  /**
   * Only objects whose key ends with this start a run (e.g. `.csv`). Requires `sourceBucket`.
   * @default - any key
   */
  readonly sourceSuffix?: string;

  /**
   * Start a run when a SageMaker Processing Job whose name starts with this completes. Turns the
   * processing-job trigger on. The rule matches it case-sensitively; the function may describe only the
   * jobs it names (in lower case, as SageMaker writes ARNs). A token is used as it is: give it in lower case.
   * @default - every processing job, if `processingJobTrigger` is true
   */
  readonly processingJobNamePrefix?: string;

  /**
   * Start a run when any SageMaker Processing Job completes (narrow it with `processingJobNamePrefix`).
   * @default - true when `processingJobNamePrefix` is given, false otherwise
   */
  readonly processingJobTrigger?: boolean;

  /**
   * The bucket the processing jobs write their scores to; required by the processing-job trigger, which
   * may read any object in it (a job's output location is known only when it completes).
   * @default - no processing-job trigger
   */
  readonly processingOutputBucket?: s3.IBucket;

  /**
   * The processing job's `ProcessingOutput` (its `OutputName`) whose S3 location holds the scores.
   * @default 'payout'
   */
  readonly processingOutputName?: string;

  /**
   * The scores file in that output location.
   * @default 'scores.csv'
   */
  readonly processingFileName?: string;

  // The scores and the amounts.

  /**
   * The CSV column holding each row's Purple Flea agent id.
   * @default 'agent_id'
   */
  readonly agentIdColumn?: string;

  /**
   * The CSV column holding each row's score.
   * @default 'score'
   */
  readonly scoreColumn?: string;

  /**
   * USDC paid per score point: a row's amount is round(score × this, 2). Greater than 0.
   * @default 10
   */
  readonly usdPerScorePoint?: number;

  /**
   * Rows whose amount is at or below this are SKIPPED (not paid). At least 0.
   * @default 0.01
   */
  readonly minPayoutUsdc?: number;

  /**
   * A row whose amount is above this is INVALID: it is never paid, and never reduced. Greater than `minPayoutUsdc`.
   * @default 1000
   */
  readonly maxPayoutPerAgentUsdc?: number;

  /**
   * A file whose payable total is above this pays no one: the run fails before any money moves, naming
   * the total and the cap. Greater than 0.
   * @default 100000
   */
  readonly maxBatchTotalUsdc?: number;

  // How fast.

  /**
   * Purple Flea requests per second for the whole run, shared equally by the `maxConcurrency` batches
   * in flight. Greater than 0, at most 1000; known at synth (not a token).
   * @default 10
   */
  readonly maxRequestsPerSecond?: number;

  /**
   * Batches paid at the same time (the Distributed Map's MaxConcurrency). An integer from 1 to 1000;
   * known at synth (not a token).
   * @default 10
   */
  readonly maxConcurrency?: number;

  /**
   * Requests in flight at the same time within one batch. An integer from 1 to 100.
   * @default 5
   */
  readonly payConcurrency?: number;

  /**
   * Rows per batch (the Distributed Map's ItemBatcher). An integer from 1 to 1000; known at synth.
   * A batch must fit in the Pay function's timeout at its share of the rate (with a minute to spare for
   * backing off from 429s): itemsPerBatch × maxConcurrency / maxRequestsPerSecond seconds.
   * @default 100
   */
  readonly itemsPerBatch?: number;

  /**
   * The percentage of batches that may fail without failing the run (the Distributed Map's
   * ToleratedFailurePercentage). From 0 to 100; known at synth.
   * @default 0
   */
  readonly toleratedFailurePercentage?: number;

  // Where the run folders go.

  /**
   * The bucket of the run folders (`<outputPrefix>/<run id>/`: the normalized input, the Map's results
   * and the payout log). Must not be `sourceBucket` under an overlapping prefix (a run's own files would
   * start new runs).
   * @default - a new bucket: S3-managed encryption, TLS only, public access blocked, versioned, retained
   */
  readonly outputBucket?: s3.IBucket;

  /**
   * The key prefix of the run folders in `outputBucket`: no leading or trailing slash, no wildcard; empty
   * for the bucket's root.
   * @default 'purpleflea-payouts'
   */
  readonly outputPrefix?: string;

  /**
   * The bus that gets a `Purple Flea Payout Completed` event (source `purpleflea.sagemaker`) after each run.
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;

  /**
   * Run and log everything, but pay no one.
   * @default false
   */
  readonly dryRun?: boolean;

  /**
   * When false, the rules are created disabled and a run started by hand pays no one.
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * How long the functions' and the state machine's logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Overrides for the three functions: memory, timeout, VPC placement... The construct sets their code,
   * handler, runtime, role, log group and its own environment variables; they are invoked synchronously
   * by Step Functions, so they have no async retries, event age or failure destination. Giving any of
   * those here is an error.
   * @default - arm64, active tracing, 5 minutes; 1024 MB for Prepare and Summarize, 256 MB for Pay
   */
  readonly functionOptions?: lambda.FunctionOptions;
}

/**
 * Pays each agent of a scored CSV (`agent_id`, `score`) on Purple Flea, exactly once per file content,
 * on Step Functions' Distributed Map: a file of a few rows and a file of millions take the same path.
 *
 * A run starts when a scores file is created in `sourceBucket`, when a SageMaker Processing Job
 * completes, or by hand: `StartExecution` on `stateMachine` with `{"bucket": "...", "key": "..."}`
 * (Prepare may read the objects of the triggers' buckets; for another bucket, grant it read, e.g.
 * `bucket.grantRead(payout.prepareFunction, 'scores/*')`). Each run has a folder `s3://<outputBucket>/<outputPrefix>/<run id>/`:
 *
 * 1. Prepare reads the file once, checks every row and the caps (`maxBatchTotalUsdc` fails the run before
 *    any money moves), and writes the payable rows as `input.csv`;
 * 2. a Distributed Map reads `input.csv` in batches of `itemsPerBatch`, `maxConcurrency` at a time, and
 *    Pay transfers each row's amount from the connection's agent, through the action ledger keyed by
 *    the file's bucket, key and ETag and the agent id, within `maxRequestsPerSecond`;
 * 3. Summarize writes `payout_log.json` (one entry per source row, totals per status) and puts a
 *    `Purple Flea Payout Completed` event on `eventBus`.
 *
 * Running the same file again, or redriving a run, pays no one twice.
 */
export class BatchPayout extends Construct {
  /** The workflow: Prepare → PayBatches (Distributed Map) → Pay → Summarize. */
  public readonly stateMachine: sfn.StateMachine;
  /** Reads and checks the scores, writes the run's `input.csv`. */
  public readonly prepareFunction: lambda.Function;
  /** Pays one batch of rows. */
  public readonly payFunction: lambda.Function;
  /** Writes the payout log and puts the completion event. */
  public readonly summarizeFunction: lambda.Function;
  /** The bucket of the run folders. */
  public readonly outputBucket: s3.IBucket;
  /** The key prefix of the run folders in `outputBucket` (empty for the bucket's root). */
  public readonly outputPrefix: string;
  /** The rule on `sourceBucket`'s `Object Created` events, when `sourceBucket` is given. */
  public readonly objectCreatedRule?: events.Rule;
  /** The rule on completed processing jobs, when the processing-job trigger is on. */
  public readonly processingJobRule?: events.Rule;
  /** The rules' failed deliveries (there is one when there is a rule). */
  public readonly deadLetterQueue?: sqs.Queue;
  /** The state machine's log group. */
  public readonly logGroup: logs.ILogGroup;
  /** Fires on any failed run in 5 minutes. */
  public readonly executionsFailedAlarm: cloudwatch.Alarm;
  /** Fires on any payout whose outcome is unknown (it may have been made): an operator must check it. */
  public readonly unknownOutcomesAlarm: cloudwatch.Alarm;
  /** Fires when a rule's delivery lands in the dead-letter queue (there is one when there is a rule). */
  public readonly deadLetterQueueAlarm?: cloudwatch.Alarm;
  /** The bus that gets the `Purple Flea Payout Completed` events. */
  public readonly eventBus: events.IEventBus;

  constructor(scope: Construct, id: string, props: BatchPayoutProps) {
    super(scope, id);
    validate(id, props);

    const enabled = props.enabled ?? true;
    const dryRun = props.dryRun ?? false;
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    const processingTrigger = processingTriggerOf(props);
    this.outputPrefix = props.outputPrefix ?? DEFAULT_OUTPUT_PREFIX;
    this.outputBucket = props.outputBucket ?? this.newOutputBucket();
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    const maxRequestsPerSecond = props.maxRequestsPerSecond ?? DEFAULT_MAX_REQUESTS_PER_SECOND;
    const maxConcurrency = props.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;

    const prepare = new HandlerFunction(this, 'Prepare', {
      assetName: 'batch-payout-prepare',
      description: 'BatchPayout Prepare: reads and checks a scores file, writes the payable rows as the run\'s input.csv',
      logRetention,
      functionOptions: { memorySize: 1024, timeout: FUNCTION_TIMEOUT, ...props.functionOptions },
      environment: {
        ...commonHandlerEnvironment(BATCH_PAYOUT_METRICS),
        ...batchPayoutPrepareEnvironment({
          agentIdColumn: props.agentIdColumn ?? DEFAULT_AGENT_ID_COLUMN,
          scoreColumn: props.scoreColumn ?? DEFAULT_SCORE_COLUMN,
          usdPerScorePoint: props.usdPerScorePoint ?? DEFAULT_USD_PER_SCORE_POINT,
          minPayoutUsdc: props.minPayoutUsdc ?? DEFAULT_MIN_PAYOUT_USDC,
          maxPayoutPerAgentUsdc: props.maxPayoutPerAgentUsdc ?? DEFAULT_MAX_PAYOUT_PER_AGENT_USDC,
          maxBatchTotalUsdc: props.maxBatchTotalUsdc ?? DEFAULT_MAX_BATCH_TOTAL_USDC,
          outputBucket: this.outputBucket.bucketName,
          outputPrefix: this.outputPrefix,
          processingOutputName: props.processingOutputName ?? DEFAULT_PROCESSING_OUTPUT_NAME,
          processingFileName: props.processingFileName ?? DEFAULT_PROCESSING_FILE_NAME,
          enabled,
        }),
      },
    });
    const pay = new HandlerFunction(this, 'Pay', {
      assetName: 'batch-payout-pay',
      description: 'BatchPayout Pay: pays one batch of scored rows on Purple Flea, each agent once',
      logRetention,
      functionOptions: { timeout: FUNCTION_TIMEOUT, ...props.functionOptions },
      environment: handlerEnvironment(
        BATCH_PAYOUT_METRICS,
        props.connection,
        batchPayoutPayEnvironment({
          // The run's rate, shared by the batches in flight.
          requestsPerSecond: maxRequestsPerSecond / maxConcurrency,
          concurrency: props.payConcurrency ?? DEFAULT_PAY_CONCURRENCY,
          dryRun,
        }),
      ),
    });
    const summarize = new HandlerFunction(this, 'Summarize', {
      assetName: 'batch-payout-summarize',
      description: 'BatchPayout Summarize: writes the run\'s payout log and puts a Purple Flea Payout Completed event',
      logRetention,
      functionOptions: { memorySize: 1024, timeout: FUNCTION_TIMEOUT, ...props.functionOptions },
      // The connection too: Summarize reads the ledger for the rows the Map could not settle.
      environment: handlerEnvironment(
        BATCH_PAYOUT_METRICS,
        props.connection,
        // PutEvents takes a bus's name or ARN; the ARN also names a bus in another account.
        batchSummarizeEnvironment({ eventBusName: this.eventBus.eventBusArn, dryRun }),
      ),
    });
    this.prepareFunction = prepare;
    this.payFunction = pay;
    this.summarizeFunction = summarize;

    this.allowPrepare(prepare, props, processingTrigger);
    props.connection.grantActionAccess(pay);
    this.allowSummarize(summarize, props.connection);

    const workflow = new BatchWorkflow(this, 'Workflow', {
      prepareFunction: prepare,
      actFunction: pay,
      summarizeFunction: summarize,
      actName: 'Pay',
      outputBucket: this.outputBucket,
      outputPrefix: this.outputPrefix,
      maxItemsPerBatch: props.itemsPerBatch ?? DEFAULT_ITEMS_PER_BATCH,
      maxConcurrency,
      toleratedFailurePercentage: props.toleratedFailurePercentage ?? DEFAULT_TOLERATED_FAILURE_PERCENTAGE,
      logRetention,
      comment: 'BatchPayout: a scored CSV becomes Purple Flea payouts, each agent paid once per file content',
    });
    this.stateMachine = workflow.stateMachine;
    this.logGroup = workflow.logGroup;

    if (props.sourceBucket !== undefined || processingTrigger.on) {
      this.deadLetterQueue = newDeadLetterQueue(this);
    }
    if (props.sourceBucket !== undefined) {
      this.objectCreatedRule = this.newObjectCreatedRule(props.sourceBucket, props, enabled);
    }
    if (processingTrigger.on) {
      this.processingJobRule = this.newProcessingJobRule(processingTrigger.namePrefix, enabled);
    }

    this.executionsFailedAlarm = newAlarmOnAny(
      this,
      'ExecutionsFailedAlarm',
      this.stateMachine.metricFailed({ period: ALARM_PERIOD, statistic: cloudwatch.Stats.SUM }),
      'BatchPayout: a run failed (a bad file, a cap exceeded, or a failed batch): see the execution and its run folder. ' +
        'Redriving it, or running the file again, pays no one twice.',
    );
    this.unknownOutcomesAlarm = newUnknownOutcomesAlarm(
      this,
      pay,
      {
        namespace: BATCH_PAYOUT_METRICS.namespace,
        metricName: BATCH_PAYOUT_METRICS.payoutsUnknown,
        serviceName: BATCH_PAYOUT_METRICS.serviceName,
        functionNameDimension: BATCH_PAYOUT_METRICS.functionNameDimension,
      },
      'BatchPayout: a payout may or may not have been made (timeout, 5xx, lost connection). It is never re-sent ' +
        'automatically: check the UNKNOWN rows of the payout log, or the ledger records in state UNKNOWN, with Purple Flea.',
    );
    if (this.deadLetterQueue !== undefined) {
      this.deadLetterQueueAlarm = newDeadLetterQueueAlarm(
        this,
        this.deadLetterQueue,
        'BatchPayout: a trigger event could not start a run; it is in the dead-letter queue.',
      );
    }
  }

  /** The default output bucket: private, encrypted, TLS only, versioned, kept when the stack goes. */
  private newOutputBucket(): s3.Bucket {
    const bucket = new s3.Bucket(this, 'OutputBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      // The payout logs are the record of money moved.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds the run folders, which only the construct\'s own roles write: each write is a step of an execution ' +
        'recorded in the state machine\'s history and logs. Give your own outputBucket to have server access logs.',
    });
    return bucket;
  }

  /**
   * Prepare reads the scores (the source bucket under its prefix; the processing jobs' bucket), writes the
   * run's `input.csv` and `prepare_report.json`, and may describe the processing jobs the rule matches.
   */
  private allowPrepare(prepare: HandlerFunction, props: BatchPayoutProps, processing: ProcessingTrigger): void {
    const statements: WildcardStatement[] = [
      {
        actions: ['s3:PutObject'],
        resources: [RUN_FILES.input, RUN_FILES.prepareReport].map((file) => this.runFiles(file)),
        reason: `Prepare writes the ${RUN_FILES.input} and ${RUN_FILES.prepareReport} of each run folder, named by the execution, known only when it starts.`,
      },
    ];
    const source = props.sourceBucket;
    if (source !== undefined) {
      statements.push({
        actions: ['s3:GetObject'],
        resources: [source.arnForObjects(`${props.sourcePrefix ?? ''}*`)],
        reason:
          'Prepare reads the scores file whose creation started the run: ' +
          (props.sourcePrefix !== undefined ? 'any object under sourcePrefix.' : 'any object of sourceBucket, as no sourcePrefix is given.'),
      });
      source.encryptionKey?.grantDecrypt(prepare);
    }
    if (processing.on && props.processingOutputBucket !== undefined) {
      statements.push({
        actions: ['s3:GetObject'],
        resources: [props.processingOutputBucket.arnForObjects('*')],
        reason: "Prepare reads the scores file of a completed processing job, in the job's output location, known only when it completes.",
      });
      props.processingOutputBucket.encryptionKey?.grantDecrypt(prepare);
      statements.push({
        actions: ['sagemaker:DescribeProcessingJob'],
        resources: [sageMakerArn(this, 'processing-job', `${sageMakerNameInArn(processing.namePrefix ?? '')}*`)],
        reason:
          "Prepare describes a completed processing job when its event lacks the job's outputs; names are known only when jobs complete: " +
          (processing.namePrefix !== undefined
            ? 'those whose name starts with processingJobNamePrefix (in lower case, as SageMaker writes ARNs).'
            : 'every processing job, as no processingJobNamePrefix is given.'),
      });
    }
    newWildcardPolicy(this, 'PrepareAccess', { role: prepare.handlerRole, dependent: prepare, statements });
    this.outputBucket.encryptionKey?.grant(prepare, ...S3_KMS_OBJECT_ACTIONS);
  }

  /**
   * Summarize reads the run's files (Prepare's report, input.csv, the Map's results) and the ledger records
   * of the rows the Map could not settle, writes `payout_log.json`, and puts one event.
   */
  private allowSummarize(summarize: HandlerFunction, connection: PurpleFleaConnection): void {
    newWildcardPolicy(this, 'SummarizeAccess', {
      role: summarize.handlerRole,
      dependent: summarize,
      statements: [
        {
          actions: ['s3:GetObject'],
          resources: [RUN_FILES.prepareReport, RUN_FILES.input, `${RUN_FILES.mapResults}/*`].map((file) => this.runFiles(file)),
          reason:
            `Summarize reads the ${RUN_FILES.prepareReport}, ${RUN_FILES.input} and Map results of each run folder, named by the execution, ` +
            'known only when it starts.',
        },
        {
          actions: ['s3:PutObject'],
          resources: [this.runFiles(PAYOUT_LOG_FILE)],
          reason: `Summarize writes the ${PAYOUT_LOG_FILE} of each run folder, named by the execution, known only when it starts.`,
        },
      ],
    });
    this.outputBucket.encryptionKey?.grant(summarize, ...S3_KMS_OBJECT_ACTIONS);
    // Reads single ledger records, never writes them: no secret, no PutItem or UpdateItem.
    iam.Grant.addToPrincipal({ grantee: summarize, actions: ['dynamodb:GetItem'], resourceArns: [connection.ledgerTable.tableArn] });
    connection.ledgerTable.encryptionKey?.grantDecrypt(summarize);
    this.eventBus.grantPutEventsTo(summarize);
  }

  /** `<output bucket ARN>/<output prefix>/*\/<file>`: one file of every run folder. */
  private runFiles(file: string): string {
    return this.outputBucket.arnForObjects(this.outputPrefix === '' ? `*/${file}` : `${this.outputPrefix}/*/${file}`);
  }

  /**
   * Starts a run on every object created in `bucket` under the prefix and suffix. A bucket of this stack
   * gets EventBridge notifications turned on (through aws-cdk-lib's bucket-notifications custom resource).
   */
  private newObjectCreatedRule(bucket: s3.IBucket, props: BatchPayoutProps, enabled: boolean): events.Rule {
    if (bucket instanceof s3.Bucket && Stack.of(bucket) === Stack.of(this)) {
      bucket.enableEventBridgeNotification();
      acknowledgeBucketNotificationsHandler(bucket);
    }
    const key = keyMatcher(props.sourcePrefix, props.sourceSuffix);
    const rule = new events.Rule(this, 'ObjectCreatedRule', {
      description: 'Runs BatchPayout: a scores file created in the source bucket becomes Purple Flea payouts',
      enabled,
      eventPattern: {
        source: [OBJECT_CREATED.source],
        detailType: [OBJECT_CREATED.detailType],
        detail: {
          bucket: { name: [bucket.bucketName] },
          ...(key !== undefined ? { object: { key } } : {}),
        },
      },
    });
    rule.addTarget(this.startRun());
    return rule;
  }

  /** Starts a run on every completed processing job (whose name starts with the prefix). */
  private newProcessingJobRule(namePrefix: string | undefined, enabled: boolean): events.Rule {
    const rule = new events.Rule(this, 'ProcessingJobRule', {
      description: 'Runs BatchPayout: the scores of a completed SageMaker processing job become Purple Flea payouts',
      enabled,
      eventPattern: {
        source: [PROCESSING_JOB_STATE_CHANGE.source],
        detailType: [PROCESSING_JOB_STATE_CHANGE.detailType],
        // Filtered here: other states and other jobs never start a run.
        detail: {
          ProcessingJobStatus: [PROCESSING_JOB_STATE_CHANGE.completedStatus],
          ...(namePrefix !== undefined ? { ProcessingJobName: events.Match.prefix(namePrefix) } : {}),
        },
      },
    });
    rule.addTarget(this.startRun());
    return rule;
  }

  /**
   * A rule target starting an execution with the whole event as its input. A failed start is retried
   * for EventBridge's full day, then lands in the dead-letter queue. A repeated event starts a second run
   * of the same file, which pays no one again (the ledger is keyed by the file's ETag).
   */
  private startRun(): targets.SfnStateMachine {
    return new targets.SfnStateMachine(this.stateMachine, {
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: RULE_TARGET_RETRY_ATTEMPTS,
      maxEventAge: RULE_TARGET_MAX_EVENT_AGE,
    });
  }
}

/** S3's EventBridge event for a new object. */
const OBJECT_CREATED = { source: 'aws.s3', detailType: 'Object Created' } as const;

const DEFAULT_OUTPUT_PREFIX = 'purpleflea-payouts';
const DEFAULT_PROCESSING_OUTPUT_NAME = 'payout';
const DEFAULT_PROCESSING_FILE_NAME = 'scores.csv';
const DEFAULT_AGENT_ID_COLUMN = 'agent_id';
const DEFAULT_SCORE_COLUMN = 'score';
const DEFAULT_USD_PER_SCORE_POINT = 10;
const DEFAULT_MIN_PAYOUT_USDC = 0.01;
const DEFAULT_MAX_PAYOUT_PER_AGENT_USDC = 1000;
const DEFAULT_MAX_BATCH_TOTAL_USDC = 100_000;
const DEFAULT_MAX_REQUESTS_PER_SECOND = 10;
const DEFAULT_PAY_CONCURRENCY = 5;

/** Each function's default timeout: a batch paid at its share of the rate, with room to back off from 429s. */
const FUNCTION_TIMEOUT = Duration.minutes(5);
/** Room a batch leaves in Pay's timeout for backing off from 429s (fixed one-minute windows). */
const BACKOFF_ALLOWANCE = Duration.minutes(1);

/** EventBridge's maxima: a failed start (throttled) is retried up to 185 times over 24 hours. */
const RULE_TARGET_RETRY_ATTEMPTS = 185;
const RULE_TARGET_MAX_EVENT_AGE = Duration.hours(24);

/** The environment variables the construct sets on any of its functions; `functionOptions.environment` may not. */
const CONSTRUCT_ENVIRONMENT = constructEnvironmentNames({ ...BATCH_PAYOUT_PREPARE_ENV, ...BATCH_PAYOUT_PAY_ENV, ...BATCH_SUMMARIZE_ENV });

interface ProcessingTrigger {
  readonly on: boolean;
  readonly namePrefix?: string;
}

function processingTriggerOf(props: BatchPayoutProps): ProcessingTrigger {
  return {
    on: props.processingJobTrigger ?? props.processingJobNamePrefix !== undefined,
    namePrefix: props.processingJobNamePrefix,
  };
}

/**
 * The key matcher of the `Object Created` rule: a prefix, a suffix, or both as a wildcard (EventBridge
 * cannot combine a prefix and a suffix matcher on one field). Validation has rejected `*` in both.
 */
function keyMatcher(prefix: string | undefined, suffix: string | undefined): string[] | undefined {
  if (prefix !== undefined && suffix !== undefined) {
    return events.Match.wildcard(`${escapeWildcard(prefix)}*${escapeWildcard(suffix)}`);
  }
  if (prefix !== undefined) return events.Match.prefix(prefix);
  if (suffix !== undefined) return events.Match.suffix(suffix);
  return undefined;
}

function escapeWildcard(literal: string): string {
  return literal.replace(/[\\*]/g, (char) => `\\${char}`);
}

/**
 * aws-cdk-lib's bucket-notifications handler (one per stack), which turns on the source bucket's
 * EventBridge notifications, runs with the AWS-managed AWSLambdaBasicExecutionRole, which no prop
 * replaces: acknowledged on that role, for that managed policy only.
 */
function acknowledgeBucketNotificationsHandler(bucket: s3.Bucket): void {
  const handler = Stack.of(bucket).node.tryFindChild(BUCKET_NOTIFICATIONS_HANDLER_ID);
  const role = handler?.node.tryFindChild('Role');
  if (role === undefined) return;
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason:
      "aws-cdk-lib's bucket-notifications custom resource handler, which turns on EventBridge notifications for the source bucket, " +
      'is created by aws-cdk-lib with the AWS-managed AWSLambdaBasicExecutionRole (writing its own logs); no prop replaces it.',
  });
}

/** The construct id aws-cdk-lib gives its bucket-notifications handler singleton in a stack. */
const BUCKET_NOTIFICATIONS_HANDLER_ID = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

/** The upper bounds of the props that shape a run. */
const LIMITS = {
  maxRequestsPerSecond: 1000,
  maxConcurrency: 1000,
  itemsPerBatch: 1000,
  payConcurrency: 100,
  /** Leaves room in S3's 1024-byte keys for the run id (an execution name, up to 80) and the run's files. */
  outputPrefixLength: 512,
} as const;

/** The ranges of the props that set the per-batch rate. */
const RANGES: { readonly [prop: string]: NumberRange } = {
  maxRequestsPerSecond: { min: 0, minExclusive: true, max: LIMITS.maxRequestsPerSecond },
  maxConcurrency: { min: 1, max: LIMITS.maxConcurrency, integer: true },
  itemsPerBatch: { min: 1, max: LIMITS.itemsPerBatch, integer: true },
};

/** A key prefix in S3's safe characters, without a leading, trailing or doubled slash. */
const OUTPUT_PREFIX = /^(?:[A-Za-z0-9!_.'()=-]+(?:\/[A-Za-z0-9!_.'()=-]+)*)?$/;

function validate(id: string, props: BatchPayoutProps): void {
  const v = new PropsValidator('BatchPayout', id);
  const processing = processingTriggerOf(props);

  // Triggers.
  const noWildcard = (s: string) => !/[*?]/.test(s);
  v.check('sourcePrefix', props.sourcePrefix, (p: string) => p.length > 0 && !p.startsWith('/') && noWildcard(p),
    'must be a non-empty key prefix without a leading "/", "*" or "?" (leave it out to match every key)');
  v.check('sourceSuffix', props.sourceSuffix, (s: string) => s.length > 0 && noWildcard(s),
    'must be a non-empty key suffix without "*" or "?" (leave it out to match every key)');
  if (props.sourceBucket === undefined) {
    v.check('sourcePrefix', props.sourcePrefix, () => false, 'requires sourceBucket');
    v.check('sourceSuffix', props.sourceSuffix, () => false, 'requires sourceBucket');
  }
  v.check(
    'processingJobNamePrefix',
    props.processingJobNamePrefix,
    isSageMakerNamePrefix,
    `must be a non-empty start of a processing job name, which ${SAGEMAKER_NAME_RULE}`,
  );
  if (props.processingJobTrigger === false && props.processingJobNamePrefix !== undefined) {
    v.fail('processingJobNamePrefix cannot be given with processingJobTrigger: false');
  }
  if (processing.on && props.processingOutputBucket === undefined) {
    v.fail('processingOutputBucket is required by the processing-job trigger: it is the bucket the jobs write their scores to');
  }
  if (!processing.on) {
    const onlyForProcessing = 'is used by the processing-job trigger only: set processingJobTrigger or processingJobNamePrefix';
    v.notAllowed('processingOutputBucket', props.processingOutputBucket, onlyForProcessing);
    v.notAllowed('processingOutputName', props.processingOutputName, onlyForProcessing);
    v.notAllowed('processingFileName', props.processingFileName, onlyForProcessing);
  }
  v.check('processingOutputName', props.processingOutputName, (n: string) => n.length > 0, 'must not be empty');
  v.check('processingFileName', props.processingFileName, (n: string) => n.length > 0 && !n.startsWith('/'),
    'must be a non-empty file name without a leading "/"');

  // The scores and the amounts.
  v.check('agentIdColumn', props.agentIdColumn, (c: string) => c.length > 0, 'must not be empty');
  v.check('scoreColumn', props.scoreColumn, (c: string) => c.length > 0, 'must not be empty');
  const agentIdColumn = props.agentIdColumn ?? DEFAULT_AGENT_ID_COLUMN;
  v.check('scoreColumn', props.scoreColumn ?? DEFAULT_SCORE_COLUMN, (c: string) => isToken(agentIdColumn) || c !== agentIdColumn,
    `must differ from agentIdColumn ("${agentIdColumn}")`);
  v.number('usdPerScorePoint', props.usdPerScorePoint, { min: 0, minExclusive: true });
  v.number('minPayoutUsdc', props.minPayoutUsdc, { min: 0 });
  v.number('maxPayoutPerAgentUsdc', props.maxPayoutPerAgentUsdc, { min: 0, minExclusive: true });
  const minPayout = props.minPayoutUsdc ?? DEFAULT_MIN_PAYOUT_USDC;
  if (!isToken(minPayout) && Number.isFinite(minPayout)) {
    v.check('maxPayoutPerAgentUsdc', props.maxPayoutPerAgentUsdc ?? DEFAULT_MAX_PAYOUT_PER_AGENT_USDC, (m: number) => !(m <= minPayout),
      `must be greater than minPayoutUsdc (${minPayout})`);
  }
  v.number('maxBatchTotalUsdc', props.maxBatchTotalUsdc, { min: 0, minExclusive: true });

  // How fast: these shape the state machine and the per-batch rate, so they must be known at synth.
  const knownAtSynth = [
    ['maxRequestsPerSecond', props.maxRequestsPerSecond],
    ['maxConcurrency', props.maxConcurrency],
    ['itemsPerBatch', props.itemsPerBatch],
    ['toleratedFailurePercentage', props.toleratedFailurePercentage],
  ] as const;
  for (const [prop, value] of knownAtSynth) {
    if (isToken(value)) v.fail(`${prop} must be a number known at synth, got a token: it shapes the state machine and the per-batch rate`);
  }
  v.number('maxRequestsPerSecond', props.maxRequestsPerSecond, RANGES.maxRequestsPerSecond);
  v.number('maxConcurrency', props.maxConcurrency, RANGES.maxConcurrency);
  v.number('payConcurrency', props.payConcurrency, { min: 1, max: LIMITS.payConcurrency, integer: true });
  v.number('itemsPerBatch', props.itemsPerBatch, RANGES.itemsPerBatch);
  v.number('toleratedFailurePercentage', props.toleratedFailurePercentage, { min: 0, max: 100 });
  checkBatchFitsTimeout(v, props);

  // Where the run folders go.
  v.check('outputPrefix', props.outputPrefix, (p: string) => OUTPUT_PREFIX.test(p) && p.length <= LIMITS.outputPrefixLength,
    `must be a key prefix of at most ${LIMITS.outputPrefixLength} characters (letters, digits, and !_.'()=- between single "/"), ` +
      'without a leading or trailing "/" (empty for the bucket\'s root)');
  checkNoRunLoop(v, props);

  checkFunctionOptions(v, props.functionOptions, {
    environment: CONSTRUCT_ENVIRONMENT,
    retryAttemptsWhy: 'the functions are invoked synchronously by Step Functions, which retries them',
    maxEventAgeWhy: 'the functions are invoked synchronously by Step Functions (no event queue)',
    onFailureWhy: 'the functions are invoked synchronously by Step Functions: a failure fails the step, and the run',
  });
  v.throwIfInvalid();
}

/**
 * One batch, paid at its share of the rate (maxRequestsPerSecond / maxConcurrency), must end within
 * the Pay function's timeout, with a minute to spare for backing off from 429s: otherwise Pay would
 * time out mid-batch and leave the rows it was sending UNKNOWN.
 */
function checkBatchFitsTimeout(v: PropsValidator, props: BatchPayoutProps): void {
  const rate = props.maxRequestsPerSecond ?? DEFAULT_MAX_REQUESTS_PER_SECOND;
  const concurrency = props.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
  const items = props.itemsPerBatch ?? DEFAULT_ITEMS_PER_BATCH;
  const timeout = props.functionOptions?.timeout ?? FUNCTION_TIMEOUT;
  // Only once each is valid on its own: their own checks report them otherwise.
  const valid =
    isInRange(rate, RANGES.maxRequestsPerSecond) && isInRange(concurrency, RANGES.maxConcurrency) && isInRange(items, RANGES.itemsPerBatch);
  if (!valid || timeout.isUnresolved()) return;
  const seconds = (items * concurrency) / rate;
  const available = timeout.toSeconds() - BACKOFF_ALLOWANCE.toSeconds();
  if (seconds > available) {
    v.fail(
      `itemsPerBatch (${items}) at maxRequestsPerSecond / maxConcurrency (${rate} / ${concurrency}) takes ${+seconds.toFixed(1)} s a batch, ` +
        `more than the Pay function's timeout (${timeout.toHumanString()}) less a minute for backing off allows: ` +
        'lower itemsPerBatch or maxConcurrency, or raise maxRequestsPerSecond or functionOptions.timeout',
    );
  }
}

/**
 * With the source and the output in one bucket, the run's own files (input.csv, map results, the log)
 * must not be under the source prefix: each would start another run.
 */
function checkNoRunLoop(v: PropsValidator, props: BatchPayoutProps): void {
  const { sourceBucket, outputBucket } = props;
  if (sourceBucket === undefined || outputBucket === undefined) return;
  const sameBucket =
    sourceBucket === outputBucket || (!isToken(sourceBucket.bucketName) && sourceBucket.bucketName === outputBucket.bucketName);
  if (!sameBucket) return;
  const outputPrefix = props.outputPrefix ?? DEFAULT_OUTPUT_PREFIX;
  const sourcePrefix = props.sourcePrefix;
  if (isToken(outputPrefix) || isToken(sourcePrefix)) return;
  const runFolders = outputPrefix === '' ? '' : `${outputPrefix}/`;
  const overlaps = sourcePrefix === undefined || runFolders.startsWith(sourcePrefix) || sourcePrefix.startsWith(runFolders);
  if (overlaps) {
    v.fail(
      `sourcePrefix (${sourcePrefix === undefined ? 'not given' : JSON.stringify(sourcePrefix)}) must not overlap outputPrefix ` +
        `(${JSON.stringify(outputPrefix)}) when sourceBucket is outputBucket: the run's own files would start new runs`,
    );
  }
}
