import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { BatchRunProps } from './batch-run-props';
import { ConfirmedFraudAction, HoldReview } from './hold-review';
import { IMonitoredMoneyAction, MoneyActionMonitoring } from './monitored-money-action';
import type { ModelAgents } from './model-agents';
import {
  BatchEngine,
  checkAgentsFrom,
  checkAmountMaxima,
  checkBatchFunctionOptions,
  checkKeyPrefix,
  checkRunFolders,
  checkRunShape,
  checkSourceTrigger,
} from './private/batch-engine';
import { newAlarmOnAny, newDeadLetterQueueAlarm, newUnknownOutcomesAlarm } from './private/alarms';
import { ACTION_KINDS, CONSTRUCT_ACTION_KINDS } from './private/contracts/action-keys';
import {
  FRAUD_HOLD_RELEASE_DASHBOARD_METRICS,
  FRAUD_HOLD_RELEASE_ENV,
  FRAUD_HOLD_RELEASE_METRICS,
  FRAUD_HOLD_REVIEW_START_METRICS,
  HOLD_REVIEW_COMPLETED_EVENT,
  HUMAN_LOOP_NAME_PREFIX,
  HUMAN_LOOP_STATUS_CHANGE,
  ReviewSourceName,
  DecisionRuleName,
  fraudHoldReleaseEnvironment,
  fraudHoldReviewStartEnvironment,
} from './private/contracts/hold-review-env';
import { newDeadLetterQueue } from './private/dead-letter-queue';
import { commonHandlerEnvironment, constructEnvironmentNames, handlerEnvironment } from './private/handler-environment';
import { HandlerFunction } from './private/handler-function';
import { handlerMetric } from './private/handler-metrics';
import { grantActionAccess, grantLedgerRead } from './private/ledger-access';
import { escrowReleaseMonitoring } from './private/money-action-monitoring';
import { newWildcardPolicy } from './private/wildcard-policy';
import {
  FRAUD_HOLD_ACT_ENV,
  FRAUD_HOLD_METRICS,
  FRAUD_HOLD_OUTCOME_METRICS,
  FRAUD_HOLD_PREPARE_ENV,
  HOLD_CONDITION_PLACEHOLDERS,
  HOLDS_COMPLETED_EVENT,
  HOLDS_LOG_FILE,
  HOLDS_SUMMARY_FILE,
  HoldFieldNames,
  HoldInputFormatName,
  TRANSFORM_JOB_STATE_CHANGE,
  fraudHoldActEnvironment,
  fraudHoldPrepareEnvironment,
} from './private/contracts/fraud-hold-env';
import { BATCH_RUN_DEFAULTS, FRAUD_HOLD_ESCROW_DEFAULTS, SERVICES_RATE_LIMITS } from './private/defaults';
import { numberInTemplate } from './private/handler-environment';
import { moneyActionMonitoring } from './private/money-action-monitoring';
import { SAGEMAKER_NAME_RULE, isSageMakerNamePrefix } from './private/patterns';
import { sageMakerArn, sageMakerNameInArn } from './private/sagemaker-arns';
import { checkEscrowTimeout } from './private/services-escrow';
import { checkTemplate } from './private/templates';
import { CONNECTION_KIND, isConnection } from './private/prop-kinds';
import { givenProps, PropsValidator, isToken } from './private/validation';
import { WildcardStatement } from './private/wildcard-policy';
import { PurpleFleaApiProfile } from './purpleflea-api';
import { checkConnectionRegion } from './private/regions';

/** How a {@link FraudHoldEscrow}'s records are written. */
export enum HoldInputFormat {
  /**
   * One JSON object per line, as a Batch Transform writes with `AssembleWith: Line` and, joined with its
   * input (`JoinSource: Input`), the transaction's fields beside the model's output. Dotted field names
   * reach into nested objects (`SageMakerOutput.fraud_score`).
   */
  JSON_LINES = 'JSON_LINES',
  /** CSV whose first row is the header naming the fields. */
  CSV = 'CSV',
}

/** Props of a {@link FraudHoldEscrow}: the shared {@link BatchRunProps}, and its own below. */
export interface FraudHoldEscrowProps extends BatchRunProps {
  // Triggers: any combination; with none, runs start only by hand (StartExecution with
  // `{"bucket", "prefix"}` or `{"bucket", "key"}`). The S3 trigger (`sourceBucket`, `sourcePrefix`,
  // `sourceSuffix`) is in BatchRunProps.

  /**
   * Start a run when any SageMaker Batch Transform job completes (narrow it with `transformJobNamePrefix`):
   * the run reads every object ending in `objectSuffix` under the job's `TransformOutput.S3OutputPath`.
   * @default - true when `transformJobNamePrefix` is given, false otherwise
   */
  readonly transformJobTrigger?: boolean;

  /**
   * Start a run when a SageMaker Batch Transform job whose name starts with this completes. Turns the
   * transform-job trigger on. The rule matches it case-sensitively; the function may describe only the
   * jobs it names (in lower case, as SageMaker writes ARNs). A token is used as it is: give it in lower case.
   * @default - every transform job, if `transformJobTrigger` is true
   */
  readonly transformJobNamePrefix?: string;

