import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BatchRunProps } from './batch-run-props';
import { IMonitoredMoneyAction, MoneyActionMonitoring } from './monitored-money-action';
import type { ModelAgents } from './model-agents';
import {
  BatchEngine,
  checkAgentsFrom,
  checkAmountMaxima,
  checkBatchFunctionOptions,
  checkRunFolders,
  checkRunShape,
  checkSourceTrigger,
} from './private/batch-engine';
import { CONSTRUCT_ACTION_KINDS } from './private/contracts/action-keys';
import {
  BATCH_PAYOUT_METRICS,
  BATCH_PAYOUT_OUTCOME_METRICS,
  BATCH_PAYOUT_PAY_ENV,
  BATCH_PAYOUT_PREPARE_ENV,
  PAYOUT_LOG_FILE,
  PAYOUT_SUMMARY_FILE,
  PROCESSING_JOB_STATE_CHANGE,
  batchPayoutPayEnvironment,
  batchPayoutPrepareEnvironment,
  batchPayoutSummarizeEnvironment,
} from './private/contracts/batch-payout-env';
import { BATCH_PAYOUT_DEFAULTS, BATCH_RUN_DEFAULTS } from './private/defaults';
import { numberInTemplate } from './private/handler-environment';
import { moneyActionMonitoring } from './private/money-action-monitoring';
import { SAGEMAKER_NAME_RULE, isSageMakerNamePrefix } from './private/patterns';
import { sageMakerArn, sageMakerNameInArn } from './private/sagemaker-arns';
import { CONNECTION_KIND, isConnection } from './private/prop-kinds';
import { givenProps, PropsValidator, isToken } from './private/validation';
import { WildcardStatement } from './private/wildcard-policy';
import { checkConnectionRegion } from './private/regions';

/** Props of a {@link BatchPayout}: the shared {@link BatchRunProps}, and its own below. */
export interface BatchPayoutProps extends BatchRunProps {
  // Triggers: any combination; with none, runs start only by hand (StartExecution with `{"bucket", "key"}`).
  // The S3 trigger (`sourceBucket`, `sourcePrefix`, `sourceSuffix`) is in BatchRunProps.

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

  // The scores and the amounts (the run's cap, `maxBatchTotalUsdc`, is in BatchRunProps).

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
   * A row whose amount is above this is INVALID: it is never paid, and never reduced. Checked by Prepare, and
   * again by Pay on each row it is given. Greater than `minPayoutUsdc`, at most 1,000,000,000 (the largest
   * amount a row may have: above it, a row is INVALID whatever this cap, and logged with no amount).
   * @default 1000
   */
  readonly maxPayoutPerAgentUsdc?: number;

  // How fast (the run's rate and shape are in BatchRunProps).

  /**
   * Requests in flight at the same time within one batch. An integer from 1 to 100.
   * @default 5
   */
  readonly payConcurrency?: number;

  /**
   * Rows may name a model version instead of an agent: an `agentIdColumn` cell that is a training job's or a model
   * package's ARN (`arn:aws:sagemaker:<region>:<account>:training-job/<name>`, `…:model-package/<group>/<version>`, names in
   * lower case as SageMaker writes them) is paid to the agent this ModelAgents registered for it, once per agent per
   * file whichever way its rows name it. A version whose agent is not registered yet (or whose registration is UNKNOWN)
   * is not paid, REJECTED with the reason, and a rerun of the file pays it once the agent exists; a version that was
   * never registered is INVALID. The services profile only, as ModelAgents. Pay and Summarize get GetItem on the
   * registry's `v1:agent:*` records, not the agents' keys.
   * @default - an ARN is not an agent id: its row is INVALID
   */
  readonly agentsFrom?: ModelAgents;
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
 * 1. Prepare streams the file, checks every row and the caps (`maxBatchTotalUsdc` fails the run before
 *    any money moves), and writes the payable rows as `input.csv`;
 * 2. a Distributed Map reads `input.csv` in batches of `itemsPerBatch`, `maxConcurrency` at a time, and
 *    Pay transfers each row's amount from the connection's agent, through the action ledger keyed by
 *    the file's bucket, key and ETag and the agent id, within `maxRequestsPerSecond` (or `rateLimit`);
 * 3. Summarize writes `payout_log.jsonl` (JSON Lines, one entry per source row), `payout_summary.json` (totals per status) and puts a
 *    `Purple Flea Payout Completed` event on `eventBus`.
 *
 * Running the same file again, or redriving a run, pays no one twice.
 */
export class BatchPayout extends Construct implements IMonitoredMoneyAction {
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
    checkConnectionRegion(this, 'BatchPayout', id, props.connection);

