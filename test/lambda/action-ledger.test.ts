import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ActionLedger, CapReservation, MAX_HISTORY_ENTRIES, toCents } from '../../lambda/shared/action-ledger';
import { DynaliteServer, LocalLedger, startLocalLedger } from '../support/dynalite';

let dynamo: DynaliteServer;
let client: DynamoDBClient;
let now = Date.parse('2026-11-28T12:00:00Z');
let counter = 0;
const TABLE = 'LedgerUnderTest';

function ledger(retentionDays?: number) {
  return new ActionLedger({ tableName: TABLE, client, now: () => now, retentionDays });
}
const key = () => `v1:test:${++counter}`;
const claim = (state: 'CLAIMED' | 'SENDING', leaseMs = 60_000) => ({ state, leaseMs, request: { amount: 5 }, amountUsdc: 5 });

let local: LocalLedger;
beforeAll(async () => {
  local = await startLocalLedger(TABLE);
  ({ dynamo, client } = local);
});
afterAll(() => local.close());

describe('ActionLedger transitions', () => {
  test('a new action is claimed once; a second claim gets the record, not the action', async () => {
    const actionKey = key();
    const first = await ledger().claim(actionKey, claim('SENDING'));
    expect(first.claimed).toBe(true);
    const second = await ledger().claim(actionKey, claim('SENDING'));
    expect(second).toMatchObject({ claimed: false, existing: { actionKey, state: 'SENDING', attempts: 1, request: { amount: 5 } } });
  });

  test('only one of 25 concurrent claims wins', async () => {
    const actionKey = key();
    const results = await Promise.all(Array.from({ length: 25 }, () => ledger().claim(actionKey, claim('CLAIMED'))));
    expect(results.filter((result) => result.claimed)).toHaveLength(1);
  });

  test('CLAIMED → SENDING → SUCCEEDED by the claim holder; a stranger token changes nothing', async () => {
    const actionKey = key();
    const result = await ledger().claim(actionKey, claim('CLAIMED'));
    if (!result.claimed) throw new Error('expected a claim');
    expect(await ledger().markSending(actionKey, 'someone-else', 60_000)).toBe(false);
    expect(await ledger().markSending(actionKey, result.claimToken, 60_000)).toBe(true);
    expect(await ledger().recordOutcome(actionKey, 'someone-else', 'SUCCEEDED', {})).toBe(false);
    expect(await ledger().recordOutcome(actionKey, result.claimToken, 'SUCCEEDED', { response: { order_id: 'ord_1' } })).toBe(true);
    expect(await ledger().get(actionKey)).toMatchObject({ state: 'SUCCEEDED', response: { order_id: 'ord_1' } });
    expect((await ledger().claim(actionKey, claim('SENDING'))).claimed).toBe(false);
  });

  test('an expired CLAIMED lease may be taken over (nothing was sent); the old holder then cannot send', async () => {
    const actionKey = key();
    const old = await ledger().claim(actionKey, claim('CLAIMED', 1_000));
    if (!old.claimed) throw new Error('expected a claim');
    now += 2_000;
    const takeover = await ledger().claim(actionKey, claim('CLAIMED'));
    expect(takeover.claimed).toBe(true);
    expect(await ledger().markSending(actionKey, old.claimToken, 60_000)).toBe(false);
    expect(await ledger().get(actionKey)).toMatchObject({ state: 'CLAIMED', attempts: 2 });
  });

  test('an expired SENDING lease is never taken over: it becomes UNKNOWN, once', async () => {
    const actionKey = key();
    const sender = await ledger().claim(actionKey, claim('SENDING', 1_000));
    if (!sender.claimed) throw new Error('expected a claim');
    now += 2_000;
    const repeat = await ledger().claim(actionKey, claim('SENDING'));
    if (repeat.claimed) throw new Error('an expired SENDING must not be claimable');
    const first = await ledger().markExpiredSendingUnknown(repeat.existing);
    const second = await ledger().markExpiredSendingUnknown(repeat.existing);
    expect(first).toMatchObject({ changed: true, record: { state: 'UNKNOWN' } });
    expect(second).toMatchObject({ changed: false, record: { state: 'UNKNOWN' } });
    // The late answer of the original sender can no longer overwrite the operator's UNKNOWN.
    expect(await ledger().recordOutcome(actionKey, sender.claimToken, 'SUCCEEDED', {})).toBe(false);
  });

  test('a REJECTED action may run again, with its attempt counted and the old error cleared', async () => {
    const actionKey = key();
    const first = await ledger().claim(actionKey, claim('SENDING'));
    if (!first.claimed) throw new Error('expected a claim');
    await ledger().recordOutcome(actionKey, first.claimToken, 'REJECTED', { error: 'rate_limited' });
    const again = await ledger().claim(actionKey, claim('SENDING'));
    expect(again.claimed).toBe(true);
    const record = await ledger().get(actionKey);
    expect(record).toMatchObject({ state: 'SENDING', attempts: 2 });
    expect(record?.error).toBeUndefined();
  });

  test('an UNKNOWN action is never claimable again', async () => {
    const actionKey = key();
    const first = await ledger().claim(actionKey, claim('SENDING'));
    if (!first.claimed) throw new Error('expected a claim');
    await ledger().recordOutcome(actionKey, first.claimToken, 'UNKNOWN', { error: 'no answer' });
    now += 365 * 86_400_000;
    expect(await ledger().claim(actionKey, claim('SENDING'))).toMatchObject({ claimed: false, existing: { state: 'UNKNOWN' } });
  });

  test('CLAIMED → REJECTED when the holder decides not to send', async () => {
    const actionKey = key();
    const held = await ledger().claim(actionKey, claim('CLAIMED'));
    if (!held.claimed) throw new Error('expected a claim');
    expect(await ledger().releaseClaim(actionKey, held.claimToken, 'over cap')).toBe(true);
    expect(await ledger().get(actionKey)).toMatchObject({ state: 'REJECTED', error: 'over cap' });
  });
});