  /**
   * The bucket the transform jobs write their output to; required by the transform-job trigger. Prepare
   * may list it and read its objects (under `transformOutputPrefix`, when given): a job's output path is
   * known only when it completes, and a job writing elsewhere fails its run.
   * @default - no transform-job trigger
   */
  readonly transformOutputBucket?: s3.IBucket;

  /**
   * Only under this key prefix of `transformOutputBucket` may Prepare list and read (e.g. `transform-output/`).
   * Requires the transform-job trigger.
   * @default - the whole of `transformOutputBucket`
   */
  readonly transformOutputPrefix?: string;

  /**
   * When a run reads a prefix (a transform job's output path, or a manual start with `{"bucket", "prefix"}`),
   * it reads the objects whose key ends with this; empty for every object. Not a pattern: no `*` or `?`.
   * @default '.out'
   */
  readonly objectSuffix?: string;

  // The records.

  /**
   * How the records are written.
   * @default HoldInputFormat.JSON_LINES
   */
  readonly inputFormat?: HoldInputFormat;

  /**
   * The field holding the transaction's id: one hold per transaction id, ever. A record without one is
   * identified by its object (bucket, key, ETag) and line. For JSON Lines, a dotted path reaches into objects.
   * @default 'transaction_id'
   */
  readonly transactionIdField?: string;

  /**
   * The field holding the buyer's Purple Flea agent id (whose funds are held).
   * @default 'buyer'
   */
  readonly buyerField?: string;

  /**
   * The field holding the seller's Purple Flea agent id (who gets the funds once review clears them).
   * @default 'seller'
   */
  readonly sellerField?: string;

  /**
   * The field holding the transaction's amount, in USDC: the amount held.
   * @default 'amount'
   */
  readonly amountField?: string;

  /**
   * The field holding the model's fraud score, a number in [0, 1], e.g. `SageMakerOutput.fraud_score` for
   * a transform joined with its input.
   * @default 'fraud_score'
   */
  readonly fraudScoreField?: string;

  // The rule and the amounts (the run's cap, `maxBatchTotalUsdc`, is in BatchRunProps).

  /**
   * A record whose fraud score is strictly above this gets a hold; at or below it, it is SKIPPED. From 0 to 1.
   * @default 0.8
   */
  readonly fraudScoreThreshold?: number;

  /**
   * The escrow's release condition, from the placeholders `{transactionId}`, `{fraudScore}` (two decimals)
   * and `{jobName}` (the transform job's name, empty for other runs).
   * @default 'manual_review_cleared:fraud_score={fraudScore}'
   */
  readonly conditionTemplate?: string;

  /**
   * A record whose amount is above this is INVALID: it is never held, and never reduced. Checked by Prepare, and
   * again by Act on each row it is given. Greater than 0, at most 1,000,000,000 (the largest amount a row
   * may have: above it, a record is INVALID whatever its score, and logged with no amount).
   * @default 1000
   */
  readonly maxHoldUsdc?: number;

  /**
   * The services profile only: how long a hold lasts unless it is released, a whole number of hours from
   * 1 hour to 30 days. Releasing a hold (review cleared) pays the seller at any time before; the escrow
   * service has no other way to end it early, so a hold that is not released (a confirmed fraud, or no review)
   * is refunded to its creator (the agent of the connection's key, not the transaction's buyer) at the timeout,
   * less the service's 1 % commission. A week gives review its time, and returns the funds of a confirmed
   * fraud without locking them for the service's maximum of 30 days. The gateway's escrow has no timeout.
   * @default Duration.days(7)
   */
  readonly escrowTimeout?: Duration;

  // How fast (the run's rate and shape are in BatchRunProps).

  /**
   * Requests in flight at the same time within one batch. An integer from 1 to 100.
   * @default 5
   */
  readonly actConcurrency?: number;

  // Review.

  /**
   * How the holds are reviewed: a review that clears a hold releases it to the seller, once
   * (`HoldReview.augmentedAi` for an Amazon A2I human loop per hold, `HoldReview.events` for the user's own tool).
   * @default - no review: nothing releases a hold (on the services profile its timeout refunds it)
   */
  readonly review?: HoldReview;

  /**
   * What a review that confirms fraud does. Requires `review`.
   * @default ConfirmedFraudAction.KEEP_HOLD
   */
  readonly onConfirmedFraud?: ConfirmedFraudAction;

  /**
   * Records may name a model version instead of an agent: a buyer or seller that is a training job's or a model
   * package's ARN (`arn:aws:sagemaker:<region>:<account>:training-job/<name>`, `…:model-package/<group>/<version>`, names
   * in lower case as SageMaker writes them) is the agent this ModelAgents registered for it. A hold whose model agent is
   * not registered yet (or whose registration is UNKNOWN) is not placed, REJECTED with the reason, and running the
   * records again places it once the agent exists; a version that was never registered is INVALID. The services
   * profile only, as ModelAgents. Act gets GetItem on the registry's `v1:agent:*` records, not the agents' keys.
   * @default - an ARN is not an agent id: its record is INVALID
   */
  readonly agentsFrom?: ModelAgents;
}

