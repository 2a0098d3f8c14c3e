import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  BatchPayout,
  FraudHoldEscrow,
  IMonitoredMoneyAction,
  MoneyActionMonitoring,
  PredictToTrade,
  PurpleFleaDashboard,
  PurpleFleaDashboardProps,
  TrainingBonusEscrow,
} from '../../lib';
import { BATCH_PAYOUT_METRICS, BATCH_PAYOUT_OUTCOME_METRICS } from '../../lib/private/contracts/batch-payout-env';
import { FRAUD_HOLD_METRICS, FRAUD_HOLD_OUTCOME_METRICS } from '../../lib/private/contracts/fraud-hold-env';
import { OutcomeMetricNames, POWERTOOLS_SERVICE_DIMENSION } from '../../lib/private/contracts/outcome-metrics';
import { PREDICT_TO_TRADE_METRICS, PREDICT_TO_TRADE_OUTCOME_METRICS } from '../../lib/private/contracts/predict-to-trade-env';
import {
  TRAINING_BONUS_ESCROW_METRICS,
  TRAINING_BONUS_ESCROW_OUTCOME_METRICS,
} from '../../lib/private/contracts/training-bonus-escrow-env';
import { DashboardMetric, DashboardSection, dashboardSections, dashboardWidgets } from './dashboard-body';
import { logicalIdOf, newConnection, newStack, variablesOf } from './fixtures';

interface AllFour {
  readonly stack: Stack;
  readonly trader: PredictToTrade;
  readonly bonus: TrainingBonusEscrow;
  readonly payout: BatchPayout;
  readonly holds: FraudHoldEscrow;
}

/** The four constructs, the batch ones with a trigger (so with a dead-letter queue). */
function allFour(stack = newStack()): AllFour {
  const connection = newConnection(stack);
  return {
    stack,
    trader: new PredictToTrade(stack, 'Trader', { connection, endpointName: 'demo-direction-model' }),
    bonus: new TrainingBonusEscrow(stack, 'Bonus', { connection, trainingJobNamePrefix: 'churn-' }),
    payout: new BatchPayout(stack, 'Payout', { connection, sourceBucket: new s3.Bucket(stack, 'Scores'), sourcePrefix: 'scores/' }),
    holds: new FraudHoldEscrow(stack, 'Holds', {
      connection,
      transformJobTrigger: true,
      transformOutputBucket: s3.Bucket.fromBucketName(stack, 'TransformOutput', 'transform-output'),
    }),
  };
}

function dashboardOfAllFour(props: Partial<PurpleFleaDashboardProps> = {}): AllFour & { sections: DashboardSection[] } {
  const four = allFour();
  new PurpleFleaDashboard(four.stack, 'Dashboard', { monitored: [four.trader, four.bonus, four.payout, four.holds], ...props });
  return { ...four, sections: dashboardSections(four.stack) };
}

/** Each construct's contract: every metric its handlers emit, and which of them count the outcomes. */
interface Contract {
  readonly metrics: {
    readonly namespace: string;
    readonly serviceName: string;
    readonly functionNameDimension: string;
    readonly apiLatency: string;
  };
  readonly outcomes: OutcomeMetricNames;
  readonly sageMakerLatency?: string;
  /** Metrics the dashboard does not show, by their key in the contract, and why. */
  readonly notShown: { readonly [key: string]: string };
}

const CONTRACTS: { readonly [kind: string]: Contract } = {
  PredictToTrade: {
    metrics: PREDICT_TO_TRADE_METRICS,
    outcomes: PREDICT_TO_TRADE_OUTCOME_METRICS,
    sageMakerLatency: PREDICT_TO_TRADE_METRICS.endpointLatency,
    notShown: {},
  },
  TrainingBonusEscrow: {
    metrics: TRAINING_BONUS_ESCROW_METRICS,
    outcomes: TRAINING_BONUS_ESCROW_OUTCOME_METRICS,
    sageMakerLatency: TRAINING_BONUS_ESCROW_METRICS.describeLatency,
    notShown: {},
  },
  BatchPayout: {
    metrics: BATCH_PAYOUT_METRICS,
    outcomes: BATCH_PAYOUT_OUTCOME_METRICS,
    notShown: { runsSummarized: 'the Runs graph counts runs', runUnknownRows: 'the rows are counted by their outcome' },
  },
  FraudHoldEscrow: {
    metrics: FRAUD_HOLD_METRICS,
    outcomes: FRAUD_HOLD_OUTCOME_METRICS,
    notShown: { runsSummarized: 'the Runs graph counts runs', runUnknownRows: 'the rows are counted by their outcome' },
  },
};

