/**
 * Issue 12, finding 3: a run's log never says REJECTED (or UNKNOWN) for a row another invocation was
 * still sending when the run was summarized. Two executions of one file at once, and a batch that Step
 * Functions retried while its first invocation was still running; each log is checked against the
 * ledger and the sandbox after every invocation has ended.
 */
import { payoutActionKey } from '../../lambda/shared/action-keys';
import { batchSummarizeEnvironment } from '../../lib/private/contracts/batch-engine';
import {
  BATCH_PAYOUT_METRICS as METRIC,
  batchPayoutPayEnvironment,
  batchPayoutPrepareEnvironment,
} from '../../lib/private/contracts/batch-payout-env';
import { FAKE_ACCOUNT_ID, FAKE_REGION } from '../support/fake-aws';
import { faultMix, seededRandom } from '../support/fault-mix';
import { defaultPayoutPrepareSettings } from '../support/handler-settings';
import { WALLET_TRANSFER_PATH } from '../support/purpleflea-sandbox';
import { BatchHandlers, driveRun } from './batch-driver';
import { captureOutput, Harness, handlerEnvironment, loadBundledHandler, readLedger, startHarness } from './handler-harness';

const SOURCE_BUCKET = 'overlap-scores';
const OUTPUT_BUCKET = 'overlap-runs';
const BUS_ARN = `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:event-bus/default`;

let harness: Harness;
let output: ReturnType<typeof captureOutput>;
let counter = 0;

beforeAll(async () => {
  harness = await startHarness();
  harness.s3.createBucket(SOURCE_BUCKET);
  harness.s3.createBucket(OUTPUT_BUCKET);
});
afterAll(() => harness.close());
beforeEach(() => {
  harness.sandbox.reset();
  output = captureOutput();
});
afterEach(() => output.restore());

/** The batch handlers; `requestsPerSecond` is one batch's pace (a slow one claims rows before their slot). */
function handlers(requestsPerSecond: number): BatchHandlers {
  const service = { POWERTOOLS_SERVICE_NAME: METRIC.serviceName };
  return {
    prepare: loadBundledHandler<{ handler: BatchHandlers['prepare'] }>('batch-payout-prepare', {
      ...service,
      ...batchPayoutPrepareEnvironment(defaultPayoutPrepareSettings(OUTPUT_BUCKET)),
    }).handler,
    act: loadBundledHandler<{ handler: BatchHandlers['act'] }>('batch-payout-pay', {
      ...service,
      ...handlerEnvironment(
        harness,
        batchPayoutPayEnvironment({
          requestsPerSecond,
          concurrency: 4,
          dryRun: false,
          enabled: true,
          maxPayoutPerAgentUsdc: 1000,
          maxBatchTotalUsdc: 1_000_000,
        }),
      ),
    }).handler,
    summarize: loadBundledHandler<{ handler: BatchHandlers['summarize'] }>('batch-payout-summarize', {
      ...service,
      ...handlerEnvironment(harness, batchSummarizeEnvironment({ eventBusName: BUS_ARN, dryRun: false })),
    }).handler,
  };
}

function upload(agents: number): { bucket: string; key: string; etag: string } {
  counter += 1;
  const rows = Array.from({ length: agents }, (_, index) => `agt_overlap_${counter}_${index},${(index % 7) + 1}`);
  const key = `scores/overlap-${counter}.csv`;
  const etag = harness.s3.putObject(SOURCE_BUCKET, key, ['agent_id,score', ...rows].join('\n')).replace(/"/g, '');
  return { bucket: SOURCE_BUCKET, key, etag };
}

/**
 * Every row of a log, once all invocations have ended, against what happened: a row whose money moved
 * is never REJECTED; UNKNOWN only when the ledger says so; SUCCEEDED only when the transfer exists.
 */
async function expectLogTrue(log: any, source: { bucket: string; key: string; etag: string }) {
  const paid = new Set(harness.sandbox.committed(WALLET_TRANSFER_PATH).map((transfer) => transfer.body.to_agent as string));
  for (const row of log.rows) {
    const record = await readLedger(harness, payoutActionKey(source.bucket, source.key, source.etag, row.agent_id));
    if (row.status === 'REJECTED') expect({ line: row.line, paid: paid.has(row.agent_id) }).toEqual({ line: row.line, paid: false });
    if (row.status === 'UNKNOWN') expect({ line: row.line, state: record?.state }).toEqual({ line: row.line, state: 'UNKNOWN' });
    if (row.status === 'SUCCEEDED') expect({ line: row.line, paid: paid.has(row.agent_id) }).toEqual({ line: row.line, paid: true });
  }
  const inProgress = log.rows.filter((row: any) => row.status === 'IN_PROGRESS').map((row: any) => row.line);
  expect(log.totals.IN_PROGRESS.rows).toBe(inProgress.length);
  if (inProgress.length > 0) expect(log).toMatchObject({ overlapped: true, inProgressLines: inProgress });
}

describe('finding 3: a batch log under overlapping invocations', () => {
  test('finding 3: two executions of one file at once, with faults: neither log calls moved money REJECTED or UNKNOWN', async () => {
    const source = upload(16);
    harness.sandbox.injectFaults(WALLET_TRANSFER_PATH, ...faultMix(seededRandom(20261204), 120));
    // The first run is slow: it claims rows and waits for their slots. The second starts once the first holds some.
    const slow = driveRun(harness.s3, handlers(2), `overlap-slow-${counter}`, source, { itemsPerBatch: 16, maxConcurrency: 1 });
    await harness.sandbox.waitForCalls(2);
    const fast = await driveRun(harness.s3, handlers(2_000), `overlap-fast-${counter}`, source, { itemsPerBatch: 16, maxConcurrency: 1 });
    const first = await slow;

    await expectLogTrue(fast.log, source);
    await expectLogTrue(first.log, source);
    expect(fast.log.rows.some((row: any) => row.status === 'IN_PROGRESS')).toBe(true);
    // Nobody is paid twice, and every row of the file was paid by one run or the other (or is UNKNOWN).
    const paid = harness.sandbox.committed(WALLET_TRANSFER_PATH).map((transfer) => transfer.body.to_agent as string);
    expect(new Set(paid).size).toBe(paid.length);
    expect(output.text()).toContain('run overlapped another invocation');
  }, 60_000);

  test('finding 3: a retried Act whose first invocation is still running reports the held rows IN_PROGRESS, not REJECTED', async () => {
    const source = upload(12);
    const slowAct = handlers(3).act;
    const retryAct = handlers(2_000).act;
    const firstInvocations: Promise<unknown>[] = [];
    // Step Functions retries the batch (Lambda.ServiceException) while the first invocation goes on paying.
    const retried: BatchHandlers = {
      ...handlers(2_000),
      act: async (batch, context) => {
        firstInvocations.push(slowAct(batch, context));
        await harness.sandbox.waitForCalls(2);
        return retryAct(batch, context);
      },
    };
    const { log } = await driveRun(harness.s3, retried, `retried-${counter}`, source, { itemsPerBatch: 12, maxConcurrency: 1 });
    await Promise.all(firstInvocations);

    await expectLogTrue(log, source);
    expect(log.overlapped).toBe(true);
    expect(log.totals.IN_PROGRESS.rows).toBeGreaterThan(0);
    expect(harness.sandbox.committed(WALLET_TRANSFER_PATH)).toHaveLength(12);
  }, 60_000);
});
