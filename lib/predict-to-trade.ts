import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ModelOutputFormat } from './model-output-format';
import { IMonitoredMoneyAction, MoneyActionMonitoring } from './monitored-money-action';
import { newHandlerAlarms } from './private/alarms';
import { CONSTRUCT_ACTION_KINDS } from './private/contracts/action-keys';
import {
  ModelOutputFormatName,
  PREDICT_TO_TRADE_ENV,
  PREDICT_TO_TRADE_METRICS,
  PREDICT_TO_TRADE_OUTCOME_METRICS,
  predictToTradeEnvironment,
} from './private/contracts/predict-to-trade-env';
import { newDeadLetterQueue } from './private/dead-letter-queue';
import { MODEL_OUTPUT_DEFAULTS, PREDICT_TO_TRADE_DEFAULTS } from './private/defaults';
import { tradeEnvelopeInput } from './private/envelope-input';
import { constructEnvironmentNames, handlerEnvironment, numberInTemplate } from './private/handler-environment';
import { checkFunctionOptions, HandlerFunction } from './private/handler-function';
import { grantActionAccess } from './private/ledger-access';
import { moneyActionMonitoring } from './private/money-action-monitoring';
import { SAGEMAKER_NAME, SAGEMAKER_NAME_RULE } from './private/patterns';
import { sageMakerArn, sageMakerNameInArn } from './private/sagemaker-arns';
import { CONNECTION_KIND, EVENT_BUS_KIND, isConnection, isEventBus, isModelOutputFormat, MODEL_OUTPUT_KIND } from './private/prop-kinds';
import { givenProps, PropsValidator, isToken } from './private/validation';
import { PurpleFleaApiProfile } from './purpleflea-api';
import { PurpleFleaConnection } from './purpleflea-connection';
import { checkConnectionRegion } from './private/regions';

/** Props of a {@link PredictToTrade}. */
export interface PredictToTradeProps {
  /** How to reach Purple Flea and the action ledger. */
  readonly connection: PurpleFleaConnection;

  /** The SageMaker endpoint to invoke. */
  readonly endpointName: string;

  /**
   * The production variant to invoke.
   * @default - SageMaker routes by the variants' weights
   */
  readonly targetVariant?: string;

  /**
   * When to predict. Give either `schedule` or `eventPattern`.
   * @default - every 5 minutes, unless `eventPattern` is given
   */
  readonly schedule?: events.Schedule;

  /**
   * Predict on every event on `eventBus` (the default bus unless given) that matches this pattern, instead of on a
   * schedule.
   * @default - a schedule
   */
  readonly eventPattern?: events.EventPattern;

  /**
   * The bus whose events `eventPattern` matches: your own bus, when your signals are put there. Event pattern only (a
   * schedule runs on the default bus).
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;

  /**
   * The JSON body sent to the endpoint on every scheduled run. Schedule only.
   * @default {}
   */
  readonly features?: { [key: string]: any };

  /**
   * Where the endpoint's JSON body is in a matched event (a JSON path starting with `$`). Event pattern only.
   * @default '$.detail'
   */
  readonly featuresPath?: string;

  /**
   * What the endpoint answers, and where the direction and the confidence are in it.
   * @default ModelOutputFormat.json()
   */
  readonly modelOutput?: ModelOutputFormat;

  /**
   * Trade only when the model's confidence is at least this, in [0, 1].
   * @default 0.6
   */
  readonly confidenceThreshold?: number;

  /**
   * The amount of each market order, in USDC.
   * @default 50
   */
  readonly orderAmountUsdc?: number;

  /**
   * A hard cap on any one order, in USDC: `orderAmountUsdc` may not exceed it.
   * @default 1000
   */
  readonly maxOrderAmountUsdc?: number;

  /**
   * A cap on the total notional ordered per UTC day by this construct, in USDC. It is enforced through
   * the ledger, so concurrent invocations cannot overshoot it.
   * @default - no daily cap
   */
  readonly maxDailyNotionalUsdc?: number;

  /**
   * The market to trade.
   * @default 'BTC-USDC'
   */
  readonly asset?: string;

  /**
   * The services profile only: the trading service's market, e.g. `BTC`, or `xyz:TSLA` for a market of
   * another dex. The gateway trades `asset`.
   * @default - derived from `asset`: the part before the dash, in upper case (`BTC-USDC` → `BTC`); an asset quoted in anything but USDC or USD gives none, and synth fails on the services profile
   */
  readonly coin?: string;