/** The contract's metric names: every value of its metrics object but the namespace and the dimensions. */
function contractMetricNames(contract: Contract): string[] {
  const notMetrics = ['namespace', 'serviceName', 'functionNameDimension'];
  return Object.entries(contract.metrics)
    .filter(([key]) => !notMetrics.includes(key) && !(key in contract.notShown))
    .map(([, name]) => name)
    .sort();
}

interface Kind {
  readonly kind: string;
  readonly of: (four: AllFour) => IMonitoredMoneyAction;
  readonly path: string;
  /** The function whose name the handler metrics carry, and every function of the construct. */
  readonly acting: (four: AllFour) => lambda.IFunction;
  readonly functions: (four: AllFour) => lambda.IFunction[];
  readonly actionName: string;
}

const KINDS: Kind[] = [
  {
    kind: 'PredictToTrade',
    of: (f) => f.trader,
    path: 'Test/Trader',
    acting: (f) => f.trader.lambdaFunction,
    functions: (f) => [f.trader.lambdaFunction],
    actionName: 'Orders',
  },
  {
    kind: 'TrainingBonusEscrow',
    of: (f) => f.bonus,
    path: 'Test/Bonus',
    acting: (f) => f.bonus.lambdaFunction,
    functions: (f) => [f.bonus.lambdaFunction],
    actionName: 'Escrows',
  },
  {
    kind: 'BatchPayout',
    of: (f) => f.payout,
    path: 'Test/Payout',
    acting: (f) => f.payout.payFunction,
    functions: (f) => [f.payout.prepareFunction, f.payout.payFunction, f.payout.summarizeFunction],
    actionName: 'Payouts',
  },
  {
    kind: 'FraudHoldEscrow',
    of: (f) => f.holds,
    path: 'Test/Holds',
    acting: (f) => f.holds.actFunction,
    functions: (f) => [f.holds.prepareFunction, f.holds.actFunction, f.holds.summarizeFunction],
    actionName: 'Holds',
  },
];

function widget(section: DashboardSection, title: string) {
  const found = section.widgets.filter((w) => w.title === title);
  if (found.length !== 1)
    throw new Error(
      `expected one widget "${title}" in ${section.title}, found ${found.length}: ${section.widgets.map((w) => w.title).join(', ')}`,
    );
  return found[0];
}

/** `<namespace> <name> <stat> <label>` per metric, with its dimensions: easy to read in a failure. */
function described(metrics: DashboardMetric[]) {
  return metrics.map((m) => ({
    metric: `${m.namespace} ${m.metricName} ${m.stat} ${m.label}`,
    dimensions: m.dimensions,
    period: m.period,
  }));
}

