import {
  BATCH_PAYOUT_METRICS as METRIC,
  batchPayoutPayEnvironment,
  batchPayoutPrepareEnvironment,
  BatchPayoutPrepareSettings,
  PAYOUT_COMPLETED_EVENT,
} from '../../lib/private/contracts/batch-payout-env';
import { batchSummarizeEnvironment } from '../../lib/private/contracts/batch-engine';
import { FAKE_ACCOUNT_ID, FAKE_REGION } from '../support/fake-aws';
import { faultMix, seededRandom } from '../support/fault-mix';
import { defaultPayoutPrepareSettings } from '../support/handler-settings';
import { WALLET_TRANSFER_PATH } from '../support/purpleflea-sandbox';
import { BatchHandlers, driveRun } from './batch-driver';
import {
  AGENT_ID,
  captureOutput,
  Harness,
  handlerEnvironment,
  lambdaContext,
  loadBundledHandler,
  readLedger,
  startHarness,
} from './handler-harness';

const SOURCE_BUCKET = 'model-scores';
const OUTPUT_BUCKET = 'payout-runs';
const BUS_ARN = `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:event-bus/default`;

const prepareDefaults = defaultPayoutPrepareSettings(OUTPUT_BUCKET);

let harness: Harness;
let output: ReturnType<typeof captureOutput>;
let fileCounter = 0;

function handlers(
  options: { prepare?: Partial<BatchPayoutPrepareSettings>; dryRun?: boolean; requestsPerSecond?: number; enabled?: boolean } = {},
): BatchHandlers {
  const service = { POWERTOOLS_SERVICE_NAME: METRIC.serviceName };
  const dryRun = options.dryRun ?? false;
  // Pay is told the same caps as Prepare, as the construct does.
  const { maxPayoutPerAgentUsdc, maxBatchTotalUsdc } = { ...prepareDefaults, ...options.prepare };
  return {
    prepare: loadBundledHandler<{ handler: BatchHandlers['prepare'] }>('batch-payout-prepare', {
      ...service,
      ...batchPayoutPrepareEnvironment({ ...prepareDefaults, ...options.prepare }),
    }).handler,
    act: loadBundledHandler<{ handler: BatchHandlers['act'] }>('batch-payout-pay', {
      ...service,
      ...handlerEnvironment(
        harness,
        batchPayoutPayEnvironment({
          requestsPerSecond: options.requestsPerSecond ?? 2000,
          concurrency: 5,
          dryRun,
          enabled: options.enabled ?? true,
          maxPayoutPerAgentUsdc,
          maxBatchTotalUsdc,
        }),
      ),
    }).handler,
    summarize: loadBundledHandler<{ handler: BatchHandlers['summarize'] }>('batch-payout-summarize', {
      ...service,
      ...handlerEnvironment(harness, batchSummarizeEnvironment({ eventBusName: BUS_ARN, dryRun })),
    }).handler,
  };
}

