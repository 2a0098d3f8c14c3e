/**
 * `release <hold or escrow action key> --reason`: an operator releases, by hand, the escrow a hold or a bonus escrow
 * created (issue 14: a reviewer who decides by hand). The same path as the review's and the approval's release
 * functions: MoneyPath with escrowReleaseAction, the same ledger and key (`v1:release:<escrow id>`), so the escrow is
 * released once whoever asks (a second `release`, a review, an approval), a lost answer is UNKNOWN and never sent
 * again, and a 409 is read back. Who (the caller's IAM ARN) and why (--reason) are the release's decision, kept on
 * its record and in its history by the claim.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ACTION_KINDS, actionKindOf, referenceOf } from '../../lib/private/contracts/action-keys';
import type { ActionDecision, LedgerRecord, LedgerState } from '../../lib/private/contracts/ledger-schema';
import { PURPLEFLEA_API_DEFAULTS } from '../../lib/private/defaults';
import type { ActionLedger } from '../../lambda/shared/action-ledger';
import { releaseActionKey } from '../../lambda/shared/action-keys';
import { escrowReleaseAction } from '../../lambda/shared/escrow-release';
import { type ActionStatus, MoneyPath } from '../../lambda/shared/money-path';
import { GATEWAY_PROFILE, SERVICES_PROFILE } from '../../lambda/shared/purpleflea-api';
import { PurpleFleaClient } from '../../lambda/shared/purpleflea-client';
import type { CredentialsProvider, PurpleFleaCredentials } from '../../lambda/shared/purpleflea-credentials';
import type { ReleaseArguments } from './arguments';
import { ActionNotFoundError, type LedgerOperator } from './ledger-operator';
import { CheckError, keyFromSecret } from './lost-answer-check';

/** The kinds whose SUCCEEDED record names an escrow the library created: FraudHoldEscrow's holds, TrainingBonusEscrow's bonuses. */
export const RELEASABLE_KINDS = [ACTION_KINDS.hold, ACTION_KINDS.escrow] as const;

/** `--base-url`'s default: the gateway's, as PurpleFleaApi.gateway() has it. */
export const DEFAULT_GATEWAY_URL = PURPLEFLEA_API_DEFAULTS.baseUrl;

/** The decision's `source` on a release made by this command. */
export const OPERATOR_DECISION_SOURCE = 'operator';

/**
 * How long the release call may take, retries included: a 429 (a full rate-limit window) is waited out once,
 * as a Lambda's release would within its timeout. The record's lease is this and the money path's margin.
 */
export const RELEASE_DEADLINE_MS = 90_000;

export interface ReleaseRequest {
  /** The hold's or the bonus escrow's action key. */
  readonly creationKey: string;
  readonly reason: string;
  /** Who releases: the caller's IAM ARN. */
  readonly by: string;
  readonly purpleFlea: ReleaseArguments;
}

export interface ReleaseDeps {
  readonly tableName: string;
  readonly operator: LedgerOperator;
  /** The ledger the money path claims in and records to (the operator's table). */
  readonly ledger: ActionLedger;
  readonly secrets: SecretsManagerClient;
  readonly now?: () => number;
}

export interface ReleaseResult {
  /** The release's outcome, as the money path reports it. */
  readonly status: ActionStatus;
  /** The release's own key, `v1:release:<escrow id>`. */
  readonly actionKey: string;
  readonly escrowId: string;
  readonly amountUsdc: number;
  /** The hold's or the bonus escrow's key. */
  readonly creationKey: string;
  /** Which API the escrow was created on (told by the creation record's request). */
  readonly profile: 'gateway' | 'services';
  /** True when the ledger already had the release: nothing was sent by this run. */
  readonly repeated: boolean;
  /** The escrow was found released before (a 409 read back). */
  readonly releasedBefore: boolean;
  readonly httpStatus?: number;
  readonly error?: string;
  readonly response?: { readonly [key: string]: unknown };
  /** Who decided the release and why, as its record keeps it (an earlier release's, when `repeated`). */
  readonly decision?: ActionDecision;
  /** The release record's state and last change. */
  readonly recordState?: LedgerState;
  readonly recordedAt?: string;
}

/** A release this command will not make (the creation is not settled, or created nothing): one line, exit code 1. */
export class ReleaseRefusedError extends Error {
  override readonly name = 'ReleaseRefusedError';
}

/**
 * Releases the escrow of the SUCCEEDED hold or bonus escrow `creationKey`, once. Refuses (ReleaseRefusedError)
 * when there is no such record, when its creation is not settled (UNKNOWN, in flight: resolve or wait first) or
 * when it created nothing (REJECTED). The connection's key is read before anything is claimed, unless the ledger
 * already holds the release (a repeat needs no key: it sends nothing).
 */
