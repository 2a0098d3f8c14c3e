import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BonusTier, MetricGoal } from './bonus-tier';
import { IMonitoredMoneyAction, MoneyActionMonitoring } from './monitored-money-action';
import { newHandlerAlarms } from './private/alarms';
import { CONSTRUCT_ACTION_KINDS } from './private/contracts/action-keys';
import {
  ESCROW_TEMPLATE_PLACEHOLDERS,
  MetricGoalName,
  TRAINING_BONUS_ESCROW_ENV,
  TRAINING_BONUS_ESCROW_METRICS,
  TRAINING_BONUS_ESCROW_OUTCOME_METRICS,
  TRAINING_JOB_STATE_CHANGE,
  trainingBonusEscrowEnvironment,
} from './private/contracts/training-bonus-escrow-env';
import { newDeadLetterQueue } from './private/dead-letter-queue';
import { TRAINING_BONUS_ESCROW_DEFAULTS } from './private/defaults';
import { constructEnvironmentNames, handlerEnvironment, numberInTemplate } from './private/handler-environment';
import { checkFunctionOptions, HandlerFunction } from './private/handler-function';
import { grantActionAccess } from './private/ledger-access';
import { escrowReleaseMonitoring, moneyActionMonitoring } from './private/money-action-monitoring';
import { BonusRelease } from './private/bonus-release';
import {
  TRAINING_BONUS_RELEASE_DASHBOARD_METRICS,
  TRAINING_BONUS_RELEASE_ENV,
  TRAINING_BONUS_RELEASE_METRICS,
} from './private/contracts/training-bonus-release-env';
import { EscrowRelease } from './escrow-release';
import { AGENT_ID, AGENT_ID_RULE, SAGEMAKER_NAME_RULE, isSageMakerNamePrefix } from './private/patterns';
import { sageMakerArn, sageMakerNameInArn } from './private/sagemaker-arns';
import { checkTemplate, placeholderPattern } from './private/templates';
import { SERVICES_AGENT_ID, checkEscrowTimeout, isServicesAgentId } from './private/services-escrow';
import {
  CONNECTION_KIND,
  ESCROW_RELEASE_KIND,
  isConnection,
  isEscrowRelease,
  checkSameRegistryLedger,
  isModelAgents,
  MODEL_AGENTS_KIND,
} from './private/prop-kinds';
import type { ModelAgents } from './model-agents';
import { givenProps, PropsValidator, isToken } from './private/validation';
import { newWildcardPolicy } from './private/wildcard-policy';
import { PurpleFleaApiProfile } from './purpleflea-api';
import { PurpleFleaConnection } from './purpleflea-connection';
import { checkConnectionRegion } from './private/regions';

/** Props of a {@link TrainingBonusEscrow}. */
export interface TrainingBonusEscrowProps {
  /** How to reach Purple Flea and the action ledger. */
  readonly connection: PurpleFleaConnection;

  /**
   * Only training jobs whose name starts with this get a bonus. The rule matches it case-sensitively;
   * the function may describe only the training jobs it names (its IAM policy uses it in lower case,
   * as SageMaker writes names in ARNs). A token is used as it is: give it in lower case.
   * @default - every training job in the account and region
   */
  readonly trainingJobNamePrefix?: string;

  /**
   * The final metric that decides the bonus: an entry of the job's `FinalMetricDataList`.
   * @default 'validation:accuracy'
   */
  readonly metricName?: string;

  /**
   * Whether a higher (accuracy) or a lower (loss) metric is better.
   * @default MetricGoal.MAXIMIZE
   */
  readonly metricGoal?: MetricGoal;

  /**
   * The bonus tiers: a job earns the amount of the best tier whose threshold its metric strictly beats,
   * and nothing below every tier. Thresholds must be distinct; amounts positive and at most `maxBonusUsdc`.
   * @default - above 0.90 → 50 USDC, above 0.80 → 20 USDC, above 0.70 → 5 USDC (TrainingBonusEscrow.DEFAULT_BONUS_TIERS)
   */
  readonly bonusTiers?: BonusTier[];

  /**
   * A hard cap on any one bonus, in USDC: no tier may exceed it, and the function checks it again.
   * @default 1000
   */
  readonly maxBonusUsdc?: number;

