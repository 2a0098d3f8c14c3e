import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { HandlerMetricSource, handlerMetric } from './handler-metrics';

/** The period every alarm looks at. */
export const ALARM_PERIOD = Duration.minutes(5);

/** Fires on the first occurrence in a 5-minute period; no data is not a breach. */
const ALARM_ON_ANY = {
  threshold: 1,
  evaluationPeriods: 1,
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
} as const;

/**
 * Every alarm of the library is made here: `<scope>/<id>`, firing on `metric` (a 5-minute figure)
 * reaching 1, no data not a breach. With `alarmTopic`, the alarm notifies it when it fires and when it
 * clears; without, it has no actions (the user adds their own to the public alarm properties).
 */
function newAlarm(
  scope: Construct,
  id: string,
  metric: cloudwatch.IMetric,
  description: string,
  alarmTopic?: sns.ITopic,
): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, { alarmDescription: description, metric, ...ALARM_ON_ANY });
  if (alarmTopic !== undefined) {
    const action = new cloudwatchActions.SnsAction(alarmTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
  return alarm;
}

/** The EMF metric a handler emits for each action whose outcome is UNKNOWN, and its dimensions. */
export interface UnknownOutcomesMetric extends HandlerMetricSource {
  readonly metricName: string;
}

export interface HandlerAlarmsProps {
  readonly handler: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  readonly unknownOutcomesMetric: UnknownOutcomesMetric;
  readonly descriptions: {
    readonly errors: string;
    readonly unknownOutcomes: string;
    readonly deadLetterQueue: string;
  };
  /** Notified when an alarm fires and when it clears; none if undefined. */
  readonly alarmTopic?: sns.ITopic;
}

export interface HandlerAlarms {
  readonly errorsAlarm: cloudwatch.Alarm;
  readonly unknownOutcomesAlarm: cloudwatch.Alarm;
  readonly deadLetterQueueAlarm: cloudwatch.Alarm;
}

/**
 * The three alarms of every single-action construct, as `<scope>/ErrorsAlarm`,
 * `<scope>/UnknownOutcomesAlarm` and `<scope>/DeadLetterQueueAlarm`: any function error, any action
 * whose outcome is unknown, any message in the dead-letter queue, in 5 minutes.
 */
export function newHandlerAlarms(scope: Construct, props: HandlerAlarmsProps): HandlerAlarms {
  const { handler, deadLetterQueue, unknownOutcomesMetric, descriptions, alarmTopic } = props;
  return {
    errorsAlarm: newAlarm(
      scope,
      'ErrorsAlarm',
      handler.metricErrors({ period: ALARM_PERIOD, statistic: cloudwatch.Stats.SUM }),
      descriptions.errors,
      alarmTopic,
    ),
    unknownOutcomesAlarm: newUnknownOutcomesAlarm(scope, handler, unknownOutcomesMetric, descriptions.unknownOutcomes, alarmTopic),
    deadLetterQueueAlarm: newDeadLetterQueueAlarm(scope, deadLetterQueue, descriptions.deadLetterQueue, alarmTopic),
  };
}

/** `<scope>/UnknownOutcomesAlarm`: any action of `handler` whose outcome is unknown, in 5 minutes. */
export function newUnknownOutcomesAlarm(
  scope: Construct,
  handler: lambda.IFunction,
  unknown: UnknownOutcomesMetric,
  description: string,
  alarmTopic?: sns.ITopic,
): cloudwatch.Alarm {
  return newAlarm(
    scope,
    'UnknownOutcomesAlarm',
    handlerMetric(unknown, handler, unknown.metricName, { statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD }),
    description,
    alarmTopic,
  );
}

/** `<scope>/DeadLetterQueueAlarm`: any message in the dead-letter queue, in 5 minutes. */
export function newDeadLetterQueueAlarm(
  scope: Construct,
  deadLetterQueue: sqs.IQueue,
  description: string,
  alarmTopic?: sns.ITopic,
): cloudwatch.Alarm {
  return newAlarm(
    scope,
    'DeadLetterQueueAlarm',
    deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: ALARM_PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
    description,
    alarmTopic,
  );
}

/** `<scope>/<id>`: fires when `metric` (a 5-minute sum) reaches 1; no data is not a breach. */
export function newAlarmOnAny(
  scope: Construct,
  id: string,
  metric: cloudwatch.IMetric,
  description: string,
  alarmTopic?: sns.ITopic,
): cloudwatch.Alarm {
  return newAlarm(scope, id, metric, description, alarmTopic);
}