    const enabled = props.enabled ?? BATCH_RUN_DEFAULTS.enabled;
    const processing = processingTriggerOf(props);
    const agentsFromRegistry = props.agentsFrom !== undefined;
    const engine = new BatchEngine(this, {
      options: props,
      defaultOutputPrefix: BATCH_PAYOUT_DEFAULTS.outputPrefix,
      metrics: { ...BATCH_PAYOUT_METRICS, unknownOutcomes: BATCH_PAYOUT_METRICS.payoutsUnknown },
      comment: 'BatchPayout: a scored CSV becomes Purple Flea payouts, each agent paid once per file content',
      prepare: {
        assetName: 'batch-payout-prepare',
        description: "BatchPayout Prepare: reads and checks a scores file, writes the payable rows as the run's input.csv",
        environment: (runFolders) =>
          batchPayoutPrepareEnvironment(
            {
              agentIdColumn: props.agentIdColumn ?? BATCH_PAYOUT_DEFAULTS.agentIdColumn,
              scoreColumn: props.scoreColumn ?? BATCH_PAYOUT_DEFAULTS.scoreColumn,
              usdPerScorePoint: props.usdPerScorePoint ?? BATCH_PAYOUT_DEFAULTS.usdPerScorePoint,
              minPayoutUsdc: props.minPayoutUsdc ?? BATCH_PAYOUT_DEFAULTS.minPayoutUsdc,
              maxPayoutPerAgentUsdc: props.maxPayoutPerAgentUsdc ?? BATCH_PAYOUT_DEFAULTS.maxPayoutPerAgentUsdc,
              maxBatchTotalUsdc: props.maxBatchTotalUsdc ?? BATCH_RUN_DEFAULTS.maxBatchTotalUsdc,
              outputBucket: runFolders.bucket.bucketName,
              outputPrefix: runFolders.prefix,
              processingOutputName: props.processingOutputName ?? BATCH_PAYOUT_DEFAULTS.processingOutputName,
              processingFileName: props.processingFileName ?? BATCH_PAYOUT_DEFAULTS.processingFileName,
              enabled,
              agentsFromRegistry: agentsFromRegistry || undefined,
            },
            numberInTemplate(this),
          ),
        statements: processing.on ? this.processingJobStatements(props.processingOutputBucket!, processing.namePrefix) : [],
        readBuckets: processing.on ? [props.processingOutputBucket!] : [],
      },
      act: {
        id: 'Pay',
        stepName: 'Pay',
        assetName: 'batch-payout-pay',
        description: 'BatchPayout Pay: pays one batch of scored rows on Purple Flea, each agent once',
        environment: ({ requestsPerSecond }) =>
          batchPayoutPayEnvironment(
            {
              requestsPerSecond,
              concurrency: props.payConcurrency ?? BATCH_PAYOUT_DEFAULTS.payConcurrency,
              dryRun: props.dryRun ?? BATCH_RUN_DEFAULTS.dryRun,
              // Pay reads it too: a run in flight, or a redrive, pays no one once the construct is disabled.
              enabled,
              // Checked again on each row: input.csv is not trusted.
              maxPayoutPerAgentUsdc: props.maxPayoutPerAgentUsdc ?? BATCH_PAYOUT_DEFAULTS.maxPayoutPerAgentUsdc,
              maxBatchTotalUsdc: props.maxBatchTotalUsdc ?? BATCH_RUN_DEFAULTS.maxBatchTotalUsdc,
              agentsFromRegistry: agentsFromRegistry || undefined,
            },
            numberInTemplate(this),
          ),
      },
      summarize: {
        assetName: 'batch-payout-summarize',
        description: "BatchPayout Summarize: writes the run's payout log and puts a Purple Flea Payout Completed event",
        logFile: PAYOUT_LOG_FILE,
        summaryFile: PAYOUT_SUMMARY_FILE,
        environment: batchPayoutSummarizeEnvironment({ agentsFromRegistry: agentsFromRegistry || undefined }),
      },
      actionKinds: CONSTRUCT_ACTION_KINDS.batchPayout,
      objectCreatedRuleDescription: 'Runs BatchPayout: a scores file created in the source bucket becomes Purple Flea payouts',
      jobTrigger: processing.on
        ? {
            id: 'ProcessingJobRule',
            description: 'Runs BatchPayout: the scores of a completed SageMaker processing job become Purple Flea payouts',
            eventPattern: {
              source: [PROCESSING_JOB_STATE_CHANGE.source],
              detailType: [PROCESSING_JOB_STATE_CHANGE.detailType],
              // Filtered here: other states and other jobs never start a run.
              detail: {
                ProcessingJobStatus: [PROCESSING_JOB_STATE_CHANGE.completedStatus],
                ...(processing.namePrefix !== undefined ? { ProcessingJobName: events.Match.prefix(processing.namePrefix) } : {}),
              },
            },
          }
        : undefined,
      alarmDescriptions: {
        executionsFailed:
          'BatchPayout: a run failed (a bad file, a cap exceeded, or a failed batch): see the execution and its run folder. ' +
          'Redriving it, or running the file again, pays no one twice.',
        unknownOutcomes:
          'BatchPayout: a payout may or may not have been made (timeout, 5xx, lost connection). It is never re-sent ' +
          'automatically: check the UNKNOWN rows of the payout log, or the ledger records in state UNKNOWN, with Purple Flea.',
        deadLetterQueue: 'BatchPayout: a trigger event could not start a run; it is in the dead-letter queue.',
      },
    });

