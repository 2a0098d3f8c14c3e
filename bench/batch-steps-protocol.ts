/**
 * What bench/batch-steps.bench.ts says to its two kinds of child process: the S3 stand-in
 * (bench/batch-steps-s3.ts, FakeS3 and the synthetic files) and the step worker (bench/batch-steps-worker.ts,
 * one Prepare or Summarize per process, so that its peak memory is its own).
 */
import type { PrepareEvent, PreparedRun, SummarizeEvent } from '../lib/private/contracts/batch-engine';
import type { BatchPayoutPrepareSettings } from '../lib/private/contracts/batch-payout-env';
import type { FraudHoldPrepareSettings } from '../lib/private/contracts/fraud-hold-env';

export const SOURCE_BUCKET = 'bench-source';
export const RUNS_BUCKET = 'bench-runs';

/** To the S3 stand-in; each answered with `{ id, result }` or `{ id, error }`. */
export type ToS3 =
  | { readonly id: number; readonly type: 'scores'; readonly key: string; readonly rows: number }
  | { readonly id: number; readonly type: 'records'; readonly key: string; readonly rows: number }
  /** The Map's result files for a prepared run, as the ResultWriter leaves them; answers the manifest's key. */
  | { readonly id: number; readonly type: 'map-results'; readonly run: PreparedRun; readonly itemsPerBatch: number }
  | { readonly id: number; readonly type: 'sizes'; readonly keys: readonly { bucket: string; key: string }[] }
  | { readonly id: number; readonly type: 'forget'; readonly prefix: string };

/** A request before the bench numbers it. */
export type S3Request = ToS3 extends infer T ? (T extends unknown ? Omit<T, 'id'> : never) : never;

export type FromS3 =
  | { readonly type: 'ready'; readonly url: string }
  | { readonly id: number; readonly result: unknown }
  | { readonly id: number; readonly error: string };

/** To a step worker: the one step it runs. */
export type StepJob =
  | { readonly step: 'payout-prepare'; readonly s3Url: string; readonly settings: BatchPayoutPrepareSettings; readonly event: PrepareEvent }
  | { readonly step: 'holds-prepare'; readonly s3Url: string; readonly settings: FraudHoldPrepareSettings; readonly event: PrepareEvent }
  | { readonly step: 'payout-summarize'; readonly s3Url: string; readonly event: SummarizeEvent };

/** From a step worker, once its step has run. */
export interface StepReport {
  readonly ms: number;
  /** process.resourceUsage().maxRSS at the end: the process's peak resident set, in KiB. */
  readonly maxRssKiB: number;
  /** The resident set and V8's used heap once loaded, before the step (what any invocation holds). */
  readonly startRssBytes: number;
  readonly startHeapBytes: number;
  /** The largest V8 used heap sampled every 10 ms during the step. */
  readonly peakHeapBytes: number;
  readonly result: unknown;
}
