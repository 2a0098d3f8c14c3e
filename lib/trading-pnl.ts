import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ALARM_PERIOD } from './private/alarms';
import { TRADING_PNL_METRICS } from './private/contracts/trading-pnl-env';
import { TRADING_PNL_DEFAULTS } from './private/defaults';
import { constructEnvironmentNames, handlerEnvironment } from './private/handler-environment';
import { checkFunctionOptions, HandlerFunction } from './private/handler-function';
import { handlerMetric } from './private/handler-metrics';
import { grantTradingKeyRead } from './private/ledger-access';
import { CONNECTION_KIND, isConnection } from './private/prop-kinds';
import { givenProps, PropsValidator } from './private/validation';
import { PurpleFleaApiProfile } from './purpleflea-api';
import { PurpleFleaConnection } from './purpleflea-connection';

/** Props of a {@link TradingPnl}. */
export interface TradingPnlProps {
  /**
   * How to reach Purple Flea. It must speak the services profile (`PurpleFleaApi.services()`): the gateway documents no
   * P&L route. The function reads with the connection's trading key.
   */
  readonly connection: PurpleFleaConnection;

  /**
   * When to read the P&L and the positions and put the metrics.
   * @default - every 15 minutes
   */
  readonly schedule?: events.Schedule;

  /**
   * Alarm when today's (UTC) net P&L (`DailyNetPnlUsdc`: realized P&L minus fees) falls below minus this many USDC.
   * @default - no daily-loss alarm
   */
  readonly dailyLossAlarmUsdc?: number;

  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Overrides for the function: memory, timeout, VPC placement... The construct sets its code, handler, runtime (see
   * `runtime`), role, log group, async retries (0) and its own environment variables; giving any of those here is an error.
   * @default - 256 MB, 90 s, arm64, active tracing
   */
  readonly functionOptions?: lambda.FunctionOptions;

  /**
   * The Lambda runtime of the construct's function: a Node.js runtime, Node.js 22 or newer (the handler
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
 * The trading agent's P&L in CloudWatch, on Purple Flea's published services: on a schedule (every 15 minutes by
 * default) a function reads `GET /v1/trade/pnl-history` and `GET /v1/trade/positions` with the connection's trading key
 * and puts net P&L, fees, win rate (over the service's 30-day window), today's net P&L, open positions and unrealized
 * P&L as EMF metrics (namespace `PurpleFlea/SageMaker`, service `trading-pnl`). It only reads: no money moves, and it
 * has no access to the ledger. A failed read puts no figure at all and fails the invocation (the errors alarm).
 *
 * Show it on a `PurpleFleaDashboard` with `addTradingPnl`, or use the public metrics in widgets and alarms of your own.
 */
export class TradingPnl extends Construct {
  /** The default schedule: every 15 minutes. */
  public static readonly DEFAULT_SCHEDULE_RATE = Duration.minutes(TRADING_PNL_DEFAULTS.scheduleRateMinutes);

