import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateQuery, paginateScan, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { actionKindOf, referenceFieldOf, referenceOf } from '../../lib/private/contracts/action-keys';
import {
  ATTENTION_STATES,
  CapReservation,
  LEDGER_ATTENTION_INDEX,
  LEDGER_PARTITION_KEY,
  LEDGER_STATES,
  LedgerRecord,
  LedgerResolution,
  LedgerState,
} from '../../lib/private/contracts/ledger-schema';
import { ActionLedger, APPEND_HISTORY, ATTENTION_REMOVE, historyValues } from '../../lambda/shared/action-ledger';

/**
 * What an operator does with the ledger (the `purpleflea-ledger` command): list actions, read one,
 * and resolve an UNKNOWN one. Never used by the handlers; it shares the record layout and history
 * format with ActionLedger, which stays the only writer of the send path.
 */

export { LEDGER_STATES };
export type ResolveAs = LedgerResolution['as'];
export const RESOLVE_AS: readonly ResolveAs[] = ['succeeded', 'not-executed'];

export interface ListFilter {
  readonly states?: readonly LedgerState[];
  /** The kind in the key `v1:<kind>:...`, e.g. `payout`. */
  readonly kind?: string;
  /** Only actions whose record changed at or after this time. */
  readonly since?: Date;
  /**
   * Scan the whole table even for `UNKNOWN` and `SENDING`: finds records that became so before the
   * ledger kept the attention index (version 0.1.0), and works on a table without the index.
   */
  readonly scan?: boolean;
}

/** One line of `list`: enough to choose; `show` has the rest. */
export interface ActionSummary {
  readonly actionKey: string;
  readonly kind?: string;
  readonly state: LedgerState;
  /** A CLAIMED or SENDING record whose holder ran out of time (a SENDING one is UNKNOWN in effect). */
  readonly leaseExpired: boolean;
  readonly amountUsdc?: number;
  readonly attempts?: number;
  /** The Purple Flea id of what a SUCCEEDED action created, when the answer had one. */
  readonly reference?: string;
  readonly error?: string;
  readonly createdAt?: string;
  readonly updatedAt?: string;
}

export interface ResolutionRequest {
  readonly as: ResolveAs;
  /** Required: the record keeps why the operator decided so. */
  readonly reason: string;
  /** The Purple Flea id of the order, escrow or transfer, for `succeeded`. */
  readonly reference?: string;
  /** Who resolves it: the caller's IAM ARN. */
  readonly by: string;
}

export interface ResolveResult {
  readonly record: LedgerRecord;
  readonly resolution: LedgerResolution;
  /** True when the record was an expired SENDING that this resolution first marked UNKNOWN. */
  readonly markedUnknown: boolean;
  /**
   * True when this run wrote no resolution: the action was already resolved as `not-executed` (by
   * `resolution.by` at `resolution.at`; `record` is as that left it) and only the release of its
   * reservation was left to do, after an earlier run failed or was interrupted before it.
   */
  readonly alreadyResolved: boolean;
  /**
   * `not-executed` of an action that reserved on a cap counter: the reservation given back (`released`
   * false when it was no longer held: released already, never made, or its counter expired).
   */
  readonly capRelease?: { readonly counterKey: string; readonly cents: number; readonly released: boolean };
}

export class LedgerTableNotFoundError extends Error {
  override readonly name = 'LedgerTableNotFoundError';
  constructor(readonly tableName: string) {
    super(`ledger table '${tableName}' not found`);
  }
}

export class ActionNotFoundError extends Error {
  override readonly name = 'ActionNotFoundError';
  constructor(
    readonly actionKey: string,
    tableName: string,
  ) {
    super(`no action '${actionKey}' in ledger table '${tableName}'`);
  }
}

/**
 * How long past its lease a SENDING record must be before this tool takes its sender for dead. The
 * lease was set by the sender's clock and is read here by the operator's: a clock running fast must
 * not turn a call still in flight into UNKNOWN (and a not-executed resolution into a second payment).
 */
