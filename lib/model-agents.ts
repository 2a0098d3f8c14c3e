import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { IMonitoredMoneyAction, MoneyActionMonitoring } from './monitored-money-action';
import { newAlarmOnAny, newHandlerAlarms, ALARM_PERIOD } from './private/alarms';
import { ACTION_KINDS, CONSTRUCT_ACTION_KINDS } from './private/contracts/action-keys';
import { DOMAIN_NAME_RULE, domainNameProblem } from './private/contracts/domain-names';
import {
  MODEL_AGENT_DOMAIN_PLACEHOLDERS,
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
import { handlerMetric } from './private/handler-metrics';
import { grantActionAccess, grantLedgerRead, grantSecretRead } from './private/ledger-access';
import { moneyActionMonitoring } from './private/money-action-monitoring';
import { isSageMakerNamePrefix, SAGEMAKER_NAME, SAGEMAKER_NAME_RULE } from './private/patterns';
import { CONNECTION_KIND, isConnection, isSecret, SECRET_KIND } from './private/prop-kinds';
import { sageMakerNameInArn } from './private/sagemaker-arns';
import { checkTemplate } from './private/templates';
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
   * Also register a domain for each new agent, named by this template of the model version, e.g.
   * `{modelVersionName}.agents.example.com`: `{modelVersionName}` is the training job's name, or a model package's
   * `<group>-<version>`, in lower case. Registering costs money (the registrar's yearly price plus 20%), paid from the
   * USD balance of the domains account whose key is in `domainKeySecret` (the domains service has its own registry and
   * balance, so a new agent could not pay), once per domain (`v1:domain:<domain>`). Needs `domainKeySecret`.
   * @default - no domains
   */
  readonly domainName?: string;

  /**
   * The key of a funded Purple Flea domains account (`POST domains /v1/auth/register`, funded by a deposit there): its
   * `SecretString` is the key, or a JSON object with the key under `domainKeyField`. Only with `domainName`; the
   * function may read it only then.
   * @default - no domains
   */
  readonly domainKeySecret?: secretsmanager.ISecret;

  /**
   * The field of `domainKeySecret`'s JSON `SecretString` that holds the key (a string that is not JSON is the key itself).
   * @default 'key'
   */
  readonly domainKeyField?: string;

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
  /**
   * With `domainName`: fires on any domain registration whose outcome is unknown (it may have been registered and
   * charged): an operator checks the domains account.
   */
  public readonly unknownDomainRegistrationsAlarm?: cloudwatch.Alarm;
  /** The bus that gets the `Purple Flea Model Agent Registered` events. */
  public readonly eventBus: events.IEventBus;
  /** The start of every agent secret's name. */
  public readonly secretNamePrefix: string;
  /**
   * The table that holds the registry: the connection's ledger table, where each registration is recorded. A construct
   * that reads the registry (`sellerFrom`, `agentsFrom`) must use a connection with this ledger table.
   */
  public readonly registryTable: dynamodb.ITable;
  private readonly connection: PurpleFleaConnection;

  constructor(scope: Construct, id: string, props: ModelAgentsProps) {
    super(scope, id);
    validate(id, props);
    checkConnectionRegion(this, 'ModelAgents', id, props.connection);

    this.connection = props.connection;
    this.registryTable = props.connection.ledgerTable;
    const enabled = props.enabled ?? MODEL_AGENTS_DEFAULTS.enabled;
    const groups = props.modelPackageGroupName !== undefined || props.modelPackageGroupNamePrefix !== undefined;
    const trainingJobs = props.registerTrainingJobs ?? !groups;
    this.secretNamePrefix = props.secretNamePrefix ?? MODEL_AGENTS_DEFAULTS.secretNamePrefix;
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.deadLetterQueue = newDeadLetterQueue(this);
    const kmsKey = props.connection.apiKeySecret.encryptionKey;
    const domainKeySecret = props.domainName !== undefined ? props.domainKeySecret : undefined;

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
          domain:
            domainKeySecret === undefined
              ? undefined
              : {
                  nameTemplate: props.domainName!,
                  domainsUrl: props.connection.api.domainsUrl!,
                  keySecretArn: domainKeySecret.secretArn,
                  keyField: props.domainKeyField ?? MODEL_AGENTS_DEFAULTS.domainKeyField,
                },
        }),
      ),
      // Retrying is safe: the ledger makes a repeat harmless, and the secret is found by its name.
      retryAttempts: HANDLER_RETRY_ATTEMPTS,
      maxEventAge: HANDLER_MAX_EVENT_AGE,
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });
    this.lambdaFunction = handler;
    this.logGroup = handler.handlerLogGroup;

    // Its registrations' and faucet claims' records (and its domains', with domainName), no other construct's (and the
    // connection's key, which the client reads).
    grantActionAccess(props.connection, handler, [
      ...CONSTRUCT_ACTION_KINDS.modelAgents,
      ...(domainKeySecret === undefined ? [] : CONSTRUCT_ACTION_KINDS.modelAgentDomains),
    ]);
    // The domains account's key: read only when there are domains to register.
    if (domainKeySecret !== undefined) grantSecretRead(domainKeySecret, handler);
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
    if (domainKeySecret !== undefined) {
      this.unknownDomainRegistrationsAlarm = newAlarmOnAny(
        this,
        'UnknownDomainRegistrationsAlarm',
        handlerMetric(MODEL_AGENTS_METRICS, handler, MODEL_AGENTS_METRICS.domainRegistrationsUnknown, {
          statistic: cloudwatch.Stats.SUM,
          period: ALARM_PERIOD,
        }),
        'ModelAgents: a domain registration may have happened (and been charged) without an answer that says so (a lost answer ' +
          'not found in GET /v1/domains, or a 5xx such as registration_failed). It is never sent again: check the ledger records ' +
          "v1:domain:... in state UNKNOWN against the domains account's domains.",
        props.alarmTopic,
      );
    }
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
  checkDomain(v, props);
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

/** `domainName` and `domainKeySecret` together or not at all; the template renders a domain for any model version. */
function checkDomain(v: PropsValidator, props: ModelAgentsProps): void {
  const why = 'a domain is registered with a funded domains account (domainKeySecret) under the name domainName gives';
  if (props.domainName !== undefined && props.domainKeySecret === undefined) v.fail(`domainName needs domainKeySecret: ${why}`);
  if (props.domainKeySecret !== undefined && props.domainName === undefined) v.fail(`domainKeySecret needs domainName: ${why}`);
  if (props.domainKeyField !== undefined && props.domainKeySecret === undefined) v.fail('domainKeyField needs domainKeySecret');
  v.instance('domainKeySecret', props.domainKeySecret, isSecret, SECRET_KIND);
  v.string('domainKeyField', props.domainKeyField, (field: string) => field.length > 0, 'must not be empty');
  if (!v.isOfType('domainName', props.domainName, 'string')) return;
  if (!checkTemplate(v, 'domainName', props.domainName, MODEL_AGENT_DOMAIN_PLACEHOLDERS)) return;
  const template = props.domainName!;
  if (!template.includes('{modelVersionName}')) {
    v.fail(`domainName must use {modelVersionName}, so that each model version gets a domain of its own, got ${JSON.stringify(template)}`);
    return;
  }
  // A one-character name: what every model version's name renders at least (a longer one may still be too long).
  const smallest = template
    .replace(/\{modelVersionName\}/g, 'a')
    .trim()
    .toLowerCase();
  if (domainNameProblem(smallest) !== undefined) v.fail(`domainName must render ${DOMAIN_NAME_RULE}, got ${JSON.stringify(template)}`);
}