/**
 * Locks the funds of each transaction a batch model flags as fraud in a Purple Flea escrow until review
 * clears it, exactly once per transaction, on Step Functions' Distributed Map.
 *
 * A run starts when a SageMaker Batch Transform job completes (reading every `objectSuffix` object of its
 * output path), when a records file is created in `sourceBucket`, or by hand: `StartExecution` on
 * `stateMachine` with `{"bucket": "...", "prefix": "..."}` or `{"bucket": "...", "key": "..."}` (Prepare may
 * read the objects of the triggers' buckets; for another bucket, grant it read, e.g.
 * `bucket.grantRead(holds.prepareFunction, 'scored/*')`). Each run has a folder
 * `s3://<outputBucket>/<outputPrefix>/<run id>/`:
 *
 * 1. Prepare reads the records (JSON Lines or CSV), checks each one and the caps (`maxBatchTotalUsdc`
 *    fails the run before any money moves), and writes the records to hold as `input.csv`;
 * 2. a Distributed Map reads `input.csv` in batches of `itemsPerBatch`, `maxConcurrency` at a time, and
 *    Act creates an escrow from the buyer to the seller for each record whose fraud score is above
 *    `fraudScoreThreshold`, under `conditionTemplate`, through the action ledger keyed by the transaction
 *    id, within `maxRequestsPerSecond` (or `rateLimit`);
 * 3. Summarize writes `holds_log.jsonl` (JSON Lines, one entry per record), `holds_summary.json` (totals per status) and puts a
 *    `Purple Flea Holds Completed` event on `eventBus`.
 *
 * A repeated event, a rerun or a redrive never holds a transaction twice.
 */