  /**
   * The services profile only: the leverage sent with every trade, a whole number from 1 to 50. The trading
   * service's own default (5) never applies, as the leverage is always sent; the service silently caps it at
   * the agent's maximum (10 unless the agent raised it). On the services profile `orderAmountUsdc` is the
   * notional (`size_usd`), of which the margin is 1/leverage. The gateway's order has no leverage.
   * @default 1
   */
  readonly leverage?: number;

  /**
   * Decide, log and report, but never place an order.
   * @default false
   */
  readonly dryRun?: boolean;

  /**
   * When false, the rule is created disabled and the handler places no order even if invoked.
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * An event older than this trades nothing (a late or retried delivery is a stale signal). Also bounds
   * how long EventBridge and Lambda keep retrying a delivery. Between 1 minute and 24 hours.
   * @default Duration.minutes(5)
   */
  readonly maxSignalAge?: Duration;

  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Overrides for the function: memory, timeout, VPC placement, reserved concurrency... The construct
   * sets its code, handler, runtime (see `runtime`), role, log group, async retries (none), event age and failure
   * destination, and its own environment variables; giving any of those here is an error.
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
   * Every alarm of the construct notifies this topic when it fires and when it clears (an alarm
   * action and an OK action).
   * @default - no actions: add your own to the public alarm properties
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * Turns a SageMaker endpoint's prediction into a Purple Flea market order, exactly once per event.
 *
 * On a schedule (every 5 minutes by default) or on matching events, the function invokes the endpoint,
 * reads the direction (`long`, `short` or `hold`) and the confidence, and places an order of
 * `orderAmountUsdc` on `asset` when the confidence reaches `confidenceThreshold`, within the amount,
 * daily-notional and signal-age guardrails. Every order goes through the action ledger, keyed by the
 * rule and the event, so a repeated delivery never orders twice.
 */
export class PredictToTrade extends Construct implements IMonitoredMoneyAction {
  /** The default schedule: every 5 minutes. */
  public static readonly DEFAULT_SCHEDULE_RATE = Duration.minutes(PREDICT_TO_TRADE_DEFAULTS.scheduleRateMinutes);

