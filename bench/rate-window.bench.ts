/**
 * `npm run bench`, the per-minute limit (issue 13, "Pacing to real limits"): a 200-row payout at
 * `RateLimit.perMinute(20)` against each profile's sandbox, counting in fixed windows the way Purple Flea does
 * (20 requests a window on the transfer route), the figures of the two profiles side by side.
 *
 * - The run's shape is the construct's own (`runShape`: the batch size and Map concurrency it derives for
 *   perMinute(20) and the Pay function's default timeout), and each batch runs in a fresh copy of the Pay bundle
 *   (a new container, in a worker thread of its own): the worst hand-over, where a batch's limiter cannot see the
 *   last request of the batch before it.
 * - Time is scaled: BENCH_TIME_SCALE (default 10) shortens the window to 60 s / scale, and the handler is given
 *   the scaled rate and the same window (PF_RATE_LIMIT_WINDOW_MS), so that 200 rows take a minute instead of ten.
 *   A shorter window makes the network's jitter a larger share of it: the scaled run is the harder one.
 *   BENCH_TIME_SCALE=1 runs it in real time.
 * - The sandboxes, the fake Secrets Manager and dynalite run on this process's main thread.
 *
 * Reports, does not gate on the figures; a row not paid, or paid twice, fails the run (exit code 1).
 */
import { BATCH_PAYOUT_METRICS, batchPayoutPayEnvironment } from '../lib/private/contracts/batch-payout-env';
import type { ActBatchEvent, PayoutItem } from '../lib/private/contracts/batch-engine';
import { connectionEnvironment } from '../lib/private/contracts/connection-env';
import type { BatchRunProps } from '../lib/batch-run-props';
import { runShape } from '../lib/private/batch-engine';
import { RateLimit } from '../lib/rate-limit';
import { applyEnvironment, awsTestEnvironment } from '../test/support/aws-env';
import { createLedgerTable, startDynalite } from '../test/support/dynalite';
import { FakeAws } from '../test/support/fake-aws';
import { PurpleFleaSandbox, SANDBOX_API_KEY, WALLET_TRANSFER_PATH } from '../test/support/purpleflea-sandbox';
import { PurpleFleaServicesSandbox, SERVICE_PATHS } from '../test/support/purpleflea-services-sandbox';
import { FixedWindowLimiter, type RecordedCall } from '../test/support/sandbox-server';
import { PAY_BUNDLE, RowResult, startPayWorkers } from './batch-payout-drive';
import { silenceOutput, unsilenceOutput } from './output-sink';
import { LEDGER_TABLE } from './scenario';
import { table } from './stats';

const ROWS = 200;
const PER_MINUTE = 20;
const REAL_WINDOW_MS = 60_000;
const TIME_SCALE = Number(process.env.BENCH_TIME_SCALE ?? 10);
const WINDOW_MS = REAL_WINDOW_MS / TIME_SCALE;
const TARGET_TOLERANCE = 0.05;
const RUN_LABEL = Math.random().toString(36).slice(2, 8);

interface ProfileRun {
  readonly profile: string;
  readonly rows: readonly RowResult[];
  readonly wallMs: number;
  /** The transfer route's calls, in arrival order. */
  readonly calls: readonly RecordedCall<{ kind: string }>[];
  /** Recipients of the money the sandbox moved (one entry per payment). */
  readonly paid: readonly string[];
}

/** A profile's sandbox, ready for the run: its secret, the recipients, where Pay sends. */
interface ProfileSetup {
  readonly profile: string;
  readonly secret: { [field: string]: string };
  readonly recipients: readonly string[];
  readonly connection: { [name: string]: string };
  calls(): readonly RecordedCall<{ kind: string }>[];
  paid(): readonly string[];
}

