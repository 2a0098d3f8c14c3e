/**
 * The batch engine's RateLimiter on a virtual clock: its timers fire as late as a busy event loop
 * fires them, and the test reads when each request would go out.
 */
import fc from 'fast-check';
import { RATE_HEADROOM, RateLimiter } from '../../lambda/shared/batch/rate-limiter';
import { FixedWindowLimiter } from '../support/sandbox-server';

/** A clock whose timers fire `lateness()` ms after they are due, in order of firing time. */
class VirtualClock {
  now = 0;
  private timers: { at: number; fire: () => void }[] = [];

  constructor(private readonly lateness: () => number = () => 0) {}

  readonly wait = (ms: number) =>
    new Promise<void>((resolve) => {
      this.timers.push({ at: this.now + ms + this.lateness(), fire: resolve });
      this.timers.sort((a, b) => a.at - b.at);
    });

  /** Runs `work` to its end, firing timers one at a time and letting the woken code run between them. */
  async run<T>(work: Promise<T>): Promise<T> {
    let done = false;
    const finished = work.finally(() => {
      done = true;
    });
    while (!done) {
      await new Promise((resolve) => setImmediate(resolve));
      const next = this.timers.shift();
      if (!next) continue;
      this.now = Math.max(this.now, next.at);
      next.fire();
    }
    return finished;
  }
}

/**
 * `takers` loops, each taking a slot, writing to the ledger (`ledgerMs()`) and sending, until `requests`
 * have gone; the send times.
 */
async function sendTimes(
  limiter: RateLimiter,
  clock: VirtualClock,
  takers: number,
  requests: number,
  ledgerMs = () => 0,
  countAtSend = true,
): Promise<number[]> {
  const sent: number[] = [];
  let started = 0;
  const taker = async () => {
    while (started < requests) {
      started++;
      await limiter.take();
      const writeMs = ledgerMs();
      if (writeMs > 0) await clock.wait(writeMs);
      if (countAtSend) await limiter.admit();
      sent.push(clock.now);
    }
  };
  await clock.run(Promise.all(Array.from({ length: takers }, taker)));
  return sent;
}

/** The most requests any window of `windowMs` (starting anywhere) holds. */
function busiestWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; first < sorted.length; first++) {
    while (last < sorted.length && sorted[last] < sorted[first] + windowMs) last++;
    most = Math.max(most, last - first);
  }
  return most;
}

test('tryTake takes a slot only when one is free now, and take() waits for the next one', async () => {
  let now = 1_000;
  const limiter = new RateLimiter(10 / RATE_HEADROOM, () => now);
  // After an idle time the last two unused slots are kept: three requests may go at once (admit() still counts them).
  expect([limiter.tryTake(), limiter.tryTake(), limiter.tryTake()]).toEqual([true, true, true]);
  expect(limiter.tryTake()).toBe(false);
  expect(limiter.waitMs()).toBeCloseTo(100, 6);
  now += 100;
  expect(limiter.tryTake()).toBe(true);
  // The next slot is 100 ms away: past a deadline 50 ms away, it is not taken.
  expect(await limiter.take(now + 50)).toBe(false);
});

test('admit counts a request only if the window has room by its latest start', async () => {
  let now = 0;
  const limiter = new RateLimiter(
    2,
    () => now,
    async (ms) => {
      now += ms;
    },
  );
  // A limit of 2 a second: two requests fill the window, the third must wait until the first leaves it.
  expect(await limiter.admit()).toBe(true);
  expect(await limiter.admit()).toBe(true);
  expect(await limiter.admit(500)).toBe(false);
  expect(now).toBe(0);
  expect(await limiter.admit(2_000)).toBe(true);
  expect(now).toBeGreaterThanOrEqual(1_000);
});

test('on time, requests go out evenly, a little under the limit', async () => {
  const clock = new VirtualClock();
  const sent = await sendTimes(new RateLimiter(20, () => clock.now, clock.wait), clock, 5, 200);
  const gaps = sent.slice(1).map((at, i) => at - sent[i]);
  const intervalMs = 1000 / (20 * RATE_HEADROOM);
  expect(Math.min(...gaps)).toBeCloseTo(intervalMs, 6);
  expect(Math.max(...gaps)).toBeCloseTo(intervalMs, 6);
});

/**
 * Send times of 400 requests at a limit of 20/s, taken by `takers` loops, with timers up to `maxLateMs`
 * late and ledger writes of up to `maxLedgerMs` between a slot and its send.
 */
