import { Environment, EnvironmentReader } from './env-reader';

/**
 * The batch engine's shapes (docs/design.md "The batch engine"): what Prepare returns, what the Distributed
 * Map hands each Act batch, what Act returns, and what Summarize reads. The state machine's JSON paths
 * (lib/private/batch-workflow.ts) and the handlers (lambda/) both use these names.
 */

/**
 * The largest amount a row may have, in USDC. Prepare makes a row above it INVALID (the reason names the
 * field and its value) and logs it with no amount. Its cents (10^11) and every amount up to it are exact as
 * JSON numbers, and `toCentsRounded` (12 significant digits) rounds each to the cent the way it is written.
 */
export const MAX_ROW_AMOUNT_USDC = 1_000_000_000;

/**
 * The largest sum of the amounts of a run's rows, in USDC (10^15 cents). Every total of the log (per status
 * and overall) is then a decimal of at most 15 significant digits: the JSON number is exactly that decimal.
 * Prepare fails a file whose rows (paid or not) add up to more; a run's cap may not be set above it.
 */
export const MAX_RUN_TOTAL_USDC = 10_000_000_000_000;

/** The files of a run folder, `s3://<output bucket>/<output prefix>/<run id>/`. */
export const RUN_FILES = {
  /** The accepted rows, normalized: the Map's ItemReader reads it (first row is the header). */
  input: 'input.csv',
  /** Prepare's account of the source: every row it did not pass on (SKIPPED, INVALID) with the reason. */
  prepareReport: 'prepare_report.json',
  /** The ResultWriter's folder for the Map's results. */
  mapResults: 'map-results',
} as const;

/** The object a run reads, as Prepare resolved it. The ETag names the content: it is part of every action key. */
export interface SourceObject {
  readonly bucket: string;
  readonly key: string;
  /** Without the surrounding quotes S3 puts on it. */
  readonly etag: string;
}

/** Prepare's output: the state of the execution from then on. */
export interface PreparedRun {
  /** The execution's name: unique per execution, the same on a redrive. */
  readonly runId: string;
  readonly source: SourceObject;
  /** Where this run's files go; `prefix` has no trailing slash. */
  readonly runFolder: { readonly bucket: string; readonly prefix: string };
  /** `<runFolder.prefix>/input.csv`, for the ItemReader. */
  readonly inputKey: string;
  /** Rows in `input.csv` (the Map's items). */
  readonly rowsToAct: number;
  readonly totalToActUsdc: number;
}

/** Prepare's event: `{runId: $$.Execution.Name, input: <the execution's input>}`. */
export interface PrepareEvent {
  readonly runId: string;
  /** An S3 `Object Created` event, a SageMaker `Processing Job State Change` event, or `{bucket, key}`. */
  readonly input: unknown;
}

/** The normalized columns of `input.csv`, in order; the Map's items carry them as strings. */
export const PAYOUT_COLUMNS = ['line', 'agent_id', 'score', 'amount_usdc'] as const;
export type PayoutItem = { readonly [column in (typeof PAYOUT_COLUMNS)[number]]: string };

/** What the ItemBatcher's BatchInput carries to every batch. */
export interface BatchInput {
  readonly runId: string;
  readonly sourceBucket: string;
  readonly sourceKey: string;
  readonly sourceEtag: string;
}

/** The Act handler's event, as Distributed Map sends it. */
export interface ActBatchEvent {
  readonly Items: readonly PayoutItem[];
  readonly BatchInput: BatchInput;
}

/**
 * A row's status in a run's log. `IN_PROGRESS`: another invocation held the row's action when the run
 * was summarized (an overlapping run of the same file, or a retried batch whose first invocation was
 * still running); its outcome is in that run's log, or in the log of a rerun after it ends.
 */
export type RowStatus = 'SUCCEEDED' | 'SKIPPED' | 'INVALID' | 'REJECTED' | 'UNKNOWN' | 'IN_PROGRESS';

/** What every row outcome has; each construct adds its own columns (agent_id, transaction_id...). */
interface RowOutcomeFields {
  /** The row's line in the source file (the header, if any, is line 1). */
  readonly line: number;
  /** Whole cents, at most MAX_ROW_AMOUNT_USDC: exact as a JSON number. */
  readonly amount_usdc?: number;
  /** The API's answer for SUCCEEDED rows (a transfer or escrow id if present). */
  readonly result?: { readonly [key: string]: unknown };
  readonly error?: string;
  /** True when an earlier run or invocation did the work and this one read the ledger. */
  readonly repeated?: boolean;
  /**
   * A row whose action the ledger already had shows the ledger's amount (what moved, or may have) in
   * `amount_usdc`; where this run computed another (a changed rule, a re-scored transaction), that one is
   * here, and `note` says so.
   */
  readonly computed_amount_usdc?: number;
  readonly note?: string;
  readonly [column: string]: unknown;
}

/** One source row's outcome, as it appears in a run's log. */
export interface RowOutcome extends RowOutcomeFields {
  readonly status: RowStatus;
}

/** A payout log row: the source's agent id and score. */
export interface PayoutRowOutcome extends RowOutcome {
  readonly agent_id: string;
  readonly score: string;
}

/**
 * A row as the Act handler reports it: a final status, or IN_PROGRESS when another invocation holds
 * the action (a concurrent run of the same file); Summarize then reads the ledger for its outcome.
 */
export interface ActRowOutcome extends RowOutcomeFields {
  readonly status: RowStatus;
}

/** The Act handler's output (one Map child execution's Output). */
export interface ActBatchResult {
  readonly rows: readonly ActRowOutcome[];
}

/** Summarize's event: the execution's state after the Map (`resultPath: $.mapResult`). */
export interface SummarizeEvent extends PreparedRun {
  readonly mapResult: { readonly ResultWriterDetails?: { readonly Bucket: string; readonly Key: string } };
}

/** What a batch construct's Summarize handler is told. */
export interface BatchSummarizeSettings {
  /** Name or ARN of the bus that gets `Purple Flea Payout Completed`. */
  readonly eventBusName: string;
  readonly dryRun: boolean;
}

export const BATCH_SUMMARIZE_ENV = {
  eventBusName: 'EVENT_BUS_NAME',
  dryRun: 'DRY_RUN',
} as const;

export function batchSummarizeEnvironment(settings: BatchSummarizeSettings): { [name: string]: string } {
  return {
    [BATCH_SUMMARIZE_ENV.eventBusName]: settings.eventBusName,
    [BATCH_SUMMARIZE_ENV.dryRun]: String(settings.dryRun),
  };
}

export function readBatchSummarizeSettings(env: Environment): BatchSummarizeSettings {
  const read = new EnvironmentReader(env, 'Summarize');
  return {
    eventBusName: read.string(BATCH_SUMMARIZE_ENV.eventBusName),
    dryRun: read.boolean(BATCH_SUMMARIZE_ENV.dryRun),
  };
}
