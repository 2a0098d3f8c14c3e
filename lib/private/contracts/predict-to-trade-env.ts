import { readApiProfile } from './connection-env';
import { compactEnvironment, Environment, EnvironmentReader, decimalText, WriteNumber } from './env-reader';
import type { OutcomeMetricNames } from './outcome-metrics';

export const MODEL_OUTPUT_FORMATS = ['JSON', 'CSV'] as const;
export type ModelOutputFormatName = (typeof MODEL_OUTPUT_FORMATS)[number];

/** Everything the PredictToTrade handler is told by its construct, besides the connection. */
export interface PredictToTradeSettings {
  readonly endpointName: string;
  readonly targetVariant?: string;
  readonly outputFormat: ModelOutputFormatName;
  /** JSON output: the fields holding the direction and the confidence. */
  readonly directionField: string;
  readonly confidenceField: string;
  /** CSV output: zero-based column positions of the direction and the confidence. */
  readonly directionColumn: number;
  readonly confidenceColumn: number;
  readonly confidenceThreshold: number;
  readonly orderAmountUsdc: number;
  readonly maxOrderAmountUsdc: number;
  /** Absent means no daily cap. */
  readonly maxDailyNotionalUsdc?: number;
  /** Names the daily-notional counter, so two PredictToTrade constructs keep separate caps. */
  readonly dailyCapScope: string;
  readonly asset: string;
  readonly dryRun: boolean;
  readonly enabled: boolean;
  readonly maxSignalAgeSeconds: number;
  /**
   * What only the services profile's trade uses: present exactly when the connection speaks the services
   * profile (PF_API_PROFILE=services), absent on the gateway, whose order has neither.
   */
  readonly services?: ServicesTradeSettings;
}

/** The services profile's trade (`POST /trade/open`): the market and the leverage, always sent. */
export interface ServicesTradeSettings {
  /** The trading service's market, e.g. `BTC` (from the asset `BTC-USDC` unless given). */
  readonly coin: string;
  /** A whole number from 1 to 50: sent with every trade (the service's own default is 5). `size_usd` is the notional. */
  readonly leverage: number;
}

export const PREDICT_TO_TRADE_ENV = {
  endpointName: 'ENDPOINT_NAME',
  targetVariant: 'TARGET_VARIANT',
  outputFormat: 'MODEL_OUTPUT_FORMAT',
  directionField: 'DIRECTION_FIELD',
  confidenceField: 'CONFIDENCE_FIELD',
  directionColumn: 'DIRECTION_COLUMN',
  confidenceColumn: 'CONFIDENCE_COLUMN',
  confidenceThreshold: 'CONFIDENCE_THRESHOLD',
  orderAmountUsdc: 'ORDER_AMOUNT_USDC',
  maxOrderAmountUsdc: 'MAX_ORDER_AMOUNT_USDC',
  maxDailyNotionalUsdc: 'MAX_DAILY_NOTIONAL_USDC',
  dailyCapScope: 'DAILY_CAP_SCOPE',
  asset: 'ASSET',
  dryRun: 'DRY_RUN',
  enabled: 'ENABLED',
  maxSignalAgeSeconds: 'MAX_SIGNAL_AGE_SECONDS',
  /** The services profile only (ServicesTradeSettings). */
  coin: 'COIN',
  leverage: 'LEVERAGE',
} as const;

