import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ALARM_PERIOD, newAlarmOnAny, newDeadLetterQueueAlarm, newUnknownOutcomesAlarm } from './alarms';
import { BatchWorkflow, S3_KMS_OBJECT_ACTIONS } from './batch-workflow';
import { ActionKind } from './contracts/action-keys';
import {
  BATCH_SUMMARIZE_ENV,
  batchSummarizeEnvironment,
  MAX_ROW_AMOUNT_USDC,
  MAX_RUN_TOTAL_USDC,
  RUN_FILES,
} from './contracts/batch-engine';
import { newDeadLetterQueue } from './dead-letter-queue';
import { BATCH_FUNCTION_DEFAULTS, BATCH_RUN_DEFAULTS, SERVICES_RATE_LIMITS } from './defaults';
import { commonHandlerEnvironment, constructEnvironmentNames, HandlerMetricsNames, handlerEnvironment } from './handler-environment';
import { checkFunctionOptions, HandlerFunction } from './handler-function';
import { grantActionAccess, grantLedgerRead } from './ledger-access';
import { checkSameRegistryLedger, isConnection, isModelAgents, isRateLimit, MODEL_AGENTS_KIND, RATE_LIMIT_KIND } from './prop-kinds';
import { NumberRange, PropsValidator, isInRange, isToken } from './validation';
import { WildcardStatement, newWildcardPolicy } from './wildcard-policy';
import type { BatchRunProps } from '../batch-run-props';
import { PurpleFleaApiProfile } from '../purpleflea-api';
import type { PurpleFleaConnection } from '../purpleflea-connection';
import { warnImportedSourceBucket } from './regions';

/** The act function's default timeout: a batch acted on at its share of the rate, with room to back off from 429s. */
const BATCH_FUNCTION_TIMEOUT = Duration.minutes(BATCH_FUNCTION_DEFAULTS.timeoutMinutes);
/** Prepare's and Summarize's: Lambda's longest, which sets the largest file one run can take. */
const PREPARE_AND_SUMMARIZE_TIMEOUT = Duration.minutes(BATCH_FUNCTION_DEFAULTS.prepareAndSummarizeTimeoutMinutes);
/** Room a batch leaves in the act function's timeout for backing off from 429s (fixed one-minute windows). */
const BACKOFF_ALLOWANCE = Duration.minutes(1);

/** EventBridge's maxima: a failed start (throttled) is retried up to 185 times over 24 hours. */
const RULE_TARGET_RETRY_ATTEMPTS = 185;
const RULE_TARGET_MAX_EVENT_AGE = Duration.hours(24);

/** S3's EventBridge event for a new object. */
export const OBJECT_CREATED = { source: 'aws.s3', detailType: 'Object Created' } as const;

/** Where the run folders are: `s3://<bucket>/<prefix>/<run id>/`. */
export interface RunFolders {
  readonly bucket: s3.IBucket;
  /** No leading or trailing slash; may be empty. */
  readonly prefix: string;
}

/** One of the three handlers: its bundle under assets/ and the function's description. */
export interface BatchHandlerProps {
  readonly assetName: string;
  readonly description: string;
}

/** Powertools' names, and the EMF metric the act handler emits for each action whose outcome is unknown. */
export interface BatchMetrics extends HandlerMetricsNames {
  readonly functionNameDimension: string;
  readonly unknownOutcomes: string;
}

/** A rule on a SageMaker job's state change that starts a run with the whole event. */
export interface BatchJobTrigger {
  /** The rule's construct id, e.g. `ProcessingJobRule`. */
  readonly id: string;
  readonly description: string;
  readonly eventPattern: events.EventPattern;
}

export interface BatchEngineProps {
  /** The user's props the engine reads (validated by the construct, with the checks below). */
  readonly options: BatchRunProps;
  readonly defaultOutputPrefix: string;
  readonly metrics: BatchMetrics;
  /** The state machine's comment. */
  readonly comment: string;

