/** A plain decimal number as people write it in CSV and JSON: no hex, no "Infinity", no "NaN". */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The number a text holds, or undefined when it is not a plain decimal. */
export function parseDecimal(text: string): number | undefined {
  const trimmed = text.trim();
  return DECIMAL.test(trimmed) ? Number(trimmed) : undefined;
}

/**
 * A USDC amount in whole cents, rounded half away from zero the way people read the decimal:
 * 0.615 × 10 is 6.15, not the 6.14 its binary floating-point product (6.1499999…) would round to.
 */
export function toCentsRounded(amount: number): number {
  return Math.round(Number((amount * 100).toPrecision(12)));
}
