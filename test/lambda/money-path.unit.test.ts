/**
 * MoneyPath's decisions with plain fakes (issue 11): an in-memory ledger that keeps the conditional
 * rules of ActionLedger (one record per key, transitions guarded by state and claim token, reservations
 * held by id) and a scripted API. No dynalite, no sandbox: the DynamoDB behaviour itself is tested
 * against dynalite in action-ledger.test.ts, and end to end in money-path.test.ts.
 */
import type { CapReservation, ClaimRequest, ClaimResult, LedgerRecord, LedgerState } from '../../lambda/shared/action-ledger';
import { MoneyAction, MoneyPath, MoneyPathLedger } from '../../lambda/shared/money-path';
import type { ApiOutcome, MoneyApi } from '../../lambda/shared/purpleflea-client';
import { pacingWith } from '../support/money-path-fakes';

class InMemoryLedger implements MoneyPathLedger {
  readonly records = new Map<string, LedgerRecord>();
  readonly counters = new Map<string, { cents: number; held: Set<string> }>();
  private tokens = 0;

  constructor(private readonly now: () => number) {}

  async claim(actionKey: string, claim: ClaimRequest): Promise<ClaimResult> {
    const existing = this.records.get(actionKey);
    const claimable = !existing || existing.state === 'REJECTED' || (existing.state === 'CLAIMED' && existing.leaseExpiresAt < this.now());
    if (!claimable) return { claimed: false, existing };
    const claimToken = `token-${++this.tokens}`;
    const earlier = existing?.capReservations ?? [];
    for (const reservation of earlier) await this.release(reservation);
    this.records.set(actionKey, {
      actionKey,
      state: claim.state,
      claimToken,
      leaseExpiresAt: this.now() + claim.leaseMs,
      attempts: (existing?.attempts ?? 0) + 1,
      request: claim.request,
      amountUsdc: claim.amountUsdc,
      capReservations: claim.cap ? [{ ...claim.cap, id: claimToken }] : [],
      createdAt: 'now',
      updatedAt: 'now',
    });
    return { claimed: true, claimToken };
  }

  async markSending(actionKey: string, claimToken: string, leaseMs: number): Promise<boolean> {
    return this.transition(actionKey, claimToken, 'CLAIMED', 'SENDING', { leaseExpiresAt: this.now() + leaseMs });
  }

  async recordOutcome(
    actionKey: string,
    claimToken: string,
    state: 'SUCCEEDED' | 'REJECTED' | 'UNKNOWN',
    details: { response?: { [key: string]: unknown }; error?: string },
  ) {
    return this.transition(actionKey, claimToken, 'SENDING', state, details);
  }

  async releaseClaim(actionKey: string, claimToken: string, error: string): Promise<boolean> {
    return this.transition(actionKey, claimToken, 'CLAIMED', 'REJECTED', { error });
  }

  async markExpiredSendingUnknown(record: LedgerRecord) {
    const changed = this.transition(record.actionKey, record.claimToken, 'SENDING', 'UNKNOWN', { error: 'lease expired while SENDING' });
    return { record: this.records.get(record.actionKey)!, changed };
  }

  async reserve(reservation: CapReservation, capCents: number): Promise<boolean> {
    const counter = this.counters.get(reservation.counterKey) ?? { cents: 0, held: new Set<string>() };
    this.counters.set(reservation.counterKey, counter);
    if (counter.held.has(reservation.id)) return true;
    if (counter.cents + reservation.cents > capCents) return false;
    counter.cents += reservation.cents;
    counter.held.add(reservation.id);
    return true;
  }

  async release(reservation: CapReservation): Promise<boolean> {
    const counter = this.counters.get(reservation.counterKey);
    if (!counter?.held.delete(reservation.id)) return false;
    counter.cents -= reservation.cents;
    return true;
  }

  private transition(actionKey: string, claimToken: string, from: LedgerState, to: LedgerState, fields: Partial<LedgerRecord>): boolean {
    const record = this.records.get(actionKey);
    if (record?.state !== from || record.claimToken !== claimToken) return false;
    this.records.set(actionKey, { ...record, ...fields, state: to });
    return true;
  }
}

/** Purple Flea, scripted: each request takes the next answer, and every request is counted. */
class ScriptedApi implements MoneyApi {
  readonly sent: string[] = [];
  constructor(private readonly answers: Array<ApiOutcome | Error>) {}

  async post(_request: unknown, options: { actionKey: string }): Promise<ApiOutcome> {
    const answer = this.answers.shift() ?? { outcome: 'SUCCEEDED', status: 200, response: { order_id: 'ord_default' }, attempts: 1 };
    if (answer instanceof Error) throw answer;
    this.sent.push(options.actionKey);
    return answer;
  }
}

const NOW = Date.parse('2026-12-04T12:00:00Z');
let clock = NOW;
const now = () => clock;
const deadline = () => clock + 10_000;
beforeEach(() => {
  clock = NOW;
});

