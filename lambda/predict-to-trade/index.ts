import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { PREDICT_TO_TRADE_METRICS as METRIC, PREDICT_TO_TRADE_OUTCOME_METRICS, readPredictToTradeSettings } from '../../lib/private/contracts/predict-to-trade-env';
import { dailyNotionalKey, tradeActionKey } from '../shared/action-keys';
import { ActionLedger } from '../shared/action-ledger';
import { toCentsRounded } from '../shared/decimal';
import { ModelOutputFormat, parseModelOutput, Prediction } from '../shared/model-output';
import { ActionReport, MoneyPath } from '../shared/money-path';
import { createObservability } from '../shared/observability';
import { GATEWAY_PROFILE } from '../shared/purpleflea-api';
import { PurpleFleaClient } from '../shared/purpleflea-client';
import { singleActionHandler } from '../shared/single-action-handler';
import { connectionAgentId, CredentialSource } from '../shared/purpleflea-credentials';
import { decideTrade, TradeDecision } from './decide';
import { parseEnvelope } from './envelope';

// Read and checked once per container: a missing variable fails the cold start with its name.
const settings = readPredictToTradeSettings(process.env);
const connection = readConnectionSettings(process.env, 'PredictToTrade');
const modelOutputFormat: ModelOutputFormat =
  settings.outputFormat === 'JSON'
    ? { kind: 'JSON', directionField: settings.directionField, confidenceField: settings.confidenceField }
    : { kind: 'CSV', directionColumn: settings.directionColumn, confidenceColumn: settings.confidenceColumn };

const { logger, metrics } = createObservability(METRIC.functionNameDimension);
const sagemaker = new SageMakerRuntimeClient({});
const credentials = new CredentialSource(connection.secretArn, connection);
const moneyPath = new MoneyPath(
  new ActionLedger({ tableName: connection.ledgerTableName, retentionDays: connection.ledgerRetentionDays }),
  new PurpleFleaClient({ baseUrl: connection.baseUrl, credentials, requestTimeoutMs: connection.requestTimeoutMs }),
);

export type TradeStatus = 'SUCCEEDED' | 'SKIPPED' | 'INVALID' | 'REJECTED' | 'UNKNOWN' | 'IN_PROGRESS';

export interface TradeResult {
  readonly status: TradeStatus;
  readonly actionKey?: string;
  readonly reason?: string;
  readonly prediction?: Prediction;
  /** The order: for a repeat (the ledger already had the event's order), the one the ledger recorded. */
  readonly decision?: TradeDecision;
  /** A repeat whose order this delivery computed otherwise (the model, or the settings, changed): that order; `note` says so. */
  readonly computedDecision?: TradeDecision;
  readonly note?: string;
  readonly repeated?: boolean;
  readonly response?: { readonly [key: string]: unknown };
}

/**
 * Returns normally for every outcome of the trade, UNKNOWN included (a retry would not resend it);
 * throws only when the model could not be asked, so the event goes to the dead-letter queue.
 */
export const handler = singleActionHandler<TradeResult>({
  logger,
  metrics,
  label: 'trade',
  metricNames: PREDICT_TO_TRADE_OUTCOME_METRICS,
  amountOf: (result) => (result.decision?.action === 'order' ? result.decision.amountUsdc : undefined),
  act: trade,
});

