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
import type { EscrowRelease } from '../escrow-release';
import type { PurpleFleaConnection } from '../purpleflea-connection';
import { newHandlerAlarms } from './alarms';
import { ACTION_KINDS, CONSTRUCT_ACTION_KINDS } from './contracts/action-keys';
import {
  MODEL_PACKAGE_STATE_CHANGE,
  ReleaseTrigger,
  TRAINING_BONUS_RELEASE_METRICS,
  trainingBonusReleaseEnvironment,
} from './contracts/training-bonus-release-env';
import { newDeadLetterQueue } from './dead-letter-queue';
import { handlerEnvironment } from './handler-environment';
import { HandlerFunction } from './handler-function';
import { grantActionAccess, grantLedgerRead } from './ledger-access';
import { sageMakerArn, sageMakerNameInArn } from './sagemaker-arns';
import { newWildcardPolicy } from './wildcard-policy';

export interface BonusReleaseProps {
  readonly connection: PurpleFleaConnection;
  readonly release: EscrowRelease;
  /** Gets `Purple Flea Escrow Released`. */
  readonly eventBus: events.IEventBus;
  readonly dryRun: boolean;
  readonly enabled: boolean;
  readonly logRetention: logs.RetentionDays;
  readonly functionOptions?: lambda.FunctionOptions;
  readonly runtime?: lambda.Runtime;
  readonly alarmTopic?: sns.ITopic;
}

/** Lambda's async retries, and how long an event is kept: a release waiting for its escrow's creation to be resolved fails until then. */
const RELEASE_RETRY_ATTEMPTS = 2;
const RELEASE_MAX_EVENT_AGE = Duration.hours(6);
/** EventBridge's maxima: a failed delivery (a throttled invoke) is retried up to 185 times over 24 hours. */
const RULE_TARGET_RETRY_ATTEMPTS = 185;
const RULE_TARGET_MAX_EVENT_AGE = Duration.hours(24);

/**
 * TrainingBonusEscrow's release (`release` prop): a rule on SageMaker's model package state changes of the
 * release's group, the function that releases the escrow once (lambda/training-bonus-release), its dead-letter
 * queue and alarms. IAM: DescribeModelPackage on the group's packages, the ledger's escrow records read-only and its
 * release records, the bus.
 */
