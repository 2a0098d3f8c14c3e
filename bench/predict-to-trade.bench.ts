/**
 * `npm run bench`: the bundled PredictToTrade handler (assets/predict-to-trade/index.js, loaded as
 * Lambda loads it) against the local stand-ins (Purple Flea sandbox, fake AWS endpoints, dynalite),
 * with no added latency. Prints, in one run:
 *
 * - median and p99 per warm invocation (1,000 sequential, each a distinct event placing one order),
 *   for the handler as configured by default, with a daily cap that never binds, with logs and
 *   metrics switched off, and for a bare handler making only the seed's two calls;
 * - network round trips per warm invocation, by service, counted at the stand-ins;
 * - the bundle's cold init (require() in fresh node processes) and size;
 * - a summary against the targets of issue 2.
 *
 * Benchmarks report, they do not gate: a missed timing target never fails the run. A failed
 * invocation or a wrong round-trip count does (exit code 1).
 *
 * Plain Node (tsx), not jest: the SDK inside the bundle does `await import("node:http")`.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { connectionEnvironment, ConnectionSettings } from '../lib/private/contracts/connection-env';
import { PREDICT_TO_TRADE_METRICS, predictToTradeEnvironment, PredictToTradeSettings } from '../lib/private/contracts/predict-to-trade-env';
import { applyEnvironment, awsTestEnvironment } from '../test/support/aws-env';
import { createLedgerTable } from '../test/support/dynalite';
import { FakeAws } from '../test/support/fake-aws';
import { PurpleFleaSandbox, SANDBOX_API_KEY, TRADING_ORDER_PATH } from '../test/support/purpleflea-sandbox';

// ---------------------------------------------------------------------------------------------
// Parameters

const WARM_INVOCATIONS = 1_000;
const WARMUP_INVOCATIONS = 200;
/** The variants run interleaved, in blocks, so drift on a noisy machine hits them all alike. */
const BLOCK_SIZE = 100;
const COLD_PROCESSES = 10;

const BUNDLE = resolve(__dirname, '..', 'assets', 'predict-to-trade', 'index.js');
const ENDPOINT = 'demo-direction-model';
const MODEL_ANSWER = '{"direction":"long","confidence":0.8}';
const RULE_ARN = 'arn:aws:events:us-east-1:123456789012:rule/bench-trader';
const SECRET_NAME = 'PurpleFleaApiKey';
const AGENT_ID = 'agt_sagemaker_trader';
const LEDGER_TABLE = 'ActionLedger';
const FEATURES = { rsi: 41.5, momentum: -0.2 };
const RUN_ID = randomUUID().slice(0, 8);

/** The settings the construct writes by default (lib/predict-to-trade.ts). */
const DEFAULT_SETTINGS: PredictToTradeSettings = {
  endpointName: ENDPOINT,
  outputFormat: 'JSON',
  directionField: 'direction',
  confidenceField: 'confidence',
  directionColumn: 0,
  confidenceColumn: 1,
  confidenceThreshold: 0.6,
  orderAmountUsdc: 50,
  maxOrderAmountUsdc: 1000,
  dailyCapScope: `bench-${RUN_ID}`,
  asset: 'BTC-USDC',
  dryRun: false,
  enabled: true,
  maxSignalAgeSeconds: 300,
};

/** Never binds: (warm-up + timed) x 50 USDC stays far below it. */
const NEVER_BINDING_CAP_USDC = 1_000_000_000;

/** Issue 2, "Benchmark". */
const TARGETS = { roundTrips: 4, roundTripsWithCap: 5, medianMs: 4, p99Ms: 10, coldInitMs: 100, bundleBytes: 1024 * 1024 };

// ---------------------------------------------------------------------------------------------
// Types and small helpers

interface TradeResult {
  readonly status: string;
  readonly repeated?: boolean;
  readonly reason?: string;
}
type Handler = (event: unknown, context: unknown) => Promise<TradeResult>;

interface TradeEvent {
  readonly eventId: string;
  readonly eventTime: string;
  readonly ruleArn: string;
  readonly features: { readonly [name: string]: number };
}

let eventCounter = 0;
function tradeEvent(label: string): TradeEvent {
  eventCounter += 1;
  return { eventId: `bench-${RUN_ID}-${label}-${eventCounter}`, eventTime: new Date().toISOString(), ruleArn: RULE_ARN, features: FEATURES };
}

