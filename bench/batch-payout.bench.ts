/**
 * `npm run bench`, second part: BatchPayout's Pay handler (assets/batch-payout-pay/index.js, loaded as
 * Lambda loads it) against the Purple Flea sandbox, with the ledger in dynalite. Issue 4, "Benchmark".
 *
 * 1. Throughput, the sandbox adding 20 ms to every call: 10,000 distinct rows in batches of 100 through
 *    10 copies of the bundle (the Map's default maxConcurrency; each copy is one container with its own
 *    rate limiter, SDK clients and http agent, in a worker thread of its own: its own event loop), one batch in flight per copy, PAY_CONCURRENCY 5 rows in
 *    flight per batch, REQUESTS_PER_SECOND 100,000 (never binds). The same structure without the ledger
 *    (each row only the handler's PurpleFleaClient POST), and the hand-written sequential loop (one plain
 *    keep-alive POST per row) on a sample. payouts/s for each and the ratios against the hand-written loop.
 * 2. Rate limit: maxRequestsPerSecond 200 split across maxConcurrency 10 (REQUESTS_PER_SECOND 20 per
 *    copy) against a sandbox that allows 200 requests per 1-second fixed window on /wallet/transfer
 *    (still adding 20 ms per call): the committed transfers' rate from first to last commit, and the 429s.
 *
 * Where things run: each Pay copy in a worker thread of its own (bench/pay-worker.ts: its own event
 * loop, as each Lambda container has its own CPU and event loop); the sandbox (it must be reconfigured
 * and timed per phase) and the drivers on this process's main thread; dynalite (the ledger table) and the fake Secrets Manager in the stand-ins
 * child process of bench/stand-ins.ts, whose CPU time is reported per phase.
 *
 * Benchmarks report, they do not gate: a missed target never fails the run. A row not SUCCEEDED in the
 * throughput phase, a transfer count that is off or a duplicate transfer does (exit code 1).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { availableParallelism, loadavg } from 'node:os';
import { relative } from 'node:path';
import { BATCH_PAYOUT_METRICS, batchPayoutPayEnvironment } from '../lib/private/contracts/batch-payout-env';
import { connectionEnvironment } from '../lib/private/contracts/connection-env';
import { applyEnvironment, awsTestEnvironment } from '../test/support/aws-env';
import { PurpleFleaSandbox, WALLET_TRANSFER_PATH } from '../test/support/purpleflea-sandbox';
import {
  Answer,
  batchesOf,
  createHandWrittenPayer,
  driveBatches,
  PAY_BUNDLE,
  PayCopy,
  PayWorkers,
  payoutItems,
  recordAnswers,
  RowResult,
  startPayWorkers,
} from './batch-payout-drive';
import { sink, silenceOutput, unsilenceOutput } from './output-sink';
import { LEDGER_TABLE, REPO_ROOT } from './scenario';
import { startStandIns } from './stand-ins';
import { Counts, subtractCounts } from './stand-ins-protocol';
import { table } from './stats';

// --- How much (issue 4, "Benchmark") -----------------------------------------------------------

const ROWS = 10_000;
const ITEMS_PER_BATCH = 100;
/** The Map's maxConcurrency (default): Pay containers running at once. */
const MAX_CONCURRENCY = 10;
/** PAY_CONCURRENCY (default): rows in flight within one batch. */
const PAY_CONCURRENCY = 5;
const LATENCY_MS = 20;
/** REQUESTS_PER_SECOND per copy in the throughput phase: never binds. */
const NON_BINDING_RPS = 100_000;
/** The hand-written loop at 20+ ms a row would take 200+ s for every row: its rate comes from a sample. */
const SEQUENTIAL_SAMPLE = 500;
/** Per copy before timing: the secret fetch and the first connections, not counted. */
const WARMUP_ROWS_PER_COPY = 5;
const RUN_RATE = 200;
const RATE_WINDOW_MS = 1_000;
/**
 * ~21 s at the paced rate (200 x 0.97 per second): 40 batches, 4 per copy, so all 10 copies stay busy
 * until the end and the first-to-last-commit rate is not diluted by a tail of fewer copies.
 */
const RATE_ROWS = 4_000;
const TARGETS = { speedup: 10, rateTolerance: 0.05 };

const RUN_LABEL = Math.random().toString(36).slice(2, 8);