  /** The function that predicts and trades. */
  public readonly lambdaFunction: lambda.Function;
  /** The rule that triggers it, on the schedule or the event pattern. */
  public readonly rule: events.Rule;
  /** Failed deliveries, from the rule target and from the function's async invocations. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The function's log group. */
  public readonly logGroup: logs.ILogGroup;
  /** Fires on any function error in 5 minutes. */
  public readonly errorsAlarm: cloudwatch.Alarm;
  /** Fires on any order whose outcome is unknown (it may have been placed): an operator must check it. */
  public readonly unknownOutcomesAlarm: cloudwatch.Alarm;
  /** Fires when a delivery lands in the dead-letter queue. */
  public readonly deadLetterQueueAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PredictToTradeProps) {
    super(scope, id);
    validate(id, props);
    checkConnectionRegion(this, 'PredictToTrade', id, props.connection);

    const modelOutput = props.modelOutput ?? ModelOutputFormat[PREDICT_TO_TRADE_DEFAULTS.modelOutput]();
    const maxSignalAge = props.maxSignalAge ?? Duration.minutes(PREDICT_TO_TRADE_DEFAULTS.maxSignalAgeMinutes);
    const enabled = props.enabled ?? PREDICT_TO_TRADE_DEFAULTS.enabled;
    const deliveryAge = deliveryMaxAge(maxSignalAge);
    const asset = props.asset ?? PREDICT_TO_TRADE_DEFAULTS.asset;
    const services = props.connection.api.profile === PurpleFleaApiProfile.SERVICES;

    this.deadLetterQueue = newDeadLetterQueue(this);

    const handler = new HandlerFunction(this, 'Handler', {
      assetName: 'predict-to-trade',
      description: 'PredictToTrade: a SageMaker prediction becomes a Purple Flea market order',
      logRetention: props.logRetention ?? logs.RetentionDays[PREDICT_TO_TRADE_DEFAULTS.logRetention],
      functionOptions: props.functionOptions,
      runtime: props.runtime,
      environment: handlerEnvironment(
        PREDICT_TO_TRADE_METRICS,
        props.connection,
        predictToTradeEnvironment(
          {
            endpointName: props.endpointName,
            targetVariant: props.targetVariant,
            outputFormat: modelOutput.formatName as ModelOutputFormatName,
            // The half a format does not use still gets a value: the contract requires all four.
            directionField: modelOutput.directionField ?? MODEL_OUTPUT_DEFAULTS.directionField,
            confidenceField: modelOutput.confidenceField ?? MODEL_OUTPUT_DEFAULTS.confidenceField,
            directionColumn: modelOutput.directionColumn ?? MODEL_OUTPUT_DEFAULTS.directionColumn,
            confidenceColumn: modelOutput.confidenceColumn ?? MODEL_OUTPUT_DEFAULTS.confidenceColumn,
            confidenceThreshold: props.confidenceThreshold ?? PREDICT_TO_TRADE_DEFAULTS.confidenceThreshold,
            orderAmountUsdc: props.orderAmountUsdc ?? PREDICT_TO_TRADE_DEFAULTS.orderAmountUsdc,
            maxOrderAmountUsdc: props.maxOrderAmountUsdc ?? PREDICT_TO_TRADE_DEFAULTS.maxOrderAmountUsdc,
            maxDailyNotionalUsdc: props.maxDailyNotionalUsdc,
            // Unique to this construct in the app, so that two PredictToTrade keep separate daily caps.
            dailyCapScope: this.node.addr,
            asset,
            dryRun: props.dryRun ?? PREDICT_TO_TRADE_DEFAULTS.dryRun,
            enabled,
            maxSignalAgeSeconds: maxSignalAge.toSeconds({ integral: false }),
            // Only the services profile's trade has a coin and a leverage (validate() made sure the coin is known).
            services: services
              ? { coin: props.coin ?? coinOf(asset) ?? '', leverage: props.leverage ?? PREDICT_TO_TRADE_DEFAULTS.leverage }
              : undefined,
          },
          numberInTemplate(this),
        ),
        // It trades: on the services profile it is told where the trading key is.
        { trades: true },
      ),
      // No async retries: a failed invocation goes to the dead-letter queue, for an operator to look at.
      retryAttempts: 0,
      maxEventAge: deliveryAge,
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });
    this.lambdaFunction = handler;
    this.logGroup = handler.handlerLogGroup;

    handler.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sagemaker:InvokeEndpoint'],
        // SageMaker puts endpoint names in ARNs in lower case.
        resources: [sageMakerArn(this, 'endpoint', sageMakerNameInArn(props.endpointName))],
      }),
    );
    // Its orders' records and its daily cap's counters, no other construct's.
    grantActionAccess(props.connection, handler, CONSTRUCT_ACTION_KINDS.predictToTrade);

    this.rule = new events.Rule(this, 'Rule', {
      description: 'Runs PredictToTrade: a SageMaker prediction becomes a Purple Flea market order',
      enabled,
      schedule: props.eventPattern ? undefined : (props.schedule ?? events.Schedule.rate(PredictToTrade.DEFAULT_SCHEDULE_RATE)),
      eventPattern: props.eventPattern,
      // A rule matches the events of one bus: the user's own, when their signals are put there.
      eventBus: props.eventPattern ? props.eventBus : undefined,
    });
    this.rule.addTarget(
      new targets.LambdaFunction(handler, {
        event: props.eventPattern
          ? tradeEnvelopeInput({ featuresPath: props.featuresPath ?? PREDICT_TO_TRADE_DEFAULTS.featuresPath })
          : tradeEnvelopeInput({ staticFeatures: props.features ?? PREDICT_TO_TRADE_DEFAULTS.features }),
        deadLetterQueue: this.deadLetterQueue,
        // A delivery older than the signal age would trade nothing: stop retrying it then.
        maxEventAge: deliveryAge,
        retryAttempts: RULE_TARGET_RETRY_ATTEMPTS,
      }),
    );

    const alarms = newHandlerAlarms(this, {
      handler,
      deadLetterQueue: this.deadLetterQueue,
      unknownOutcomesMetric: {
        namespace: PREDICT_TO_TRADE_METRICS.namespace,
        metricName: PREDICT_TO_TRADE_METRICS.ordersUnknown,
        serviceName: PREDICT_TO_TRADE_METRICS.serviceName,
        functionNameDimension: PREDICT_TO_TRADE_METRICS.functionNameDimension,
      },
      descriptions: {
        errors: 'PredictToTrade: the function failed at least once in 5 minutes.',
        unknownOutcomes:
          'PredictToTrade: an order may or may not have been placed (timeout, 5xx, lost connection). ' +
          'It is never re-sent automatically: check the ledger records in state UNKNOWN with Purple Flea.',
        deadLetterQueue: 'PredictToTrade: a prediction event could not be delivered; it is in the dead-letter queue.',
      },
      alarmTopic: props.alarmTopic,
    });
    this.errorsAlarm = alarms.errorsAlarm;
    this.unknownOutcomesAlarm = alarms.unknownOutcomesAlarm;
    this.deadLetterQueueAlarm = alarms.deadLetterQueueAlarm;
  }

  /** What a `PurpleFleaDashboard` shows of this construct: its metrics, its function and its dead-letter queue. */
  public monitoring(): MoneyActionMonitoring {
    return moneyActionMonitoring({
      kind: 'PredictToTrade',
      actionName: 'orders',
      metrics: PREDICT_TO_TRADE_METRICS,
      outcomes: PREDICT_TO_TRADE_OUTCOME_METRICS,
      sageMakerLatency: PREDICT_TO_TRADE_METRICS.endpointLatency,
      actingFunction: this.lambdaFunction,
      functions: [this.lambdaFunction],
      deadLetterQueue: this.deadLetterQueue,
    });
  }
}

