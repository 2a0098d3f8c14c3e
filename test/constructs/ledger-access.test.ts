import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import {
  agentActionKey,
  dailyNotionalKey,
  domainActionKey,
  escrowActionKey,
  faucetActionKey,
  holdActionKey,
  holdActionKeyByPosition,
  payoutActionKey,
  tradeActionKey,
} from '../../lambda/shared/action-keys';
import { ACTION_KINDS, CONSTRUCT_ACTION_KINDS, actionKeyPrefix } from '../../lib/private/contracts/action-keys';
import { grantActionAccess, grantLedgerRead } from '../../lib/private/ledger-access';
import { logicalIdOf, newConnection, newStack, sortStatements } from './fixtures';

/**
 * Finding 10: the constructs' roles may touch only their own kinds of ledger keys. The prefixes the
 * grants name (dynamodb:LeadingKeys) are the ones the handlers build their keys from.
 */
describe('the ledger keys and the grants share one contract', () => {
  test.each([
    ['a trade', tradeActionKey('arn:aws:events:eu-west-1:123456789012:rule/r', 'e-1'), ACTION_KINDS.trade],
    ['a daily cap counter', dailyNotionalKey('c8abc', new Date('2026-11-28T10:00:00Z')), ACTION_KINDS.dailyNotional],
    ['an escrow', escrowActionKey('arn:aws:sagemaker:eu-west-1:123456789012:training-job/churn-1'), ACTION_KINDS.escrow],
    ['a payout', payoutActionKey('scores', 'scores/a.csv', 'etag', 'agt_bob'), ACTION_KINDS.payout],
    ['a hold', holdActionKey('tx-001'), ACTION_KINDS.hold],
    ['a hold without a transaction id', holdActionKeyByPosition('records', 'r.jsonl', 'etag', 3), ACTION_KINDS.hold],
    ['a model agent', agentActionKey('arn:aws:sagemaker:eu-west-1:123456789012:training-job/churn-1'), ACTION_KINDS.agent],
    ['a faucet claim', faucetActionKey('ag_0123456789ab'), ACTION_KINDS.faucet],
    ['a domain registration', domainActionKey('Churn-1.Agents.Example.com'), ACTION_KINDS.domain],
  ])("%s key starts with its kind's prefix", (_name, key, kind) => {
    expect(key.startsWith(actionKeyPrefix(kind))).toBe(true);
  });

  test('the prefixes are the documented, versioned ones (a changed key would pay again)', () => {
    expect(Object.values(ACTION_KINDS).map(actionKeyPrefix)).toEqual([
      'v1:trade:',
      'v1:daily-notional:',
      'v1:escrow:',
      'v1:payout:',
      'v1:hold:',
      'v1:release:',
      'v1:dispute:',
      'v1:agent:',
      'v1:faucet:',
      'v1:domain:',
    ]);
    expect(domainActionKey(' Churn-1.Agents.Example.COM ')).toBe('v1:domain:churn-1.agents.example.com');
    // Unchanged keys: the handlers' keys before the prefixes moved into the contract.
    expect(tradeActionKey('arn:r', 'e-1')).toBe('v1:trade:arn:r:e-1');
    expect(dailyNotionalKey('c8abc', new Date('2026-11-28T23:59:59Z'))).toBe('v1:daily-notional:c8abc:2026-11-28');
    expect(holdActionKeyByPosition('b', 'k', 'e', 7)).toBe('v1:hold:b/k:e:7');
  });

  test("each construct has its own kinds: only release is shared, so no role reaches another construct's records of money sent", () => {
    const kinds = Object.values(CONSTRUCT_ACTION_KINDS).flat();
    // A release is keyed by the escrow id Purple Flea gave (unique across constructs), and releasing a released
    // escrow moves nothing (a 409, read back): both release functions use the one kind.
    const notRelease = kinds.filter((kind) => kind !== ACTION_KINDS.release);
    expect(new Set(notRelease).size).toBe(notRelease.length);
    expect([...new Set(kinds)].sort()).toEqual(Object.values(ACTION_KINDS).sort());
  });
});

describe("the constructs' ledger grants", () => {
  function grant(encrypted: boolean, grantTo: (connection: ReturnType<typeof newConnection>, role: iam.Role) => void) {
    const stack = newStack();
    const key = encrypted ? new kms.Key(stack, 'LedgerKey') : undefined;
    const connection = newConnection(stack, {
      ledgerTable: key ? dynamodb.Table.fromTableAttributes(stack, 'Ledger', { tableName: 'my-ledger', encryptionKey: key }) : undefined,
    });
    const role = new iam.Role(stack, 'Grantee', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    grantTo(connection, role);
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
      (p: any) => p.Properties.PolicyDocument.Statement,
    );
    return { statements: sortStatements(statements), connection, key };
  }

  test("acting: GetItem and UpdateItem, only on the given kinds' keys", () => {
    const { statements, connection } = grant(false, (c, role) =>
      grantActionAccess(c, role, [ACTION_KINDS.trade, ACTION_KINDS.dailyNotional]),
    );
    expect(statements.filter((s) => JSON.stringify(s.Action).includes('dynamodb:'))).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: { 'Fn::GetAtt': [logicalIdOf(connection.ledgerTable), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:trade:*', 'v1:daily-notional:*'] } },
      },
    ]);
  });

  test("reading: GetItem only, on the given kinds' keys, and no secret", () => {
    const { statements, connection } = grant(false, (c, role) => grantLedgerRead(c, role, [ACTION_KINDS.payout]));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: { 'Fn::GetAtt': [logicalIdOf(connection.ledgerTable), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:payout:*'] } },
      },
    ]);
  });

  test('a ledger with a customer managed key: acting may encrypt and decrypt with it, reading only decrypt', () => {
    const kmsOf = (statements: any[]) => statements.filter((s) => JSON.stringify(s.Action).includes('kms:'));
    const acting = grant(true, (c, role) => grantActionAccess(c, role, [ACTION_KINDS.escrow]));
    expect(kmsOf(acting.statements)).toEqual([
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
        Resource: { 'Fn::GetAtt': [logicalIdOf(acting.key!), 'Arn'] },
      },
    ]);
    const reading = grant(true, (c, role) => grantLedgerRead(c, role, [ACTION_KINDS.hold]));
    expect(kmsOf(reading.statements)).toEqual([
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [logicalIdOf(reading.key!), 'Arn'] } },
    ]);
  });

  test('a grant limited to no kind at all is refused (a construct without a kind is a mistake)', () => {
    expect(() => grant(false, (c, role) => grantActionAccess(c, role, []))).toThrow(/needs at least one kind/);
  });
});
