/**
 * Cold init, in fresh node processes: require() of the bundle and the first invocation, timed
 * inside the process with process.hrtime.bigint().
 */
import { spawn } from 'node:child_process';
import { BenchFailure, FEATURES, RULE_ARN } from './scenario';

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

export interface ColdRun {
  readonly initMs: number;
  readonly firstInvokeMs: number;
}

/** One fresh process: `env` is the function's environment, `eventId` must not have been seen by the ledger. */
export function coldRun(bundle: string, env: { [name: string]: string }, nodeOptions: string, eventId: string): Promise<ColdRun> {
  const event = { eventId, ruleArn: RULE_ARN, features: FEATURES };
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
        reject(
          new BenchFailure(
            `cold-start process exited ${code} with status ${status ?? '(none)'}: ${stderr.trim() || stdout.trim().slice(-2000)}`,
          ),
        );
        return;
      }
      resolvePromise({ initMs: Number(value('INIT_NS')) / 1e6, firstInvokeMs: Number(value('FIRST_INVOKE_NS')) / 1e6 });
    });
  });
}