interface Phase {
  readonly name: string;
  readonly rows: readonly RowResult[];
  readonly wallMs: number;
  /** CPU of this process, all threads (Pay workers + sandbox + drivers), µs, and its main thread's event loop utilization (0..1). */
  readonly cpuMicros: number;
  readonly eventLoop: number;
  /** How late the main thread's event loop ran timers during the phase (ms): p99 and max. */
  readonly loopDelay: { readonly p99: number; readonly max: number };
  /** The Pay workers' own event loops during the phase, when the copies run in workers: mean and max utilization, worst p99 and max delay. */
  readonly copiesLoop?: { readonly mean: number; readonly max: number; readonly p99: number; readonly maxDelay: number };
  /** What the stand-ins process (dynalite, fake AWS) saw and spent. */
  readonly standIns: Counts;
  readonly transfers: readonly { readonly body: Record<string, unknown> }[];
  readonly answers: readonly Answer[];
  readonly sandboxCalls: readonly { readonly status: unknown }[];
}

const byStatus = (rows: readonly { status: string }[]) => {
  const counts: { [status: string]: number } = {};
  for (const row of rows) counts[row.status] = (counts[row.status] ?? 0) + 1;
  return counts;
};
const describeStatuses = (rows: readonly { status: string }[]) =>
  Object.entries(byStatus(rows))
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');
const rate = (phase: Phase) => (phase.rows.filter((row) => row.status === 'SUCCEEDED').length * 1000) / phase.wallMs;
const mark = (ok: boolean) => (ok ? 'met' : 'NOT MET');
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(0)}%`;

async function main(): Promise<void> {
  const wallStarted = Date.now();
  const loadAtStart = loadavg()[0];
  const standIns = await startStandIns();
  const restoreAwsEnv = applyEnvironment({
    ...awsTestEnvironment(standIns.awsUrl, standIns.dynamoEndpoint),
    AWS_LAMBDA_FUNCTION_NAME: 'bench-batch-payout-pay',
  });
  const sandbox = await PurpleFleaSandbox.start({ latencyMs: LATENCY_MS });
  const recorder = recordAnswers(sandbox);
  const handWritten = createHandWrittenPayer(sandbox.baseUrl);
  const problems: string[] = [];
  const lines: string[] = [];
  const say = (line = '') => lines.push(line);
  let failed: unknown;
  const pools: PayWorkers[] = [];
  /** Handler output the workers discarded, per pool, as of its last statistics. */
  const workerBytes = new Map<PayWorkers, number>();
  const startWorkers = async (...args: Parameters<typeof startPayWorkers>) => {
    const pool = await startPayWorkers(...args);
    pools.push(pool);
    return pool;
  };

  /** Runs one measured phase on a freshly reset sandbox (20 ms per call, optionally rate limited). */
  const measure = async (name: string, run: () => Promise<RowResult[]>, rateLimit?: number, workers?: PayWorkers): Promise<Phase> => {
    sandbox.reset();
    sandbox.setLatency(LATENCY_MS);
    if (rateLimit !== undefined) sandbox.setRateLimit(WALLET_TRANSFER_PATH, rateLimit, RATE_WINDOW_MS);
    recorder.clear();
    const countsBefore = await standIns.counts();
    await workers?.startStats();
    const cpuBefore = process.cpuUsage();
    const eluBefore = performance.eventLoopUtilization();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    const rows = await run();
    const wallMs = performance.now() - started;
    delay.disable();
    const eventLoop = performance.eventLoopUtilization(eluBefore).utilization;
    const cpu = process.cpuUsage(cpuBefore);
    const workerStats = await workers?.stats();
    if (workers && workerStats)
      workerBytes.set(
        workers,
        workerStats.reduce((sum, w) => sum + w.discardedBytes, 0),
      );
    const standInCounts = subtractCounts(await standIns.counts(), countsBefore);
    return {
      name,
      rows,
      wallMs,
      cpuMicros: cpu.user + cpu.system,
      eventLoop,
      loopDelay: { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
      copiesLoop: workerStats && {
        mean: workerStats.reduce((sum, w) => sum + w.eventLoop, 0) / workerStats.length,
        max: Math.max(...workerStats.map((w) => w.eventLoop)),
        p99: Math.max(...workerStats.map((w) => w.delayP99Ms)),
        maxDelay: Math.max(...workerStats.map((w) => w.delayMaxMs)),
      },
      standIns: standInCounts,
      transfers: sandbox.committed(WALLET_TRANSFER_PATH),
      answers: [...recorder.answers],
      sandboxCalls: sandbox.calls,
    };
  };

  /** Exactly one committed transfer per SUCCEEDED row, each to a different agent (every row's agent is distinct). */
  const checkTransfers = (phase: Phase, expected: number) => {
    if (phase.transfers.length !== expected)
      problems.push(`${phase.name}: the sandbox committed ${phase.transfers.length} transfers, expected ${expected}`);
    const agents = new Set(phase.transfers.map((t) => t.body.to_agent));
    if (agents.size !== phase.transfers.length)
      problems.push(`${phase.name}: ${phase.transfers.length - agents.size} duplicate transfers (same agent paid twice)`);
  };
  const checkAllSucceeded = (phase: Phase, expected: number) => {
    const good = phase.rows.filter((row) => row.status === 'SUCCEEDED' && row.repeated !== true).length;
    if (phase.rows.length !== expected || good !== expected) {
      problems.push(
        `${phase.name}: ${phase.rows.length} rows (${describeStatuses(phase.rows)}; ${phase.rows.filter((r) => r.repeated).length} repeated), expected ${expected} new SUCCEEDED`,
      );
    }
  };

  try {
    const payEnvironment = (requestsPerSecond: number) => ({
      POWERTOOLS_SERVICE_NAME: BATCH_PAYOUT_METRICS.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: BATCH_PAYOUT_METRICS.namespace,
      // requestTimeoutMs left out: the handler's default (10 s), as a deployed construct has it.
      ...connectionEnvironment({
        secretArn: standIns.secretArn,
        apiKeyField: 'key',
        agentIdField: 'agent_id',
        baseUrl: sandbox.baseUrl,
        ledgerTableName: LEDGER_TABLE,
      }),
      ...batchPayoutPayEnvironment({
        requestsPerSecond,
        concurrency: PAY_CONCURRENCY,
        dryRun: false,
        enabled: true,
        maxPayoutPerAgentUsdc: 1000,
        maxBatchTotalUsdc: 100_000,
      }),
    });

    silenceOutput();
    const bytesBefore = sink.bytes;

    // --- 1. Throughput ----------------------------------------------------------------------
    const ours = await startWorkers(MAX_CONCURRENCY, { kind: 'bundle', bundle: PAY_BUNDLE }, payEnvironment(NON_BINDING_RPS));
    const bare = await startWorkers(MAX_CONCURRENCY, {
      kind: 'bare',
      baseUrl: sandbox.baseUrl,
      secretArn: standIns.secretArn,
      concurrency: PAY_CONCURRENCY,
    });
    const warmUp = async (copies: readonly PayCopy[], label: string) => {
      const items = payoutItems(`${RUN_LABEL}_warm_${label}`, WARMUP_ROWS_PER_COPY * copies.length);
      const batches = batchesOf(items, WARMUP_ROWS_PER_COPY, `warm-${label}-${RUN_LABEL}`);
      await Promise.all(copies.map((pay, i) => pay(batches[i])));
    };
    const warmupStarted = Date.now();
    sandbox.setLatency(LATENCY_MS);
    await warmUp(ours.copies, 'ours');
    await warmUp(bare.copies, 'bare');
    for (const item of payoutItems(`${RUN_LABEL}_warm_seq`, 20)) await handWritten.pay(item);
    const warmupMs = Date.now() - warmupStarted;

    const oursPhase = await measure(
      'ledger',
      () => driveBatches(ours.copies, batchesOf(payoutItems(`${RUN_LABEL}_ours`, ROWS), ITEMS_PER_BATCH, `ours-${RUN_LABEL}`)),
      undefined,
      ours,
    );
    checkAllSucceeded(oursPhase, ROWS);
    checkTransfers(oursPhase, ROWS);

    const barePhase = await measure(
      'no ledger',
      () => driveBatches(bare.copies, batchesOf(payoutItems(`${RUN_LABEL}_bare`, ROWS), ITEMS_PER_BATCH, `bare-${RUN_LABEL}`)),
      undefined,
      bare,
    );
    checkAllSucceeded(barePhase, ROWS);
    checkTransfers(barePhase, ROWS);

    const seqPhase = await measure('hand-written loop', async () => {
      const rows: RowResult[] = [];
      for (const item of payoutItems(`${RUN_LABEL}_seq`, SEQUENTIAL_SAMPLE)) rows.push(await handWritten.pay(item));
      return rows;
    });
    checkAllSucceeded(seqPhase, SEQUENTIAL_SAMPLE);
    checkTransfers(seqPhase, SEQUENTIAL_SAMPLE);

    // --- 2. Rate limit ----------------------------------------------------------------------
    await ours.close();
    await bare.close();
    const paced = await startWorkers(MAX_CONCURRENCY, { kind: 'bundle', bundle: PAY_BUNDLE }, payEnvironment(RUN_RATE / MAX_CONCURRENCY));
    // Warmed before the limit is set (the secret, the first connections); their limiters' next slots are long past by then.
    await warmUp(paced.copies, 'paced');
    const ratePhase = await measure(
      'rate limit',
      () => driveBatches(paced.copies, batchesOf(payoutItems(`${RUN_LABEL}_rate`, RATE_ROWS), ITEMS_PER_BATCH, `rate-${RUN_LABEL}`)),
      RUN_RATE,
      paced,
    );
    const rateSucceeded = ratePhase.rows.filter((row) => row.status === 'SUCCEEDED').length;
    if (ratePhase.rows.length !== RATE_ROWS) problems.push(`rate limit: ${ratePhase.rows.length} row outcomes for ${RATE_ROWS} rows`);
    checkTransfers(ratePhase, rateSucceeded);
    const logBytes = sink.bytes - bytesBefore + [...workerBytes.values()].reduce((sum, n) => sum + n, 0);
    unsilenceOutput();

    // --- Report -----------------------------------------------------------------------------
    const phases = [oursPhase, barePhase, seqPhase];
    const [oursRate, bareRate, seqRate] = phases.map(rate);
    say('BatchPayout benchmark (issue 4)');
    say(
      `  bundle ${relative(REPO_ROOT, PAY_BUNDLE)}, node ${process.version}, ${availableParallelism()} CPUs, 1-min load average ${loadAtStart.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end`,
    );
    if (loadAtStart > availableParallelism() - 0.5) {
      say(
        `  NOTE: the machine was busy when the run started (load average ${loadAtStart.toFixed(2)} on ${availableParallelism()} CPUs): the ledger and`,
      );
      say('  rate-limit phases are CPU-bound here, so their figures understate this box; compare within one run, or rerun when idle.');
    }
    say(`  the sandbox adds ${LATENCY_MS} ms to every call, in every phase below.`);
    say('  where things run: each Pay copy in a worker thread of its own (its own event loop), as Lambda containers each have');
    say("  their own CPU and event loop; the Purple Flea sandbox and the drivers on THIS process's main thread (in-process sandbox:");
    say('  it is reconfigured and its answers timed per phase); dynalite (the ledger table) and the fake Secrets Manager in the');
    say(
      '  stand-ins child process of bench/stand-ins.ts. Handler logs and EMF go to a discarding sink (in each worker) ' +
        `(${(logBytes / 1024 / 1024).toFixed(1)} MiB discarded).`,
    );
    say(
      `  warm-up (not timed, before each phase's copies run): ${WARMUP_ROWS_PER_COPY} rows per copy and 20 hand-written-loop rows (secret fetch, first connections), ${warmupMs} ms.`,
    );
    say();

    say(
      `Throughput: ${ROWS.toLocaleString('en-US')} distinct rows, batches of ${ITEMS_PER_BATCH}, ${MAX_CONCURRENCY} copies (maxConcurrency) x ${PAY_CONCURRENCY} rows in flight (PAY_CONCURRENCY)`,
    );
    const cpuPerRow = (micros: number, phase: Phase) => micros / 1000 / phase.rows.length;
    const row = (phase: Phase) => [
      phase.name,
      String(phase.rows.length),
      (phase.wallMs / 1000).toFixed(2),
      rate(phase).toFixed(1),
      String(phase.transfers.length),
      describeStatuses(phase.rows),
      (phase.standIns.dynamodb / phase.rows.length).toFixed(2),
      `${cpuPerRow(phase.cpuMicros, phase).toFixed(2)} (${pct(phase.cpuMicros / 1000, phase.wallMs)})`,
      `${cpuPerRow(phase.standIns.cpuMicros, phase).toFixed(2)} (${pct(phase.standIns.cpuMicros / 1000, phase.wallMs)})`,
      phase.copiesLoop ? `${pct(phase.copiesLoop.mean, 1)} (max ${pct(phase.copiesLoop.max, 1)})` : '-',
      phase.copiesLoop ? `${phase.copiesLoop.p99.toFixed(0)} / ${phase.copiesLoop.maxDelay.toFixed(0)}` : '-',
      pct(phase.eventLoop, 1),
      `${phase.loopDelay.p99.toFixed(0)} / ${phase.loopDelay.max.toFixed(0)}`,
    ];
    say(
      table(
        [
          [
            'variant',
            'rows',
            'wall s',
            'payouts/s',
            'transfers',
            'rows by status',
            'DDB req/row',
            'CPU ms/row here*',
            'CPU ms/row stand-ins*',
            "copies' loops*",
            "copies' delay p99/max ms*",
            'main loop*',
            'main delay p99/max ms*',
          ],
          row(oursPhase),
          row(barePhase),
          row(seqPhase),
        ],
        [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12],
      ),
    );
    say(`  ledger     the bundled Pay handler, ledger path per row (REQUESTS_PER_SECOND ${NON_BINDING_RPS} per copy: never binds)`);
    say(
      '  no ledger  the same structure (10 copies in 10 workers, batches of 100, 5 rows in flight each), each row only the POST through a',
    );
    say("             PurpleFleaClient of its own per copy (the handler's client: cached secret, 429 back-off); no ledger, no limiter");
    say(
      `  hand-written loop  the hand-written pattern 2: one keep-alive http POST per row, one row at a time, no ledger. A SAMPLE of ${SEQUENTIAL_SAMPLE} rows`,
    );
    say(
      `             (${ROWS.toLocaleString('en-US')} would take ~${((ROWS * seqPhase.wallMs) / seqPhase.rows.length / 1000).toFixed(0)} s); its rate is computed from the sample: ` +
        `${(seqPhase.wallMs / seqPhase.rows.length).toFixed(2)} ms per row, ${LATENCY_MS} ms of it the sandbox's added latency.`,
    );
    say('  * CPU time (user + system) per row during the phase, and in brackets as a share of the wall time (100% = one core busy):');
    say('    "here" = this process, all threads (the 10 Pay workers + the sandbox + the driver), "stand-ins" = the child process');
    say('    (dynalite + fake AWS). "copies\' loops" = the Pay workers\' event loop utilization, mean over the 10 (and the busiest),');
    say('    "copies\' delay" = how late their timers ran (perf_hooks.monitorEventLoopDelay), worst worker: each copy\'s rate limiter');
    say('    and http timeouts run on its own loop. "main loop"/"main delay" = the main thread (the sandbox\'s 20 ms, the driver).');
    say();
    const oursCpu = cpuPerRow(oursPhase.cpuMicros + oursPhase.standIns.cpuMicros, oursPhase);
    say('Throughput summary (target: ours, ledger included, >= 10x the hand-written loop)');
    const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}x`;
    say(
      table(
        [
          ['measure', 'figure', 'target', ''],
          ['payouts/s, ours (ledger)', oursRate.toFixed(1), '', ''],
          ['payouts/s, no ledger', bareRate.toFixed(1), '', ''],
          ['payouts/s, hand-written loop (sample)', seqRate.toFixed(1), '', ''],
          ['ours / hand-written loop', ratio(oursRate, seqRate), `>= ${TARGETS.speedup}x`, mark(oursRate >= TARGETS.speedup * seqRate)],
          ['no ledger / hand-written loop', ratio(bareRate, seqRate), '(reference)', ''],
          ['ours / no ledger', `${((100 * oursRate) / bareRate).toFixed(0)}%`, '(reference)', ''],
          [
            `latency bound: ${MAX_CONCURRENCY * PAY_CONCURRENCY} rows in flight / ${LATENCY_MS} ms`,
            ((MAX_CONCURRENCY * PAY_CONCURRENCY * 1000) / LATENCY_MS).toFixed(0),
            '(reference)',
            '',
          ],
          [
            `CPU bound, ours: ${availableParallelism()} cores / ${oursCpu.toFixed(2)} ms per row`,
            ((availableParallelism() * 1000) / oursCpu).toFixed(0),
            '(reference)',
            '',
          ],
        ],
        [1],
      ),
    );
    say('  "CPU bound": the rate at which ours would use every core of this machine for its own CPU per row (this process +');
    say('  stand-ins), i.e. the most this box can show whatever the concurrency; other work on the machine lowers it further.');
    say();

    // Rate limit figures from the sandbox's answers on /wallet/transfer, timed by the recorder.
    const transferAnswers = ratePhase.answers.filter((a) => a.path === WALLET_TRANSFER_PATH).sort((a, b) => a.at - b.at);
    const commits = transferAnswers.filter((a) => a.status === 200);
    const steadyMs = commits.length > 1 ? commits[commits.length - 1].at - commits[0].at : NaN;
    const achieved = ((commits.length - 1) * 1000) / steadyMs;
    const tooMany = ratePhase.sandboxCalls.filter((call) => call.status === 429).length;
    // The sandbox's fixed windows, replayed from the answer times: a window opens at the first request after the last one closed.
    const windows: number[] = [];
    let windowStart = -Infinity;
    for (const answer of transferAnswers) {
      if (answer.at - windowStart >= RATE_WINDOW_MS) {
        windowStart = answer.at;
        windows.push(0);
      }
      windows[windows.length - 1] += 1;
    }
    const fullWindows = windows.slice(0, -1);
    const within = Math.abs(achieved - RUN_RATE) / RUN_RATE <= TARGETS.rateTolerance;
    say(
      `Rate limit: maxRequestsPerSecond ${RUN_RATE} over maxConcurrency ${MAX_CONCURRENCY} (REQUESTS_PER_SECOND ${RUN_RATE / MAX_CONCURRENCY} per copy; the handler paces at 97% of it),`,
    );
    say(
      `  the sandbox allowing ${RUN_RATE} requests per ${RATE_WINDOW_MS} ms fixed window on ${WALLET_TRANSFER_PATH}, ${LATENCY_MS} ms added per call; ${RATE_ROWS} rows, ${MAX_CONCURRENCY} fresh copies.`,
    );
    say(
      `  rows: ${describeStatuses(ratePhase.rows)}; ${ratePhase.transfers.length} transfers committed; wall ${(ratePhase.wallMs / 1000).toFixed(2)} s ` +
        `(CPU here ${pct(ratePhase.cpuMicros / 1000, ratePhase.wallMs)}, stand-ins ${pct(ratePhase.standIns.cpuMicros / 1000, ratePhase.wallMs)}).`,
    );
    // A row whose slot is more than a second away is claimed first and marked SENDING after its wait: one ledger write more.
    say(
      `  ledger: ${(ratePhase.standIns.dynamodb / ratePhase.rows.length).toFixed(2)} DynamoDB requests per row (2 when a row waits for its slot and then claims as SENDING, 3 when it claims before a long wait).`,
    );
    say(
      `  achieved rate: ${commits.length} commits between the first and the last commit, ${(steadyMs / 1000).toFixed(2)} s apart (answer times recorded at the sandbox).`,
    );
    say(
      `  the sandbox's windows, replayed from those times: ${windows.length} windows, requests per full window min ${Math.min(...fullWindows)} / max ${Math.max(...fullWindows)} (limit ${RUN_RATE}):`,
    );
    say(`    ${windows.join(' ')}`);
    const pacedLoops = ratePhase.copiesLoop;
    if (pacedLoops) {
      say(
        `  each copy's own event loop (its limiter, in its worker): utilization mean ${pct(pacedLoops.mean, 1)} (max ${pct(pacedLoops.max, 1)}), timers late by p99 ${pacedLoops.p99.toFixed(0)} ms / max ${pacedLoops.maxDelay.toFixed(0)} ms (worst worker);`,
      );
    }
    say(
      `  the main thread's (the sandbox, the driver): utilization ${pct(ratePhase.eventLoop, 1)}, timers late by p99 ${ratePhase.loopDelay.p99.toFixed(0)} ms / max ${ratePhase.loopDelay.max.toFixed(0)} ms.`,
    );
    say(
      table(
        [
          ['measure', 'figure', 'target', ''],
          [
            'achieved transfers/s',
            achieved.toFixed(1),
            `${RUN_RATE} +/- ${TARGETS.rateTolerance * 100}% (${RUN_RATE * (1 - TARGETS.rateTolerance)}..${RUN_RATE * (1 + TARGETS.rateTolerance)})`,
            mark(within),
          ],
          ['429s at the sandbox', String(tooMany), '0', mark(tooMany === 0)],
        ],
        [1],
      ),
    );
    say();
    say(`  targets are reported, never enforced. Total wall time ${((Date.now() - wallStarted) / 1000).toFixed(1)} s.`);
    if (problems.length > 0) {
      say();
      say('CORRECTNESS CHECK FAILED:');
      for (const problem of problems) say(`  ${problem}`);
      process.exitCode = 1;
    } else {
      say(
        '  every throughput row SUCCEEDED (new, not repeated); each phase committed exactly one transfer per SUCCEEDED row, no agent paid twice.',
      );
    }
  } catch (error) {
    failed = error;
  } finally {
    unsilenceOutput();
    for (const pool of pools) await pool.close().catch(() => undefined);
    handWritten.close();
    await sandbox.close();
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
