import fc from 'fast-check';
import { loggableAmount, totalsOf } from '../../lambda/shared/batch/row-outcomes';
import { centsOfAmount, centsOfDecimalText, centsText, usdcOfCents } from '../../lambda/shared/decimal';
import { MAX_ROW_AMOUNT_USDC, MAX_RUN_TOTAL_USDC, RowOutcome, RowStatus } from '../../lib/private/contracts/batch-engine';

const STATUSES: RowStatus[] = ['SUCCEEDED', 'SKIPPED', 'INVALID', 'REJECTED', 'UNKNOWN'];

describe('finding 7: cents from decimal text, exactly', () => {
  test.each([
    ['12.34', 1234n],
    ['0.615', 62n],
    ['-0.005', -1n],
    ['0.004', 0n],
    ['1e20', 10n ** 22n],
    ['1.5e-7', 0n],
    ['50000000000000.02', 5_000_000_000_000_002n],
    ['.5', 50n],
  ])('%s is %p cents', (text, cents) => {
    expect(centsOfDecimalText(text)).toBe(cents);
  });

  test.each(['abc', '', '.', '0x10', '1e999999'])('%j is not a decimal it reads', (text) => {
    expect(centsOfDecimalText(text)).toBeUndefined();
  });

  test('a total is the decimal itself as a JSON number, up to 15 significant digits', () => {
    expect(centsText(1234n)).toBe('12.34');
    expect(JSON.stringify(usdcOfCents(BigInt(MAX_RUN_TOTAL_USDC) * 100n - 1n))).toBe('9999999999999.99');
    expect(JSON.stringify(usdcOfCents(5n))).toBe('0.05');
  });

  test('the log shows amounts in whole cents from 0 to the largest a row may have, and no other', () => {
    expect(loggableAmount(MAX_ROW_AMOUNT_USDC)).toBe(MAX_ROW_AMOUNT_USDC);
    expect(loggableAmount(999_999_999.99)).toBe(999_999_999.99);
    expect(loggableAmount(0)).toBe(0);
    for (const amount of [MAX_ROW_AMOUNT_USDC + 0.01, 30.004, -5, 1e20, Number.NaN, undefined])
      expect(loggableAmount(amount)).toBeUndefined();
  });
});

describe('finding 7: totalsOf sums in whole cents', () => {
  const cents = fc.bigInt({ min: 0n, max: BigInt(MAX_ROW_AMOUNT_USDC) * 100n });
  const row = fc.record({ cents, status: fc.constantFrom(...STATUSES) });

  test('property: every total, as JSON holds it, is the exact sum of its rows’ cents', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 200 }), (drawn) => {
        const rows: RowOutcome[] = drawn.map((r, index) => ({ line: index + 2, status: r.status, amount_usdc: usdcOfCents(r.cents) }));
        const totals = JSON.parse(JSON.stringify(totalsOf(rows)));
        for (const status of STATUSES) {
          const expected = drawn.filter((r) => r.status === status).reduce((sum, r) => sum + r.cents, 0n);
          expect(centsOfAmount(totals[status].amountUsdc)).toBe(expected);
          expect(totals[status].rows).toBe(drawn.filter((r) => r.status === status).length);
        }
        expect(centsOfAmount(totals.amountUsdc)).toBe(drawn.reduce((sum, r) => sum + r.cents, 0n));
      }),
      { numRuns: 500 },
    );
  });

  test('10,000 rows at the largest amount less a cent add up exactly (9,999,999,999,900.00)', () => {
    const rows: RowOutcome[] = Array.from({ length: 10_000 }, (_, index) => ({
      line: index + 2,
      status: 'INVALID',
      amount_usdc: 999_999_999.99,
    }));
    const totals = totalsOf(rows);
    expect(JSON.stringify(totals.INVALID.amountUsdc)).toBe('9999999999900');
    expect(JSON.stringify(totals.amountUsdc)).toBe('9999999999900');
  });
});
