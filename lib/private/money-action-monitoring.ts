import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { OutcomeMetricNames } from './contracts/outcome-metrics';
import { HandlerMetricSource, handlerMetric } from './handler-metrics';
import type { EscrowReleaseMonitoring, MoneyActionMonitoring } from '../monitored-money-action';

export interface MonitoringSource {
  readonly kind: string;
  readonly actionName: string;
  /** The contract's namespace and dimensions. */
  readonly metrics: HandlerMetricSource & { readonly apiLatency: string };
  /** The contract's mapping of outcomes to metric names. */
  readonly outcomes: OutcomeMetricNames;
  /** The contract's name of the SageMaker call's latency, if the handler emits one. */
  readonly sageMakerLatency?: string;
  /** The function that takes the actions, whose name the metrics carry. */
  readonly actingFunction: lambda.IFunction;
  readonly functions: lambda.IFunction[];
  readonly deadLetterQueue?: sqs.IQueue;
  readonly stateMachine?: sfn.IStateMachine;
  readonly releases?: EscrowReleaseMonitoring;
}

const SUM = { statistic: cloudwatch.Stats.SUM };
const P99 = { statistic: cloudwatch.Stats.p(99) };

/** A construct's {@link MoneyActionMonitoring}, its metric names all from its contract. */
export function moneyActionMonitoring(source: MonitoringSource): MoneyActionMonitoring {
  const metric = (name: string, options: cloudwatch.MetricOptions) => handlerMetric(source.metrics, source.actingFunction, name, options);
  const { outcomes } = source;
  return {
    kind: source.kind,
    actionName: source.actionName,
    actionsSucceeded: metric(outcomes.succeeded, SUM),
    actionsSkipped: metric(outcomes.skipped, SUM),
    actionsInvalid: metric(outcomes.invalid, SUM),
    actionsRejected: metric(outcomes.rejected, SUM),
    actionsUnknown: metric(outcomes.unknown, SUM),
    amountUsdc: metric(outcomes.amount, SUM),
    apiLatency: metric(source.metrics.apiLatency, P99),
    sageMakerLatency: source.sageMakerLatency === undefined ? undefined : metric(source.sageMakerLatency, P99),
    functions: source.functions,
    deadLetterQueue: source.deadLetterQueue,
    stateMachine: source.stateMachine,
    releases: source.releases,
  };
}

/** The contract's names of a release function's metrics (e.g. TRAINING_BONUS_RELEASE_METRICS). */
export interface ReleaseMetricNames {
  readonly released: string;
  readonly alreadyReleased: string;
  readonly refused: string;
  readonly unknown: string;
  readonly waiting: string;
  readonly releasedUsdc: string;
}

/** The {@link EscrowReleaseMonitoring} of a release function, its metric names from its contract. */
export function escrowReleaseMonitoring(
  metrics: HandlerMetricSource,
  names: ReleaseMetricNames,
  releaseFunction: lambda.IFunction,
): EscrowReleaseMonitoring {
  const metric = (name: string) => handlerMetric(metrics, releaseFunction, name, SUM);
  return {
    released: metric(names.released),
    alreadyReleased: metric(names.alreadyReleased),
    refused: metric(names.refused),
    unknown: metric(names.unknown),
    waiting: metric(names.waiting),
    releasedUsdc: metric(names.releasedUsdc),
    function: releaseFunction,
  };
}
