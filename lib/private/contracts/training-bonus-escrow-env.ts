import { readApiProfile } from './connection-env';
import { compactEnvironment, Environment, EnvironmentReader, decimalText, WriteNumber } from './env-reader';
import type { OutcomeMetricNames } from './outcome-metrics';

export const METRIC_GOALS = ['MAXIMIZE', 'MINIMIZE'] as const;
export type MetricGoalName = (typeof METRIC_GOALS)[number];

/** A bonus tier: a metric strictly better than `threshold` earns `amountUsdc`. */
export interface BonusTierSetting {
  readonly threshold: number;
  readonly amountUsdc: number;
}

/** The placeholders the seller and condition templates may use, filled by the handler. */
export const ESCROW_TEMPLATE_PLACEHOLDERS = ['jobName', 'metricName', 'metricValue'] as const;

/** Everything the TrainingBonusEscrow handler is told by its construct, besides the connection. */
export interface TrainingBonusEscrowSettings {
  /** The FinalMetricDataList entry to read, e.g. `validation:accuracy`. */
  readonly metricName: string;
  readonly metricGoal: MetricGoalName;
  readonly bonusTiers: readonly BonusTierSetting[];
  readonly maxBonusUsdc: number;
  /** The escrow's buyer: who pays the bonus. */
  readonly buyerAgentId: string;
  /** A training-job tag naming the seller; absent means the seller template alone decides. */
  readonly sellerTagKey?: string;
  readonly sellerTemplate: string;
  /**
   * The seller is the model version's agent in the ModelAgents registry (`sellerFrom`), unless the job's tag names one;
   * a job whose agent is not registered yet waits. Absent means false (the template decides).
   */
  readonly sellerFromRegistry?: boolean;
  readonly conditionTemplate: string;
  /** Name or ARN of the bus that gets `Purple Flea Escrow Created`. */
  readonly eventBusName: string;
  readonly dryRun: boolean;
  readonly enabled: boolean;
  /**
   * What only the services profile's escrow uses: present exactly when the connection speaks the services
   * profile (PF_API_PROFILE=services), absent on the gateway. (On the services profile the buyer is always the
   * key's agent: buyerAgentId is not sent.)
   */
  readonly services?: ServicesEscrowSettings;
}

/** The services profile's escrow (`POST /escrow/create`). */
export interface ServicesEscrowSettings {
  /**
   * `timeout_hours`, a whole number from 1 to 720: when it passes, an escrow that was not released is refunded
   * to its creator (the key's agent) less the 1 % commission.
   */
  readonly escrowTimeoutHours: number;
}

export const TRAINING_BONUS_ESCROW_ENV = {
  metricName: 'METRIC_NAME',
  metricGoal: 'METRIC_GOAL',
  bonusTiers: 'BONUS_TIERS',
  maxBonusUsdc: 'MAX_BONUS_USDC',
  buyerAgentId: 'BUYER_AGENT_ID',
  sellerTagKey: 'SELLER_TAG_KEY',
  sellerTemplate: 'SELLER_TEMPLATE',
  sellerFromRegistry: 'SELLER_FROM_REGISTRY',
  conditionTemplate: 'CONDITION_TEMPLATE',
  eventBusName: 'EVENT_BUS_NAME',
  dryRun: 'DRY_RUN',
  enabled: 'ENABLED',
  /** The services profile only (ServicesEscrowSettings). */
  escrowTimeoutHours: 'ESCROW_TIMEOUT_HOURS',
} as const;

export function trainingBonusEscrowEnvironment(
  settings: TrainingBonusEscrowSettings,
  writeNumber: WriteNumber = decimalText,
): { [name: string]: string } {
  const env = TRAINING_BONUS_ESCROW_ENV;
  return compactEnvironment({
    [env.metricName]: settings.metricName,
    [env.metricGoal]: settings.metricGoal,
    // As JSON: a list of {threshold, amountUsdc}, in the order given.
    [env.bonusTiers]: JSON.stringify(settings.bonusTiers.map(({ threshold, amountUsdc }) => ({ threshold, amountUsdc }))),
    [env.maxBonusUsdc]: writeNumber(settings.maxBonusUsdc),
    [env.buyerAgentId]: settings.buyerAgentId,
    [env.sellerTagKey]: settings.sellerTagKey,
    [env.sellerTemplate]: settings.sellerTemplate,
    [env.sellerFromRegistry]: settings.sellerFromRegistry ? 'true' : undefined,
    [env.conditionTemplate]: settings.conditionTemplate,
    [env.eventBusName]: settings.eventBusName,
    [env.dryRun]: String(settings.dryRun),
    [env.enabled]: String(settings.enabled),
    [env.escrowTimeoutHours]: settings.services && writeNumber(settings.services.escrowTimeoutHours),
  });
}

