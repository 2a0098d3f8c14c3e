import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { IMonitoredMoneyAction, MoneyActionMonitoring } from './monitored-money-action';
import { newHandlerAlarms } from './private/alarms';
import { ACTION_KINDS, CONSTRUCT_ACTION_KINDS } from './private/contracts/action-keys';
import {
  MODEL_AGENTS_ENV,
  MODEL_AGENTS_METRICS,
  MODEL_AGENTS_OUTCOME_METRICS,
  modelAgentsEnvironment,
} from './private/contracts/model-agents-env';
import { MODEL_PACKAGE_STATE_CHANGE } from './private/contracts/training-bonus-release-env';
import { TRAINING_JOB_STATE_CHANGE } from './private/contracts/training-bonus-escrow-env';
import { newDeadLetterQueue } from './private/dead-letter-queue';
import { MODEL_AGENTS_DEFAULTS } from './private/defaults';
import { constructEnvironmentNames, handlerEnvironment } from './private/handler-environment';
import { checkFunctionOptions, HandlerFunction } from './private/handler-function';
import { grantActionAccess, grantLedgerRead } from './private/ledger-access';
import { moneyActionMonitoring } from './private/money-action-monitoring';
import { isSageMakerNamePrefix, SAGEMAKER_NAME, SAGEMAKER_NAME_RULE } from './private/patterns';
import { CONNECTION_KIND, isConnection } from './private/prop-kinds';
import { sageMakerNameInArn } from './private/sagemaker-arns';
import { givenProps, isToken, PropsValidator } from './private/validation';
import { newWildcardPolicy } from './private/wildcard-policy';
import { PurpleFleaApiProfile } from './purpleflea-api';
import { PurpleFleaConnection } from './purpleflea-connection';
import { checkConnectionRegion } from './private/regions';

/** Props of a {@link ModelAgents}. */
export interface ModelAgentsProps {
  /**
   * How to reach Purple Flea and the action ledger. It must speak the services profile (`PurpleFleaApi.services()`):
   * the gateway documents no agent registration, no balance and no faucet.
   */
  readonly connection: PurpleFleaConnection;

  /**
   * Give every completed training job (whose name starts with `trainingJobNamePrefix`, when given) an agent.
   * @default - true, unless `modelPackageGroupName` or `modelPackageGroupNamePrefix` is given
   */
  readonly registerTrainingJobs?: boolean;

  /**
   * Only training jobs whose name starts with this get an agent (matched in the rule, case-sensitively).
   * @default - every completed training job in the account and region
   */
  readonly trainingJobNamePrefix?: string;

  /**
   * Give every model package of this group an agent, on the first state change SageMaker sends for it (its creation).
   * @default - no model packages (unless `modelPackageGroupNamePrefix`)
   */
  readonly modelPackageGroupName?: string;

  /**
   * Give every model package of the groups whose name starts with this an agent.
   * @default - no model packages (unless `modelPackageGroupName`)
   */
  readonly modelPackageGroupNamePrefix?: string;

  /**
   * The start of every agent secret's name: a model version's secret is `<prefix>training-job/<job name>` or
   * `<prefix>model-package/<group>/<version>` (names in lower case, as in SageMaker's ARNs). The function may create,
   * tag, describe, write and read secrets under this prefix only.
   * @default 'purpleflea/model-agents/'
   */
  readonly secretNamePrefix?: string;

  /**
   * Check each new agent's casino balance (with its own key) and, when the faucet's $1 is missing, claim it once.
   * @default true
   */
  readonly claimFaucet?: boolean;

  /**
   * The bus that gets a `Purple Flea Model Agent Registered` event (source `purpleflea.sagemaker`) once per agent,
   * with its agent id, its secret's ARN and the model version (never the key).
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;

  /**
   * Decide, log and report, but never create a secret or register an agent.
   * @default false
   */
  readonly dryRun?: boolean;

