import { compactEnvironment, Environment, EnvironmentReader, decimalText, WriteNumber } from './env-reader';
import type { OutcomeMetricNames } from './outcome-metrics';

/** What BatchPayout's Prepare handler is told: how to read the scores and the amount rules. */
export interface BatchPayoutPrepareSettings {
  readonly agentIdColumn: string;
  readonly scoreColumn: string;
  readonly usdPerScorePoint: number;
  /** Rows at or below this are SKIPPED. */
  readonly minPayoutUsdc: number;
  /** A row above this is INVALID (never reduced). */
  readonly maxPayoutPerAgentUsdc: number;
  /** A file whose payable total is above this pays nothing: the execution fails. */
  readonly maxBatchTotalUsdc: number;
  readonly outputBucket: string;
  /** No leading or trailing slash; may be empty. */
  readonly outputPrefix: string;
  /** For a SageMaker Processing Job trigger: the output holding the scores, and the file in it. */
  readonly processingOutputName: string;
  readonly processingFileName: string;
  readonly enabled: boolean;
  /**
   * `agentsFrom` is given: an agent id cell may also name a model version by its ARN (a training job's or a model
   * package's), which Pay resolves to its agent through the ModelAgents registry. Written only when true.
   */
  readonly agentsFromRegistry?: boolean;
}

export const BATCH_PAYOUT_PREPARE_ENV = {
  agentIdColumn: 'AGENT_ID_COLUMN',
  scoreColumn: 'SCORE_COLUMN',
  usdPerScorePoint: 'USD_PER_SCORE_POINT',
  minPayoutUsdc: 'MIN_PAYOUT_USDC',
  maxPayoutPerAgentUsdc: 'MAX_PAYOUT_PER_AGENT_USDC',
  maxBatchTotalUsdc: 'MAX_BATCH_TOTAL_USDC',
  outputBucket: 'OUTPUT_BUCKET',
  outputPrefix: 'OUTPUT_PREFIX',
  processingOutputName: 'PROCESSING_OUTPUT_NAME',
  processingFileName: 'PROCESSING_FILE_NAME',
  enabled: 'ENABLED',
  agentsFromRegistry: 'AGENTS_FROM_REGISTRY',
} as const;

export function batchPayoutPrepareEnvironment(
  settings: BatchPayoutPrepareSettings,
  writeNumber: WriteNumber = decimalText,
): { [name: string]: string } {
  const env = BATCH_PAYOUT_PREPARE_ENV;
  return {
    [env.agentIdColumn]: settings.agentIdColumn,
    [env.scoreColumn]: settings.scoreColumn,
    [env.usdPerScorePoint]: writeNumber(settings.usdPerScorePoint),
    [env.minPayoutUsdc]: writeNumber(settings.minPayoutUsdc),
    [env.maxPayoutPerAgentUsdc]: writeNumber(settings.maxPayoutPerAgentUsdc),
    [env.maxBatchTotalUsdc]: writeNumber(settings.maxBatchTotalUsdc),
    [env.outputBucket]: settings.outputBucket,
    // An empty prefix must still be present: the reader requires every variable.
    [env.outputPrefix]: settings.outputPrefix === '' ? '/' : settings.outputPrefix,
    [env.processingOutputName]: settings.processingOutputName,
    [env.processingFileName]: settings.processingFileName,
    [env.enabled]: String(settings.enabled),
    ...(settings.agentsFromRegistry ? { [env.agentsFromRegistry]: 'true' } : {}),
  };
}

export function readBatchPayoutPrepareSettings(env: Environment): BatchPayoutPrepareSettings {
  const read = new EnvironmentReader(env, 'BatchPayout Prepare');
  const names = BATCH_PAYOUT_PREPARE_ENV;
  const prefix = read.string(names.outputPrefix);
  return {
    agentIdColumn: read.string(names.agentIdColumn),
    scoreColumn: read.string(names.scoreColumn),
    usdPerScorePoint: read.number(names.usdPerScorePoint),
    minPayoutUsdc: read.number(names.minPayoutUsdc),
    maxPayoutPerAgentUsdc: read.number(names.maxPayoutPerAgentUsdc),
    maxBatchTotalUsdc: read.number(names.maxBatchTotalUsdc),
    outputBucket: read.string(names.outputBucket),
    outputPrefix: prefix === '/' ? '' : prefix,
    processingOutputName: read.string(names.processingOutputName),
    processingFileName: read.string(names.processingFileName),
    enabled: read.boolean(names.enabled),
    agentsFromRegistry: read.flag(names.agentsFromRegistry),
  };
}

/** What BatchPayout's Pay handler is told, besides the connection. */
export interface BatchPayoutPaySettings {
  /** This batch's share of the run's maxRequestsPerSecond (the run's rate / the Map's maxConcurrency). */
  readonly requestsPerSecond: number;
  /** Requests in flight at once within one batch. */
  readonly concurrency: number;
  readonly dryRun: boolean;
  /** False: every row is SKIPPED, nothing is paid (a run in flight, or a redrive, when the construct was disabled). */
  readonly enabled: boolean;
  /**
   * Prepare's caps, checked again on each row: `input.csv` may have changed since Prepare wrote it. A row
   * above either is INVALID (the run's total cannot be seen from one batch: only one row's amount is checked).
   */
  readonly maxPayoutPerAgentUsdc: number;
  readonly maxBatchTotalUsdc: number;
  /**
   * `agentsFrom` is given: a row whose agent id cell is a model version ARN is paid to the agent the ModelAgents
   * registry names for it (read with GetItem on the ledger's `v1:agent:` records). Written only when true.
   */
  readonly agentsFromRegistry?: boolean;
}

