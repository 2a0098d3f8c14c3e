/**
 * The BatchPayout benchmark's moving parts (bench/batch-payout.bench.ts): the rows and batches,
 * the Pay "containers" (copies of the bundle, each in a worker thread of its own), the same structure without the ledger, the hand-written
 * sequential loop, and a timestamped record of every answer the sandbox sends.
 */
import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { mapWithConcurrency } from '../lambda/shared/batch/rate-limiter';
import { payoutActionKey } from '../lambda/shared/action-keys';
import { GATEWAY_PROFILE } from '../lambda/shared/purpleflea-api';
import { PurpleFleaClient } from '../lambda/shared/purpleflea-client';
import { CredentialSource } from '../lambda/shared/purpleflea-credentials';
import type { BatchInput, ActBatchEvent, PayoutItem } from '../lib/private/contracts/batch-engine';
import { PurpleFleaSandbox, WALLET_TRANSFER_PATH } from '../test/support/purpleflea-sandbox';
import { sink } from './output-sink';
import type { WorkerReply, WorkerRequest, WorkerSpec, WorkerStats } from './pay-worker-protocol';
import { AGENT_ID, BenchFailure, REPO_ROOT } from './scenario';
import { seedPost } from './bare-handler';

export const PAY_BUNDLE = resolve(REPO_ROOT, 'assets', 'batch-payout-pay', 'index.js');
/** The Pay function's timeout as the construct sets it (lib/batch-payout.ts, FUNCTION_TIMEOUT). */
const PAY_TIMEOUT_MS = 5 * 60_000;

/** One row's outcome, as far as the bench looks at it. */
export interface RowResult {
  readonly status: string;
  readonly repeated?: boolean;
}

/** One Lambda container running Pay: takes one batch at a time. */
export type PayCopy = (batch: ActBatchEvent) => Promise<readonly RowResult[]>;

// ---------------------------------------------------------------------------------------------
// Rows and batches

/**
 * `count` rows as Prepare writes them into input.csv (the normalized columns, as strings), each
 * paying a distinct agent: `label` keeps agent ids apart between the bench's phases.
 */
export function payoutItems(label: string, count: number): PayoutItem[] {
  return Array.from({ length: count }, (_, i) => {
    const score = ((i % 997) + 1) / 100;
    return {
      line: String(i + 2),
      agent_id: `agt_${label}_${i}`,
      score: score.toFixed(3),
      amount_usdc: (Math.round(score * 1000) / 100).toFixed(2),
    };
  });
}

/** The ItemBatcher's batches: a source key of their own, so no action key is shared with another phase. */
export function batchesOf(items: readonly PayoutItem[], itemsPerBatch: number, runLabel: string): ActBatchEvent[] {
  const batchInput: BatchInput = {
    runId: `bench-${runLabel}`,
    sourceBucket: 'bench-scores',
    sourceKey: `scores/${runLabel}-${randomUUID()}.csv`,
    sourceEtag: randomUUID().replace(/-/g, ''),
  };
  const batches: ActBatchEvent[] = [];
  for (let start = 0; start < items.length; start += itemsPerBatch)
    batches.push({ Items: items.slice(start, start + itemsPerBatch), BatchInput: batchInput });
  return batches;
}

/**
 * The Distributed Map, as far as throughput goes: every copy runs one batch at a time and takes the
 * next one when done (so maxConcurrency = copies.length batches in flight). Returns the rows' outcomes.
 */
export async function driveBatches(copies: readonly PayCopy[], batches: readonly ActBatchEvent[]): Promise<RowResult[]> {
  const results = new Array<readonly RowResult[]>(batches.length);
  let next = 0;
  await Promise.all(
    copies.map(async (pay) => {
      while (next < batches.length) {
        const index = next++;
        results[index] = await pay(batches[index]);
      }
    }),
  );
  return results.flat();
}

// ---------------------------------------------------------------------------------------------
// The Pay handler: one fresh copy of the bundle per container, each in a worker thread