function lambdaContext(remainingMs = 30_000) {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'bench-function',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench-function',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/bench-function',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

class BenchFailure extends Error {
  override readonly name = 'BenchFailure';
}

interface Stats {
  readonly n: number;
  readonly median: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** Nearest-rank percentiles. */
function stats(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  return {
    n: sorted.length,
    median: rank(0.5),
    p90: rank(0.9),
    p99: rank(0.99),
    mean: sorted.reduce((sum, x) => sum + x, 0) / sorted.length,
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

const ms = (x: number, digits = 2) => x.toFixed(digits);
const nsToMs = (ns: bigint) => Number(ns) / 1e6;
const pad = (text: string, width: number) => (text.length >= width ? text : text + ' '.repeat(width - text.length));
const padStart = (text: string, width: number) => (text.length >= width ? text : ' '.repeat(width - text.length) + text);

function table(rows: readonly (readonly string[])[], rightAligned: readonly number[] = []): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  return rows
    .map((row) => '  ' + row.map((cell, col) => (rightAligned.includes(col) ? padStart(cell, widths[col]) : pad(cell, widths[col]))).join('  ').trimEnd())
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// The handler's output goes to a sink while measuring (Powertools Logger and EMF write through
// console to process.stdout/stderr): logging still costs what it costs, nothing reaches the terminal.

const sink = { bytes: 0, writes: 0 };
let restoreOutput: (() => void) | undefined;

function silenceOutput(): void {
  if (restoreOutput) return;
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const discard = ((chunk: string | Uint8Array) => {
    sink.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    sink.writes += 1;
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = discard;
  process.stderr.write = discard;
  restoreOutput = () => {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    restoreOutput = undefined;
  };
}

function unsilenceOutput(): void {
  restoreOutput?.();
}

// ---------------------------------------------------------------------------------------------
// Counting what reaches each stand-in (and how long the in-process servers spend on it)

/** Requests, new TCP connections and server-side time of one http.Server. */
class ServerMeter {
  requests = 0;
  connections = 0;
  busyNs = 0n;

  constructor(server: http.Server | undefined) {
    if (!server) return;
    server.on('connection', () => {
      this.connections += 1;
    });
    server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      this.requests += 1;
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        this.busyNs += process.hrtime.bigint() - started;
      });
    });
  }
}

/** The stand-ins keep their http.Server private; the meters only watch it (for connections and time). */
function innerServer(standIn: unknown): http.Server | undefined {
  const server = (standIn as { server?: { server?: unknown } }).server?.server;
  return server instanceof http.Server ? server : undefined;
}

interface Counts {
  readonly invokeEndpoint: number;
  readonly getSecretValue: number;
  readonly otherAws: number;
  readonly dynamodb: number;
  readonly purpleflea: number;
  readonly orders: number;
  /** New TCP connections accepted by each stand-in. */
  readonly awsConnections: number;
  readonly dynamoConnections: number;
  readonly purplefleaConnections: number;
  readonly standInNs: bigint;
}

const ZERO_COUNTS: Counts = {
  invokeEndpoint: 0, getSecretValue: 0, otherAws: 0, dynamodb: 0, purpleflea: 0, orders: 0,
  awsConnections: 0, dynamoConnections: 0, purplefleaConnections: 0, standInNs: 0n,
};

function addCounts(a: Counts, b: Counts): Counts {
  return {
    invokeEndpoint: a.invokeEndpoint + b.invokeEndpoint,
    getSecretValue: a.getSecretValue + b.getSecretValue,
    otherAws: a.otherAws + b.otherAws,
    dynamodb: a.dynamodb + b.dynamodb,
    purpleflea: a.purpleflea + b.purpleflea,
    orders: a.orders + b.orders,
    awsConnections: a.awsConnections + b.awsConnections,
    dynamoConnections: a.dynamoConnections + b.dynamoConnections,
    purplefleaConnections: a.purplefleaConnections + b.purplefleaConnections,
    standInNs: a.standInNs + b.standInNs,
  };
}

const roundTrips = (c: Counts) => c.invokeEndpoint + c.getSecretValue + c.otherAws + c.dynamodb + c.purpleflea;
const connections = (c: Counts) => c.awsConnections + c.dynamoConnections + c.purplefleaConnections;

// ---------------------------------------------------------------------------------------------
// The stand-ins

interface StandIns {
  readonly sandbox: PurpleFleaSandbox;
  readonly aws: FakeAws;
  readonly dynamoEndpoint: string;
  readonly secretArn: string;
  readonly meters: { readonly aws: ServerMeter; readonly sandbox: ServerMeter; readonly dynamo: ServerMeter };
  /** Counters since the last call (for one block of invocations). */
  snapshot(): () => Counts;
  close(): Promise<void>;
}

async function startStandIns(): Promise<StandIns> {
  // dynalite started here rather than with test/support's startDynalite(), which keeps its server
  // private: the bench must see each request to count round trips to DynamoDB.
  const dynalite = require('dynalite') as (options: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => http.Server;
  const dynamoServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolvePromise, reject) => {
    dynamoServer.once('error', reject);
    dynamoServer.listen(0, '127.0.0.1', () => {
      dynamoServer.off('error', reject);
      resolvePromise();
    });
  });
  const dynamoEndpoint = `http://127.0.0.1:${(dynamoServer.address() as AddressInfo).port}`;

  const [sandbox, aws] = await Promise.all([PurpleFleaSandbox.start(), FakeAws.start()]);
  await createLedgerTable(dynamoEndpoint, LEDGER_TABLE);
  aws.setEndpointHandler(ENDPOINT, () => ({ body: MODEL_ANSWER, contentType: 'application/json' }));
  const { arn } = aws.setSecret(SECRET_NAME, JSON.stringify({ key: SANDBOX_API_KEY, agent_id: AGENT_ID }));

  const meters = { aws: new ServerMeter(innerServer(aws)), sandbox: new ServerMeter(innerServer(sandbox)), dynamo: new ServerMeter(dynamoServer) };

  return {
    sandbox,
    aws,
    dynamoEndpoint,
    secretArn: arn,
    meters,
    snapshot() {
      const awsOps = aws.requestCount;
      const sandboxCalls = sandbox.calls.length;
      const orders = sandbox.committed(TRADING_ORDER_PATH).length;
      const dynamo = meters.dynamo.requests;
      const awsConnections = meters.aws.connections;
      const dynamoConnections = meters.dynamo.connections;
      const purplefleaConnections = meters.sandbox.connections;
      const busy = meters.aws.busyNs + meters.sandbox.busyNs + meters.dynamo.busyNs;
      return () => {
        const ops = aws.operations.slice(awsOps);
        const invokeEndpoint = ops.filter((op) => op === 'InvokeEndpoint').length;
        const getSecretValue = ops.filter((op) => op === 'GetSecretValue').length;
        return {
          invokeEndpoint,
          getSecretValue,
          otherAws: ops.length - invokeEndpoint - getSecretValue,
          dynamodb: meters.dynamo.requests - dynamo,
          purpleflea: sandbox.calls.length - sandboxCalls,
          orders: sandbox.committed(TRADING_ORDER_PATH).length - orders,
          awsConnections: meters.aws.connections - awsConnections,
          dynamoConnections: meters.dynamo.connections - dynamoConnections,
          purplefleaConnections: meters.sandbox.connections - purplefleaConnections,
          standInNs: meters.aws.busyNs + meters.sandbox.busyNs + meters.dynamo.busyNs - busy,
        };
      };
    },
    async close() {
      await Promise.all([
        sandbox.close(),
        aws.close(),
        new Promise<void>((resolvePromise, reject) => {
          dynamoServer.close((err?: Error) => (err ? reject(err) : resolvePromise()));
          // Keep-alive sockets of the SDK clients would otherwise hold close() open.
          dynamoServer.closeAllConnections();
        }),
      ]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The handlers under test

function connectionSettings(standIns: StandIns): ConnectionSettings {
  // requestTimeoutMs left out: the handler's default (10 s, as the seed), as a deployed construct has it.
  return { secretArn: standIns.secretArn, apiKeyField: 'key', agentIdField: 'agent_id', baseUrl: standIns.sandbox.baseUrl, ledgerTableName: LEDGER_TABLE };
}

/** Everything the construct puts in the function's environment, except NODE_OPTIONS (see the cold-init section). */
function handlerEnvironment(standIns: StandIns, settings: Partial<PredictToTradeSettings> = {}): { [name: string]: string } {
  return {
    POWERTOOLS_SERVICE_NAME: PREDICT_TO_TRADE_METRICS.serviceName,
    POWERTOOLS_METRICS_NAMESPACE: PREDICT_TO_TRADE_METRICS.namespace,
    ...connectionEnvironment(connectionSettings(standIns)),
    ...predictToTradeEnvironment({ ...DEFAULT_SETTINGS, ...settings }),
  };
}

/**
 * A fresh copy of the bundle with `env` in process.env while its module scope runs (where the
 * handler reads its configuration and creates its clients), as a new Lambda container would.
 */
function loadBundledHandler(env: { [name: string]: string }): Handler {
  const restore = applyEnvironment(env);
  try {
    delete require.cache[BUNDLE];
    return (require(BUNDLE) as { handler: Handler }).handler;
  } finally {
    delete require.cache[BUNDLE];
    // The SDK clients resolve region, credentials and endpoints lazily from the AWS_* variables,
    // which stay set for the whole run; only the handler's own variables go.
    restore();
  }
}

/**
 * The seed's handler (pattern 1), in Node: InvokeEndpoint with the real SDK client, then the order
 * with a keep-alive http agent. The key and agent id come from its environment (no secret fetch,
 * no ledger, no logs, no metrics).
 */
function createBareHandler(baseUrl: string): { handler: Handler; close(): void } {
  const sagemaker = new SageMakerRuntimeClient({});
  const agent = new http.Agent({ keepAlive: true });
  const orderUrl = new URL(TRADING_ORDER_PATH, baseUrl);
  const apiKey = SANDBOX_API_KEY;

  const post = (body: string) =>
    new Promise<{ status: number; text: string }>((resolvePromise, reject) => {
      const req = http.request(orderUrl, {
        method: 'POST',
        agent,
        timeout: 10_000,
        headers: { 'authorization': `Bearer ${apiKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body).toString() },
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.end(body);
    });

  const handler: Handler = async (event) => {
    const features = (event as TradeEvent).features;
    const response = await sagemaker.send(
      new InvokeEndpointCommand({ EndpointName: ENDPOINT, ContentType: 'application/json', Body: new TextEncoder().encode(JSON.stringify(features)) }),
    );
    const prediction = JSON.parse(new TextDecoder().decode(response.Body)) as { direction: string; confidence: number };
    if (prediction.direction === 'hold') return { status: 'SKIPPED', reason: 'hold' };
    if (prediction.confidence < 0.6) return { status: 'SKIPPED', reason: 'confidence below threshold' };
    const answer = await post(
      JSON.stringify({
        agent_id: AGENT_ID,
        direction: prediction.direction,
        amount: 50,
        asset: 'BTC-USDC',
        order_type: 'market',
        metadata: { source: 'sagemaker', confidence: prediction.confidence },
      }),
    );
    if (answer.status < 200 || answer.status >= 300) throw new Error(`order failed: ${answer.status} ${answer.text}`);
    JSON.parse(answer.text);
    return { status: 'SUCCEEDED' };
  };
  return {
    handler,
    close() {
      sagemaker.destroy();
      agent.destroy();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Warm invocations

interface Variant {
  readonly name: string;
  readonly description: string;
  readonly handler: Handler;
  /** Round trips expected per warm invocation, by service (checked: a difference fails the run). */
  readonly expected: Pick<Counts, 'invokeEndpoint' | 'getSecretValue' | 'otherAws' | 'dynamodb' | 'purpleflea'>;
  samples: number[];
  counts: Counts;
  logBytes: number;
}

async function invokeOnce(variant: Variant): Promise<void> {
  const result = await variant.handler(tradeEvent(variant.name), lambdaContext());
  if (result?.status !== 'SUCCEEDED' || result.repeated === true) {
    unsilenceOutput();
    throw new BenchFailure(`${variant.name}: expected a new SUCCEEDED order, got ${JSON.stringify(result)}`);
  }
}

async function warmUp(variants: readonly Variant[]): Promise<void> {
  for (const variant of variants) {
    for (let i = 0; i < WARMUP_INVOCATIONS; i++) await invokeOnce(variant);
  }
}

async function runBlock(variant: Variant, standIns: StandIns, size: number): Promise<void> {
  const done = standIns.snapshot();
  const bytesBefore = sink.bytes;
  for (let i = 0; i < size; i++) {
    const event = tradeEvent(variant.name);
    const context = lambdaContext();
    const started = process.hrtime.bigint();
    const result = await variant.handler(event, context);
    const elapsed = process.hrtime.bigint() - started;
    if (result?.status !== 'SUCCEEDED' || result.repeated === true) {
      unsilenceOutput();
      throw new BenchFailure(`${variant.name}: invocation ${variant.samples.length + 1} expected a new SUCCEEDED order, got ${JSON.stringify(result)}`);
    }
    variant.samples.push(nsToMs(elapsed));
  }
  variant.counts = addCounts(variant.counts, done());
  variant.logBytes += sink.bytes - bytesBefore;
}

// ---------------------------------------------------------------------------------------------
// Cold init, in fresh node processes

const CHILD_SCRIPT = `
const started = process.hrtime.bigint();
const { handler } = require(process.env.BENCH_BUNDLE);
const loaded = process.hrtime.bigint();
const event = { ...JSON.parse(process.env.BENCH_EVENT), eventTime: new Date().toISOString() };
const deadline = Date.now() + 30000;
const context = { functionName: 'bench-function', awsRequestId: 'cold-' + process.pid, getRemainingTimeInMillis: () => deadline - Date.now() };
const invoked = process.hrtime.bigint();
handler(event, context).then(
  (result) => {
    const answered = process.hrtime.bigint();
    process.stdout.write('\\nBENCH_INIT_NS=' + (loaded - started) + '\\nBENCH_FIRST_INVOKE_NS=' + (answered - invoked) + '\\nBENCH_STATUS=' + result.status + '\\n', () => process.exit(0));
  },
  (error) => {
    process.stderr.write(String(error && error.stack), () => process.exit(1));
  },
);
`;

interface ColdRun {
  readonly initMs: number;
  readonly firstInvokeMs: number;
}

function coldRun(bundle: string, env: { [name: string]: string }, nodeOptions: string, label: string): Promise<ColdRun> {
  const event = { eventId: `bench-${RUN_ID}-cold-${label}`, ruleArn: RULE_ARN, features: FEATURES };
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD_SCRIPT], {
      env: { ...process.env, ...env, NODE_OPTIONS: nodeOptions, BENCH_BUNDLE: bundle, BENCH_EVENT: JSON.stringify(event) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      const value = (name: string) => new RegExp(`^BENCH_${name}=(.*)$`, 'm').exec(stdout)?.[1];
      const status = value('STATUS');
      if (code !== 0 || status !== 'SUCCEEDED') {
        reject(new BenchFailure(`cold-start process exited ${code} with status ${status ?? '(none)'}: ${stderr.trim() || stdout.trim().slice(-2000)}`));
        return;
      }
      resolvePromise({ initMs: Number(value('INIT_NS')) / 1e6, firstInvokeMs: Number(value('FIRST_INVOKE_NS')) / 1e6 });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const wallStarted = Date.now();
  const loadAtStart = loadavg()[0];
  const bundleBytes = statSync(BUNDLE).size;
  const standIns = await startStandIns();
  const restoreAwsEnv = applyEnvironment({ ...awsTestEnvironment(standIns.aws.url, standIns.dynamoEndpoint), AWS_LAMBDA_FUNCTION_NAME: 'bench-function' });
  const bare = createBareHandler(standIns.sandbox.baseUrl);
  let failed: unknown;
  const lines: string[] = [];
  const say = (line = '') => lines.push(line);

  try {
    const ours = (name: string, description: string, settings: Partial<PredictToTradeSettings>, extraEnv: { [name: string]: string }, dynamodb: number): Variant => ({
      name,
      description,
      handler: loadBundledHandler({ ...handlerEnvironment(standIns, settings), ...extraEnv }),
      expected: { invokeEndpoint: 1, getSecretValue: 0, otherAws: 0, dynamodb, purpleflea: 1 },
      samples: [],
      counts: ZERO_COUNTS,
      logBytes: 0,
    });
    const variants: Variant[] = [
      ours('ours', 'bundled handler, default config (logs + EMF to a discarding sink)', {}, {}, 2),
      ours('ours+cap', `bundled handler, maxDailyNotionalUsdc ${NEVER_BINDING_CAP_USDC} (never binds)`, { maxDailyNotionalUsdc: NEVER_BINDING_CAP_USDC }, {}, 3),
      ours('ours-quiet', 'bundled handler, default config, POWERTOOLS_LOG_LEVEL=SILENT + POWERTOOLS_METRICS_DISABLED=true', {}, { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' }, 2),
      {
        name: 'bare',
        description: "the seed's two calls: SDK InvokeEndpoint + http POST /trading/order (keep-alive)",
        handler: bare.handler,
        expected: { invokeEndpoint: 1, getSecretValue: 0, otherAws: 0, dynamodb: 0, purpleflea: 1 },
        samples: [],
        counts: ZERO_COUNTS,
        logBytes: 0,
      },
    ];

    silenceOutput();
    const warmupStarted = Date.now();
    const warmupDone = standIns.snapshot();
    await warmUp(variants);
    const warmupCounts = warmupDone();
    const warmupMs = Date.now() - warmupStarted;
    const blocks = Math.ceil(WARM_INVOCATIONS / BLOCK_SIZE);
    const measureStarted = Date.now();
    for (let block = 0; block < blocks; block++) {
      const size = Math.min(BLOCK_SIZE, WARM_INVOCATIONS - block * BLOCK_SIZE);
      // Rotate the order each block, so no variant always runs first (or right after another).
      for (let k = 0; k < variants.length; k++) await runBlock(variants[(block + k) % variants.length], standIns, size);
    }
    const measureMs = Date.now() - measureStarted;
    unsilenceOutput();

    // --- Cold init -----------------------------------------------------------------------------
    const coldEnv = { ...awsTestEnvironment(standIns.aws.url, standIns.dynamoEndpoint), AWS_LAMBDA_FUNCTION_NAME: 'bench-function', ...handlerEnvironment(standIns) };
    // The npm package leaves the .map files out ("!assets/**/*.map" in package.json "files"): a
    // consumer deploys index.js alone, with the construct's --enable-source-maps still set.
    const noMapDir = mkdtempSync(join(tmpdir(), 'pf-bench-'));
    const noMapBundle = join(noMapDir, 'index.js');
    copyFileSync(BUNDLE, noMapBundle);
    const coldPlain: ColdRun[] = [];
    const coldMaps: ColdRun[] = [];
    const coldNoMap: ColdRun[] = [];
    try {
      for (let i = 0; i < COLD_PROCESSES; i++) {
        // Alternate, so every setting sees the same machine conditions.
        coldPlain.push(await coldRun(BUNDLE, coldEnv, '', `plain-${i}`));
        coldMaps.push(await coldRun(BUNDLE, coldEnv, '--enable-source-maps', `maps-${i}`));
        coldNoMap.push(await coldRun(noMapBundle, coldEnv, '--enable-source-maps', `nomap-${i}`));
      }
    } finally {
      rmSync(noMapDir, { recursive: true, force: true });
    }

    // --- Report --------------------------------------------------------------------------------
    const [oursV, cappedV] = variants;
    const s = Object.fromEntries(variants.map((v) => [v.name, stats(v.samples)])) as Record<string, Stats>;

    say('PredictToTrade benchmark');
    say(`  bundle ${BUNDLE.replace(resolve(__dirname, '..') + '/', '')}, node ${process.version}, ${WARM_INVOCATIONS} warm invocations per variant`);
    say(`  (after ${WARMUP_INVOCATIONS} warm-up each), sequential, interleaved in blocks of ${BLOCK_SIZE}; stand-ins in this process on 127.0.0.1, no added latency`);
    say('  output: Powertools logs and EMF written to a sink that discards them while measuring (process.stdout/stderr.write replaced),');
    say('  so logging is measured; the "ours-quiet" variant also shows the handler with logs and metrics switched off by env.');
    say(`  machine: ${availableParallelism()} CPUs, 1-min load average ${loadAtStart.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end ` +
      '(other work on the machine shows up in p90/p99; compare the variants within one run)');
    say();
    say('Warm invocation time (ms)');
    say(
      table(
        [
          ['variant', 'median', 'p90', 'p99', 'mean', 'min', 'max', 'stand-ins*', 'log+EMF bytes/inv'],
          ...variants.map((v) => {
            const st = s[v.name];
            return [v.name, ms(st.median), ms(st.p90), ms(st.p99), ms(st.mean), ms(st.min), ms(st.max), ms(nsToMs(v.counts.standInNs) / st.n), (v.logBytes / st.n).toFixed(0)];
          }),
        ],
        [1, 2, 3, 4, 5, 6, 7, 8],
      ),
    );
    say('  * mean ms per invocation the in-process stand-ins spent between receiving a request and finishing the answer');
    say('    (same thread, so part of the measured time; a real DynamoDB/SageMaker/API does this elsewhere).');
    for (const v of variants) say(`  ${pad(v.name, 11)} ${v.description}`);
    say();
    say('Ratios (same run)');
    say(
      table(
        [
          ['', 'median', 'p99', 'mean'],
          ['ours / bare', `${(s.ours.median / s.bare.median).toFixed(2)}x`, `${(s.ours.p99 / s.bare.p99).toFixed(2)}x`, `${(s.ours.mean / s.bare.mean).toFixed(2)}x`],
          ['ours+cap / bare', `${(s['ours+cap'].median / s.bare.median).toFixed(2)}x`, `${(s['ours+cap'].p99 / s.bare.p99).toFixed(2)}x`, `${(s['ours+cap'].mean / s.bare.mean).toFixed(2)}x`],
          ['ours-quiet / bare', `${(s['ours-quiet'].median / s.bare.median).toFixed(2)}x`, `${(s['ours-quiet'].p99 / s.bare.p99).toFixed(2)}x`, `${(s['ours-quiet'].mean / s.bare.mean).toFixed(2)}x`],
          ['ours / ours-quiet', `${(s.ours.median / s['ours-quiet'].median).toFixed(2)}x`, `${(s.ours.p99 / s['ours-quiet'].p99).toFixed(2)}x`, `${(s.ours.mean / s['ours-quiet'].mean).toFixed(2)}x`],
        ],
        [1, 2, 3],
      ),
    );
    say();

    say('Network round trips per warm invocation (requests reaching each stand-in / invocations)');
    const perInv = (x: number, n: number) => (x / n).toFixed(3);
    const problems: string[] = [];
    const rtRows: string[][] = [['variant', 'SageMaker Runtime', 'Secrets Manager', 'other AWS', 'DynamoDB', 'Purple Flea', 'total', 'expected', 'orders', 'new TCP conns (AWS/DDB/PF)']];
    for (const v of variants) {
      const n = v.samples.length;
      const c = v.counts;
      const expectedTotal = roundTrips({ ...ZERO_COUNTS, ...v.expected });
      rtRows.push([
        v.name,
        perInv(c.invokeEndpoint, n),
        perInv(c.getSecretValue, n),
        perInv(c.otherAws, n),
        perInv(c.dynamodb, n),
        perInv(c.purpleflea, n),
        perInv(roundTrips(c), n),
        String(expectedTotal),
        String(c.orders),
        `${c.awsConnections}/${c.dynamoConnections}/${c.purplefleaConnections}`,
      ]);
      for (const key of ['invokeEndpoint', 'getSecretValue', 'otherAws', 'dynamodb', 'purpleflea'] as const) {
        if (c[key] !== v.expected[key] * n) problems.push(`${v.name}: ${c[key]} ${key} requests in ${n} invocations, expected ${v.expected[key] * n}`);
      }
      if (c.orders !== n) problems.push(`${v.name}: ${c.orders} orders committed in ${n} invocations, expected ${n}`);
    }
    say(table(rtRows, [1, 2, 3, 4, 5, 6, 7, 8, 9]));
    say(`  warm-up (${WARMUP_INVOCATIONS} x ${variants.length}, first calls of each client included): ${warmupCounts.getSecretValue} GetSecretValue, ` +
      `${connections(warmupCounts)} new TCP connections, ${warmupCounts.orders} orders`);
    say('  "new TCP conns": connections each stand-in (fake AWS / dynalite / Purple Flea sandbox) accepted during the timed blocks');
    say('  (0 = keep-alive reused throughout; the variants are idle while the others run their blocks).');
    say();

    const initPlain = stats(coldPlain.map((r) => r.initMs));
    const initMaps = stats(coldMaps.map((r) => r.initMs));
    const firstPlain = stats(coldPlain.map((r) => r.firstInvokeMs));
    const firstMaps = stats(coldMaps.map((r) => r.firstInvokeMs));
    const initNoMap = stats(coldNoMap.map((r) => r.initMs));
    const firstNoMap = stats(coldNoMap.map((r) => r.firstInvokeMs));
    say(`Cold start (${COLD_PROCESSES} fresh node processes each; require() of the bundle timed inside the child with process.hrtime.bigint)`);
    say(
      table(
        [
          ['NODE_OPTIONS', 'init median', 'min', 'max', '1st invoke median', 'min', 'max'],
          ['(none)', ms(initPlain.median, 1), ms(initPlain.min, 1), ms(initPlain.max, 1), ms(firstPlain.median, 1), ms(firstPlain.min, 1), ms(firstPlain.max, 1)],
          ['--enable-source-maps', ms(initMaps.median, 1), ms(initMaps.min, 1), ms(initMaps.max, 1), ms(firstMaps.median, 1), ms(firstMaps.min, 1), ms(firstMaps.max, 1)],
          ['--enable-source-maps, no .map', ms(initNoMap.median, 1), ms(initNoMap.min, 1), ms(initNoMap.max, 1), ms(firstNoMap.median, 1), ms(firstNoMap.min, 1), ms(firstNoMap.max, 1)],
        ],
        [1, 2, 3, 4, 5, 6],
      ),
    );
    say('  (ms; "--enable-source-maps" is what the construct sets on the function; "no .map": the bundle copied alone, as the');
    say('   npm package ships it; "1st invoke" = first invocation in the fresh process: lazy SDK loading, the secret fetch,');
    say('   new connections, against the stand-ins in the parent process)');
    const kib = bundleBytes / 1024;
    say(`Bundle: ${kib.toFixed(1)} KiB (${bundleBytes} bytes), ${bundleBytes < TARGETS.bundleBytes ? '< 1 MB' : 'NOT < 1 MB'}`);
    say();

    const mark = (ok: boolean) => (ok ? 'met' : 'NOT MET');
    const rtOurs = roundTrips(oursV.counts) / oursV.samples.length;
    const rtCapped = roundTrips(cappedV.counts) / cappedV.samples.length;
    const coldHeadline = initMaps.median;
    say('Summary (issue 2 targets)');
    say(
      table(
        [
          ['measure', 'figure', 'target', ''],
          ['round trips / warm invocation', rtOurs.toFixed(2), `<= ${TARGETS.roundTrips}`, mark(rtOurs <= TARGETS.roundTrips)],
          ['round trips / warm inv., daily cap', rtCapped.toFixed(2), `<= ${TARGETS.roundTripsWithCap}`, mark(rtCapped <= TARGETS.roundTripsWithCap)],
          ['Secrets Manager calls / warm inv.', (oursV.counts.getSecretValue / oursV.samples.length).toFixed(2), '0 (cached)', mark(oursV.counts.getSecretValue === 0 && cappedV.counts.getSecretValue === 0)],
          ['median ms / warm invocation', ms(s.ours.median), `< ${TARGETS.medianMs}`, mark(s.ours.median < TARGETS.medianMs)],
          ['p99 ms / warm invocation', ms(s.ours.p99), `< ${TARGETS.p99Ms}`, mark(s.ours.p99 < TARGETS.p99Ms)],
          ['median ms, with daily cap', ms(s['ours+cap'].median), `< ${TARGETS.medianMs}`, mark(s['ours+cap'].median < TARGETS.medianMs)],
          ['p99 ms, with daily cap', ms(s['ours+cap'].p99), `< ${TARGETS.p99Ms}`, mark(s['ours+cap'].p99 < TARGETS.p99Ms)],
          ['bare: median / p99 ms', `${ms(s.bare.median)} / ${ms(s.bare.p99)}`, '(reference)', ''],
          ['ours / bare (median)', `${(s.ours.median / s.bare.median).toFixed(2)}x`, '(reference)', ''],
          ['cold init ms (median, source maps on)', ms(coldHeadline, 1), `< ${TARGETS.coldInitMs}`, mark(coldHeadline < TARGETS.coldInitMs)],
          ['cold init ms (median, NODE_OPTIONS none)', ms(initPlain.median, 1), `< ${TARGETS.coldInitMs}`, mark(initPlain.median < TARGETS.coldInitMs)],
          ['bundle size', `${kib.toFixed(0)} KiB`, '< 1 MB', mark(bundleBytes < TARGETS.bundleBytes)],
        ],
        [1],
      ),
    );
    say(`  timing targets are reported, never enforced. Wall time: warm-up ${warmupMs} ms, timed blocks ${measureMs} ms, total ${((Date.now() - wallStarted) / 1000).toFixed(1)} s.`);
    if (problems.length > 0) {
      say();
      say('ROUND-TRIP CHECK FAILED:');
      for (const problem of problems) say(`  ${problem}`);
      process.exitCode = 1;
    } else {
      say('  round-trip counts as expected for every variant; every invocation SUCCEEDED with a new order.');
    }
  } catch (error) {
    failed = error;
  } finally {
    unsilenceOutput();
    bare.close();
    await standIns.close();
    restoreAwsEnv();
  }

  process.stdout.write(lines.join('\n') + '\n');
  if (failed) {
    process.stderr.write(`\nBENCH FAILED: ${failed instanceof Error ? failed.stack ?? failed.message : String(failed)}\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  unsilenceOutput();
  process.stderr.write(`\nBENCH FAILED: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
