import { sleep } from '../backoff';

/** The longest record of recent requests a limiter keeps (a window of at most this many requests). */
const MAX_WINDOW_REQUESTS = 1_000;

/**
 * Slots of a short idle gap kept for the requests after it: between one batch's last row and the next
 * batch's first, a container has no request waiting, and without these the run would lose a slot or
 * two at every batch. The count at sending (`admit`) keeps them from bunching past the limit.
 */
const KEPT_IDLE_SLOTS = 2;

/**
 * Paced a little under the limit: Purple Flea counts requests in fixed windows, and network jitter can
 * move a request into the next window; the headroom keeps a window from ever going over.
 */
export const RATE_HEADROOM = 0.97;

/**
 * Keeps requests under `limitPerSecond`. Two parts:
 * - slots (`take`, `tryTake`) space the requests evenly at `RATE_HEADROOM` of the limit. Purple Flea's
 *   limits are fixed windows, so a steady pace (no bursts) keeps a run under them. Slots are kept
 *   when a timer fires late, so a busy event loop does not lower the pace.
 * - `startBatch` keeps that pace across batches handed from one container to the next.
 * - `pauseUntil`, after a 429 (the server's fixed window is full): no slot and no request before the window
 *   renews; the pace then starts again from there.
 * - `admit`, as each request goes out, counts it: never more than a second's worth of the limit in any
 *   second and a little more (for a limit under one a second, one request per 1/limit seconds and a
 *   little more). Catching up on late slots, or a ledger write taking longer for one row than the next,
 *   cannot bunch requests into one of the server's windows.
 */
export class RateLimiter {
  private readonly intervalMs: number;
  private readonly windowRequests: number;
  private readonly windowMs: number;
  /** When the last `windowRequests` requests went, oldest first. */
  private readonly recent: number[] = [];
  private nextSlot = 0;
  /** No request before this (epoch ms): a 429 said the server's window is full until it renews. */
  private pausedUntil = 0;

  constructor(
    limitPerSecond: number,
    private readonly now: () => number = Date.now,
    private readonly wait: (ms: number) => Promise<void> = sleep,
  ) {
    this.intervalMs = 1000 / (limitPerSecond * RATE_HEADROOM);
    this.windowRequests = Math.min(Math.max(Math.ceil(limitPerSecond), 1), MAX_WINDOW_REQUESTS);
    // The headroom split in two: the window is half of it longer than the limit's own (for the network's
    // jitter between our count and the server's), and half of it shorter than the pace (room for a
    // late request to catch up).
    this.windowMs = ((this.windowRequests * 1000) / limitPerSecond) * (1 + (1 / RATE_HEADROOM - 1) / 2);
  }

  /** How long a `take()` now would wait for its slot. */
  waitMs(): number {
    return Math.max(this.nextSlot - this.now(), 0);
  }

  /** Takes a slot only if one is free right now. */
  tryTake(): boolean {
    const now = this.now();
    if (this.nextSlot > now) return false;
    this.nextSlot = this.earliestSlot(now) + this.intervalMs;
    return true;
  }

  /** Waits for a slot; resolves false without waiting when the slot would come after `deadline`. */
  async take(deadline = Infinity): Promise<boolean> {
    const slot = this.earliestSlot(this.now());
    if (slot > deadline) return false;
    this.nextSlot = slot + this.intervalMs;
    if (slot > this.now()) await this.wait(slot - this.now());
    return true;
  }

  /**
   * Right before a request goes out: waits while the window is full, then counts the request in it.
   * False, without counting it, when the window has no room by `latestStart`.
   */
  async admit(latestStart = Infinity): Promise<boolean> {
    // Re-checked after each wait: other requests may have filled the window meanwhile.
    for (let freeAt = this.windowFreeAt(); freeAt > this.now(); freeAt = this.windowFreeAt()) {
      if (freeAt > latestStart) return false;
      await this.wait(freeAt - this.now());
    }
    this.recent.push(this.now());
    if (this.recent.length > this.windowRequests) this.recent.shift();
    return true;
  }

  /**
   * At the start of each batch: its first slot comes a whole interval later. The Map hands the run's batches to
   * whichever container is free, so the request before this batch's first may have just gone out from another
   * container, whose pace this limiter cannot see; without the interval, the two would bunch at every hand-over.
   */
  startBatch(): void {
    this.nextSlot = Math.max(this.nextSlot, this.now() + this.intervalMs);
  }

  /**
   * The server's window is full (a 429): nothing goes out before `until`, and the pace starts again from
   * there, one slot at a time (no slots are kept from the pause, which would bunch requests into the new window).
   */
  pauseUntil(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
    this.nextSlot = Math.max(this.nextSlot, this.pausedUntil);
  }

  /** The next slot, or one of the last few that went unused while nobody was waiting, never within a pause. */
  private earliestSlot(now: number): number {
    return Math.max(this.nextSlot, now - KEPT_IDLE_SLOTS * this.intervalMs, this.pausedUntil);
  }

  /** When the window has room for one more request: when its oldest request leaves it, and not within a pause. */
  private windowFreeAt(): number {
    const ownWindowFreeAt = this.recent.length < this.windowRequests ? 0 : this.recent[0] + this.windowMs;
    return Math.max(ownWindowFreeAt, this.pausedUntil);
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
