/**
 * One Pay "container" of bench/batch-payout.bench.ts: runs in a worker thread of its own (its own
 * event loop, as a Lambda container has its own CPU and event loop), started by `startPayWorkers` in
 * bench/batch-payout-drive.ts through bench/pay-worker.cjs (which registers tsx). Its process.env is the copy's (the Worker's `env`),
 * read by the bundle's module scope when it is loaded here.
 *
 * Output: stdout/stderr of this thread are replaced by a discarding sink (logging still costs its
 * formatting and the write call; nothing is forwarded to the main thread or the terminal). Bytes
 * discarded are reported with the loop statistics.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { ActBatchEvent, ActBatchResult } from '../lib/private/contracts/batch-engine';
import { lambdaContext, noLedgerCopies, PayCopy } from './batch-payout-drive';
import type { WorkerReply, WorkerRequest, WorkerSpec } from './pay-worker-protocol';

let discarded = 0;
const discard = ((chunk: string | Uint8Array) => {
  discarded += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
  return true;
}) as typeof process.stdout.write;
process.stdout.write = discard;
process.stderr.write = discard;

const spec = workerData as WorkerSpec;
const port = parentPort;
if (!port) throw new Error('bench/pay-worker.ts runs as a worker thread only');

function loadCopy(): PayCopy {
  if (spec.kind === 'bundle') {
    const { handler } = require(spec.bundle) as { handler: (event: ActBatchEvent, context: unknown) => Promise<ActBatchResult> };
    return async (batch) => (await handler(batch, lambdaContext())).rows;
  }
  return noLedgerCopies(1, spec.baseUrl, spec.secretArn, spec.concurrency)[0];
}

const pay = loadCopy();
let eluFrom = performance.eventLoopUtilization();
let delay = monitorEventLoopDelay({ resolution: 10 });

const reply = (message: WorkerReply) => port.postMessage(message);

port.on('message', (request: WorkerRequest) => {
  switch (request.type) {
    case 'pay':
      pay(request.batch).then(
        (rows) =>
          reply({
            type: 'paid',
            id: request.id,
            rows: rows.map((r) => ({ status: r.status, ...(r.repeated !== undefined ? { repeated: r.repeated } : {}) })),
          }),
        (error: unknown) =>
          reply({ type: 'failed', id: request.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
      break;
    case 'stats-start':
      eluFrom = performance.eventLoopUtilization();
      delay.disable();
      delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      reply({ type: 'stats-started', id: request.id });
      break;
    case 'stats':
      delay.disable();
      reply({
        type: 'stats',
        id: request.id,
        eventLoop: performance.eventLoopUtilization(eluFrom).utilization,
        delayP99Ms: delay.percentile(99) / 1e6,
        delayMaxMs: delay.max / 1e6,
        discardedBytes: discarded,
      });
      break;
  }
});

reply({ type: 'ready', id: 0 });
