/**
 * Issue 17, item 2: Prepare and Summarize over 10,000, 100,000 and 1,000,000 synthetic rows against the
 * local S3 stand-in, time and peak memory per size, to show the curve: memory flat, time linear.
 *
 * - The S3 stand-in (FakeS3) runs in a process of its own (bench/batch-steps-s3.ts), which also makes the
 *   files: the scores file (BatchPayout), a JSON Lines file of transactions (FraudHoldEscrow), and, after
 *   each Prepare, the Map's result files for its input.csv (every batch run, 1 row in 1,000 REJECTED).
 * - Each step runs once per size in a fresh process (bench/batch-steps-worker.ts, bundled by esbuild as
 *   the handlers are, run by plain node), through the handler's factory with the real S3 client. Its peak
 *   memory is the process's own: `process.resourceUsage().maxRSS` at the end (Node, the SDK, the step:
 *   what a Lambda container's memory holds), and V8's used heap sampled every 10 ms.
 *
 * Prints a table, then the largest file one run can take within Lambda's 15 minutes, from the 1M figures.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { PreparedRun, SummarizeEvent } from '../lib/private/contracts/batch-engine';
import type { BatchPayoutPrepareSettings } from '../lib/private/contracts/batch-payout-env';
import type { FraudHoldPrepareSettings } from '../lib/private/contracts/fraud-hold-env';
import { BATCH_FUNCTION_DEFAULTS, BATCH_RUN_DEFAULTS } from '../lib/private/defaults';
import { FromS3, RUNS_BUCKET, S3Request, SOURCE_BUCKET, StepJob, StepReport } from './batch-steps-protocol';
import { table } from './stats';
import { defaultHoldPrepareSettings } from '../test/support/handler-settings';

const SIZES = (process.env.BENCH_BATCH_ROWS ?? '10000,100000,1000000').split(',').map(Number);
const REPO_ROOT = join(__dirname, '..');
/**
 * V8's old space, held to an eighth of the functions' memory: a step whose memory grew with the file would
 * fail at the larger sizes, and the peak RSS is what the step needs rather than what V8 lets pile up before it
 * collects (left alone, it grows its heap lazily towards Lambda's own limit, most of the function's memory).
 */
const HEAP_LIMIT_MB = 128;
const WORKER_FLAGS = (process.env.BENCH_WORKER_FLAGS ?? `--max-old-space-size=${HEAP_LIMIT_MB}`).split(' ').filter((flag) => flag !== '');
const LAMBDA_TIMEOUT_S = 15 * 60;
/** Lambda gives a function one vCPU at 1,769 MB, and CPU in proportion to memory below that. */
const ONE_VCPU_MB = 1769;
/** What the largest file leaves of the 15 minutes: room for a slower CPU or S3 than this machine's. */
const SAFETY = 0.5;

const MiB = 1024 * 1024;
const mb = (bytes: number) => (bytes / MiB).toFixed(0);
const count = (n: number) => n.toLocaleString('en-US');

interface Measured extends StepReport {
  readonly rows: number;
  readonly label: string;
}

/** The S3 stand-in process, and a request/answer over its IPC channel. */
async function startS3(): Promise<{ url: string; ask: <T>(message: S3Request) => Promise<T>; close: () => void }> {
  const child = fork(join(__dirname, 'batch-steps-s3.ts'), [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx', '--max-old-space-size=8192'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the S3 stand-in exited (code ${code})`)));
    child.on('message', (message: FromS3) => {
      if ('type' in message) return resolve(message.url);
      const pending = waiting.get(message.id);
      waiting.delete(message.id);
      if ('error' in message) pending?.reject(new Error(message.error));
      else pending?.resolve(message.result);
    });
  });
  return {
    url,
    ask: <T>(message: S3Request) =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        child.send({ ...message, id });
      }),
    close: () => child.kill(),
  };
}