  /**
   * When false, the rules are created disabled and the handler registers nothing even if invoked.
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Overrides for the function: memory, timeout, VPC placement, reserved concurrency... The construct sets its code,
   * handler, runtime (see `runtime`), role, log group, async retries (2), event age (6 hours) and failure destination, and its own
   * environment variables; giving any of those here is an error.
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
   * Every alarm of the construct notifies this topic when it fires and when it clears.
   * @default - no actions: add your own to the public alarm properties
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * One Purple Flea identity per model version: a completed SageMaker training job, or a model package of a group, gets
 * its own agent in the casino registry (the services profile), exactly once (`v1:agent:<training job or model package
 * ARN>`), its API key in a secret of its own, and the faucet's $1 when it lacks it.
 *
 * The function creates the model version's secret first (empty, named from `secretNamePrefix` and the model version,
 * tagged with its ARN, encrypted with the connection's secret's KMS key if it has one), then registers the agent, puts
 * the key into the secret, and only then records the registration, without the key: the key is in no log, ledger
 * record, event or error. A lost answer is UNKNOWN (an orphan agent at worst, listed for the operator), never a second
 * registration. The registration's ledger record is the registry: model version → agent id and secret ARN, readable by
 * other functions (`grantReadRegistry`).
 */
export class ModelAgents extends Construct implements IMonitoredMoneyAction {
  /** The function that registers the agents. */
  public readonly lambdaFunction: lambda.Function;
  /** The rule on completed training jobs, when training jobs get agents. */
  public readonly trainingJobRule?: events.Rule;
  /** The rule on the watched groups' model package state changes, when model packages get agents. */
  public readonly modelPackageRule?: events.Rule;
  /** Failed deliveries, from the rules' targets and from the function's async invocations. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The function's log group. */
  public readonly logGroup: logs.ILogGroup;
  /** Fires on any function error in 5 minutes. */
  public readonly errorsAlarm: cloudwatch.Alarm;
  /** Fires on any registration whose outcome is unknown (an agent may exist whose key was not kept): an operator checks it. */
  public readonly unknownRegistrationsAlarm: cloudwatch.Alarm;
  /** Fires when a delivery lands in the dead-letter queue. */
  public readonly deadLetterQueueAlarm: cloudwatch.Alarm;
  /** The bus that gets the `Purple Flea Model Agent Registered` events. */
  public readonly eventBus: events.IEventBus;
  /** The start of every agent secret's name. */
  public readonly secretNamePrefix: string;
  private readonly connection: PurpleFleaConnection;

  constructor(scope: Construct, id: string, props: ModelAgentsProps) {
    super(scope, id);
    validate(id, props);
    checkConnectionRegion(this, 'ModelAgents', id, props.connection);

    this.connection = props.connection;
    const enabled = props.enabled ?? MODEL_AGENTS_DEFAULTS.enabled;
    const groups = props.modelPackageGroupName !== undefined || props.modelPackageGroupNamePrefix !== undefined;
    const trainingJobs = props.registerTrainingJobs ?? !groups;
    this.secretNamePrefix = props.secretNamePrefix ?? MODEL_AGENTS_DEFAULTS.secretNamePrefix;
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.deadLetterQueue = newDeadLetterQueue(this);
    const kmsKey = props.connection.apiKeySecret.encryptionKey;

    const handler = new HandlerFunction(this, 'Handler', {
      assetName: 'model-agents',
      description: 'ModelAgents: each new SageMaker model version gets its own Purple Flea agent, its key in its own secret',
      logRetention: props.logRetention ?? logs.RetentionDays[MODEL_AGENTS_DEFAULTS.logRetention],
      functionOptions: props.functionOptions,
      runtime: props.runtime,
      environment: handlerEnvironment(
        MODEL_AGENTS_METRICS,
        props.connection,
        modelAgentsEnvironment({
          trainingJobs,
          trainingJobNamePrefix: props.trainingJobNamePrefix,
          modelPackageGroupName: props.modelPackageGroupName,
          modelPackageGroupNamePrefix: props.modelPackageGroupNamePrefix,
          secretNamePrefix: this.secretNamePrefix,
          secretKmsKeyId: kmsKey?.keyArn,
          claimFaucet: props.claimFaucet ?? MODEL_AGENTS_DEFAULTS.claimFaucet,
          eventBusName: this.eventBus.eventBusArn,
          dryRun: props.dryRun ?? MODEL_AGENTS_DEFAULTS.dryRun,
          enabled,
        }),
      ),
      // Retrying is safe: the ledger makes a repeat harmless, and the secret is found by its name.
      retryAttempts: HANDLER_RETRY_ATTEMPTS,
      maxEventAge: HANDLER_MAX_EVENT_AGE,
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });
    this.lambdaFunction = handler;
    this.logGroup = handler.handlerLogGroup;

    // Its registrations' and faucet claims' records, no other construct's (and the connection's key, which the client reads).
    grantActionAccess(props.connection, handler, CONSTRUCT_ACTION_KINDS.modelAgents);
    this.eventBus.grantPutEventsTo(handler);
    this.allowAgentSecrets(handler);

    const target = () =>
      new targets.LambdaFunction(handler, {
        deadLetterQueue: this.deadLetterQueue,
        maxEventAge: RULE_TARGET_MAX_EVENT_AGE,
        retryAttempts: RULE_TARGET_RETRY_ATTEMPTS,
      });
    if (trainingJobs) {
      const prefix = props.trainingJobNamePrefix;
      this.trainingJobRule = new events.Rule(this, 'TrainingJobRule', {
        description: 'Runs ModelAgents: a completed SageMaker training job gets its own Purple Flea agent',
        enabled,
        eventPattern: {
          source: [TRAINING_JOB_STATE_CHANGE.source],
          detailType: [TRAINING_JOB_STATE_CHANGE.detailType],
          detail: {
            TrainingJobStatus: [TRAINING_JOB_STATE_CHANGE.completedStatus],
            ...(prefix !== undefined ? { TrainingJobName: events.Match.prefix(prefix) } : {}),
          },
        },
      });
      this.trainingJobRule.addTarget(target());
    }
    if (groups) {
      const group =
        props.modelPackageGroupName !== undefined ? [props.modelPackageGroupName] : events.Match.prefix(props.modelPackageGroupNamePrefix!);
      this.modelPackageRule = new events.Rule(this, 'ModelPackageRule', {
        description: 'Runs ModelAgents: a new model package of the group gets its own Purple Flea agent (the first change seen registers)',
        enabled,
        eventPattern: {
          source: [MODEL_PACKAGE_STATE_CHANGE.source],
          detailType: [MODEL_PACKAGE_STATE_CHANGE.detailType],
          detail: { ModelPackageGroupName: group },
        },
      });
      this.modelPackageRule.addTarget(target());
    }

    const alarms = newHandlerAlarms(this, {
      handler,
      deadLetterQueue: this.deadLetterQueue,
      unknownOutcomesMetric: {
        namespace: MODEL_AGENTS_METRICS.namespace,
        metricName: MODEL_AGENTS_METRICS.registrationsUnknown,
        serviceName: MODEL_AGENTS_METRICS.serviceName,
        functionNameDimension: MODEL_AGENTS_METRICS.functionNameDimension,
      },
      descriptions: {
        errors:
          'ModelAgents: the function failed at least once in 5 minutes (a secret could not be created, or the event could not be put).',
        unknownOutcomes:
          'ModelAgents: an agent may have been registered whose key was not kept (a lost answer, or a secret that could not be written). ' +
          'It is never registered again: check the ledger records v1:agent:... in state UNKNOWN (an orphan agent at worst).',
        deadLetterQueue: 'ModelAgents: a model version could not be handled; its event is in the dead-letter queue.',
      },
      alarmTopic: props.alarmTopic,
    });
    this.errorsAlarm = alarms.errorsAlarm;
    this.unknownRegistrationsAlarm = alarms.unknownOutcomesAlarm;
    this.deadLetterQueueAlarm = alarms.deadLetterQueueAlarm;
  }

