/**
 * The metric names one construct counts its actions' outcomes under: its handler emits them and its
 * dashboard section shows them, both from the one mapping in the construct's contract.
 */
export interface OutcomeMetricNames {
  readonly succeeded: string;
  readonly skipped: string;
  readonly invalid: string;
  readonly rejected: string;
  readonly unknown: string;
  /** The amount moved by a SUCCEEDED action, in USDC. */
  readonly amount: string;
}

/** Powertools Metrics' own dimension, set from POWERTOOLS_SERVICE_NAME: every handler metric has it. */
export const POWERTOOLS_SERVICE_DIMENSION = 'service';
