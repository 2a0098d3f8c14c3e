import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ActionLedger, toCents } from '../../lambda/shared/action-ledger';
import {
  ActionNotFoundError,
  LedgerOperator,
  LedgerTableNotFoundError,
  NotResolvableError,
  ResolutionRequest,
  SENDING_EXPIRY_MARGIN_MS,
} from '../../cli/src/ledger-operator';
import { LEDGER_PARTITION_KEY } from '../../lib/private/contracts/ledger-schema';
import { createLedgerTable, DynaliteServer, instrumentedDynaliteClient, LocalLedger, startLocalLedger } from '../support/dynalite';

let dynamo: DynaliteServer;
let client: DynamoDBClient;
let now = Date.parse('2026-11-28T12:00:00Z');
let counter = 0;
const TABLE = 'OperatorLedgerUnderTest';
const OPERATOR = 'arn:aws:iam::123456789012:user/alice';

const ledger = () => new ActionLedger({ tableName: TABLE, client, now: () => now });
const operator = (tableName = TABLE) => new LedgerOperator({ tableName, client, now: () => now });
const counterKey = () => `v1:daily-notional:operator-test-${counter}:2026-11-28`;
const notExecuted: ResolutionRequest = { as: 'not-executed', reason: 'no order in the Purple Flea history', by: OPERATOR };
const succeeded = (reference: string): ResolutionRequest => ({
  as: 'succeeded',
  reference,
  reason: 'order found in the account history',
  by: OPERATOR,
});

/** An action whose answer was lost, as the money path leaves it: UNKNOWN, its cap reservation held. */
async function unknownAction(kind = 'trade', cap?: { counterKey: string; cents: number }): Promise<string> {
  const actionKey = `v1:${kind}:operator-test:${++counter}`;
  const held = await ledger().claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request: { amount: 50 }, amountUsdc: 50, cap });
  if (!held.claimed) throw new Error('expected a claim');
  if (cap) await ledger().reserve({ ...cap, id: held.claimToken }, toCents(1_000));
  await ledger().recordOutcome(actionKey, held.claimToken, 'UNKNOWN', { error: 'no_answer: connection reset after sending' });
  return actionKey;
}

async function reservedCents(key: string): Promise<number | undefined> {
  const { Item } = await DynamoDBDocumentClient.from(client).send(
    new GetCommand({ TableName: TABLE, Key: { [LEDGER_PARTITION_KEY]: key }, ConsistentRead: true }),
  );
  return Item?.reservedCents as number | undefined;
}

let local: LocalLedger;
beforeAll(async () => {
  local = await startLocalLedger(TABLE);
  ({ dynamo, client } = local);
});
afterAll(() => local.close());