export const BATCH_PAYOUT_PAY_ENV = {
  requestsPerSecond: 'REQUESTS_PER_SECOND',
  concurrency: 'PAY_CONCURRENCY',
  dryRun: 'DRY_RUN',
  enabled: 'ENABLED',
  maxPayoutPerAgentUsdc: 'MAX_PAYOUT_PER_AGENT_USDC',
  maxBatchTotalUsdc: 'MAX_BATCH_TOTAL_USDC',
  agentsFromRegistry: 'AGENTS_FROM_REGISTRY',
} as const;

export function batchPayoutPayEnvironment(
  settings: BatchPayoutPaySettings,
  writeNumber: WriteNumber = decimalText,
): { [name: string]: string } {
  const env = BATCH_PAYOUT_PAY_ENV;
  return compactEnvironment({
    [env.requestsPerSecond]: writeNumber(settings.requestsPerSecond),
    [env.concurrency]: writeNumber(settings.concurrency),
    [env.dryRun]: String(settings.dryRun),
    [env.enabled]: String(settings.enabled),
    [env.maxPayoutPerAgentUsdc]: writeNumber(settings.maxPayoutPerAgentUsdc),
    [env.maxBatchTotalUsdc]: writeNumber(settings.maxBatchTotalUsdc),
    [env.agentsFromRegistry]: settings.agentsFromRegistry ? 'true' : undefined,
  });
}

export function readBatchPayoutPaySettings(env: Environment): BatchPayoutPaySettings {
  const read = new EnvironmentReader(env, 'BatchPayout Pay');
  const names = BATCH_PAYOUT_PAY_ENV;
  return {
    requestsPerSecond: read.number(names.requestsPerSecond),
    concurrency: read.number(names.concurrency),
    dryRun: read.boolean(names.dryRun),
    enabled: read.boolean(names.enabled),
    maxPayoutPerAgentUsdc: read.number(names.maxPayoutPerAgentUsdc),
    maxBatchTotalUsdc: read.number(names.maxBatchTotalUsdc),
    agentsFromRegistry: read.flag(names.agentsFromRegistry),
  };
}

/**
 * What BatchPayout's Summarize is told besides the batch engine's settings: with `agentsFrom`, it resolves a model
 * version ARN row to its agent too, to find the ledger record of a row the Map did not settle (the payout's key names
 * the agent). Written only when true.
 */
export interface BatchPayoutSummarizeSettings {
  readonly agentsFromRegistry?: boolean;
}

export const BATCH_PAYOUT_SUMMARIZE_ENV = {
  agentsFromRegistry: 'AGENTS_FROM_REGISTRY',
} as const;

export function batchPayoutSummarizeEnvironment(settings: BatchPayoutSummarizeSettings): { [name: string]: string } {
  return settings.agentsFromRegistry ? { [BATCH_PAYOUT_SUMMARIZE_ENV.agentsFromRegistry]: 'true' } : {};
}

export function readBatchPayoutSummarizeSettings(env: Environment): BatchPayoutSummarizeSettings {
  return { agentsFromRegistry: new EnvironmentReader(env, 'BatchPayout Summarize').flag(BATCH_PAYOUT_SUMMARIZE_ENV.agentsFromRegistry) };
}

/** The payout log Summarize writes into the run folder: JSON Lines, one entry a source row (0.1.0 wrote `payout_log.json`). */
export const PAYOUT_LOG_FILE = 'payout_log.jsonl';
/** The summary Summarize writes beside the log: the run's totals. */
export const PAYOUT_SUMMARY_FILE = 'payout_summary.json';

/** The event put on the bus when a run is summarized. */
export const PAYOUT_COMPLETED_EVENT = {
  source: 'purpleflea.sagemaker',
  detailType: 'Purple Flea Payout Completed',
} as const;

/** SageMaker's processing-job state-change event, as the rule matches it. */
export const PROCESSING_JOB_STATE_CHANGE = {
  source: 'aws.sagemaker',
  detailType: 'SageMaker Processing Job State Change',
  completedStatus: 'Completed',
} as const;

/** The EMF metrics the handlers emit and the construct alarms on. */
export const BATCH_PAYOUT_METRICS = {
  namespace: 'PurpleFlea/SageMaker',
  serviceName: 'batch-payout',
  functionNameDimension: 'FunctionName',
  payoutsSucceeded: 'PayoutsSucceeded',
  payoutsSkipped: 'PayoutsSkipped',
  payoutsInvalid: 'PayoutsInvalid',
  payoutsRejected: 'PayoutsRejected',
  payoutsUnknown: 'PayoutsUnknown',
  paidUsdc: 'PaidUsdc',
  apiLatency: 'ApiLatency',
  /** Summarize: one per run, and the run's rows whose outcome is UNKNOWN. */
  runsSummarized: 'PayoutRunsSummarized',
  runUnknownRows: 'PayoutRunUnknownRows',
} as const;

/** Which of BATCH_PAYOUT_METRICS counts each outcome (the handler emits them, the dashboard shows them). */
export const BATCH_PAYOUT_OUTCOME_METRICS: OutcomeMetricNames = {
  succeeded: BATCH_PAYOUT_METRICS.payoutsSucceeded,
  skipped: BATCH_PAYOUT_METRICS.payoutsSkipped,
  invalid: BATCH_PAYOUT_METRICS.payoutsInvalid,
  rejected: BATCH_PAYOUT_METRICS.payoutsRejected,
  unknown: BATCH_PAYOUT_METRICS.payoutsUnknown,
  amount: BATCH_PAYOUT_METRICS.paidUsdc,
};