function order(key: string, amountUsdc = 60, capUsdc?: number): MoneyAction {
  return {
    actionKey: `v1:trade:unit:${key}`,
    amountUsdc,
    request: { path: '/trading/order', body: { amount: amountUsdc } },
    cap: capUsdc === undefined ? undefined : { counterKey: 'v1:daily-notional:unit:2026-12-04', capUsdc },
  };
}

const succeeded = (id: string): ApiOutcome => ({ outcome: 'SUCCEEDED', status: 200, response: { order_id: id }, attempts: 1 });
const refused: ApiOutcome = { outcome: 'REJECTED', status: 402, error: 'insufficient_balance', attempts: 1 };
const lost: ApiOutcome = { outcome: 'UNKNOWN', error: 'no answer after sending', attempts: 1 };

describe('MoneyPath decisions, with an in-memory ledger and a scripted API', () => {
  test('sends once and records SUCCEEDED; a repeat reports the record without a call, and what it recorded', async () => {
    const ledger = new InMemoryLedger(now);
    const api = new ScriptedApi([succeeded('ord_1')]);
    const path = new MoneyPath(ledger, api, now);
    expect(await path.executeOnce(order('a'), { deadline: deadline() })).toMatchObject({
      status: 'SUCCEEDED',
      repeated: false,
      response: { order_id: 'ord_1' },
    });
    const repeat = await path.executeOnce(order('a', 75), { deadline: deadline() });
    expect(repeat).toMatchObject({ status: 'SUCCEEDED', repeated: true, recorded: { amountUsdc: 60 } });
    expect(api.sent).toEqual(['v1:trade:unit:a']);
  });

  test('over the cap: INVALID, nothing sent, the record REJECTED, nothing held', async () => {
    const ledger = new InMemoryLedger(now);
    const api = new ScriptedApi([]);
    const path = new MoneyPath(ledger, api, now);
    expect((await path.executeOnce(order('a', 60, 100), { deadline: deadline() })).status).toBe('SUCCEEDED');
    const over = await path.executeOnce(order('b', 60, 100), { deadline: deadline() });
    expect(over).toMatchObject({ status: 'INVALID', error: expect.stringContaining('would exceed 100 USDC') });
    expect(ledger.records.get('v1:trade:unit:b')?.state).toBe('REJECTED');
    expect(ledger.counters.get('v1:daily-notional:unit:2026-12-04')?.cents).toBe(6_000);
    expect(api.sent).toEqual(['v1:trade:unit:a']);
  });

  test('a repeat delivery never reserves: it reports IN_PROGRESS while the first holds the action', async () => {
    const ledger = new InMemoryLedger(now);
    let repeatReport: unknown;
    const path = new MoneyPath(ledger, new ScriptedApi([]), now);
    const first = await path.executeOnce(order('a', 60, 100), {
      deadline: deadline(),
      pacing: pacingWith({
        // While the first waits for its turn (CLAIMED), the same action is delivered again.
        waitForTurn: async () => {
          repeatReport = await path.executeOnce(order('a', 60, 100), { deadline: deadline() });
        },
      }),
    });
    expect(repeatReport).toMatchObject({ status: 'IN_PROGRESS', repeated: true });
    expect(first.status).toBe('SUCCEEDED');
    expect(ledger.counters.get('v1:daily-notional:unit:2026-12-04')).toEqual({
      cents: 6_000,
      held: new Set([ledger.records.get('v1:trade:unit:a')!.claimToken]),
    });
  });

  test('a refusal gives the reservation back and may run again; a lost answer keeps it and is never re-sent', async () => {
    const ledger = new InMemoryLedger(now);
    const api = new ScriptedApi([refused, succeeded('ord_2'), lost]);
    const path = new MoneyPath(ledger, api, now);
    expect((await path.executeOnce(order('a', 60, 100), { deadline: deadline() })).status).toBe('REJECTED');
    expect(ledger.counters.get('v1:daily-notional:unit:2026-12-04')?.cents).toBe(0);
    expect((await path.executeOnce(order('a', 60, 100), { deadline: deadline() })).status).toBe('SUCCEEDED');

    expect((await path.executeOnce(order('b', 40, 100), { deadline: deadline() })).status).toBe('UNKNOWN');
    expect(ledger.counters.get('v1:daily-notional:unit:2026-12-04')?.cents).toBe(10_000);
    expect((await path.executeOnce(order('b', 40, 100), { deadline: deadline() })).status).toBe('UNKNOWN');
    expect(api.sent).toEqual(['v1:trade:unit:a', 'v1:trade:unit:a', 'v1:trade:unit:b']);
  });

  test('nothing sent (the client threw before any request, or no turn came): REJECTED, the reservation given back', async () => {
    const ledger = new InMemoryLedger(now);
    const path = new MoneyPath(ledger, new ScriptedApi([new Error('Secrets Manager unavailable')]), now);
    await expect(path.executeOnce(order('a', 60, 100), { deadline: deadline() })).rejects.toThrow('Secrets Manager unavailable');
    expect(ledger.records.get('v1:trade:unit:a')).toMatchObject({ state: 'REJECTED', error: 'not sent: Secrets Manager unavailable' });

    const noTurn = pacingWith({ waitForTurn: async () => Promise.reject(new Error('no rate-limit slot before the deadline')) });
    await expect(path.executeOnce(order('b', 60, 100), { deadline: deadline(), pacing: noTurn })).rejects.toThrow('no rate-limit slot');
    expect(ledger.records.get('v1:trade:unit:b')).toMatchObject({
      state: 'REJECTED',
      error: 'not sent: no rate-limit slot before the deadline',
    });
    expect(ledger.counters.get('v1:daily-notional:unit:2026-12-04')?.cents).toBe(0);
  });

  test('a claim taken over while waiting for its turn is not sent, and its reservation goes back', async () => {
    const ledger = new InMemoryLedger(now);
    const api = new ScriptedApi([]);
    const path = new MoneyPath(ledger, api, now);
    const report = await path.executeOnce(order('a', 60, 100), {
      deadline: clock + 1_000,
      pacing: pacingWith({
        waitForTurn: async () => {
          clock += 120_000;
          await ledger.claim('v1:trade:unit:a', { state: 'CLAIMED', leaseMs: 60_000, request: {}, amountUsdc: 60 });
        },
      }),
    });
    expect(report).toMatchObject({ status: 'IN_PROGRESS', error: 'the claim expired and was taken over' });
    expect(api.sent).toEqual([]);
    expect(ledger.counters.get('v1:daily-notional:unit:2026-12-04')?.cents).toBe(0);
  });

  test("an expired SENDING is reported UNKNOWN once, as the finding invocation's own outcome; later repeats read it", async () => {
    const ledger = new InMemoryLedger(now);
    await ledger.claim('v1:trade:unit:a', { state: 'SENDING', leaseMs: 1_000, request: {}, amountUsdc: 60 });
    clock += 60_000;
    const path = new MoneyPath(ledger, new ScriptedApi([]), now);
    expect(await path.executeOnce(order('a'), { deadline: deadline() })).toMatchObject({ status: 'UNKNOWN', repeated: false });
    expect(await path.executeOnce(order('a'), { deadline: deadline() })).toMatchObject({ status: 'UNKNOWN', repeated: true });
  });

  test('a turn ready at once claims straight as SENDING: the pacing is never waited for', async () => {
    const ledger = new InMemoryLedger(now);
    const states: string[] = [];
    const original = ledger.claim.bind(ledger);
    ledger.claim = async (key, claim) => {
      states.push(claim.state);
      return original(key, claim);
    };
    const path = new MoneyPath(ledger, new ScriptedApi([]), now);
    await path.executeOnce(order('a'), {
      deadline: deadline(),
      pacing: pacingWith({ readyNow: () => true, waitForTurn: async () => Promise.reject(new Error('waited')) }),
    });
    await path.executeOnce(order('b'), { deadline: deadline(), pacing: pacingWith({ readyNow: () => false }) });
    expect(states).toEqual(['SENDING', 'CLAIMED']);
  });

  test('a lost answer read back (readBackUnknown): SUCCEEDED only on proof; a lookup that finds nothing, refuses or fails stays UNKNOWN', async () => {
    const ledger = new InMemoryLedger(now);
    const api = new ScriptedApi([lost, lost, lost, lost]);
    const path = new MoneyPath(ledger, api, now);
    const withReadBack = (key: string, read: () => Promise<ApiOutcome>): MoneyAction => ({ ...order(key), readBackUnknown: read });

    const found = await path.executeOnce(
      withReadBack('found', async () => succeeded('ord_found')),
      { deadline: deadline() },
    );
    expect(found).toMatchObject({ status: 'SUCCEEDED', response: { order_id: 'ord_found' } });
    expect(ledger.records.get('v1:trade:unit:found')).toMatchObject({ state: 'SUCCEEDED', response: { order_id: 'ord_found' } });

    // Not found (it may still be committing), a refusal the read-back made up, or a failed lookup: never REJECTED.
    const notFound = await path.executeOnce(
      withReadBack('none', async () => lost),
      { deadline: deadline() },
    );
    const refusedRead = await path.executeOnce(
      withReadBack('refused', async () => refused),
      { deadline: deadline() },
    );
    const failed = await path.executeOnce(
      withReadBack('failed', async () => Promise.reject(new Error('list unreachable'))),
      { deadline: deadline() },
    );
    expect([notFound.status, refusedRead.status, failed.status]).toEqual(['UNKNOWN', 'UNKNOWN', 'UNKNOWN']);
    expect(failed.error).toContain('it could not be read back: list unreachable');
    expect(ledger.records.get('v1:trade:unit:refused')?.state).toBe('UNKNOWN');
    expect(api.sent).toHaveLength(4);
  });
});
