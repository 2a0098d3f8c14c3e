/**
 * The stand-ins' own process, forked by bench/stand-ins.ts: the Purple Flea sandbox, the fake AWS
 * endpoints and dynalite (with the ledger table), so the time they spend answering runs here, on
 * another core if there is one, and not on the bench process's thread next to the handler.
 *
 * Over the IPC channel (messages in bench/stand-ins-protocol.ts) it sends `ready` with its addresses
 * once listening, answers `counts` with its totals, and on `close` closes the servers and exits.
 * It exits too when the bench process goes away (the channel disconnects).
 */
import * as http from 'node:http';
import { createLedgerTable, startDynalite } from '../test/support/dynalite';
import { FakeAws } from '../test/support/fake-aws';
import { PurpleFleaSandbox, SANDBOX_API_KEY, TRADING_ORDER_PATH } from '../test/support/purpleflea-sandbox';
import { AGENT_ID, ENDPOINT, LEDGER_TABLE, MODEL_ANSWER, SECRET_NAME } from './scenario';
import type { Counts, FromStandIns, ToStandIns } from './stand-ins-protocol';

function send(message: FromStandIns): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) throw new Error('no IPC channel');
    process.send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * FakeAws and PurpleFleaSandbox keep their http.Server private (a LoopbackServer in `server`, whose
 * own `server` is the http.Server); the bench only listens to its 'connection' events.
 */
function innerServer(standIn: FakeAws | PurpleFleaSandbox, name: string): http.Server {
  const server = (standIn as unknown as { server?: { server?: unknown } }).server?.server;
  if (!(server instanceof http.Server)) throw new Error(`cannot find the http.Server of ${name} to count its connections`);
  return server;
}

function countEvents(server: http.Server, event: 'connection' | 'request'): () => number {
  let count = 0;
  server.on(event, () => {
    count += 1;
  });
  return () => count;
}

async function main(): Promise<void> {
  if (!process.send)
    throw new Error('bench/stand-ins-process.ts runs as a child_process.fork() of the bench (bench/stand-ins.ts), not on its own');
  const [sandbox, aws, dynamo] = await Promise.all([PurpleFleaSandbox.start(), FakeAws.start(), startDynalite()]);
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= Promise.all([sandbox.close(), aws.close(), dynamo.close()]).then(() => undefined));
  // The bench process is gone (or disconnected): nothing left to answer.
  process.on('disconnect', () => void close().finally(() => process.exit(0)));

  if (!dynamo.server) throw new Error('startDynalite() returned no server to count requests on');
  await createLedgerTable(dynamo.endpoint, LEDGER_TABLE);
  aws.setEndpointHandler(ENDPOINT, () => ({ body: MODEL_ANSWER, contentType: 'application/json' }));
  const { arn } = aws.setSecret(SECRET_NAME, JSON.stringify({ key: SANDBOX_API_KEY, agent_id: AGENT_ID }));

  // Counted from here on: the table creation above is not a round trip of the handler.
  const dynamoRequests = countEvents(dynamo.server, 'request');
  const awsConnections = countEvents(innerServer(aws, 'FakeAws'), 'connection');
  const dynamoConnections = countEvents(dynamo.server, 'connection');
  const purplefleaConnections = countEvents(innerServer(sandbox, 'PurpleFleaSandbox'), 'connection');

  const counts = (): Counts => {
    const cpu = process.cpuUsage();
    const operations = aws.operations;
    const invokeEndpoint = operations.filter((op) => op === 'InvokeEndpoint').length;
    const getSecretValue = operations.filter((op) => op === 'GetSecretValue').length;
    return {
      invokeEndpoint,
      getSecretValue,
      otherAws: operations.length - invokeEndpoint - getSecretValue,
      dynamodb: dynamoRequests(),
      purpleflea: sandbox.calls.length,
      orders: sandbox.committed(TRADING_ORDER_PATH).length,
      awsConnections: awsConnections(),
      dynamoConnections: dynamoConnections(),
      purplefleaConnections: purplefleaConnections(),
      cpuMicros: cpu.user + cpu.system,
    };
  };

  process.on('message', (message: ToStandIns) => {
    switch (message.type) {
      case 'counts':
        void send({ type: 'counts', id: message.id, counts: counts() });
        return;
      case 'close':
        void close().finally(() => process.exit(0));
        return;
    }
  });

  await send({
    type: 'ready',
    addresses: { awsUrl: aws.url, dynamoEndpoint: dynamo.endpoint, sandboxUrl: sandbox.baseUrl, secretArn: arn },
  });
}

main().catch(async (error: unknown) => {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`stand-ins process failed: ${message}\n`);
  try {
    await send({ type: 'failed', message });
  } finally {
    process.exit(1);
  }
});