describe('LedgerOperator.resolve', () => {
  test('succeeded: SUCCEEDED with the reference in the API id field; a repeat claim gets it back, and the resolution is kept', async () => {
    const actionKey = await unknownAction('escrow');
    now += 60_000;
    const result = await operator().resolve(actionKey, succeeded('esc_42'));

    expect(result.record).toMatchObject({ state: 'SUCCEEDED', response: { escrow_id: 'esc_42' } });
    expect(result.record.error).toBeUndefined();
    expect(result.record.resolutions).toEqual([
      {
        id: expect.any(String),
        at: new Date(now).toISOString(),
        by: OPERATOR,
        as: 'succeeded',
        reason: 'order found in the account history',
        reference: 'esc_42',
        previousError: 'no_answer: connection reset after sending',
      },
    ]);
    expect(result.record.history?.at(-1)).toEqual({
      at: new Date(now).toISOString(),
      event: 'resolve',
      state: 'SUCCEEDED',
      by: OPERATOR,
      reason: 'order found in the account history',
      reference: 'esc_42',
    });
    expect(await ledger().claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request: {}, amountUsdc: 50 })).toMatchObject({
      claimed: false,
      existing: { state: 'SUCCEEDED', response: { escrow_id: 'esc_42' } },
    });
  });

  test('not-executed: REJECTED, claimable again, and the cap reservation is given back', async () => {
    const cap = { counterKey: counterKey(), cents: 5_000 };
    const actionKey = await unknownAction('trade', cap);
    expect(await reservedCents(cap.counterKey)).toBe(5_000);

    const result = await operator().resolve(actionKey, notExecuted);
    expect(result.record).toMatchObject({
      state: 'REJECTED',
      error: `resolved as not-executed by ${OPERATOR}: no order in the Purple Flea history`,
    });
    expect(result.capRelease).toEqual({ counterKey: cap.counterKey, cents: 5_000, released: true });
    expect(await reservedCents(cap.counterKey)).toBe(0);

    const again = await ledger().claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request: {}, amountUsdc: 50 });
    expect(again.claimed).toBe(true);
    const record = await ledger().get(actionKey);
    expect(record).toMatchObject({ state: 'SENDING', attempts: 2, resolutions: [{ as: 'not-executed', by: OPERATOR }] });
    expect(record?.history?.map((entry) => `${entry.event}:${entry.state}`)).toEqual([
      'claim:SENDING',
      'record-outcome:UNKNOWN',
      'resolve:REJECTED',
      'claim:SENDING',
    ]);
  });

  test('not-executed never takes a counter below zero, nor creates one that has expired', async () => {
    const cap = { counterKey: counterKey(), cents: 5_000 };
    const actionKey = `v1:trade:operator-test:${++counter}`;
    // Claimed with a cap whose reservation is no longer there (the counter expired).
    const held = await ledger().claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request: {}, amountUsdc: 50, cap });
    if (!held.claimed) throw new Error('expected a claim');
    await ledger().recordOutcome(actionKey, held.claimToken, 'UNKNOWN', { error: 'no answer' });

    const result = await operator().resolve(actionKey, notExecuted);
    expect(result.capRelease).toEqual({ counterKey: cap.counterKey, cents: 5_000, released: false });
    expect(await reservedCents(cap.counterKey)).toBeUndefined();
  });

  test('succeeded keeps the reservation: the money moved and counts against the cap', async () => {
    const cap = { counterKey: counterKey(), cents: 5_000 };
    const actionKey = await unknownAction('trade', cap);
    const result = await operator().resolve(actionKey, succeeded('ord_7'));
    expect(result.capRelease).toBeUndefined();
    expect(await reservedCents(cap.counterKey)).toBe(5_000);
  });

  test('of two concurrent resolutions exactly one wins; the other is told the state and who resolved it', async () => {
    const cap = { counterKey: counterKey(), cents: 2_500 };
    const actionKey = await unknownAction('payout', cap);
    const results = await Promise.allSettled([
      operator().resolve(actionKey, notExecuted),
      operator().resolve(actionKey, { ...succeeded('tx_9'), by: 'arn:aws:iam::123456789012:user/bob' }),
    ]);
    const won = results.filter((result) => result.status === 'fulfilled');
    const lost = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0].reason).toBeInstanceOf(NotResolvableError);
    expect(lost[0].reason.message).toMatch(
      /is (REJECTED|SUCCEEDED), not UNKNOWN: only UNKNOWN actions can be resolved \(resolved as .* by arn:aws:iam::123456789012:user\/(alice|bob)/,
    );
    expect((await ledger().get(actionKey))?.resolutions).toHaveLength(1);
    // Whichever won, the counter is right: released only by a not-executed win.
    const notExecutedWon = (await ledger().get(actionKey))?.state === 'REJECTED';
    expect(await reservedCents(cap.counterKey)).toBe(notExecutedWon ? 0 : 2_500);
  });

  test('both operators read UNKNOWN before either writes: the conditional write still lets one through', async () => {
    const actionKey = await unknownAction('payout');
    // Each waits, after reading the record, until both have read it: the race at its tightest.
    let arrived = 0;
    let release!: () => void;
    const bothRead = new Promise<void>((resolve) => (release = resolve));
    class SlowReader extends LedgerOperator {
      override async show(key: string) {
        const record = await super.show(key);
        if (++arrived === 2) release();
        await bothRead;
        return record;
      }
    }
    const slow = () => new SlowReader({ tableName: TABLE, client, now: () => now });
    const results = await Promise.allSettled([slow().resolve(actionKey, notExecuted), slow().resolve(actionKey, succeeded('tx_2'))]);
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((await ledger().get(actionKey))?.resolutions).toHaveLength(1);
  });

  test('only UNKNOWN: SUCCEEDED, REJECTED and live SENDING records are refused, naming their state', async () => {
    const actionKey = `v1:trade:operator-test:${++counter}`;
    const held = await ledger().claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request: {}, amountUsdc: 5 });
    if (!held.claimed) throw new Error('expected a claim');
    await expect(operator().resolve(actionKey, notExecuted)).rejects.toThrow(`action '${actionKey}' is SENDING, not UNKNOWN`);
    await ledger().recordOutcome(actionKey, held.claimToken, 'SUCCEEDED', { response: { order_id: 'ord_1' } });
    await expect(operator().resolve(actionKey, notExecuted)).rejects.toThrow(`action '${actionKey}' is SUCCEEDED, not UNKNOWN`);
    expect((await ledger().get(actionKey))?.resolutions).toBeUndefined();
  });

  test('an expired SENDING (its sender died, no repeat came) is marked UNKNOWN first, then resolved', async () => {
    const actionKey = `v1:payout:operator-test:${++counter}`;
    await ledger().claim(actionKey, { state: 'SENDING', leaseMs: 1_000, request: {}, amountUsdc: 5 });
    now += 1_000 + SENDING_EXPIRY_MARGIN_MS + 1;
    const result = await operator().resolve(actionKey, notExecuted);
    expect(result).toMatchObject({ markedUnknown: true, record: { state: 'REJECTED' } });
    expect(result.record.history?.map((entry) => entry.event)).toEqual(['claim', 'expire-sending', 'resolve']);
  });

  test("a SENDING whose lease ended less than the margin ago by the operator's clock is left alone: the sender may be live", async () => {
    const actionKey = `v1:payout:operator-test:${++counter}`;
    await ledger().claim(actionKey, { state: 'SENDING', leaseMs: 1_000, request: {}, amountUsdc: 5 });
    // The operator's clock runs a minute ahead of the sender's.
    now += 1_000 + 60_000;
    await expect(operator().resolve(actionKey, notExecuted)).rejects.toThrow(/is SENDING, not UNKNOWN.*try again in 9 min/);
    expect((await ledger().get(actionKey))?.state).toBe('SENDING');
  });

  test('a key that does not exist, a counter, and a missing table are named', async () => {
    await expect(operator().resolve('v1:trade:nowhere', notExecuted)).rejects.toThrow(new ActionNotFoundError('v1:trade:nowhere', TABLE));
    const counter = counterKey();
    await ledger().reserve({ counterKey: counter, cents: 100, id: randomUUID() }, 1_000);
    await expect(operator().resolve(counter, notExecuted)).rejects.toThrow(`'${counter}' has no state: it is not an action`);
    await expect(operator('NoSuchLedger').show('v1:trade:x')).rejects.toThrow(LedgerTableNotFoundError);
    await expect(operator('NoSuchLedger').list()).rejects.toThrow("ledger table 'NoSuchLedger' not found");
  });
});

