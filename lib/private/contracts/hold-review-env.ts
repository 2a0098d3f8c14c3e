import { compactEnvironment, Environment, EnvironmentReader } from './env-reader';
import type { OutcomeMetricNames } from './outcome-metrics';

/*
 * FraudHoldEscrow's review (issue 14, HoldReview): the review-start handler (Augmented AI only: one human loop per
 * hold placed) and the release handler (a completed review → the hold released once, or on confirmed fraud kept or
 * disputed once).
 */

/** Where a hold's review comes from: an Amazon A2I human loop, or the user's own review tool's event. */
export const REVIEW_SOURCES = ['augmented-ai', 'events'] as const;
export type ReviewSourceName = (typeof REVIEW_SOURCES)[number];

/** How the reviewers' answers of one human loop are combined (HoldReview's ReviewDecisionRule). */
export const DECISION_RULES = ['any-fraud', 'majority'] as const;
export type DecisionRuleName = (typeof DECISION_RULES)[number];

/** What a confirmed fraud does to the hold (FraudHoldEscrow's ConfirmedFraudAction). */
export const CONFIRMED_FRAUD_ACTIONS = ['keep-hold', 'dispute'] as const;
export type ConfirmedFraudActionName = (typeof CONFIRMED_FRAUD_ACTIONS)[number];

/** How the reviewers' answers are read from a loop's `output.json` (`humanAnswers[].answerContent`). */
export interface ReviewAnswerSettings {
  /** The answer's field in `answerContent` (dotted for nested); its value, or its `label`, is the answer. */
  readonly answerField: string;
  readonly fraudValue: string;
  readonly clearValue: string;
  readonly decisionRule: DecisionRuleName;
}

/** What the release handler is told, besides the connection. */
export interface FraudHoldReleaseSettings {
  readonly source: ReviewSourceName;
  /** `augmented-ai`: the flow definition whose loops decide (a loop of another is not this construct's). */
  readonly flowDefinitionArn?: string;
  /** `augmented-ai`: the loops' output is read only from this bucket, under this prefix (may be empty). */
  readonly humanLoopOutputBucket?: string;
  readonly humanLoopOutputPrefix?: string;
  readonly answers?: ReviewAnswerSettings;
  readonly onConfirmedFraud: ConfirmedFraudActionName;
  /** Name or ARN of the bus that gets `Purple Flea Escrow Released`. */
  readonly eventBusName: string;
  readonly dryRun: boolean;
  readonly enabled: boolean;
}

export const FRAUD_HOLD_RELEASE_ENV = {
  source: 'REVIEW_SOURCE',
  flowDefinitionArn: 'FLOW_DEFINITION_ARN',
  humanLoopOutputBucket: 'HUMAN_LOOP_OUTPUT_BUCKET',
  humanLoopOutputPrefix: 'HUMAN_LOOP_OUTPUT_PREFIX',
  answerField: 'ANSWER_FIELD',
  fraudValue: 'FRAUD_VALUE',
  clearValue: 'CLEAR_VALUE',
  decisionRule: 'DECISION_RULE',
  onConfirmedFraud: 'ON_CONFIRMED_FRAUD',
  eventBusName: 'EVENT_BUS_NAME',
  dryRun: 'DRY_RUN',
  enabled: 'ENABLED',
} as const;

export function fraudHoldReleaseEnvironment(settings: FraudHoldReleaseSettings): { [name: string]: string } {
  const env = FRAUD_HOLD_RELEASE_ENV;
  const prefix = settings.humanLoopOutputPrefix;
  return compactEnvironment({
    [env.source]: settings.source,
    [env.flowDefinitionArn]: settings.flowDefinitionArn,
    [env.humanLoopOutputBucket]: settings.humanLoopOutputBucket,
    // Empty must still be present on the Augmented AI source: the reader requires it there.
    [env.humanLoopOutputPrefix]: prefix === undefined ? undefined : prefix === '' ? '/' : prefix,
    [env.answerField]: settings.answers?.answerField,
    [env.fraudValue]: settings.answers?.fraudValue,
    [env.clearValue]: settings.answers?.clearValue,
    [env.decisionRule]: settings.answers?.decisionRule,
    [env.onConfirmedFraud]: settings.onConfirmedFraud,
    [env.eventBusName]: settings.eventBusName,
    [env.dryRun]: String(settings.dryRun),
    [env.enabled]: String(settings.enabled),
  });
}

