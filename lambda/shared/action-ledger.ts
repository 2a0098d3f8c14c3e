import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ConnectionSettings } from '../../lib/private/contracts/connection-env';
import {
  ActionDecision,
  attentionOf,
  CapReservation,
  LEDGER_ATTENTION_INDEX,
  LEDGER_PARTITION_KEY,
  LEDGER_TTL_ATTRIBUTE,
  LedgerEvent,
  LedgerHistoryEntry,
  LedgerRecord,
  LedgerState,
} from '../../lib/private/contracts/ledger-schema';

// The record's schema is shared with the operator's command: it lives with the contracts.
export type {
  ActionDecision,
  CapReservation,
  LedgerEvent,
  LedgerHistoryEntry,
  LedgerRecord,
  LedgerResolution,
  LedgerState,
} from '../../lib/private/contracts/ledger-schema';

export type ClaimResult =
  { readonly claimed: true; readonly claimToken: string } | { readonly claimed: false; readonly existing: LedgerRecord };

export interface ClaimRequest {
  /** SENDING claims and marks the request as going out in one write; CLAIMED leaves a step between. */
  readonly state: 'CLAIMED' | 'SENDING';
  readonly leaseMs: number;
  readonly request: { readonly [key: string]: unknown };
  readonly amountUsdc: number;
  /**
   * The counter this attempt will reserve its amount on. Recorded with the claim, before the
   * reservation is made, so that whoever finds the attempt never executed can give it back.
   */
  readonly cap?: { readonly counterKey: string; readonly cents: number };
  /** Who decided the action and why (a release after a review, an operator's release): kept on the record and its history. */
  readonly decision?: ActionDecision;
}

export interface ActionLedgerOptions {
  readonly tableName: string;
  readonly retentionDays?: number;
  readonly client?: DynamoDBClient;
  readonly now?: () => number;
}

const ATTRIBUTE_NAMES = { '#pk': LEDGER_PARTITION_KEY, '#state': 'state' };

/*
 * The conditions of the ledger's writes, named for what they guarantee. Every transition of an action
 * is one conditional write; so is every change of a cap counter.
 */
/** Nobody has ever claimed the action. */
const ACTION_IS_NEW = 'attribute_not_exists(#pk)';
/** The last attempt provably did not execute: the action may run again. */
const LAST_ATTEMPT_NOT_EXECUTED = '#state = :rejected';
/** The last attempt claimed it and never marked it SENDING before its lease ran out: nothing was sent. */
const CLAIM_ABANDONED = '(#state = :claimed AND leaseExpiresAt < :now)';
/** An invocation may take the action. */
const ACTION_IS_CLAIMABLE = `${ACTION_IS_NEW} OR ${LAST_ATTEMPT_NOT_EXECUTED} OR ${CLAIM_ABANDONED}`;
/** The action is still in the state this invocation left it in, under this invocation's claim. */
const HELD_BY_THIS_CLAIM = '#state = :from AND claimToken = :token';
/** The claim is still this invocation's (whatever its state). */
const STILL_THIS_CLAIM = 'claimToken = :token';
/** The action succeeded, so its follow-up (a notification) may be sent. */
const ACTION_SUCCEEDED = '#state = :succeeded';
/** Nobody has done the follow-up, and nobody holds it under a live lease. */
const FOLLOW_UP_FREE = 'attribute_not_exists(notifiedAt) AND (attribute_not_exists(notifyLeaseUntil) OR notifyLeaseUntil < :now)';
/** The counter can take `:amount` more without passing its cap (`:limit` is the cap less the amount). */
const COUNTER_HAS_ROOM = '(attribute_not_exists(reservedCents) OR reservedCents <= :limit)';
/** The counter does not hold this reservation yet (a retried write must not reserve twice). */
const RESERVATION_NOT_HELD = 'NOT contains(heldReservations, :reservationId)';
/** The counter holds this reservation: releasing it is this write's, and no other's. */
const RESERVATION_HELD = 'contains(heldReservations, :reservationId)';

