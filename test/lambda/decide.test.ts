import fc from 'fast-check';
import { decideTrade, TradeRules } from '../../lambda/predict-to-trade/decide';

const rules: TradeRules = { confidenceThreshold: 0.6, orderAmountUsdc: 50, maxOrderAmountUsdc: 1000, asset: 'BTC-USDC' };

describe("decideTrade (the story's defaults)", () => {
  test('long and short above the threshold place a market order of the configured amount', () => {
    expect(decideTrade({ direction: 'long', confidence: 0.73 }, rules)).toEqual({ action: 'order', direction: 'long', amountUsdc: 50, asset: 'BTC-USDC' });
    expect(decideTrade({ direction: 'short', confidence: 0.9 }, rules)).toEqual({ action: 'order', direction: 'short', amountUsdc: 50, asset: 'BTC-USDC' });
  });

  test('confidence exactly at the threshold trades (the hand-written pattern skips only below it)', () => {
    expect(decideTrade({ direction: 'long', confidence: 0.6 }, rules).action).toBe('order');
  });

  test('hold never trades, even when confident', () => {
    expect(decideTrade({ direction: 'hold', confidence: 0.99 }, rules)).toEqual({ action: 'skip', reason: 'the model says hold' });
  });

  test('below the threshold is skipped with the numbers in the reason', () => {
    expect(decideTrade({ direction: 'long', confidence: 0.59 }, rules)).toEqual({
      action: 'skip',
      reason: 'confidence 0.59 is below the threshold 0.6',
    });
  });

  test('an amount over the cap is invalid, never reduced', () => {
    expect(decideTrade({ direction: 'long', confidence: 0.9 }, { ...rules, orderAmountUsdc: 1500 })).toEqual({
      action: 'invalid',
      reason: 'order amount 1500 USDC is over maxOrderAmountUsdc 1000',
    });
  });

  test('property: an order happens exactly when direction is long/short and confidence >= threshold', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('long' as const, 'short' as const, 'hold' as const),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (direction, confidence, threshold) => {
          const decision = decideTrade({ direction, confidence }, { ...rules, confidenceThreshold: threshold });
          const shouldTrade = direction !== 'hold' && confidence >= threshold;
          expect(decision.action).toBe(shouldTrade ? 'order' : 'skip');
          if (decision.action === 'order') expect(decision.amountUsdc).toBeLessThanOrEqual(rules.maxOrderAmountUsdc);
        },
      ),
    );
  });
});