export class FraudHoldEscrow extends Construct implements IMonitoredMoneyAction {
  /** The workflow: Prepare → HoldBatches (Distributed Map) → Hold (the Act function) → Summarize. */
  public readonly stateMachine: sfn.StateMachine;
  /** Reads and checks the records, writes the run's `input.csv`. */
  public readonly prepareFunction: lambda.Function;
  /** Creates the holds of one batch of records. */
  public readonly actFunction: lambda.Function;
  /** Writes the holds log and puts the completion event. */
  public readonly summarizeFunction: lambda.Function;
  /** The bucket of the run folders. */
  public readonly outputBucket: s3.IBucket;
  /** The key prefix of the run folders in `outputBucket` (empty for the bucket's root). */
  public readonly outputPrefix: string;
  /** The rule on `sourceBucket`'s `Object Created` events, when `sourceBucket` is given. */
  public readonly objectCreatedRule?: events.Rule;
  /** The rule on completed transform jobs, when the transform-job trigger is on. */
  public readonly transformJobRule?: events.Rule;
  /** The rules' failed deliveries (there is one when there is a rule). */
  public readonly deadLetterQueue?: sqs.Queue;
  /** The state machine's log group. */
  public readonly logGroup: logs.ILogGroup;
  /** Fires on any failed run in 5 minutes. */
  public readonly executionsFailedAlarm: cloudwatch.Alarm;
  /** Fires on any hold whose outcome is unknown (it may have been created): an operator must check it. */
  public readonly unknownOutcomesAlarm: cloudwatch.Alarm;
  /** Fires when a rule's delivery lands in the dead-letter queue (there is one when there is a rule). */
  public readonly deadLetterQueueAlarm?: cloudwatch.Alarm;
  /** The bus that gets the `Purple Flea Holds Completed` (and `Purple Flea Escrow Released`) events. */
  public readonly eventBus: events.IEventBus;
  /** With `review`: releases (or disputes) a hold when its review completes. */
  public readonly releaseFunction?: lambda.Function;
  /** With `HoldReview.augmentedAi`: starts a human loop per hold a run placed. */
  public readonly reviewStartFunction?: lambda.Function;
  /** With `review`: the rule on completed reviews (A2I's loop status changes, or the user's review events). */
  public readonly reviewRule?: events.Rule;
  /** With `HoldReview.augmentedAi`: the rule on the runs' `Purple Flea Holds Completed` events. */
  public readonly reviewStartRule?: events.Rule;
  /** With `review`: the review functions' failed deliveries and invocations. */
  public readonly reviewDeadLetterQueue?: sqs.Queue;
  /** With `review`: fires on any release or dispute whose outcome is unknown: an operator must check it. */
  public readonly unknownReleasesAlarm?: cloudwatch.Alarm;
  /** With `HoldReview.augmentedAi`: fires on any human loop that ended Failed or Stopped (its hold is not released). */
  public readonly failedReviewsAlarm?: cloudwatch.Alarm;
  /** With `review`: fires when a review event lands in the review dead-letter queue. */
  public readonly reviewDeadLetterQueueAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: FraudHoldEscrowProps) {
    super(scope, id);
    validate(id, props);
    checkConnectionRegion(this, 'FraudHoldEscrow', id, props.connection);

    const enabled = props.enabled ?? BATCH_RUN_DEFAULTS.enabled;
    const transform = transformTriggerOf(props);
    const services = props.connection.api.profile === PurpleFleaApiProfile.SERVICES;
    const escrowTimeout = props.escrowTimeout ?? Duration.days(FRAUD_HOLD_ESCROW_DEFAULTS.escrowTimeoutDays);
    const engine = new BatchEngine(this, {
      options: props,
      defaultOutputPrefix: FRAUD_HOLD_ESCROW_DEFAULTS.outputPrefix,
      metrics: { ...FRAUD_HOLD_METRICS, unknownOutcomes: FRAUD_HOLD_METRICS.holdsUnknown },
      comment: 'FraudHoldEscrow: transactions a batch model flags as fraud get their funds held in a Purple Flea escrow, once each',
      prepare: {
        assetName: 'fraud-hold-prepare',
        description: "FraudHoldEscrow Prepare: reads and checks scored transactions, writes the ones to hold as the run's input.csv",
        environment: (runFolders) =>
          fraudHoldPrepareEnvironment(
            {
              inputFormat: INPUT_FORMAT_NAMES[props.inputFormat ?? HoldInputFormat[FRAUD_HOLD_ESCROW_DEFAULTS.inputFormat]],
              ...fieldNamesOf(props),
              fraudScoreThreshold: props.fraudScoreThreshold ?? FRAUD_HOLD_ESCROW_DEFAULTS.fraudScoreThreshold,
              maxHoldUsdc: props.maxHoldUsdc ?? FRAUD_HOLD_ESCROW_DEFAULTS.maxHoldUsdc,
              maxBatchTotalUsdc: props.maxBatchTotalUsdc ?? BATCH_RUN_DEFAULTS.maxBatchTotalUsdc,
              objectSuffix: props.objectSuffix ?? FRAUD_HOLD_ESCROW_DEFAULTS.objectSuffix,
              outputBucket: runFolders.bucket.bucketName,
              outputPrefix: runFolders.prefix,
              enabled,
              agentsFromRegistry: props.agentsFrom !== undefined || undefined,
            },
            numberInTemplate(this),
          ),
        statements: transform.on
          ? this.transformJobStatements(props.transformOutputBucket!, props.transformOutputPrefix, transform.namePrefix)
          : [],
        readBuckets: transform.on ? [props.transformOutputBucket!] : [],
      },
      act: {
        id: 'Act',
        // The step and the Map in the user's words: HoldBatches → Hold.
        stepName: 'Hold',
        // On the services profile, the run keeps under escrow create's limit by default.
        servicesLimitPerMinute: SERVICES_RATE_LIMITS.escrowCreatePerMinute,
        assetName: 'fraud-hold-act',
        description:
          'FraudHoldEscrow Act: holds the funds of one batch of flagged transactions in Purple Flea escrows, each transaction once',
        environment: ({ requestsPerSecond }) =>
          fraudHoldActEnvironment(
            {
              conditionTemplate: props.conditionTemplate ?? FRAUD_HOLD_ESCROW_DEFAULTS.conditionTemplate,
              requestsPerSecond,
              concurrency: props.actConcurrency ?? FRAUD_HOLD_ESCROW_DEFAULTS.actConcurrency,
              dryRun: props.dryRun ?? BATCH_RUN_DEFAULTS.dryRun,
              // Act reads it too: a run in flight, or a redrive, holds nothing once the construct is disabled.
              enabled,
              // Checked again on each row: input.csv is not trusted.
              maxHoldUsdc: props.maxHoldUsdc ?? FRAUD_HOLD_ESCROW_DEFAULTS.maxHoldUsdc,
              maxBatchTotalUsdc: props.maxBatchTotalUsdc ?? BATCH_RUN_DEFAULTS.maxBatchTotalUsdc,
              // Only the services profile's escrow has a timeout.
              services: services ? { escrowTimeoutHours: escrowTimeout.toHours() } : undefined,
              agentsFromRegistry: props.agentsFrom !== undefined || undefined,
            },
            numberInTemplate(this),
          ),
      },
      summarize: {
        assetName: 'fraud-hold-summarize',
        description: "FraudHoldEscrow Summarize: writes the run's holds log and puts a Purple Flea Holds Completed event",
        logFile: HOLDS_LOG_FILE,
        summaryFile: HOLDS_SUMMARY_FILE,
      },
      actionKinds: CONSTRUCT_ACTION_KINDS.fraudHoldEscrow,
      objectCreatedRuleDescription:
        'Runs FraudHoldEscrow: a scored transactions file created in the source bucket becomes Purple Flea escrow holds',
      jobTrigger: transform.on
        ? {
            id: 'TransformJobRule',
            description:
              'Runs FraudHoldEscrow: the transactions a completed SageMaker Batch Transform flags as fraud become Purple Flea escrow holds',
            eventPattern: {
              source: [TRANSFORM_JOB_STATE_CHANGE.source],
              detailType: [TRANSFORM_JOB_STATE_CHANGE.detailType],
              // Filtered here: other states and other jobs never start a run.
              detail: {
                TransformJobStatus: [TRANSFORM_JOB_STATE_CHANGE.completedStatus],
                ...(transform.namePrefix !== undefined ? { TransformJobName: events.Match.prefix(transform.namePrefix) } : {}),
              },
            },
          }
        : undefined,
      alarmDescriptions: {
        executionsFailed:
          'FraudHoldEscrow: a run failed (unreadable records, a cap exceeded, or a failed batch): see the execution and its run folder. ' +
          'Redriving it, or running the same records again, holds no transaction twice.',
        unknownOutcomes:
          'FraudHoldEscrow: a hold may or may not have been created (timeout, 5xx, lost connection). It is never re-sent ' +
          'automatically: check the UNKNOWN rows of the holds log, or the ledger records in state UNKNOWN, with Purple Flea.',
        deadLetterQueue: 'FraudHoldEscrow: a trigger event could not start a run; it is in the dead-letter queue.',
      },
    });

    this.stateMachine = engine.stateMachine;
    this.prepareFunction = engine.prepareFunction;
    this.actFunction = engine.actFunction;
    this.summarizeFunction = engine.summarizeFunction;
    this.outputBucket = engine.outputBucket;
    this.outputPrefix = engine.outputPrefix;
    this.objectCreatedRule = engine.objectCreatedRule;
    this.transformJobRule = engine.jobRule;
    this.deadLetterQueue = engine.deadLetterQueue;
    this.logGroup = engine.logGroup;
    this.executionsFailedAlarm = engine.executionsFailedAlarm;
    this.unknownOutcomesAlarm = engine.unknownOutcomesAlarm;
    this.deadLetterQueueAlarm = engine.deadLetterQueueAlarm;
    this.eventBus = engine.eventBus;
    // The model agents' registry, read-only: Act resolves a record's model version to its agent (a hold's key is its
    // transaction's, so Summarize needs no registry).
    props.agentsFrom?.grantReadRegistry(this.actFunction);

    if (props.review !== undefined) {
      const review = this.addReview(props, props.review, enabled, engine.outputBucket, engine.outputPrefix);
      this.releaseFunction = review.releaseFunction;
      this.reviewStartFunction = review.startFunction;
      this.reviewRule = review.rule;
      this.reviewStartRule = review.startRule;
      this.reviewDeadLetterQueue = review.deadLetterQueue;
      this.unknownReleasesAlarm = review.unknownAlarm;
      this.failedReviewsAlarm = review.failedAlarm;
      this.reviewDeadLetterQueueAlarm = review.deadLetterQueueAlarm;
    }
  }

  /**
   * The review (`<id>/Review`): a release function on completed reviews and, for Augmented AI, a start function on the
   * runs' completion events, which starts the loops after the run, outside the money path (a failed start never fails
   * or slows a run).
   */
  private addReview(props: FraudHoldEscrowProps, review: HoldReview, enabled: boolean, runBucket: s3.IBucket, runPrefix: string) {
    const scope = new Construct(this, 'Review');
    const source = review.source as ReviewSourceName;
    const augmentedAi = source === 'augmented-ai';
    const logRetention = props.logRetention ?? logs.RetentionDays[BATCH_RUN_DEFAULTS.logRetention];
    const deadLetterQueue = newDeadLetterQueue(scope);
    const asyncOptions = {
      // Retrying is safe (the ledger makes a repeat harmless); a hold not settled yet waits for its resolution.
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new destinations.SqsDestination(deadLetterQueue),
    };
    const targetOptions = { deadLetterQueue, maxEventAge: Duration.hours(24), retryAttempts: 185 };

    const releaseFunction = new HandlerFunction(scope, 'Release', {
      assetName: 'fraud-hold-release',
      description: 'FraudHoldEscrow release: a completed review releases the hold once (or, on confirmed fraud, keeps or disputes it)',
      logRetention,
      functionOptions: props.functionOptions,
      runtime: props.runtime,
      environment: handlerEnvironment(
        FRAUD_HOLD_RELEASE_METRICS,
        props.connection,
        fraudHoldReleaseEnvironment({
          source,
          flowDefinitionArn: review.flowDefinitionArn,
          humanLoopOutputBucket: review.humanLoopOutputBucket?.bucketName,
          humanLoopOutputPrefix: augmentedAi ? (review.humanLoopOutputPrefix ?? '') : undefined,
          answers: augmentedAi
            ? {
                answerField: review.answerField!,
                fraudValue: review.fraudValue!,
                clearValue: review.clearValue!,
                decisionRule: review.decisionRule as DecisionRuleName,
              }
            : undefined,
          onConfirmedFraud: disputesConfirmedFraud(props) ? 'dispute' : 'keep-hold',
          eventBusName: this.eventBus.eventBusArn,
          dryRun: props.dryRun ?? BATCH_RUN_DEFAULTS.dryRun,
          enabled,
        }),
      ),
      ...asyncOptions,
    });
    // Its releases' and disputes' records, and the holds' records read only.
    grantActionAccess(props.connection, releaseFunction, CONSTRUCT_ACTION_KINDS.fraudHoldRelease);
    grantLedgerRead(props.connection, releaseFunction, [ACTION_KINDS.hold]);
    this.eventBus.grantPutEventsTo(releaseFunction);

    let rule: events.Rule;
    let startFunction: HandlerFunction | undefined;
    let startRule: events.Rule | undefined;
    let failedAlarm: cloudwatch.Alarm | undefined;
    if (augmentedAi) {
      const outputBucket = review.humanLoopOutputBucket!;
      const outputPrefix = review.humanLoopOutputPrefix ?? '';
      newWildcardPolicy(scope, 'ReleaseReadLoopOutput', {
        role: releaseFunction.handlerRole,
        dependent: releaseFunction,
        statements: [
          {
            actions: ['s3:GetObject'],
            resources: [outputBucket.arnForObjects(outputPrefix === '' ? '*' : `${outputPrefix}/*`)],
            reason:
              "The release reads a completed human loop's output.json, whose key (a date path and the loop's name) is known only when the loop completes: " +
              (outputPrefix === ''
                ? 'anywhere in humanLoopOutputBucket, as no humanLoopOutputPrefix is given.'
                : 'under humanLoopOutputPrefix.'),
          },
        ],
      });
      rule = new events.Rule(scope, 'Rule', {
        description:
          "FraudHoldEscrow review: a hold's A2I human loop ended (Completed releases or confirms fraud; Failed or Stopped alarm)",
        enabled,
        eventPattern: {
          source: [HUMAN_LOOP_STATUS_CHANGE.source],
          detailType: [HUMAN_LOOP_STATUS_CHANGE.detailType],
          detail: {
            flowDefinitionArn: [review.flowDefinitionArn!],
            humanLoopName: events.Match.prefix(HUMAN_LOOP_NAME_PREFIX),
            humanLoopStatus: [HUMAN_LOOP_STATUS_CHANGE.completedStatus, ...HUMAN_LOOP_STATUS_CHANGE.failedStatuses],
          },
        },
      });

      startFunction = new HandlerFunction(scope, 'Start', {
        assetName: 'fraud-hold-review-start',
        description: "FraudHoldEscrow review start: a run's holds each get an Amazon A2I human loop",
        logRetention,
        functionOptions: props.functionOptions,
        runtime: props.runtime,
        environment: {
          ...commonHandlerEnvironment(FRAUD_HOLD_REVIEW_START_METRICS),
          ...fraudHoldReviewStartEnvironment({
            flowDefinitionArn: review.flowDefinitionArn!,
            runBucket: runBucket.bucketName,
            runPrefix,
            enabled,
          }),
        },
        ...asyncOptions,
      });
      // A2I's StartHumanLoop is authorized as sagemaker:StartHumanLoop on the flow definition.
      startFunction.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['sagemaker:StartHumanLoop'], resources: [review.flowDefinitionArn!] }),
      );
      newWildcardPolicy(scope, 'StartReadHoldsLog', {
        role: startFunction.handlerRole,
        dependent: startFunction,
        statements: [
          {
            actions: ['s3:GetObject'],
            resources: [runBucket.arnForObjects(runPrefix === '' ? '*' : `${runPrefix}/*`)],
            reason:
              "The review start reads a run's holds log, in the run's folder, whose name (the run id) is known only when the run completes.",
          },
        ],
      });
      startRule = new events.Rule(scope, 'StartRule', {
        description: "FraudHoldEscrow review start: a completed run's holds get A2I human loops",
        enabled,
        eventBus: this.eventBus,
        eventPattern: {
          source: [HOLDS_COMPLETED_EVENT.source],
          detailType: [HOLDS_COMPLETED_EVENT.detailType],
        },
      });
      startRule.addTarget(new targets.LambdaFunction(startFunction, targetOptions));
      failedAlarm = newAlarmOnAny(
        scope,
        'FailedReviewsAlarm',
        handlerMetric(FRAUD_HOLD_RELEASE_METRICS, releaseFunction, FRAUD_HOLD_RELEASE_METRICS.reviewsFailed, {
          statistic: cloudwatch.Stats.SUM,
          period: Duration.minutes(5),
        }),
        "FraudHoldEscrow: a hold's A2I human loop ended Failed or Stopped: the hold is not released. Review it again, or release it by hand (purpleflea-ledger release).",
        props.alarmTopic,
      );
    } else {
      rule = new events.Rule(scope, 'Rule', {
        description: "FraudHoldEscrow review: the user's review of a hold completed (clear releases it)",
        enabled,
        eventBus: review.eventBus,
        eventPattern: { source: [HOLD_REVIEW_COMPLETED_EVENT.source], detailType: [HOLD_REVIEW_COMPLETED_EVENT.detailType] },
      });
    }
    rule.addTarget(new targets.LambdaFunction(releaseFunction, targetOptions));

    const unknownAlarm = newUnknownOutcomesAlarm(
      scope,
      releaseFunction,
      { ...FRAUD_HOLD_RELEASE_METRICS, metricName: FRAUD_HOLD_RELEASE_METRICS.releasesUnknown },
      'FraudHoldEscrow: a release of a hold may or may not have happened (timeout, 5xx, lost connection). It is never re-sent ' +
        'automatically: check the ledger records in state UNKNOWN with Purple Flea (purpleflea-ledger list --status UNKNOWN).',
      props.alarmTopic,
    );
    if (disputesConfirmedFraud(props)) {
      newUnknownOutcomesAlarm(
        new Construct(scope, 'Disputes'),
        releaseFunction,
        { ...FRAUD_HOLD_RELEASE_METRICS, metricName: FRAUD_HOLD_RELEASE_METRICS.disputesUnknown },
        'FraudHoldEscrow: a dispute of a hold may or may not have happened. It is never re-sent automatically: check the ledger records in state UNKNOWN.',
        props.alarmTopic,
      );
    }
    const deadLetterQueueAlarm = newDeadLetterQueueAlarm(
      scope,
      deadLetterQueue,
      'FraudHoldEscrow: a review could not be handled (e.g. its hold is UNKNOWN): redrive it once the hold is resolved.',
      props.alarmTopic,
    );
    return { releaseFunction, startFunction, rule, startRule, deadLetterQueue, unknownAlarm, failedAlarm, deadLetterQueueAlarm };
  }

  /** What a `PurpleFleaDashboard` shows of this construct: its metrics, functions, dead-letter queue and state machine. */
  public monitoring(): MoneyActionMonitoring {
    return moneyActionMonitoring({
      kind: 'FraudHoldEscrow',
      actionName: 'holds',
      metrics: FRAUD_HOLD_METRICS,
      outcomes: FRAUD_HOLD_OUTCOME_METRICS,
      actingFunction: this.actFunction,
      functions: [this.prepareFunction, this.actFunction, this.summarizeFunction],
      deadLetterQueue: this.deadLetterQueue,
      stateMachine: this.stateMachine,
      releases:
        this.releaseFunction === undefined
          ? undefined
          : escrowReleaseMonitoring(FRAUD_HOLD_RELEASE_METRICS, FRAUD_HOLD_RELEASE_DASHBOARD_METRICS, this.releaseFunction),
    });
  }

  /**
   * What Prepare needs for the transform-job trigger: listing and reading the job's output objects (in
   * the transform output bucket, under its prefix: the job's output path is known only when it completes),
   * and describing the jobs the rule matches, when their event lacks the output path.
   */
  private transformJobStatements(bucket: s3.IBucket, prefix: string | undefined, namePrefix: string | undefined): WildcardStatement[] {
    const where =
      prefix !== undefined ? 'under transformOutputPrefix' : 'anywhere in transformOutputBucket, as no transformOutputPrefix is given';
    return [
      {
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        ...(prefix !== undefined ? { conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } } } : {}),
        reason: `Prepare lists the output objects of a completed transform job, ${where}.`,
      },
      {
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(`${prefix ?? ''}*`)],
        reason: `Prepare reads the output objects of a completed transform job, whose path is known only when it completes: ${where}.`,
      },
      {
        actions: ['sagemaker:DescribeTransformJob'],
        resources: [sageMakerArn(this, 'transform-job', `${sageMakerNameInArn(namePrefix ?? '')}*`)],
        reason:
          "Prepare describes a completed transform job when its event lacks the job's output path; names are known only when jobs complete: " +
          (namePrefix !== undefined
            ? 'those whose name starts with transformJobNamePrefix (in lower case, as SageMaker writes ARNs).'
            : 'every transform job, as no transformJobNamePrefix is given.'),
      },
    ];
  }
}