async function lateRun(seed: number, maxLateMs: number, takers: number, maxLedgerMs = 0): Promise<number[]> {
  // A seeded generator, so that a failure replays.
  let state = seed;
  const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
  const clock = new VirtualClock(() => random() * maxLateMs);
  return sendTimes(new RateLimiter(LIMIT_PER_SECOND, () => clock.now, clock.wait), clock, takers, 400, () => random() * maxLedgerMs);
}
const LIMIT_PER_SECOND = 20;

test('however late the timers and slow the ledger writes, no second holds more requests than the limit', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 ** 31 - 2 }),
      fc.integer({ min: 0, max: 250 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 200 }),
      async (seed, maxLateMs, takers, maxLedgerMs) => {
        const sent = await lateRun(seed, maxLateMs, takers, maxLedgerMs);
        // A server counting fixed one-second windows never sees the limit passed...
        expect(busiestWindow(sent, 1000)).toBeLessThanOrEqual(LIMIT_PER_SECOND);
        // ...even when each request reaches it up to half the headroom (about 15 ms) after it was counted.
        const jitterMs = (1000 / RATE_HEADROOM - 1000) / 2;
        const arrived = sent.map((at, i) => at + (((i * 7919) % 101) / 101) * jitterMs);
        expect(busiestWindow(arrived, 1000)).toBeLessThanOrEqual(LIMIT_PER_SECOND);
      },
    ),
    { numRuns: 40 },
  );
});

test('it is the count at sending that keeps slow ledger writes from bunching requests over the limit', async () => {
  // A row whose write is quick overtakes one whose write is slow: the same run, with and without admit().
  const run = async (countAtSend: boolean) => {
    let state = 7;
    const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
    const clock = new VirtualClock();
    const limiter = new RateLimiter(LIMIT_PER_SECOND, () => clock.now, clock.wait);
    return busiestWindow(await sendTimes(limiter, clock, 5, 400, () => random() * 200, countAtSend), 1000);
  };
  expect(await run(false)).toBeGreaterThan(LIMIT_PER_SECOND);
  expect(await run(true)).toBeLessThanOrEqual(LIMIT_PER_SECOND);
});

test("timers late by less than the headroom's slack do not lower the pace: missed slots are caught up", async () => {
  // Per second of requests, half the headroom is left to catch up in (about 15 ms).
  const slackMs = (1000 / RATE_HEADROOM - 1000) / 2;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 ** 31 - 2 }),
      fc.integer({ min: 0, max: Math.floor(slackMs) }),
      fc.integer({ min: 5, max: 8 }),
      async (seed, maxLateMs, takers) => {
        const sent = await lateRun(seed, maxLateMs, takers);
        // With 5 rows in flight, as a batch has, slots are reserved ahead of the timers: the run ends at
        // its last slot, give or take one timer's lateness.
        const spanMs = Math.max(...sent) - Math.min(...sent);
        expect(spanMs).toBeLessThanOrEqual((399 * 1000) / (LIMIT_PER_SECOND * RATE_HEADROOM) + maxLateMs + 1);
      },
    ),
    { numRuns: 40 },
  );
});

/**
 * A per-minute limit (issue 13: the services' fixed one-minute windows per path and client IP): one batch at
 * `RateLimit.perMinute(20)` gets 20/60 a second, and its requests, counted by the services' own window
 * (`FixedWindowLimiter`, renewed only once more than 60 s have passed), never meet a 429.
 */
describe('at a per-minute limit, against the services’ fixed one-minute windows', () => {
  const PER_MINUTE = 20;
  const WINDOW_MS = 60_000;

  /** How many of `times` the services would refuse (429), counting refused requests too, as they do. */
  function refusals(times: readonly number[]): number {
    const windows = new FixedWindowLimiter(true);
    return times.filter((at) => windows.overLimit('escrow /escrow/create 10.0.0.1', PER_MINUTE, WINDOW_MS, at)).length;
  }

  test('on time, 200 requests go out evenly within 5% of the limit, with 0 × 429', async () => {
    const clock = new VirtualClock();
    const sent = await sendTimes(new RateLimiter(PER_MINUTE / 60, () => clock.now, clock.wait), clock, 5, 200);
    expect(refusals(sent)).toBe(0);
    const perMinute = ((sent.length - 1) / (sent[sent.length - 1] - sent[0])) * WINDOW_MS;
    expect(perMinute).toBeLessThanOrEqual(PER_MINUTE);
    expect(perMinute).toBeGreaterThanOrEqual(PER_MINUTE * 0.95);
    expect(busiestWindow(sent, WINDOW_MS)).toBeLessThanOrEqual(PER_MINUTE);
  });

  test('however late the timers and slow the ledger writes, no request meets a 429', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 2 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 5_000 }),
        async (seed, maxLateMs, takers, maxLedgerMs) => {
          let state = seed;
          const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
          const clock = new VirtualClock(() => random() * maxLateMs);
          const limiter = new RateLimiter(PER_MINUTE / 60, () => clock.now, clock.wait);
          const sent = await sendTimes(limiter, clock, takers, 100, () => random() * maxLedgerMs);
          expect(refusals(sent)).toBe(0);
          expect(busiestWindow(sent, WINDOW_MS)).toBeLessThanOrEqual(PER_MINUTE);
        },
      ),
      { numRuns: 30 },
    );
  });
});