    this.stateMachine = engine.stateMachine;
    this.prepareFunction = engine.prepareFunction;
    this.payFunction = engine.actFunction;
    this.summarizeFunction = engine.summarizeFunction;
    this.outputBucket = engine.outputBucket;
    this.outputPrefix = engine.outputPrefix;
    this.objectCreatedRule = engine.objectCreatedRule;
    this.processingJobRule = engine.jobRule;
    this.deadLetterQueue = engine.deadLetterQueue;
    this.logGroup = engine.logGroup;
    this.executionsFailedAlarm = engine.executionsFailedAlarm;
    this.unknownOutcomesAlarm = engine.unknownOutcomesAlarm;
    this.deadLetterQueueAlarm = engine.deadLetterQueueAlarm;
    this.eventBus = engine.eventBus;

    // The model agents' registry, read-only: Pay resolves a row's model version to its agent, and Summarize does too,
    // to find the payout of a row the Map did not settle (its key names the agent).
    props.agentsFrom?.grantReadRegistry(this.payFunction);
    props.agentsFrom?.grantReadRegistry(this.summarizeFunction);
  }

  /** What a `PurpleFleaDashboard` shows of this construct: its metrics, functions, dead-letter queue and state machine. */
  public monitoring(): MoneyActionMonitoring {
    return moneyActionMonitoring({
      kind: 'BatchPayout',
      actionName: 'payouts',
      metrics: BATCH_PAYOUT_METRICS,
      outcomes: BATCH_PAYOUT_OUTCOME_METRICS,
      actingFunction: this.payFunction,
      functions: [this.prepareFunction, this.payFunction, this.summarizeFunction],
      deadLetterQueue: this.deadLetterQueue,
      stateMachine: this.stateMachine,
    });
  }

