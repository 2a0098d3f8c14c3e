import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ACTION_KINDS, ActionKind, actionKeyPrefix } from './contracts/action-keys';
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
 * Whether a handler taking actions of these kinds trades (every kind, when none are named): only such a
 * handler may read the services profile's trading key secret, and is told where the trading key is.
 */
export function tradesWith(kinds?: readonly ActionKind[]): boolean {
  return kinds === undefined || kinds.includes(ACTION_KINDS.trade);
}

/**
 * Lets a handler take actions through the connection: read the API-key secret (and, for a handler that
 * trades, the services profile's trading key secret, when there is one), and read and update single ledger
 * records (and use the ledger's customer managed key, if any). With `kinds`, only the records whose keys are
 * of those kinds (`dynamodb:LeadingKeys`): the construct's own. A secret encrypted with a customer managed key
 * is granted with its key (aws-cdk-lib's grantRead: decrypt through Secrets Manager).
 */
export function grantActionAccess(connection: PurpleFleaConnection, grantee: iam.IGrantable, kinds?: readonly ActionKind[]): iam.Grant {
  let grant = grantSecretRead(connection.apiKeySecret, grantee).combine(
    grantLedgerRecords(connection, grantee, LEDGER_ACTION_ACTIONS, kinds),
  );
  if (connection.tradingKeySecret !== undefined && tradesWith(kinds)) {
    grant = grant.combine(grantSecretRead(connection.tradingKeySecret, grantee));
  }
  // An existing table encrypted with a customer managed key also needs the key.
  if (connection.ledgerTable.encryptionKey) {
    grant = grant.combine(connection.ledgerTable.encryptionKey.grantEncryptDecrypt(grantee));
  }
  return grant;
}

/**
 * Reading a secret, and decrypting it with its customer managed key if it has one, through Secrets Manager
 * only. aws-cdk-lib's grantRead grants the key of a secret created in the app, but not of an imported one
 * (`Secret.fromSecretAttributes({ encryptionKey })`): the statement is added to the grantee here (the same
 * statement, when aws-cdk-lib adds it too, appears once).
 */
export function grantSecretRead(secret: secretsmanager.ISecret, grantee: iam.IGrantable): iam.Grant {
  const grant = secret.grantRead(grantee);
  const key = secret.encryptionKey;
  if (key === undefined) return grant;
  return grant.combine(
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:Decrypt'],
      resourceArns: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(secret).region}.amazonaws.com` } },
    }),
  );
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

function grantLedgerRecords(
  connection: PurpleFleaConnection,
  grantee: iam.IGrantable,
  actions: string[],
  kinds?: readonly ActionKind[],
): iam.Grant {
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

/**
 * Lets a handler that only reads the trading service (TradingPnl) read the services profile's trading key: the
 * connection's `tradingKeySecret`, else its `apiKeySecret` (where the trading key's fields then are). Nothing of
 * the ledger.
 */
export function grantTradingKeyRead(connection: PurpleFleaConnection, grantee: iam.IGrantable): iam.Grant {
  return grantSecretRead(connection.tradingKeySecret ?? connection.apiKeySecret, grantee);
}