  readonly prepare: BatchHandlerProps & {
    /** The construct's Prepare settings, from its contract, given where the run folders are. */
    readonly environment: (runFolders: RunFolders) => { [name: string]: string };
    /** What Prepare may do besides writing its run files and reading `sourceBucket` (a job trigger's needs). */
    readonly statements?: WildcardStatement[];
    /** The buckets those statements read: Prepare may decrypt with their keys. */
    readonly readBuckets?: s3.IBucket[];
  };
  readonly act: BatchHandlerProps & {
    /** The function's construct id (`Pay`). */
    readonly id: string;
    /** The step's name in the user's words (`Pay`): the Map state is `<stepName>Batches`. */
    readonly stepName: string;
    /**
     * The services' limit per minute of the route the act function calls (escrow create's 20), when it has
     * one: on the services profile, the run's rate defaults to it less SERVICES_RATE_LIMITS.margin.
     */
    readonly servicesLimitPerMinute?: number;
    /** The construct's act settings, from its contract, given the batch's share of the run's rate. */
    readonly environment: (share: { readonly requestsPerSecond: number }) => { [name: string]: string };
  };
  readonly summarize: BatchHandlerProps & {
    /** The run's log, written into the run folder (`payout_log.jsonl`). */
    readonly logFile: string;
    /** The summary written beside it (`payout_summary.json`). */
    readonly summaryFile: string;
    /** The construct's own Summarize settings, from its contract, if it has any. */
    readonly environment?: { [name: string]: string };
  };

  /**
   * The kinds of ledger keys the act function writes and Summarize reads (the construct's, from its
   * contract): the only records their roles may touch.
   */
  readonly actionKinds: readonly ActionKind[];

  /** The construct's own SageMaker job trigger, if it is on. */
  readonly jobTrigger?: BatchJobTrigger;
  readonly objectCreatedRuleDescription: string;
  readonly alarmDescriptions: {
    readonly executionsFailed: string;
    readonly unknownOutcomes: string;
    readonly deadLetterQueue: string;
  };
}

/**
 * The construct side of the batch engine of docs/design.md, shared by the batch constructs: everything but
 * the construct's own parsing (Prepare's settings), action (the act function's settings) and job trigger.
 *
 * It creates, in the construct's own scope (so the paths and logical ids are the construct's:
 * `<construct>/Prepare`, `<construct>/Workflow/StateMachine`...):
 * - the run folders' bucket (unless given) and the event bus (the default one, unless given);
 * - the three functions (Prepare, the act function, Summarize), each a {@link HandlerFunction}: 15 minutes and
 *   1024 MB for Prepare and Summarize, 5 minutes for the act function, under the user's `functionOptions`;
 * - their permissions: Prepare writes the run's `input.csv` and `prepare_report.json` and reads the
 *   source objects; the act function gets the connection's action access; Summarize reads the run's
 *   files and single ledger records, writes the run's log and puts events on the bus;
 * - the {@link BatchWorkflow} (`<construct>/Workflow`);
 * - the triggers: `sourceBucket`'s `Object Created` rule and the construct's job rule, each starting
 *   an execution with the whole event, their failed deliveries to one dead-letter queue;
 * - the alarms: failed runs, unknown outcomes of the act function, and the dead-letter queue.
 */
export class BatchEngine {
  public readonly outputBucket: s3.IBucket;
  public readonly outputPrefix: string;
  public readonly eventBus: events.IEventBus;
  public readonly prepareFunction: HandlerFunction;
  public readonly actFunction: HandlerFunction;
  public readonly summarizeFunction: HandlerFunction;
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.ILogGroup;
  public readonly objectCreatedRule?: events.Rule;
  public readonly jobRule?: events.Rule;
  public readonly deadLetterQueue?: sqs.Queue;
  public readonly executionsFailedAlarm: cloudwatch.Alarm;
  public readonly unknownOutcomesAlarm: cloudwatch.Alarm;
  public readonly deadLetterQueueAlarm?: cloudwatch.Alarm;

