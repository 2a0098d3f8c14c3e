import * as iam from 'aws-cdk-lib/aws-iam';
import { ActionKind, actionKeyPrefix } from './contracts/action-keys';
import type { PurpleFleaConnection } from '../purpleflea-connection';

/**
 * What the money path does to the ledger (lambda/shared/action-ledger.ts): it reads single records
 * (consistently) and changes them with conditional updates, which also create them. Nothing puts,
 * deletes, queries or scans.
 */
export const LEDGER_ACTION_ACTIONS = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];
/** What reading a run's unsettled rows does (Summarize): single records, never written. */
export const LEDGER_READ_ACTIONS = ['dynamodb:GetItem'];

/**
 * Lets a handler take actions through the connection: read the one API-key secret, and read and update
 * single ledger records (and use the ledger's customer managed key, if any). With `kinds`, only the
 * records whose keys are of those kinds (`dynamodb:LeadingKeys`): the construct's own.
 */
export function grantActionAccess(connection: PurpleFleaConnection, grantee: iam.IGrantable, kinds?: readonly ActionKind[]): iam.Grant {
  let grant = connection.apiKeySecret
    .grantRead(grantee)
    .combine(grantLedgerRecords(connection, grantee, LEDGER_ACTION_ACTIONS, kinds));
  // An existing table encrypted with a customer managed key also needs the key.
  if (connection.ledgerTable.encryptionKey) {
    grant = grant.combine(connection.ledgerTable.encryptionKey.grantEncryptDecrypt(grantee));
  }
  return grant;
}

/**
 * Lets a handler read single ledger records of its construct's kinds, never write them: no secret, no
 * UpdateItem (and only decrypt with the ledger's customer managed key, if any).
 */
export function grantLedgerRead(connection: PurpleFleaConnection, grantee: iam.IGrantable, kinds: readonly ActionKind[]): iam.Grant {
  const grant = grantLedgerRecords(connection, grantee, LEDGER_READ_ACTIONS, kinds);
  const key = connection.ledgerTable.encryptionKey;
  return key ? grant.combine(key.grantDecrypt(grantee)) : grant;
}

function grantLedgerRecords(connection: PurpleFleaConnection, grantee: iam.IGrantable, actions: string[], kinds?: readonly ActionKind[]): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions,
    resourceArns: [connection.ledgerTable.tableArn],
    conditions: kinds === undefined ? undefined : ownKeysOnly(kinds),
  });
}

/**
 * Every key the request touches starts with one of the kinds' prefixes. GetItem and UpdateItem always
 * name one key, so `ForAllValues` cannot be met by an empty set of keys.
 */
function ownKeysOnly(kinds: readonly ActionKind[]): { [operator: string]: any } {
  if (kinds.length === 0) throw new Error('a ledger grant limited to its kinds of keys needs at least one kind');
  return { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': kinds.map((kind) => `${actionKeyPrefix(kind)}*`) } };
}