export function readFraudHoldReleaseSettings(env: Environment): FraudHoldReleaseSettings {
  const read = new EnvironmentReader(env, 'FraudHoldEscrow release');
  const names = FRAUD_HOLD_RELEASE_ENV;
  const source = read.oneOf(names.source, REVIEW_SOURCES);
  const common = {
    source,
    onConfirmedFraud: read.oneOf(names.onConfirmedFraud, CONFIRMED_FRAUD_ACTIONS),
    eventBusName: read.string(names.eventBusName),
    dryRun: read.boolean(names.dryRun),
    enabled: read.boolean(names.enabled),
  };
  if (source === 'events') {
    const because = 'the review comes from events (REVIEW_SOURCE=events)';
    for (const name of [names.flowDefinitionArn, names.humanLoopOutputBucket, names.answerField, names.decisionRule])
      read.absent(name, because);
    return common;
  }
  const prefix = read.string(names.humanLoopOutputPrefix);
  return {
    ...common,
    flowDefinitionArn: read.string(names.flowDefinitionArn),
    humanLoopOutputBucket: read.string(names.humanLoopOutputBucket),
    humanLoopOutputPrefix: prefix === '/' ? '' : prefix,
    answers: {
      answerField: read.string(names.answerField),
      fraudValue: read.string(names.fraudValue),
      clearValue: read.string(names.clearValue),
      decisionRule: read.oneOf(names.decisionRule, DECISION_RULES),
    },
  };
}

/** What the review-start handler is told: the flow definition, and where the holds logs may be read. */
export interface FraudHoldReviewStartSettings {
  readonly flowDefinitionArn: string;
  /** The run folders' bucket and prefix (may be empty): a log elsewhere is not this construct's. */
  readonly runBucket: string;
  readonly runPrefix: string;
  readonly enabled: boolean;
}

export const FRAUD_HOLD_REVIEW_START_ENV = {
  flowDefinitionArn: 'FLOW_DEFINITION_ARN',
  runBucket: 'RUN_BUCKET',
  runPrefix: 'RUN_PREFIX',
  enabled: 'ENABLED',
} as const;

export function fraudHoldReviewStartEnvironment(settings: FraudHoldReviewStartSettings): { [name: string]: string } {
  const env = FRAUD_HOLD_REVIEW_START_ENV;
  return {
    [env.flowDefinitionArn]: settings.flowDefinitionArn,
    [env.runBucket]: settings.runBucket,
    [env.runPrefix]: settings.runPrefix === '' ? '/' : settings.runPrefix,
    [env.enabled]: String(settings.enabled),
  };
}

export function readFraudHoldReviewStartSettings(env: Environment): FraudHoldReviewStartSettings {
  const read = new EnvironmentReader(env, 'FraudHoldEscrow review start');
  const names = FRAUD_HOLD_REVIEW_START_ENV;
  const prefix = read.string(names.runPrefix);
  return {
    flowDefinitionArn: read.string(names.flowDefinitionArn),
    runBucket: read.string(names.runBucket),
    runPrefix: prefix === '/' ? '' : prefix,
    enabled: read.boolean(names.enabled),
  };
}

/** The EMF metrics of the release handler, which the construct alarms on and the dashboard shows. */
export const FRAUD_HOLD_RELEASE_METRICS = {
  namespace: 'PurpleFlea/SageMaker',
  serviceName: 'fraud-hold-release',
  functionNameDimension: 'FunctionName',
  escrowsReleased: 'EscrowsReleased',
  /** Of the released: found released already (a lost answer's earlier attempt, or by hand), read back after a 409. */
  escrowsAlreadyReleased: 'EscrowsAlreadyReleased',
  releasesSkipped: 'ReleasesSkipped',
  releasesInvalid: 'ReleasesInvalid',
  releasesRejected: 'ReleasesRejected',
  releasesUnknown: 'ReleasesUnknown',
  /** A cleared review whose hold's creation is not settled (UNKNOWN or in progress): retried, never guessed. */
  releasesWaiting: 'ReleasesWaiting',
  releasedUsdc: 'ReleasedUsdc',
  /** Holds disputed on a confirmed fraud (onConfirmedFraud: DISPUTE). */
  holdsDisputed: 'HoldsDisputed',
  disputesRejected: 'DisputesRejected',
  disputesUnknown: 'DisputesUnknown',
  disputedUsdc: 'DisputedUsdc',
  /** A confirmed fraud whose hold stays until its timeout refund (onConfirmedFraud: KEEP_HOLD). */
  holdsKept: 'HoldsKept',
  /** Human loops that ended Failed or Stopped: no decision, the hold waits (alarmed). */
  reviewsFailed: 'ReviewsFailed',
  outputReadLatency: 'HumanLoopOutputReadLatency',
  apiLatency: 'ApiLatency',
} as const;

