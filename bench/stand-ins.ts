/**
 * The bench process's side of the stand-ins: starts bench/stand-ins-process.ts in a child process
 * (node --import tsx, over child_process.fork's IPC channel), and asks it for its counters between
 * measurement phases and to close at the end.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { BenchFailure, REPO_ROOT } from './scenario';
import type { Counts, FromStandIns, StandInAddresses, ToStandIns } from './stand-ins-protocol';

const CHILD_SCRIPT = join(__dirname, 'stand-ins-process.ts');
const START_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 10_000;
/** How much of the child's output to keep for an error message. */
const OUTPUT_TAIL_CHARS = 4_000;

export interface StandIns extends StandInAddresses {
  /** The stand-ins' totals so far (subtract two to get what happened in between). */
  counts(): Promise<Counts>;
  /** Closes the servers and waits for the process to exit. */
  close(): Promise<void>;
}

export async function startStandIns(): Promise<StandIns> {
  const child = fork(CHILD_SCRIPT, [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    // Its output is kept (for an error message), never shown: the AWS SDK's Node version warning is noise here.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const failure = (what: string) => new BenchFailure(`stand-ins process: ${what}${output.trim() ? `\n${output.trim()}` : ''}`);

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let closing = false;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (counts: Counts) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();

  const addresses = await new Promise<StandInAddresses>((resolve, reject) => {
    const timer = setTimeout(() => reject(failure(`not ready after ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.on('message', (message: FromStandIns) => {
      switch (message.type) {
        case 'ready':
          clearTimeout(timer);
          resolve(message.addresses);
          return;
        case 'failed':
          clearTimeout(timer);
          reject(failure(message.message));
          return;
        case 'counts': {
          const pending = waiting.get(message.id);
          waiting.delete(message.id);
          if (pending) {
            clearTimeout(pending.timer);
            pending.resolve(message.counts);
          }
          return;
        }
      }
    });
    child.once('error', (error) => reject(failure(error.message)));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(failure(`exited (code ${code}) before it was ready`));
    });
  }).catch(async (error: unknown) => {
    child.kill();
    throw error;
  });

  void exited.then((code) => {
    if (closing) return;
    // Gone in the middle of the run: the handler's next request fails too; the counters must not wait.
    for (const pending of waiting.values()) {
      clearTimeout(pending.timer);
      pending.reject(failure(`exited unexpectedly (code ${code})`));
    }
    waiting.clear();
  });

  return {
    ...addresses,
    counts: () =>
      new Promise<Counts>((resolve, reject) => {
        if (!child.connected) throw failure('not connected');
        const id = nextId++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(failure(`no counters after ${REPLY_TIMEOUT_MS} ms`));
        }, REPLY_TIMEOUT_MS);
        waiting.set(id, { resolve, reject, timer });
        child.send({ type: 'counts', id } satisfies ToStandIns);
      }),
    async close() {
      closing = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const killTimer = setTimeout(() => child.kill(), REPLY_TIMEOUT_MS);
      if (child.connected) child.send({ type: 'close' } satisfies ToStandIns);
      else child.kill();
      await exited;
      clearTimeout(killTimer);
    },
  };
}
