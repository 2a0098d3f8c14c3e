/**
 * Runs a bundled handler (the file in assets/, as Lambda loads it) against the local stand-ins:
 * the Purple Flea sandbox, the fake AWS endpoints for the real SDK clients, and dynalite.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { connectionEnvironment, ConnectionSettings } from '../../lib/private/contracts/connection-env';
import { LEDGER_PARTITION_KEY } from '../../lib/private/contracts/ledger-schema';
import { applyEnvironment, awsTestEnvironment } from '../support/aws-env';
import { createLedgerTable, DynaliteServer, dynaliteClient, startDynalite } from '../support/dynalite';
import { FakeAws } from '../support/fake-aws';
import { FakeS3 } from '../support/fake-s3';
import { PurpleFleaSandbox, SANDBOX_API_KEY } from '../support/purpleflea-sandbox';

export const SECRET_NAME = 'PurpleFleaApiKey';
export const AGENT_ID = 'agt_sagemaker_trader';
export const LEDGER_TABLE = 'ActionLedger';

/**
 * The rate-limit window the handlers under test wait out after a 429: the sandboxes' injected 429s are faults,
 * not full windows, and waiting a real minute after each would only slow the tests. A test of the window itself
 * (rate-window.handler.test.ts) gives the sandbox and the handler the same window.
 */
export const INJECTED_429_WINDOW_MS = 50;

export interface Harness {
  readonly sandbox: PurpleFleaSandbox;
  readonly aws: FakeAws;
  readonly s3: FakeS3;
  readonly dynamo: DynaliteServer;
  readonly secretArn: string;
  /** Connection settings pointing at the stand-ins; a test may override fields. */
  readonly connection: ConnectionSettings;
  readonly ledger: DynamoDBDocumentClient;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const [sandbox, aws, s3, dynamo] = await Promise.all([PurpleFleaSandbox.start(), FakeAws.start(), FakeS3.start(), startDynalite()]);
  await createLedgerTable(dynamo.endpoint, LEDGER_TABLE);
  const { arn } = aws.setSecret(SECRET_NAME, JSON.stringify({ key: SANDBOX_API_KEY, agent_id: AGENT_ID }));
  const restoreEnv = applyEnvironment({
    ...awsTestEnvironment(aws.url, dynamo.endpoint, s3.url),
    POWERTOOLS_METRICS_NAMESPACE: 'PurpleFlea/SageMaker',
    AWS_LAMBDA_FUNCTION_NAME: 'test-function',
  });
  const ledger = DynamoDBDocumentClient.from(dynaliteClient(dynamo.endpoint));
  return {
    sandbox,
    aws,
    s3,
    dynamo,
    secretArn: arn,
    ledger,
    connection: {
      secretArn: arn,
      apiKeyField: 'key',
      agentIdField: 'agent_id',
      baseUrl: sandbox.baseUrl,
      ledgerTableName: LEDGER_TABLE,
      requestTimeoutMs: 1_000,
      rateLimitWindowMs: INJECTED_429_WINDOW_MS,
    },
    async close() {
      ledger.destroy();
      await Promise.all([sandbox.close(), aws.close(), s3.close(), dynamo.close()]);
      restoreEnv();
    },
  };
}

export function handlerEnvironment(harness: Harness, handlerEnv: { [name: string]: string }, connection?: Partial<ConnectionSettings>) {
  return { ...connectionEnvironment({ ...harness.connection, ...connection }), ...handlerEnv };
}

/**
 * (The SDK inside the bundle does `await import("node:http")`: jest runs it only with
 * --experimental-vm-modules, which the test script sets.)
 *
 * Loads a fresh copy of assets/<name>/index.js with `env` in process.env while its module scope
 * runs (that is where a handler reads its configuration), as a new Lambda container would.
 */
export function loadBundledHandler<T>(name: string, env: { [name: string]: string }): T {
  const restore = applyEnvironment(env);
  try {
    let loaded: T | undefined;
    jest.isolateModules(() => {
      loaded = require(bundlePath(name)) as T;
    });
    return loaded as T;
  } finally {
    // The SDK clients resolve region and credentials lazily: only the handler's own variables go.
    restore();
  }
}

export function bundlePath(name: string): string {
  return resolve(__dirname, '..', '..', 'assets', name, 'index.js');
}

export function lambdaContext(remainingMs = 30_000) {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'test-function',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test-function',
    memoryLimitInMB: '256',
    awsRequestId: `req-${Math.random().toString(16).slice(2)}`,
    logGroupName: '/aws/lambda/test-function',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

// Kept in test/support, where the handlers' unit tests read it too.
export { captureOutput } from '../support/handler-fakes';

export async function readLedger(harness: Harness, actionKey: string): Promise<{ [key: string]: any } | undefined> {
  const { Item } = await harness.ledger.send(
    new GetCommand({ TableName: LEDGER_TABLE, Key: { [LEDGER_PARTITION_KEY]: actionKey }, ConsistentRead: true }),
  );
  return Item;
}

export async function writeLedger(harness: Harness, item: { [key: string]: unknown }): Promise<void> {
  await harness.ledger.send(new PutCommand({ TableName: LEDGER_TABLE, Item: item }));
}

/**
 * Starts one invocation of the bundled handler in a separate Node process and returns the process,
 * so a test can kill it mid-call: a Lambda that timed out, or whose container died.
 */
export function startInvocationProcess(name: string, env: { [name: string]: string }, event: unknown): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'pf-invoke-'));
  const input = join(dir, 'event.json');
  writeFileSync(input, JSON.stringify(event));
  return spawn(
    process.execPath,
    [join(__dirname, 'fixtures', 'invoke-handler.cjs'), bundlePath(name), input, '1', join(dir, 'results.json')],
    {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    },
  );
}

/**
 * Invokes the bundled handler `count` times concurrently in each of `processes` separate Node
 * processes (separate containers, as Lambda would run them), all with the same event.
 */
export async function invokeInProcesses(
  name: string,
  env: { [name: string]: string },
  event: unknown,
  processes: number,
  count: number,
): Promise<{ status: string }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pf-invoke-'));
  const runs = Array.from({ length: processes }, (_, index) => {
    const output = join(dir, `results-${index}.json`);
    const input = join(dir, `event-${index}.json`);
    writeFileSync(input, JSON.stringify(event));
    return new Promise<{ status: string }[]>((resolvePromise, reject) => {
      const child = spawn(
        process.execPath,
        [join(__dirname, 'fixtures', 'invoke-handler.cjs'), bundlePath(name), input, String(count), output],
        {
          env: { ...process.env, ...env },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('exit', (code) => {
        if (code !== 0) reject(new Error(`invoke-handler exited ${code}: ${stderr}`));
        else resolvePromise(JSON.parse(readFileSync(output, 'utf8')));
      });
    });
  });
  return (await Promise.all(runs)).flat();
}