describe('PurpleFleaDashboard', () => {
  const built = dashboardOfAllFour();

  test('one section per monitored construct, in the order given, titled by kind and path', () => {
    expect(built.sections.map((s) => s.title)).toEqual(KINDS.map((k) => `${k.kind} \`${k.path}\``));
  });

  describe.each(KINDS)('the section of a $kind', (k) => {
    const section = built.sections.find((s) => s.title.startsWith(`${k.kind} `))!;
    const contract = CONTRACTS[k.kind];
    const handlerDimensions = () => ({
      [POWERTOOLS_SERVICE_DIMENSION]: contract.metrics.serviceName,
      [contract.metrics.functionNameDimension]: logicalIdOf(k.acting(built)),
    });
    const outcome = (name: string, label: string) => ({
      metric: `${contract.metrics.namespace} ${name} Sum ${label}`,
      dimensions: handlerDimensions(),
      period: 300,
    });
    const outcomes = () => [
      outcome(contract.outcomes.succeeded, 'succeeded'),
      outcome(contract.outcomes.skipped, 'skipped'),
      outcome(contract.outcomes.invalid, 'invalid'),
      outcome(contract.outcomes.rejected, 'rejected'),
      outcome(contract.outcomes.unknown, 'unknown'),
    ];

    test("its handler metrics are exactly the contract's: names, namespace, and the dimensions the handler emits them under", () => {
      const handlerMetrics = section.widgets.flatMap((w) => w.metrics).filter((m) => m.namespace === contract.metrics.namespace);
      expect([...new Set(handlerMetrics.map((m) => m.metricName))].sort()).toEqual(contractMetricNames(contract));
      for (const m of handlerMetrics) expect(m.dimensions).toEqual(handlerDimensions());
      // The function's Powertools settings name the same namespace and service.
      const variables = variablesOf(Template.fromStack(built.stack), k.acting(built));
      expect(variables.POWERTOOLS_METRICS_NAMESPACE).toBe(contract.metrics.namespace);
      expect(variables.POWERTOOLS_SERVICE_NAME).toBe(contract.metrics.serviceName);
    });

    test('the totals over the time range: each outcome and the USDC moved, summed', () => {
      const totals = widget(section, `${k.actionName} in the time range`);
      expect(totals.view).toBe('singleValue');
      expect(totals.setPeriodToTimeRange).toBe(true);
      expect(described(totals.metrics)).toEqual([...outcomes(), outcome(contract.outcomes.amount, 'USDC moved')]);
    });

    test('the outcomes and the USDC moved as graphs, summed per period', () => {
      expect(described(widget(section, `${k.actionName} by outcome`).metrics)).toEqual(outcomes());
      expect(described(widget(section, `USDC moved by succeeded ${k.actionName.toLowerCase()}`).metrics)).toEqual([
        outcome(contract.outcomes.amount, 'USDC moved'),
      ]);
    });

    test('the latency of Purple Flea requests, and of the SageMaker call where there is one, p50 and p99', () => {
      const latencies = [contract.metrics.apiLatency, ...(contract.sageMakerLatency ? [contract.sageMakerLatency] : [])];
      expect(described(widget(section, 'Latency (ms)').metrics)).toEqual(
        latencies.flatMap((name) =>
          ['p50', 'p99'].map((stat) => ({
            metric: `${contract.metrics.namespace} ${name} ${stat} ${name} ${stat}`,
            dimensions: handlerDimensions(),
            period: 300,
          })),
        ),
      );
    });

    test('the errors of every function of the construct', () => {
      expect(described(widget(section, 'Function errors').metrics)).toEqual(
        k.functions(built).map((fn) => ({
          metric: `AWS/Lambda Errors Sum ${fn.node.id}`,
          dimensions: { FunctionName: logicalIdOf(fn) },
          period: 300,
        })),
      );
    });

    test("the dead-letter queue's depth", () => {
      const queue = (k.of(built) as any).deadLetterQueue;
      expect(described(widget(section, 'Dead-letter queue: messages waiting').metrics)).toEqual([
        {
          metric: 'AWS/SQS ApproximateNumberOfMessagesVisible Maximum messages',
          dimensions: { QueueName: `${logicalIdOf(queue)}.QueueName` },
          period: 300,
        },
      ]);
    });
  });

  test.each(['BatchPayout', 'FraudHoldEscrow'])("a %s's runs: executions succeeded and failed", (kind) => {
    const section = built.sections.find((s) => s.title.startsWith(`${kind} `))!;
    const stateMachine = kind === 'BatchPayout' ? built.payout.stateMachine : built.holds.stateMachine;
    const dimensions = { StateMachineArn: logicalIdOf(stateMachine) };
    expect(described(widget(section, 'Runs').metrics)).toEqual([
      { metric: 'AWS/States ExecutionsSucceeded Sum succeeded', dimensions, period: 300 },
      { metric: 'AWS/States ExecutionsFailed Sum failed', dimensions, period: 300 },
    ]);
  });

  test.each(['PredictToTrade', 'TrainingBonusEscrow'])('a %s has no runs graph', (kind) => {
    const section = built.sections.find((s) => s.title.startsWith(`${kind} `))!;
    expect(section.widgets.map((w) => w.title)).not.toContain('Runs');
  });

  test('a batch construct without a trigger has no dead-letter queue, so no graph of one', () => {
    const stack = newStack();
    const payout = new BatchPayout(stack, 'Payout', { connection: newConnection(stack) });
    new PurpleFleaDashboard(stack, 'Dashboard', { monitored: [payout] });
    const [section] = dashboardSections(stack);
    expect(section.widgets.map((w) => w.title)).toEqual([
      'Payouts in the time range',
      'Payouts by outcome',
      'USDC moved by succeeded payouts',
      'Latency (ms)',
      'Function errors',
      'Runs',
    ]);
  });

  test('every graph uses the given period', () => {
    const { stack, trader } = allFour();
    new PurpleFleaDashboard(stack, 'Dashboard', { monitored: [trader], period: Duration.minutes(1) });
    const graphs = dashboardWidgets(stack).filter((w) => w.view === 'timeSeries');
    expect(graphs.length).toBeGreaterThan(0);
    expect([...new Set(graphs.flatMap((w) => w.metrics.map((m) => m.period)))]).toEqual([60]);
  });

  test('addMonitored adds a section below the others, after the constructor', () => {
    const { stack, trader, payout } = allFour();
    const dashboard = new PurpleFleaDashboard(stack, 'Dashboard', { monitored: [payout] });
    dashboard.addMonitored(trader);
    expect(dashboardSections(stack).map((s) => s.title)).toEqual(['BatchPayout `Test/Payout`', 'PredictToTrade `Test/Trader`']);
  });

  test('the dashboard adds one resource, the dashboard, and changes no other', () => {
    const without = Template.fromStack(allFour().stack).toJSON().Resources;
    const { stack, trader, bonus, payout, holds } = allFour();
    const dashboard = new PurpleFleaDashboard(stack, 'Dashboard', {
      monitored: [trader, bonus, payout, holds],
      dashboardName: 'purpleflea',
    });
    const withDashboard = Template.fromStack(stack).toJSON().Resources;
    const added = Object.keys(withDashboard).filter((id) => !(id in without));
    expect(added.map((id) => withDashboard[id].Type)).toEqual(['AWS::CloudWatch::Dashboard']);
    expect(withDashboard[added[0]].Properties.DashboardName).toBe('purpleflea');
    expect(stack.resolve(dashboard.dashboardName)).toEqual({ Ref: added[0] });
    for (const id of Object.keys(without)) expect(withDashboard[id]).toEqual(without[id]);
  });

  test('shows a construct of your own that implements IMonitoredMoneyAction', () => {
    class Refunds extends Construct implements IMonitoredMoneyAction {
      public readonly fn: lambda.Function;
      constructor(scope: Construct, id: string) {
        super(scope, id);
        this.fn = new lambda.Function(this, 'Fn', {
          runtime: lambda.Runtime.NODEJS_22_X,
          handler: 'index.handler',
          code: lambda.Code.fromInline('exports.handler=async()=>{}'),
        });
      }
      public monitoring(): MoneyActionMonitoring {
        const metric = (metricName: string) =>
          new cloudwatch.Metric({ namespace: 'Mine', metricName, dimensionsMap: { Fn: this.fn.functionName } });
        return {
          kind: 'Refunds',
          actionName: 'refunds',
          actionsSucceeded: metric('Refunded'),
          actionsSkipped: metric('RefundSkipped'),
          actionsInvalid: metric('RefundInvalid'),
          actionsRejected: metric('RefundRejected'),
          actionsUnknown: metric('RefundUnknown'),
          amountUsdc: metric('RefundedUsdc'),
          apiLatency: metric('RefundLatency'),
          functions: [this.fn],
        };
      }
    }
    const stack = newStack();
    new PurpleFleaDashboard(stack, 'Dashboard', { monitored: [new Refunds(stack, 'Refunds')] });
    const [section] = dashboardSections(stack);
    expect(section.title).toBe('Refunds `Test/Refunds`');
    expect(widget(section, 'Refunds by outcome').metrics.map((m) => `${m.namespace} ${m.metricName} ${m.stat}`)).toEqual([
      'Mine Refunded Sum',
      'Mine RefundSkipped Sum',
      'Mine RefundInvalid Sum',
      'Mine RefundRejected Sum',
      'Mine RefundUnknown Sum',
    ]);
    expect(widget(section, 'Latency (ms)').metrics.map((m) => `${m.metricName} ${m.stat}`)).toEqual([
      'RefundLatency p50',
      'RefundLatency p99',
    ]);
    expect(section.widgets.map((w) => w.title)).not.toContain('Dead-letter queue: messages waiting');
  });
});