const INPUT_FORMAT_NAMES: { readonly [format in HoldInputFormat]: HoldInputFormatName } = {
  [HoldInputFormat.JSON_LINES]: 'JSON_LINES',
  [HoldInputFormat.CSV]: 'CSV',
};

/** The record fields, the user's or the defaults. */
function fieldNamesOf(props: FraudHoldEscrowProps): HoldFieldNames {
  return {
    transactionIdField: props.transactionIdField ?? FRAUD_HOLD_ESCROW_DEFAULTS.transactionIdField,
    buyerField: props.buyerField ?? FRAUD_HOLD_ESCROW_DEFAULTS.buyerField,
    sellerField: props.sellerField ?? FRAUD_HOLD_ESCROW_DEFAULTS.sellerField,
    amountField: props.amountField ?? FRAUD_HOLD_ESCROW_DEFAULTS.amountField,
    fraudScoreField: props.fraudScoreField ?? FRAUD_HOLD_ESCROW_DEFAULTS.fraudScoreField,
  };
}

interface TransformTrigger {
  readonly on: boolean;
  readonly namePrefix?: string;
}

function transformTriggerOf(props: FraudHoldEscrowProps): TransformTrigger {
  return {
    on: props.transformJobTrigger ?? props.transformJobNamePrefix !== undefined,
    namePrefix: props.transformJobNamePrefix,
  };
}