export const FRAUD_HOLD_RELEASE_OUTCOME_METRICS: OutcomeMetricNames = {
  succeeded: FRAUD_HOLD_RELEASE_METRICS.escrowsReleased,
  skipped: FRAUD_HOLD_RELEASE_METRICS.releasesSkipped,
  invalid: FRAUD_HOLD_RELEASE_METRICS.releasesInvalid,
  rejected: FRAUD_HOLD_RELEASE_METRICS.releasesRejected,
  unknown: FRAUD_HOLD_RELEASE_METRICS.releasesUnknown,
  amount: FRAUD_HOLD_RELEASE_METRICS.releasedUsdc,
};

export const FRAUD_HOLD_DISPUTE_OUTCOME_METRICS: OutcomeMetricNames = {
  succeeded: FRAUD_HOLD_RELEASE_METRICS.holdsDisputed,
  skipped: FRAUD_HOLD_RELEASE_METRICS.releasesSkipped,
  invalid: FRAUD_HOLD_RELEASE_METRICS.releasesInvalid,
  rejected: FRAUD_HOLD_RELEASE_METRICS.disputesRejected,
  unknown: FRAUD_HOLD_RELEASE_METRICS.disputesUnknown,
  amount: FRAUD_HOLD_RELEASE_METRICS.disputedUsdc,
};

/** Which of FRAUD_HOLD_RELEASE_METRICS the dashboard shows as what (lib/private/money-action-monitoring.ts). */
export const FRAUD_HOLD_RELEASE_DASHBOARD_METRICS = {
  released: FRAUD_HOLD_RELEASE_METRICS.escrowsReleased,
  alreadyReleased: FRAUD_HOLD_RELEASE_METRICS.escrowsAlreadyReleased,
  refused: FRAUD_HOLD_RELEASE_METRICS.releasesRejected,
  unknown: FRAUD_HOLD_RELEASE_METRICS.releasesUnknown,
  waiting: FRAUD_HOLD_RELEASE_METRICS.releasesWaiting,
  releasedUsdc: FRAUD_HOLD_RELEASE_METRICS.releasedUsdc,
} as const;

/** The EMF metrics of the review-start handler. */
export const FRAUD_HOLD_REVIEW_START_METRICS = {
  namespace: 'PurpleFlea/SageMaker',
  serviceName: 'fraud-hold-review-start',
  functionNameDimension: 'FunctionName',
  reviewsStarted: 'ReviewsStarted',
  /** A start that found its loop already there (a repeated event or a retry): the same loop, nothing new. */
  reviewsAlreadyStarted: 'ReviewsAlreadyStarted',
  startLatency: 'StartHumanLoopLatency',
} as const;

/** The review the user's own tool puts on the bus (HoldReview.events). */
export const HOLD_REVIEW_COMPLETED_EVENT = {
  source: 'purpleflea.review',
  detailType: 'Purple Flea Hold Review Completed',
} as const;

/** Amazon A2I's event when a human loop ends. */
export const HUMAN_LOOP_STATUS_CHANGE = {
  source: 'aws.sagemaker',
  detailType: 'SageMaker A2I HumanLoop Status Change',
  completedStatus: 'Completed',
  failedStatuses: ['Failed', 'Stopped'],
} as const;

/** The loops this construct starts are named `hold-<58 hex>` (lambda/fraud-hold-review-start). */
export const HUMAN_LOOP_NAME_PREFIX = 'hold-';

/** The answers a review takes unless HoldReview.augmentedAi says otherwise. */
export const HOLD_REVIEW_DEFAULTS = {
  answerField: 'decision',
  fraudValue: 'fraud',
  clearValue: 'clear',
  decisionRule: 'any-fraud',
} as const;
