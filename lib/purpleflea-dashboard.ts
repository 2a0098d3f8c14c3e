import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { EscrowReleaseMonitoring, IMonitoredMoneyAction, MoneyActionMonitoring } from './monitored-money-action';
import { PURPLEFLEA_DASHBOARD_DEFAULTS } from './private/defaults';
import { TradingPnl } from './trading-pnl';
import { isMonitored, MONITORED_KIND } from './private/prop-kinds';
import { givenProps, PropsValidator } from './private/validation';

/** Props of a {@link PurpleFleaDashboard}. */
export interface PurpleFleaDashboardProps {
  /**
   * The dashboard's name: letters, digits, `-` and `_`, at most 255 characters.
   * @default - a name CloudFormation generates
   */
  readonly dashboardName?: string;

  /**
   * The constructs to show, one section each, in this order. Add more with `addMonitored`; the
   * dashboard must show at least one by synthesis.
   * @default - none yet
   */
  readonly monitored?: IMonitoredMoneyAction[];

  /**
   * How much time one point of a graph covers: a whole number of minutes, from 1 minute to 1 day.
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
}

/**
 * A CloudWatch dashboard of what the money-moving constructs did: for each construct, its actions by
 * outcome (succeeded, skipped, invalid, rejected, unknown) and the USDC they moved, over the
 * dashboard's time range and as graphs; the latency of Purple Flea requests and of the SageMaker
 * call, p50 and p99; its functions' errors; its dead-letter queue's depth; and a batch construct's
 * runs, succeeded and failed.
 *
 * Any construct implementing {@link IMonitoredMoneyAction} can be shown: `PredictToTrade`,
 * `TrainingBonusEscrow`, `BatchPayout`, `FraudHoldEscrow`, or one of yours.
 */
export class PurpleFleaDashboard extends Construct {
  /** The default period of the graphs: 5 minutes. */
  public static readonly DEFAULT_PERIOD = Duration.minutes(PURPLEFLEA_DASHBOARD_DEFAULTS.periodMinutes);

  /** The dashboard: add your own widgets to it. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** The dashboard's name, given or generated. */
  public readonly dashboardName: string;

  private readonly period: Duration;
  private readonly shown: IMonitoredMoneyAction[] = [];
  private readonly pnlShown: TradingPnl[] = [];

