import { toCentsRounded } from '../decimal';

/** A whole-cents amount as Prepare writes it into `input.csv` (`12.34`). */
const WHOLE_CENTS = /^\d+(\.\d{1,2})?$/;

/**
 * Prepare's amount checks, made again by the act step on one row of `input.csv`: whoever may write the
 * run folder could have changed the file since Prepare wrote it. Returns why the row must not move money
 * (it is then INVALID, and nothing is sent), or undefined. `caps` are the props' names and values; only the
 * row's own amount is checked against each (the act step sees one batch, never the run's total).
 */
export function amountRecheckProblem(
  amountText: string,
  amountUsdc: number,
  caps: readonly (readonly [prop: string, capUsdc: number])[],
  notDone: string,
): string | undefined {
  const text = amountText.trim();
  if (!WHOLE_CENTS.test(text))
    return `amount_usdc ${JSON.stringify(amountText)} is not an amount in whole cents: input.csv is not what Prepare wrote; ${notDone}`;
  for (const [prop, capUsdc] of caps) {
    if (toCentsRounded(amountUsdc) > toCentsRounded(capUsdc)) {
      return `amount_usdc ${text} is over ${prop} ${capUsdc}: input.csv is not what Prepare checked; ${notDone}`;
    }
  }
  return undefined;
}