export const SENDING_EXPIRY_MARGIN_MS = 10 * 60_000;

export class NotResolvableError extends Error {
  override readonly name = 'NotResolvableError';
  constructor(
    readonly actionKey: string,
    readonly state: string | undefined,
    detail = '',
  ) {
    super(
      state === undefined
        ? `'${actionKey}' has no state: it is not an action (a cap counter?)`
        : `action '${actionKey}' is ${state}, not UNKNOWN: only UNKNOWN actions can be resolved${detail}`,
    );
  }
}

export interface LedgerOperatorOptions {
  readonly tableName: string;
  readonly client?: DynamoDBClient;
  readonly now?: () => number;
}

export class LedgerOperator {
  private readonly doc: DynamoDBDocumentClient;
  private readonly ledger: ActionLedger;
  private readonly now: () => number;

  constructor(private readonly options: LedgerOperatorOptions) {
    const client = options.client ?? new DynamoDBClient({});
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.now = options.now ?? Date.now;
    this.ledger = new ActionLedger({ tableName: options.tableName, client, now: this.now });
  }

  /**
   * Every action matching `filter`, oldest change first, and how it was read. Only `UNKNOWN` and
   * `SENDING` actions (and only when `filter.scan` is not set): a Query of the attention index per state,
   * whose cost follows the number of such records, not the table's size. Anything else: a Scan of the
   * whole table (it costs what the table's size costs). Cap counters are left out.
   */
  async list(filter: ListFilter = {}): Promise<ActionSummary[]> {
    return (await this.listWithPlan(filter)).actions;
  }

  /** `list`, and whether it queried the attention index or scanned the table (the command says which). */
  async listWithPlan(filter: ListFilter = {}): Promise<{ actions: ActionSummary[]; read: 'index' | 'scan'; itemsRead: number }> {
    try {
      return await this.listOnce(filter);
    } catch (error) {
      // A ledger table of the user's own, created without the index: the same list, by a Scan.
      const noIndex = (error as Error).name === 'ValidationException' && /index/i.test((error as Error).message);
      if (!noIndex || filter.scan) throw error;
      return this.listOnce({ ...filter, scan: true });
    }
  }

  private async listOnce(filter: ListFilter): Promise<{ actions: ActionSummary[]; read: 'index' | 'scan'; itemsRead: number }> {
    const names: { [placeholder: string]: string } = {
      '#pk': LEDGER_PARTITION_KEY,
      '#state': 'state',
      '#error': 'error',
      '#response': 'response',
    };
    const values: { [placeholder: string]: unknown } = {};
    // Counters (`v1:daily-notional:...`) have no state.
    const conditions = ['attribute_exists(#state)'];
    if (filter.kind !== undefined) {
      values[':kindPrefix'] = `v1:${filter.kind}:`;
      conditions.push('begins_with(#pk, :kindPrefix)');
    }
    if (filter.since !== undefined) {
      // Written by toISOString (UTC, fixed width): string order is time order.
      values[':since'] = filter.since.toISOString();
      conditions.push('updatedAt >= :since');
    }
    const projection = '#pk, #state, amountUsdc, attempts, #error, #response, leaseExpiresAt, createdAt, updatedAt';
    const byIndex = !filter.scan && filter.states?.length && filter.states.every((state) => ATTENTION_STATES.includes(state));
    const summaries: ActionSummary[] = [];
    let itemsRead = 0;
    const collect = async (pages: AsyncIterable<{ Items?: { [name: string]: unknown }[]; ScannedCount?: number }>) => {
      for await (const page of pages) {
        itemsRead += page.ScannedCount ?? 0;
        for (const item of page.Items ?? []) summaries.push(this.summarize(item));
      }
    };
    await this.tableCall(async () => {
      if (byIndex) {
        for (const state of filter.states!) {
          const stateValues = { ...values, ':attention': state };
          await collect(
            paginateQuery(
              { client: this.doc },
              {
                TableName: this.options.tableName,
                IndexName: LEDGER_ATTENTION_INDEX.indexName,
                KeyConditionExpression: `${LEDGER_ATTENTION_INDEX.partitionKey} = :attention`,
                FilterExpression: conditions.join(' AND '),
                ProjectionExpression: projection,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: stateValues,
              },
            ),
          );
        }
        return;
      }
      if (filter.states?.length) {
        const placeholders = filter.states.map((state, index) => {
          values[`:state${index}`] = state;
          return `:state${index}`;
        });
        conditions.push(`#state IN (${placeholders.join(', ')})`);
      }
      await collect(
        paginateScan(
          { client: this.doc },
          {
            TableName: this.options.tableName,
            ConsistentRead: true,
            FilterExpression: conditions.join(' AND '),
            ProjectionExpression: projection,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: Object.keys(values).length ? values : undefined,
          },
        ),
      );
    });
    const actions = summaries.sort(
      (a, b) => (a.updatedAt ?? '').localeCompare(b.updatedAt ?? '') || a.actionKey.localeCompare(b.actionKey),
    );
    return { actions, read: byIndex ? 'index' : 'scan', itemsRead };
  }

