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

/** A plain decimal, split: sign, digits, and where the point goes (exponent applied). */
const DECIMAL_PARTS = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * The whole cents a decimal text holds, exactly (a BigInt: no sum of them overflows), rounded half away from
 * zero; undefined when the text is not a plain decimal or its exponent is past ±400.
 */
export function centsOfDecimalText(text: string): bigint | undefined {
  const parts = DECIMAL_PARTS.exec(text.trim());
  if (!parts || parts[2] + (parts[3] ?? '') === '') return undefined;
  const fraction = parts[3] ?? '';
  const exponent = Number(parts[4] ?? '0');
  if (!(Math.abs(exponent) <= 400)) return undefined;
  const digits = BigInt(parts[2] + fraction);
  // value = digits × 10^(exponent − fraction digits) USDC = digits × 10^shift cents
  const shift = exponent - fraction.length + 2;
  let cents: bigint;
  if (shift >= 0) {
    cents = digits * 10n ** BigInt(shift);
  } else {
    const divisor = 10n ** BigInt(-shift);
    cents = digits / divisor + (2n * (digits % divisor) >= divisor ? 1n : 0n);
  }
  return parts[1] === '-' ? -cents : cents;
}

/** A number's whole cents, from its shortest decimal text (what JSON shows); 0 for no amount. */
export function centsOfAmount(amount: number | undefined): bigint {
  if (amount === undefined || !Number.isFinite(amount)) return 0n;
  return centsOfDecimalText(String(amount)) ?? 0n;
}

/** Whole cents as USDC decimal text, two decimals (`1234n` is `12.34`). */
export function centsText(cents: bigint): string {
  const sign = cents < 0n ? '-' : '';
  const magnitude = cents < 0n ? -cents : cents;
  return `${sign}${magnitude / 100n}.${(magnitude % 100n).toString().padStart(2, '0')}`;
}

/** Whole cents as a USDC number: exact (the decimal itself, in JSON) up to 15 significant digits. */
export function usdcOfCents(cents: bigint): number {
  return Number(centsText(cents));
}