/** EventBridge retries a failed delivery (a throttled invoke) this often, within the event age. */
const RULE_TARGET_RETRY_ATTEMPTS = 5;

/** EventBridge and Lambda accept an event age between 60 s and, for Lambda, 6 hours. */
const MIN_DELIVERY_AGE_SECONDS = 60;
const MAX_DELIVERY_AGE_SECONDS = 6 * 60 * 60;

/** How long a delivery may be retried: the signal age, within what EventBridge and Lambda accept. */
function deliveryMaxAge(maxSignalAge: Duration): Duration {
  if (maxSignalAge.isUnresolved()) return Duration.seconds(MAX_DELIVERY_AGE_SECONDS);
  const seconds = Math.ceil(maxSignalAge.toSeconds({ integral: false }));
  return Duration.seconds(Math.min(Math.max(MIN_DELIVERY_AGE_SECONDS, seconds), MAX_DELIVERY_AGE_SECONDS));
}

/** EventBridge's input-template limit (8192), less the envelope around the features. */
const MAX_STATIC_FEATURES_LENGTH = 8000;

const ASSET = /^[A-Za-z0-9]+-[A-Za-z0-9]+$/;

/** A market of the trading service: `BTC`, or `xyz:TSLA` for another dex's. */
const COIN = /^(?:[A-Za-z0-9]{1,16}:)?[A-Za-z0-9]{1,32}$/;

/** The trading service's leverage: Hyperliquid's and the agent settings' range. */
const MIN_LEVERAGE = 1;
const MAX_LEVERAGE = 50;

/**
 * The trading service's market for an asset: its base in upper case, when the asset is quoted in USDC or USD
 * (the service's markets are USDC-margined perpetuals); undefined otherwise, or for a token.
 */
function coinOf(asset: string): string | undefined {
  if (isToken(asset) || !ASSET.test(asset)) return undefined;
  const [base, quote] = asset.split('-');
  return /^USDC?$/i.test(quote) ? base.toUpperCase() : undefined;
}

/** The environment variables the construct sets; the user's `functionOptions.environment` may not. */
const CONSTRUCT_ENVIRONMENT = constructEnvironmentNames(PREDICT_TO_TRADE_ENV);