  /** The whole record, or an ActionNotFoundError. */
  async show(actionKey: string): Promise<LedgerRecord> {
    const record = await this.tableCall(() => this.ledger.get(actionKey));
    if (!record) throw new ActionNotFoundError(actionKey, this.options.tableName);
    return record;
  }

  /**
   * Settles an UNKNOWN action. The write is conditional on the record being UNKNOWN, and on being the
   * same attempt that was read, so two operators cannot both resolve it: the second gets a
   * NotResolvableError naming the state the first left. An expired SENDING record (its sender died
   * and no repeat delivery came) is first marked UNKNOWN, as a repeat delivery would.
   *
   * - `succeeded`: SUCCEEDED, with the reference as the API's id field, so a repeat returns it without a call.
   * - `not-executed`: REJECTED, which ActionLedger.claim takes again on the next delivery, rerun or
   *   redrive; the attempt's cap reservation is given back, or the resend would count twice.
   *
   * The release is a second write, on the counter, conditional on the counter still holding that
   * reservation (ActionLedger.release): whoever else gives it back (the attempt itself, the next
   * claim), it goes back once. When it did not happen (it failed, or the run was interrupted),
   * `not-executed` run again on that REJECTED record finishes it (finishInterruptedRelease), and so
   * does the action's next claim.
   */
  async resolve(actionKey: string, request: ResolutionRequest): Promise<ResolveResult> {
    if (!request.reason.trim()) throw new Error('a resolution needs a reason');
    if (request.as === 'succeeded' && !request.reference?.trim()) throw new Error('a succeeded resolution needs the Purple Flea reference');
    const { record: current, markedUnknown } = await this.readForResolution(actionKey);
    if (current.state !== 'UNKNOWN') return this.finishInterruptedRelease(current, request);

    const resolution = newResolution(current, request, new Date(this.now()).toISOString());
    const record = await this.writeResolution(current, resolution);
    const capRelease = request.as === 'not-executed' ? await this.releaseAttemptReservation(current) : undefined;
    return { record, resolution, markedUnknown, alreadyResolved: false, capRelease };
  }

  /**
   * The record as a resolution sees it: an expired SENDING (past the clock-skew margin) is marked
   * UNKNOWN first; one whose lease ended only just now is refused, as its sender may be live.
   */
  private async readForResolution(actionKey: string): Promise<{ record: LedgerRecord; markedUnknown: boolean }> {
    let record = await this.show(actionKey);
    let markedUnknown = false;
    if (record.state === 'SENDING' && record.leaseExpiresAt + SENDING_EXPIRY_MARGIN_MS < this.now()) {
      const expiring = record;
      ({ record, changed: markedUnknown } = await this.tableCall(() => this.ledger.markExpiredSendingUnknown(expiring)));
    }
    if (record.state === 'SENDING' && record.leaseExpiresAt < this.now()) {
      const minutes = Math.ceil((record.leaseExpiresAt + SENDING_EXPIRY_MARGIN_MS - this.now()) / 60_000);
      throw new NotResolvableError(
        actionKey,
        record.state,
        ` (its lease ended only just now by this machine's clock: try again in ${minutes} min, or let a repeat delivery mark it UNKNOWN)`,
      );
    }
    return { record, markedUnknown };
  }

