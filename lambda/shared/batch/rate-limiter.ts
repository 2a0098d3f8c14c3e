import { sleep } from '../backoff';

/**
 * Spaces requests evenly at `ratePerSecond`: each `take()` resolves at the next free slot. Purple
 * Flea's limits are fixed windows, so a steady pace (no bursts) keeps a run under them.
 */
export class RateLimiter {
  private readonly intervalMs: number;
  private nextSlot = 0;

  constructor(ratePerSecond: number, private readonly now: () => number = Date.now) {
    this.intervalMs = 1000 / ratePerSecond;
  }

  /** Waits for a slot; resolves false without waiting when the slot would come after `deadline`. */
  async take(deadline = Infinity): Promise<boolean> {
    const slot = Math.max(this.now(), this.nextSlot);
    if (slot > deadline) return false;
    this.nextSlot = slot + this.intervalMs;
    const wait = slot - this.now();
    if (wait > 0) await sleep(wait);
    return true;
  }
}

/** Runs `work` over `items` with at most `concurrency` in flight; results keep the items' order. */
export async function mapWithConcurrency<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}