export class BonusRelease extends Construct {
  public readonly lambdaFunction: HandlerFunction;
  public readonly rule: events.Rule;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly errorsAlarm: cloudwatch.Alarm;
  public readonly unknownReleasesAlarm: cloudwatch.Alarm;
  public readonly deadLetterQueueAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: BonusReleaseProps) {
    super(scope, id);
    const { release } = props;
    const trigger = release.trigger as ReleaseTrigger;
    this.deadLetterQueue = newDeadLetterQueue(this);

    const handler = new HandlerFunction(this, 'Handler', {
      assetName: 'training-bonus-release',
      description: 'TrainingBonusEscrow release: an approved model package releases the bonus escrowed for its training job, once',
      logRetention: props.logRetention,
      functionOptions: props.functionOptions,
      runtime: props.runtime,
      environment: handlerEnvironment(
        TRAINING_BONUS_RELEASE_METRICS,
        props.connection,
        trainingBonusReleaseEnvironment({
          trigger,
          stage: release.stage,
          modelPackageGroupName: release.modelPackageGroupName,
          modelPackageGroupNamePrefix: release.modelPackageGroupNamePrefix,
          trainingJobMetadataKey: release.trainingJobMetadataKey,
          eventBusName: props.eventBus.eventBusArn,
          dryRun: props.dryRun,
          enabled: props.enabled,
        }),
      ),
      retryAttempts: RELEASE_RETRY_ATTEMPTS,
      maxEventAge: RELEASE_MAX_EVENT_AGE,
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });
    this.lambdaFunction = handler;

    this.allowDescribeModelPackages(handler, release);
    props.eventBus.grantPutEventsTo(handler);
    // Its releases' records, and its escrows' records read-only: it never changes how an escrow's creation ended.
    grantActionAccess(props.connection, handler, CONSTRUCT_ACTION_KINDS.trainingBonusRelease);
    grantLedgerRead(props.connection, handler, [ACTION_KINDS.escrow]);

    const group =
      release.modelPackageGroupName !== undefined
        ? [release.modelPackageGroupName]
        : events.Match.prefix(release.modelPackageGroupNamePrefix!);
    this.rule = new events.Rule(this, 'Rule', {
      description: `Runs TrainingBonusEscrow's release: a model package ${trigger === 'approval' ? 'approved' : `in lifecycle stage ${release.stage}`} releases its job's bonus`,
      enabled: props.enabled,
      eventPattern: {
        source: [MODEL_PACKAGE_STATE_CHANGE.source],
        detailType: [MODEL_PACKAGE_STATE_CHANGE.detailType],
        // The event carries the approval, not the lifecycle stage: a stage is read by the function.
        detail: {
          ModelPackageGroupName: group,
          ...(trigger === 'approval' ? { ModelApprovalStatus: [MODEL_PACKAGE_STATE_CHANGE.approvedStatus] } : {}),
        },
      },
    });
    this.rule.addTarget(
      new targets.LambdaFunction(handler, {
        deadLetterQueue: this.deadLetterQueue,
        maxEventAge: RULE_TARGET_MAX_EVENT_AGE,
        retryAttempts: RULE_TARGET_RETRY_ATTEMPTS,
      }),
    );

    const alarms = newHandlerAlarms(this, {
      handler,
      deadLetterQueue: this.deadLetterQueue,
      unknownOutcomesMetric: {
        namespace: TRAINING_BONUS_RELEASE_METRICS.namespace,
        metricName: TRAINING_BONUS_RELEASE_METRICS.releasesUnknown,
        serviceName: TRAINING_BONUS_RELEASE_METRICS.serviceName,
        functionNameDimension: TRAINING_BONUS_RELEASE_METRICS.functionNameDimension,
      },
      descriptions: {
        errors:
          "TrainingBonusEscrow release: the function failed at least once in 5 minutes (an approval whose escrow's creation is UNKNOWN fails until it is resolved).",
        unknownOutcomes:
          'TrainingBonusEscrow release: an escrow may or may not have been released (timeout, 5xx, lost connection). It is never re-sent ' +
          'automatically: check the ledger records v1:release:... in state UNKNOWN with Purple Flea (GET /escrow/{id}).',
        deadLetterQueue:
          "TrainingBonusEscrow release: an approval could not be handled (often: its escrow's creation is UNKNOWN); resolve it, then redrive the queue.",
      },
      alarmTopic: props.alarmTopic,
    });
    this.errorsAlarm = alarms.errorsAlarm;
    this.unknownReleasesAlarm = alarms.unknownOutcomesAlarm;
    this.deadLetterQueueAlarm = alarms.deadLetterQueueAlarm;
  }

  /**
   * `sagemaker:DescribeModelPackage` on the packages of the release's group (or groups with its prefix). Package
   * versions are known only when they are created, so the resource ends in a wildcard, in a policy of its own.
   */
  private allowDescribeModelPackages(handler: HandlerFunction, release: EscrowRelease): void {
    const resourceName =
      release.modelPackageGroupName !== undefined
        ? `${sageMakerNameInArn(release.modelPackageGroupName)}/*`
        : `${sageMakerNameInArn(release.modelPackageGroupNamePrefix!)}*`;
    newWildcardPolicy(this, 'HandlerDescribeModelPackage', {
      role: handler.handlerRole,
      dependent: handler,
      statements: [
        {
          actions: ['sagemaker:DescribeModelPackage'],
          resources: [sageMakerArn(this, 'model-package', resourceName)],
          reason:
            'DescribeModelPackage on the versions of the packages the rule matches, known only when they are created: ' +
            (release.modelPackageGroupName !== undefined
              ? 'those of modelPackageGroupName (in lower case, as SageMaker writes ARNs).'
              : 'those of the groups whose name starts with modelPackageGroupNamePrefix (in lower case).'),
        },
      ],
    });
  }
}