  constructor(scope: Construct, id: string, props: PurpleFleaDashboardProps = {}) {
    super(scope, id);
    validate(id, props);
    this.period = props.period ?? PurpleFleaDashboard.DEFAULT_PERIOD;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName });
    // A dashboard's Ref is its name.
    this.dashboardName = (this.dashboard.node.defaultChild as cloudwatch.CfnDashboard).ref;
    for (const monitored of props.monitored ?? []) this.addMonitored(monitored);
    // Checked at synthesis: addMonitored may come after the constructor.
    this.node.addValidation({
      validate: () =>
        this.shown.length === 0 && this.pnlShown.length === 0
          ? [
              `PurpleFleaDashboard '${id}': monitored is empty: give at least one construct in monitored, or call addMonitored (or addTradingPnl)`,
            ]
          : [],
    });
  }

  /** Adds a section for `monitored` below the ones already shown. */
  public addMonitored(monitored: IMonitoredMoneyAction): void {
    new PropsValidator('PurpleFleaDashboard', this.node.id)
      .required('addMonitored(monitored)', monitored)
      .instance('addMonitored(monitored)', monitored, isMonitored, MONITORED_KIND)
      .throwIfInvalid();
    if (this.shown.includes(monitored)) {
      throw new Error(`PurpleFleaDashboard '${this.node.id}': ${monitored.node.path} is shown already`);
    }
    this.shown.push(monitored);
    for (const row of sectionRows(monitored.node.path, monitored.monitoring(), this.period)) {
      this.dashboard.addWidgets(...row);
    }
  }

  /**
   * Adds a row for a `TradingPnl` below the sections already shown: the trading agent's net P&L, fees and unrealized
   * P&L, today's net P&L (with the daily-loss threshold when there is one), open positions and win rate.
   */
  public addTradingPnl(pnl: TradingPnl): void {
    if (!(pnl instanceof TradingPnl)) {
      throw new Error(`PurpleFleaDashboard '${this.node.id}': addTradingPnl(pnl) must be a TradingPnl`);
    }
    if (this.pnlShown.includes(pnl)) throw new Error(`PurpleFleaDashboard '${this.node.id}': ${pnl.node.path} is shown already`);
    this.pnlShown.push(pnl);
    const latest = (metric: cloudwatch.Metric, label: string) => metric.with({ period: this.period, label });
    this.dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: `## ${pnl.node.path}: trading P&L`, width: FULL_WIDTH, height: 1 }));
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'P&L (30 days), USDC',
        width: GRAPH_WIDTH,
        height: GRAPH_HEIGHT,
        left: [latest(pnl.netPnlMetric, 'net P&L'), latest(pnl.feesMetric, 'fees'), latest(pnl.unrealizedPnlMetric, 'unrealized P&L')],
      }),
      new cloudwatch.GraphWidget({
        title: "Today's net P&L, USDC",
        width: GRAPH_WIDTH,
        height: GRAPH_HEIGHT,
        left: [latest(pnl.dailyNetPnlMetric, 'net P&L today')],
        leftAnnotations: pnl.dailyLossAlarm ? [pnl.dailyLossAlarm.toAnnotation()] : undefined,
      }),
      new cloudwatch.GraphWidget({
        title: 'Open positions and win rate',
        width: GRAPH_WIDTH,
        height: GRAPH_HEIGHT,
        left: [latest(pnl.openPositionsMetric, 'open positions')],
        right: [latest(pnl.winRateMetric, 'win rate %')],
      }),
    );
  }
}

/** The grid is 24 units wide: three graphs to a row. */
const FULL_WIDTH = 24;
const GRAPH_WIDTH = 8;
const GRAPH_HEIGHT = 6;

/** One construct's rows: a title, the totals over the time range, the outcome graphs, the health graphs. */
function sectionRows(path: string, m: MoneyActionMonitoring, period: Duration): cloudwatch.IWidget[][] {
  const sum = (metric: cloudwatch.Metric, label: string, color?: string) =>
    metric.with({ statistic: cloudwatch.Stats.SUM, period, label, color });
  const outcomes = [
    sum(m.actionsSucceeded, 'succeeded', cloudwatch.Color.GREEN),
    sum(m.actionsSkipped, 'skipped', cloudwatch.Color.GREY),
    sum(m.actionsInvalid, 'invalid', cloudwatch.Color.ORANGE),
    sum(m.actionsRejected, 'rejected', cloudwatch.Color.PURPLE),
    // Red: each one needs an operator.
    sum(m.actionsUnknown, 'unknown', cloudwatch.Color.RED),
  ];
  const moved = sum(m.amountUsdc, 'USDC moved', cloudwatch.Color.BLUE);
  const actions = capitalize(m.actionName);

  const latencies = [m.apiLatency, ...(m.sageMakerLatency !== undefined ? [m.sageMakerLatency] : [])].flatMap((metric) =>
    [cloudwatch.Stats.p(50), cloudwatch.Stats.p(99)].map((statistic) =>
      metric.with({ statistic, period, label: `${metric.metricName} ${statistic}` }),
    ),
  );

  const health: cloudwatch.IWidget[] = [
    graph(
      'Function errors',
      m.functions.map((fn) => fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period, label: fn.node.id })),
    ),
  ];
  if (m.deadLetterQueue !== undefined) {
    health.push(
      graph('Dead-letter queue: messages waiting', [
        m.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period, label: 'messages' }),
      ]),
    );
  }
  if (m.stateMachine !== undefined) {
    health.push(
      graph('Runs', [
        m.stateMachine.metricSucceeded({ statistic: cloudwatch.Stats.SUM, period, label: 'succeeded', color: cloudwatch.Color.GREEN }),
        m.stateMachine.metricFailed({ statistic: cloudwatch.Stats.SUM, period, label: 'failed', color: cloudwatch.Color.RED }),
      ]),
    );
  }

  const rows: cloudwatch.IWidget[][] = [
    [new cloudwatch.TextWidget({ markdown: `### ${m.kind} \`${path}\``, width: FULL_WIDTH, height: 1 })],
    [
      new cloudwatch.SingleValueWidget({
        title: `${actions} in the time range`,
        metrics: [...outcomes, moved],
        // One figure per metric: its sum over the whole time range shown.
        setPeriodToTimeRange: true,
        width: FULL_WIDTH,
        height: 3,
      }),
    ],
    [graph(`${actions} by outcome`, outcomes), graph(`USDC moved by succeeded ${m.actionName}`, [moved]), graph('Latency (ms)', latencies)],
    health,
  ];
  if (m.releases !== undefined) rows.push(releaseRow(m, m.releases, sum));
  return rows;
}