describe('LedgerOperator.resolve, when the release of a not-executed resolution did not happen', () => {
  const BOB = 'arn:aws:iam::123456789012:user/bob';
  /** A counter of its own: no other test's reservations on it. */
  const freshCap = () => ({ counterKey: `v1:daily-notional:operator-resume-${++counter}:2026-11-28`, cents: 5_000 });

  /** An operator on a client that counts its writes, and fails the first one on `failOnceOn`. */
  function instrumentedOperator(failOnceOn?: string) {
    const { client: instrumented, updatedKeys } = instrumentedDynaliteClient(dynamo.endpoint, failOnceOn);
    return {
      operator: new LedgerOperator({ tableName: TABLE, client: instrumented, now: () => now }),
      updatedKeys,
      destroy: () => instrumented.destroy(),
    };
  }

  /** not-executed, whose state change is written and whose release on the counter then fails. */
  async function resolveWithFailedRelease(actionKey: string, counter: string): Promise<string> {
    const flaky = instrumentedOperator(counter);
    try {
      await expect(flaky.operator.resolve(actionKey, notExecuted)).rejects.toThrow('socket hang up (injected)');
    } finally {
      flaky.destroy();
    }
    expect(await ledger().get(actionKey)).toMatchObject({ state: 'REJECTED', resolutions: [{ as: 'not-executed', by: OPERATOR }] });
    return new Date(now).toISOString();
  }

  /** Runs `resolve` on a client that counts writes; returns its result (or error) and the keys it wrote. */
  async function resolveCounting(actionKey: string, request: ResolutionRequest) {
    const counting = instrumentedOperator();
    try {
      return { outcome: await counting.operator.resolve(actionKey, request).catch((error: Error) => error), writes: counting.updatedKeys };
    } finally {
      counting.destroy();
    }
  }

  test('not-executed again gives the reservation back, exactly once, with one write; a third run is refused as before', async () => {
    const cap = freshCap();
    // Another order's reservation on the same counter: a second release would take 5,000 of it.
    await ledger().reserve({ counterKey: cap.counterKey, cents: 3_000, id: randomUUID() }, toCents(1_000));
    const actionKey = await unknownAction('trade', cap);
    const resolvedAt = await resolveWithFailedRelease(actionKey, cap.counterKey);
    expect(await reservedCents(cap.counterKey)).toBe(8_000);
    const resolvedRecord = await ledger().get(actionKey);

    // It was decided not-executed: succeeded is refused, and gives nothing back.
    const asSucceeded = await resolveCounting(actionKey, succeeded('ord_1'));
    expect(asSucceeded.outcome).toBeInstanceOf(NotResolvableError);
    expect((asSucceeded.outcome as Error).message).toBe(
      `action '${actionKey}' is REJECTED, not UNKNOWN: only UNKNOWN actions can be resolved (resolved as not-executed by ${OPERATOR} at ${resolvedAt})`,
    );
    expect(asSucceeded.writes).toEqual([]);

    now += 60_000;
    const finished = await resolveCounting(actionKey, { ...notExecuted, by: BOB, reason: 'finishing the release' });
    expect(finished.outcome).toEqual({
      record: resolvedRecord,
      resolution: resolvedRecord?.resolutions?.[0],
      markedUnknown: false,
      alreadyResolved: true,
      capRelease: { counterKey: cap.counterKey, cents: 5_000, released: true },
    });
    expect(finished.outcome).toMatchObject({ resolution: { by: OPERATOR, at: resolvedAt } });
    // One write, on the counter: the record stays as the resolution left it (Bob's run adds no resolution).
    expect(finished.writes).toEqual([cap.counterKey]);
    expect(await ledger().get(actionKey)).toEqual(resolvedRecord);
    expect(await reservedCents(cap.counterKey)).toBe(3_000);

    // Nothing left to do: refused as any REJECTED record, without a write.
    const third = await resolveCounting(actionKey, notExecuted);
    expect(third.outcome).toBeInstanceOf(NotResolvableError);
    expect((third.outcome as Error).message).toBe((asSucceeded.outcome as Error).message);
    expect(third.writes).toEqual([]);
    expect(await reservedCents(cap.counterKey)).toBe(3_000);
  });

  test('on a counter that has expired since, there is nothing left to give back: refused, and no counter is recreated', async () => {
    const cap = freshCap();
    const actionKey = `v1:trade:operator-test:${++counter}`;
    const held = await ledger().claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request: {}, amountUsdc: 50, cap });
    if (!held.claimed) throw new Error('expected a claim');
    await ledger().recordOutcome(actionKey, held.claimToken, 'UNKNOWN', { error: 'no answer' });
    await resolveWithFailedRelease(actionKey, cap.counterKey);

    await expect(operator().resolve(actionKey, notExecuted)).rejects.toThrow(NotResolvableError);
    expect(await reservedCents(cap.counterKey)).toBeUndefined();
  });

  test("once the action is claimed again, the claim gives the resolved attempt's reservation back, and a repeat resolve never releases", async () => {
    const cap = freshCap();
    const actionKey = await unknownAction('trade', cap);
    const resolvedAt = await resolveWithFailedRelease(actionKey, cap.counterKey);
    const refused = `action '${actionKey}' is REJECTED, not UNKNOWN: only UNKNOWN actions can be resolved (resolved as not-executed by ${OPERATOR} at ${resolvedAt})`;
    expect(await reservedCents(cap.counterKey)).toBe(5_000);

    // The resend claims on the next day's counter (which releases the resolved attempt's reservation),
    // reserves, then gives up without releasing (its invocation died): REJECTED again.
    const resend = { counterKey: `${cap.counterKey}:next-day`, cents: 2_000 };
    const second = await ledger().claim(actionKey, { state: 'CLAIMED', leaseMs: 60_000, request: {}, amountUsdc: 20, cap: resend });
    if (!second.claimed) throw new Error('expected a claim');
    expect(await reservedCents(cap.counterKey)).toBe(0);
    await ledger().reserve({ ...resend, id: second.claimToken }, toCents(1_000));
    await expect(operator().resolve(actionKey, notExecuted)).rejects.toThrow(`action '${actionKey}' is CLAIMED, not UNKNOWN`);
    await ledger().releaseClaim(actionKey, second.claimToken, 'daily cap reached');
    await expect(operator().resolve(actionKey, notExecuted)).rejects.toThrow(refused);

    // Another attempt, which Purple Flea refuses: REJECTED by an answer, not by the resolution.
    const third = await ledger().claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request: {}, amountUsdc: 20, cap: resend });
    if (!third.claimed) throw new Error('expected a claim');
    await ledger().reserve({ ...resend, id: third.claimToken }, toCents(1_000));
    await ledger().recordOutcome(actionKey, third.claimToken, 'REJECTED', { error: 'insufficient_balance' });
    await expect(operator().resolve(actionKey, notExecuted)).rejects.toThrow(refused);

    // Each claim gave back the attempt before it; the last attempt's stays listed for the next claim.
    expect(await reservedCents(cap.counterKey)).toBe(0);
    expect(await reservedCents(resend.counterKey)).toBe(2_000);
    expect(await ledger().get(actionKey)).toMatchObject({
      state: 'REJECTED',
      attempts: 3,
      capCounterKey: resend.counterKey,
      capReservations: [{ ...resend, id: third.claimToken }],
      resolutions: [{ as: 'not-executed' }],
    });
  });
});