  /**
   * The escrow's buyer: the agent that pays the bonus. The gateway only: on the services profile the buyer is
   * always the agent of the connection's key, and giving `buyerAgentId` is an error.
   * @default 'agt_platform_treasury'
   */
  readonly buyerAgentId?: string;

  /**
   * A training-job tag whose value is the seller's agent id (the model owner who gets the bonus).
   * A job without the tag gets the seller from `sellerTemplate`.
   * @default - the seller comes from `sellerTemplate`
   */
  readonly sellerTagKey?: string;

  /**
   * The seller's agent id, from the placeholders `{jobName}`, `{metricName}` and `{metricValue}`. On the
   * services profile it must render an `ag_` id of the casino registry, which the default cannot: there, give
   * `sellerAgentId` or an `ag_` template.
   * @default 'agt_model_{jobName}'
   */
  readonly sellerTemplate?: string;

  /**
   * The seller of every bonus, one agent id, in place of `sellerTemplate` (a job's `sellerTagKey` tag still
   * names its own seller). On the services profile it must be an `ag_` id of the casino registry: the
   * escrow service refuses others.
   * @default - the seller comes from `sellerTemplate`
   */
  readonly sellerAgentId?: string;

  /**
   * The seller is the model version's agent, from this ModelAgents registry (give ModelAgents the same training jobs):
   * the agent registered for the training job (a job's `sellerTagKey` tag still names its own seller). A bonus whose
   * agent is not registered yet waits: the invocation fails and is retried (ModelAgents registers on the same event),
   * then the event is kept in the dead-letter queue. In place of `sellerAgentId` and `sellerTemplate`; the services
   * profile only, as ModelAgents.
   * @default - the seller comes from `sellerTemplate`
   */
  readonly sellerFrom?: ModelAgents;

  /**
   * The services profile only: how long an escrow waits for its release, a whole number of hours from 1 hour
   * to 30 days. When it passes, an escrow that was not released is refunded to its creator (the agent of the
   * connection's key) less the escrow service's 1 % commission, and the seller gets nothing: a bonus waits for
   * the owner's approval, hence the longest the service allows. The gateway's escrow has no timeout.
   * @default Duration.days(30)
   */
  readonly escrowTimeout?: Duration;

  /**
   * The escrow's release condition, from the placeholders `{jobName}`, `{metricName}` and `{metricValue}`.
   * @default 'model_owner_approved:{jobName}'
   */
  readonly conditionTemplate?: string;

  /**
   * The bus that gets a `Purple Flea Escrow Created` event (source `purpleflea.sagemaker`) after each
   * escrow, to wire the release or a notification to.
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;

  /**
   * When the escrow is released: `EscrowRelease.onModelApproval({ modelPackageGroupName })` or
   * `EscrowRelease.onLifecycleStage({ stage: 'Production', ... })`. A second function, on SageMaker's model
   * package state changes, finds the package's training job and releases the escrow created for it, once; it puts
   * a `Purple Flea Escrow Released` event on `eventBus`. `dryRun` and `enabled` apply to it too.
   * @default - nothing releases the escrows: each waits for a release by hand (on the services profile, its timeout
   *   refunds the creator)
   */
  readonly release?: EscrowRelease;

  /**
   * Decide, log and report, but never create an escrow.
   * @default false
   */
  readonly dryRun?: boolean;

  /**
   * When false, the rule is created disabled and the handler creates no escrow even if invoked.
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Overrides for the function: memory, timeout, VPC placement, reserved concurrency... The construct
   * sets its code, handler, runtime (see `runtime`), role, log group, async retries (2), event age (6 hours) and failure
   * destination, and its own environment variables; giving any of those here is an error.
   * @default - 256 MB, 90 s, arm64, active tracing
   */
  readonly functionOptions?: lambda.FunctionOptions;

  /**
   * The Lambda runtime of the construct's functions: a Node.js runtime, Node.js 22 or newer (the handler
   * bundles are built for Node.js 22). Give one to pin a major, e.g. to move to a new one on your own schedule.
   * @default - the newest Node.js runtime your app's aws-cdk-lib names (`lambda.Runtime.NODEJS_<n>_X`), chosen at
   * synth, which is the latest runtime cdk-nag's AwsSolutions-L1 expects
   */
  readonly runtime?: lambda.Runtime;

