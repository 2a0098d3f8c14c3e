/**
 * `npm run bench`: the bundled PredictToTrade handler (assets/predict-to-trade/index.js, loaded as
 * Lambda loads it) against the local stand-ins (Purple Flea sandbox, fake AWS endpoints, dynalite),
 * with no added latency. Prints, in one run:
 *
 * - median and p99 per warm invocation (1,000 sequential, each a distinct event placing one order),
 *   for the handler as configured by default, with a daily cap that never binds, with logs and
 *   metrics switched off, and for a bare handler making only the hand-written handler's two calls;
 * - network round trips per warm invocation, by service, counted at the stand-ins;
 * - the bundle's cold init (require() in fresh node processes) and size;
 * - a summary against the targets of issue 2.
 *
 * The handlers run in this process; the stand-ins run in one child process (bench/stand-ins.ts,
 * bench/stand-ins-process.ts), as DynamoDB, SageMaker and Purple Flea run outside a Lambda function,
 * so the work of answering is not timed with the handler's.
 *
 * Benchmarks report, they do not gate: a missed timing target never fails the run. A failed
 * invocation or a wrong round-trip count does (exit code 1).
 *
 * Plain Node (tsx), not jest: the SDK inside the bundle does `await import("node:http")`.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionEnvironment } from '../lib/private/contracts/connection-env';
import { PREDICT_TO_TRADE_METRICS, predictToTradeEnvironment, PredictToTradeSettings } from '../lib/private/contracts/predict-to-trade-env';
import { applyEnvironment, awsTestEnvironment } from '../test/support/aws-env';
import { createBareHandler } from './bare-handler';
import { ColdRun, coldRun } from './cold-start';
import { sink, silenceOutput, unsilenceOutput } from './output-sink';
import { report, Variant } from './report';
import {
  BenchFailure,
  BLOCK_SIZE,
  BUNDLE,
  COLD_PROCESSES,
  ENDPOINT,
  FEATURES,
  Handler,
  LEDGER_TABLE,
  NEVER_BINDING_CAP_USDC,
  RULE_ARN,
  TradeEvent,
  WARM_INVOCATIONS,
  WARMUP_INVOCATIONS,
} from './scenario';
import { StandIns, startStandIns } from './stand-ins';
import { addCounts, subtractCounts, ZERO_COUNTS } from './stand-ins-protocol';
import { nsToMs } from './stats';
import { defaultTradeSettings } from '../test/support/handler-settings';

const RUN_ID = randomUUID().slice(0, 8);

/** The settings the construct writes by default (lib/predict-to-trade.ts). */
const DEFAULT_SETTINGS = defaultTradeSettings({ endpointName: ENDPOINT, dailyCapScope: `bench-${RUN_ID}` });

// ---------------------------------------------------------------------------------------------
// Events and contexts