/** Puts the record in the attention index (`:attention`, `:attentionAt`), or takes it out. */
export const ATTENTION_SET = `${LEDGER_ATTENTION_INDEX.partitionKey} = :attention, ${LEDGER_ATTENTION_INDEX.sortKey} = :attentionAt`;
export const ATTENTION_REMOVE = `${LEDGER_ATTENTION_INDEX.partitionKey}, ${LEDGER_ATTENTION_INDEX.sortKey}`;

/**
 * History kept per record. An attempt adds two or three entries, so this covers dozens of attempts;
 * with errors cut to HISTORY_ERROR_CHARS the history stays under ~50 KB of the 400 KB item limit.
 */
export const MAX_HISTORY_ENTRIES = 100;
const HISTORY_ERROR_CHARS = 300;

/** Appends one entry to `history` in an update expression (the entry is in `:historyEntry`). */
export const APPEND_HISTORY = '#history = list_append(if_not_exists(#history, :emptyList), :historyEntry)';

/** The expression values APPEND_HISTORY needs, for one entry. */
export function historyValues(entry: LedgerHistoryEntry): { [placeholder: string]: unknown } {
  const error = entry.error === undefined ? undefined : entry.error.slice(0, HISTORY_ERROR_CHARS);
  return { ':emptyList': [], ':historyEntry': [{ ...entry, error }] };
}

/**
 * The record of money moved, in DynamoDB. Every transition is a conditional write, so two
 * invocations racing on one action key cannot both send: the table, not the server, makes a
 * payment happen once (Purple Flea has no idempotency support).
 */
export class ActionLedger {
  private readonly doc: DynamoDBDocumentClient;
  private readonly now: () => number;

  constructor(private readonly options: ActionLedgerOptions) {
    this.doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.now = options.now ?? Date.now;
  }

