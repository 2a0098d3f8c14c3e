import { batchSummarizeEnvironment } from '../../lib/private/contracts/batch-engine';
import {
  FRAUD_HOLD_METRICS as METRIC,
  fraudHoldActEnvironment,
  fraudHoldPrepareEnvironment,
  FraudHoldPrepareSettings,
  HOLDS_COMPLETED_EVENT,
  HOLDS_LOG_FILE,
} from '../../lib/private/contracts/fraud-hold-env';
import { FAKE_ACCOUNT_ID, FAKE_REGION } from '../support/fake-aws';
import { faultMix, seededRandom } from '../support/fault-mix';
import { defaultHoldPrepareSettings } from '../support/handler-settings';
import { ESCROW_CREATE_PATH } from '../support/purpleflea-sandbox';
import { BatchHandlers, driveRun } from './batch-driver';
import { captureOutput, Harness, handlerEnvironment, lambdaContext, loadBundledHandler, readLedger, startHarness } from './handler-harness';

const RECORDS_BUCKET = 'transform-output';
const OUTPUT_BUCKET = 'hold-runs';
const BUS_ARN = `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:event-bus/default`;

const prepareDefaults = defaultHoldPrepareSettings({ maxBatchTotalUsdc: 10_000_000, outputBucket: OUTPUT_BUCKET });

let harness: Harness;
let output: ReturnType<typeof captureOutput>;
let counter = 0;
const unique = () => `${++counter}-${Date.now()}`;

function handlers(options: { prepare?: Partial<FraudHoldPrepareSettings>; dryRun?: boolean; enabled?: boolean } = {}): BatchHandlers {
  const service = { POWERTOOLS_SERVICE_NAME: METRIC.serviceName };
  const dryRun = options.dryRun ?? false;
  // Act is told the same caps as Prepare, as the construct does.
  const { maxHoldUsdc, maxBatchTotalUsdc } = { ...prepareDefaults, ...options.prepare };
  return {
    prepare: loadBundledHandler<{ handler: BatchHandlers['prepare'] }>('fraud-hold-prepare', {
      ...service,
      ...fraudHoldPrepareEnvironment({ ...prepareDefaults, ...options.prepare }),
    }).handler,
    act: loadBundledHandler<{ handler: BatchHandlers['act'] }>('fraud-hold-act', {
      ...service,
      ...handlerEnvironment(
        harness,
        fraudHoldActEnvironment({
          conditionTemplate: 'manual_review_cleared:fraud_score={fraudScore}',
          requestsPerSecond: 2000,
          concurrency: 5,
          dryRun,
          enabled: options.enabled ?? true,
          maxHoldUsdc,
          maxBatchTotalUsdc,
        }),
      ),
    }).handler,
    summarize: loadBundledHandler<{ handler: BatchHandlers['summarize'] }>('fraud-hold-summarize', {
      ...service,
      ...handlerEnvironment(harness, batchSummarizeEnvironment({ eventBusName: BUS_ARN, dryRun })),
    }).handler,
  };
}

