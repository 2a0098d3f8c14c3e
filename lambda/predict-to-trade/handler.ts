import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import {
  PREDICT_TO_TRADE_METRICS as METRIC,
  PREDICT_TO_TRADE_OUTCOME_METRICS,
  PredictToTradeSettings,
} from '../../lib/private/contracts/predict-to-trade-env';
import { dailyNotionalKey, tradeActionKey } from '../shared/action-keys';
import type { ConnectionRuntime } from '../shared/connection-runtime';
import { ModelOutputFormat, parseModelOutput, Prediction } from '../shared/model-output';
import type { ActionReport } from '../shared/money-path';
import type { PurpleFleaApiProfile } from '../shared/purpleflea-api';
import { singleActionHandler } from '../shared/single-action-handler';
import { checkSignal, decideTrade, dryRunReason, OrderDecision, reportedDecision, TradeDecision } from './decide';
import { parseEnvelope } from './envelope';

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
  /**
   * The services profile: the notional the answer says was filled (its `size_usd`, recorded with the answer in
   * the ledger), which may be less than the order's (an immediate-or-cancel order fills partly or not at all).
   */
  readonly filledUsdc?: number;
}

/** One InvokeEndpoint call: the request's JSON body out, the response's body back as text. */
export type InvokeEndpoint = (request: EndpointRequest) => Promise<string>;

export interface EndpointRequest {
  readonly endpointName: string;
  readonly targetVariant?: string;
  /** The content type the model answers in: `application/json` or `text/csv`. */
  readonly accept: string;
  /** The features, as JSON. */
  readonly body: string;
}

/** InvokeEndpoint through the SageMaker Runtime client. */
export function invokeEndpointWith(client: SageMakerRuntimeClient): InvokeEndpoint {
  return async (request) => {
    const response = await client.send(
      new InvokeEndpointCommand({
        EndpointName: request.endpointName,
        TargetVariant: request.targetVariant,
        ContentType: 'application/json',
        Accept: request.accept,
        Body: new TextEncoder().encode(request.body),
      }),
    );
    return new TextDecoder().decode(response.Body);
  };
}

export interface PredictToTradeDeps {
  readonly settings: PredictToTradeSettings;
  /** The connection's API profile, money path and agent ids (lambda/shared/connection-runtime.ts). */
  readonly runtime: Pick<ConnectionRuntime, 'api' | 'moneyPath' | 'agentId'>;
  readonly invokeEndpoint: InvokeEndpoint;
  /** The clock (epoch ms): the signal's age, the day of the daily cap, the invocation's deadline. */
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * The PredictToTrade handler: the event's features → the model → decideTrade → at most one order, through
 * the money path. Returns normally for every outcome of the trade, UNKNOWN included (a retry would not
 * resend it); throws only when the model could not be asked, so the event goes to the dead-letter queue.
 */
export function createPredictToTradeHandler(deps: PredictToTradeDeps) {
  const { settings, runtime, now, logger, metrics } = deps;
  const { api } = runtime;
  const modelOutputFormat: ModelOutputFormat =
    settings.outputFormat === 'JSON'
      ? { kind: 'JSON', directionField: settings.directionField, confidenceField: settings.confidenceField }
      : { kind: 'CSV', directionColumn: settings.directionColumn, confidenceColumn: settings.confidenceColumn };

  async function trade(event: unknown, deadline: number): Promise<TradeResult> {
    const parsed = parseEnvelope(event);
    if (!parsed.ok) return { status: 'INVALID', reason: parsed.reason };
    const envelope = parsed.envelope;
    const actionKey = tradeActionKey(envelope.ruleArn, envelope.eventId);
    logger.appendKeys({ actionKey, eventTime: envelope.eventTime });

    const signal = checkSignal(envelope, now(), settings);
    if (!signal.ok) return { status: 'SKIPPED', actionKey, reason: signal.reason };

    const body = await invokeEndpoint(envelope.features);
    const output = parseModelOutput(body, modelOutputFormat);
    if (!output.ok) return { status: 'INVALID', actionKey, reason: `${output.reason} (endpoint ${settings.endpointName})` };
    const prediction = output.prediction;

    const decision = decideTrade(prediction, settings);
    if (decision.action === 'skip') return { status: 'SKIPPED', actionKey, prediction, decision, reason: decision.reason };
    if (decision.action === 'invalid') return { status: 'INVALID', actionKey, prediction, decision, reason: decision.reason };
    const dryRun = dryRunReason(decision, settings);
    if (dryRun !== undefined) return { status: 'SKIPPED', actionKey, prediction, decision, reason: dryRun };

    // The agent that trades (on the services profile the trading key's). Errors never quote a value read from the secret.
    const agentId = await runtime.agentId(api.serviceOf.trade);
    const report = await runtime.moneyPath.executeOnce(
      {
        actionKey,
        amountUsdc: decision.amountUsdc,
        request: api.tradeOrder({
          agentId,
          direction: decision.direction,
          amountUsdc: decision.amountUsdc,
          asset: decision.asset,
          metadata: { source: 'sagemaker', confidence: prediction.confidence, endpoint: settings.endpointName },
          services: settings.services,
        }),
        cap:
          settings.maxDailyNotionalUsdc === undefined
            ? undefined
            : { counterKey: dailyNotionalKey(settings.dailyCapScope, new Date(now())), capUsdc: settings.maxDailyNotionalUsdc },
      },
      // A 429 backoff may not carry the order past the signal's age.
      { deadline: Math.min(deadline, signal.sendBy) },
    );
    if (report.apiLatencyMs !== undefined) metrics.addMetric(METRIC.apiLatency, MetricUnit.Milliseconds, report.apiLatencyMs);
    return fromReport(report, prediction, decision, api);
  }

  async function invokeEndpoint(features: unknown): Promise<string> {
    const started = now();
    try {
      return await deps.invokeEndpoint({
        endpointName: settings.endpointName,
        targetVariant: settings.targetVariant,
        accept: settings.outputFormat === 'JSON' ? 'application/json' : 'text/csv',
        body: JSON.stringify(features),
      });
    } catch (error) {
      const reason = `endpoint ${settings.endpointName} could not be invoked: ${(error as Error).name}: ${(error as Error).message}`;
      logger.error('trade FAILED', { reason });
      throw new Error(reason, { cause: error });
    } finally {
      metrics.addMetric(METRIC.endpointLatency, MetricUnit.Milliseconds, now() - started);
    }
  }

  return singleActionHandler<TradeResult>({
    logger,
    metrics,
    now,
    label: 'trade',
    metricNames: PREDICT_TO_TRADE_OUTCOME_METRICS,
    // What was traded: the filled notional where the answer says (a partial fill), else the order's.
    amountOf: (result) => result.filledUsdc ?? (result.decision?.action === 'order' ? result.decision.amountUsdc : undefined),
    act: trade,
  });
}

function fromReport(report: ActionReport, prediction: Prediction, decision: OrderDecision, api: PurpleFleaApiProfile): TradeResult {
  const common = {
    actionKey: report.actionKey,
    prediction,
    ...reportedDecision(report.recorded, decision, api),
    repeated: report.repeated,
    reason: report.error,
  };
  if (report.status === 'SUCCEEDED')
    return { ...common, status: 'SUCCEEDED', response: report.response, filledUsdc: api.filledUsdc(report.response) };
  return { ...common, status: report.status };
}