  /**
   * Takes the action for this invocation if nobody has it: new, REJECTED (not executed, may run
   * again), or CLAIMED with an expired lease (nothing was sent). Otherwise returns what is there.
   */
  async claim(actionKey: string, claim: ClaimRequest): Promise<ClaimResult> {
    const now = this.now();
    const nowIso = new Date(now).toISOString();
    const claimToken = randomUUID();
    let claimed = false;
    let historyLength = 0;
    let listedReservations: readonly CapReservation[] = [];
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [LEDGER_PARTITION_KEY]: actionKey },
          UpdateExpression:
            'SET #state = :state, claimToken = :token, leaseExpiresAt = :lease, #request = :request, amountUsdc = :amount, ' +
            'createdAt = if_not_exists(createdAt, :nowIso), updatedAt = :nowIso, attempts = if_not_exists(attempts, :zero) + :one, ' +
            APPEND_HISTORY +
            // Earlier attempts' reservations stay listed until released: this claim releases them next.
            ', capReservations = list_append(if_not_exists(capReservations, :emptyList), :reservation)' +
            (claim.cap ? ', capCounterKey = :capCounterKey, capReservedCents = :capCents' : '') +
            (claim.decision ? ', decision = :decision' : '') +
            // A SENDING claim joins the attention index until its outcome is recorded; a CLAIMED one is not in it.
            (claim.state === 'SENDING' ? `, ${ATTENTION_SET}` : '') +
            this.expirySet() +
            ' REMOVE #response, #error' +
            (claim.cap ? '' : ', capCounterKey, capReservedCents') +
            (claim.state === 'SENDING' ? '' : `, ${ATTENTION_REMOVE}`),
          ConditionExpression: ACTION_IS_CLAIMABLE,
          ExpressionAttributeNames: {
            ...ATTRIBUTE_NAMES,
            '#request': 'request',
            '#response': 'response',
            '#error': 'error',
            '#history': 'history',
          },
          // The attributes this write set come back (the request, the history and the reservations
          // among them): the history's length and the earlier reservations, at no extra round trip.
          ReturnValues: 'UPDATED_NEW',
          ExpressionAttributeValues: {
            ...historyValues({ at: nowIso, event: 'claim', state: claim.state, by: claim.decision?.by, reason: claim.decision?.reason }),
            ...(claim.decision ? { ':decision': claim.decision } : {}),
            ':reservation': claim.cap ? [{ counterKey: claim.cap.counterKey, cents: claim.cap.cents, id: claimToken }] : [],
            ...(claim.state === 'SENDING' ? { ':attention': 'SENDING', ':attentionAt': now + claim.leaseMs } : {}),
            ...(claim.cap ? { ':capCounterKey': claim.cap.counterKey, ':capCents': claim.cap.cents } : {}),
            ':state': claim.state,
            ':token': claimToken,
            ':lease': now + claim.leaseMs,
            ':request': claim.request,
            ':amount': claim.amountUsdc,
            ':nowIso': nowIso,
            ':zero': 0,
            ':one': 1,
            ':rejected': 'REJECTED',
            ':claimed': 'CLAIMED',
            ':now': now,
            ...this.expiryValue(now),
          },
        }),
      );
      claimed = true;
      historyLength = (Attributes?.history as readonly unknown[] | undefined)?.length ?? 0;
      listedReservations = (Attributes?.capReservations as readonly CapReservation[] | undefined) ?? [];
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    if (claimed) {
      if (historyLength > MAX_HISTORY_ENTRIES) await this.trimHistory(actionKey, claimToken, historyLength - MAX_HISTORY_ENTRIES);
      const earlier = listedReservations.filter((listed) => listed.id !== claimToken);
      const ours = listedReservations.filter((listed) => listed.id === claimToken);
      if (earlier.length > 0) await this.releaseEarlierReservations(actionKey, claimToken, earlier, ours);
      return { claimed: true, claimToken };
    }
    const existing = await this.get(actionKey);
    // The SDK retried a write whose answer was lost: the record already holds our own claim.
    if (existing?.claimToken === claimToken) return { claimed: true, claimToken };
    if (!existing) {
      // Gone between the two calls (only possible if someone deleted it): let the caller retry later.
      throw new Error(`ledger record ${actionKey} changed while it was being claimed`);
    }
    return { claimed: false, existing };
  }

  /** CLAIMED → SENDING, written immediately before the request goes out. False if the claim was lost. */
  async markSending(actionKey: string, claimToken: string, leaseMs: number): Promise<boolean> {
    return this.transition(actionKey, claimToken, 'CLAIMED', 'SENDING', 'mark-sending', { leaseExpiresAt: this.now() + leaseMs });
  }

  /** SENDING → SUCCEEDED / REJECTED / UNKNOWN, only by the invocation that sent it. */
  async recordOutcome(
    actionKey: string,
    claimToken: string,
    state: 'SUCCEEDED' | 'REJECTED' | 'UNKNOWN',
    details: { readonly response?: { readonly [key: string]: unknown }; readonly error?: string },
  ): Promise<boolean> {
    return this.transition(actionKey, claimToken, 'SENDING', state, 'record-outcome', { response: details.response, error: details.error });
  }

  /** CLAIMED → REJECTED when the invocation decides not to send after all (e.g. a cap was reached). */
  async releaseClaim(actionKey: string, claimToken: string, error: string): Promise<boolean> {
    return this.transition(actionKey, claimToken, 'CLAIMED', 'REJECTED', 'release-claim', { error });
  }

  /**
   * An expired SENDING record: the request may have gone out and nobody recorded the answer.
   * It becomes UNKNOWN, for an operator; it is never re-sent.
   */
  async markExpiredSendingUnknown(record: LedgerRecord): Promise<{ readonly record: LedgerRecord; readonly changed: boolean }> {
    const error = 'lease expired while SENDING: the request may have taken effect';
    // Not a write of ours that the SDK may have retried: a record found UNKNOWN was changed by someone else.
    if (
      await this.transition(record.actionKey, record.claimToken, 'SENDING', 'UNKNOWN', 'expire-sending', { error }, { ownClaim: false })
    ) {
      return { record: { ...record, state: 'UNKNOWN', error }, changed: true };
    }
    return { record: (await this.get(record.actionKey)) ?? record, changed: false };
  }

  /**
   * Takes the follow-up (the notification) of a SUCCEEDED action for `leaseMs`, so that concurrent
   * repeats do not all send it. False if it is done, or another invocation holds it.
   */
  async claimNotification(actionKey: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [LEDGER_PARTITION_KEY]: actionKey },
          UpdateExpression: 'SET notifyLeaseUntil = :until',
          ConditionExpression: `${ACTION_SUCCEEDED} AND ${FOLLOW_UP_FREE}`,
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':until': now + leaseMs, ':now': now, ':succeeded': 'SUCCEEDED' },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Gives the notification back after it failed, so that the next delivery sends it at once. */
  async releaseNotification(actionKey: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: { [LEDGER_PARTITION_KEY]: actionKey },
        UpdateExpression: 'REMOVE notifyLeaseUntil',
      }),
    );
  }

  /** Records that a SUCCEEDED action's follow-up (its notification) is done, so a repeat skips it. */
  async markNotified(actionKey: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: { [LEDGER_PARTITION_KEY]: actionKey },
        UpdateExpression: 'SET notifiedAt = :nowIso',
        ConditionExpression: ACTION_SUCCEEDED,
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':nowIso': new Date(this.now()).toISOString(), ':succeeded': 'SUCCEEDED' },
      }),
    );
  }

  async get(actionKey: string): Promise<LedgerRecord | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.options.tableName, Key: { [LEDGER_PARTITION_KEY]: actionKey }, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const { [LEDGER_PARTITION_KEY]: key, ...rest } = Item;
    return { actionKey: key as string, ...(rest as Omit<LedgerRecord, 'actionKey'>) };
  }

  /**
   * Adds the reservation's cents to its counter unless that would take it over `capCents`. One
   * conditional write, so concurrent invocations cannot overshoot the cap together; the counter keeps
   * the ids it holds, so a write the SDK retried after a lost answer is recognised, not counted twice.
   * Whole cents, so no floating-point drift accumulates in the counter.
   */
  async reserve(reservation: CapReservation, capCents: number): Promise<boolean> {
    if (reservation.cents > capCents) return false;
    const now = this.now();
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [LEDGER_PARTITION_KEY]: reservation.counterKey },
          UpdateExpression: 'ADD reservedCents :amount, heldReservations :reservationIds SET updatedAt = :nowIso' + this.expirySet(),
          ConditionExpression: `${COUNTER_HAS_ROOM} AND ${RESERVATION_NOT_HELD}`,
          ExpressionAttributeValues: {
            ':amount': reservation.cents,
            ':limit': capCents - reservation.cents,
            ':reservationIds': new Set([reservation.id]),
            ':reservationId': reservation.id,
            ':nowIso': new Date(now).toISOString(),
            ...this.expiryValue(now),
          },
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Over the cap, or our own write applied once already (its answer was lost and the SDK retried it).
      return this.holds(reservation);
    }
  }

  /**
   * Gives back a reservation whose attempt provably did not execute. Conditional on the counter still
   * holding it, so that of all who may release one reservation (the attempt itself, the next claim
   * of its action, an operator's resolution) exactly one does. True when this call gave it back.
   */
  async release(reservation: CapReservation): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [LEDGER_PARTITION_KEY]: reservation.counterKey },
          UpdateExpression: 'ADD reservedCents :negative DELETE heldReservations :reservationIds',
          ConditionExpression: RESERVATION_HELD,
          ExpressionAttributeValues: {
            ':negative': -reservation.cents,
            ':reservationIds': new Set([reservation.id]),
            ':reservationId': reservation.id,
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Whether the counter holds the reservation now. */
  async holds(reservation: CapReservation): Promise<boolean> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.options.tableName,
        Key: { [LEDGER_PARTITION_KEY]: reservation.counterKey },
        ConsistentRead: true,
        ProjectionExpression: 'heldReservations',
      }),
    );
    return (Item?.heldReservations as Set<string> | undefined)?.has(reservation.id) ?? false;
  }

  /**
   * The claim that takes an action over releases what its earlier attempts reserved and never sent
   * (their attempt was REJECTED, or abandoned before SENDING: nothing was sent under them), then drops
   * them from the record. Best effort: what is not released stays listed for the next claim or an
   * operator's resolution; a counter then holds more than was sent (the cap is reached early), never less.
   */
  private async releaseEarlierReservations(
    actionKey: string,
    claimToken: string,
    earlier: readonly CapReservation[],
    ours: readonly CapReservation[],
  ): Promise<void> {
    try {
      for (const reservation of earlier) await this.release(reservation);
      await this.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [LEDGER_PARTITION_KEY]: actionKey },
          // While the claim is ours, no one else adds to the list: what stays is our own reservation, if any.
          UpdateExpression: 'SET capReservations = :ours',
          ConditionExpression: STILL_THIS_CLAIM,
          ExpressionAttributeValues: { ':token': claimToken, ':ours': ours },
        }),
      );
    } catch {
      // Best effort, by design (see above).
    }
  }

  private async transition(
    actionKey: string,
    claimToken: string,
    from: LedgerState,
    to: LedgerState,
    event: LedgerEvent,
    fields: { readonly [name: string]: unknown },
    { ownClaim }: { readonly ownClaim: boolean } = { ownClaim: true },
  ): Promise<boolean> {
    const nowIso = new Date(this.now()).toISOString();
    const names: { [placeholder: string]: string } = { '#state': 'state', '#history': 'history' };
    const values: { [placeholder: string]: unknown } = {
      ':to': to,
      ':from': from,
      ':token': claimToken,
      ':nowIso': nowIso,
      ...historyValues({ at: nowIso, event, state: to, error: typeof fields.error === 'string' ? fields.error : undefined }),
    };
    const sets = ['#state = :to', 'updatedAt = :nowIso', APPEND_HISTORY];
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      sets.push(`#${name} = :${name}`);
    }
    // In the same write: the record joins, moves in or leaves the attention index with its state.
    const leaseExpiresAt = typeof fields.leaseExpiresAt === 'number' ? fields.leaseExpiresAt : this.now();
    const attention = attentionOf(to, leaseExpiresAt, this.now());
    if (attention) {
      sets.push(ATTENTION_SET);
      values[':attention'] = attention.attention;
      values[':attentionAt'] = attention.attentionAt;
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [LEDGER_PARTITION_KEY]: actionKey },
          UpdateExpression: `SET ${sets.join(', ')}` + (attention ? '' : ` REMOVE ${ATTENTION_REMOVE}`),
          ConditionExpression: HELD_BY_THIS_CLAIM,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (!ownClaim) return false;
      // The SDK retried a write whose answer was lost: the record may already be where we put it.
      const current = await this.get(actionKey);
      return current?.state === to && current.claimToken === claimToken;
    }
  }

  /**
   * Drops the oldest `count` entries. Only the claim holder does it, right after its claim; a failure
   * leaves a longer history (the next claim trims again), never a lost action.
   */
  private async trimHistory(actionKey: string, claimToken: string, count: number): Promise<void> {
    const removals = Array.from({ length: count }, (_, index) => `#history[${index}]`).join(', ');
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [LEDGER_PARTITION_KEY]: actionKey },
          UpdateExpression: `REMOVE ${removals}`,
          ConditionExpression: STILL_THIS_CLAIM,
          ExpressionAttributeNames: { '#history': 'history' },
          ExpressionAttributeValues: { ':token': claimToken },
        }),
      );
    } catch {
      // Best effort, by design (see above).
    }
  }

  private expirySet(): string {
    return this.options.retentionDays === undefined ? '' : `, ${LEDGER_TTL_ATTRIBUTE} = :expiresAt`;
  }

  private expiryValue(now: number): { [placeholder: string]: number } {
    if (this.options.retentionDays === undefined) return {};
    return { ':expiresAt': Math.floor(now / 1000) + Math.ceil(this.options.retentionDays * 86_400) };
  }
}

/**
 * The PurpleFleaConnection's ledger, from its settings: its table, and the retention its records get. Built by
 * createConnectionRuntime (lambda/shared/connection-runtime.ts) for the handlers that move money, and alone
 * by those that only read it (Summarize).
 */
export function connectionLedger(
  connection: Pick<ConnectionSettings, 'ledgerTableName' | 'ledgerRetentionDays'>,
  client?: DynamoDBClient,
): ActionLedger {
  return new ActionLedger({ tableName: connection.ledgerTableName, retentionDays: connection.ledgerRetentionDays, client });
}

export { toCentsRounded as toCents } from './decimal';
