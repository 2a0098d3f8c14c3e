/**
 * TrainingBonusEscrow's decisions, with no I/O: whether a job's event may earn a bonus at all, the metric and the
 * bonus it earns, the seller, whether the escrow is sent, and which escrow a repeat delivery reports.
 */
import {
  BonusTierSetting,
  MetricGoalName,
  TRAINING_JOB_STATE_CHANGE,
  TrainingBonusEscrowSettings,
} from '../../lib/private/contracts/training-bonus-escrow-env';
import { toCentsRounded } from '../shared/decimal';
import type { ActionReport } from '../shared/money-path';
import { AGENT_ID_PATTERN, type PurpleFleaApiProfile } from '../shared/purpleflea-api';
import { fillTemplate } from '../shared/template';
import type { TrainingJobEvent } from './training-job-event';

export type Checked<T = object> = ({ readonly ok: true } & T) | { readonly ok: false; readonly reason: string };

/** Before SageMaker is asked: a disabled construct escrows nothing, and neither does a job that did not complete. */
export function checkJob(job: Pick<TrainingJobEvent, 'status'>, rules: { readonly enabled: boolean }): Checked {
  if (!rules.enabled) return { ok: false, reason: 'disabled (enabled: false)' };
  if (job.status !== TRAINING_JOB_STATE_CHANGE.completedStatus) return { ok: false, reason: `the job is ${job.status}, not Completed` };
  return { ok: true };
}

/** An entry of DescribeTrainingJob's FinalMetricDataList. */
export interface FinalMetric {
  readonly MetricName?: string;
  readonly Value?: number;
}

/** The job's final value of `metricName`: it must be there, and a finite number. */
export function finalMetricValue(
  jobName: string,
  finalMetrics: readonly FinalMetric[] | undefined,
  metricName: string,
): Checked<{ readonly value: number }> {
  const metric = finalMetrics?.find((entry) => entry.MetricName === metricName);
  if (!metric) {
    const found = (finalMetrics ?? []).map((entry) => entry.MetricName).join(', ') || 'none';
    return { ok: false, reason: `job ${jobName} has no final metric "${metricName}" (it has: ${found})` };
  }
  const value = metric.Value;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return { ok: false, reason: `job ${jobName}'s final metric "${metricName}" is not a finite number, got ${String(value)}` };
  }
  return { ok: true, value };
}

/**
 * The bonus a final metric earns: the best tier it strictly beats ("above 0.90" for accuracy,
 * "below 0.10" for a loss), or 0 below every bar. 0.90 exactly earns the 0.80 tier's bonus.
 */
export function bonusFor(metricValue: number, tiers: readonly BonusTierSetting[], goal: MetricGoalName): number {
  const beats = (threshold: number) => (goal === 'MAXIMIZE' ? metricValue > threshold : metricValue < threshold);
  const bestFirst = [...tiers].sort((a, b) => (goal === 'MAXIMIZE' ? b.threshold - a.threshold : a.threshold - b.threshold));
  return bestFirst.find((tier) => beats(tier.threshold))?.amountUsdc ?? 0;
}

export type BonusDecision =
  | { readonly action: 'escrow'; readonly bonusUsdc: number }
  | { readonly action: 'skip' | 'invalid'; readonly bonusUsdc: number; readonly reason: string };