  /**
   * What Prepare needs for the processing-job trigger: reading the scores file in the job's output location
   * (any object of the bucket: the location is known only when the job completes), and describing the jobs
   * the rule matches.
   */
  private processingJobStatements(outputBucket: s3.IBucket, namePrefix: string | undefined): WildcardStatement[] {
    return [
      {
        actions: ['s3:GetObject'],
        resources: [outputBucket.arnForObjects('*')],
        reason: "Prepare reads the scores file of a completed processing job, in the job's output location, known only when it completes.",
      },
      {
        actions: ['sagemaker:DescribeProcessingJob'],
        resources: [sageMakerArn(this, 'processing-job', `${sageMakerNameInArn(namePrefix ?? '')}*`)],
        reason:
          "Prepare describes a completed processing job when its event lacks the job's outputs; names are known only when jobs complete: " +
          (namePrefix !== undefined
            ? 'those whose name starts with processingJobNamePrefix (in lower case, as SageMaker writes ARNs).'
            : 'every processing job, as no processingJobNamePrefix is given.'),
      },
    ];
  }
}

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

function validate(id: string, given: BatchPayoutProps | undefined): void {
  const props = givenProps(given);
  const v = new PropsValidator('BatchPayout', id);
  // Required: the checks below may read it.
  v.required('connection', props.connection).instance('connection', props.connection, isConnection, CONNECTION_KIND);
  const processing = processingTriggerOf(props);

  // Triggers.
  checkSourceTrigger(v, props);
  v.string(
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
  v.string('processingOutputName', props.processingOutputName, (n: string) => n.length > 0, 'must not be empty');
  v.string(
    'processingFileName',
    props.processingFileName,
    (n: string) => n.length > 0 && !n.startsWith('/'),
    'must be a non-empty file name without a leading "/"',
  );

  // The scores and the amounts.
  v.string('agentIdColumn', props.agentIdColumn, (c: string) => c.length > 0, 'must not be empty');
  v.string('scoreColumn', props.scoreColumn, (c: string) => c.length > 0, 'must not be empty');
  const agentIdColumn = props.agentIdColumn ?? BATCH_PAYOUT_DEFAULTS.agentIdColumn;
  v.check(
    'scoreColumn',
    props.scoreColumn ?? BATCH_PAYOUT_DEFAULTS.scoreColumn,
    (c: string) => isToken(agentIdColumn) || c !== agentIdColumn,
    `must differ from agentIdColumn ("${agentIdColumn}")`,
  );
  v.number('usdPerScorePoint', props.usdPerScorePoint, { min: 0, minExclusive: true });
  v.number('minPayoutUsdc', props.minPayoutUsdc, { min: 0 });
  v.number('maxPayoutPerAgentUsdc', props.maxPayoutPerAgentUsdc, { min: 0, minExclusive: true });
  const minPayout = props.minPayoutUsdc ?? BATCH_PAYOUT_DEFAULTS.minPayoutUsdc;
  if (!isToken(minPayout) && Number.isFinite(minPayout)) {
    v.check(
      'maxPayoutPerAgentUsdc',
      props.maxPayoutPerAgentUsdc ?? BATCH_PAYOUT_DEFAULTS.maxPayoutPerAgentUsdc,
      (m: number) => !(m <= minPayout),
      `must be greater than minPayoutUsdc (${minPayout})`,
    );
  }
  v.number('maxBatchTotalUsdc', props.maxBatchTotalUsdc, { min: 0, minExclusive: true });
  checkAmountMaxima(v, 'maxPayoutPerAgentUsdc', props.maxPayoutPerAgentUsdc, props);
  checkAgentsFrom(v, props.agentsFrom, props.connection);

  // How fast, and where the run folders go.
  checkRunShape(v, props, { concurrencyProp: 'payConcurrency', concurrency: props.payConcurrency, id: 'Pay' });
  checkRunFolders(v, props, BATCH_PAYOUT_DEFAULTS.outputPrefix);

  checkBatchFunctionOptions(v, props, { prepare: BATCH_PAYOUT_PREPARE_ENV, act: BATCH_PAYOUT_PAY_ENV });
  v.throwIfInvalid();
}