describe('monitoring(): the metrics a construct offers, for alarms of your own', () => {
  test("PredictToTrade's: the sum of its counts and amounts, p99 of its latencies, over 5 minutes", () => {
    const { trader } = allFour();
    const m = trader.monitoring();
    expect(
      [m.actionsUnknown, m.amountUsdc, m.apiLatency, m.sageMakerLatency!].map(
        (metric) => `${metric.metricName} ${metric.statistic} ${metric.period.toMinutes()}`,
      ),
    ).toEqual([
      `${PREDICT_TO_TRADE_METRICS.ordersUnknown} Sum 5`,
      `${PREDICT_TO_TRADE_METRICS.notionalUsdc} Sum 5`,
      `${PREDICT_TO_TRADE_METRICS.apiLatency} p99 5`,
      `${PREDICT_TO_TRADE_METRICS.endpointLatency} p99 5`,
    ]);
    expect(m.functions).toEqual([trader.lambdaFunction]);
    expect(m.deadLetterQueue).toBe(trader.deadLetterQueue);
    expect(m.stateMachine).toBeUndefined();
  });

  test('the unknown-outcomes alarm watches the same metric the dashboard shows', () => {
    const { stack, payout } = allFour();
    const alarm = Template.fromStack(stack).toJSON().Resources[logicalIdOf(payout.unknownOutcomesAlarm)].Properties;
    const metric = payout.monitoring().actionsUnknown;
    expect(alarm.MetricName).toBe(metric.metricName);
    expect(alarm.Namespace).toBe(metric.namespace);
    expect(alarm.Dimensions.map((d: any) => d.Name).sort()).toEqual(Object.keys(metric.dimensions!).sort());
  });
});

