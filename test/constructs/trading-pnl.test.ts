/**
 * TradingPnl (issue 15, "P&L to CloudWatch"): the schedule, the function's environment (read back by the connection's
 * contract, with the trading key), its exact IAM (the trading key's secret only: no ledger, no casino key), the metrics
 * and alarms, the dashboard row, and one error per validation rule (the gateway refused).
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Duration, Stack } from 'aws-cdk-lib';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { PurpleFleaApi, PurpleFleaDashboard, TradingPnl, TradingPnlProps } from '../../lib';
import { logicalIdOf, newConnection, newStack, policiesOf, rules, variablesOf } from './fixtures';

function pnl(props: Partial<TradingPnlProps> = {}, stack: Stack = newStack(), connectionProps = {}) {
  const connection = newConnection(stack, { api: PurpleFleaApi.services(), ...connectionProps });
  const construct = new TradingPnl(stack, 'Pnl', { connection, ...props });
  return { stack, connection, construct, template: () => Template.fromStack(stack) };
}

const apiKeySecretArn = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:eu-west-1:123456789012:secret:PurpleFleaApiKey-??????']],
};

describe('TradingPnl', () => {
  test('runs every 15 minutes by default, or on the schedule given', () => {
    expect(rules(pnl().template())).toEqual([expect.objectContaining({ ScheduleExpression: 'rate(15 minutes)', State: 'ENABLED' })]);
    const { template } = pnl({ schedule: events.Schedule.rate(Duration.hours(1)) });
    expect(rules(template())).toEqual([expect.objectContaining({ ScheduleExpression: 'rate(1 hour)' })]);
    expect(TradingPnl.DEFAULT_SCHEDULE_RATE.toMinutes()).toBe(15);
  });

  test("the function is told the services' hosts and where the trading key is, and the handler's reader accepts it", () => {
    const { construct, template } = pnl();
    const variables = variablesOf(template(), construct.lambdaFunction);
    expect(variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'trading-pnl',
      POWERTOOLS_METRICS_NAMESPACE: 'PurpleFlea/SageMaker',
      PF_API_PROFILE: 'services',
      PF_TRADING_URL: 'https://trading.purpleflea.com/v1',
      PF_TRADING_KEY_FIELD: 'trading_key',
      PF_TRADING_AGENT_ID_FIELD: 'trading_agent_id',
    });
    const plain = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : `value-of-${k}`]));
    const read = readConnectionSettings(plain, 'TradingPnl', { servicesProfile: true, trades: true });
    expect(read).toMatchObject({ profile: 'services', tradingKey: { keyField: 'trading_key', agentIdField: 'trading_agent_id' } });
  });

  test('IAM: reads the connection secret holding the trading key, nothing of the ledger', () => {
    const { construct, template } = pnl();
    const statements = Object.values(policiesOf(template(), construct.lambdaFunction.role!)).flat();
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: apiKeySecretArn },
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
    ]);
    expect(JSON.stringify(statements)).not.toContain('dynamodb');
  });

  test('IAM: with a trading key secret of its own, reads that one only (not the casino key)', () => {
    const stack = newStack();
    const tradingKeySecret = secretsmanager.Secret.fromSecretNameV2(stack, 'TradingKey', 'PurpleFleaTradingKey');
    const { construct, template } = pnl({}, stack, { tradingKeySecret });
    const statements = Object.values(policiesOf(template(), construct.lambdaFunction.role!)).flat();
    const secrets = statements.filter((st) => JSON.stringify(st.Action).includes('secretsmanager'));
    expect(secrets).toEqual([
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:eu-west-1:123456789012:secret:PurpleFleaTradingKey-??????'],
          ],
        },
      },
    ]);
  });

  test('the metrics are the handler’s EMF metrics, and the daily-loss alarm fires below minus the amount', () => {
    const stack = newStack();
    const topic = new sns.Topic(stack, 'Alarms');
    const { construct, template } = pnl({ dailyLossAlarmUsdc: 250, alarmTopic: topic }, stack);
    expect(construct.dailyNetPnlMetric.namespace).toBe('PurpleFlea/SageMaker');
    expect(construct.dailyNetPnlMetric.metricName).toBe('DailyNetPnlUsdc');
    expect(Object.keys(construct.netPnlMetric.dimensions!).sort()).toEqual(['FunctionName', 'service']);
    expect(
      [
        construct.netPnlMetric,
        construct.feesMetric,
        construct.winRateMetric,
        construct.openPositionsMetric,
        construct.unrealizedPnlMetric,
      ].map((m) => m.metricName),
    ).toEqual(['NetPnlUsdc', 'FeesUsdc', 'WinRatePercent', 'OpenPositions', 'UnrealizedPnlUsdc']);
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DailyNetPnlUsdc',
      Namespace: 'PurpleFlea/SageMaker',
      Statistic: 'Minimum',
      Period: 3600,
      Threshold: -250,
      ComparisonOperator: 'LessThanThreshold',
      AlarmActions: [{ Ref: logicalIdOf(topic) }],
    });
    template().resourceCountIs('AWS::CloudWatch::Alarm', 2);
  });

  test('without dailyLossAlarmUsdc: only the errors alarm', () => {
    const { construct, template } = pnl();
    expect(construct.dailyLossAlarm).toBeUndefined();
    template().resourceCountIs('AWS::CloudWatch::Alarm', 1);
  });

  test('the dashboard shows a P&L row', () => {
    const { stack, construct } = pnl({ dailyLossAlarmUsdc: 100 });
    const dashboard = new PurpleFleaDashboard(stack, 'Dashboard');
    dashboard.addTradingPnl(construct);
    const body = JSON.stringify(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'));
    for (const name of ['NetPnlUsdc', 'FeesUsdc', 'WinRatePercent', 'DailyNetPnlUsdc', 'OpenPositions', 'UnrealizedPnlUsdc']) {
      expect(body).toContain(name);
    }
    expect(() => dashboard.addTradingPnl(construct)).toThrow(/shown already/);
  });

  describe('validation', () => {
    test('the gateway is refused, naming the prop and the profile', () => {
      const stack = newStack();
      const connection = newConnection(stack);
      expect(() => new TradingPnl(stack, 'Pnl', { connection })).toThrow(
        /TradingPnl 'Pnl'.*connection must speak the services profile \(api: PurpleFleaApi.services\(\)\).*no P&L route/s,
      );
    });
    test('connection is required', () => {
      expect(() => new TradingPnl(newStack(), 'Pnl', {} as TradingPnlProps)).toThrow(/connection/);
    });
    test.each([0, -5, Number.NaN])('dailyLossAlarmUsdc %p is refused', (value) => {
      expect(() => pnl({ dailyLossAlarmUsdc: value })).toThrow(/dailyLossAlarmUsdc/);
    });
    test('functionOptions may not set what the construct sets', () => {
      expect(() => pnl({ functionOptions: { retryAttempts: 2, environment: { PF_TRADING_URL: 'x' } } })).toThrow(
        /functionOptions.retryAttempts.*functionOptions.environment.PF_TRADING_URL/s,
      );
    });
  });
});