let eventCounter = 0;
function tradeEvent(label: string): TradeEvent {
  eventCounter += 1;
  return {
    eventId: `bench-${RUN_ID}-${label}-${eventCounter}`,
    eventTime: new Date().toISOString(),
    ruleArn: RULE_ARN,
    features: FEATURES,
  };
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

// ---------------------------------------------------------------------------------------------
// The handlers under test

/** Everything the construct puts in the function's environment, except NODE_OPTIONS (see the cold-init section). */
function handlerEnvironment(standIns: StandIns, settings: Partial<PredictToTradeSettings> = {}): { [name: string]: string } {
  return {
    POWERTOOLS_SERVICE_NAME: PREDICT_TO_TRADE_METRICS.serviceName,
    POWERTOOLS_METRICS_NAMESPACE: PREDICT_TO_TRADE_METRICS.namespace,
    // requestTimeoutMs left out: the handler's default (10 s, as the hand-written pattern), as a deployed construct has it.
    ...connectionEnvironment({
      secretArn: standIns.secretArn,
      apiKeyField: 'key',
      agentIdField: 'agent_id',
      baseUrl: standIns.sandboxUrl,
      ledgerTableName: LEDGER_TABLE,
    }),
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

// ---------------------------------------------------------------------------------------------
// Warm invocations

async function invokeOnce(variant: Variant): Promise<number> {
  const event = tradeEvent(variant.name);
  const context = lambdaContext();
  const started = process.hrtime.bigint();
  const result = await variant.handler(event, context);
  const elapsed = process.hrtime.bigint() - started;
  if (result?.status !== 'SUCCEEDED' || result.repeated === true) {
    unsilenceOutput();
    throw new BenchFailure(`${variant.name}: event ${event.eventId} expected a new SUCCEEDED order, got ${JSON.stringify(result)}`);
  }
  return nsToMs(elapsed);
}

async function warmUp(variants: readonly Variant[]): Promise<void> {
  for (const variant of variants) {
    for (let i = 0; i < WARMUP_INVOCATIONS; i++) await invokeOnce(variant);
  }
}

/** `size` timed invocations; the stand-ins' counters are read before and after (outside the timing). */
async function runBlock(variant: Variant, standIns: StandIns, size: number): Promise<void> {
  const before = await standIns.counts();
  const bytesBefore = sink.bytes;
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < size; i++) variant.samples.push(await invokeOnce(variant));
  const cpu = process.cpuUsage(cpuBefore);
  variant.cpuMicros += cpu.user + cpu.system;
  variant.logBytes += sink.bytes - bytesBefore;
  variant.counts = addCounts(variant.counts, subtractCounts(await standIns.counts(), before));
}

/** Every variant must make exactly its expected round trips and place one order per invocation. */
function checkRoundTrips(variants: readonly Variant[]): string[] {
  const problems: string[] = [];
  for (const v of variants) {
    const n = v.samples.length;
    for (const key of ['invokeEndpoint', 'getSecretValue', 'otherAws', 'dynamodb', 'purpleflea'] as const) {
      if (v.counts[key] !== v.expected[key] * n)
        problems.push(`${v.name}: ${v.counts[key]} ${key} requests in ${n} invocations, expected ${v.expected[key] * n}`);
    }
    if (v.counts.orders !== n) problems.push(`${v.name}: ${v.counts.orders} orders committed in ${n} invocations, expected ${n}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Cold init

async function coldRuns(standIns: StandIns): Promise<{ plain: ColdRun[]; maps: ColdRun[]; noMap: ColdRun[] }> {
  const env = {
    ...awsTestEnvironment(standIns.awsUrl, standIns.dynamoEndpoint),
    AWS_LAMBDA_FUNCTION_NAME: 'bench-function',
    ...handlerEnvironment(standIns),
  };
  // The npm package leaves the .map files out ("!assets/**/*.map" in package.json "files"): a
  // consumer deploys index.js alone, with the construct's --enable-source-maps still set.
  const noMapDir = mkdtempSync(join(tmpdir(), 'pf-bench-'));
  const noMapBundle = join(noMapDir, 'index.js');
  copyFileSync(BUNDLE, noMapBundle);
  const runs = { plain: [] as ColdRun[], maps: [] as ColdRun[], noMap: [] as ColdRun[] };
  const eventId = (label: string) => `bench-${RUN_ID}-cold-${label}`;
  try {
    for (let i = 0; i < COLD_PROCESSES; i++) {
      // Alternate, so every setting sees the same machine conditions.
      runs.plain.push(await coldRun(BUNDLE, env, '', eventId(`plain-${i}`)));
      runs.maps.push(await coldRun(BUNDLE, env, '--enable-source-maps', eventId(`maps-${i}`)));
      runs.noMap.push(await coldRun(noMapBundle, env, '--enable-source-maps', eventId(`nomap-${i}`)));
    }
  } finally {
    rmSync(noMapDir, { recursive: true, force: true });
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const wallStarted = Date.now();
  const loadAtStart = loadavg()[0];
  const bundleBytes = statSync(BUNDLE).size;
  const standIns = await startStandIns();
  const restoreAwsEnv = applyEnvironment({
    ...awsTestEnvironment(standIns.awsUrl, standIns.dynamoEndpoint),
    AWS_LAMBDA_FUNCTION_NAME: 'bench-function',
  });
  const bare = createBareHandler(standIns.sandboxUrl);
  let lines: string[] = [];
  let failed: unknown;

  try {
    const variant = (name: string, description: string, handler: Handler, expected: Variant['expected']): Variant => ({
      name,
      description,
      handler,
      expected,
      samples: [],
      cpuMicros: 0,
      counts: ZERO_COUNTS,
      logBytes: 0,
    });
    const ours = (
      name: string,
      description: string,
      settings: Partial<PredictToTradeSettings>,
      extraEnv: { [name: string]: string },
      dynamodb: number,
    ) =>
      variant(name, description, loadBundledHandler({ ...handlerEnvironment(standIns, settings), ...extraEnv }), {
        invokeEndpoint: 1,
        getSecretValue: 0,
        otherAws: 0,
        dynamodb,
        purpleflea: 1,
      });
    const variants: Variant[] = [
      ours('ours', 'bundled handler, default config (logs + EMF to a discarding sink)', {}, {}, 2),
      ours(
        'ours+cap',
        `bundled handler, maxDailyNotionalUsdc ${NEVER_BINDING_CAP_USDC} (never binds)`,
        { maxDailyNotionalUsdc: NEVER_BINDING_CAP_USDC },
        {},
        3,
      ),
      ours(
        'ours-quiet',
        'bundled handler, default config, POWERTOOLS_LOG_LEVEL=SILENT + POWERTOOLS_METRICS_DISABLED=true',
        {},
        { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
        2,
      ),
      variant('bare', "the hand-written handler's two calls: SDK InvokeEndpoint + http POST /trading/order (keep-alive)", bare.handler, {
        invokeEndpoint: 1,
        getSecretValue: 0,
        otherAws: 0,
        dynamodb: 0,
        purpleflea: 1,
      }),
    ];

    silenceOutput();
    const warmupStarted = Date.now();
    const beforeWarmup = await standIns.counts();
    await warmUp(variants);
    const warmupCounts = subtractCounts(await standIns.counts(), beforeWarmup);
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

    const cold = await coldRuns(standIns);
    const problems = checkRoundTrips(variants);
    lines = report({
      variants,
      warmupCounts,
      cold,
      bundleBytes,
      loadAverage: { start: loadAtStart, end: loadavg()[0] },
      wallMs: { warmup: warmupMs, measure: measureMs, total: Date.now() - wallStarted },
      problems,
    });
    if (problems.length > 0) process.exitCode = 1;
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
    process.stderr.write(`\nBENCH FAILED: ${failed instanceof Error ? (failed.stack ?? failed.message) : String(failed)}\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  unsilenceOutput();
  process.stderr.write(`\nBENCH FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