  constructor(
    private readonly scope: Construct,
    props: BatchEngineProps,
  ) {
    const { options, metrics } = props;
    const enabled = options.enabled ?? BATCH_RUN_DEFAULTS.enabled;
    const dryRun = options.dryRun ?? BATCH_RUN_DEFAULTS.dryRun;
    const logRetention = options.logRetention ?? logs.RetentionDays[BATCH_RUN_DEFAULTS.logRetention];
    const { requestsPerSecond, maxConcurrency, itemsPerBatch } = runShape(options, props.act.servicesLimitPerMinute);
    this.outputPrefix = options.outputPrefix ?? props.defaultOutputPrefix;
    this.outputBucket = options.outputBucket ?? this.newOutputBucket();
    this.eventBus = options.eventBus ?? events.EventBus.fromEventBusName(scope, 'DefaultBus', 'default');

    const functionOptions = { timeout: BATCH_FUNCTION_TIMEOUT, ...options.functionOptions };
    // Prepare and Summarize stream whole files: more time and memory (CPU), unless the user sets them.
    const fileStepOptions = {
      timeout: PREPARE_AND_SUMMARIZE_TIMEOUT,
      memorySize: BATCH_FUNCTION_DEFAULTS.prepareAndSummarizeMemorySizeMb,
      ...options.functionOptions,
    };
    const prepare = new HandlerFunction(scope, 'Prepare', {
      assetName: props.prepare.assetName,
      description: props.prepare.description,
      logRetention,
      functionOptions: fileStepOptions,
      runtime: options.runtime,
      // Prepare calls no one: no connection.
      environment: {
        ...commonHandlerEnvironment(metrics),
        ...props.prepare.environment({ bucket: this.outputBucket, prefix: this.outputPrefix }),
      },
    });
    const act = new HandlerFunction(scope, props.act.id, {
      assetName: props.act.assetName,
      description: props.act.description,
      logRetention,
      functionOptions,
      runtime: options.runtime,
      // The run's rate, shared by the batches in flight.
      environment: handlerEnvironment(
        metrics,
        options.connection,
        props.act.environment({ requestsPerSecond: requestsPerSecond / maxConcurrency }),
      ),
    });
    const summarize = new HandlerFunction(scope, 'Summarize', {
      assetName: props.summarize.assetName,
      description: props.summarize.description,
      logRetention,
      functionOptions: fileStepOptions,
      runtime: options.runtime,
      // The connection too: Summarize reads the ledger for the rows the Map could not settle.
      environment: handlerEnvironment(
        metrics,
        options.connection,
        // PutEvents takes a bus's name or ARN; the ARN also names a bus in another account.
        { ...batchSummarizeEnvironment({ eventBusName: this.eventBus.eventBusArn, dryRun }), ...props.summarize.environment },
      ),
    });
    this.prepareFunction = prepare;
    this.actFunction = act;
    this.summarizeFunction = summarize;

    this.allowPrepare(options, props.prepare.statements ?? [], props.prepare.readBuckets ?? []);
    grantActionAccess(options.connection, act, props.actionKinds);
    this.allowSummarize(options.connection, [props.summarize.logFile, props.summarize.summaryFile], props.actionKinds);

    const workflow = new BatchWorkflow(scope, 'Workflow', {
      prepareFunction: prepare,
      actFunction: act,
      summarizeFunction: summarize,
      actName: props.act.stepName,
      outputBucket: this.outputBucket,
      outputPrefix: this.outputPrefix,
      maxItemsPerBatch: itemsPerBatch,
      maxConcurrency,
      toleratedFailurePercentage: options.toleratedFailurePercentage ?? BATCH_RUN_DEFAULTS.toleratedFailurePercentage,
      logRetention,
      comment: props.comment,
    });
    this.stateMachine = workflow.stateMachine;
    this.logGroup = workflow.logGroup;

    if (options.sourceBucket !== undefined || props.jobTrigger !== undefined) {
      this.deadLetterQueue = newDeadLetterQueue(scope);
    }
    if (options.sourceBucket !== undefined) {
      this.objectCreatedRule = this.newObjectCreatedRule(options, props.objectCreatedRuleDescription, enabled);
    }
    if (props.jobTrigger !== undefined) {
      this.jobRule = new events.Rule(scope, props.jobTrigger.id, {
        description: props.jobTrigger.description,
        enabled,
        eventPattern: props.jobTrigger.eventPattern,
      });
      this.jobRule.addTarget(this.startRun());
    }

    this.executionsFailedAlarm = newAlarmOnAny(
      scope,
      'ExecutionsFailedAlarm',
      this.stateMachine.metricFailed({ period: ALARM_PERIOD, statistic: cloudwatch.Stats.SUM }),
      props.alarmDescriptions.executionsFailed,
      options.alarmTopic,
    );
    this.unknownOutcomesAlarm = newUnknownOutcomesAlarm(
      scope,
      act,
      {
        namespace: metrics.namespace,
        metricName: metrics.unknownOutcomes,
        serviceName: metrics.serviceName,
        functionNameDimension: metrics.functionNameDimension,
      },
      props.alarmDescriptions.unknownOutcomes,
      options.alarmTopic,
    );
    if (this.deadLetterQueue !== undefined) {
      this.deadLetterQueueAlarm = newDeadLetterQueueAlarm(
        scope,
        this.deadLetterQueue,
        props.alarmDescriptions.deadLetterQueue,
        options.alarmTopic,
      );
    }
  }

