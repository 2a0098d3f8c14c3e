import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** The period every alarm looks at. */
export const ALARM_PERIOD = Duration.minutes(5);

/** Fires on the first occurrence in a 5-minute period; no data is not a breach. */
const ALARM_ON_ANY = {
  threshold: 1,
  evaluationPeriods: 1,
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
} as const;

/** The EMF metric a handler emits for each action whose outcome is UNKNOWN, and its dimensions. */
export interface UnknownOutcomesMetric {
  readonly namespace: string;
  readonly metricName: string;
  /** Powertools' `service` dimension. */
  readonly serviceName: string;
  /** The dimension holding the function's name, so each construct's alarm sees only its own function. */
  readonly functionNameDimension: string;
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
  const { handler, deadLetterQueue, unknownOutcomesMetric, descriptions } = props;
  return {
    errorsAlarm: new cloudwatch.Alarm(scope, 'ErrorsAlarm', {
      alarmDescription: descriptions.errors,
      metric: handler.metricErrors({ period: ALARM_PERIOD, statistic: cloudwatch.Stats.SUM }),
      ...ALARM_ON_ANY,
    }),
    unknownOutcomesAlarm: newUnknownOutcomesAlarm(scope, handler, unknownOutcomesMetric, descriptions.unknownOutcomes),
    deadLetterQueueAlarm: newDeadLetterQueueAlarm(scope, deadLetterQueue, descriptions.deadLetterQueue),
  };
}

/** `<scope>/UnknownOutcomesAlarm`: any action of `handler` whose outcome is unknown, in 5 minutes. */
export function newUnknownOutcomesAlarm(
  scope: Construct,
  handler: lambda.IFunction,
  unknown: UnknownOutcomesMetric,
  description: string,
): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, 'UnknownOutcomesAlarm', {
    alarmDescription: description,
    metric: new cloudwatch.Metric({
      namespace: unknown.namespace,
      metricName: unknown.metricName,
      dimensionsMap: {
        service: unknown.serviceName,
        [unknown.functionNameDimension]: handler.functionName,
      },
      statistic: cloudwatch.Stats.SUM,
      period: ALARM_PERIOD,
    }),
    ...ALARM_ON_ANY,
  });
}

/** `<scope>/DeadLetterQueueAlarm`: any message in the dead-letter queue, in 5 minutes. */
export function newDeadLetterQueueAlarm(scope: Construct, deadLetterQueue: sqs.IQueue, description: string): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, 'DeadLetterQueueAlarm', {
    alarmDescription: description,
    metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: ALARM_PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
    ...ALARM_ON_ANY,
  });
}

/** `<scope>/<id>`: fires when `metric` (a 5-minute sum) reaches 1; no data is not a breach. */
export function newAlarmOnAny(scope: Construct, id: string, metric: cloudwatch.IMetric, description: string): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, id, { alarmDescription: description, metric, ...ALARM_ON_ANY });
}
