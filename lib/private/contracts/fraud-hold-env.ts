import { readApiProfile } from './connection-env';
import { compactEnvironment, Environment, EnvironmentReader, decimalText, WriteNumber } from './env-reader';
import type { OutcomeMetricNames } from './outcome-metrics';

export const HOLD_INPUT_FORMATS = ['JSON_LINES', 'CSV'] as const;
export type HoldInputFormatName = (typeof HOLD_INPUT_FORMATS)[number];

/** The record fields FraudHoldEscrow reads; dotted paths reach into JSON (e.g. `SageMakerOutput.fraud_score`). */
export interface HoldFieldNames {
  readonly transactionIdField: string;
  readonly buyerField: string;
  readonly sellerField: string;
  readonly amountField: string;
  readonly fraudScoreField: string;
}

/** What FraudHoldEscrow's Prepare handler is told. */
export interface FraudHoldPrepareSettings extends HoldFieldNames {
  readonly inputFormat: HoldInputFormatName;
  /** A record whose fraud score is strictly above this gets a hold; at or below it is SKIPPED. */
  readonly fraudScoreThreshold: number;
  /** A hold above this is INVALID (never reduced). */
  readonly maxHoldUsdc: number;
  /** A run whose holds add up to more than this holds nothing: the execution fails. */
  readonly maxBatchTotalUsdc: number;
  /** Which objects under a prefix are records (a Batch Transform writes `<input>.out`). */
  readonly objectSuffix: string;
  readonly outputBucket: string;
  /** No leading or trailing slash; may be empty. */
  readonly outputPrefix: string;
  readonly enabled: boolean;
  /**
   * `agentsFrom` is given: a buyer or seller may also name a model version by its ARN (a training job's or a model
   * package's), which Act resolves to its agent through the ModelAgents registry. Written only when true.
   */
  readonly agentsFromRegistry?: boolean;
}

export const FRAUD_HOLD_PREPARE_ENV = {
  inputFormat: 'INPUT_FORMAT',
  transactionIdField: 'TRANSACTION_ID_FIELD',
  buyerField: 'BUYER_FIELD',
  sellerField: 'SELLER_FIELD',
  amountField: 'AMOUNT_FIELD',
  fraudScoreField: 'FRAUD_SCORE_FIELD',
  fraudScoreThreshold: 'FRAUD_SCORE_THRESHOLD',
  maxHoldUsdc: 'MAX_HOLD_USDC',
  maxBatchTotalUsdc: 'MAX_BATCH_TOTAL_USDC',
  objectSuffix: 'OBJECT_SUFFIX',
  outputBucket: 'OUTPUT_BUCKET',
  outputPrefix: 'OUTPUT_PREFIX',
  enabled: 'ENABLED',
  agentsFromRegistry: 'AGENTS_FROM_REGISTRY',
} as const;

export function fraudHoldPrepareEnvironment(
  settings: FraudHoldPrepareSettings,
  writeNumber: WriteNumber = decimalText,
): { [name: string]: string } {
  const env = FRAUD_HOLD_PREPARE_ENV;
  return {
    [env.inputFormat]: settings.inputFormat,
    [env.transactionIdField]: settings.transactionIdField,
    [env.buyerField]: settings.buyerField,
    [env.sellerField]: settings.sellerField,
    [env.amountField]: settings.amountField,
    [env.fraudScoreField]: settings.fraudScoreField,
    [env.fraudScoreThreshold]: writeNumber(settings.fraudScoreThreshold),
    [env.maxHoldUsdc]: writeNumber(settings.maxHoldUsdc),
    [env.maxBatchTotalUsdc]: writeNumber(settings.maxBatchTotalUsdc),
    // Empty values must still be present: the reader requires every variable.
    [env.objectSuffix]: settings.objectSuffix === '' ? '/' : settings.objectSuffix,
    [env.outputBucket]: settings.outputBucket,
    [env.outputPrefix]: settings.outputPrefix === '' ? '/' : settings.outputPrefix,
    [env.enabled]: String(settings.enabled),
    ...(settings.agentsFromRegistry ? { [env.agentsFromRegistry]: 'true' } : {}),
  };
}

