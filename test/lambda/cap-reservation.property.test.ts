/**
 * The daily cap's invariant (issue 12, finding 1), over random interleavings against dynalite: several
 * deliveries of a few capped orders at once, ledger writes whose answer is lost, invocations that die
 * after a write, leases that run out, refusals and lost answers from the API, and an operator who
 * resolves what is UNKNOWN by what Purple Flea actually did. After every round:
 * - the counter stays within [0, cap], and equals the cents of the reservations it holds, each of which
 *   a record lists (nothing is held that no one can release);
 * - every order Purple Flea executed holds its reservation (money that moved is counted);
 * - no order executes twice;
 * - the attention index holds exactly the SENDING and UNKNOWN records;
 * and once every action is settled, the counter equals exactly what was ordered.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { ActionLedger, CapReservation, LedgerRecord } from '../../lambda/shared/action-ledger';
import { LedgerOperator, SENDING_EXPIRY_MARGIN_MS } from '../../cli/src/ledger-operator';
import { MoneyAction, MoneyPath } from '../../lambda/shared/money-path';
import { GATEWAY_PROFILE } from '../../lambda/shared/purpleflea-api';
import { ApiOutcome, MoneyApi, PostOptions } from '../../lambda/shared/purpleflea-client';
import { ApiRequest } from '../../lambda/shared/purpleflea-api';
import { ATTENTION_STATES, LEDGER_PARTITION_KEY } from '../../lib/private/contracts/ledger-schema';
import { interceptedDynaliteClient, LocalLedger, lostAnswerError, startLocalLedger } from '../support/dynalite';

const TABLE = 'CapInvariantLedger';
const CAP_USDC = 100;
const AMOUNTS = [30, 40, 60];
/** Far past every lease, and past the operator's margin for a SENDING record. */
const LONG_AFTER_MS = 2 * 60 * 60_000 + SENDING_EXPIRY_MARGIN_MS;

/** What Purple Flea does with one request. */
type ApiBehaviour = 'executes' | 'refuses' | 'executes-answer-lost' | 'answer-lost-not-executed' | 'not-sent';
/** What happens to one ledger write of a delivery. */
type WriteFault = 'none' | 'answer-lost' | 'dies-after';

interface Delivery {
  readonly action: number;
  readonly api: ApiBehaviour;
  /** Faults of the delivery's ledger writes, by their order. */
  readonly writes: readonly WriteFault[];
  readonly delayMs: readonly number[];
}

/** One invocation's fate, reached through AsyncLocalStorage from the shared client and the fake API. */
interface Invocation {
  readonly delivery: Delivery;
  writes: number;
  dead: boolean;
}

class InvocationDied extends Error {
  override readonly name = 'InvocationDied';
}

const invocations = new AsyncLocalStorage<Invocation>();

/** Purple Flea, in memory: what each invocation's request does is decided by its delivery. */
class ScriptedApi implements MoneyApi {
  readonly executed = new Map<string, number>();
  /** Requests sent after the key had executed: must stay empty. */
  readonly sentAfterExecuted: string[] = [];

  async post(request: ApiRequest, options: PostOptions): Promise<ApiOutcome> {
    const invocation = invocations.getStore();
    if (invocation?.dead) throw new InvocationDied('the invocation is dead');
    const behaviour = invocation?.delivery.api ?? 'executes';
    if (behaviour === 'not-sent') throw new Error('connection refused before sending');
    if (this.executed.has(options.actionKey)) this.sentAfterExecuted.push(options.actionKey);
    const execute = () => this.executed.set(options.actionKey, (this.executed.get(options.actionKey) ?? 0) + 1);
    switch (behaviour) {
      case 'refuses':
        return { outcome: 'REJECTED', status: 402, error: 'insufficient_balance', attempts: 1 };
      case 'executes-answer-lost':
        execute();
        return { outcome: 'UNKNOWN', error: 'no answer after sending', attempts: 1 };
      case 'answer-lost-not-executed':
        return { outcome: 'UNKNOWN', error: 'no answer after sending', attempts: 1 };
      default:
        execute();
        return {
          outcome: 'SUCCEEDED',
          status: 200,
          response: { order_id: `ord_${options.actionKey}`, amount: request.body.amount },
          attempts: 1,
        };
    }
  }
}

let local: LocalLedger;
let run = 0;

beforeAll(async () => {
  local = await startLocalLedger(TABLE);
});
afterAll(() => local.close());

const deliveryArbitrary = (actions: number) =>
  fc.record({
    action: fc.integer({ min: 0, max: actions - 1 }),
    api: fc.constantFrom<ApiBehaviour>('executes', 'executes', 'refuses', 'executes-answer-lost', 'answer-lost-not-executed', 'not-sent'),
    writes: fc.array(fc.constantFrom<WriteFault>('none', 'none', 'none', 'answer-lost', 'dies-after'), { maxLength: 6 }),
    delayMs: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 6 }),
  });

const scenarioArbitrary = fc.integer({ min: 1, max: 3 }).chain((actions) =>
  fc.record({
    amounts: fc.array(fc.constantFrom(...AMOUNTS), { minLength: actions, maxLength: actions }),
    firstRound: fc.array(deliveryArbitrary(actions), { minLength: 1, maxLength: 5 }),
    secondRound: fc.array(deliveryArbitrary(actions), { maxLength: 4 }),
    leasesRunOutBetweenRounds: fc.boolean(),
    operatorDuringSecondRound: fc.boolean(),
  }),
);