function reservation(counterKey: string, cents: number): CapReservation {
  return { counterKey, cents, id: randomUUID() };
}

async function counterCents(counterKey: string): Promise<number | undefined> {
  return ((await ledger().get(counterKey)) as unknown as { reservedCents?: number } | undefined)?.reservedCents;
}

describe('ActionLedger caps and retention', () => {
  test('reservations never overshoot the cap under concurrency, in whole cents', async () => {
    const counter = key();
    const reservations = Array.from({ length: 30 }, () => reservation(counter, toCents(0.1)));
    const results = await Promise.all(reservations.map((each) => ledger().reserve(each, toCents(1))));
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(await ledger().release(reservations[results.indexOf(true)])).toBe(true);
    expect(await ledger().reserve(reservation(counter, toCents(0.1)), toCents(1))).toBe(true);
    expect(await ledger().reserve(reservation(counter, toCents(0.1)), toCents(1))).toBe(false);
  });

  test('an amount above the cap on its own is refused without a write', async () => {
    expect(await ledger().reserve(reservation(key(), toCents(51)), toCents(50))).toBe(false);
  });

  test('a reservation is held once: a repeated reserve is not counted twice, and only the first release gives it back', async () => {
    const counter = key();
    const held = reservation(counter, 700);
    expect(await ledger().reserve(held, 1_000)).toBe(true);
    // The SDK's retry of a write whose answer was lost: recognised as the same reservation.
    expect(await ledger().reserve(held, 1_000)).toBe(true);
    expect(await counterCents(counter)).toBe(700);
    const releases = await Promise.all([ledger().release(held), ledger().release(held), ledger().release(held)]);
    expect(releases.filter(Boolean)).toHaveLength(1);
    expect(await counterCents(counter)).toBe(0);
    expect(await ledger().release(reservation(counter, 700))).toBe(false);
    expect(await counterCents(counter)).toBe(0);
  });

  test('records expire only when a retention period is given', async () => {
    const kept = key();
    await ledger().claim(kept, claim('SENDING'));
    expect(await ledger().get(kept)).not.toHaveProperty('expiresAt');

    const expiring = key();
    await ledger(35).claim(expiring, claim('SENDING'));
    expect(await ledger().get(expiring)).toMatchObject({ expiresAt: Math.floor(now / 1000) + 35 * 86_400 });
  });
});

