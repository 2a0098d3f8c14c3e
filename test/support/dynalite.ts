/**
 * The ledger's DynamoDB, locally: dynalite is a real DynamoDB-protocol server (in memory, on loopback).
 * It has no transactions (TransactWriteItems), so the ledger must not rely on them.
 */
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LEDGER_ATTENTION_INDEX, LEDGER_PARTITION_KEY } from '../../lib/private/contracts/ledger-schema';
import { FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY } from './aws-env';

interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}
// dynalite ships no types; it returns a plain (not yet listening) http.Server.
const dynalite = require('dynalite') as (options: DynaliteOptions) => http.Server;

export interface DynaliteServer {
  /** http://127.0.0.1:PORT, for AWS_ENDPOINT_URL_DYNAMODB or a client's `endpoint`. */
  readonly endpoint: string;
  /** The underlying (listening) server, for callers that watch it, e.g. count its 'request' events. */
  readonly server?: http.Server;
  close(): Promise<void>;
}

export async function startDynalite(): Promise<DynaliteServer> {
  // Tables become ACTIVE at once instead of after dynalite's default 500 ms.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((err?: Error) => (err ? reject(err) : resolve()));
        // Keep-alive sockets of SDK clients would otherwise hold close() open.
        server.closeAllConnections();
      })),
  };
}

/** A DynamoDB client of the local server, with the fake test credentials. */
export function dynaliteClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: FAKE_ACCESS_KEY_ID, secretAccessKey: FAKE_SECRET_ACCESS_KEY },
  });
}

/**
 * A client of the local server that counts the UpdateItem calls it makes, by key, and fails the first
 * one on `failOnceOn` (when given) before sending it, as a dropped connection would: nothing is written.
 */
export function instrumentedDynaliteClient(endpoint: string, failOnceOn?: string): { client: DynamoDBClient; updatedKeys: string[] } {
  const client = dynaliteClient(endpoint);
  const updatedKeys: string[] = [];
  let failed = failOnceOn === undefined;
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { UpdateExpression?: string; Key?: { [name: string]: unknown } };
      if (input.UpdateExpression !== undefined) {
        // Plain or marshalled ({S: ...}), depending on where the document client is in its stack.
        const key = input.Key?.[LEDGER_PARTITION_KEY] as string | { S: string } | undefined;
        const keyText = typeof key === 'string' ? key : (key?.S ?? '');
        if (!failed && keyText === failOnceOn) {
          failed = true;
          throw Object.assign(new Error('socket hang up (injected)'), { name: 'TimeoutError' });
        }
        updatedKeys.push(keyText);
      }
      return next(args);
    },
    { step: 'initialize', name: 'instrumentUpdates' },
  );
  return { client, updatedKeys };
}

/** Creates the ledger table (partition key LEDGER_PARTITION_KEY, string, on-demand) and waits until ACTIVE. */
export async function createLedgerTable(endpoint: string, tableName: string, withAttentionIndex = true): Promise<void> {
  const client = dynaliteClient(endpoint);
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: LEDGER_PARTITION_KEY, AttributeType: 'S' },
          ...(withAttentionIndex
            ? [
                { AttributeName: LEDGER_ATTENTION_INDEX.partitionKey, AttributeType: 'S' as const },
                { AttributeName: LEDGER_ATTENTION_INDEX.sortKey, AttributeType: 'N' as const },
              ]
            : []),
        ],
        KeySchema: [{ AttributeName: LEDGER_PARTITION_KEY, KeyType: 'HASH' }],
        // As PurpleFleaConnection creates it (test/constructs/purpleflea-connection.test.ts checks the construct's side).
        GlobalSecondaryIndexes: withAttentionIndex
          ? [
              {
                IndexName: LEDGER_ATTENTION_INDEX.indexName,
                KeySchema: [
                  { AttributeName: LEDGER_ATTENTION_INDEX.partitionKey, KeyType: 'HASH' },
                  { AttributeName: LEDGER_ATTENTION_INDEX.sortKey, KeyType: 'RANGE' },
                ],
                Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...LEDGER_ATTENTION_INDEX.projected] },
              },
            ]
          : undefined,
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // Poll quickly ourselves: the SDK waiter sleeps 20 s between attempts.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') return;
      if (Date.now() > deadline) throw new Error(`table ${tableName} not ACTIVE after 10 s (${Table?.TableStatus})`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    client.destroy();
  }
}

/** A dynalite server holding a ledger table, and a client of it: one test file's ledger. */
export interface LocalLedger {
  readonly dynamo: DynaliteServer;
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

export async function startLocalLedger(tableName: string): Promise<LocalLedger> {
  const dynamo = await startDynalite();
  await createLedgerTable(dynamo.endpoint, tableName);
  const client = dynaliteClient(dynamo.endpoint);
  return {
    dynamo,
    client,
    close: async () => {
      client.destroy();
      await dynamo.close();
    },
  };
}

/** Where a write of the ledger goes: its key, and whether it adds to a counter or changes an action. */
export interface LedgerWrite {
  readonly key: string;
  readonly expression: string;
}

/**
 * A client of the local server whose writes pass through `around`: it may wait before a write goes
 * out (to force an interleaving) and may lose the answer of a write that was applied (as a timeout
 * after the SDK's retries does). `around` gets the write and a function that sends it.
 */
export function interceptedDynaliteClient(
  endpoint: string,
  around: (write: LedgerWrite, send: () => Promise<unknown>) => Promise<unknown>,
): DynamoDBClient {
  const client = dynaliteClient(endpoint);
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { UpdateExpression?: string; Key?: { [name: string]: unknown } };
      if (input.UpdateExpression === undefined) return next(args);
      const key = input.Key?.[LEDGER_PARTITION_KEY] as string | { S: string } | undefined;
      const write = { key: typeof key === 'string' ? key : (key?.S ?? ''), expression: input.UpdateExpression };
      return (await around(write, () => next(args))) as Awaited<ReturnType<typeof next>>;
    },
    { step: 'initialize', name: 'interceptWrites' },
  );
  return client;
}

/** The error a write whose answer never came back ends in, once the SDK's retries are spent. */
export function lostAnswerError(): Error {
  return Object.assign(new Error('socket hang up after the request was sent (injected)'), { name: 'TimeoutError' });
}