export function readTrainingBonusEscrowSettings(env: Environment): TrainingBonusEscrowSettings {
  const read = new EnvironmentReader(env, 'TrainingBonusEscrow');
  const names = TRAINING_BONUS_ESCROW_ENV;
  return {
    metricName: read.string(names.metricName),
    metricGoal: read.oneOf(names.metricGoal, METRIC_GOALS),
    bonusTiers: parseBonusTiers(read.string(names.bonusTiers)),
    maxBonusUsdc: read.number(names.maxBonusUsdc),
    buyerAgentId: read.string(names.buyerAgentId),
    sellerTagKey: read.optionalString(names.sellerTagKey),
    sellerTemplate: read.string(names.sellerTemplate),
    sellerFromRegistry: read.optionalString(names.sellerFromRegistry) === undefined ? undefined : read.boolean(names.sellerFromRegistry),
    conditionTemplate: read.string(names.conditionTemplate),
    eventBusName: read.string(names.eventBusName),
    dryRun: read.boolean(names.dryRun),
    enabled: read.boolean(names.enabled),
    services:
      readApiProfile(env, 'TrainingBonusEscrow') === 'services' ? { escrowTimeoutHours: read.number(names.escrowTimeoutHours) } : undefined,
  };
}

function parseBonusTiers(raw: string): BonusTierSetting[] {
  const fail = () =>
    new Error(
      `TrainingBonusEscrow: environment variable ${TRAINING_BONUS_ESCROW_ENV.bonusTiers} must be a JSON list of {threshold, amountUsdc}, got ${raw}`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw fail();
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw fail();
  return parsed.map((tier: unknown) => {
    const { threshold, amountUsdc } = (tier ?? {}) as { threshold?: unknown; amountUsdc?: unknown };
    if (typeof threshold !== 'number' || typeof amountUsdc !== 'number' || !Number.isFinite(threshold) || !(amountUsdc > 0)) throw fail();
    return { threshold, amountUsdc };
  });
}

/** The EMF metrics the handler emits and the construct alarms on. */
export const TRAINING_BONUS_ESCROW_METRICS = {
  namespace: 'PurpleFlea/SageMaker',
  serviceName: 'training-bonus-escrow',
  functionNameDimension: 'FunctionName',
  escrowsCreated: 'EscrowsCreated',
  escrowsSkipped: 'EscrowsSkipped',
  escrowsInvalid: 'EscrowsInvalid',
  escrowsRejected: 'EscrowsRejected',
  escrowsUnknown: 'EscrowsUnknown',
  bonusUsdc: 'BonusUsdc',
  describeLatency: 'DescribeTrainingJobLatency',
  apiLatency: 'ApiLatency',
} as const;

/** Which of TRAINING_BONUS_ESCROW_METRICS counts each outcome (the handler emits them, the dashboard shows them). */
export const TRAINING_BONUS_ESCROW_OUTCOME_METRICS: OutcomeMetricNames = {
  succeeded: TRAINING_BONUS_ESCROW_METRICS.escrowsCreated,
  skipped: TRAINING_BONUS_ESCROW_METRICS.escrowsSkipped,
  invalid: TRAINING_BONUS_ESCROW_METRICS.escrowsInvalid,
  rejected: TRAINING_BONUS_ESCROW_METRICS.escrowsRejected,
  unknown: TRAINING_BONUS_ESCROW_METRICS.escrowsUnknown,
  amount: TRAINING_BONUS_ESCROW_METRICS.bonusUsdc,
};

/** The event put on the bus after an escrow is created. */
export const ESCROW_CREATED_EVENT = {
  source: 'purpleflea.sagemaker',
  detailType: 'Purple Flea Escrow Created',
} as const;

/** SageMaker's training-job state-change event, as the rule matches it. */
export const TRAINING_JOB_STATE_CHANGE = {
  source: 'aws.sagemaker',
  detailType: 'SageMaker Training Job State Change',
  completedStatus: 'Completed',
} as const;