describe('ActionLedger history: every transition is kept, in the write that makes it', () => {
  const iso = () => new Date(now).toISOString();

  test('claim → SENDING → SUCCEEDED leaves one entry per transition, with its time', async () => {
    const actionKey = key();
    const claimedAt = iso();
    const held = await ledger().claim(actionKey, claim('CLAIMED'));
    if (!held.claimed) throw new Error('expected a claim');
    now += 1_000;
    const sendingAt = iso();
    await ledger().markSending(actionKey, held.claimToken, 60_000);
    now += 1_000;
    await ledger().recordOutcome(actionKey, held.claimToken, 'SUCCEEDED', { response: { order_id: 'ord_1' } });
    expect((await ledger().get(actionKey))?.history).toEqual([
      { at: claimedAt, event: 'claim', state: 'CLAIMED' },
      { at: sendingAt, event: 'mark-sending', state: 'SENDING' },
      { at: iso(), event: 'record-outcome', state: 'SUCCEEDED' },
    ]);
  });

  test('history costs no round trip: a claim as SENDING and its outcome are still two requests', async () => {
    const actionKey = key();
    let requests = 0;
    const count = () => (requests += 1);
    dynamo.server!.on('request', count);
    try {
      const held = await ledger().claim(actionKey, claim('SENDING'));
      if (!held.claimed) throw new Error('expected a claim');
      await ledger().recordOutcome(actionKey, held.claimToken, 'UNKNOWN', { error: 'no answer' });
    } finally {
      dynamo.server!.off('request', count);
    }
    expect(requests).toBe(2);
    expect((await ledger().get(actionKey))?.history?.map((entry) => entry.state)).toEqual(['SENDING', 'UNKNOWN']);
  });

  test('a refused transition (a stranger token, a second claim) adds nothing', async () => {
    const actionKey = key();
    const held = await ledger().claim(actionKey, claim('SENDING'));
    if (!held.claimed) throw new Error('expected a claim');
    await ledger().claim(actionKey, claim('SENDING'));
    await ledger().recordOutcome(actionKey, 'someone-else', 'SUCCEEDED', {});
    expect((await ledger().get(actionKey))?.history).toHaveLength(1);
  });

  test('errors are kept per transition (cut to a few hundred characters), through releases, rejections and expiry', async () => {
    const actionKey = key();
    const first = await ledger().claim(actionKey, claim('CLAIMED'));
    if (!first.claimed) throw new Error('expected a claim');
    await ledger().releaseClaim(actionKey, first.claimToken, 'over cap');
    const second = await ledger().claim(actionKey, claim('SENDING', 1_000));
    if (!second.claimed) throw new Error('expected a claim');
    await ledger().recordOutcome(actionKey, second.claimToken, 'REJECTED', { error: `rate_limited: ${'x'.repeat(5_000)}` });
    const third = await ledger().claim(actionKey, claim('SENDING', 1_000));
    if (!third.claimed) throw new Error('expected a claim');
    now += 2_000;
    const record = (await ledger().get(actionKey))!;
    await ledger().markExpiredSendingUnknown(record);

    const history = (await ledger().get(actionKey))!.history!;
    expect(history.map((entry) => [entry.event, entry.state, entry.error?.slice(0, 12)])).toEqual([
      ['claim', 'CLAIMED', undefined],
      ['release-claim', 'REJECTED', 'over cap'],
      ['claim', 'SENDING', undefined],
      ['record-outcome', 'REJECTED', 'rate_limited'],
      ['claim', 'SENDING', undefined],
      ['expire-sending', 'UNKNOWN', 'lease expire'],
    ]);
    expect(history[3].error!.length).toBeLessThanOrEqual(300);
    // The record's own error is the whole text: only the history is cut.
    expect((await ledger().get(actionKey))!.error).toContain('lease expired');
  });

  test('an action rejected again and again keeps at most MAX_HISTORY_ENTRIES entries, the newest', async () => {
    const actionKey = key();
    const attempts = Math.ceil(MAX_HISTORY_ENTRIES / 2) + 5;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      now += 1_000;
      const held = await ledger().claim(actionKey, claim('SENDING'));
      if (!held.claimed) throw new Error('expected a claim');
      await ledger().recordOutcome(actionKey, held.claimToken, 'REJECTED', { error: `attempt ${attempt}` });
    }
    const record = (await ledger().get(actionKey))!;
    expect(record.attempts).toBe(attempts);
    expect(record.history!.length).toBeLessThanOrEqual(MAX_HISTORY_ENTRIES + 1);
    expect(record.history!.at(-1)).toMatchObject({ event: 'record-outcome', error: `attempt ${attempts}` });
    expect(record.history!.some((entry) => entry.error === 'attempt 1')).toBe(false);
  });
});

describe('ActionLedger cap reservation on the record', () => {
  test('a claim that takes an action over releases what earlier attempts reserved and drops them from the record', async () => {
    const actionKey = key();
    const counterKey = key();
    const first = await ledger().claim(actionKey, { ...claim('SENDING'), cap: { counterKey, cents: 500 } });
    if (!first.claimed) throw new Error('expected a claim');
    expect(await ledger().reserve({ counterKey, cents: 500, id: first.claimToken }, 10_000)).toBe(true);
    // The attempt was refused, but its invocation died before it gave the reservation back.
    await ledger().recordOutcome(actionKey, first.claimToken, 'REJECTED', { error: 'rate_limited' });
    expect(await counterCents(counterKey)).toBe(500);

    const second = await ledger().claim(actionKey, { ...claim('SENDING'), cap: { counterKey, cents: 300 } });
    if (!second.claimed) throw new Error('expected a claim');
    expect(await counterCents(counterKey)).toBe(0);
    expect((await ledger().get(actionKey))?.capReservations).toEqual([{ counterKey, cents: 300, id: second.claimToken }]);
  });

  test('the claim records the counter and cents it reserves on; a later attempt without a cap clears them', async () => {
    const actionKey = key();
    const first = await ledger().claim(actionKey, {
      ...claim('SENDING'),
      cap: { counterKey: 'v1:daily-notional:t:2026-11-28', cents: 500 },
    });
    if (!first.claimed) throw new Error('expected a claim');
    expect(await ledger().get(actionKey)).toMatchObject({ capCounterKey: 'v1:daily-notional:t:2026-11-28', capReservedCents: 500 });
    await ledger().recordOutcome(actionKey, first.claimToken, 'REJECTED', { error: 'rate_limited' });

    await ledger().claim(actionKey, claim('SENDING'));
    const record = await ledger().get(actionKey);
    expect(record).not.toHaveProperty('capCounterKey');
    expect(record).not.toHaveProperty('capReservedCents');
  });
});