  /**
   * Every alarm of the construct notifies this topic when it fires and when it clears (an alarm
   * action and an OK action).
   * @default - no actions: add your own to the public alarm properties
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * Locks a bonus in a Purple Flea escrow when a SageMaker training job completes with a final metric
 * that beats a bonus tier, exactly once per training job.
 *
 * A rule on the default bus matches `SageMaker Training Job State Change` events with status
 * `Completed` (and the name prefix, if given). The function describes the job, reads `metricName`
 * from its final metrics, maps it to a bonus through `bonusTiers`, and creates an escrow from
 * `buyerAgentId` to the seller (a job tag, or `sellerTemplate`) under `conditionTemplate`, keyed in
 * the action ledger by the training job's ARN, so a repeated event never escrows twice. After each
 * escrow it puts a `Purple Flea Escrow Created` event on `eventBus`.
 */
export class TrainingBonusEscrow extends Construct implements IMonitoredMoneyAction {
  /** The default bonus tiers, as in the user's story: above 0.90 → 50 USDC, above 0.80 → 20 USDC, above 0.70 → 5 USDC. */
  public static readonly DEFAULT_BONUS_TIERS: BonusTier[] = TRAINING_BONUS_ESCROW_DEFAULTS.bonusTiers as BonusTier[];

  /** The function that describes the job and creates the escrow. */
  public readonly lambdaFunction: lambda.Function;
  /** The rule that matches completed training jobs. */
  public readonly rule: events.Rule;
  /** Failed deliveries, from the rule target and from the function's async invocations. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The function's log group. */
  public readonly logGroup: logs.ILogGroup;
  /** Fires on any function error in 5 minutes. */
  public readonly errorsAlarm: cloudwatch.Alarm;
  /** Fires on any escrow whose outcome is unknown (it may have been created): an operator must check it. */
  public readonly unknownOutcomesAlarm: cloudwatch.Alarm;
  /** Fires when a delivery lands in the dead-letter queue. */
  public readonly deadLetterQueueAlarm: cloudwatch.Alarm;
  /** The bus that gets the `Purple Flea Escrow Created` events. */
  public readonly eventBus: events.IEventBus;
  /** The function that releases escrows, when `release` is given. */
  public readonly releaseFunction?: lambda.Function;
  /** The rule that matches the model package state changes that release, when `release` is given. */
  public readonly releaseRule?: events.Rule;
  /** Failed deliveries of the release's signals, when `release` is given. */
  public readonly releaseDeadLetterQueue?: sqs.Queue;
  /** Fires on any release whose outcome is unknown (it may have been released), when `release` is given. */
  public readonly unknownReleasesAlarm?: cloudwatch.Alarm;
  private readonly bonusRelease?: BonusRelease;