async function main(): Promise<void> {
  if (!(TIME_SCALE >= 1)) throw new Error(`BENCH_TIME_SCALE must be a number of at least 1, got ${process.env.BENCH_TIME_SCALE}`);
  const shape = runShape({ rateLimit: RateLimit.perMinute(PER_MINUTE) } as BatchRunProps);
  const [aws, dynamo, gateway, services] = await Promise.all([
    FakeAws.start(),
    startDynalite(),
    PurpleFleaSandbox.start(),
    PurpleFleaServicesSandbox.start({ rateLimitWindowMs: WINDOW_MS }),
  ]);
  await createLedgerTable(dynamo.endpoint, LEDGER_TABLE);
  const restoreEnv = applyEnvironment({
    ...awsTestEnvironment(aws.url, dynamo.endpoint),
    AWS_LAMBDA_FUNCTION_NAME: 'bench-batch-payout-pay',
    POWERTOOLS_SERVICE_NAME: BATCH_PAYOUT_METRICS.serviceName,
    POWERTOOLS_METRICS_NAMESPACE: BATCH_PAYOUT_METRICS.namespace,
  });
  const results: ProfileRun[] = [];
  const problems: string[] = [];
  silenceOutput();
  try {
    gateway.setRateLimit(WALLET_TRANSFER_PATH, PER_MINUTE, WINDOW_MS);
    const gatewaySetup: ProfileSetup = {
      profile: 'gateway',
      secret: { key: SANDBOX_API_KEY, agent_id: 'agt_bench_payer' },
      recipients: Array.from({ length: ROWS }, (_, i) => `agt_${RUN_LABEL}_${i}`),
      connection: { baseUrl: gateway.baseUrl },
      calls: () => gateway.calls.filter((call) => call.path === WALLET_TRANSFER_PATH),
      paid: () => gateway.committed(WALLET_TRANSFER_PATH).map((transfer) => String(transfer.body.to_agent)),
    };

    services.setRateLimitsEnabled(true);
    // Casino pay has no limit of its own on the services: the bench gives it escrow create's 20 a window.
    services.setRateLimit(SERVICE_PATHS.casinoPay, PER_MINUTE);
    const payer = services.addCasinoAgent({ balance: 100_000 });
    const servicesSetup: ProfileSetup = {
      profile: 'services',
      secret: { key: payer.apiKey, agent_id: payer.agentId },
      recipients: Array.from({ length: ROWS }, () => services.addCasinoAgent().agentId),
      connection: {
        profile: 'services',
        escrowUrl: services.escrowUrl,
        casinoUrl: `${services.casinoUrl}/api/v1`,
        tradingUrl: `${services.tradingUrl}/v1`,
        faucetUrl: services.faucetUrl,
      },
      calls: () => services.calls.filter((call) => call.route === SERVICE_PATHS.casinoPay),
      paid: () => services.committed('casino.pay').map((payment) => String((payment.body as { to_agent_id: string }).to_agent_id)),
    };

    for (const setup of [gatewaySetup, servicesSetup]) {
      const run = await runProfile(setup, aws, shape);
      results.push(run);
      problems.push(...checkExactlyOnce(run, setup.recipients));
    }
  } finally {
    unsilenceOutput();
    restoreEnv();
    await Promise.all([aws.close(), dynamo.close(), gateway.close(), services.close()]);
  }
  report(results, shape);
  if (problems.length > 0) {
    console.error(`\nFAILED:\n- ${problems.join('\n- ')}`);
    process.exitCode = 1;
  }
}

/** One profile's run: the rows in batches of the construct's shape, each batch in a fresh Pay container. */
async function runProfile(setup: ProfileSetup, aws: FakeAws, shape: ReturnType<typeof runShape>): Promise<ProfileRun> {
  const { arn } = aws.setSecret(`bench-rate-window-${setup.profile}`, JSON.stringify(setup.secret));
  const env = {
    ...connectionEnvironment({
      secretArn: arn,
      apiKeyField: 'key',
      agentIdField: 'agent_id',
      ledgerTableName: LEDGER_TABLE,
      rateLimitWindowMs: WINDOW_MS,
      ...setup.connection,
    } as Parameters<typeof connectionEnvironment>[0]),
    ...batchPayoutPayEnvironment({
      // The construct's share of the run's rate for each batch, on the scaled clock.
      requestsPerSecond: (shape.requestsPerSecond / shape.maxConcurrency) * TIME_SCALE,
      concurrency: 5,
      dryRun: false,
      enabled: true,
      maxPayoutPerAgentUsdc: 1_000,
      maxBatchTotalUsdc: 100_000,
    }),
  };
  const items: PayoutItem[] = setup.recipients.map((agentId, i) => ({
    line: String(i + 2),
    agent_id: agentId,
    score: '0.15',
    amount_usdc: '1.5',
  }));
  const batches: ActBatchEvent[] = [];
  for (let start = 0; start < items.length; start += shape.itemsPerBatch) {
    batches.push({
      Items: items.slice(start, start + shape.itemsPerBatch),
      BatchInput: { runId: `rate-window-${RUN_LABEL}`, sourceBucket: 'bench', sourceKey: `${setup.profile}.csv`, sourceEtag: RUN_LABEL },
    });
  }
  // A fresh container per batch, loaded before the clock starts; at most maxConcurrency batches at once.
  const workers = await startPayWorkers(batches.length, { kind: 'bundle', bundle: PAY_BUNDLE }, env);
  try {
    const started = Date.now();
    const rows: RowResult[] = [];
    let next = 0;
    const lane = async () => {
      while (next < batches.length) {
        const index = next++;
        rows.push(...(await workers.copies[index](batches[index])));
      }
    };
    await Promise.all(Array.from({ length: Math.min(shape.maxConcurrency, batches.length) }, lane));
    return { profile: setup.profile, rows, wallMs: Date.now() - started, calls: setup.calls(), paid: setup.paid() };
  } finally {
    await workers.close();
  }
}