/**
 * The releases of a construct's escrows, and the escrows still open: created less released in the range (an
 * escrow refunded at its timeout is still counted open: nothing reports a refund).
 */
function releaseRow(
  m: MoneyActionMonitoring,
  r: EscrowReleaseMonitoring,
  sum: (metric: cloudwatch.Metric, label: string, color?: string) => cloudwatch.Metric,
): cloudwatch.IWidget[] {
  const released = sum(r.released, 'released', cloudwatch.Color.GREEN);
  const outcomes = [
    released,
    sum(r.alreadyReleased, 'already released', cloudwatch.Color.GREY),
    sum(r.refused, 'refused', cloudwatch.Color.PURPLE),
    sum(r.unknown, 'unknown', cloudwatch.Color.RED),
    sum(r.waiting, 'waiting for the creation', cloudwatch.Color.ORANGE),
  ];
  const open = new cloudwatch.MathExpression({
    expression: 'FILL(created, 0) - FILL(released, 0)',
    usingMetrics: { created: sum(m.actionsSucceeded, 'created'), released: r.released },
    label: `${m.actionName} created less released`,
  });
  return [
    graph(`Releases of the ${m.actionName} by outcome`, outcomes),
    graph('USDC released', [sum(r.releasedUsdc, 'USDC released', cloudwatch.Color.BLUE)]),
    graph(`${capitalize(m.actionName)} still open (created less released; refunds not seen)`, [open]),
  ];
}

function graph(title: string, metrics: cloudwatch.IMetric[]): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title,
    left: metrics,
    leftYAxis: { min: 0 },
    width: GRAPH_WIDTH,
    height: GRAPH_HEIGHT,
  });
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** CloudWatch's rule for dashboard names. */
const DASHBOARD_NAME = /^[A-Za-z0-9_-]{1,255}$/;

function validate(id: string, given: PurpleFleaDashboardProps | undefined): void {
  const props = givenProps(given);
  const v = new PropsValidator('PurpleFleaDashboard', id);
  v.matches('dashboardName', props.dashboardName, DASHBOARD_NAME, 'must be 1 to 255 letters, digits, "-" or "_"');
  v.duration('period', props.period, Duration.minutes(1), Duration.days(1));
  // The handlers' EMF metrics have a one-minute resolution.
  v.check(
    'period',
    props.period,
    // A value of another type is reported above.
    (p: Duration) => !(p instanceof Duration) || Number.isInteger(p.toSeconds({ integral: false }) / 60),
    'must be a whole number of minutes',
  );
  v.list('monitored', props.monitored, 'constructs that implement IMonitoredMoneyAction');
  const monitored = Array.isArray(props.monitored) ? props.monitored : [];
  monitored.forEach((construct, index) => {
    if (!isMonitored(construct)) {
      v.instance(`monitored[${index}]`, construct, isMonitored, MONITORED_KIND);
      return;
    }
    const first = monitored.indexOf(construct);
    if (first !== index) v.fail(`monitored[${index}] (${construct.node.path}) is monitored[${first}] again: each construct is shown once`);
  });
  v.throwIfInvalid();
}
