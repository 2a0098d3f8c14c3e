/** Percentiles and plain-text tables for the benchmark's report. */

export interface Stats {
  readonly n: number;
  readonly median: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** Nearest-rank percentiles. */
export function stats(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  return {
    n: sorted.length,
    median: rank(0.5),
    p90: rank(0.9),
    p99: rank(0.99),
    mean: sorted.reduce((sum, x) => sum + x, 0) / sorted.length,
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

export const ms = (x: number, digits = 2) => x.toFixed(digits);
export const nsToMs = (ns: bigint) => Number(ns) / 1e6;
export const pad = (text: string, width: number) => (text.length >= width ? text : text + ' '.repeat(width - text.length));
const padStart = (text: string, width: number) => (text.length >= width ? text : ' '.repeat(width - text.length) + text);

/** Columns separated by two spaces, each as wide as its widest cell; `rightAligned` by column index. */
export function table(rows: readonly (readonly string[])[], rightAligned: readonly number[] = []): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  return rows
    .map(
      (row) =>
        '  ' +
        row
          .map((cell, col) => (rightAligned.includes(col) ? padStart(cell, widths[col]) : pad(cell, widths[col])))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}