function validate(id: string, given: FraudHoldEscrowProps | undefined): void {
  const props = givenProps(given);
  const v = new PropsValidator('FraudHoldEscrow', id);
  // Required: the checks below may read it.
  v.required('connection', props.connection).instance('connection', props.connection, isConnection, CONNECTION_KIND);
  const transform = transformTriggerOf(props);

  // Triggers.
  v.string(
    'transformJobNamePrefix',
    props.transformJobNamePrefix,
    isSageMakerNamePrefix,
    `must be a non-empty start of a transform job name, which ${SAGEMAKER_NAME_RULE}`,
  );
  if (props.transformJobTrigger === false && props.transformJobNamePrefix !== undefined) {
    v.fail('transformJobNamePrefix cannot be given with transformJobTrigger: false');
  }
  if (transform.on && props.transformOutputBucket === undefined) {
    v.fail('transformOutputBucket is required by the transform-job trigger: it is the bucket the jobs write their output to');
  }
  if (!transform.on) {
    const onlyForTransform = 'is used by the transform-job trigger only: set transformJobTrigger or transformJobNamePrefix';
    v.notAllowed('transformOutputBucket', props.transformOutputBucket, onlyForTransform);
    v.notAllowed('transformOutputPrefix', props.transformOutputPrefix, onlyForTransform);
  }
  checkKeyPrefix(v, 'transformOutputPrefix', props.transformOutputPrefix);
  checkSourceTrigger(v, props);
  v.string(
    'objectSuffix',
    props.objectSuffix,
    (s: string) => !/[*?]/.test(s),
    'must be a literal key suffix without "*" or "?" (empty for every object)',
  );

  // The records.
  const fields = fieldNamesOf(props);
  for (const [prop, value] of Object.entries(fields)) {
    v.string(prop, value, (f: string) => f.length > 0, 'must not be empty');
  }
  const firstWith = new Map<string, string>();
  for (const [prop, value] of Object.entries(fields)) {
    if (isToken(value) || value.length === 0) continue;
    const first = firstWith.get(value);
    if (first === undefined) firstWith.set(value, prop);
    else v.fail(`${prop} must differ from ${first} (${JSON.stringify(value)}): each field holds one thing`);
  }

  // The rule and the amounts.
  v.number('fraudScoreThreshold', props.fraudScoreThreshold, { min: 0, max: 1 });
  checkTemplate(v, 'conditionTemplate', props.conditionTemplate, HOLD_CONDITION_PLACEHOLDERS);
  v.number('maxHoldUsdc', props.maxHoldUsdc, { min: 0, minExclusive: true });
  v.number('maxBatchTotalUsdc', props.maxBatchTotalUsdc, { min: 0, minExclusive: true });
  checkAmountMaxima(v, 'maxHoldUsdc', props.maxHoldUsdc, props);
  checkEscrowTimeout(v, props.escrowTimeout);
  checkAgentsFrom(v, props.agentsFrom, props.connection);

  // How fast, and where the run folders go.
  checkRunShape(v, props, {
    concurrencyProp: 'actConcurrency',
    concurrency: props.actConcurrency,
    id: 'Act',
    servicesLimitPerMinute: SERVICES_RATE_LIMITS.escrowCreatePerMinute,
  });
  checkRunFolders(v, props, FRAUD_HOLD_ESCROW_DEFAULTS.outputPrefix);

  checkBatchFunctionOptions(v, props, { prepare: FRAUD_HOLD_PREPARE_ENV, act: FRAUD_HOLD_ACT_ENV });
  // The review functions take the same functionOptions: their own variables are the construct's.
  for (const name of Object.keys(props.functionOptions?.environment ?? {})) {
    if (constructEnvironmentNames(FRAUD_HOLD_RELEASE_ENV).includes(name) && props.review !== undefined) {
      v.fail(`functionOptions.environment.${name} cannot be set: the construct sets it for the review's functions`);
    }
  }
  v.check(
    'review',
    props.review,
    (review) => review instanceof HoldReview || typeof review?.source === 'string',
    'must be a HoldReview (HoldReview.augmentedAi or HoldReview.events)',
  );
  if (props.review === undefined) {
    v.notAllowed('onConfirmedFraud', props.onConfirmedFraud, 'it applies to a review: set review');
  }
  v.throwIfInvalid();
}

/** What a review's confirmed fraud does: the prop, else the default (keep the hold). */
function disputesConfirmedFraud(props: FraudHoldEscrowProps): boolean {
  return (props.onConfirmedFraud ?? ConfirmedFraudAction[FRAUD_HOLD_ESCROW_DEFAULTS.onConfirmedFraud]) === ConfirmedFraudAction.DISPUTE;
}
