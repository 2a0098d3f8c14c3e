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

  /** Takes a slot only if one is free right now. */
  tryTake(): boolean {
    const now = this.now();
    if (this.nextSlot > now) return false;
    this.nextSlot = now + this.intervalMs;
    return true;
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

/**
 * Runs `work` over `items` with at most `concurrency` in flight; results keep the items' order. After
 * a failure no new item starts, and the failure is thrown once the items in flight have finished (no
 * work goes on in the background after the caller has been told).
 */
export async function mapWithConcurrency<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        results[index] = await work(items[index]);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}
