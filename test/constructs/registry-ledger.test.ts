/**
 * `sellerFrom` and `agentsFrom` read the ModelAgents registry from their own connection's ledger, so the registry must
 * be in that table: a ModelAgents on a connection with another ledger table is a synth error naming the prop and both
 * tables (at run time every read would be denied, every bonus waiting, every row refused). One table reached through
 * two connections (the same table object, or one name imported twice) is fine.
 */
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Stack } from 'aws-cdk-lib';
import { BatchPayout, FraudHoldEscrow, ModelAgents, PurpleFleaApi, PurpleFleaConnection, TrainingBonusEscrow } from '../../lib';
import { newStack } from './fixtures';

function servicesConnection(stack: Stack, id: string, ledgerTable?: dynamodb.ITable): PurpleFleaConnection {
  return new PurpleFleaConnection(stack, id, {
    api: PurpleFleaApi.services(),
    apiKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, `${id}Key`, 'PurpleFleaCasinoKey'),
    ledgerTable,
  });
}

const readers: [string, string, (stack: Stack, connection: PurpleFleaConnection, agents: ModelAgents) => unknown][] = [
  [
    'TrainingBonusEscrow',
    'sellerFrom',
    (stack, connection, agents) => new TrainingBonusEscrow(stack, 'X', { connection, sellerFrom: agents }),
  ],
  ['BatchPayout', 'agentsFrom', (stack, connection, agents) => new BatchPayout(stack, 'X', { connection, agentsFrom: agents })],
  ['FraudHoldEscrow', 'agentsFrom', (stack, connection, agents) => new FraudHoldEscrow(stack, 'X', { connection, agentsFrom: agents })],
];

test("ModelAgents' registryTable is its connection's ledger table", () => {
  const stack = newStack();
  const connection = servicesConnection(stack, 'PurpleFlea');
  expect(new ModelAgents(stack, 'Agents', { connection }).registryTable).toBe(connection.ledgerTable);
});

describe.each(readers)('%s %s', (name, prop, create) => {
  test('on a connection with another new ledger table: a synth error naming the prop and both tables', () => {
    const stack = newStack();
    const agents = new ModelAgents(stack, 'Agents', { connection: servicesConnection(stack, 'AgentsConnection') });
    expect(() => create(stack, servicesConnection(stack, 'PaymentsConnection'), agents)).toThrow(
      `${name} 'X': ${prop}: the ModelAgents 'Agents' keeps its registry in ledger table ` +
        `${stack.stackName}/AgentsConnection/Ledger, and connection uses ${stack.stackName}/PaymentsConnection/Ledger: give ` +
        'both the same PurpleFleaConnection (or the same ledgerTable), or the registry cannot be read',
    );
  });

  test('on a connection importing another table by name: the error names both tables', () => {
    const stack = newStack();
    const agentsLedger = dynamodb.Table.fromTableName(stack, 'AgentsLedger', 'agents-ledger');
    const paymentsLedger = dynamodb.Table.fromTableName(stack, 'PaymentsLedger', 'payments-ledger');
    const agents = new ModelAgents(stack, 'Agents', { connection: servicesConnection(stack, 'AgentsConnection', agentsLedger) });
    expect(() => create(stack, servicesConnection(stack, 'PaymentsConnection', paymentsLedger), agents)).toThrow(
      `${prop}: the ModelAgents 'Agents' keeps its registry in ledger table agents-ledger, and connection uses payments-ledger`,
    );
  });

  test('one table through two connections (one object, or one name imported twice), or one connection: no error', () => {
    const sameObject = newStack('SameObject');
    const shared = dynamodb.Table.fromTableName(sameObject, 'Shared', 'purpleflea-ledger');
    const agents = new ModelAgents(sameObject, 'Agents', { connection: servicesConnection(sameObject, 'A', shared) });
    expect(() => create(sameObject, servicesConnection(sameObject, 'B', shared), agents)).not.toThrow();

    const sameName = newStack('SameName');
    const first = dynamodb.Table.fromTableName(sameName, 'First', 'purpleflea-ledger');
    const second = dynamodb.Table.fromTableName(sameName, 'Second', 'purpleflea-ledger');
    const agentsByName = new ModelAgents(sameName, 'Agents', { connection: servicesConnection(sameName, 'A', first) });
    expect(() => create(sameName, servicesConnection(sameName, 'B', second), agentsByName)).not.toThrow();

    const oneConnection = newStack('OneConnection');
    const connection = servicesConnection(oneConnection, 'PurpleFlea');
    expect(() => create(oneConnection, connection, new ModelAgents(oneConnection, 'Agents', { connection }))).not.toThrow();
  });
});