/** The bonus tiers' answer: nothing below every tier; a bonus over maxBonusUsdc is invalid, never reduced. */
export function decideBonus(
  metricValue: number,
  rules: Pick<TrainingBonusEscrowSettings, 'metricName' | 'bonusTiers' | 'metricGoal' | 'maxBonusUsdc'>,
): BonusDecision {
  const bonusUsdc = bonusFor(metricValue, rules.bonusTiers, rules.metricGoal);
  if (bonusUsdc === 0) return { action: 'skip', bonusUsdc, reason: `${rules.metricName} ${metricValue} is below every bonus tier` };
  if (bonusUsdc > rules.maxBonusUsdc)
    return { action: 'invalid', bonusUsdc, reason: `bonus ${bonusUsdc} USDC is over maxBonusUsdc ${rules.maxBonusUsdc}` };
  return { action: 'escrow', bonusUsdc };
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

/**
 * The seller: the job's tag when `sellerTagKey` is set and the job has it, else the seller template. It must be
 * an agent id, and one the connection's API can take as a counterparty (`counterpartyProblem`, the profile's:
 * on the services profile an `ag_` id of the casino registry), else the escrow is INVALID, never sent.
 */
export function sellerOf(
  job: Pick<TrainingJobEvent, 'jobName' | 'tags'>,
  values: TemplateValues,
  rules: Pick<TrainingBonusEscrowSettings, 'sellerTagKey' | 'sellerTemplate'>,
  counterpartyProblem: (agentId: string) => string | undefined = () => undefined,
): Checked<{ readonly agentId: string }> {
  const tagged = rules.sellerTagKey === undefined ? undefined : job.tags[rules.sellerTagKey];
  const agentId = tagged ?? renderTemplate(rules.sellerTemplate, values);
  const source = tagged === undefined ? 'the seller template' : `the job's tag "${rules.sellerTagKey}"`;
  if (!AGENT_ID_PATTERN.test(agentId)) {
    return { ok: false, reason: `${source} gives an invalid seller agent id for job ${job.jobName}: ${JSON.stringify(agentId)}` };
  }
  const problem = counterpartyProblem(agentId);
  if (problem !== undefined)
    return { ok: false, reason: `${source} gives a seller this connection cannot escrow for, for job ${job.jobName}: ${problem}` };
  return { ok: true, agentId };
}

/** An escrow's terms, as sent and as announced. */
export interface EscrowTerms {
  readonly buyer: string;
  readonly seller: string;
  readonly bonusUsdc: number;
  readonly condition: string;
}

/** Why an escrow decided on is not sent (a dry run, which says what it would escrow), or undefined: it is sent. */
export function dryRunReason(escrow: EscrowTerms, rules: { readonly dryRun: boolean }): string | undefined {
  if (!rules.dryRun) return undefined;
  return `dry run: would escrow ${escrow.bonusUsdc} USDC from ${escrow.buyer} to ${escrow.seller}`;
}

/** The escrow a result reports and announces, and this delivery's bonus with a note where a repeat found another recorded. */
export interface ReportedEscrow {
  readonly escrow: EscrowTerms;
  readonly computedBonusUsdc?: number;
  readonly note?: string;
}

/**
 * A repeat (the ledger already had the job's escrow) reports, and announces, the escrow the ledger recorded (read
 * back by the connection's API profile), not the one this delivery computed.
 */
export function reportedEscrow(
  recorded: ActionReport['recorded'],
  computed: EscrowTerms,
  api: Pick<PurpleFleaApiProfile, 'recordedEscrow'>,
): ReportedEscrow {
  const request = api.recordedEscrow(recorded?.request ?? {});
  const escrow: EscrowTerms = {
    buyer: request.buyer ?? computed.buyer,
    seller: request.seller ?? computed.seller,
    bonusUsdc: recorded?.amountUsdc ?? request.amountUsdc ?? computed.bonusUsdc,
    condition: request.condition ?? computed.condition,
  };
  const differs = [
    ...(toCentsRounded(escrow.bonusUsdc) !== toCentsRounded(computed.bonusUsdc) ? [`${computed.bonusUsdc} USDC`] : []),
    ...(escrow.seller !== computed.seller ? [`the seller ${computed.seller}`] : []),
  ];
  if (differs.length === 0) return { escrow };
  const toSeller = escrow.seller !== computed.seller ? ` to ${escrow.seller}` : '';
  return {
    escrow,
    computedBonusUsdc: computed.bonusUsdc,
    note: `repeated: the ledger recorded an escrow of ${escrow.bonusUsdc} USDC${toSeller} for this job; this delivery computed ${differs.join(' and ')}`,
  };
}