export function readFraudHoldPrepareSettings(env: Environment): FraudHoldPrepareSettings {
  const read = new EnvironmentReader(env, 'FraudHoldEscrow Prepare');
  const names = FRAUD_HOLD_PREPARE_ENV;
  const orEmpty = (value: string) => (value === '/' ? '' : value);
  return {
    inputFormat: read.oneOf(names.inputFormat, HOLD_INPUT_FORMATS),
    transactionIdField: read.string(names.transactionIdField),
    buyerField: read.string(names.buyerField),
    sellerField: read.string(names.sellerField),
    amountField: read.string(names.amountField),
    fraudScoreField: read.string(names.fraudScoreField),
    fraudScoreThreshold: read.number(names.fraudScoreThreshold),
    maxHoldUsdc: read.number(names.maxHoldUsdc),
    maxBatchTotalUsdc: read.number(names.maxBatchTotalUsdc),
    objectSuffix: orEmpty(read.string(names.objectSuffix)),
    outputBucket: read.string(names.outputBucket),
    outputPrefix: orEmpty(read.string(names.outputPrefix)),
    enabled: read.boolean(names.enabled),
    agentsFromRegistry: read.flag(names.agentsFromRegistry),
  };
}

/** The placeholders the condition template may use, filled by the Act handler. */
export const HOLD_CONDITION_PLACEHOLDERS = ['transactionId', 'fraudScore', 'jobName'] as const;

/** What FraudHoldEscrow's Act handler is told, besides the connection. */
export interface FraudHoldActSettings {
  readonly conditionTemplate: string;
  readonly requestsPerSecond: number;
  readonly concurrency: number;
  readonly dryRun: boolean;
  /** False: every row is SKIPPED, nothing is held (a run in flight, or a redrive, when the construct was disabled). */
  readonly enabled: boolean;
  /**
   * Prepare's caps, checked again on each row: `input.csv` may have changed since Prepare wrote it. A row
   * above either is INVALID (the run's total cannot be seen from one batch: only one row's amount is checked).
   */
  readonly maxHoldUsdc: number;
  readonly maxBatchTotalUsdc: number;
  /**
   * What only the services profile's escrow uses: present exactly when the connection speaks the services
   * profile (PF_API_PROFILE=services), absent on the gateway. (On the services profile the escrow's buyer is
   * always the key's agent; the record's buyer goes into the description.)
   */
  readonly services?: ServicesHoldSettings;
  /**
   * `agentsFrom` is given: a buyer or seller that is a model version ARN is the agent the ModelAgents registry names
   * for it (read with GetItem on the ledger's `v1:agent:` records). Written only when true.
   */
  readonly agentsFromRegistry?: boolean;
}

/** The services profile's hold (`POST /escrow/create`). */
export interface ServicesHoldSettings {
  /**
   * `timeout_hours`, a whole number from 1 to 720: a hold that is not released (review cleared) by then is
   * refunded to its creator (the key's agent) less the 1 % commission.
   */
  readonly escrowTimeoutHours: number;
}

export const FRAUD_HOLD_ACT_ENV = {
  conditionTemplate: 'CONDITION_TEMPLATE',
  requestsPerSecond: 'REQUESTS_PER_SECOND',
  concurrency: 'ACT_CONCURRENCY',
  dryRun: 'DRY_RUN',
  enabled: 'ENABLED',
  maxHoldUsdc: 'MAX_HOLD_USDC',
  maxBatchTotalUsdc: 'MAX_BATCH_TOTAL_USDC',
  /** The services profile only (ServicesHoldSettings). */
  escrowTimeoutHours: 'ESCROW_TIMEOUT_HOURS',
  agentsFromRegistry: 'AGENTS_FROM_REGISTRY',
} as const;