/** Uploads a scores file and returns its location. */
function upload(content: string): { bucket: string; key: string; etag: string } {
  fileCounter += 1;
  const key = `scores/run-${fileCounter}-${Date.now()}.csv`;
  const etag = harness.s3.putObject(SOURCE_BUCKET, key, content).replace(/"/g, '');
  return { bucket: SOURCE_BUCKET, key, etag };
}

let runCounter = 0;
const runId = () => `run-${++runCounter}-${Date.now()}`;
const transfers = () => harness.sandbox.committed(WALLET_TRANSFER_PATH);

beforeAll(async () => {
  harness = await startHarness();
  harness.s3.createBucket(SOURCE_BUCKET);
  harness.s3.createBucket(OUTPUT_BUCKET);
});
afterAll(async () => {
  await harness.close();
});
beforeEach(() => {
  harness.sandbox.reset();
  output = captureOutput();
});
afterEach(() => output.restore());

describe('BatchPayout: a scored CSV becomes payouts, each agent paid once', () => {
  test("the hand-written pattern: $10 per point, the story's memo, from the connection agent; the log reconciles", async () => {
    const source = upload('agent_id,score,team\nagt_alice,0.5,a\nagt_bob,1.234,b\nagt_carol,0.0005,c\nagt_dave,abc,d\nagt_erin,2,e\n');
    const putEventsBefore = harness.aws.putEvents.length;
    const { prepared, log, summary } = await driveRun(harness.s3, handlers(), runId(), { bucket: source.bucket, key: source.key });

    expect(prepared).toMatchObject({ source, rowsToAct: 3, totalToActUsdc: 37.34 });
    expect(transfers().map((t) => t.body)).toEqual(
      expect.arrayContaining([
        { from_agent: AGENT_ID, to_agent: 'agt_alice', amount: 5, memo: 'pipeline-bonus score=0.500' },
        { from_agent: AGENT_ID, to_agent: 'agt_bob', amount: 12.34, memo: 'pipeline-bonus score=1.234' },
        { from_agent: AGENT_ID, to_agent: 'agt_erin', amount: 20, memo: 'pipeline-bonus score=2.000' },
      ]),
    );
    expect(transfers()).toHaveLength(3);

    expect(log.rows.map((row: any) => [row.line, row.agent_id, row.status])).toEqual([
      [2, 'agt_alice', 'SUCCEEDED'],
      [3, 'agt_bob', 'SUCCEEDED'],
      [4, 'agt_carol', 'SKIPPED'],
      [5, 'agt_dave', 'INVALID'],
      [6, 'agt_erin', 'SUCCEEDED'],
    ]);
    expect(log.rows[0].result).toEqual(expect.objectContaining({ transfer_id: expect.any(String) }));
    expect(log.rows[3].error).toBe('score "abc" is not a number');
    expect(log.totals).toMatchObject({
      rows: 5,
      SUCCEEDED: { rows: 3, amountUsdc: 37.34 },
      SKIPPED: { rows: 1, amountUsdc: 0.01 },
      INVALID: { rows: 1, amountUsdc: 0 },
    });
    expect(summary.log).toBe(`s3://${OUTPUT_BUCKET}/${prepared.runFolder.prefix}/payout_log.jsonl`);
    expect(summary.summary).toBe(`s3://${OUTPUT_BUCKET}/${prepared.runFolder.prefix}/payout_summary.json`);

    const announced = harness.aws.putEvents.slice(putEventsBefore);
    expect(announced).toHaveLength(1);
    expect(announced[0]).toMatchObject({
      Source: PAYOUT_COMPLETED_EVENT.source,
      DetailType: PAYOUT_COMPLETED_EVENT.detailType,
      EventBusName: BUS_ARN,
    });
    expect(JSON.parse(announced[0].Detail!)).toMatchObject({
      log: summary.log,
      summary: summary.summary,
      totals: { SUCCEEDED: { rows: 3 } },
    });

    const ledgerRecord = await readLedger(harness, `v1:payout:${source.bucket}/${source.key}:${source.etag}:agt_bob`);
    expect(ledgerRecord).toMatchObject({ state: 'SUCCEEDED', amountUsdc: 12.34 });
  });

  test('running the same file again pays no one twice; a REJECTED row is tried again', async () => {
    const source = upload('agent_id,score\nagt_r1,1\nagt_r2,1\nagt_r3,1\n');
    harness.sandbox.injectFaults(WALLET_TRANSFER_PATH, { kind: 'status', status: 402, error: 'insufficient_balance' });
    const first = await driveRun(
      harness.s3,
      handlers(),
      runId(),
      { bucket: source.bucket, key: source.key },
      { itemsPerBatch: 1, maxConcurrency: 1 },
    );
    expect(first.log.totals).toMatchObject({ SUCCEEDED: { rows: 2 }, REJECTED: { rows: 1 } });
    expect(transfers()).toHaveLength(2);

    const second = await driveRun(harness.s3, handlers(), runId(), { bucket: source.bucket, key: source.key });
    expect(second.log.totals).toMatchObject({ SUCCEEDED: { rows: 3 }, REJECTED: { rows: 0 } });
    expect(transfers()).toHaveLength(3);
    expect(second.log.rows.filter((row: any) => row.repeated)).toHaveLength(2);
    expect(new Set(transfers().map((t) => t.body.to_agent)).size).toBe(3);
  });

  test('a new payout round is a new file: identical content pays no one again, changed content does', async () => {
    const content = 'agent_id,score\nagt_same,1\n';
    const a = upload(content);
    await driveRun(harness.s3, handlers(), runId(), { bucket: a.bucket, key: a.key });
    // Same key, same bytes: the same ETag, so the same action keys.
    harness.s3.putObject(a.bucket, a.key, content);
    await driveRun(harness.s3, handlers(), runId(), { bucket: a.bucket, key: a.key });
    expect(transfers()).toHaveLength(1);
    harness.s3.putObject(a.bucket, a.key, 'agent_id,score\nagt_same,1.5\n');
    await driveRun(harness.s3, handlers(), runId(), { bucket: a.bucket, key: a.key });
    expect(transfers().map((t) => t.body.amount)).toEqual([10, 15]);
  });

  test('the Pay handler takes a batch as Distributed Map sends it (Items, BatchInput)', async () => {
    const pay = handlers().act;
    const batch = {
      Items: [
        { line: '2', agent_id: 'agt_p1', score: '0.25', amount_usdc: '2.50' },
        { line: '3', agent_id: 'agt bad', score: '1', amount_usdc: '10.00' },
      ],
      BatchInput: { runId: 'r', sourceBucket: 'b', sourceKey: `k-${Date.now()}`, sourceEtag: 'e' },
    };
    const result = (await pay(batch, lambdaContext())) as { rows: any[] };
    expect(result.rows.map((row) => [row.line, row.status])).toEqual([
      [2, 'SUCCEEDED'],
      [3, 'INVALID'],
    ]);
    const again = (await pay(batch, lambdaContext())) as { rows: any[] };
    expect(again.rows[0]).toMatchObject({ status: 'SUCCEEDED', repeated: true });
    expect(transfers()).toHaveLength(1);
  });

  test('rows of a batch that never ran are REJECTED (not attempted) in the log, from the ledger', async () => {
    const source = upload('agent_id,score\nagt_f1,1\nagt_f2,1\n');
    const failing = {
      ...handlers(),
      act: async () => {
        throw new Error('Lambda.ServiceException');
      },
    };
    const { log, children } = await driveRun(harness.s3, failing, runId(), { bucket: source.bucket, key: source.key });
    expect(children.map((child) => child.Status)).toEqual(['FAILED']);
    expect(log.rows.map((row: any) => [row.status, row.error])).toEqual([
      ['REJECTED', 'never attempted: its batch did not run (a rerun or redrive pays it)'],
      ['REJECTED', 'never attempted: its batch did not run (a rerun or redrive pays it)'],
    ]);
    expect(transfers()).toHaveLength(0);
  });
});

describe('BatchPayout: files that pay no one', () => {
  test('a file over maxBatchTotalUsdc fails Prepare with the total and the cap; nothing is paid', async () => {
    const source = upload('agent_id,score\nagt_t1,60\nagt_t2,50\n');
    await expect(driveRun(harness.s3, handlers({ prepare: { maxBatchTotalUsdc: 1000 } }), runId(), source)).rejects.toThrow(
      `the total 1100.00 USDC of s3://${source.bucket}/${source.key} is over maxBatchTotalUsdc 1000: nothing moves`,
    );
    expect(harness.sandbox.calls).toHaveLength(0);
  });

  test.each([
    ['missing columns', 'agent,points\nagt_a,1\n', 'the scores file has no "agent_id" or "score" column'],
    ['an empty file', '', 'the scores file is empty'],
  ])('%s fails Prepare; nothing is paid', async (_name, content, message) => {
    const source = upload(content);
    await expect(driveRun(harness.s3, handlers(), runId(), source)).rejects.toThrow(message);
    expect(harness.sandbox.calls).toHaveLength(0);
    expect(output.records().some((line) => line.message === 'prepare FAILED: nothing is paid' && line.reason.includes(message))).toBe(true);
  });

  test('a header-only file is a run with nothing to pay and a log of zero rows', async () => {
    const source = upload('agent_id,score\r\n');
    const { log } = await driveRun(harness.s3, handlers(), runId(), source);
    expect(log.rows).toEqual([]);
    expect(log.totals).toMatchObject({ rows: 0, amountUsdc: 0 });
  });

  test('a missing source object fails Prepare', async () => {
    await expect(driveRun(harness.s3, handlers(), runId(), { bucket: SOURCE_BUCKET, key: 'scores/nope.csv' })).rejects.toThrow();
    expect(harness.sandbox.calls).toHaveLength(0);
  });

  test('enabled: false fails Prepare: nothing is paid', async () => {
    const source = upload('agent_id,score\nagt_x,1\n');
    await expect(driveRun(harness.s3, handlers({ prepare: { enabled: false } }), runId(), source)).rejects.toThrow(
      'BatchPayout is disabled',
    );
    expect(harness.sandbox.calls).toHaveLength(0);
  });

  test('dryRun: a full run and log, with no call', async () => {
    const source = upload('agent_id,score\nagt_d1,1\nagt_d2,0.001\n');
    const { log } = await driveRun(harness.s3, handlers({ dryRun: true }), runId(), source);
    expect(log.dryRun).toBe(true);
    expect(log.rows.map((row: any) => [row.status, row.error])).toEqual([
      ['SKIPPED', 'dry run: would pay 10.00 USDC'],
      ['SKIPPED', 'amount 0.01 is at or below minPayoutUsdc 0.01'],
    ]);
    expect(harness.sandbox.calls).toHaveLength(0);
  });
});

describe('finding 5: enabled: false stops Pay too, not only Prepare', () => {
  test('finding 5: a run in flight when the construct is disabled pays no one; its rows are SKIPPED (disabled)', async () => {
    const source = upload('agent_id,score\nagt_off_1,1\nagt_off_2,2.5\n');
    // Prepare ran while the construct was enabled; its batches reach a Pay function deployed with enabled: false.
    const { log } = await driveRun(harness.s3, { ...handlers(), act: handlers({ enabled: false }).act }, runId(), source);
    expect(harness.sandbox.calls).toHaveLength(0);
    expect(log.rows.map((row: any) => [row.agent_id, row.status, row.error])).toEqual([
      ['agt_off_1', 'SKIPPED', 'disabled (enabled: false): nothing is paid'],
      ['agt_off_2', 'SKIPPED', 'disabled (enabled: false): nothing is paid'],
    ]);
    expect(log.totals).toMatchObject({ rows: 2, SUCCEEDED: { rows: 0, amountUsdc: 0 }, SKIPPED: { rows: 2, amountUsdc: 35 } });
    // Nothing claimed: enabling the construct again and rerunning the file pays each row once.
    expect(await readLedger(harness, `v1:payout:${source.bucket}/${source.key}:${source.etag}:agt_off_1`)).toBeUndefined();
    await driveRun(harness.s3, handlers(), runId(), source);
    expect(
      transfers()
        .map((t) => t.body.to_agent)
        .sort(),
    ).toEqual(['agt_off_1', 'agt_off_2']);
  });

  test('finding 5: a redrive (the Map again, without Prepare) after the construct was disabled pays no one', async () => {
    const pay = handlers({ enabled: false }).act;
    const batch = {
      Items: [{ line: '2', agent_id: 'agt_redrive', score: '1', amount_usdc: '10.00' }],
      BatchInput: { runId: 'r', sourceBucket: 'b', sourceKey: `redrive-${Date.now()}`, sourceEtag: 'e' },
    };
    const result = (await pay(batch, lambdaContext())) as { rows: any[] };
    expect(result.rows).toEqual([
      expect.objectContaining({ line: 2, status: 'SKIPPED', error: 'disabled (enabled: false): nothing is paid', amount_usdc: 10 }),
    ]);
    expect(harness.sandbox.calls).toHaveLength(0);
    expect(output.metric(METRIC.payoutsSkipped)).toBe(1);
  });
});

describe('finding 11: Pay does not trust input.csv', () => {
  /** Prepare as usual, then `input.csv` rewritten, as anyone who may write the run folder could. */
  function tamperedAfterPrepare(all: BatchHandlers, rewrite: (csv: string) => string): BatchHandlers {
    return {
      ...all,
      prepare: async (event, context) => {
        const prepared = await all.prepare(event, context);
        const csv = harness.s3.getObject(prepared.runFolder.bucket, prepared.inputKey)!.toString('utf8');
        harness.s3.putObject(prepared.runFolder.bucket, prepared.inputKey, rewrite(csv));
        return prepared;
      },
    };
  }

  test('finding 11: a row raised past maxPayoutPerAgentUsdc, or given sub-cent digits, after Prepare is INVALID with the reason; nothing is sent for it', async () => {
    const source = upload('agent_id,score\nagt_cap_ok,1\nagt_cap_raised,2\nagt_cap_cents,3\n');
    const all = handlers({ prepare: { maxPayoutPerAgentUsdc: 100 } });
    const { log } = await driveRun(
      harness.s3,
      tamperedAfterPrepare(all, (csv) =>
        csv.replace('agt_cap_raised,2,20.00', 'agt_cap_raised,2,5000.00').replace('agt_cap_cents,3,30.00', 'agt_cap_cents,3,30.004'),
      ),
      runId(),
      source,
    );
    expect(transfers().map((t) => [t.body.to_agent, t.body.amount])).toEqual([['agt_cap_ok', 10]]);
    expect(log.rows.map((row: any) => [row.agent_id, row.status, row.error])).toEqual([
      ['agt_cap_ok', 'SUCCEEDED', undefined],
      [
        'agt_cap_raised',
        'INVALID',
        'amount_usdc 5000.00 is over maxPayoutPerAgentUsdc 100: input.csv is not what Prepare checked; not paid',
      ],
      ['agt_cap_cents', 'INVALID', 'amount_usdc "30.004" is not an amount in whole cents: input.csv is not what Prepare wrote; not paid'],
    ]);
    expect(await readLedger(harness, `v1:payout:${source.bucket}/${source.key}:${source.etag}:agt_cap_raised`)).toBeUndefined();
  });

  test('finding 11: a row over the run cap (maxBatchTotalUsdc) on its own is INVALID, whatever the per-row cap', async () => {
    const source = upload('agent_id,score\nagt_run_cap,1\n');
    const all = handlers({ prepare: { maxPayoutPerAgentUsdc: 1000, maxBatchTotalUsdc: 500 } });
    const { log } = await driveRun(
      harness.s3,
      tamperedAfterPrepare(all, (csv) => csv.replace('agt_run_cap,1,10.00', 'agt_run_cap,1,800.00')),
      runId(),
      source,
    );
    expect(transfers()).toHaveLength(0);
    expect(log.rows).toEqual([
      expect.objectContaining({
        agent_id: 'agt_run_cap',
        status: 'INVALID',
        error: 'amount_usdc 800.00 is over maxBatchTotalUsdc 500: input.csv is not what Prepare checked; not paid',
      }),
    ]);
  });
});

/** A JSON number's exact cents, from its shortest decimal text (what the log file holds). */
function centsOfLogged(amount: number | undefined): bigint {
  if (amount === undefined) return 0n;
  const text = String(amount);
  expect(text).toMatch(/^\d+(\.\d{1,2})?$/);
  const [whole, fraction = ''] = text.split('.');
  return BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'));
}

describe('finding 7: totals keep every cent', () => {
  test('finding 7: amounts over the largest a row may have are INVALID in Prepare with no amount; the totals reconcile to the cent with the rows', async () => {
    // Two rows of 50,000,000,000,000.02 USDC used to make the INVALID total end in .05; at 1e9 the cents are exact.
    const source = upload(
      'agent_id,score\nagt_t7_ok,1.234\nagt_t7_big_1,5000000000000.002\nagt_t7_big_2,5000000000000.002\nagt_t7_max,100000000\nagt_t7_max_2,99999999.999\n',
    );
    const { log } = await driveRun(harness.s3, handlers(), runId(), source);
    expect(log.rows.map((row: any) => [row.agent_id, row.status, row.amount_usdc, row.error])).toEqual([
      ['agt_t7_ok', 'SUCCEEDED', 12.34, undefined],
      ['agt_t7_big_1', 'INVALID', undefined, 'score 5000000000000.002 gives an amount over 1000000000 USDC, the largest a row may have'],
      ['agt_t7_big_2', 'INVALID', undefined, 'score 5000000000000.002 gives an amount over 1000000000 USDC, the largest a row may have'],
      ['agt_t7_max', 'INVALID', 1_000_000_000, 'amount 1000000000.00 is over maxPayoutPerAgentUsdc 1000'],
      ['agt_t7_max_2', 'INVALID', 999_999_999.99, 'amount 999999999.99 is over maxPayoutPerAgentUsdc 1000'],
    ]);
    // Every total, as the file holds it, is the exact sum of its rows' cents.
    for (const status of ['SUCCEEDED', 'SKIPPED', 'INVALID', 'REJECTED', 'UNKNOWN']) {
      const rows = log.rows.filter((row: any) => row.status === status);
      expect(centsOfLogged(log.totals[status].amountUsdc)).toBe(
        rows.reduce((sum: bigint, row: any) => sum + centsOfLogged(row.amount_usdc), 0n),
      );
    }
    expect(centsOfLogged(log.totals.amountUsdc)).toBe(199_999_999_999n + 1234n);
  });

  test('finding 7: a file whose rows add up to more than 10,000,000,000,000 USDC fails in Prepare: its log could not be exact; nothing is paid', async () => {
    // 10,001 rows of 1,000,000,000 USDC (each INVALID: over maxPayoutPerAgentUsdc), and one row to pay.
    const rows = Array.from({ length: 10_001 }, (_, i) => `agt_t7_sum_${i},100000000`);
    const source = upload(['agent_id,score', 'agt_t7_sum_pay,1', ...rows].join('\n'));
    await expect(driveRun(harness.s3, handlers(), runId(), source)).rejects.toThrow(
      `the rows of s3://${source.bucket}/${source.key} add up to 10001000000010.00 USDC, over 10000000000000 USDC: its log's totals could not be exact; nothing moves`,
    );
    expect(harness.sandbox.calls).toHaveLength(0);
  });
});

describe('BatchPayout: triggers', () => {
  test('an S3 Object Created event', async () => {
    const source = upload('agent_id,score\nagt_s3,1\n');
    const event = {
      'source': 'aws.s3',
      'detail-type': 'Object Created',
      'detail': { bucket: { name: source.bucket }, object: { key: source.key } },
    };
    const { log } = await driveRun(harness.s3, handlers(), runId(), event);
    expect(log.totals.SUCCEEDED.rows).toBe(1);
  });

  test('a completed processing job: the scores file in its output, from the event or DescribeProcessingJob', async () => {
    harness.s3.putObject(SOURCE_BUCKET, 'jobs/score-7/out/scores.csv', 'agent_id,score\nagt_pj,1\n');
    const outputs = { Outputs: [{ OutputName: 'payout', S3Output: { S3Uri: `s3://${SOURCE_BUCKET}/jobs/score-7/out` } }] };
    harness.aws.setProcessingJob('score-7', { ProcessingJobStatus: 'Completed', ProcessingOutputConfig: outputs });
    const bare = {
      'source': 'aws.sagemaker',
      'detail-type': 'SageMaker Processing Job State Change',
      'detail': { ProcessingJobName: 'score-7', ProcessingJobStatus: 'Completed' },
    };
    const { prepared } = await driveRun(harness.s3, handlers(), runId(), bare);
    expect(prepared.source.key).toBe('jobs/score-7/out/scores.csv');
    const withOutputs = { ...bare, detail: { ...bare.detail, ProcessingOutputConfig: outputs } };
    await driveRun(harness.s3, handlers(), runId(), withOutputs);
    expect(transfers()).toHaveLength(1);
  });
});

describe('BatchPayout: 10,000 rows end to end, with faults', () => {
  test('every row has one status, transfers match the log, no agent is paid twice, totals reconcile, a rerun adds only REJECTED retries', async () => {
    const random = seededRandom(20261128);
    const rows = Array.from({ length: 10_000 }, (_, i) => `agt_e2e_${i},${(random() * 5).toFixed(4)}`);
    const source = upload(['agent_id,score', ...rows].join('\n'));
    // 5% 429s, 1% "committed but the answer was lost", 1% connection resets before commit; the rest answer.
    const faults = faultMix(random, 13_000);
    harness.sandbox.injectFaults(WALLET_TRANSFER_PATH, ...faults);

    const first = await driveRun(harness.s3, handlers(), runId(), source);
    const log = first.log;
    expect(log.rows).toHaveLength(10_000);
    expect(new Set(log.rows.map((row: any) => row.line)).size).toBe(10_000);
    const byStatus = (status: string) => log.rows.filter((row: any) => row.status === status);
    const succeeded = byStatus('SUCCEEDED');
    const unknown = byStatus('UNKNOWN');
    expect(succeeded.length + unknown.length + byStatus('SKIPPED').length + byStatus('INVALID').length + byStatus('REJECTED').length).toBe(
      10_000,
    );
    expect(unknown.length).toBeGreaterThan(0);

    // The sandbox's committed transfers are the SUCCEEDED rows plus some of the UNKNOWN ones, and nobody twice.
    const paid = transfers().map((t) => t.body.to_agent as string);
    expect(new Set(paid).size).toBe(paid.length);
    const succeededAgents = new Set(succeeded.map((row: any) => row.agent_id));
    const unknownAgents = new Set(unknown.map((row: any) => row.agent_id));
    for (const agent of succeededAgents) expect(paid).toContain(agent);
    for (const agent of paid) expect(succeededAgents.has(agent) || unknownAgents.has(agent)).toBe(true);

    // The totals reconcile to the cent with the rows, and with the money the sandbox moved.
    const cents = (rowsOfStatus: any[]) => rowsOfStatus.reduce((sum, row) => sum + Math.round((row.amount_usdc ?? 0) * 100), 0);
    expect(Math.round(log.totals.SUCCEEDED.amountUsdc * 100)).toBe(cents(succeeded));
    expect(log.totals.rows).toBe(10_000);
    const statusCents = ['SUCCEEDED', 'SKIPPED', 'INVALID', 'REJECTED', 'UNKNOWN'].reduce(
      (sum, s) => sum + Math.round(log.totals[s].amountUsdc * 100),
      0,
    );
    expect(Math.round(log.totals.amountUsdc * 100)).toBe(statusCents);
    const committedForSucceeded = transfers().filter((t) => succeededAgents.has(t.body.to_agent as string));
    expect(committedForSucceeded.reduce((sum, t) => sum + Math.round((t.body.amount as number) * 100), 0)).toBe(cents(succeeded));

    // A second run adds no transfer except for REJECTED rows tried again.
    const rejectedBefore = new Set(byStatus('REJECTED').map((row: any) => row.agent_id));
    const transfersBefore = transfers().length;
    const second = await driveRun(harness.s3, handlers(), runId(), source);
    const added = transfers()
      .slice(transfersBefore)
      .map((t) => t.body.to_agent as string);
    for (const agent of added) expect(rejectedBefore.has(agent)).toBe(true);
    expect(
      second.log.rows
        .filter((row: any) => row.status === 'UNKNOWN')
        .map((row: any) => row.agent_id)
        .sort(),
    ).toEqual([...unknownAgents].sort());
    const allPaid = transfers().map((t) => t.body.to_agent as string);
    expect(new Set(allPaid).size).toBe(allPaid.length);
  }, 300_000);
});

describe('finding 6: a repeated row is logged with the amount that moved', () => {
  const note = 'repeated: the ledger recorded 10.00 USDC for this action; this run computed 15.00 USDC';

  test('finding 6: after a change of usdPerScorePoint, a rerun logs the recorded amount, says it differs, and totals what moved', async () => {
    const source = upload('agent_id,score\nagt_t6_paid,1\n');
    await driveRun(harness.s3, handlers(), runId(), source);
    expect(transfers().map((t) => t.body.amount)).toEqual([10]);

    // The construct redeployed at $15 a point; the same file (the same action keys) runs again.
    const { log } = await driveRun(harness.s3, handlers({ prepare: { usdPerScorePoint: 15 } }), runId(), source);
    expect(transfers()).toHaveLength(1);
    expect(log.rows).toEqual([
      expect.objectContaining({
        agent_id: 'agt_t6_paid',
        status: 'SUCCEEDED',
        repeated: true,
        amount_usdc: 10,
        computed_amount_usdc: 15,
        note,
      }),
    ]);
    expect(log.totals).toMatchObject({ SUCCEEDED: { rows: 1, amountUsdc: 10 }, amountUsdc: 10 });
  });

  test('finding 6: a repeat Summarize reads from the ledger (its batch did not run) is logged with the recorded amount too', async () => {
    const source = upload('agent_id,score\nagt_t6_ledger,1\n');
    await driveRun(harness.s3, handlers(), runId(), source);
    const failing = {
      ...handlers({ prepare: { usdPerScorePoint: 15 } }),
      act: async () => {
        throw new Error('Lambda.ServiceException');
      },
    };
    const { log } = await driveRun(harness.s3, failing, runId(), source);
    expect(log.rows).toEqual([
      expect.objectContaining({
        agent_id: 'agt_t6_ledger',
        status: 'SUCCEEDED',
        repeated: true,
        amount_usdc: 10,
        computed_amount_usdc: 15,
        note,
      }),
    ]);
    expect(log.totals).toMatchObject({ SUCCEEDED: { rows: 1, amountUsdc: 10 } });
  });

  test('finding 6: a repeat whose amount did not change shows no note', async () => {
    const source = upload('agent_id,score\nagt_t6_same,1\n');
    await driveRun(harness.s3, handlers(), runId(), source);
    const { log } = await driveRun(harness.s3, handlers(), runId(), source);
    expect(log.rows[0]).toMatchObject({ status: 'SUCCEEDED', repeated: true, amount_usdc: 10 });
    expect(log.rows[0].note).toBeUndefined();
    expect(log.rows[0].computed_amount_usdc).toBeUndefined();
  });
});

describe('BatchPayout: Summarize asks the ledger about rows the Map did not report as done', () => {
  test('a row the Map reported REJECTED that another run of the same file has since paid is SUCCEEDED in the log', async () => {
    const source = upload('agent_id,score\nagt_race,1\n');
    const all = handlers();
    // The Map's batch reports REJECTED (e.g. out of time) ...
    const rejectingAct = async (batch: any) => ({
      rows: batch.Items.map((item: any) => ({
        line: Number(item.line),
        agent_id: item.agent_id,
        score: item.score,
        amount_usdc: Number(item.amount_usdc),
        status: 'REJECTED',
        error: 'not sent: no time left in this batch',
      })),
    });
    // ... while another run of the same file pays the row.
    await driveRun(harness.s3, all, runId(), source);
    const { log } = await driveRun(harness.s3, { ...all, act: rejectingAct }, runId(), source);
    expect(transfers()).toHaveLength(1);
    expect(log.rows[0]).toMatchObject({ agent_id: 'agt_race', status: 'SUCCEEDED', repeated: true });
  });
});