  /**
   * Lets `grantee` read the registry: model version → agent id and secret ARN (GetItem on the ledger's `v1:agent:`
   * records only, never a write; the ledger's key to decrypt, if it has one). Read it with `agentOf` in the library's
   * lambda/shared/model-agents.ts.
   */
  public grantReadRegistry(grantee: iam.IGrantable): iam.Grant {
    return grantLedgerRead(this.connection, grantee, [ACTION_KINDS.agent]);
  }

  /**
   * Lets `grantee` read every agent's key (GetSecretValue and DescribeSecret on the secrets under `secretNamePrefix`,
   * and decrypt them with the connection's secret's KMS key, if it has one).
   */
  public grantReadAgentKeys(grantee: iam.IGrantable): iam.Grant {
    return this.grantReadSecrets(grantee, `${this.secretNamePrefix}*`);
  }

  /** Lets `grantee` read the key of one training job's agent (the secret `<secretNamePrefix>training-job/<job name>`). */
  public grantReadTrainingJobAgentKey(grantee: iam.IGrantable, trainingJobName: string): iam.Grant {
    return this.grantReadSecrets(grantee, `${this.secretNamePrefix}training-job/${sageMakerNameInArn(trainingJobName)}-??????`);
  }

  /** Lets `grantee` read the keys of the agents of one model package group's versions. */
  public grantReadModelPackageAgentKeys(grantee: iam.IGrantable, modelPackageGroupName: string): iam.Grant {
    return this.grantReadSecrets(grantee, `${this.secretNamePrefix}model-package/${sageMakerNameInArn(modelPackageGroupName)}/*`);
  }

  /** What a `PurpleFleaDashboard` shows of this construct: registrations by outcome, the function and its dead-letter queue. */
  public monitoring(): MoneyActionMonitoring {
    return moneyActionMonitoring({
      kind: 'ModelAgents',
      actionName: 'agents',
      metrics: MODEL_AGENTS_METRICS,
      outcomes: MODEL_AGENTS_OUTCOME_METRICS,
      actingFunction: this.lambdaFunction,
      functions: [this.lambdaFunction],
      deadLetterQueue: this.deadLetterQueue,
    });
  }

