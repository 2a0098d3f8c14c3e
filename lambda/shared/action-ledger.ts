import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LEDGER_PARTITION_KEY, LEDGER_TTL_ATTRIBUTE } from '../../lib/private/contracts/ledger-schema';

/** DESIGN.md "Money moves exactly once": the states of one money-moving action. */
export type LedgerState = 'CLAIMED' | 'SENDING' | 'SUCCEEDED' | 'REJECTED' | 'UNKNOWN';

/** Which ledger operation made a transition: the method's name, for the record's history. */
export type LedgerEvent = 'claim' | 'mark-sending' | 'record-outcome' | 'release-claim' | 'expire-sending' | 'resolve';

/** One state transition, appended to the record in the same conditional write that makes it. */
export interface LedgerHistoryEntry {
  readonly at: string;
  readonly event: LedgerEvent;
  readonly state: LedgerState;
  readonly error?: string;
  /** Resolutions only: who resolved it (an IAM ARN), why, and the Purple Flea id when the money moved. */
  readonly by?: string;
  readonly reason?: string;
  readonly reference?: string;
}

/** An operator's decision on an UNKNOWN action (lambda/shared/ledger-operator.ts). Never trimmed. */
export interface LedgerResolution {
  /** Unique per resolution: recognises our own write when the SDK retried it. */
  readonly id: string;
  readonly at: string;
  readonly by: string;
  readonly as: 'succeeded' | 'not-executed';
  readonly reason: string;
  readonly reference?: string;
  /** The error the action was UNKNOWN with. */
  readonly previousError?: string;
}

export interface LedgerRecord {
  readonly actionKey: string;
  readonly state: LedgerState;
  readonly claimToken: string;
  /** Epoch ms; a CLAIMED record past it may be taken over, a SENDING one becomes UNKNOWN. */
  readonly leaseExpiresAt: number;
  /** How many times the action was claimed (a REJECTED action may run again). */
  readonly attempts: number;
  /** What was (or is about to be) sent, without credentials. */
  readonly request?: { readonly [key: string]: unknown };
  readonly amountUsdc?: number;
  readonly response?: { readonly [key: string]: unknown };
  readonly error?: string;
  /** When the follow-up of a SUCCEEDED action (e.g. an EventBridge notification) was done. */
  readonly notifiedAt?: string;
  /** The running total this attempt reserved on (e.g. a day's notional), so a resolution can give it back. */
  readonly capCounterKey?: string;
  readonly capReservedCents?: number;
  /** Oldest first; at most MAX_HISTORY_ENTRIES (older entries are trimmed when a claim adds one). */
  readonly history?: readonly LedgerHistoryEntry[];
  readonly resolutions?: readonly LedgerResolution[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type ClaimResult =
  | { readonly claimed: true; readonly claimToken: string }
  | { readonly claimed: false; readonly existing: LedgerRecord };

export interface ClaimRequest {
  /** SENDING claims and marks the request as going out in one write; CLAIMED leaves a step between. */
  readonly state: 'CLAIMED' | 'SENDING';
  readonly leaseMs: number;
  readonly request: { readonly [key: string]: unknown };
  readonly amountUsdc: number;
  /** The counter this attempt reserves its amount on; recorded so that an operator's resolution can release it. */
  readonly cap?: { readonly counterKey: string; readonly cents: number };
}

export interface ActionLedgerOptions {
  readonly tableName: string;
  readonly retentionDays?: number;
  readonly client?: DynamoDBClient;
  readonly now?: () => number;
}

const ATTRIBUTE_NAMES = { '#pk': LEDGER_PARTITION_KEY, '#state': 'state' };

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
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [LEDGER_PARTITION_KEY]: actionKey },
          UpdateExpression:
            'SET #state = :state, claimToken = :token, leaseExpiresAt = :lease, #request = :request, amountUsdc = :amount, ' +
            'createdAt = if_not_exists(createdAt, :nowIso), updatedAt = :nowIso, attempts = if_not_exists(attempts, :zero) + :one, ' +
            APPEND_HISTORY +
            (claim.cap ? ', capCounterKey = :capCounterKey, capReservedCents = :capCents' : '') +
            this.expirySet() +
            ' REMOVE #response, #error' +
            // An attempt without a cap must not leave an earlier attempt's counter for a resolution to release.
            (claim.cap ? '' : ', capCounterKey, capReservedCents'),
          ConditionExpression:
            'attribute_not_exists(#pk) OR #state = :rejected OR (#state = :claimed AND leaseExpiresAt < :now)',
          ExpressionAttributeNames: { ...ATTRIBUTE_NAMES, '#request': 'request', '#response': 'response', '#error': 'error', '#history': 'history' },
          // The attributes this write set come back (the request and the history among them): the
          // history's length, for trimming it, at no extra round trip.
          ReturnValues: 'UPDATED_NEW',
          ExpressionAttributeValues: {
            ...historyValues({ at: nowIso, event: 'claim', state: claim.state }),
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
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    if (claimed) {
      if (historyLength > MAX_HISTORY_ENTRIES) await this.trimHistory(actionKey, claimToken, historyLength - MAX_HISTORY_ENTRIES);
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
    if (await this.transition(record.actionKey, record.claimToken, 'SENDING', 'UNKNOWN', 'expire-sending', { error }, { ownClaim: false })) {
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
          ConditionExpression: '#state = :succeeded AND attribute_not_exists(notifiedAt) AND (attribute_not_exists(notifyLeaseUntil) OR notifyLeaseUntil < :now)',
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
        ConditionExpression: '#state = :succeeded',
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
   * Adds `amountCents` to a counter unless that would take it over `capCents`. One conditional
   * write, so concurrent invocations cannot overshoot the cap together. Whole cents, so no
   * floating-point drift accumulates in the counter.
   */
  async reserve(counterKey: string, amountCents: number, capCents: number): Promise<boolean> {
    if (amountCents > capCents) return false;
    const now = this.now();
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [LEDGER_PARTITION_KEY]: counterKey },
          UpdateExpression: 'ADD reservedCents :amount SET updatedAt = :nowIso' + this.expirySet(),
          ConditionExpression: 'attribute_not_exists(reservedCents) OR reservedCents <= :limit',
          ExpressionAttributeValues: {
            ':amount': amountCents,
            ':limit': capCents - amountCents,
            ':nowIso': new Date(now).toISOString(),
            ...this.expiryValue(now),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Gives back a reservation whose action provably did not execute. */
  async release(counterKey: string, amountCents: number): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: { [LEDGER_PARTITION_KEY]: counterKey },
        UpdateExpression: 'ADD reservedCents :amount',
        ExpressionAttributeValues: { ':amount': -amountCents },
      }),
    );
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
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [LEDGER_PARTITION_KEY]: actionKey },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: '#state = :from AND claimToken = :token',
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
          ConditionExpression: 'claimToken = :token',
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

export { toCentsRounded as toCents } from './decimal';
