import { fillTemplate } from '../shared/template';
import type { BonusTierSetting, MetricGoalName } from '../../lib/private/contracts/training-bonus-escrow-env';

/**
 * The bonus a final metric earns: the best tier it strictly beats ("above 0.90" for accuracy,
 * "below 0.10" for a loss), or 0 below every bar. 0.90 exactly earns the 0.80 tier's bonus.
 */
export function bonusFor(metricValue: number, tiers: readonly BonusTierSetting[], goal: MetricGoalName): number {
  const beats = (threshold: number) => (goal === 'MAXIMIZE' ? metricValue > threshold : metricValue < threshold);
  const bestFirst = [...tiers].sort((a, b) => (goal === 'MAXIMIZE' ? b.threshold - a.threshold : a.threshold - b.threshold));
  return bestFirst.find((tier) => beats(tier.threshold))?.amountUsdc ?? 0;
}

export interface TemplateValues {
  readonly jobName: string;
  readonly metricName: string;
  readonly metricValue: number;
}

/** Fills `{jobName}`, `{metricName}` and `{metricValue}`; the construct rejects any other placeholder at synth. */
export function renderTemplate(template: string, values: TemplateValues): string {
  return fillTemplate(template, { ...values });
}
