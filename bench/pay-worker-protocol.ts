/**
 * Messages between bench/batch-payout-drive.ts (the Map) and bench/pay-worker.ts (one Pay container
 * in a worker thread of its own).
 */
import type { ActBatchEvent } from '../lib/private/contracts/batch-engine';

/** What the worker runs: the bundled handler, or the same structure without the ledger. */
export type WorkerSpec =
  | { readonly kind: 'bundle'; readonly bundle: string }
  | { readonly kind: 'bare'; readonly baseUrl: string; readonly secretArn: string; readonly concurrency: number };

export type WorkerRequest =
  | { readonly type: 'pay'; readonly id: number; readonly batch: ActBatchEvent }
  | { readonly type: 'stats-start'; readonly id: number }
  | { readonly type: 'stats'; readonly id: number };

export interface WorkerStats {
  /** The worker's event loop utilization (0..1) since 'stats-start'. */
  readonly eventLoop: number;
  /** How late its timers ran since 'stats-start' (ms). */
  readonly delayP99Ms: number;
  readonly delayMaxMs: number;
  /** Handler output discarded by the worker since it started. */
  readonly discardedBytes: number;
}

export type WorkerReply =
  | { readonly type: 'ready'; readonly id: 0 }
  | { readonly type: 'paid'; readonly id: number; readonly rows: readonly { readonly status: string; readonly repeated?: boolean }[] }
  | { readonly type: 'failed'; readonly id: number; readonly error: string }
  | { readonly type: 'stats-started'; readonly id: number }
  | ({ readonly type: 'stats'; readonly id: number } & WorkerStats);