export function predictToTradeEnvironment(
  settings: PredictToTradeSettings,
  writeNumber: WriteNumber = decimalText,
): { [name: string]: string } {
  const env = PREDICT_TO_TRADE_ENV;
  return compactEnvironment({
    [env.endpointName]: settings.endpointName,
    [env.targetVariant]: settings.targetVariant,
    [env.outputFormat]: settings.outputFormat,
    [env.directionField]: settings.directionField,
    [env.confidenceField]: settings.confidenceField,
    [env.directionColumn]: writeNumber(settings.directionColumn),
    [env.confidenceColumn]: writeNumber(settings.confidenceColumn),
    [env.confidenceThreshold]: writeNumber(settings.confidenceThreshold),
    [env.orderAmountUsdc]: writeNumber(settings.orderAmountUsdc),
    [env.maxOrderAmountUsdc]: writeNumber(settings.maxOrderAmountUsdc),
    [env.maxDailyNotionalUsdc]: settings.maxDailyNotionalUsdc === undefined ? undefined : writeNumber(settings.maxDailyNotionalUsdc),
    [env.dailyCapScope]: settings.dailyCapScope,
    [env.asset]: settings.asset,
    [env.dryRun]: String(settings.dryRun),
    [env.enabled]: String(settings.enabled),
    [env.maxSignalAgeSeconds]: writeNumber(settings.maxSignalAgeSeconds),
    [env.coin]: settings.services?.coin,
    [env.leverage]: settings.services && writeNumber(settings.services.leverage),
  });
}

export function readPredictToTradeSettings(env: Environment): PredictToTradeSettings {
  const read = new EnvironmentReader(env, 'PredictToTrade');
  const names = PREDICT_TO_TRADE_ENV;
  return {
    endpointName: read.string(names.endpointName),
    targetVariant: read.optionalString(names.targetVariant),
    outputFormat: read.oneOf(names.outputFormat, MODEL_OUTPUT_FORMATS),
    directionField: read.string(names.directionField),
    confidenceField: read.string(names.confidenceField),
    directionColumn: read.number(names.directionColumn),
    confidenceColumn: read.number(names.confidenceColumn),
    confidenceThreshold: read.number(names.confidenceThreshold),
    orderAmountUsdc: read.number(names.orderAmountUsdc),
    maxOrderAmountUsdc: read.number(names.maxOrderAmountUsdc),
    maxDailyNotionalUsdc: read.optionalNumber(names.maxDailyNotionalUsdc),
    dailyCapScope: read.string(names.dailyCapScope),
    asset: read.string(names.asset),
    dryRun: read.boolean(names.dryRun),
    enabled: read.boolean(names.enabled),
    maxSignalAgeSeconds: read.number(names.maxSignalAgeSeconds),
    services:
      readApiProfile(env, 'PredictToTrade') === 'services'
        ? { coin: read.string(names.coin), leverage: read.number(names.leverage) }
        : undefined,
  };
}

/** The EMF metrics the handler emits and the construct alarms on. */
export const PREDICT_TO_TRADE_METRICS = {
  namespace: 'PurpleFlea/SageMaker',
  /** Powertools' `service` dimension. */
  serviceName: 'predict-to-trade',
  /** A second dimension, the function's name, so each construct's alarms see only its own function. */
  functionNameDimension: 'FunctionName',
  ordersPlaced: 'OrdersPlaced',
  ordersSkipped: 'OrdersSkipped',
  ordersInvalid: 'OrdersInvalid',
  ordersRejected: 'OrdersRejected',
  ordersUnknown: 'OrdersUnknown',
  notionalUsdc: 'NotionalUsdc',
  endpointLatency: 'EndpointLatency',
  apiLatency: 'ApiLatency',
} as const;

/** Which of PREDICT_TO_TRADE_METRICS counts each outcome (the handler emits them, the dashboard shows them). */
export const PREDICT_TO_TRADE_OUTCOME_METRICS: OutcomeMetricNames = {
  succeeded: PREDICT_TO_TRADE_METRICS.ordersPlaced,
  skipped: PREDICT_TO_TRADE_METRICS.ordersSkipped,
  invalid: PREDICT_TO_TRADE_METRICS.ordersInvalid,
  rejected: PREDICT_TO_TRADE_METRICS.ordersRejected,
  unknown: PREDICT_TO_TRADE_METRICS.ordersUnknown,
  amount: PREDICT_TO_TRADE_METRICS.notionalUsdc,
};