export function lambdaContext(remainingMs = PAY_TIMEOUT_MS) {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'bench-batch-payout-pay',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench-batch-payout-pay',
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/bench-batch-payout-pay',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** `count` Pay containers, each a worker thread of its own, and what their event loops did. */
export interface PayWorkers {
  readonly copies: readonly PayCopy[];
  /** Starts every worker's loop statistics afresh (at the start of a measured phase). */
  startStats(): Promise<void>;
  /** Every worker's loop statistics since `startStats`, and the handler output it discarded since it started. */
  stats(): Promise<WorkerStats[]>;
  close(): Promise<void>;
}

/** Registers tsx in the worker, then runs bench/pay-worker.ts. */
const PAY_WORKER = resolve(__dirname, 'pay-worker.cjs');

/**
 * `count` Pay containers, each a worker thread of its own (bench/pay-worker.ts, through tsx's loader)
 * with its own event loop, as `count` Lambda containers each have their own CPU and event loop. Each
 * worker's process.env is this process's plus `env` (passed explicitly: workers would otherwise share
 * process.env), read while its module scope runs: for a 'bundle' worker, a fresh copy of
 * assets/batch-payout-pay/index.js (its settings, rate limiter, SDK clients and http agent). Resolves
 * once every worker has loaded what it runs. Handler output is discarded inside the workers.
 */
export async function startPayWorkers(count: number, spec: WorkerSpec, env: { [name: string]: string } = {}): Promise<PayWorkers> {
  const workers = Array.from({ length: count }, () => {
    const worker = new Worker(PAY_WORKER, { env: { ...process.env, ...env }, workerData: spec, stdout: true, stderr: true });
    // The worker discards its handler's output itself; anything else it writes goes to the sink too.
    const drain = (chunk: Buffer) => void (sink.bytes += chunk.length);
    worker.stdout.on('data', drain);
    worker.stderr.on('data', drain);
    const pending = new Map<number, { resolve(reply: WorkerReply): void; reject(error: Error): void }>();
    let nextId = 1;
    let failure: Error | undefined;
    const failAll = (error: Error) => {
      failure ??= error;
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    };
    const ready = new Promise<void>((resolveReady, rejectReady) => {
      pending.set(0, { resolve: () => resolveReady(), reject: rejectReady });
    });
    worker.on('message', (reply: WorkerReply) => {
      const waiter = pending.get(reply.id);
      pending.delete(reply.id);
      if (!waiter) return;
      if (reply.type === 'failed') waiter.reject(new BenchFailure(`Pay worker: ${reply.error}`));
      else waiter.resolve(reply);
    });
    worker.on('error', (error) => failAll(error));
    worker.on('exit', (code) => failAll(new BenchFailure(`Pay worker exited (code ${code})`)));
    const ask = (request: { type: WorkerRequest['type']; batch?: ActBatchEvent }) =>
      new Promise<WorkerReply>((resolveReply, rejectReply) => {
        if (failure) return rejectReply(failure);
        const id = nextId++;
        pending.set(id, { resolve: resolveReply, reject: rejectReply });
        worker.postMessage({ ...request, id } as WorkerRequest);
      });
    return { worker, ready, ask };
  });
  await Promise.all(workers.map((w) => w.ready));
  return {
    copies: workers.map(
      ({ ask }) =>
        async (batch: ActBatchEvent) =>
          ((await ask({ type: 'pay', batch })) as Extract<WorkerReply, { type: 'paid' }>).rows,
    ),
    startStats: async () => void (await Promise.all(workers.map(({ ask }) => ask({ type: 'stats-start' })))),
    stats: async () => (await Promise.all(workers.map(({ ask }) => ask({ type: 'stats' })))) as WorkerStats[],
    close: async () => {
      for (const { worker } of workers) worker.removeAllListeners('exit');
      await Promise.all(workers.map(({ worker }) => worker.terminate()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The same structure without the ledger

/**
 * Per container a PurpleFleaClient of its own (the handler's client: secret cached, 429 back-off),
 * `concurrency` rows in flight per batch, each row only the POST: no ledger, no rate limiter.
 */
export function noLedgerCopies(count: number, baseUrl: string, secretArn: string, concurrency: number): PayCopy[] {
  return Array.from({ length: count }, () => {
    const client = new PurpleFleaClient({
      baseUrl,
      credentials: new CredentialSource(secretArn, { apiKeyField: 'key', agentIdField: 'agent_id' }),
    });
    return async (batch: ActBatchEvent) => {
      const deadline = Date.now() + PAY_TIMEOUT_MS;
      const { sourceBucket, sourceKey, sourceEtag } = batch.BatchInput;
      return mapWithConcurrency(batch.Items, concurrency, async (item): Promise<RowResult> => {
        const outcome = await client.post(
          GATEWAY_PROFILE.walletTransfer({
            fromAgent: AGENT_ID,
            toAgent: item.agent_id,
            amountUsdc: Number(item.amount_usdc),
            memo: `pipeline-bonus score=${Number(item.score).toFixed(3)}`,
          }),
          { actionKey: payoutActionKey(sourceBucket, sourceKey, sourceEtag, item.agent_id), deadline },
        );
        return { status: outcome.outcome };
      });
    };
  });
}

// ---------------------------------------------------------------------------------------------
// The hand-written loop

/**
 * The hand-written pattern 2, in Node: for each row, one POST /wallet/transfer (keep-alive agent, 10 s
 * timeout), fail on a non-2xx, parse the answer; one row at a time. No ledger, no logs.
 */
export function createHandWrittenPayer(baseUrl: string): { pay(item: PayoutItem): Promise<RowResult>; close(): void } {
  const agent = new http.Agent({ keepAlive: true });
  const url = new URL(WALLET_TRANSFER_PATH, baseUrl);
  const post = seedPost(url, agent);
  return {
    async pay(item) {
      const score = Number(item.score);
      const answer = await post(
        JSON.stringify({
          from_agent: AGENT_ID,
          to_agent: item.agent_id,
          amount: Math.round(score * 1000) / 100,
          memo: `pipeline-bonus score=${score.toFixed(3)}`,
        }),
      );
      if (answer.status < 200 || answer.status >= 300)
        throw new BenchFailure(`hand-written loop: transfer to ${item.agent_id} failed: ${answer.status} ${answer.text}`);
      JSON.parse(answer.text);
      return { status: 'SUCCEEDED' };
    },
    close: () => agent.destroy(),
  };
}

// ---------------------------------------------------------------------------------------------
// What the sandbox answered, and when

export interface Answer {
  /** Date.now() when the answer was written (the sandbox commits just before it answers). */
  readonly at: number;
  readonly path: string;
  readonly status: number;
}

/**
 * Records every answer the sandbox sends, with its time: the sandbox's recorded calls carry no time.
 * (PurpleFleaSandbox keeps its http.Server private, in a LoopbackServer's `server`; the bench only
 * listens to its 'request' events, as bench/stand-ins-process.ts listens to its connections.)
 */
export function recordAnswers(sandbox: PurpleFleaSandbox): { readonly answers: Answer[]; clear(): void } {
  const server = (sandbox as unknown as { server?: { server?: unknown } }).server?.server;
  if (!(server instanceof http.Server)) throw new BenchFailure('cannot find the http.Server of the PurpleFleaSandbox to time its answers');
  const answers: Answer[] = [];
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
    res.once('finish', () => answers.push({ at: Date.now(), path, status: res.statusCode }));
  });
  return { answers, clear: () => void answers.splice(0) };
}