/** Bundles the worker as the handlers are bundled (scripts/build-handlers.mjs). */
async function bundleWorker(dir: string): Promise<string> {
  const outfile = join(dir, 'worker.js');
  await build({
    entryPoints: [join(__dirname, 'batch-steps-worker.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    mainFields: ['module', 'main'],
  });
  return outfile;
}

/** Runs one step in a fresh process and returns what it measured. */
function runStep(worker: string, job: StepJob): Promise<StepReport> {
  return new Promise((resolve, reject) => {
    const child = fork(worker, [], { cwd: REPO_ROOT, execArgv: WORKER_FLAGS, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    child.once('message', (message: { report?: StepReport; error?: string }) =>
      message.report ? resolve(message.report) : reject(new Error(message.error)),
    );
    child.once('exit', (code) => code !== 0 && reject(new Error(`${job.step} exited (code ${code})\n${stderr}`)));
    child.send(job);
  });
}

function payoutSettings(): BatchPayoutPrepareSettings {
  return {
    agentIdColumn: 'agent_id',
    scoreColumn: 'score',
    usdPerScorePoint: 10,
    minPayoutUsdc: 0.01,
    maxPayoutPerAgentUsdc: 1000,
    maxBatchTotalUsdc: 1e12,
    outputBucket: RUNS_BUCKET,
    outputPrefix: 'payouts',
    processingOutputName: 'payout',
    processingFileName: 'scores.csv',
    enabled: true,
  };
}

function holdSettings(): FraudHoldPrepareSettings {
  return defaultHoldPrepareSettings({ maxBatchTotalUsdc: 1e12, outputBucket: RUNS_BUCKET, outputPrefix: 'holds' });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'batch-steps-'));
  const s3 = await startS3();
  const measured: Measured[] = [];
  const files: string[][] = [['rows', 'scores.csv', 'input.csv', 'Map result files', 'payout_log.jsonl', 'records (.jsonl.out)']];
  try {
    const worker = await bundleWorker(dir);
    for (const rows of SIZES) {
      await s3.ask({ type: 'forget', prefix: '' });
      const scoresBytes = await s3.ask<number>({ type: 'scores', key: `scores-${rows}.csv`, rows });
      const recordsBytes = await s3.ask<number>({ type: 'records', key: `records-${rows}.jsonl.out`, rows });

      const prepare = await runStep(worker, {
        step: 'payout-prepare',
        s3Url: s3.url,
        settings: payoutSettings(),
        event: { runId: `payout-${rows}`, input: { bucket: SOURCE_BUCKET, key: `scores-${rows}.csv` } },
      });
      measured.push({ ...prepare, rows, label: 'BatchPayout Prepare (CSV)' });
      console.log(
        `${count(rows)} rows: BatchPayout Prepare ${(prepare.ms / 1000).toFixed(1)} s, peak RSS ${mb(prepare.maxRssKiB * 1024)} MiB`,
      );

      const run = prepare.result as PreparedRun;
      const manifestKey = await s3.ask<string>({ type: 'map-results', run, itemsPerBatch: BATCH_RUN_DEFAULTS.itemsPerBatch });
      const event: SummarizeEvent = { ...run, mapResult: { ResultWriterDetails: { Bucket: RUNS_BUCKET, Key: manifestKey } } };
      const summarize = await runStep(worker, { step: 'payout-summarize', s3Url: s3.url, event });
      measured.push({ ...summarize, rows, label: 'BatchPayout Summarize' });
      console.log(
        `${count(rows)} rows: BatchPayout Summarize ${(summarize.ms / 1000).toFixed(1)} s, peak RSS ${mb(summarize.maxRssKiB * 1024)} MiB`,
      );

      const holds = await runStep(worker, {
        step: 'holds-prepare',
        s3Url: s3.url,
        settings: holdSettings(),
        event: { runId: `holds-${rows}`, input: { bucket: SOURCE_BUCKET, key: `records-${rows}.jsonl.out` } },
      });
      measured.push({ ...holds, rows, label: 'FraudHoldEscrow Prepare (JSON Lines)' });
      console.log(
        `${count(rows)} rows: FraudHoldEscrow Prepare ${(holds.ms / 1000).toFixed(1)} s, peak RSS ${mb(holds.maxRssKiB * 1024)} MiB`,
      );

      const [input, results, log] = await s3.ask<number[]>({
        type: 'sizes',
        keys: [
          { bucket: RUNS_BUCKET, key: run.inputKey },
          { bucket: RUNS_BUCKET, key: `${run.runFolder.prefix}/map-results/` },
          { bucket: RUNS_BUCKET, key: `${run.runFolder.prefix}/payout_log.jsonl` },
        ],
      });
      files.push([
        count(rows),
        `${mb(scoresBytes)} MiB`,
        `${mb(input)} MiB`,
        `${mb(results)} MiB`,
        `${mb(log)} MiB`,
        `${mb(recordsBytes)} MiB`,
      ]);
    }
  } finally {
    s3.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const labels = [...new Set(measured.map((m) => m.label))];
  const rowsOut: string[][] = [['step', 'rows', 'time (s)', 'µs a row', 'peak RSS (MiB)', 'peak heap (MiB)', 'RSS once loaded (MiB)']];
  for (const label of labels) {
    for (const m of measured.filter((x) => x.label === label)) {
      rowsOut.push([
        label,
        count(m.rows),
        (m.ms / 1000).toFixed(2),
        ((m.ms * 1000) / m.rows).toFixed(2),
        mb(m.maxRssKiB * 1024),
        mb(m.peakHeapBytes),
        mb(m.startRssBytes),
      ]);
    }
  }
  console.log();
  console.log(
    `Prepare and Summarize, one process each (node ${WORKER_FLAGS.join(' ')}), against the local S3 stand-in (FakeS3 in its own process), on this machine:`,
  );
  console.log(table(rowsOut, [1, 2, 3, 4, 5, 6]));
  console.log();
  console.log('Files of each size:');
  console.log(table(files, [0, 1, 2, 3, 4, 5]));

  const memoryMb = BATCH_FUNCTION_DEFAULTS.prepareAndSummarizeMemorySizeMb;
  const timeoutS = BATCH_FUNCTION_DEFAULTS.prepareAndSummarizeTimeoutMinutes * 60;
  const cpuShare = Math.min(1, memoryMb / ONE_VCPU_MB);
  const largest = Math.max(...SIZES);
  const peak = Math.max(...measured.map((m) => m.maxRssKiB * 1024));
  console.log();
  console.log(`Peak RSS over every step and size: ${mb(peak)} MiB, against ${memoryMb} MB configured (BATCH_FUNCTION_DEFAULTS).`);
  console.log(
    `The largest file one run can take within Lambda's ${LAMBDA_TIMEOUT_S / 60} minutes (timeout ${timeoutS / 60} min), from the ${count(largest)}-row times, ` +
      `at ${memoryMb} MB (${cpuShare.toFixed(2)} vCPU, assumed as fast as one core here) with half the time kept spare:`,
  );
  const limits: string[][] = [['step', 'rows a second', 'largest file (rows)']];
  for (const label of labels) {
    const m = measured.find((x) => x.label === label && x.rows === largest)!;
    const perSecond = (m.rows / m.ms) * 1000 * cpuShare;
    limits.push([
      label,
      count(Math.round(perSecond)),
      count(Math.floor((perSecond * Math.min(timeoutS, LAMBDA_TIMEOUT_S) * SAFETY) / 100_000) * 100_000),
    ]);
  }
  console.log(table(limits, [1, 2]));
}

main().catch((error: Error) => {
  console.error(error);
  process.exitCode = 1;
});