  constructor(scope: Construct, id: string, props: TrainingBonusEscrowProps) {
    super(scope, id);
    validate(id, props);
    checkConnectionRegion(this, 'TrainingBonusEscrow', id, props.connection);

    const enabled = props.enabled ?? TRAINING_BONUS_ESCROW_DEFAULTS.enabled;
    const prefix = props.trainingJobNamePrefix;
    const services = props.connection.api.profile === PurpleFleaApiProfile.SERVICES;
    const escrowTimeout = props.escrowTimeout ?? Duration.days(TRAINING_BONUS_ESCROW_DEFAULTS.escrowTimeoutDays);
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.deadLetterQueue = newDeadLetterQueue(this);

    const handler = new HandlerFunction(this, 'Handler', {
      assetName: 'training-bonus-escrow',
      description: 'TrainingBonusEscrow: a completed SageMaker training job that beats its bar gets an escrowed Purple Flea bonus',
      logRetention: props.logRetention ?? logs.RetentionDays[TRAINING_BONUS_ESCROW_DEFAULTS.logRetention],
      functionOptions: props.functionOptions,
      runtime: props.runtime,
      environment: handlerEnvironment(
        TRAINING_BONUS_ESCROW_METRICS,
        props.connection,
        trainingBonusEscrowEnvironment(
          {
            metricName: props.metricName ?? TRAINING_BONUS_ESCROW_DEFAULTS.metricName,
            metricGoal: METRIC_GOAL_NAMES[props.metricGoal ?? MetricGoal[TRAINING_BONUS_ESCROW_DEFAULTS.metricGoal]],
            bonusTiers: props.bonusTiers ?? TrainingBonusEscrow.DEFAULT_BONUS_TIERS,
            maxBonusUsdc: props.maxBonusUsdc ?? TRAINING_BONUS_ESCROW_DEFAULTS.maxBonusUsdc,
            buyerAgentId: props.buyerAgentId ?? TRAINING_BONUS_ESCROW_DEFAULTS.buyerAgentId,
            sellerTagKey: props.sellerTagKey,
            // One seller for every job is a template without placeholders: it renders itself, on either profile.
            sellerTemplate: props.sellerAgentId ?? props.sellerTemplate ?? TRAINING_BONUS_ESCROW_DEFAULTS.sellerTemplate,
            sellerFromRegistry: props.sellerFrom !== undefined,
            conditionTemplate: props.conditionTemplate ?? TRAINING_BONUS_ESCROW_DEFAULTS.conditionTemplate,
            // PutEvents takes a bus's name or ARN; the ARN also names a bus in another account.
            eventBusName: this.eventBus.eventBusArn,
            dryRun: props.dryRun ?? TRAINING_BONUS_ESCROW_DEFAULTS.dryRun,
            enabled,
            // Only the services profile's escrow has a timeout.
            services: services ? { escrowTimeoutHours: escrowTimeout.toHours() } : undefined,
          },
          numberInTemplate(this),
        ),
      ),
      // Retrying is safe (the ledger makes a repeat harmless) and helps a throttled or failing DescribeTrainingJob.
      retryAttempts: HANDLER_RETRY_ATTEMPTS,
      maxEventAge: HANDLER_MAX_EVENT_AGE,
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });
    this.lambdaFunction = handler;
    this.logGroup = handler.handlerLogGroup;

    this.allowDescribeTrainingJobs(handler, prefix);
    this.eventBus.grantPutEventsTo(handler);
    // Its escrows' records, no other construct's.
    grantActionAccess(props.connection, handler, CONSTRUCT_ACTION_KINDS.trainingBonusEscrow);
    // The model agents' registry, read-only, when the seller comes from it.
    props.sellerFrom?.grantReadRegistry(handler);

    this.rule = new events.Rule(this, 'Rule', {
      description: 'Runs TrainingBonusEscrow: a completed SageMaker training job that beats its bar gets an escrowed Purple Flea bonus',
      enabled,
      eventPattern: {
        source: [TRAINING_JOB_STATE_CHANGE.source],
        detailType: [TRAINING_JOB_STATE_CHANGE.detailType],
        // Filtered here, not in the function: other states and other jobs never invoke it.
        detail: {
          TrainingJobStatus: [TRAINING_JOB_STATE_CHANGE.completedStatus],
          ...(prefix !== undefined ? { TrainingJobName: events.Match.prefix(prefix) } : {}),
        },
      },
    });
    this.rule.addTarget(
      // The whole event: the function needs the job's name, ARN and tags from its detail.
      new targets.LambdaFunction(handler, {
        deadLetterQueue: this.deadLetterQueue,
        // A bonus is not time-critical: EventBridge may keep retrying a failed delivery for its full day.
        maxEventAge: RULE_TARGET_MAX_EVENT_AGE,
        retryAttempts: RULE_TARGET_RETRY_ATTEMPTS,
      }),
    );

    const alarms = newHandlerAlarms(this, {
      handler,
      deadLetterQueue: this.deadLetterQueue,
      unknownOutcomesMetric: {
        namespace: TRAINING_BONUS_ESCROW_METRICS.namespace,
        metricName: TRAINING_BONUS_ESCROW_METRICS.escrowsUnknown,
        serviceName: TRAINING_BONUS_ESCROW_METRICS.serviceName,
        functionNameDimension: TRAINING_BONUS_ESCROW_METRICS.functionNameDimension,
      },
      descriptions: {
        errors: 'TrainingBonusEscrow: the function failed at least once in 5 minutes.',
        unknownOutcomes:
          'TrainingBonusEscrow: an escrow may or may not have been created (timeout, 5xx, lost connection). ' +
          'It is never re-sent automatically: check the ledger records in state UNKNOWN with Purple Flea.',
        deadLetterQueue: 'TrainingBonusEscrow: a completed training job could not be handled; its event is in the dead-letter queue.',
      },
      alarmTopic: props.alarmTopic,
    });
    this.errorsAlarm = alarms.errorsAlarm;
    this.unknownOutcomesAlarm = alarms.unknownOutcomesAlarm;
    this.deadLetterQueueAlarm = alarms.deadLetterQueueAlarm;

    if (props.release !== undefined) {
      this.bonusRelease = new BonusRelease(this, 'Release', {
        connection: props.connection,
        release: props.release,
        eventBus: this.eventBus,
        dryRun: props.dryRun ?? TRAINING_BONUS_ESCROW_DEFAULTS.dryRun,
        enabled,
        logRetention: props.logRetention ?? logs.RetentionDays[TRAINING_BONUS_ESCROW_DEFAULTS.logRetention],
        functionOptions: props.functionOptions,
        runtime: props.runtime,
        alarmTopic: props.alarmTopic,
      });
      this.releaseFunction = this.bonusRelease.lambdaFunction;
      this.releaseRule = this.bonusRelease.rule;
      this.releaseDeadLetterQueue = this.bonusRelease.deadLetterQueue;
      this.unknownReleasesAlarm = this.bonusRelease.unknownReleasesAlarm;
    }
  }