export async function releaseByHand(request: ReleaseRequest, deps: ReleaseDeps): Promise<ReleaseResult> {
  const now = deps.now ?? Date.now;
  const creation = await creationRecord(request.creationKey, deps);
  const { escrowId, amountUsdc } = escrowOf(creation, now());
  const profile = creation.request?.counterparty_agent_id !== undefined ? 'services' : 'gateway';
  const actionKey = releaseActionKey(escrowId);

  const credentials = new SecretKey(deps.secrets, request.purpleFlea.secret, request.purpleFlea.keyField);
  const client =
    profile === 'services'
      ? new PurpleFleaClient({ services: { escrow: { baseUrl: request.purpleFlea.escrowUrl, credentials } } })
      : new PurpleFleaClient({ baseUrl: request.purpleFlea.baseUrl, credentials });
  const api = profile === 'services' ? SERVICES_PROFILE : GATEWAY_PROFILE;

  // A key that cannot be read fails here, before the release is claimed (the record would say REJECTED, not sent).
  const existing = await deps.ledger.get(actionKey);
  if (existing === undefined || existing.state === 'REJECTED') await credentials.get();

  const decision: ActionDecision = { by: request.by, reason: request.reason, source: OPERATOR_DECISION_SOURCE };
  const report = await new MoneyPath(deps.ledger, client, now).executeOnce(
    { ...escrowReleaseAction(api, client, { escrowId, amountUsdc }), decision },
    { deadline: now() + RELEASE_DEADLINE_MS },
  );
  // What the ledger keeps of the release now: the decision recorded with its claim (ours, or an earlier one's).
  const record = await deps.ledger.get(actionKey);
  return {
    status: report.status,
    actionKey,
    escrowId,
    amountUsdc: record?.amountUsdc ?? amountUsdc,
    creationKey: request.creationKey,
    profile,
    repeated: report.repeated,
    releasedBefore: report.status === 'SUCCEEDED' && report.response?.released_before === true,
    httpStatus: report.httpStatus,
    error: report.error,
    response: report.response,
    decision: record?.decision,
    recordState: record?.state,
    recordedAt: record?.updatedAt,
  };
}

async function creationRecord(creationKey: string, deps: ReleaseDeps): Promise<LedgerRecord> {
  try {
    return await deps.operator.show(creationKey);
  } catch (error) {
    if (!(error instanceof ActionNotFoundError)) throw error;
    throw new ReleaseRefusedError(
      `no action '${creationKey}' in ledger table '${deps.tableName}': no ${kindName(creationKey)} was recorded under this key, so there is nothing to release (list --kind ${actionKindOf(creationKey)} lists them)`,
    );
  }
}

/** The escrow a settled creation made, or why there is none to release. */
function escrowOf(creation: LedgerRecord, now: number): { escrowId: string; amountUsdc: number } {
  const what = `the ${kindName(creation.actionKey)} '${creation.actionKey}'`;
  switch (creation.state) {
    case 'SUCCEEDED': {
      const escrowId = referenceOf(actionKindOf(creation.actionKey), creation.response);
      const amountUsdc = creation.amountUsdc;
      if (escrowId === undefined || typeof amountUsdc !== 'number' || !(amountUsdc > 0)) {
        throw new ReleaseRefusedError(
          `${what} is SUCCEEDED, but its record has no ${escrowId === undefined ? 'escrow id' : 'amount'}: this command cannot tell what to release (show it)`,
        );
      }
      return { escrowId, amountUsdc };
    }
    case 'UNKNOWN':
      throw new ReleaseRefusedError(
        `${what} is UNKNOWN: its escrow may or may not exist; resolve it first with resolve (after checking at Purple Flea: show --check), then release it`,
      );
    case 'REJECTED':
      throw new ReleaseRefusedError(
        `${what} is REJECTED (${creation.error ?? 'no reason recorded'}): no escrow was created, nothing to release`,
      );
    case 'SENDING':
      throw new ReleaseRefusedError(
        creation.leaseExpiresAt < now
          ? `${what} is SENDING with an expired lease (its sender died): UNKNOWN in effect; resolve it first with resolve, then release it`
          : `${what} is SENDING: its creation is in flight; release it once it is SUCCEEDED (show it)`,
      );
    default:
      throw new ReleaseRefusedError(
        `${what} is ${String(creation.state)}: its creation has not been sent yet; release it once it is SUCCEEDED (show it)`,
      );
  }
}

function kindName(actionKey: string): string {
  return actionKindOf(actionKey) === ACTION_KINDS.hold ? 'hold' : 'bonus escrow';
}

/**
 * The connection's key, read from its secret as the connection reads it: a JSON object's `field`, or the whole
 * string when it is not JSON. Read once (and again after a 401, for a rotated key); errors name the secret and
 * the field, never a value.
 */
class SecretKey implements CredentialsProvider {
  private cached?: Promise<PurpleFleaCredentials>;

  constructor(
    private readonly secrets: SecretsManagerClient,
    private readonly secretId: string,
    private readonly field: string,
  ) {}

  get(): Promise<PurpleFleaCredentials> {
    this.cached ??= this.read();
    return this.cached;
  }

  refresh(): Promise<PurpleFleaCredentials> {
    this.cached = this.read();
    return this.cached;
  }

  private async read(): Promise<PurpleFleaCredentials> {
    let secretString: string | undefined;
    try {
      ({ SecretString: secretString } = await this.secrets.send(new GetSecretValueCommand({ SecretId: this.secretId })));
    } catch (error) {
      throw new ReleaseRefusedError(`could not read secret '${this.secretId}': ${(error as Error).name}`);
    }
    const text = (secretString ?? '').trim();
    if (text.startsWith('{')) {
      try {
        return { apiKey: keyFromSecret(text, this.secretId, this.field) };
      } catch (error) {
        if (error instanceof CheckError) throw new ReleaseRefusedError(error.message);
        throw error;
      }
    }
    if (text === '') throw new ReleaseRefusedError(`secret '${this.secretId}' is empty`);
    return { apiKey: text };
  }
}