  private grantReadSecrets(grantee: iam.IGrantable, namePattern: string): iam.Grant {
    let grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resourceArns: [this.secretArnPattern(namePattern)],
    });
    const key = this.connection.apiKeySecret.encryptionKey;
    if (key !== undefined) {
      grant = grant.combine(
        iam.Grant.addToPrincipal({
          grantee,
          actions: ['kms:Decrypt'],
          resourceArns: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
    return grant;
  }

  private secretArnPattern(namePattern: string): string {
    return Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: namePattern,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /**
   * The agents' secrets, under the prefix only: create them (with their tag), describe one found by its name, put the
   * key, read it back for the balance. Their names are known only when a model version appears, so the resource ends
   * in a wildcard, in a policy of its own.
   */
  private allowAgentSecrets(handler: HandlerFunction): void {
    const secrets = this.secretArnPattern(`${this.secretNamePrefix}*`);
    const key = this.connection.apiKeySecret.encryptionKey;
    newWildcardPolicy(this, 'HandlerAgentSecrets', {
      role: handler.handlerRole,
      dependent: handler,
      statements: [
        {
          actions: [
            'secretsmanager:CreateSecret',
            'secretsmanager:TagResource',
            'secretsmanager:DescribeSecret',
            'secretsmanager:PutSecretValue',
            'secretsmanager:GetSecretValue',
          ],
          resources: [secrets],
          reason:
            "The agents' secrets, one per model version, named when the version appears: only those under secretNamePrefix " +
            '(created with their model version tag, described when found again, written once with the key, read for the balance).',
        },
      ],
    });
    if (key !== undefined) {
      // Secrets Manager encrypts the new secrets with the connection's key: through Secrets Manager only.
      handler.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
  }
}

/** Lambda's async retries of a failed invocation (its maximum), within the event age (its maximum, 6 hours). */
const HANDLER_RETRY_ATTEMPTS = 2;
const HANDLER_MAX_EVENT_AGE = Duration.hours(6);
/** EventBridge's maxima: a failed delivery (a throttled invoke) is retried up to 185 times over 24 hours. */
const RULE_TARGET_RETRY_ATTEMPTS = 185;
const RULE_TARGET_MAX_EVENT_AGE = Duration.hours(24);

/** The construct's own variables: `functionOptions.environment` may not set them. */
const CONSTRUCT_ENVIRONMENT = constructEnvironmentNames(MODEL_AGENTS_ENV);

/** Secrets Manager's characters for a name; the rest of the name is the model version's. */
const SECRET_NAME_PREFIX = /^[A-Za-z0-9/_+=.@-]{1,256}$/;

function validate(id: string, given: ModelAgentsProps | undefined): void {
  const props = givenProps(given);
  const v = new PropsValidator('ModelAgents', id);
  v.required('connection', props.connection).instance('connection', props.connection, isConnection, CONNECTION_KIND);
  if (isConnection(props.connection) && props.connection.api.profile !== PurpleFleaApiProfile.SERVICES) {
    v.fail(
      'connection must speak the services profile (api: PurpleFleaApi.services()): agents are registered in the casino registry, ' +
        'and the gateway documents no registration, no balance and no faucet',
    );
  }
  v.string(
    'trainingJobNamePrefix',
    props.trainingJobNamePrefix,
    isSageMakerNamePrefix,
    `must be a non-empty start of a training job name, which ${SAGEMAKER_NAME_RULE}`,
  );
  v.matches('modelPackageGroupName', props.modelPackageGroupName, SAGEMAKER_NAME, SAGEMAKER_NAME_RULE)
    .string(
      'modelPackageGroupNamePrefix',
      props.modelPackageGroupNamePrefix,
      isSageMakerNamePrefix,
      `${SAGEMAKER_NAME_RULE} (as the start of a name)`,
    )
    .notBoth('modelPackageGroupName', props.modelPackageGroupName, 'modelPackageGroupNamePrefix', props.modelPackageGroupNamePrefix);
  const groups = props.modelPackageGroupName !== undefined || props.modelPackageGroupNamePrefix !== undefined;
  if (props.registerTrainingJobs === false && !groups) {
    v.fail(
      'registerTrainingJobs is false and no modelPackageGroupName or modelPackageGroupNamePrefix is given: nothing would get an agent',
    );
  }
  if (props.registerTrainingJobs === false && props.trainingJobNamePrefix !== undefined) {
    v.fail('trainingJobNamePrefix cannot be given with registerTrainingJobs: false');
  }
  v.string(
    'secretNamePrefix',
    props.secretNamePrefix,
    (prefix: string) => SECRET_NAME_PREFIX.test(prefix) && !prefix.includes('*') && !isToken(prefix),
    "must be 1 to 256 of Secrets Manager's name characters (letters, digits and /_+=.@-)",
  );
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
