import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { IConstruct } from 'constructs';

/**
 * What a dashboard shows of a construct that moves money: the metrics its handler emits, its functions,
 * its dead-letter queue and state machine.
 *
 * The metrics are the handler's EMF metrics with the exact namespace and dimensions it emits them
 * under, a 5-minute period, the sum for counts and amounts and p99 for latencies; use `metric.with()`
 * for another statistic or period.
 */
export interface MoneyActionMonitoring {
  /** The construct's kind, e.g. `PredictToTrade`. */
  readonly kind: string;

  /** What one action is called, in the plural: `orders`, `escrows`, `payouts`, `holds`. */
  readonly actionName: string;

  /** Actions that moved money (the ledger's `SUCCEEDED`), each counted once. */
  readonly actionsSucceeded: cloudwatch.Metric;

  /** Actions decided against (hold, below a threshold, dry run, disabled) and repeated deliveries. */
  readonly actionsSkipped: cloudwatch.Metric;

  /** Input that never became a call: a bad model output or row, an amount over a cap. */
  readonly actionsInvalid: cloudwatch.Metric;

  /** Actions Purple Flea definitely did not execute; a later delivery, rerun or redrive may send them. */
  readonly actionsRejected: cloudwatch.Metric;

  /** Actions that may or may not have taken effect: never re-sent, an operator must check them. */
  readonly actionsUnknown: cloudwatch.Metric;

  /** USDC moved by the succeeded actions. */
  readonly amountUsdc: cloudwatch.Metric;

  /** How long each Purple Flea request took, in milliseconds. */
  readonly apiLatency: cloudwatch.Metric;

  /**
   * How long the SageMaker call each action starts with took (InvokeEndpoint, DescribeTrainingJob), in
   * milliseconds.
   * @default - none: the construct's actions start with no SageMaker call
   */
  readonly sageMakerLatency?: cloudwatch.Metric;

  /** Every function of the construct. */
  readonly functions: lambda.IFunction[];

  /**
   * Where failed deliveries go.
   * @default - none: the construct has no trigger that delivers to one
   */
  readonly deadLetterQueue?: sqs.IQueue;

  /**
   * The workflow of a batch construct.
   * @default - none
   */
  readonly stateMachine?: sfn.IStateMachine;

  /**
   * The releases of the escrows the construct created, when it releases them (a bonus on model approval, a hold
   * on a cleared review).
   * @default - none: the construct releases nothing
   */
  readonly releases?: EscrowReleaseMonitoring;
}

/**
 * What a dashboard shows of the releases of a construct's escrows: the release function's EMF metrics (sums over
 * 5 minutes, like the actions').
 */
export interface EscrowReleaseMonitoring {
  /** Escrows released (the ledger's `SUCCEEDED`), each counted once; the already released among them too. */
  readonly released: cloudwatch.Metric;

  /** Of the released: found released already (an earlier attempt whose answer was lost, or by hand), read back after a 409. */
  readonly alreadyReleased: cloudwatch.Metric;

  /** Releases refused: the escrow was refunded at its timeout, disputed, or unknown to Purple Flea. */
  readonly refused: cloudwatch.Metric;

  /** Releases that may or may not have taken effect: never re-sent, an operator must check them. */
  readonly unknown: cloudwatch.Metric;

  /** Signals whose escrow's creation is not settled (UNKNOWN or in progress): retried, never guessed. */
  readonly waiting: cloudwatch.Metric;

  /** USDC released (the escrows' amounts, before Purple Flea's commission). */
  readonly releasedUsdc: cloudwatch.Metric;

  /** The release function. */
  readonly function: lambda.IFunction;
}

/**
 * A construct that moves money and can be shown on a `PurpleFleaDashboard`. `PredictToTrade`,
 * `TrainingBonusEscrow`, `BatchPayout` and `FraudHoldEscrow` implement it; so can a construct of yours.
 */
export interface IMonitoredMoneyAction extends IConstruct {
  /** What a dashboard shows of this construct. */
  monitoring(): MoneyActionMonitoring;
}