async function trade(event: unknown, deadline: number): Promise<TradeResult> {
  const parsed = parseEnvelope(event);
  if (!parsed.ok) return { status: 'INVALID', reason: parsed.reason };
  const envelope = parsed.envelope;
  const actionKey = tradeActionKey(envelope.ruleArn, envelope.eventId);
  logger.appendKeys({ actionKey, eventTime: envelope.eventTime });

  if (!settings.enabled) return { status: 'SKIPPED', actionKey, reason: 'disabled (enabled: false)' };
  const signalAgeMs = Date.now() - envelope.eventTimeMs;
  if (signalAgeMs > settings.maxSignalAgeSeconds * 1000) {
    return { status: 'SKIPPED', actionKey, reason: `stale signal: the event is ${Math.round(signalAgeMs / 1000)} s old, maxSignalAge is ${settings.maxSignalAgeSeconds} s` };
  }

  const body = await invokeEndpoint(envelope.features);
  const output = parseModelOutput(body, modelOutputFormat);
  if (!output.ok) return { status: 'INVALID', actionKey, reason: `${output.reason} (endpoint ${settings.endpointName})` };
  const prediction = output.prediction;

  const decision = decideTrade(prediction, settings);
  if (decision.action === 'skip') return { status: 'SKIPPED', actionKey, prediction, decision, reason: decision.reason };
  if (decision.action === 'invalid') return { status: 'INVALID', actionKey, prediction, decision, reason: decision.reason };
  if (settings.dryRun) {
    return { status: 'SKIPPED', actionKey, prediction, decision, reason: `dry run: would place a ${decision.direction} order of ${decision.amountUsdc} USDC on ${decision.asset}` };
  }

  // Errors never quote a value read from the secret.
  const agentId = await connectionAgentId(connection, credentials);
  const report = await moneyPath.executeOnce(
    {
      actionKey,
      amountUsdc: decision.amountUsdc,
      request: GATEWAY_PROFILE.tradeOrder({
        agentId,
        direction: decision.direction,
        amountUsdc: decision.amountUsdc,
        asset: decision.asset,
        metadata: { source: 'sagemaker', confidence: prediction.confidence, endpoint: settings.endpointName },
      }),
      cap: settings.maxDailyNotionalUsdc === undefined
        ? undefined
        : { counterKey: dailyNotionalKey(settings.dailyCapScope, new Date()), capUsdc: settings.maxDailyNotionalUsdc },
    },
    // A 429 backoff may not carry the order past the signal's age.
    { deadline: Math.min(deadline, envelope.eventTimeMs + settings.maxSignalAgeSeconds * 1000) },
  );
  if (report.apiLatencyMs !== undefined) metrics.addMetric(METRIC.apiLatency, MetricUnit.Milliseconds, report.apiLatencyMs);
  return fromReport(report, prediction, decision);
}

async function invokeEndpoint(features: unknown): Promise<string> {
  const started = Date.now();
  try {
    const response = await sagemaker.send(
      new InvokeEndpointCommand({
        EndpointName: settings.endpointName,
        TargetVariant: settings.targetVariant,
        ContentType: 'application/json',
        Accept: settings.outputFormat === 'JSON' ? 'application/json' : 'text/csv',
        Body: new TextEncoder().encode(JSON.stringify(features)),
      }),
    );
    return new TextDecoder().decode(response.Body);
  } catch (error) {
    const reason = `endpoint ${settings.endpointName} could not be invoked: ${(error as Error).name}: ${(error as Error).message}`;
    logger.error('trade FAILED', { reason });
    throw new Error(reason, { cause: error });
  } finally {
    metrics.addMetric(METRIC.endpointLatency, MetricUnit.Milliseconds, Date.now() - started);
  }
}

type OrderDecision = Extract<TradeDecision, { action: 'order' }>;

function fromReport(report: ActionReport, prediction: Prediction, decision: OrderDecision): TradeResult {
  const common = { actionKey: report.actionKey, prediction, ...reportedDecision(report, decision), repeated: report.repeated, reason: report.error };
  if (report.status === 'SUCCEEDED') return { ...common, status: 'SUCCEEDED', response: report.response };
  return { ...common, status: report.status };
}

/** A repeat reports the order the ledger recorded, and this delivery's own where it differs. */
function reportedDecision(report: ActionReport, computed: OrderDecision): Pick<TradeResult, 'decision' | 'computedDecision' | 'note'> {
  if (report.recorded === undefined) return { decision: computed };
  const order = GATEWAY_PROFILE.recordedTradeOrder(report.recorded.request ?? {});
  const recorded: OrderDecision = {
    action: 'order',
    direction: order.direction ?? computed.direction,
    amountUsdc: report.recorded.amountUsdc ?? order.amountUsdc ?? computed.amountUsdc,
    asset: order.asset ?? computed.asset,
  };
  const same = recorded.direction === computed.direction && toCentsRounded(recorded.amountUsdc) === toCentsRounded(computed.amountUsdc) && recorded.asset === computed.asset;
  if (same) return { decision: recorded };
  const describe = (d: OrderDecision) => `a ${d.direction} order of ${d.amountUsdc} USDC on ${d.asset}`;
  return { decision: recorded, computedDecision: computed, note: `repeated: the ledger recorded ${describe(recorded)}; this delivery computed ${describe(computed)}` };
}