export function fraudHoldActEnvironment(
  settings: FraudHoldActSettings,
  writeNumber: WriteNumber = decimalText,
): { [name: string]: string } {
  const env = FRAUD_HOLD_ACT_ENV;
  return compactEnvironment({
    [env.conditionTemplate]: settings.conditionTemplate,
    [env.requestsPerSecond]: writeNumber(settings.requestsPerSecond),
    [env.concurrency]: writeNumber(settings.concurrency),
    [env.dryRun]: String(settings.dryRun),
    [env.enabled]: String(settings.enabled),
    [env.maxHoldUsdc]: writeNumber(settings.maxHoldUsdc),
    [env.maxBatchTotalUsdc]: writeNumber(settings.maxBatchTotalUsdc),
    [env.escrowTimeoutHours]: settings.services && writeNumber(settings.services.escrowTimeoutHours),
    [env.agentsFromRegistry]: settings.agentsFromRegistry ? 'true' : undefined,
  });
}

export function readFraudHoldActSettings(env: Environment): FraudHoldActSettings {
  const read = new EnvironmentReader(env, 'FraudHoldEscrow Act');
  const names = FRAUD_HOLD_ACT_ENV;
  return {
    conditionTemplate: read.string(names.conditionTemplate),
    requestsPerSecond: read.number(names.requestsPerSecond),
    concurrency: read.number(names.concurrency),
    dryRun: read.boolean(names.dryRun),
    enabled: read.boolean(names.enabled),
    maxHoldUsdc: read.number(names.maxHoldUsdc),
    maxBatchTotalUsdc: read.number(names.maxBatchTotalUsdc),
    services:
      readApiProfile(env, 'FraudHoldEscrow Act') === 'services' ? { escrowTimeoutHours: read.number(names.escrowTimeoutHours) } : undefined,
    agentsFromRegistry: read.flag(names.agentsFromRegistry),
  };
}

/**
 * The normalized columns of a hold run's `input.csv`. `line` numbers the run's records across all its
 * objects; each row also names its object and its line there, which identify a record without a
 * transaction id (and make its action key).
 */
export const HOLD_COLUMNS = [
  'line',
  'object_key',
  'object_etag',
  'object_line',
  'transaction_id',
  'buyer',
  'seller',
  'amount_usdc',
  'fraud_score',
  'transform_job',
] as const;
export type HoldItem = { readonly [column in (typeof HOLD_COLUMNS)[number]]: string };

/** The holds log Summarize writes into the run folder: JSON Lines, one entry a record (0.1.0 wrote `holds_log.json`). */
export const HOLDS_LOG_FILE = 'holds_log.jsonl';
/** The summary Summarize writes beside the log: the run's totals. */
export const HOLDS_SUMMARY_FILE = 'holds_summary.json';

export const HOLDS_COMPLETED_EVENT = {
  source: 'purpleflea.sagemaker',
  detailType: 'Purple Flea Holds Completed',
} as const;

/** SageMaker's transform-job state-change event, as the rule matches it. */
export const TRANSFORM_JOB_STATE_CHANGE = {
  source: 'aws.sagemaker',
  detailType: 'SageMaker Transform Job State Change',
  completedStatus: 'Completed',
} as const;

export const FRAUD_HOLD_METRICS = {
  namespace: 'PurpleFlea/SageMaker',
  serviceName: 'fraud-hold-escrow',
  functionNameDimension: 'FunctionName',
  holdsCreated: 'HoldsCreated',
  holdsSkipped: 'HoldsSkipped',
  holdsInvalid: 'HoldsInvalid',
  holdsRejected: 'HoldsRejected',
  holdsUnknown: 'HoldsUnknown',
  heldUsdc: 'HeldUsdc',
  apiLatency: 'ApiLatency',
  runsSummarized: 'HoldRunsSummarized',
  runUnknownRows: 'HoldRunUnknownRows',
} as const;

/** Which of FRAUD_HOLD_METRICS counts each outcome (the handler emits them, the dashboard shows them). */
export const FRAUD_HOLD_OUTCOME_METRICS: OutcomeMetricNames = {
  succeeded: FRAUD_HOLD_METRICS.holdsCreated,
  skipped: FRAUD_HOLD_METRICS.holdsSkipped,
  invalid: FRAUD_HOLD_METRICS.holdsInvalid,
  rejected: FRAUD_HOLD_METRICS.holdsRejected,
  unknown: FRAUD_HOLD_METRICS.holdsUnknown,
  amount: FRAUD_HOLD_METRICS.heldUsdc,
};
