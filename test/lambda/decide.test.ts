import fc from 'fast-check';
import { checkSignal, decideTrade, dryRunReason, OrderDecision, reportedDecision, TradeRules } from '../../lambda/predict-to-trade/decide';
import { GATEWAY_PROFILE } from '../../lambda/shared/purpleflea-api';

const rules: TradeRules = { confidenceThreshold: 0.6, orderAmountUsdc: 50, maxOrderAmountUsdc: 1000, asset: 'BTC-USDC' };

describe("decideTrade (the story's defaults)", () => {
  test('long and short above the threshold place a market order of the configured amount', () => {
    expect(decideTrade({ direction: 'long', confidence: 0.73 }, rules)).toEqual({
      action: 'order',
      direction: 'long',
      amountUsdc: 50,
      asset: 'BTC-USDC',
    });
    expect(decideTrade({ direction: 'short', confidence: 0.9 }, rules)).toEqual({
      action: 'order',
      direction: 'short',
      amountUsdc: 50,
      asset: 'BTC-USDC',
    });
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

describe('checkSignal (before the model is asked; the clock passed in)', () => {
  const NOW = Date.parse('2026-12-04T12:00:00Z');
  const signal = { enabled: true, maxSignalAgeSeconds: 300 };

  test('a fresh signal may trade, and must be sent before it is maxSignalAge old', () => {
    expect(checkSignal({ eventTimeMs: NOW - 10_000 }, NOW, signal)).toEqual({ ok: true, sendBy: NOW + 290_000 });
  });

  test('exactly maxSignalAge old still trades; a millisecond more is stale, its age rounded in the reason', () => {
    expect(checkSignal({ eventTimeMs: NOW - 300_000 }, NOW, signal)).toEqual({ ok: true, sendBy: NOW });
    expect(checkSignal({ eventTimeMs: NOW - 300_001 }, NOW, signal)).toEqual({
      ok: false,
      reason: 'stale signal: the event is 300 s old, maxSignalAge is 300 s',
    });
    expect(checkSignal({ eventTimeMs: NOW - 3_600_000 }, NOW, signal)).toEqual({
      ok: false,
      reason: 'stale signal: the event is 3600 s old, maxSignalAge is 300 s',
    });
  });

  test('disabled trades nothing, however fresh the signal', () => {
    expect(checkSignal({ eventTimeMs: NOW }, NOW, { ...signal, enabled: false })).toEqual({
      ok: false,
      reason: 'disabled (enabled: false)',
    });
  });

  test('property: a signal may trade exactly when enabled and at most maxSignalAge old; it is then sent by its time plus maxSignalAge', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: -600_000, max: 600_000 }),
        fc.integer({ min: 1, max: 600 }),
        (enabled, ageMs, maxSignalAgeSeconds) => {
          const eventTimeMs = NOW - ageMs;
          const check = checkSignal({ eventTimeMs }, NOW, { enabled, maxSignalAgeSeconds });
          expect(check.ok).toBe(enabled && ageMs <= maxSignalAgeSeconds * 1000);
          if (check.ok) expect(check.sendBy).toBe(eventTimeMs + maxSignalAgeSeconds * 1000);
        },
      ),
    );
  });
});

describe('dryRunReason', () => {
  const order: OrderDecision = { action: 'order', direction: 'short', amountUsdc: 50, asset: 'BTC-USDC' };

  test('a dry run says what it would place; otherwise the order is sent', () => {
    expect(dryRunReason(order, { dryRun: true })).toBe('dry run: would place a short order of 50 USDC on BTC-USDC');
    expect(dryRunReason(order, { dryRun: false })).toBeUndefined();
  });
});

describe('reportedDecision (what a repeat reports)', () => {
  const computed: OrderDecision = { action: 'order', direction: 'long', amountUsdc: 50, asset: 'BTC-USDC' };
  const recordedOrder = (direction: 'long' | 'short', amountUsdc: number, asset = 'BTC-USDC') => ({
    amountUsdc,
    request: GATEWAY_PROFILE.tradeOrder({ agentId: 'agt_a', direction, amountUsdc, asset, metadata: {} }).body,
  });

  test('a first delivery reports its own order', () => {
    expect(reportedDecision(undefined, computed, GATEWAY_PROFILE)).toEqual({ decision: computed });
  });

  test('a repeat that computed the same order (to the cent) reports the recorded one, with no note', () => {
    expect(reportedDecision(recordedOrder('long', 50.001), computed, GATEWAY_PROFILE)).toEqual({
      decision: { ...computed, amountUsdc: 50.001 },
    });
  });

  test('a repeat that computed another order reports the recorded one, and its own with a note', () => {
    expect(reportedDecision(recordedOrder('short', 80, 'ETH-USDC'), computed, GATEWAY_PROFILE)).toEqual({
      decision: { action: 'order', direction: 'short', amountUsdc: 80, asset: 'ETH-USDC' },
      computedDecision: computed,
      note: 'repeated: the ledger recorded a short order of 80 USDC on ETH-USDC; this delivery computed a long order of 50 USDC on BTC-USDC',
    });
  });

  test("what the record lacks is taken from this delivery's order", () => {
    expect(reportedDecision({}, computed, GATEWAY_PROFILE)).toEqual({ decision: computed });
  });
});
