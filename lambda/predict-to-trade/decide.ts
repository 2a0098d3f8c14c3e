/**
 * PredictToTrade's decisions, with no I/O (the clock is an argument): whether a signal may trade at all, which
 * order a prediction earns, whether it is sent, and which order a repeat delivery reports.
 */
import { toCentsRounded } from '../shared/decimal';
import type { Prediction } from '../shared/model-output';
import type { ActionReport } from '../shared/money-path';
import type { PurpleFleaApiProfile } from '../shared/purpleflea-api';
import type { TradeEnvelope } from './envelope';

export interface TradeRules {
  readonly confidenceThreshold: number;
  readonly orderAmountUsdc: number;
  readonly maxOrderAmountUsdc: number;
  readonly asset: string;
  /** The services profile's market and leverage (PredictToTradeSettings' `services`); absent on the gateway. */
  readonly services?: { readonly coin: string; readonly leverage: number };
}

export type TradeDecision =
  | {
      readonly action: 'order';
      readonly direction: 'long' | 'short';
      /** On the services profile the notional (`size_usd`). */
      readonly amountUsdc: number;
      readonly asset: string;
      /** The services profile's market and leverage, sent with the order; absent on the gateway. */
      readonly coin?: string;
      readonly leverage?: number;
    }
  | { readonly action: 'skip'; readonly reason: string }
  | { readonly action: 'invalid'; readonly reason: string };

export type OrderDecision = Extract<TradeDecision, { action: 'order' }>;

export interface SignalRules {
  readonly enabled: boolean;
  readonly maxSignalAgeSeconds: number;
}

/** A signal that may trade must be sent by `sendBy` (epoch ms), when it grows older than maxSignalAge. */
export type SignalCheck = { readonly ok: true; readonly sendBy: number } | { readonly ok: false; readonly reason: string };

/**
 * Before the model is asked: a disabled construct trades nothing, and neither does a signal older than
 * maxSignalAge at `now` (epoch ms).
 */
export function checkSignal(envelope: Pick<TradeEnvelope, 'eventTimeMs'>, now: number, rules: SignalRules): SignalCheck {
  if (!rules.enabled) return { ok: false, reason: 'disabled (enabled: false)' };
  const signalAgeMs = now - envelope.eventTimeMs;
  if (signalAgeMs > rules.maxSignalAgeSeconds * 1000) {
    return {
      ok: false,
      reason: `stale signal: the event is ${Math.round(signalAgeMs / 1000)} s old, maxSignalAge is ${rules.maxSignalAgeSeconds} s`,
    };
  }
  return { ok: true, sendBy: envelope.eventTimeMs + rules.maxSignalAgeSeconds * 1000 };
}

/** The hand-written pattern's rule: hold or confidence below the threshold places nothing; else a market order. */
export function decideTrade(prediction: Prediction, rules: TradeRules): TradeDecision {
  if (prediction.direction === 'hold') return { action: 'skip', reason: 'the model says hold' };
  if (prediction.confidence < rules.confidenceThreshold) {
    return { action: 'skip', reason: `confidence ${prediction.confidence} is below the threshold ${rules.confidenceThreshold}` };
  }
  if (!(rules.orderAmountUsdc > 0) || rules.orderAmountUsdc > rules.maxOrderAmountUsdc) {
    return {
      action: 'invalid',
      reason: `order amount ${rules.orderAmountUsdc} USDC is over maxOrderAmountUsdc ${rules.maxOrderAmountUsdc}`,
    };
  }
  const order = { action: 'order', direction: prediction.direction, amountUsdc: rules.orderAmountUsdc, asset: rules.asset } as const;
  return rules.services === undefined ? order : { ...order, coin: rules.services.coin, leverage: rules.services.leverage };
}

/** An order in words: `a long order of 50 USDC on BTC-USDC`; on the services profile its market and leverage. */
function describeOrder(order: OrderDecision): string {
  if (order.coin === undefined) return `a ${order.direction} order of ${order.amountUsdc} USDC on ${order.asset}`;
  return `a ${order.direction} order of ${order.amountUsdc} USDC notional on ${order.coin} at leverage ${order.leverage}`;
}

/** Why an order decided on is not sent (a dry run, which says what it would place), or undefined: it is sent. */
export function dryRunReason(order: OrderDecision, rules: { readonly dryRun: boolean }): string | undefined {
  if (!rules.dryRun) return undefined;
  return `dry run: would place ${describeOrder(order)}`;
}

/** The order a result reports, and this delivery's own with a note where a repeat found another recorded. */
export interface ReportedDecision {
  readonly decision: OrderDecision;
  readonly computedDecision?: OrderDecision;
  readonly note?: string;
}

/**
 * A repeat (the ledger already had the action) reports the order the ledger recorded, read back by the
 * connection's API profile, and this delivery's own where it differs.
 */
export function reportedDecision(
  recorded: ActionReport['recorded'],
  computed: OrderDecision,
  api: Pick<PurpleFleaApiProfile, 'recordedTradeOrder'>,
): ReportedDecision {
  if (recorded === undefined) return { decision: computed };
  const order = api.recordedTradeOrder(recorded.request ?? {});
  const placed: OrderDecision = {
    action: 'order',
    direction: order.direction ?? computed.direction,
    amountUsdc: recorded.amountUsdc ?? order.amountUsdc ?? computed.amountUsdc,
    asset: order.asset ?? computed.asset,
    ...(computed.coin === undefined ? {} : { coin: order.coin ?? computed.coin, leverage: order.leverage ?? computed.leverage }),
  };
  const same =
    placed.direction === computed.direction &&
    toCentsRounded(placed.amountUsdc) === toCentsRounded(computed.amountUsdc) &&
    placed.asset === computed.asset &&
    placed.coin === computed.coin &&
    placed.leverage === computed.leverage;
  if (same) return { decision: placed };
  return {
    decision: placed,
    computedDecision: computed,
    note: `repeated: the ledger recorded ${describeOrder(placed)}; this delivery computed ${describeOrder(computed)}`,
  };
}