function validate(id: string, given: PredictToTradeProps | undefined): void {
  const props = givenProps(given);
  const v = new PropsValidator('PredictToTrade', id);
  const isPattern = props.eventPattern !== undefined;

  // Required: the checks below may read them.
  v.required('connection', props.connection).instance('connection', props.connection, isConnection, CONNECTION_KIND);
  v.required('endpointName', props.endpointName);
  v.matches('endpointName', props.endpointName, SAGEMAKER_NAME, SAGEMAKER_NAME_RULE);
  v.matches('targetVariant', props.targetVariant, SAGEMAKER_NAME, SAGEMAKER_NAME_RULE);

  // The trigger: a schedule (static features) or an event pattern (features from the event).
  v.notBoth('schedule', props.schedule, 'eventPattern', props.eventPattern, 'a PredictToTrade runs on one or the other');
  if (isPattern) {
    v.notAllowed('features', props.features, 'with an eventPattern the features come from the event (see featuresPath)');
  } else {
    v.notAllowed('featuresPath', props.featuresPath, 'it applies only to an eventPattern (a schedule sends the static features)');
    v.notAllowed('eventBus', props.eventBus, 'it applies only to an eventPattern (a schedule runs on the default bus)');
  }
  v.instance('eventBus', props.eventBus, isEventBus, EVENT_BUS_KIND);
  v.string('featuresPath', props.featuresPath, (p: string) => p.startsWith('$'), "must be a JSON path starting with '$'");
  if (props.features !== undefined && !Token.isUnresolved(props.features)) {
    // They travel inside the rule target's input template, which EventBridge limits to 8192 characters.
    const length = JSON.stringify(props.features).length;
    if (length > MAX_STATIC_FEATURES_LENGTH) {
      v.fail(`features must be at most ${MAX_STATIC_FEATURES_LENGTH} characters of JSON, got ${length}`);
    }
  }

  // The model output mapping.
  v.instance('modelOutput', props.modelOutput, isModelOutputFormat, MODEL_OUTPUT_KIND);
  const output = isModelOutputFormat(props.modelOutput) ? props.modelOutput : undefined;
  if (output) {
    v.string('modelOutput.directionField', output.directionField, (f: string) => f.length > 0, 'must not be empty');
    v.string('modelOutput.confidenceField', output.confidenceField, (f: string) => f.length > 0, 'must not be empty');
    v.number('modelOutput.directionColumn', output.directionColumn, { min: 0, integer: true });
    v.number('modelOutput.confidenceColumn', output.confidenceColumn, { min: 0, integer: true });
    if (output.directionField !== undefined && output.directionField === output.confidenceField) {
      v.fail(`modelOutput's directionField and confidenceField must differ, got ${JSON.stringify(output.directionField)} for both`);
    }
    if (output.directionColumn !== undefined && output.directionColumn === output.confidenceColumn) {
      v.fail(`modelOutput's directionColumn and confidenceColumn must differ, got ${output.directionColumn} for both`);
    }
  }

  // Money guardrails.
  const orderAmount = props.orderAmountUsdc ?? PREDICT_TO_TRADE_DEFAULTS.orderAmountUsdc;
  const maxOrderAmount = props.maxOrderAmountUsdc ?? PREDICT_TO_TRADE_DEFAULTS.maxOrderAmountUsdc;
  v.number('confidenceThreshold', props.confidenceThreshold, { min: 0, max: 1 });
  v.number('orderAmountUsdc', props.orderAmountUsdc, { min: 0, minExclusive: true });
  v.number('maxOrderAmountUsdc', props.maxOrderAmountUsdc, { min: 0, minExclusive: true });
  v.number('maxDailyNotionalUsdc', props.maxDailyNotionalUsdc, { min: 0, minExclusive: true });
  if (!Token.isUnresolved(orderAmount) && !Token.isUnresolved(maxOrderAmount)) {
    v.check(
      'orderAmountUsdc',
      props.orderAmountUsdc,
      (a: number) => !(a > maxOrderAmount),
      `must be at most maxOrderAmountUsdc (${maxOrderAmount})`,
    );
    if (props.orderAmountUsdc === undefined) {
      v.check(
        'maxOrderAmountUsdc',
        props.maxOrderAmountUsdc,
        (m: number) => !(m < orderAmount),
        `must be at least orderAmountUsdc (${orderAmount})`,
      );
    }
  }
  if (!Token.isUnresolved(orderAmount)) {
    v.check(
      'maxDailyNotionalUsdc',
      props.maxDailyNotionalUsdc,
      (d: number) => !(d < orderAmount),
      `must be at least orderAmountUsdc (${orderAmount})`,
    );
  }
  v.matches('asset', props.asset, ASSET, 'must be a market like BTC-USDC');

  // The services profile's trade.
  v.matches(
    'coin',
    props.coin,
    COIN,
    'must be a market of the trading service: letters and digits, optionally after a dex and a colon (BTC, xyz:TSLA)',
  );
  v.number('leverage', props.leverage, { min: MIN_LEVERAGE, max: MAX_LEVERAGE, integer: true });
  // Without a coin, the services profile derives it from the asset (an invalid asset is reported above).
  const asset = props.asset ?? PREDICT_TO_TRADE_DEFAULTS.asset;
  const services = isConnection(props.connection) && props.connection.api.profile === PurpleFleaApiProfile.SERVICES;
  if (services && props.coin === undefined && (isToken(asset) || ASSET.test(asset)) && coinOf(asset) === undefined) {
    v.fail(
      isToken(asset)
        ? 'coin must be given on the services profile when asset is a token: it is derived from the value of asset at synth'
        : `coin cannot be derived from asset ${JSON.stringify(asset)}: the trading service's markets are quoted in USDC (BTC-USDC → BTC); give coin`,
    );
  }
  v.duration('maxSignalAge', props.maxSignalAge, Duration.minutes(1), Duration.hours(24));

  // Function settings the construct must own.
  checkFunctionOptions(
    v,
    props.functionOptions,
    {
      environment: CONSTRUCT_ENVIRONMENT,
      retryAttemptsWhy: 'async retries are off: a failed invocation goes to the dead-letter queue',
      maxEventAgeWhy: 'it follows maxSignalAge',
    },
    props.runtime,
  );
  v.throwIfInvalid();
}