/**
 * A 429 says the server's window is full (issue 13): `pauseUntil` holds every slot and every request of the
 * limiter until the window has renewed, then the pace starts again one slot at a time.
 */
describe('after a 429: the window is full until it renews', () => {
  test('nothing goes out before the renewal, then the requests keep the pace without a burst of kept slots', async () => {
    const clock = new VirtualClock();
    const limiter = new RateLimiter(1, () => clock.now, clock.wait);
    // Idle for long enough to keep slots, then a 429 pauses the limiter until 60 s.
    clock.now = 10_000;
    limiter.pauseUntil(60_000);
    const sent = await sendTimes(limiter, clock, 4, 5);
    expect(Math.min(...sent)).toBeGreaterThanOrEqual(60_000);
    const gaps = sent.slice(1).map((at, i) => at - sent[i]);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(1000 / RATE_HEADROOM - 1);
  });

  test('a request already holding its slot waits at admit; a slot past the deadline is refused without waiting', async () => {
    const clock = new VirtualClock();
    const limiter = new RateLimiter(10, () => clock.now, clock.wait);
    expect(await clock.run(limiter.take())).toBe(true);
    limiter.pauseUntil(30_000);
    expect(await clock.run(limiter.admit(20_000))).toBe(false);
    expect(clock.now).toBe(0);
    expect(await clock.run(limiter.take(29_999))).toBe(false);
    expect(await clock.run(limiter.admit())).toBe(true);
    expect(clock.now).toBe(30_000);
  });

  test('a later pause never shortens an earlier one', async () => {
    const clock = new VirtualClock();
    const limiter = new RateLimiter(10, () => clock.now, clock.wait);
    limiter.pauseUntil(30_000);
    limiter.pauseUntil(20_000);
    expect(limiter.waitMs()).toBe(30_000);
  });
});

/**
 * The Map hands a run's batches to whichever container is free (issue 13: pacing whole windows across
 * batches): each batch's limiter cannot see the last request of the batch before it, in another container.
 * Batch after batch, each on a fresh limiter (a new container) at `RateLimit.perMinute(20)`, the services'
 * windows see no 429, however short the hand-over.
 */
describe('batches handed from container to container', () => {
  const PER_MINUTE = 20;
  const WINDOW_MS = 60_000;

  async function batchesInFreshContainers(batches: number, rowsPerBatch: number, handOverMs: () => number): Promise<number[]> {
    const clock = new VirtualClock();
    const sent: number[] = [];
    for (let batch = 0; batch < batches; batch++) {
      const limiter = new RateLimiter(PER_MINUTE / 60, () => clock.now, clock.wait);
      limiter.startBatch();
      sent.push(...(await sendTimes(limiter, clock, 5, rowsPerBatch)));
      clock.now += handOverMs();
    }
    return sent;
  }

  test('however short the hand-over, the services see no 429, and the pace stays within 5% of the limit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 2 }), fc.integer({ min: 0, max: 200 }), async (seed, maxHandOverMs) => {
        let state = seed;
        const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
        const sent = await batchesInFreshContainers(4, 20, () => random() * maxHandOverMs);
        const windows = new FixedWindowLimiter(true);
        expect(sent.filter((at) => windows.overLimit('pay', PER_MINUTE, WINDOW_MS, at)).length).toBe(0);
        const perMinute = ((sent.length - 1) / (sent[sent.length - 1] - sent[0])) * WINDOW_MS;
        expect(perMinute).toBeGreaterThanOrEqual(PER_MINUTE * 0.95);
      }),
      { numRuns: 40 },
    );
  });
});