describe('LedgerOperator.list', () => {
  const TABLE_FOR_LIST = 'OperatorListLedger';
  const listOperator = () => new LedgerOperator({ tableName: TABLE_FOR_LIST, client, now: () => now });
  const listLedger = () => new ActionLedger({ tableName: TABLE_FOR_LIST, client, now: () => now });

  beforeAll(async () => {
    await createLedgerTable(dynamo.endpoint, TABLE_FOR_LIST);
    now = Date.parse('2026-11-01T00:00:00Z');
    const seed = async (actionKey: string, outcome: 'SUCCEEDED' | 'UNKNOWN' | 'REJECTED', response?: { [key: string]: unknown }) => {
      const held = await listLedger().claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request: {}, amountUsdc: 10 });
      if (!held.claimed) throw new Error('expected a claim');
      await listLedger().recordOutcome(actionKey, held.claimToken, outcome, {
        response,
        error: outcome === 'SUCCEEDED' ? undefined : 'no answer',
      });
    };
    await seed('v1:trade:rule:old', 'UNKNOWN');
    now = Date.parse('2026-11-10T00:00:00Z');
    await seed('v1:payout:b/k:etag:agt_a', 'SUCCEEDED', { transfer_id: 'tx_1' });
    await seed('v1:payout:b/k:etag:agt_b', 'UNKNOWN');
    await seed('v1:escrow:arn:job', 'REJECTED');
    await listLedger().reserve({ counterKey: 'v1:daily-notional:scope:2026-11-10', cents: 100, id: randomUUID() }, 10_000);
  });

  const keysOf = async (filter: Parameters<LedgerOperator['list']>[0]) =>
    (await listOperator().list(filter)).map((action) => action.actionKey);

  test('every action, oldest change first, without the cap counters', async () => {
    expect(await keysOf({})).toEqual(['v1:trade:rule:old', 'v1:escrow:arn:job', 'v1:payout:b/k:etag:agt_a', 'v1:payout:b/k:etag:agt_b']);
  });

  test('by status, kind and time of last change, combined', async () => {
    expect(await keysOf({ states: ['UNKNOWN'] })).toEqual(['v1:trade:rule:old', 'v1:payout:b/k:etag:agt_b']);
    expect(await keysOf({ states: ['UNKNOWN', 'REJECTED'], kind: 'payout' })).toEqual(['v1:payout:b/k:etag:agt_b']);
    expect(await keysOf({ kind: 'escrow' })).toEqual(['v1:escrow:arn:job']);
    expect(await keysOf({ states: ['UNKNOWN'], since: new Date('2026-11-05T00:00:00Z') })).toEqual(['v1:payout:b/k:etag:agt_b']);
    expect(await keysOf({ kind: 'hold' })).toEqual([]);
  });

  test('a summary has the kind, the amount and the reference of what was made', async () => {
    const [paid] = await listOperator().list({ states: ['SUCCEEDED'] });
    expect(paid).toEqual({
      actionKey: 'v1:payout:b/k:etag:agt_a',
      kind: 'payout',
      state: 'SUCCEEDED',
      leaseExpired: false,
      amountUsdc: 10,
      attempts: 1,
      reference: 'tx_1',
      createdAt: '2026-11-10T00:00:00.000Z',
      updatedAt: '2026-11-10T00:00:00.000Z',
    });
  });
});