  /** The default output bucket: private, encrypted, TLS only, versioned, kept when the stack goes. */
  private newOutputBucket(): s3.Bucket {
    const bucket = new s3.Bucket(this.scope, 'OutputBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      // The run logs are the record of money moved.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "The bucket holds the run folders, which only the construct's own roles write: each write is a step of an execution " +
        "recorded in the state machine's history and logs. Give your own outputBucket to have server access logs.",
    });
    return bucket;
  }

  /**
   * Prepare writes the run's `input.csv` and `prepare_report.json`, reads the source bucket under its
   * prefix, and whatever the construct's job trigger needs; all in one policy (`<construct>/PrepareAccess`).
   */
  private allowPrepare(options: BatchRunProps, jobStatements: WildcardStatement[], jobBuckets: s3.IBucket[]): void {
    const prepare = this.prepareFunction;
    const statements: WildcardStatement[] = [
      {
        // Multipart uploads: PutObject covers creating, uploading parts and completing; an abandoned one is aborted.
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [RUN_FILES.input, RUN_FILES.prepareReport].map((file) => this.runFiles(file)),
        reason: `Prepare writes the ${RUN_FILES.input} and ${RUN_FILES.prepareReport} of each run folder, named by the execution, known only when it starts.`,
      },
    ];
    const source = options.sourceBucket;
    if (source !== undefined) {
      statements.push({
        actions: ['s3:GetObject'],
        resources: [source.arnForObjects(`${options.sourcePrefix ?? ''}*`)],
        reason:
          'Prepare reads the object whose creation started the run: ' +
          (options.sourcePrefix !== undefined
            ? 'any object under sourcePrefix.'
            : 'any object of sourceBucket, as no sourcePrefix is given.'),
      });
    }
    statements.push(...jobStatements);
    newWildcardPolicy(this.scope, 'PrepareAccess', { role: prepare.handlerRole, dependent: prepare, statements });
    for (const bucket of [...(source !== undefined ? [source] : []), ...jobBuckets]) {
      bucket.encryptionKey?.grantDecrypt(prepare);
    }
    this.outputBucket.encryptionKey?.grant(prepare, ...S3_KMS_OBJECT_ACTIONS);
  }

  /**
   * Summarize reads the run's files (Prepare's report, input.csv, the Map's results) and the ledger records
   * of the rows the Map could not settle, writes the run's log and its summary, and puts one event.
   */
  private allowSummarize(connection: PurpleFleaConnection, logFiles: readonly string[], actionKinds: readonly ActionKind[]): void {
    const summarize = this.summarizeFunction;
    newWildcardPolicy(this.scope, 'SummarizeAccess', {
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
          // The log is a multipart upload: PutObject covers it; an abandoned one is aborted.
          actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
          resources: logFiles.map((file) => this.runFiles(file)),
          reason: `Summarize writes the ${logFiles.join(' and ')} of each run folder, named by the execution, known only when it starts.`,
        },
      ],
    });
    this.outputBucket.encryptionKey?.grant(summarize, ...S3_KMS_OBJECT_ACTIONS);
    // Reads single ledger records of the construct's kinds, never writes them: no secret, no UpdateItem.
    grantLedgerRead(connection, summarize, actionKinds);
    this.eventBus.grantPutEventsTo(summarize);
  }

  /** `<output bucket ARN>/<output prefix>/*\/<file>`: one file of every run folder. */
  private runFiles(file: string): string {
    return this.outputBucket.arnForObjects(this.outputPrefix === '' ? `*/${file}` : `${this.outputPrefix}/*/${file}`);
  }

  /**
   * Starts a run on every object created in `sourceBucket` under the prefix and suffix. A bucket of this
   * stack gets EventBridge notifications turned on (through aws-cdk-lib's bucket-notifications custom resource).
   */
  private newObjectCreatedRule(options: BatchRunProps, description: string, enabled: boolean): events.Rule {
    const bucket = options.sourceBucket!;
    if (bucket instanceof s3.Bucket && Stack.of(bucket) === Stack.of(this.scope)) {
      bucket.enableEventBridgeNotification();
      acknowledgeBucketNotificationsHandler(bucket);
    } else {
      warnImportedSourceBucket(this.scope, bucket);
    }
    const key = keyMatcher(options.sourcePrefix, options.sourceSuffix);
    const rule = new events.Rule(this.scope, 'ObjectCreatedRule', {
      description,
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

  /**
   * A rule target starting an execution with the whole event as its input. A failed start is retried
   * for EventBridge's full day, then lands in the dead-letter queue. A repeated event starts a second run
   * of the same objects, which acts on nothing again (the ledger is keyed by the objects' ETags).
   */
  private startRun(): targets.SfnStateMachine {
    return new targets.SfnStateMachine(this.stateMachine, {
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: RULE_TARGET_RETRY_ATTEMPTS,
      maxEventAge: RULE_TARGET_MAX_EVENT_AGE,
    });
  }
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

// Validation shared by the batch constructs. Each construct calls these in the order of its props.

/** The upper bounds of the props that shape a run. */
const LIMITS = {
  maxRequestsPerSecond: 1000,
  maxConcurrency: 1000,
  itemsPerBatch: 1000,
  actConcurrency: 100,
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

const noWildcard = (s: string) => !/[*?]/.test(s);

/**
 * The per-row cap (`maxPayoutPerAgentUsdc`, `maxHoldUsdc`) and `maxBatchTotalUsdc` within what the run's log
 * keeps exact to the cent: a row's amount at most MAX_ROW_AMOUNT_USDC, a run's at most MAX_RUN_TOTAL_USDC.
 */
export function checkAmountMaxima(v: PropsValidator, rowCapProp: string, rowCap: number | undefined, options: BatchRunProps): void {
  v.check(
    rowCapProp,
    rowCap,
    (cap: number) => !(cap > MAX_ROW_AMOUNT_USDC),
    `must be at most ${MAX_ROW_AMOUNT_USDC}, the largest amount a row may have`,
  );
  v.check(
    'maxBatchTotalUsdc',
    options.maxBatchTotalUsdc,
    (cap: number) => !(cap > MAX_RUN_TOTAL_USDC),
    `must be at most ${MAX_RUN_TOTAL_USDC}, the largest total a run's log keeps exact to the cent`,
  );
}

/**
 * `agentsFrom` (BatchPayout, FraudHoldEscrow): a ModelAgents construct, on the services profile only, as ModelAgents
 * itself: its agents are `ag_` ids of the casino registry, which only the services profile's pay and escrow take.
 */
export function checkAgentsFrom(v: PropsValidator, agentsFrom: unknown, connection: PurpleFleaConnection | undefined): void {
  v.instance('agentsFrom', agentsFrom, isModelAgents, MODEL_AGENTS_KIND);
  checkSameRegistryLedger(v, 'agentsFrom', agentsFrom, connection);
  if (agentsFrom !== undefined && isConnection(connection) && connection!.api.profile !== PurpleFleaApiProfile.SERVICES) {
    v.fail(
      'agentsFrom needs a connection on the services profile (api: PurpleFleaApi.services()), as ModelAgents does: ' +
        "the model versions' agents are ag_ ids of the casino registry, which the gateway does not take",
    );
  }
}

/** A key prefix a rule or a policy can use: not empty, no leading slash, no wildcard. */
export function checkKeyPrefix(v: PropsValidator, prop: string, value: string | undefined): void {
  v.string(
    prop,
    value,
    (p: string) => p.length > 0 && !p.startsWith('/') && noWildcard(p),
    'must be a non-empty key prefix without a leading "/", "*" or "?" (leave it out to match every key)',
  );
}

/** `sourceBucket`, `sourcePrefix`, `sourceSuffix`: the S3 trigger. */
export function checkSourceTrigger(v: PropsValidator, options: BatchRunProps): void {
  checkKeyPrefix(v, 'sourcePrefix', options.sourcePrefix);
  v.string(
    'sourceSuffix',
    options.sourceSuffix,
    (s: string) => s.length > 0 && noWildcard(s),
    'must be a non-empty key suffix without "*" or "?" (leave it out to match every key)',
  );
  if (options.sourceBucket === undefined) {
    v.check('sourcePrefix', options.sourcePrefix, () => false, 'requires sourceBucket');
    v.check('sourceSuffix', options.sourceSuffix, () => false, 'requires sourceBucket');
  }
}

/** The act function's concurrency prop, by the construct's name for it, and the function's construct id. */
export interface ActFunctionProps {
  /** `payConcurrency`, `actConcurrency`. */
  readonly concurrencyProp: string;
  readonly concurrency?: number;
  /** The act function's construct id, for messages (`Pay`). */
  readonly id: string;
  /** The services' limit per minute of the route it calls, when it has one (BatchEngineProps.act). */
  readonly servicesLimitPerMinute?: number;
}

/**
 * How fast: the rate, the Map's concurrency and batches, the act function's concurrency, the tolerated
 * failures. The ones that shape the state machine and the per-batch rate must be known at synth.
 */
export function checkRunShape(v: PropsValidator, options: BatchRunProps, act: ActFunctionProps): void {
  const knownAtSynth = [
    ['maxRequestsPerSecond', options.maxRequestsPerSecond],
    ['maxConcurrency', options.maxConcurrency],
    ['itemsPerBatch', options.itemsPerBatch],
    ['toleratedFailurePercentage', options.toleratedFailurePercentage],
  ] as const;
  for (const [prop, value] of knownAtSynth) {
    if (isToken(value)) v.fail(`${prop} must be a number known at synth, got a token: it shapes the state machine and the per-batch rate`);
  }
  v.number('maxRequestsPerSecond', options.maxRequestsPerSecond, RANGES.maxRequestsPerSecond);
  checkRateLimit(v, options);
  v.number('maxConcurrency', options.maxConcurrency, RANGES.maxConcurrency);
  v.number(act.concurrencyProp, act.concurrency, { min: 1, max: LIMITS.actConcurrency, integer: true });
  v.number('itemsPerBatch', options.itemsPerBatch, RANGES.itemsPerBatch);
  v.number('toleratedFailurePercentage', options.toleratedFailurePercentage, { min: 0, max: 100 });
  checkBatchFitsTimeout(v, options, act);
}

/** The run's rate, the Map's concurrency and its batch size, as the state machine and the act function get them. */
export interface RunShape {
  /** The whole run's requests a second (`rateLimit`'s, or `maxRequestsPerSecond`). */
  readonly requestsPerSecond: number;
  readonly maxConcurrency: number;
  readonly itemsPerBatch: number;
}

/** The seconds of the act function's timeout a batch may take: the timeout less a minute for backing off; undefined for a token. */
function batchSeconds(options: BatchRunProps): number | undefined {
  const timeout = options.functionOptions?.timeout ?? BATCH_FUNCTION_TIMEOUT;
  return timeout.isUnresolved() ? undefined : timeout.toSeconds() - BACKOFF_ALLOWANCE.toSeconds();
}

/**
 * The run's shape: what the user gave, and for `maxConcurrency` and `itemsPerBatch` left out, their defaults
 * lowered (to at least 1) until one batch, at its share of the rate, fits in the act function's timeout less a
 * minute. A configuration that fitted with the defaults keeps them; a slow rate (`RateLimit.perMinute(20)`)
 * gets fewer batches in flight and fewer rows a batch instead of a synth error.
 */
export function runShape(options: BatchRunProps, servicesLimitPerMinute?: number): RunShape {
  const requestsPerSecond =
    options.rateLimit?.requestsPerSecond ?? options.maxRequestsPerSecond ?? defaultRequestsPerSecond(options, servicesLimitPerMinute);
  const seconds = batchSeconds(options);
  const usable =
    seconds !== undefined && seconds > 0 && isInRange(requestsPerSecond, RANGES.maxRequestsPerSecond) && !isToken(requestsPerSecond);
  const fit = (n: number, max: number) => (usable ? Math.min(max, Math.max(1, Math.floor(n + 1e-9))) : max);
  const maxConcurrency =
    options.maxConcurrency ??
    fit(
      (requestsPerSecond * (seconds ?? 0)) / (options.itemsPerBatch ?? BATCH_RUN_DEFAULTS.itemsPerBatch),
      BATCH_RUN_DEFAULTS.maxConcurrency,
    );
  const itemsPerBatch =
    options.itemsPerBatch ?? fit((requestsPerSecond / maxConcurrency) * (seconds ?? 0), BATCH_RUN_DEFAULTS.itemsPerBatch);
  return { requestsPerSecond, maxConcurrency, itemsPerBatch };
}

/**
 * The run's rate when the user gives none: on the services profile, the act route's limit less a margin
 * (escrow create's 20 a minute: 18); otherwise, and for a route without a limit (casino pay), 10 a second.
 */
export function defaultRequestsPerSecond(options: BatchRunProps, servicesLimitPerMinute?: number): number {
  if (servicesLimitPerMinute === undefined || options.connection?.api?.profile !== PurpleFleaApiProfile.SERVICES) {
    return BATCH_RUN_DEFAULTS.maxRequestsPerSecond;
  }
  return Math.floor(servicesLimitPerMinute * (1 - SERVICES_RATE_LIMITS.margin)) / 60;
}

/** `rateLimit`: known at synth, in range, and not beside `maxRequestsPerSecond`. */
function checkRateLimit(v: PropsValidator, options: BatchRunProps): void {
  const limit = options.rateLimit;
  if (limit === undefined) return;
  if (!isRateLimit(limit)) {
    v.instance('rateLimit', limit, isRateLimit, RATE_LIMIT_KIND);
    return;
  }
  v.notBoth('maxRequestsPerSecond', options.maxRequestsPerSecond, 'rateLimit', limit, "give the run's limit once");
  if (isToken(limit.requests)) {
    v.fail('rateLimit must be a number known at synth, got a token: it shapes the state machine and the per-batch rate');
    return;
  }
  const max = limit.unit === 'minute' ? LIMITS.maxRequestsPerSecond * 60 : LIMITS.maxRequestsPerSecond;
  if (!isInRange(limit.requests, { min: 0, minExclusive: true, max })) {
    v.fail(`rateLimit must be greater than 0 and at most ${max} a ${limit.unit}, got ${limit.toString()}`);
  }
}

/**
 * One batch, acted on at its share of the rate (the rate / maxConcurrency), must end within the act
 * function's timeout, with a minute to spare for backing off from 429s: otherwise the function would time
 * out mid-batch and leave the rows it was sending UNKNOWN. Left out, `maxConcurrency` and `itemsPerBatch`
 * are lowered to fit (runShape); what the user gave is kept, and fails here when it cannot fit.
 */
function checkBatchFitsTimeout(v: PropsValidator, options: BatchRunProps, act: ActFunctionProps): void {
  const actId = act.id;
  const { requestsPerSecond: rate, maxConcurrency: concurrency, itemsPerBatch: items } = runShape(options, act.servicesLimitPerMinute);
  const timeout = options.functionOptions?.timeout ?? BATCH_FUNCTION_TIMEOUT;
  // Only once each is valid on its own: their own checks report them otherwise.
  const valid =
    isInRange(rate, RANGES.maxRequestsPerSecond) && isInRange(concurrency, RANGES.maxConcurrency) && isInRange(items, RANGES.itemsPerBatch);
  if (!valid || timeout.isUnresolved() || isToken(rate)) return;
  const seconds = (items * concurrency) / rate;
  const available = timeout.toSeconds() - BACKOFF_ALLOWANCE.toSeconds();
  if (seconds > available + 1e-6) {
    const rateText =
      options.rateLimit !== undefined
        ? `rateLimit / maxConcurrency (${options.rateLimit.toString()} / ${concurrency})`
        : `maxRequestsPerSecond / maxConcurrency (${rate} / ${concurrency})`;
    v.fail(
      `itemsPerBatch (${items}) at ${rateText} takes ${+seconds.toFixed(1)} s a batch, ` +
        `more than the ${actId} function's timeout (${timeout.toHumanString()}) less a minute for backing off allows: ` +
        'lower itemsPerBatch or maxConcurrency, or raise the rate or functionOptions.timeout',
    );
  }
}

/** `outputPrefix`, and that the run folders cannot start runs. */
export function checkRunFolders(v: PropsValidator, options: BatchRunProps, defaultOutputPrefix: string): void {
  v.string(
    'outputPrefix',
    options.outputPrefix,
    (p: string) => OUTPUT_PREFIX.test(p) && p.length <= LIMITS.outputPrefixLength,
    `must be a key prefix of at most ${LIMITS.outputPrefixLength} characters (letters, digits, and !_.'()=- between single "/"), ` +
      'without a leading or trailing "/" (empty for the bucket\'s root)',
  );
  checkNoRunLoop(v, options, defaultOutputPrefix);
}

/**
 * With the source and the output in one bucket, the run's own files (input.csv, map results, the log)
 * must not be under the source prefix: each would start another run.
 */
function checkNoRunLoop(v: PropsValidator, options: BatchRunProps, defaultOutputPrefix: string): void {
  const { sourceBucket, outputBucket } = options;
  if (sourceBucket === undefined || outputBucket === undefined) return;
  const sameBucket =
    sourceBucket === outputBucket || (!isToken(sourceBucket.bucketName) && sourceBucket.bucketName === outputBucket.bucketName);
  if (!sameBucket) return;
  const outputPrefix = options.outputPrefix ?? defaultOutputPrefix;
  const sourcePrefix = options.sourcePrefix;
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

/**
 * The `functionOptions` the engine sets itself: the role, the log group, the async invocation settings
 * (Step Functions invokes the functions synchronously), and the variables of the construct's contracts.
 */
export function checkBatchFunctionOptions(
  v: PropsValidator,
  options: BatchRunProps,
  settingsNames: { readonly prepare: { readonly [key: string]: string }; readonly act: { readonly [key: string]: string } },
): void {
  checkFunctionOptions(
    v,
    options.functionOptions,
    {
      environment: [
        ...new Set([settingsNames.prepare, settingsNames.act, BATCH_SUMMARIZE_ENV].flatMap((names) => constructEnvironmentNames(names))),
      ],
      retryAttemptsWhy: 'the functions are invoked synchronously by Step Functions, which retries them',
      maxEventAgeWhy: 'the functions are invoked synchronously by Step Functions (no event queue)',
      onFailureWhy: 'the functions are invoked synchronously by Step Functions: a failure fails the step, and the run',
    },
    options.runtime,
  );
}