  /**
   * UNKNOWN → SUCCEEDED or REJECTED, with the resolution appended to `resolutions` and `history`, in
   * one write conditional on the record still being UNKNOWN of the attempt that was read.
   */
  private async writeResolution(current: LedgerRecord, resolution: LedgerResolution): Promise<LedgerRecord> {
    const actionKey = current.actionKey;
    const toState: LedgerState = resolution.as === 'succeeded' ? 'SUCCEEDED' : 'REJECTED';
    const kind = actionKindOf(actionKey);
    const stateChange: {
      set: string;
      remove: string;
      names: { [placeholder: string]: string };
      values: { [placeholder: string]: unknown };
    } =
      resolution.as === 'succeeded'
        ? {
            set: '#response = :response',
            remove: ` REMOVE #error, ${ATTENTION_REMOVE}`,
            names: { '#response': 'response', '#error': 'error' },
            values: { ':response': { [referenceFieldOf(kind, current.request)]: resolution.reference, source: 'operator-resolution' } },
          }
        : {
            set: '#error = :error',
            remove: ` REMOVE ${ATTENTION_REMOVE}`,
            names: { '#error': 'error' },
            values: { ':error': `resolved as not-executed by ${resolution.by}: ${resolution.reason}` },
          };
    try {
      const { Attributes } = await this.tableCall(() =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: { [LEDGER_PARTITION_KEY]: actionKey },
            UpdateExpression:
              `SET #state = :to, updatedAt = :nowIso, ${stateChange.set}, ` +
              `#resolutions = list_append(if_not_exists(#resolutions, :emptyList), :resolution), ${APPEND_HISTORY}` +
              stateChange.remove,
            ConditionExpression: '#state = :unknown AND claimToken = :token',
            ExpressionAttributeNames: { '#state': 'state', '#resolutions': 'resolutions', '#history': 'history', ...stateChange.names },
            ExpressionAttributeValues: {
              ...historyValues({
                at: resolution.at,
                event: 'resolve',
                state: toState,
                by: resolution.by,
                reason: resolution.reason,
                reference: resolution.reference,
              }),
              ...stateChange.values,
              ':to': toState,
              ':nowIso': resolution.at,
              ':resolution': [resolution],
              ':unknown': 'UNKNOWN',
              ':token': current.claimToken,
            },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return toRecord(Attributes!);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const latest = await this.show(actionKey);
      // The SDK retried our write after its answer was lost: it is done.
      if (latest.resolutions?.some((entry) => entry.id === resolution.id)) return latest;
      // UNKNOWN again, but of a later attempt than the one read: the operator must look again.
      if (latest.state === 'UNKNOWN') {
        throw new Error(`action '${actionKey}' changed while it was being resolved: show it and resolve it again`, { cause: error });
      }
      throw notResolvable(latest);
    }
  }

  /**
   * `not-executed`: gives back what the action's attempts reserved and may still hold (the resolved
   * attempt's, and any earlier one a claim could not release), each once.
   */
  private async releaseAttemptReservation(attempt: LedgerRecord): Promise<ResolveResult['capRelease']> {
    const reservations = attempt.capReservations ?? [];
    const resolved = reservations.find((reservation) => reservation.id === attempt.claimToken);
    let released = false;
    for (const reservation of reservations) {
      const given = await this.tableCall(() => this.ledger.release(reservation));
      if (reservation === resolved) released = given;
    }
    if (!resolved) return undefined;
    return { counterKey: resolved.counterKey, cents: resolved.cents, released };
  }

  /**
   * A record that is not UNKNOWN. One case is left to do: `not-executed` again on a record that an
   * earlier `not-executed` made REJECTED, whose reservation release failed or was interrupted. Its
   * last history event must still be that resolution: a later claim is a new attempt, whose counter
   * reservation replaces the resolved attempt's, and this path must never release that. The counter
   * is read first, so that a release already done costs no write; the release itself is the same
   * guarded write as always (once per reservation). Every other case, including a release already
   * done, is refused as before.
   */
  private async finishInterruptedRelease(record: LedgerRecord, request: ResolutionRequest): Promise<ResolveResult> {
    const resolution = request.as === 'not-executed' ? unreleasedNotExecuted(record) : undefined;
    const held = resolution ? await this.heldReservations(record) : [];
    if (!resolution || held.length === 0) throw notResolvable(record);
    // The reservations come from the same read as the history that shows no claim since the
    // resolution: they are the resolved attempt's (and earlier ones), even if a claim lands while this runs.
    const capRelease = await this.releaseAttemptReservation(record);
    return { record, resolution, markedUnknown: false, alreadyResolved: true, capRelease };
  }

  /** The record's listed reservations that their counters still hold. */
  private async heldReservations(record: LedgerRecord): Promise<CapReservation[]> {
    const held: CapReservation[] = [];
    for (const reservation of record.capReservations ?? []) {
      if (await this.tableCall(() => this.ledger.holds(reservation))) held.push(reservation);
    }
    return held;
  }

  private summarize(item: { [name: string]: unknown }): ActionSummary {
    const record = toRecord(item);
    const kind = actionKindOf(record.actionKey);
    return {
      actionKey: record.actionKey,
      kind,
      state: record.state,
      leaseExpired: (record.state === 'CLAIMED' || record.state === 'SENDING') && record.leaseExpiresAt < this.now(),
      amountUsdc: record.amountUsdc,
      attempts: record.attempts,
      reference: referenceOf(kind, record.response),
      error: record.error,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
  }

  /** A missing table becomes one error that names it. */
  private async tableCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') throw new LedgerTableNotFoundError(this.options.tableName);
      throw error;
    }
  }
}