function checkExactlyOnce(run: ProfileRun, recipients: readonly string[]): string[] {
  const problems: string[] = [];
  const notPaid = run.rows.filter((row) => row.status !== 'SUCCEEDED');
  if (notPaid.length > 0)
    problems.push(`${run.profile}: ${notPaid.length} rows not SUCCEEDED (${notPaid.map((r) => r.status).join(', ')})`);
  const paid = new Set(run.paid);
  if (paid.size !== run.paid.length) problems.push(`${run.profile}: ${run.paid.length - paid.size} recipients paid twice`);
  const missing = recipients.filter((agent) => !paid.has(agent));
  if (missing.length > 0) problems.push(`${run.profile}: ${missing.length} recipients not paid`);
  return problems;
}

/** The services' windows replayed over the calls: the busiest window's requests (refused ones count, as they do there). */
function busiestServerWindow(calls: readonly RecordedCall<{ kind: string }>[]): number {
  const windows = new FixedWindowLimiter(true);
  let openedAt = -Infinity;
  let count = 0;
  let busiest = 0;
  for (const call of calls) {
    if (call.receivedAt - openedAt > WINDOW_MS) {
      openedAt = call.receivedAt;
      count = 0;
    }
    windows.overLimit('route', PER_MINUTE, WINDOW_MS, call.receivedAt);
    busiest = Math.max(busiest, ++count);
  }
  return busiest;
}

function report(results: readonly ProfileRun[], shape: ReturnType<typeof runShape>): void {
  const perWindow = (run: ProfileRun) => {
    const times = run.calls.map((call) => call.receivedAt);
    return ((times.length - 1) / (times[times.length - 1] - times[0])) * WINDOW_MS;
  };
  const figure = (label: string, of: (run: ProfileRun) => string) => [label, ...results.map(of)];
  console.log(
    `\nRate window (issue 13): ${ROWS} rows at RateLimit.perMinute(${PER_MINUTE}), the sandbox counting ${PER_MINUTE} requests per fixed window on the transfer route.`,
  );
  console.log(
    `  Time scaled x${TIME_SCALE} (BENCH_TIME_SCALE): a window of ${WINDOW_MS / 1000} s stands for 60 s. ` +
      `Shape the construct derives: ${shape.itemsPerBatch} rows a batch, maxConcurrency ${shape.maxConcurrency}; each batch in a fresh Pay container.\n`,
  );
  console.log(
    table(
      [
        figure('', (run) => run.profile),
        figure('rows paid (exactly once)', (run) => `${run.paid.length}/${ROWS}`),
        figure('requests sent', (run) => String(run.calls.length)),
        figure('429 answers', (run) => String(run.calls.filter((call) => call.status === 429).length)),
        figure('busiest server window', (run) => `${busiestServerWindow(run.calls)}/${PER_MINUTE}`),
        figure('rate, first to last request', (run) => `${perWindow(run).toFixed(2)}/window`),
        figure('  as a share of the limit', (run) => `${((perWindow(run) / PER_MINUTE) * 100).toFixed(1)}%`),
        figure('wall time (scaled)', (run) => `${(run.wallMs / 1000).toFixed(1)} s`),
        figure('wall time (real minutes)', (run) => `${((run.wallMs * TIME_SCALE) / 60_000).toFixed(1)} min`),
      ],
      [1, 2],
    ),
  );
  const within = results.every((run) => perWindow(run) >= PER_MINUTE * (1 - TARGET_TOLERANCE) && perWindow(run) <= PER_MINUTE);
  const no429 = results.every((run) => run.calls.every((call) => call.status !== 429));
  console.log(
    `\n  Target: within ${TARGET_TOLERANCE * 100}% of the limit with 0 x 429: ${within && no429 ? 'met' : 'missed'} (both profiles).`,
  );
}

main().catch((error: unknown) => {
  unsilenceOutput();
  console.error(error);
  process.exitCode = 1;
});