  /** The function that reads the P&L and puts the metrics. */
  public readonly lambdaFunction: lambda.Function;
  /** The schedule's rule. */
  public readonly rule: events.Rule;
  /** The function's log group. */
  public readonly logGroup: logs.ILogGroup;
  /** Realized P&L minus fees over the last 30 days, in USDC (the latest figure over 5 minutes). */
  public readonly netPnlMetric: cloudwatch.Metric;
  /** Fees over the last 30 days, in USDC. */
  public readonly feesMetric: cloudwatch.Metric;
  /** Winning trades over the last 30 days, in percent. */
  public readonly winRateMetric: cloudwatch.Metric;
  /** Today's (UTC) realized P&L minus today's fees, in USDC. */
  public readonly dailyNetPnlMetric: cloudwatch.Metric;
  /** Positions open now. */
  public readonly openPositionsMetric: cloudwatch.Metric;
  /** Unrealized P&L of the open positions now, in USDC. */
  public readonly unrealizedPnlMetric: cloudwatch.Metric;
  /** Fires on any function error in 5 minutes (a failed read: no figure was put). */
  public readonly errorsAlarm: cloudwatch.Alarm;
  /** Fires when today's net P&L is below minus `dailyLossAlarmUsdc`, when it is given. */
  public readonly dailyLossAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: TradingPnlProps) {
    super(scope, id);
    validate(id, props);

    const handler = new HandlerFunction(this, 'Handler', {
      assetName: 'trading-pnl',
      description: "TradingPnl: the trading agent's P&L and open positions, read from Purple Flea, as CloudWatch metrics",
      logRetention: props.logRetention ?? logs.RetentionDays[TRADING_PNL_DEFAULTS.logRetention],
      functionOptions: props.functionOptions,
      runtime: props.runtime,
      // It reads with the trading key: it is told where the key is, as the functions that trade are.
      environment: handlerEnvironment(TRADING_PNL_METRICS, props.connection, {}, { trades: true }),
      // A failed read is not retried: the next scheduled run reads the figures as they are then.
      retryAttempts: 0,
    });
    this.lambdaFunction = handler;
    this.logGroup = handler.handlerLogGroup;
    // The trading key's secret only: no ledger, no casino key (when the trading key has a secret of its own).
    grantTradingKeyRead(props.connection, handler);

    this.rule = new events.Rule(this, 'Schedule', {
      description: "Runs TradingPnl: reads the trading agent's P&L and positions into CloudWatch metrics",
      schedule: props.schedule ?? events.Schedule.rate(TradingPnl.DEFAULT_SCHEDULE_RATE),
    });
    this.rule.addTarget(new targets.LambdaFunction(handler, { retryAttempts: 0 }));

    // Figures, not counts: the latest one of each period.
    const metric = (name: string) =>
      handlerMetric(TRADING_PNL_METRICS, handler, name, { period: ALARM_PERIOD, statistic: cloudwatch.Stats.MAXIMUM });
    this.netPnlMetric = metric(TRADING_PNL_METRICS.netPnl);
    this.feesMetric = metric(TRADING_PNL_METRICS.fees);
    this.winRateMetric = metric(TRADING_PNL_METRICS.winRate);
    this.dailyNetPnlMetric = metric(TRADING_PNL_METRICS.dailyNetPnl);
    this.openPositionsMetric = metric(TRADING_PNL_METRICS.openPositions);
    this.unrealizedPnlMetric = metric(TRADING_PNL_METRICS.unrealizedPnl);

    this.errorsAlarm = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription: 'TradingPnl: the P&L or the positions could not be read (no figure was put for that run).',
      metric: handler.metricErrors({ period: ALARM_PERIOD, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.dailyLossAlarmUsdc !== undefined) {
      this.dailyLossAlarm = new cloudwatch.Alarm(this, 'DailyLossAlarm', {
        alarmDescription: `TradingPnl: today's (UTC) net P&L is below -${props.dailyLossAlarmUsdc} USDC.`,
        // The lowest figure of the hour: a loss seen by any run of the hour fires it.
        metric: this.dailyNetPnlMetric.with({ statistic: cloudwatch.Stats.MINIMUM, period: Duration.hours(1) }),
        threshold: -props.dailyLossAlarmUsdc,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    if (props.alarmTopic !== undefined) {
      const action = new cloudwatchActions.SnsAction(props.alarmTopic);
      for (const alarm of [this.errorsAlarm, ...(this.dailyLossAlarm ? [this.dailyLossAlarm] : [])]) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }
}

/** The construct's own variables: `functionOptions.environment` may not set them. */
const CONSTRUCT_ENVIRONMENT = constructEnvironmentNames({});

function validate(id: string, given: TradingPnlProps | undefined): void {
  const props = givenProps(given);
  const v = new PropsValidator('TradingPnl', id);
  v.required('connection', props.connection).instance('connection', props.connection, isConnection, CONNECTION_KIND);
  if (isConnection(props.connection) && props.connection.api.profile !== PurpleFleaApiProfile.SERVICES) {
    v.fail(
      'connection must speak the services profile (api: PurpleFleaApi.services()): the P&L is read from the trading service ' +
        '(GET /v1/trade/pnl-history), and the gateway documents no P&L route',
    );
  }
  // A plain number: the alarm's threshold is its negative.
  v.number('dailyLossAlarmUsdc', props.dailyLossAlarmUsdc, { min: 0, minExclusive: true });
  checkFunctionOptions(
    v,
    props.functionOptions,
    {
      environment: CONSTRUCT_ENVIRONMENT,
      retryAttemptsWhy: 'a failed read is not retried: the next scheduled run reads again',
      maxEventAgeWhy: 'a failed read is not retried: the next scheduled run reads again',
      onFailureWhy: 'a failed read is not retried: the next scheduled run reads again, and the errors alarm fires',
    },
    props.runtime,
  );
  v.throwIfInvalid();
}
