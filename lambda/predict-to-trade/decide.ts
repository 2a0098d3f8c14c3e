import { Prediction } from '../shared/model-output';

export interface TradeRules {
  readonly confidenceThreshold: number;
  readonly orderAmountUsdc: number;
  readonly maxOrderAmountUsdc: number;
  readonly asset: string;
}

export type TradeDecision =
  | { readonly action: 'order'; readonly direction: 'long' | 'short'; readonly amountUsdc: number; readonly asset: string }
  | { readonly action: 'skip'; readonly reason: string }
  | { readonly action: 'invalid'; readonly reason: string };

/** The hand-written pattern's rule: hold or confidence below the threshold places nothing; else a market order. */
export function decideTrade(prediction: Prediction, rules: TradeRules): TradeDecision {
  if (prediction.direction === 'hold') return { action: 'skip', reason: 'the model says hold' };
  if (prediction.confidence < rules.confidenceThreshold) {
    return { action: 'skip', reason: `confidence ${prediction.confidence} is below the threshold ${rules.confidenceThreshold}` };
  }
  if (!(rules.orderAmountUsdc > 0) || rules.orderAmountUsdc > rules.maxOrderAmountUsdc) {
    return { action: 'invalid', reason: `order amount ${rules.orderAmountUsdc} USDC is over maxOrderAmountUsdc ${rules.maxOrderAmountUsdc}` };
  }
  return { action: 'order', direction: prediction.direction, amountUsdc: rules.orderAmountUsdc, asset: rules.asset };
}