/** A new resolution of the UNKNOWN `current`, as `request` decides, made `at` (an ISO time). */
function newResolution(current: LedgerRecord, request: ResolutionRequest, at: string): LedgerResolution {
  return {
    id: randomUUID(),
    at,
    by: request.by,
    as: request.as,
    reason: request.reason,
    reference: request.as === 'succeeded' ? request.reference : undefined,
    // The record's error can carry a server's message: kept short, as every resolution stays on the record.
    previousError: current.error?.slice(0, 1_000),
  };
}

/**
 * The `not-executed` resolution of a REJECTED record whose reservation may not have been given back:
 * the resolution is the record's last history event (no claim since), and its attempt reserved on a
 * counter. Undefined otherwise.
 */
function unreleasedNotExecuted(record: LedgerRecord): LedgerResolution | undefined {
  const lastEvent = record.history?.at(-1);
  const resolution = record.resolutions?.at(-1);
  const resolvedLast =
    record.state === 'REJECTED' &&
    lastEvent?.event === 'resolve' &&
    lastEvent.state === 'REJECTED' &&
    resolution?.as === 'not-executed' &&
    resolution.at === lastEvent.at &&
    resolution.by === lastEvent.by;
  return resolvedLast && (record.capReservations?.length ?? 0) > 0 ? resolution : undefined;
}

/** Names the state, and the last resolution when an operator put it there. */
function notResolvable(record: LedgerRecord): NotResolvableError {
  const last = record.resolutions?.at(-1);
  return new NotResolvableError(record.actionKey, record.state, last ? ` (resolved as ${last.as} by ${last.by} at ${last.at})` : '');
}

function toRecord(item: { [name: string]: unknown }): LedgerRecord {
  const { [LEDGER_PARTITION_KEY]: key, ...rest } = item;
  return { actionKey: key as string, ...(rest as Omit<LedgerRecord, 'actionKey'>) };
}