const jsonl = (records: object[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';
const escrows = () => harness.sandbox.committed(ESCROW_CREATE_PATH);
const drive = (h: BatchHandlers, input: unknown) => driveRun(harness.s3, h, `run-${unique()}`, input, { logFile: HOLDS_LOG_FILE });

beforeAll(async () => {
  harness = await startHarness();
  harness.s3.createBucket(RECORDS_BUCKET);
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

describe('FraudHoldEscrow: flagged transactions become escrow holds', () => {
  test("the story's example: a transform job's .out objects, holds above 0.80 with the story's condition and metadata", async () => {
    const prefix = `fraud/${unique()}/`;
    harness.s3.putObject(
      RECORDS_BUCKET,
      `${prefix}part-1.jsonl.out`,
      jsonl([
        { transaction_id: 'tx-001', buyer: 'agt_buyer_001', seller: 'agt_merchant_042', amount: 250.0, fraud_score: 0.91 },
        { transaction_id: 'tx-002', buyer: 'agt_buyer_002', seller: 'agt_merchant_003', amount: 12, fraud_score: 0.2 },
      ]),
    );
    harness.s3.putObject(
      RECORDS_BUCKET,
      `${prefix}part-2.jsonl.out`,
      jsonl([
        {
          transaction_id: 'tx-009',
          buyer: 'agt_buyer_009',
          seller: 'agt_merchant_017',
          amount: 89.5,
          SageMakerOutput: { fraud_score: 0.85 },
        },
      ]),
    );
    harness.s3.putObject(RECORDS_BUCKET, `${prefix}_SUCCESS`, '');
    const event = {
      'source': 'aws.sagemaker',
      'detail-type': 'SageMaker Transform Job State Change',
      'detail': {
        TransformJobName: 'fraud-batch-7',
        TransformJobStatus: 'Completed',
        TransformOutput: { S3OutputPath: `s3://${RECORDS_BUCKET}/${prefix}` },
      },
    };
    const putEventsBefore = harness.aws.putEvents.length;
    const { log, summary } = await drive(handlers(), event);

    expect(escrows().map((e) => e.body)).toEqual(
      expect.arrayContaining([
        {
          buyer: 'agt_buyer_001',
          seller: 'agt_merchant_042',
          amount: 250,
          condition: 'manual_review_cleared:fraud_score=0.91',
          metadata: { source: 'sagemaker-batch', transaction_id: 'tx-001', fraud_score: 0.91, transform_job: 'fraud-batch-7' },
        },
        expect.objectContaining({ buyer: 'agt_buyer_009', amount: 89.5, condition: 'manual_review_cleared:fraud_score=0.85' }),
      ]),
    );
    expect(escrows()).toHaveLength(2);
    expect(log.rows.map((row: any) => [row.transaction_id, row.status])).toEqual([
      ['tx-001', 'SUCCEEDED'],
      ['tx-002', 'SKIPPED'],
      ['tx-009', 'SUCCEEDED'],
    ]);
    expect(log.totals).toMatchObject({ rows: 3, SUCCEEDED: { rows: 2, amountUsdc: 339.5 }, SKIPPED: { rows: 1, amountUsdc: 12 } });
    expect(await readLedger(harness, 'v1:hold:tx-001')).toMatchObject({ state: 'SUCCEEDED' });
    const announced = harness.aws.putEvents.slice(putEventsBefore);
    expect(announced).toEqual([
      expect.objectContaining({ Source: HOLDS_COMPLETED_EVENT.source, DetailType: HOLDS_COMPLETED_EVENT.detailType }),
    ]);
    expect(JSON.parse(announced[0].Detail!)).toMatchObject({ log: summary.log });
  });

  test('exactly one hold per transaction, ever: a rerun of the file, and another file with the same transaction', async () => {
    const transaction = `tx-once-${unique()}`;
    const key = `uploads/${unique()}.out`;
    harness.s3.putObject(
      RECORDS_BUCKET,
      key,
      jsonl([{ transaction_id: transaction, buyer: 'agt_b', seller: 'agt_s', amount: 5, fraud_score: 0.99 }]),
    );
    await drive(handlers(), { bucket: RECORDS_BUCKET, key });
    await drive(handlers(), { bucket: RECORDS_BUCKET, key });
    const other = `uploads/${unique()}.out`;
    harness.s3.putObject(
      RECORDS_BUCKET,
      other,
      jsonl([{ transaction_id: transaction, buyer: 'agt_b', seller: 'agt_s', amount: 5, fraud_score: 0.99 }]),
    );
    const third = await drive(handlers(), { bucket: RECORDS_BUCKET, key: other });
    expect(escrows()).toHaveLength(1);
    expect(third.log.rows[0]).toMatchObject({ status: 'SUCCEEDED', repeated: true });
  });

  test('a record without a transaction id is held once, identified by its object and line', async () => {
    const key = `uploads/${unique()}.out`;
    harness.s3.putObject(RECORDS_BUCKET, key, jsonl([{ buyer: 'agt_b', seller: 'agt_s', amount: 7, fraud_score: 0.9 }]));
    const etag = harness.s3.describeObject(RECORDS_BUCKET, key)!.etag.replace(/"/g, '');
    await drive(handlers(), { bucket: RECORDS_BUCKET, key });
    await drive(handlers(), { bucket: RECORDS_BUCKET, key });
    expect(escrows()).toHaveLength(1);
    expect(await readLedger(harness, `v1:hold:${RECORDS_BUCKET}/${key}:${etag}:1`)).toMatchObject({ state: 'SUCCEEDED' });
  });

  test('bad records are INVALID with the reason, and the good ones are held', async () => {
    const key = `uploads/${unique()}.out`;
    harness.s3.putObject(
      RECORDS_BUCKET,
      key,
      [
        '{"transaction_id":"b1","buyer":"agt_b","seller":"agt_s","fraud_score":0.9}',
        '{"transaction_id":"b2","buyer":"agt_b","seller":"agt_s","amount":5,"fraud_score":7}',
        '{"transaction_id":"b3","buyer":"agt_b","seller":"agt_s","amount":5,"fraud_score":"abc"}',
        '{"transaction_id":"b4","buyer":"bad buyer","seller":"agt_s","amount":5,"fraud_score":0.95}',
        'this is not json',
        `{"transaction_id":"good-${counter}","buyer":"agt_b","seller":"agt_s","amount":5,"fraud_score":0.95}`,
      ].join('\n'),
    );
    const { log } = await drive(handlers(), { bucket: RECORDS_BUCKET, key });
    expect(log.rows.map((row: any) => [row.status, row.error])).toEqual([
      ['INVALID', 'amount must be a number, got nothing'],
      ['INVALID', 'fraud_score must be a number between 0 and 1, got 7'],
      ['INVALID', 'fraud_score must be a number between 0 and 1, got "abc"'],
      ['INVALID', 'buyer "bad buyer" is not a valid agent id'],
      ['INVALID', `line 5 of ${key} is not JSON`],
      ['SUCCEEDED', undefined],
    ]);
    expect(escrows()).toHaveLength(1);
  });

  test('a run over maxBatchTotalUsdc holds nothing; dryRun holds nothing and logs everything', async () => {
    const key = `uploads/${unique()}.out`;
    harness.s3.putObject(
      RECORDS_BUCKET,
      key,
      jsonl([{ transaction_id: `cap-${counter}`, buyer: 'agt_b', seller: 'agt_s', amount: 600, fraud_score: 0.9 }]),
    );
    await expect(drive(handlers({ prepare: { maxBatchTotalUsdc: 500 } }), { bucket: RECORDS_BUCKET, key })).rejects.toThrow(
      'is over maxBatchTotalUsdc 500: nothing moves',
    );
    const dry = await drive(handlers({ dryRun: true }), { bucket: RECORDS_BUCKET, key });
    expect(dry.log.rows[0]).toMatchObject({ status: 'SKIPPED', error: 'dry run: would hold 600.00 USDC from agt_b for agt_s' });
    expect(harness.sandbox.calls).toHaveLength(0);
  });

  test('a transform job whose event has no output path is looked up; a prefix with no records fails', async () => {
    const prefix = `fraud/${unique()}/`;
    harness.s3.putObject(
      RECORDS_BUCKET,
      `${prefix}in.csv.out`,
      jsonl([{ transaction_id: `tj-${counter}`, buyer: 'agt_b', seller: 'agt_s', amount: 3, fraud_score: 0.81 }]),
    );
    harness.aws.setTransformJob('fraud-lookup', {
      TransformJobStatus: 'Completed',
      TransformOutput: { S3OutputPath: `s3://${RECORDS_BUCKET}/${prefix}` },
    });
    const bare = {
      'source': 'aws.sagemaker',
      'detail-type': 'SageMaker Transform Job State Change',
      'detail': { TransformJobName: 'fraud-lookup', TransformJobStatus: 'Completed' },
    };
    const { log } = await drive(handlers(), bare);
    expect(log.rows.map((row: any) => [row.status, row.object_key])).toEqual([['SUCCEEDED', `${prefix}in.csv.out`]]);
    expect(harness.aws.operations).toContain('DescribeTransformJob');
    await expect(drive(handlers(), { bucket: RECORDS_BUCKET, prefix: `empty/${unique()}/` })).rejects.toThrow('no record objects');
  });
});

describe('finding 5: enabled: false stops Act too, not only Prepare', () => {
  test('finding 5: a run in flight when the construct is disabled holds nothing; its rows are SKIPPED (disabled)', async () => {
    const key = `uploads/${unique()}.out`;
    harness.s3.putObject(
      RECORDS_BUCKET,
      key,
      jsonl([
        { transaction_id: `off-a-${counter}`, buyer: 'agt_b', seller: 'agt_s', amount: 40, fraud_score: 0.95 },
        { transaction_id: `off-b-${counter}`, buyer: 'agt_b', seller: 'agt_s', amount: 2.5, fraud_score: 0.9 },
      ]),
    );
    // Prepare ran while the construct was enabled; its batches reach an Act function deployed with enabled: false.
    const { log } = await drive({ ...handlers(), act: handlers({ enabled: false }).act }, { bucket: RECORDS_BUCKET, key });
    expect(harness.sandbox.calls).toHaveLength(0);
    expect(log.rows.map((row: any) => [row.status, row.error])).toEqual([
      ['SKIPPED', 'disabled (enabled: false): nothing is held'],
      ['SKIPPED', 'disabled (enabled: false): nothing is held'],
    ]);
    expect(log.totals).toMatchObject({ rows: 2, SUCCEEDED: { rows: 0 }, SKIPPED: { rows: 2, amountUsdc: 42.5 } });
    expect(await readLedger(harness, `v1:hold:off-a-${counter}`)).toBeUndefined();
  });

  test('finding 5: a redrive (the Map again, without Prepare) after the construct was disabled holds nothing', async () => {
    const act = handlers({ enabled: false }).act;
    const item = {
      line: '1',
      object_key: 'k.out',
      object_etag: 'e',
      object_line: '1',
      transaction_id: `redrive-${unique()}`,
      buyer: 'agt_b',
      seller: 'agt_s',
      amount_usdc: '5.00',
      fraud_score: '0.9',
      transform_job: '',
    };
    const result = (await act(
      { Items: [item], BatchInput: { runId: 'r', sourceBucket: RECORDS_BUCKET, sourceKey: 'k.out', sourceEtag: 'e' } },
      lambdaContext(),
    )) as { rows: any[] };
    expect(result.rows).toEqual([expect.objectContaining({ status: 'SKIPPED', error: 'disabled (enabled: false): nothing is held' })]);
    expect(harness.sandbox.calls).toHaveLength(0);
  });
});

describe('FraudHoldEscrow: transaction ids are exact and bounded', () => {
  const flagged = '"buyer":"agt_b","seller":"agt_s","amount":5,"fraud_score":0.95';

  test('two numeric ids beyond 2^53 in one file (one number to JSON.parse) are two transactions: both held', async () => {
    const key = `uploads/${unique()}.out`;
    harness.s3.putObject(
      RECORDS_BUCKET,
      key,
      [`{"transaction_id":9007199254740993,${flagged}}`, `{"transaction_id":9007199254740992,${flagged}}`].join('\n'),
    );
    const { log } = await drive(handlers(), { bucket: RECORDS_BUCKET, key });
    expect(log.rows.map((row: any) => [row.transaction_id, row.status])).toEqual([
      ['9007199254740993', 'SUCCEEDED'],
      ['9007199254740992', 'SUCCEEDED'],
    ]);
    expect(escrows()).toHaveLength(2);
    expect(await readLedger(harness, 'v1:hold:9007199254740993')).toMatchObject({ state: 'SUCCEEDED' });
    expect(await readLedger(harness, 'v1:hold:9007199254740992')).toMatchObject({ state: 'SUCCEEDED' });
  });

  test('across runs: another transaction whose id rounds to the same number is held too, not "SUCCEEDED repeated"', async () => {
    const first = `uploads/${unique()}.out`;
    harness.s3.putObject(RECORDS_BUCKET, first, `{"transaction_id":9007199254740996,${flagged}}\n`);
    await drive(handlers(), { bucket: RECORDS_BUCKET, key: first });
    const second = `uploads/${unique()}.out`;
    harness.s3.putObject(
      RECORDS_BUCKET,
      second,
      `{"transaction_id":9007199254740997,"buyer":"agt_b","seller":"agt_s","amount":7,"fraud_score":0.95}\n`,
    );
    const { log } = await drive(handlers(), { bucket: RECORDS_BUCKET, key: second });
    expect(log.rows).toEqual([expect.objectContaining({ transaction_id: '9007199254740997', status: 'SUCCEEDED', amount_usdc: 7 })]);
    expect(log.rows[0].repeated).toBeFalsy();
    expect(escrows().map((e) => e.body.amount)).toEqual([5, 7]);
  });

  test('a 2 KB transaction id is INVALID in Prepare with the reason (never a failed claim "a rerun sends it"); the other record is held', async () => {
    const key = `uploads/${unique()}.out`;
    harness.s3.putObject(
      RECORDS_BUCKET,
      key,
      [`{"transaction_id":"${'x'.repeat(2048)}",${flagged}}`, `{"transaction_id":"fine-${counter}",${flagged}}`].join('\n'),
    );
    const { log } = await drive(handlers(), { bucket: RECORDS_BUCKET, key });
    expect(log.rows.map((row: any) => [row.status, row.error])).toEqual([
      [
        'INVALID',
        `transaction_id "${'x'.repeat(64)}…" (2048 characters) is not a valid transaction id: 1 to 128 letters, digits and _ . : @ + = -`,
      ],
      ['SUCCEEDED', undefined],
    ]);
    expect(log.totals).toMatchObject({ INVALID: { rows: 1 }, SUCCEEDED: { rows: 1 }, REJECTED: { rows: 0 } });
    expect(escrows()).toHaveLength(1);
  });

  test('an id ending in a backslash is INVALID in Prepare; the Map (its CSV reader modelled) reads every held row as written, quotes and commas in the key too', async () => {
    const key = `uploads/${unique()} "odd", name.out`;
    const n = counter;
    harness.s3.putObject(
      RECORDS_BUCKET,
      key,
      [`{"transaction_id":"bs-${n}\\\\",${flagged}}`, `{"transaction_id":"plain-${n}",${flagged}}`].join('\n'),
    );
    const { log } = await drive(handlers(), { bucket: RECORDS_BUCKET, key });
    expect(log.rows.map((row: any) => [row.status, row.object_key, row.buyer, row.seller, row.amount_usdc])).toEqual([
      ['INVALID', key, 'agt_b', 'agt_s', 5],
      ['SUCCEEDED', key, 'agt_b', 'agt_s', 5],
    ]);
    expect(log.rows[0].error).toBe(
      `transaction_id "bs-${n}\\\\" is not a valid transaction id: 1 to 128 letters, digits and _ . : @ + = -`,
    );
    expect(escrows()).toEqual([
      expect.objectContaining({ body: expect.objectContaining({ metadata: expect.objectContaining({ transaction_id: `plain-${n}` }) }) }),
    ]);
  });
  test('Act holds nothing for a row whose transaction id breaks the rule, however it got into a batch', async () => {
    const act = handlers().act;
    const row = {
      line: '1',
      object_key: 'k.out',
      object_etag: 'e',
      object_line: '1',
      buyer: 'agt_b',
      seller: 'agt_s',
      amount_usdc: '5.00',
      fraud_score: '0.95',
      transform_job: '',
    };
    const batch = {
      Items: [
        { ...row, transaction_id: 'x'.repeat(2048) },
        { ...row, line: '2', transaction_id: 'tx\\' },
      ],
      BatchInput: { runId: 'r', sourceBucket: RECORDS_BUCKET, sourceKey: 'k.out', sourceEtag: 'e' },
    };
    const result = (await act(batch, lambdaContext())) as { rows: any[] };
    expect(result.rows.map((r) => [r.line, r.status, r.error.slice(0, 20)])).toEqual([
      [1, 'INVALID', 'malformed batch item'],
      [2, 'INVALID', 'malformed batch item'],
    ]);
    expect(harness.sandbox.calls).toHaveLength(0);
  });
});

describe('finding 11: Act does not trust input.csv', () => {
  test('finding 11: a hold raised past maxHoldUsdc, or past maxBatchTotalUsdc, after Prepare is INVALID with the reason; nothing is held for it', async () => {
    const id = unique();
    const key = `uploads/${id}.out`;
    const tx = (name: string) => `${name}-${id}`;
    harness.s3.putObject(
      RECORDS_BUCKET,
      key,
      jsonl([
        { transaction_id: tx('ok'), buyer: 'agt_b', seller: 'agt_s', amount: 10, fraud_score: 0.95 },
        { transaction_id: tx('raised'), buyer: 'agt_b', seller: 'agt_s', amount: 20, fraud_score: 0.95 },
        { transaction_id: tx('run'), buyer: 'agt_b', seller: 'agt_s', amount: 30, fraud_score: 0.95 },
      ]),
    );
    const all = handlers({ prepare: { maxHoldUsdc: 100, maxBatchTotalUsdc: 80 } });
    const tampered: BatchHandlers = {
      ...all,
      prepare: async (event, context) => {
        const prepared = await all.prepare(event, context);
        const csv = harness.s3.getObject(prepared.runFolder.bucket, prepared.inputKey)!.toString('utf8');
        // Each row's amount: 20.00 raised past maxHoldUsdc; 30.00 to 90.00, under maxHoldUsdc but past the run cap.
        const rewritten = csv
          .replace(`${tx('raised')},agt_b,agt_s,20.00`, `${tx('raised')},agt_b,agt_s,250.00`)
          .replace(`${tx('run')},agt_b,agt_s,30.00`, `${tx('run')},agt_b,agt_s,90.00`);
        expect(rewritten).not.toBe(csv);
        harness.s3.putObject(prepared.runFolder.bucket, prepared.inputKey, rewritten);
        return prepared;
      },
    };
    const { log } = await drive(tampered, { bucket: RECORDS_BUCKET, key });
    expect(escrows().map((e) => [(e.body.metadata as any).transaction_id, e.body.amount])).toEqual([[tx('ok'), 10]]);
    expect(log.rows.map((row: any) => [row.transaction_id, row.status, row.error])).toEqual([
      [tx('ok'), 'SUCCEEDED', undefined],
      [tx('raised'), 'INVALID', 'amount_usdc 250.00 is over maxHoldUsdc 100: input.csv is not what Prepare checked; not held'],
      [tx('run'), 'INVALID', 'amount_usdc 90.00 is over maxBatchTotalUsdc 80: input.csv is not what Prepare checked; not held'],
    ]);
    expect(await readLedger(harness, `v1:hold:${tx('raised')}`)).toBeUndefined();
  });
});

describe('finding 6: a repeated hold is logged with the amount that was held', () => {
  test('finding 6: a transaction held at 5.00 and found again at 7.00 in another file logs 5.00, says this run computed 7.00, and totals 5.00', async () => {
    const transaction = `tx-t6-${unique()}`;
    const first = `uploads/${unique()}.out`;
    harness.s3.putObject(
      RECORDS_BUCKET,
      first,
      jsonl([{ transaction_id: transaction, buyer: 'agt_b', seller: 'agt_s', amount: 5, fraud_score: 0.95 }]),
    );
    await drive(handlers(), { bucket: RECORDS_BUCKET, key: first });
    const rescored = `uploads/${unique()}.out`;
    harness.s3.putObject(
      RECORDS_BUCKET,
      rescored,
      jsonl([{ transaction_id: transaction, buyer: 'agt_b', seller: 'agt_s', amount: 7, fraud_score: 0.97 }]),
    );
    const { log } = await drive(handlers(), { bucket: RECORDS_BUCKET, key: rescored });
    expect(escrows().map((e) => e.body.amount)).toEqual([5]);
    expect(log.rows).toEqual([
      expect.objectContaining({
        transaction_id: transaction,
        status: 'SUCCEEDED',
        repeated: true,
        amount_usdc: 5,
        computed_amount_usdc: 7,
        note: 'repeated: the ledger recorded 5.00 USDC for this action; this run computed 7.00 USDC',
      }),
    ]);
    expect(log.totals).toMatchObject({ SUCCEEDED: { rows: 1, amountUsdc: 5 }, amountUsdc: 5 });
  });
});

describe('finding 7: totals keep every cent', () => {
  test('finding 7: a SKIPPED record of 1e20 USDC is INVALID (over the largest amount a row may have) and no longer swallows a 12.34 hold in the totals', async () => {
    const id = unique();
    const key = `uploads/${id}.out`;
    harness.s3.putObject(
      RECORDS_BUCKET,
      key,
      [
        `{"transaction_id":"t7-huge-${id}","buyer":"agt_b","seller":"agt_s","amount":1e20,"fraud_score":0.1}`,
        `{"transaction_id":"t7-held-${id}","buyer":"agt_b","seller":"agt_s","amount":12.34,"fraud_score":0.95}`,
      ].join('\n'),
    );
    const { log } = await drive(handlers(), { bucket: RECORDS_BUCKET, key });
    expect(log.rows.map((row: any) => [row.status, row.amount_usdc, row.error])).toEqual([
      ['INVALID', undefined, 'amount 1e20 is over 1000000000 USDC, the largest a row may have'],
      ['SUCCEEDED', 12.34, undefined],
    ]);
    expect(log.totals).toMatchObject({
      rows: 2,
      amountUsdc: 12.34,
      SUCCEEDED: { rows: 1, amountUsdc: 12.34 },
      INVALID: { rows: 1, amountUsdc: 0 },
      SKIPPED: { rows: 0, amountUsdc: 0 },
    });
  });
});

describe('FraudHoldEscrow: 5,000 records end to end, with faults', () => {
  test('every record has one status; holds at the sandbox match the log; no transaction held twice; totals reconcile; a rerun adds only REJECTED retries', async () => {
    const random = seededRandom(5000);
    const prefix = `fraud/e2e-${unique()}/`;
    for (let part = 0; part < 5; part++) {
      const records = Array.from({ length: 1000 }, (_, i) => ({
        transaction_id: `e2e-${counter}-${part}-${i}`,
        buyer: `agt_buyer_${i % 97}`,
        seller: `agt_merchant_${i % 31}`,
        amount: Math.round(random() * 50_000) / 100 + 0.01,
        fraud_score: Math.round(random() * 1000) / 1000,
      }));
      harness.s3.putObject(RECORDS_BUCKET, `${prefix}part-${part}.out`, jsonl(records));
    }
    const faults = faultMix(random, 2_500);
    harness.sandbox.injectFaults(ESCROW_CREATE_PATH, ...faults);

    const first = await drive(handlers(), { bucket: RECORDS_BUCKET, prefix });
    const rows: any[] = first.log.rows;
    expect(rows).toHaveLength(5000);
    const of = (status: string) => rows.filter((row) => row.status === status);
    expect(of('SUCCEEDED').length + of('SKIPPED').length + of('INVALID').length + of('REJECTED').length + of('UNKNOWN').length).toBe(5000);
    expect(of('SKIPPED').length).toBeGreaterThan(3000);

    const held = escrows().map((e) => (e.body.metadata as any).transaction_id as string);
    expect(new Set(held).size).toBe(held.length);
    const succeeded = new Set(of('SUCCEEDED').map((row) => row.transaction_id));
    const unknown = new Set(of('UNKNOWN').map((row) => row.transaction_id));
    for (const tx of succeeded) expect(held).toContain(tx);
    for (const tx of held) expect(succeeded.has(tx) || unknown.has(tx)).toBe(true);
    const cents = (list: any[]) => list.reduce((sum, row) => sum + Math.round((row.amount_usdc ?? 0) * 100), 0);
    expect(Math.round(first.log.totals.SUCCEEDED.amountUsdc * 100)).toBe(cents(of('SUCCEEDED')));
    const heldForSucceeded = escrows().filter((e) => succeeded.has((e.body.metadata as any).transaction_id));
    expect(heldForSucceeded.reduce((sum, e) => sum + Math.round((e.body.amount as number) * 100), 0)).toBe(cents(of('SUCCEEDED')));

    const rejected = new Set(of('REJECTED').map((row) => row.transaction_id));
    const before = escrows().length;
    await drive(handlers(), { bucket: RECORDS_BUCKET, prefix });
    for (const e of escrows().slice(before)) expect(rejected.has((e.body.metadata as any).transaction_id)).toBe(true);
    const all = escrows().map((e) => (e.body.metadata as any).transaction_id);
    expect(new Set(all).size).toBe(all.length);
  }, 300_000);
});