  /** What a `PurpleFleaDashboard` shows of this construct: its metrics, its function and its dead-letter queue. */
  public monitoring(): MoneyActionMonitoring {
    return moneyActionMonitoring({
      kind: 'TrainingBonusEscrow',
      actionName: 'escrows',
      metrics: TRAINING_BONUS_ESCROW_METRICS,
      outcomes: TRAINING_BONUS_ESCROW_OUTCOME_METRICS,
      sageMakerLatency: TRAINING_BONUS_ESCROW_METRICS.describeLatency,
      actingFunction: this.lambdaFunction,
      functions: this.releaseFunction === undefined ? [this.lambdaFunction] : [this.lambdaFunction, this.releaseFunction],
      deadLetterQueue: this.deadLetterQueue,
      releases:
        this.releaseFunction === undefined
          ? undefined
          : escrowReleaseMonitoring(TRAINING_BONUS_RELEASE_METRICS, TRAINING_BONUS_RELEASE_DASHBOARD_METRICS, this.releaseFunction),
    });
  }

  /**
   * `sagemaker:DescribeTrainingJob` on the training jobs the rule can match. Their names are known only
   * when they complete, so the resource ends in a wildcard; it sits in a policy of its own, whose
   * acknowledgment names that one resource, so that it cannot hide a wildcard a user adds to the role.
   */
  private allowDescribeTrainingJobs(handler: HandlerFunction, prefix: string | undefined): void {
    newWildcardPolicy(this, 'HandlerDescribeTrainingJob', {
      role: handler.handlerRole,
      // In place before the function can run.
      dependent: handler,
      statements: [
        {
          actions: ['sagemaker:DescribeTrainingJob'],
          resources: [sageMakerArn(this, 'training-job', `${sageMakerNameInArn(prefix ?? '')}*`)],
          reason:
            'DescribeTrainingJob on the training jobs the rule matches, whose names are known only when they complete: ' +
            (prefix !== undefined
              ? 'those whose name starts with trainingJobNamePrefix (in lower case, as SageMaker writes ARNs).'
              : 'every training job, as no trainingJobNamePrefix is given.'),
        },
      ],
    });
  }
}

/** Lambda's async retries of a failed invocation (its maximum), within the event age (its maximum, 6 hours). */
const HANDLER_RETRY_ATTEMPTS = 2;
const HANDLER_MAX_EVENT_AGE = Duration.hours(6);
/** EventBridge's maxima: a failed delivery (a throttled invoke) is retried up to 185 times over 24 hours. */
const RULE_TARGET_RETRY_ATTEMPTS = 185;
const RULE_TARGET_MAX_EVENT_AGE = Duration.hours(24);

const METRIC_GOAL_NAMES: { readonly [goal in MetricGoal]: MetricGoalName } = {
  [MetricGoal.MAXIMIZE]: 'MAXIMIZE',
  [MetricGoal.MINIMIZE]: 'MINIMIZE',
};

/** The environment variables the construct sets; the user's `functionOptions.environment` may not. */
/** The construct's own variables, of both its functions: `functionOptions.environment` may not set them. */
const CONSTRUCT_ENVIRONMENT = [
  ...new Set([...constructEnvironmentNames(TRAINING_BONUS_ESCROW_ENV), ...Object.values(TRAINING_BONUS_RELEASE_ENV)]),
];

/** AWS's limit on a tag key's length. */
const MAX_TAG_KEY_LENGTH = 128;

function validate(id: string, given: TrainingBonusEscrowProps | undefined): void {
  const props = givenProps(given);
  const v = new PropsValidator('TrainingBonusEscrow', id);

  // Required: the checks below may read it.
  v.required('connection', props.connection).instance('connection', props.connection, isConnection, CONNECTION_KIND);

  // Which jobs, and the metric that decides.
  v.string(
    'trainingJobNamePrefix',
    props.trainingJobNamePrefix,
    isSageMakerNamePrefix,
    `must be a non-empty start of a training job name, which ${SAGEMAKER_NAME_RULE}`,
  );
  v.string('metricName', props.metricName, (m: string) => m.length > 0, 'must not be empty');

  // Money guardrails.
  v.number('maxBonusUsdc', props.maxBonusUsdc, { min: 0, minExclusive: true });
  checkBonusTiers(v, props);

  // Who pays, who gets it, on what condition.
  v.matches('buyerAgentId', props.buyerAgentId, AGENT_ID, AGENT_ID_RULE);
  v.string(
    'sellerTagKey',
    props.sellerTagKey,
    (k: string) => k.length > 0 && k.length <= MAX_TAG_KEY_LENGTH,
    `must be a tag key of 1 to ${MAX_TAG_KEY_LENGTH} characters`,
  );
  const sellerTemplateValid = checkTemplate(v, 'sellerTemplate', props.sellerTemplate, ESCROW_TEMPLATE_PLACEHOLDERS);
  if (sellerTemplateValid) {
    // Placeholders as a one-character value: the smallest agent id this template can render.
    v.check(
      'sellerTemplate',
      props.sellerTemplate,
      (t: string) => AGENT_ID.test(t.replace(PLACEHOLDER, 'a')),
      `must render a Purple Flea agent id (^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$) once its placeholders are filled`,
    );
  }
  v.matches('sellerAgentId', props.sellerAgentId, AGENT_ID, AGENT_ID_RULE);
  v.notBoth('sellerAgentId', props.sellerAgentId, 'sellerTemplate', props.sellerTemplate, 'give one seller, or a template for each job');
  v.instance('sellerFrom', props.sellerFrom, isModelAgents, MODEL_AGENTS_KIND);
  checkSameRegistryLedger(v, 'sellerFrom', props.sellerFrom, props.connection);
  v.notBoth('sellerFrom', props.sellerFrom, 'sellerAgentId', props.sellerAgentId, "give one seller, or the model agents' registry");
  v.notBoth(
    'sellerFrom',
    props.sellerFrom,
    'sellerTemplate',
    props.sellerTemplate,
    "give a template for each job, or the model agents' registry",
  );
  checkTemplate(v, 'conditionTemplate', props.conditionTemplate, ESCROW_TEMPLATE_PLACEHOLDERS);
  if (isConnection(props.connection) && props.connection.api.profile === PurpleFleaApiProfile.SERVICES) {
    checkServicesEscrow(v, props, sellerTemplateValid);
  }
  checkEscrowTimeout(v, props.escrowTimeout);
  v.instance('release', props.release, isEscrowRelease, ESCROW_RELEASE_KIND);

  // Function settings the construct must own.
  checkFunctionOptions(
    v,
    props.functionOptions,
    {
      environment: CONSTRUCT_ENVIRONMENT,
      retryAttemptsWhy: `the construct retries a failed invocation ${HANDLER_RETRY_ATTEMPTS} times (the ledger makes a repeat harmless)`,
      maxEventAgeWhy: `the construct keeps an event for ${HANDLER_MAX_EVENT_AGE.toHumanString()}`,
    },
    props.runtime,
  );
  v.throwIfInvalid();
}

/**
 * On the services profile the escrow service names the buyer (the key's agent) and takes only `ag_` ids of the
 * casino registry as the counterparty: the gateway's buyer and its default seller template cannot work there.
 */
function checkServicesEscrow(v: PropsValidator, props: TrainingBonusEscrowProps, sellerTemplateValid: boolean): void {
  v.notAllowed('buyerAgentId', props.buyerAgentId, "on the services profile the buyer is always the agent of the connection's key");
  if (props.sellerAgentId === undefined && props.sellerTemplate === undefined && props.sellerFrom === undefined) {
    v.fail(
      `sellerAgentId, sellerTemplate or sellerFrom must be given on the services profile: the default seller template ${JSON.stringify(TRAINING_BONUS_ESCROW_DEFAULTS.sellerTemplate)} ` +
        'renders agt_ ids, and the escrow service takes only ag_ ids of the casino registry',
    );
  }
  v.check('sellerAgentId', props.sellerAgentId, isServicesAgentId, `must be ${SERVICES_AGENT_ID}`);
  if (sellerTemplateValid) {
    // Placeholders as a one-character value, as for the agent id rule above.
    v.check(
      'sellerTemplate',
      props.sellerTemplate,
      (t: string) => isServicesAgentId(t.replace(PLACEHOLDER, 'a')),
      `must render ${SERVICES_AGENT_ID}`,
    );
  }
}

/** At least one tier; finite, distinct thresholds; amounts in (0, maxBonusUsdc]. Token values are skipped. */
function checkBonusTiers(v: PropsValidator, props: TrainingBonusEscrowProps): void {
  const maxBonus = props.maxBonusUsdc ?? TRAINING_BONUS_ESCROW_DEFAULTS.maxBonusUsdc;
  const maxBonusKnown = !isToken(maxBonus) && Number.isFinite(maxBonus) && maxBonus > 0;
  const tiers = props.bonusTiers;

  if (tiers === undefined) {
    // The default tiers must fit under a given cap.
    const largest = Math.max(...TrainingBonusEscrow.DEFAULT_BONUS_TIERS.map((t) => t.amountUsdc));
    if (maxBonusKnown) {
      v.check(
        'maxBonusUsdc',
        props.maxBonusUsdc,
        (m: number) => !(m < largest),
        `must be at least the default bonus tiers' largest amount (${largest})`,
      );
    }
    return;
  }
  if (isToken(tiers)) return;
  if (!Array.isArray(tiers)) {
    v.list('bonusTiers', tiers, 'bonus tiers ({ threshold, amountUsdc })');
    return;
  }
  if (tiers.length === 0) {
    v.fail('bonusTiers must hold at least one tier, got []');
    return;
  }

  const firstWith = new Map<number, number>();
  tiers.forEach((tier, index) => {
    const at = `bonusTiers[${index}]`;
    if (typeof tier !== 'object' || tier === null) {
      v.fail(`${at} must be a bonus tier ({ threshold, amountUsdc }), got ${JSON.stringify(tier)}`);
      return;
    }
    v.required(`${at}.threshold`, tier.threshold).required(`${at}.amountUsdc`, tier.amountUsdc);
    v.number(`${at}.threshold`, tier.threshold);
    if (!isToken(tier.threshold) && Number.isFinite(tier.threshold)) {
      const first = firstWith.get(tier.threshold);
      if (first === undefined) {
        firstWith.set(tier.threshold, index);
      } else {
        v.fail(`${at}.threshold must differ from every other tier's, got ${tier.threshold} (the threshold of bonusTiers[${first}] too)`);
      }
    }
    v.number(`${at}.amountUsdc`, tier.amountUsdc, { min: 0, minExclusive: true });
    if (maxBonusKnown) {
      v.check(
        `${at}.amountUsdc`,
        tier.amountUsdc,
        (a: number) => typeof a !== 'number' || !(a > maxBonus),
        `must be at most maxBonusUsdc (${maxBonus})`,
      );
    }
  });
}

/** A `{placeholder}` the handler fills. */
const PLACEHOLDER = placeholderPattern(ESCROW_TEMPLATE_PLACEHOLDERS);