test('the cap counter equals what the records hold, never passes the cap, and no order executes twice', async () => {
  const client = interceptedDynaliteClient(local.dynamo.endpoint, async (_write, send) => {
    const invocation = invocations.getStore();
    if (!invocation) return send();
    if (invocation.dead) throw new InvocationDied('the invocation is dead');
    const index = invocation.writes++;
    const delay = invocation.delivery.delayMs[index] ?? 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const result = await send();
    const fault = invocation.delivery.writes[index] ?? 'none';
    if (fault === 'dies-after') {
      invocation.dead = true;
      throw new InvocationDied('the invocation died after this write');
    }
    if (fault === 'answer-lost') throw lostAnswerError();
    return result;
  });
  const doc = DynamoDBDocumentClient.from(client);
  try {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async (scenario) => {
        run += 1;
        let now = Date.now();
        const api = new ScriptedApi();
        const counterKey = `v1:daily-notional:invariant-${run}:2026-12-04`;
        const actions: MoneyAction[] = scenario.amounts.map((amountUsdc, index) => ({
          actionKey: `v1:trade:invariant-${run}:${index}`,
          amountUsdc,
          request: GATEWAY_PROFILE.tradeOrder({ agentId: 'agt_a', direction: 'long', amountUsdc, asset: 'BTC-USDC', metadata: {} }),
          cap: { counterKey, capUsdc: CAP_USDC },
        }));
        const ledger = new ActionLedger({ tableName: TABLE, client, now: () => now });
        const path = new MoneyPath(ledger, api, () => now);
        const operator = new LedgerOperator({ tableName: TABLE, client, now: () => now });

        const deliver = (delivery: Delivery) =>
          invocations.run({ delivery, writes: 0, dead: false }, () =>
            path.executeOnce(actions[delivery.action], { deadline: now + 10_000 }).catch((error: Error) => error),
          );
        /** The operator settles every UNKNOWN (or long-expired SENDING) action by what Purple Flea did. */
        const resolveAll = async () => {
          for (const action of actions) {
            const record = await ledger.get(action.actionKey);
            if (!record || (record.state !== 'UNKNOWN' && record.state !== 'SENDING')) continue;
            const executed = api.executed.has(action.actionKey);
            await operator
              .resolve(action.actionKey, {
                as: executed ? 'succeeded' : 'not-executed',
                reference: executed ? `ord_${action.actionKey}` : undefined,
                reason: 'checked against the account history',
                by: 'arn:aws:iam::123456789012:user/operator',
              })
              .catch(() => undefined);
          }
        };

        const check = async (settled: boolean) => {
          const records = (await Promise.all(actions.map((action) => ledger.get(action.actionKey)))).filter(
            (record): record is LedgerRecord => !!record,
          );
          const { Item: counter } = await doc.send(
            new GetCommand({ TableName: TABLE, Key: { [LEDGER_PARTITION_KEY]: counterKey }, ConsistentRead: true }),
          );
          const reservedCents = (counter?.reservedCents as number | undefined) ?? 0;
          const held = [...((counter?.heldReservations as Set<string> | undefined) ?? [])];
          const listed = new Map<string, CapReservation>();
          for (const record of records) for (const reservation of record.capReservations ?? []) listed.set(reservation.id, reservation);

          expect(reservedCents).toBeGreaterThanOrEqual(0);
          expect(reservedCents).toBeLessThanOrEqual(CAP_USDC * 100);
          // Every reservation the counter holds is listed on a record, and the counter is their sum.
          for (const id of held) expect(listed.has(id)).toBe(true);
          expect(reservedCents).toBe(held.reduce((sum, id) => sum + (listed.get(id)?.cents ?? Number.NaN), 0));
          // Money that moved is counted: an executed order's record holds its attempt's reservation.
          const executedCents = actions
            .filter((action) => api.executed.has(action.actionKey))
            .reduce((sum, action) => sum + action.amountUsdc * 100, 0);
          for (const action of actions.filter((each) => api.executed.has(each.actionKey))) {
            const record = records.find((each) => each.actionKey === action.actionKey)!;
            expect(held).toContain(record.claimToken);
          }
          expect(executedCents).toBeLessThanOrEqual(CAP_USDC * 100);
          for (const times of api.executed.values()) expect(times).toBe(1);
          expect(api.sentAfterExecuted).toEqual([]);
          // The attention index holds exactly the records an operator may need, keyed by their state: it moves
          // in the same conditional writes as the state, whatever was lost or died between them.
          for (const record of records) {
            const attention = (record as unknown as { attention?: string }).attention;
            expect({ key: record.actionKey, attention }).toEqual({
              key: record.actionKey,
              attention: ATTENTION_STATES.includes(record.state) ? record.state : undefined,
            });
          }
          // Once everything is settled, nothing is held that did not move.
          if (settled) expect(reservedCents).toBe(executedCents);
        };

        await Promise.all(scenario.firstRound.map(deliver));
        await check(false);

        if (scenario.leasesRunOutBetweenRounds) now += LONG_AFTER_MS;
        await Promise.all([...scenario.secondRound.map(deliver), scenario.operatorDuringSecondRound ? resolveAll() : Promise.resolve()]);
        await check(false);

        // Settle: every action is delivered again (no faults) until it has executed or cannot fit the cap.
        for (let round = 0; round < 4; round++) {
          now += LONG_AFTER_MS;
          await resolveAll();
          for (const action of actions) {
            const record = await ledger.get(action.actionKey);
            if (record?.state === 'SUCCEEDED') continue;
            await path.executeOnce(action, { deadline: now + 10_000 });
          }
        }
        await resolveAll();
        for (const action of actions) {
          const record = await ledger.get(action.actionKey);
          expect(['SUCCEEDED', 'REJECTED']).toContain(record?.state);
        }
        await check(true);
      }),
      { numRuns: 50 },
    );
  } finally {
    client.destroy();
  }
});
