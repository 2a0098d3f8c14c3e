/**
 * A bonus tier of a {@link TrainingBonusEscrow}: a final metric strictly better than `threshold`
 * (above it when maximizing, below it when minimizing) earns `amountUsdc`. A job earns the bonus of
 * the best tier it beats, or nothing below every tier.
 */
export interface BonusTier {
  /** The bar to beat, e.g. 0.9 for an accuracy above 90%. A metric equal to it does not beat it. */
  readonly threshold: number;

  /** The bonus escrowed for beating it, in USDC. */
  readonly amountUsdc: number;
}

/** Whether a higher or a lower final metric is better. */
export enum MetricGoal {
  /** Higher is better (accuracy, F1, AUC): a tier is beaten by a metric above its threshold. */
  MAXIMIZE = 'MAXIMIZE',
  /** Lower is better (loss, error rate): a tier is beaten by a metric below its threshold. */
  MINIMIZE = 'MINIMIZE',
}