describe('the attention index: list --status UNKNOWN without a scan (issue 17, item 3)', () => {
  const INDEXED = 'AttentionIndexedLedger';
  const indexedLedger = () => new ActionLedger({ tableName: INDEXED, client, now: () => now });
  const indexedOperator = () => new LedgerOperator({ tableName: INDEXED, client, now: () => now });

  /** Where the record stands in the index: its partition and sort key, or undefined when it is not in it. */
  async function attentionOfRecord(actionKey: string): Promise<{ attention: string; attentionAt: number } | undefined> {
    const { Item } = await DynamoDBDocumentClient.from(client).send(
      new GetCommand({ TableName: INDEXED, Key: { [LEDGER_PARTITION_KEY]: actionKey }, ConsistentRead: true }),
    );
    return Item?.attention === undefined ? undefined : { attention: Item.attention, attentionAt: Item.attentionAt };
  }

  beforeAll(async () => {
    await createLedgerTable(dynamo.endpoint, INDEXED);
  });

  test('a record is in the index while SENDING (until its lease) or UNKNOWN, and leaves it with its outcome or resolution', async () => {
    const sending = `v1:payout:attention:${++counter}`;
    const claim = await indexedLedger().claim(sending, { state: 'SENDING', leaseMs: 60_000, request: {}, amountUsdc: 5 });
    if (!claim.claimed) throw new Error('expected a claim');
    expect(await attentionOfRecord(sending)).toEqual({ attention: 'SENDING', attentionAt: now + 60_000 });
    await indexedLedger().recordOutcome(sending, claim.claimToken, 'SUCCEEDED', { response: { transfer_id: 'tx_1' } });
    expect(await attentionOfRecord(sending)).toBeUndefined();

    const waiting = `v1:payout:attention:${++counter}`;
    const claimed = await indexedLedger().claim(waiting, { state: 'CLAIMED', leaseMs: 60_000, request: {}, amountUsdc: 5 });
    if (!claimed.claimed) throw new Error('expected a claim');
    expect(await attentionOfRecord(waiting)).toBeUndefined();
    await indexedLedger().markSending(waiting, claimed.claimToken, 30_000);
    expect(await attentionOfRecord(waiting)).toEqual({ attention: 'SENDING', attentionAt: now + 30_000 });
    await indexedLedger().recordOutcome(waiting, claimed.claimToken, 'UNKNOWN', { error: 'no answer' });
    expect(await attentionOfRecord(waiting)).toEqual({ attention: 'UNKNOWN', attentionAt: now });
    now += 60_000;
    await indexedOperator().resolve(waiting, { ...notExecuted });
    expect(await attentionOfRecord(waiting)).toBeUndefined();
  });

  test('listing UNKNOWN reads only the index: the items read follow the unknowns, not the table', async () => {
    const kind = `attn${++counter}`;
    const unknowns: string[] = [];
    for (let index = 0; index < 40; index++) {
      const actionKey = `v1:${kind}:row-${index}`;
      const held = await indexedLedger().claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request: {}, amountUsdc: 1 });
      if (!held.claimed) throw new Error('expected a claim');
      const lost = index % 10 === 0;
      await indexedLedger().recordOutcome(actionKey, held.claimToken, lost ? 'UNKNOWN' : 'SUCCEEDED', {
        error: lost ? 'no answer' : undefined,
      });
      if (lost) unknowns.push(actionKey);
    }
    const listed = await indexedOperator().listWithPlan({ states: ['UNKNOWN'], kind });
    expect(listed.read).toBe('index');
    expect(listed.actions.map((action) => action.actionKey).sort()).toEqual([...unknowns].sort());
    // Every UNKNOWN of the table is in the index (other tests' too), but none of the 36 SUCCEEDED records here.
    const allUnknown = await indexedOperator().listWithPlan({ states: ['UNKNOWN'] });
    expect(listed.itemsRead).toBe(allUnknown.actions.length);
    const scanned = await indexedOperator().listWithPlan({ states: ['UNKNOWN'], kind, scan: true });
    expect(scanned.read).toBe('scan');
    expect(scanned.actions.map((action) => action.actionKey).sort()).toEqual([...unknowns].sort());
    expect(scanned.itemsRead).toBeGreaterThanOrEqual(40);
  });

  test('an UNKNOWN written before the index existed is found with scan; a table without the index is scanned', async () => {
    const legacy = `v1:trade:attention-legacy:${++counter}`;
    await DynamoDBDocumentClient.from(client).send(
      new PutCommand({
        TableName: INDEXED,
        Item: {
          [LEDGER_PARTITION_KEY]: legacy,
          state: 'UNKNOWN',
          claimToken: 't',
          leaseExpiresAt: 0,
          attempts: 1,
          updatedAt: new Date(now).toISOString(),
        },
      }),
    );
    expect((await indexedOperator().list({ states: ['UNKNOWN'] })).map((action) => action.actionKey)).not.toContain(legacy);
    expect((await indexedOperator().list({ states: ['UNKNOWN'], scan: true })).map((action) => action.actionKey)).toContain(legacy);

    const plain = 'LedgerWithoutAttentionIndex';
    await createLedgerTable(dynamo.endpoint, plain, false);
    const actionKey = `v1:trade:attention-plain:${++counter}`;
    const ledgerOfPlain = new ActionLedger({ tableName: plain, client, now: () => now });
    const held = await ledgerOfPlain.claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request: {}, amountUsdc: 1 });
    if (!held.claimed) throw new Error('expected a claim');
    await ledgerOfPlain.recordOutcome(actionKey, held.claimToken, 'UNKNOWN', { error: 'no answer' });
    const listed = await new LedgerOperator({ tableName: plain, client, now: () => now }).listWithPlan({ states: ['UNKNOWN'] });
    expect(listed).toMatchObject({ read: 'scan', actions: [{ actionKey, state: 'UNKNOWN' }] });
  });
});