describe('PurpleFleaDashboard validation', () => {
  const newDashboard = (props: PurpleFleaDashboardProps) => {
    const four = allFour();
    return () => new PurpleFleaDashboard(four.stack, 'Dashboard', { monitored: [four.trader], ...props });
  };

  test.each([
    [
      'a dashboard name with a space',
      { dashboardName: 'money moved' },
      `PurpleFleaDashboard 'Dashboard': dashboardName must be 1 to 255 letters, digits, "-" or "_", got "money moved"`,
    ],
    ['an empty dashboard name', { dashboardName: '' }, 'dashboardName must be 1 to 255 letters, digits, "-" or "_", got ""'],
    [
      'a dashboard name of 256 characters',
      { dashboardName: 'a'.repeat(256) },
      `dashboardName must be 1 to 255 letters, digits, "-" or "_", got "${'a'.repeat(256)}"`,
    ],
    ['a period of 90 seconds', { period: Duration.seconds(90) }, 'period must be a whole number of minutes, got 1 minute 30 seconds'],
    ['a period of 30 seconds', { period: Duration.seconds(30) }, 'period must be between 1 minute and 1 day, got 30 seconds'],
    ['a period of 2 days', { period: Duration.days(2) }, 'period must be between 1 minute and 1 day, got 2 days'],
  ])('rejects %s', (_name, props, message) => {
    expect(newDashboard(props)).toThrow(message);
  });

  test('accepts a dashboard name that is a token, and the bounds of the period', () => {
    const four = allFour();
    const name = new CfnParameter(four.stack, 'DashboardName').valueAsString;
    expect(() => new PurpleFleaDashboard(four.stack, 'ByParameter', { dashboardName: name, monitored: [four.trader] })).not.toThrow();
    expect(newDashboard({ period: Duration.minutes(1) })).not.toThrow();
    expect(newDashboard({ period: Duration.days(1) })).not.toThrow();
  });

  test('names every problem at once', () => {
    expect(newDashboard({ dashboardName: 'a b', period: Duration.seconds(90) })).toThrow(
      /PurpleFleaDashboard 'Dashboard' has 2 invalid props:\n {2}- dashboardName .*\n {2}- period must be a whole number of minutes/,
    );
  });

  test('rejects a construct given twice in monitored, naming both places', () => {
    const { stack, trader, bonus } = allFour();
    expect(() => new PurpleFleaDashboard(stack, 'Dashboard', { monitored: [trader, bonus, trader] })).toThrow(
      "PurpleFleaDashboard 'Dashboard': monitored[2] (Test/Trader) is monitored[0] again: each construct is shown once",
    );
  });

  test('rejects adding a construct already shown', () => {
    const { stack, trader } = allFour();
    const dashboard = new PurpleFleaDashboard(stack, 'Dashboard', { monitored: [trader] });
    expect(() => dashboard.addMonitored(trader)).toThrow("PurpleFleaDashboard 'Dashboard': Test/Trader is shown already");
  });

  test('fails synthesis when it shows nothing', () => {
    const app = new App();
    const stack = new Stack(app, 'Empty');
    new PurpleFleaDashboard(stack, 'Dashboard');
    expect(() => app.synth()).toThrow(
      "PurpleFleaDashboard 'Dashboard': monitored is empty: give at least one construct in monitored, or call addMonitored",
    );
  });
});
