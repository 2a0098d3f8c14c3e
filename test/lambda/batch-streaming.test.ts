/**
 * Issue 17, item 1: Prepare and Summarize in bounded memory. The streaming pieces, each with the real
 * S3 client against FakeS3 (no bundle, no Step Functions): multipart writes, the JSON array reader, the
 * two-pass check of repeated keys, a streamed Prepare against the in-memory reading of the same file, and
 * a streamed Summarize over result files in no order. The end-to-end runs are batch-payout.handler.test.ts
 * and fraud-hold.handler.test.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { createBatchPayoutPrepareHandler } from '../../lambda/batch-payout-prepare/handler';
import { scoreRows } from '../../lambda/batch-payout-prepare/score-rows';
import { createBatchPayoutSummarizeHandler } from '../../lambda/batch-payout-summarize/handler';
import { createFraudHoldPrepareHandler } from '../../lambda/fraud-hold-prepare/handler';
import { decideHolds, MAX_RECORD_LINE_CHARS } from '../../lambda/fraud-hold-prepare/hold-records';
import { payoutActionKey } from '../../lambda/shared/action-keys';
import type { LedgerRecord } from '../../lambda/shared/action-ledger';
import { jsonArrayElements } from '../../lambda/shared/batch/json-array-stream';
import { LISTED_LINES, RepeatedKeys } from '../../lambda/shared/batch/repeated-keys';
import { NEVER_ATTEMPTED } from '../../lambda/shared/batch/row-outcomes';
import { ObjectWriter, UPLOAD_PART_SIZE } from '../../lambda/shared/batch/run-folder';
import { LISTED_IN_PROGRESS_LINES, readRunLog } from '../../lambda/shared/batch/run-log';
import type { PreparedRun, SummarizeEvent } from '../../lib/private/contracts/batch-engine';
import { PAYOUT_LOG_FILE, PAYOUT_SUMMARY_FILE } from '../../lib/private/contracts/batch-payout-env';
import { applyEnvironment, awsTestEnvironment } from '../support/aws-env';
import { FakeS3 } from '../support/fake-s3';
import { captureOutput } from '../support/handler-fakes';
import { defaultHoldPrepareSettings, defaultPayoutPrepareSettings } from '../support/handler-settings';
import { readCsvAsStepFunctions } from '../support/step-functions-csv';

const SOURCE = 'scores';
const RUNS = 'runs';
const UNUSED = 'http://127.0.0.1:9';

let fake: FakeS3;
let s3: S3Client;
let restoreEnv: () => void;
let output: ReturnType<typeof captureOutput>;

beforeAll(async () => {
  fake = await FakeS3.start();
  restoreEnv = applyEnvironment(awsTestEnvironment(UNUSED, UNUSED, fake.url));
  s3 = new S3Client({});
});
afterAll(async () => {
  s3?.destroy();
  await fake?.close();
  restoreEnv?.();
});
beforeEach(() => {
  fake.reset();
  fake.createBucket(SOURCE);
  fake.createBucket(RUNS);
  output = captureOutput();
});
afterEach(() => output.restore());

const text = (bucket: string, key: string) => fake.getObject(bucket, key)?.toString('utf8');
const isMultipart = (bucket: string, key: string) => /-\d+"$/.test(fake.describeObject(bucket, key)?.etag ?? '');
const logger = () => new Logger({ serviceName: 'unit' });

async function* chunksOf(document: string, sizes: () => number): AsyncGenerator<string> {
  for (let at = 0; at < document.length;) {
    const size = Math.max(1, sizes());
    yield document.slice(at, at + size);
    at += size;
  }
}
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe('ObjectWriter: run files as multipart uploads', () => {
  test('an object over the part size goes up in parts (lib-storage Upload) and reads back byte for byte', async () => {
    const writer = new ObjectWriter(s3, RUNS, 'big.jsonl', 'application/x-ndjson');
    const lines: string[] = [];
    for (let i = 0, size = 0; size < UPLOAD_PART_SIZE * 2.2; i++) {
      lines.push(`{"line":${i},"agent_id":"agt_${String(i).padStart(8, '0')}","ok":true}\n`);
      size += lines[i].length;
    }
    for (const line of lines) await writer.write(line);
    await writer.close();

    expect(text(RUNS, 'big.jsonl')).toBe(lines.join(''));
    expect(fake.operationCount('CreateMultipartUpload')).toBe(1);
    expect(fake.operationCount('UploadPart')).toBe(3);
    expect(fake.operationCount('CompleteMultipartUpload')).toBe(1);
    expect(fake.operationCount('PutObject')).toBe(0);
    expect(isMultipart(RUNS, 'big.jsonl')).toBe(true);
  });

  test('an object within one part is a single PutObject', async () => {
    const writer = new ObjectWriter(s3, RUNS, 'small.csv', 'text/csv');
    await writer.write('line,agent_id\n');
    await writer.write('2,agt_a\n');
    await writer.close();
    expect(text(RUNS, 'small.csv')).toBe('line,agent_id\n2,agt_a\n');
    expect(fake.operations).toEqual(['PutObject']);
  });

  test('abort: no object, and a multipart upload already begun is aborted', async () => {
    const writer = new ObjectWriter(s3, RUNS, 'never.csv', 'text/csv');
    const line = 'x'.repeat(1023) + '\n';
    for (let written = 0; written < UPLOAD_PART_SIZE * 2.5; written += line.length) await writer.write(line);
    // Give the upload time to send its first parts.
    for (let i = 0; i < 100 && fake.operationCount('UploadPart') === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(fake.operationCount('UploadPart')).toBeGreaterThan(0);
    await writer.abort();
    expect(fake.getObject(RUNS, 'never.csv')).toBeUndefined();
    expect(fake.operationCount('AbortMultipartUpload')).toBe(1);
    expect(fake.openMultipartUploads).toBe(0);
  });
});

describe('jsonArrayElements: one element at a time', () => {
  test('the elements of a top-level array, read one character at a time: strings with brackets, commas and escaped quotes', async () => {
    const elements = [
      { a: '],["x"', b: [1, { c: '\\"}' }] },
      'plain ] string',
      42,
      null,
      [[], {}],
      { Output: JSON.stringify({ rows: [{ line: 2 }] }) },
    ];
    const document = ` \n[ ${elements.map((element) => JSON.stringify(element)).join(' ,\n')} ] \n`;
    const read = await collect(jsonArrayElements(chunksOf(document, () => 1)));
    expect(read.map((element) => JSON.parse(element))).toEqual(elements);
  });

  test('the arrays under some keys of a top-level object, in document order; the same key deeper is not one of them', async () => {
    const document =
      '{"runId":"r-1","source":{"notActedOn":[9]},"notActedOn":[{"line":2,"error":"a ] b"},{"line":4}],"counts":{"rows":3},"notPaid":[{"line":7}]}';
    const read = await collect(
      jsonArrayElements(
        chunksOf(document, () => 5),
        ['notActedOn', 'notPaid'],
      ),
    );
    expect(read.map((element) => JSON.parse(element))).toEqual([{ line: 2, error: 'a ] b' }, { line: 4 }, { line: 7 }]);
    expect(
      await collect(
        jsonArrayElements(
          chunksOf('{"notActedOn":[]}', () => 3),
          ['notActedOn'],
        ),
      ),
    ).toEqual([]);
  });

  test('property: any array of JSON values, in chunks of any size, reads back element for element', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 20 }), fc.integer({ min: 1, max: 50 }), async (elements, size) => {
        const read = await collect(jsonArrayElements(chunksOf(JSON.stringify(elements), () => size)));
        expect(read.map((element) => JSON.parse(element))).toEqual(JSON.parse(JSON.stringify(elements)));
      }),
      { numRuns: 200 },
    );
  });

  test.each([
    ['[1, [2]', 'the document ends inside a value'],
    ['[1]]', 'unbalanced brackets'],
    ['{"a":[1]}', 'the document is not a JSON array'],
    ['', 'the document is empty'],
  ])('%s is refused: %s', async (document, message) => {
    await expect(collect(jsonArrayElements(chunksOf(document, () => 2)))).rejects.toThrow(message);
  });
});

describe('RepeatedKeys: two passes, a filter of fixed size, exact answers', () => {
  test('property: with a filter so small that most keys are false positives, every answer is still exact', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 2_000 }), (ids) => {
        const rows = ids.map((id, index) => ({ key: `agt_${id}`, line: index + 2 }));
        const keys = new RepeatedKeys(10);
        for (const row of rows) keys.see(row.key, row.line);
        const linesOf = new Map<string, number[]>();
        for (const row of rows) linesOf.set(row.key, [...(linesOf.get(row.key) ?? []), row.line]);
        for (const row of rows) {
          const all = linesOf.get(row.key)!;
          const repeats = keys.repeatsOf(row.key, row.line);
          expect(repeats === undefined ? undefined : { lines: [...repeats.lines], count: repeats.count }).toEqual(
            all.length > 1 ? { lines: all.slice(0, LISTED_LINES), count: all.length } : undefined,
          );
        }
      }),
      { numRuns: 100 },
    );
  });

  test('the default filter keeps only the repeated keys of 100,000 distinct ones and a few repeats', () => {
    const keys = new RepeatedKeys();
    for (let i = 0; i < 100_000; i++) keys.see(`agt_${i}`, i + 2);
    keys.see('agt_7', 100_002);
    expect(keys.suspectCount).toBe(1);
  });
});

/** A scores file of `rows` rows: a few bad, a few under the minimum, and some agent ids repeated far apart. */
function scoresFile(rows: number): string {
  const lines = ['team,agent_id,score'];
  for (let i = 0; i < rows; i++) {
    const line = i + 2;
    let agent = `agt_${String(i).padStart(7, '0')}`;
    let score = ((i % 97) / 10 + 0.25).toFixed(4);
    if (i % 1000 === 13) score = 'n/a';
    if (i % 1000 === 14) score = '0.0001';
    if (line === 2 || i === rows - 1) agent = 'agt_repeated_first_and_last';
    if (i % 5000 === 17) agent = 'agt_every_5000';
    lines.push(`"t, ${i % 3}",${agent},${score}`);
  }
  return lines.join('\r\n') + '\r\n';
}

function payoutPrepare(settings: Partial<ReturnType<typeof defaultPayoutPrepareSettings>> = {}, client: S3Client = s3) {
  return createBatchPayoutPrepareHandler({
    settings: defaultPayoutPrepareSettings(RUNS, { maxBatchTotalUsdc: 1e9, ...settings }),
    s3: client,
    sagemaker: {} as never,
    logger: logger(),
  });
}

describe('Prepare, streamed: the same decisions as the file read whole', () => {
  test('a source of many chunks with repeated agent ids far apart: input.csv (over the part size, in parts) and the report match the in-memory reading', async () => {
    const content = scoresFile(200_000);
    fake.putObject(SOURCE, 'round/scores.csv', content);
    const prepared = await payoutPrepare()({ runId: 'run-big', input: { bucket: SOURCE, key: 'round/scores.csv' } });

    const expected = scoreRows(content, defaultPayoutPrepareSettings(RUNS));
    expect(isMultipart(RUNS, prepared.inputKey)).toBe(true);
    expect(readCsvAsStepFunctions(fake.getObject(RUNS, prepared.inputKey)!)).toEqual(expected.toAct);
    const report = JSON.parse(text(RUNS, `${prepared.runFolder.prefix}/prepare_report.json`)!);
    expect(report.notActedOn).toEqual(JSON.parse(JSON.stringify(expected.notActedOn)));
    expect(report.counts).toEqual({ rows: 200_000, toAct: expected.toAct.length, skipped: 200, invalid: expected.notActedOn.length - 200 });
    expect(prepared).toMatchObject({ rowsToAct: expected.toAct.length, totalToActUsdc: expected.totalToActCents / 100 });

    const byLine = new Map(report.notActedOn.map((row: any) => [row.line, row]));
    expect(byLine.get(2)).toMatchObject({
      status: 'INVALID',
      error: 'agent_id "agt_repeated_first_and_last" appears more than once (lines 2, 200001)',
    });
    expect(byLine.get(200_001)).toMatchObject({
      status: 'INVALID',
      error: 'agent_id "agt_repeated_first_and_last" appears more than once (lines 2, 200001)',
    });
    expect(byLine.get(19)).toMatchObject({
      error: `agent_id "agt_every_5000" appears more than once (lines ${Array.from({ length: 20 }, (_, k) => 19 + 5000 * k).join(', ')} and 20 more)`,
    });
    // Two readings of the source, each a single GET.
    expect(fake.operationCount('GetObject')).toBe(2);
    expect(fake.openMultipartUploads).toBe(0);
  }, 60_000);

  test('a source that changes between the two readings fails Prepare: no run file is written', async () => {
    fake.putObject(SOURCE, 'changing.csv', 'agent_id,score\nagt_a,1\nagt_b,2\n');
    let gets = 0;
    const changing = new S3Client({});
    const send = changing.send.bind(changing);
    changing.send = ((command: any, ...rest: any[]) => {
      if (command instanceof GetObjectCommand && command.input.Key === 'changing.csv' && ++gets === 2)
        fake.putObject(SOURCE, 'changing.csv', 'agent_id,score\nagt_a,1\nagt_b,200\n');
      return send(command, ...rest);
    }) as typeof changing.send;
    await expect(payoutPrepare({}, changing)({ runId: 'run-changed', input: { bucket: SOURCE, key: 'changing.csv' } })).rejects.toThrow(
      /^s3:\/\/scores\/changing.csv changed while it was being read \(ETag \w+, then \w+\): nothing moves; start the run again$/,
    );
    expect(fake.listKeys(RUNS)).toEqual([]);
    changing.destroy();
  });

  test('over maxBatchTotalUsdc: the report is written, input.csv never is (its multipart upload is aborted)', async () => {
    fake.putObject(SOURCE, 'over.csv', scoresFile(200_000));
    await expect(
      payoutPrepare({ maxBatchTotalUsdc: 1000 })({ runId: 'run-over', input: { bucket: SOURCE, key: 'over.csv' } }),
    ).rejects.toThrow(/^the total \d+\.\d\d USDC of s3:\/\/scores\/over.csv is over maxBatchTotalUsdc 1000: nothing moves$/);
    expect(fake.listKeys(RUNS)).toEqual(['purpleflea-payouts/run-over/prepare_report.json']);
    expect(JSON.parse(text(RUNS, 'purpleflea-payouts/run-over/prepare_report.json')!)).toMatchObject({
      overCap: true,
      counts: { rows: 200_000 },
    });
    expect(fake.operationCount('AbortMultipartUpload')).toBe(1);
    expect(fake.openMultipartUploads).toBe(0);
  }, 60_000);

  test('FraudHoldEscrow: JSON Lines objects streamed (BOM, CRLF, blank lines, a line over 1 MiB) decide as decideHolds does on the whole objects', async () => {
    const record = (i: number, extra = {}) =>
      JSON.stringify({
        transaction_id: `tx-${i % 500}`,
        buyer: `agt_b${i}`,
        seller: 'agt_s',
        amount: (i % 50) + 0.5,
        fraud_score: (i % 10) / 10 + 0.05,
        ...extra,
      });
    const first = '\uFEFF' + Array.from({ length: 600 }, (_, i) => record(i)).join('\r\n') + '\r\n\r\n';
    const second = [
      record(600),
      '',
      `{"transaction_id":"huge","pad":"${'x'.repeat(MAX_RECORD_LINE_CHARS)}"}`,
      record(601, { note: 'ünïcödé ✓' }),
      'not json',
    ].join('\n');
    fake.putObject(SOURCE, 'out/a.jsonl.out', first);
    fake.putObject(SOURCE, 'out/b.jsonl.out', second);
    const settings = defaultHoldPrepareSettings({ outputBucket: RUNS, maxBatchTotalUsdc: 1e9 });
    const prepare = createFraudHoldPrepareHandler({ settings, s3, sagemaker: {} as never, logger: logger() });
    const prepared = await prepare({ runId: 'run-holds', input: { bucket: SOURCE, prefix: 'out/' } });

    const etag = (key: string) => fake.describeObject(SOURCE, key)!.etag.replace(/"/g, '');
    const expected = decideHolds(
      [
        { key: 'out/a.jsonl.out', etag: etag('out/a.jsonl.out'), body: Buffer.from(first) },
        { key: 'out/b.jsonl.out', etag: etag('out/b.jsonl.out'), body: Buffer.from(second) },
      ],
      settings,
      '',
    );
    expect(readCsvAsStepFunctions(fake.getObject(RUNS, prepared.inputKey)!)).toEqual(expected.toAct);
    const report = JSON.parse(text(RUNS, `${prepared.runFolder.prefix}/prepare_report.json`)!);
    expect(report.notActedOn).toEqual(JSON.parse(JSON.stringify(expected.notActedOn)));
    expect(report.notActedOn).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          object_key: 'out/b.jsonl.out',
          object_line: '3',
          status: 'INVALID',
          error: `line 3 of out/b.jsonl.out is longer than ${MAX_RECORD_LINE_CHARS} characters`,
        }),
        expect.objectContaining({
          transaction_id: 'tx-1',
          status: 'INVALID',
          error: expect.stringMatching(/^transaction "tx-1" appears more than once \(lines 2, 502\)$/),
        }),
      ]),
    );
  });
});

describe('Prepare, streamed: many record objects', () => {
  const settings = defaultHoldPrepareSettings({ outputBucket: RUNS, maxBatchTotalUsdc: 1e9 });
  const record = (object: number, i: number) =>
    JSON.stringify({ transaction_id: `tx-${object}-${i}`, buyer: 'agt_b', seller: 'agt_s', amount: (i % 500) + 1, fraud_score: 0.95 });
  /** 30 small objects and, between them, one of over 1 MiB; transaction `tx-repeat` in the 2nd and the 29th. */
  function upload(): { key: string; etag: string; body: Buffer }[] {
    return Array.from({ length: 31 }, (_, object) => {
      const key = `many/part-${String(object).padStart(3, '0')}.out`;
      const lines = Array.from({ length: object === 15 ? 12_000 : 20 }, (_, i) => record(object, i));
      if (object === 1 || object === 28) lines.push(record(object, 99).replace(`tx-${object}-99`, 'tx-repeat'));
      const body = Buffer.from(lines.join('\n'));
      return { key, etag: fake.putObject(SOURCE, key, body).replace(/"/g, ''), body };
    });
  }

  test('small objects read whole ahead of their turn, a large one streamed: in key order, the same decisions as decideHolds', async () => {
    const objects = upload();
    expect(objects[15].body.length).toBeGreaterThan(1024 * 1024);
    const prepare = createFraudHoldPrepareHandler({ settings, s3, sagemaker: {} as never, logger: logger() });
    const prepared = await prepare({ runId: 'run-many', input: { bucket: SOURCE, prefix: 'many/' } });
    const expected = decideHolds(objects, settings, '');
    expect(readCsvAsStepFunctions(fake.getObject(RUNS, prepared.inputKey)!)).toEqual(expected.toAct);
    expect(JSON.parse(text(RUNS, `${prepared.runFolder.prefix}/prepare_report.json`)!).notActedOn).toEqual(
      JSON.parse(JSON.stringify(expected.notActedOn)),
    );
    expect(expected.notActedOn.map((row) => row.error)).toEqual([
      'transaction "tx-repeat" appears more than once (lines 41, 12562)',
      'transaction "tx-repeat" appears more than once (lines 41, 12562)',
    ]);
    expect(fake.operationCount('GetObject')).toBe(62);
  });

  test('a small object changed between the two readings fails Prepare, though it was read ahead', async () => {
    upload();
    let gets = 0;
    const changing = new S3Client({});
    const send = changing.send.bind(changing);
    changing.send = ((command: any, ...rest: any[]) => {
      if (command instanceof GetObjectCommand && command.input.Key === 'many/part-020.out' && ++gets === 2)
        fake.putObject(SOURCE, 'many/part-020.out', record(20, 0));
      return send(command, ...rest);
    }) as typeof changing.send;
    const prepare = createFraudHoldPrepareHandler({ settings, s3: changing, sagemaker: {} as never, logger: logger() });
    await expect(prepare({ runId: 'run-many-changed', input: { bucket: SOURCE, prefix: 'many/' } })).rejects.toThrow(
      /^s3:\/\/scores\/many\/part-020.out changed while it was being read/,
    );
    expect(fake.listKeys(RUNS)).toEqual([]);
    changing.destroy();
  });
});

// ---- Summarize ----

const SOURCE_OBJECT = { bucket: SOURCE, key: 'round/scores.csv', etag: 'etag-1' };
const NOW = Date.parse('2026-12-01T10:00:00Z');

/** A run folder as Prepare and the Map leave it: input.csv of `rows` rows, a report, and result files. */
function runFolder(runId: string, rows: number, children: readonly object[][], notActedOn: readonly object[] = []): SummarizeEvent {
  const prefix = `purpleflea-payouts/${runId}`;
  const items = Array.from({ length: rows }, (_, i) => `${i + 2},agt_${i},1.5,15.00`);
  fake.putObject(RUNS, `${prefix}/input.csv`, ['line,agent_id,score,amount_usdc', ...items].join('\n') + '\n');
  fake.putObject(RUNS, `${prefix}/prepare_report.json`, JSON.stringify({ runId, notActedOn, counts: {} }));
  const files = children.map((file, index) => {
    const key = `${prefix}/map-results/m/SUCCEEDED_${index}.json`;
    fake.putObject(RUNS, key, JSON.stringify(file));
    return { Key: key, Size: 0 };
  });
  fake.putObject(
    RUNS,
    `${prefix}/map-results/m/manifest.json`,
    JSON.stringify({ ResultFiles: { SUCCEEDED: files, FAILED: [], PENDING: [] } }),
  );
  const prepared: PreparedRun = {
    runId,
    source: SOURCE_OBJECT,
    runFolder: { bucket: RUNS, prefix },
    inputKey: `${prefix}/input.csv`,
    rowsToAct: rows,
    totalToActUsdc: rows * 15,
  };
  return { ...prepared, mapResult: { ResultWriterDetails: { Bucket: RUNS, Key: `${prefix}/map-results/m/manifest.json` } } };
}

const outcome = (line: number, status: string, extra = {}) => ({
  line,
  agent_id: `agt_${line - 2}`,
  score: '1.5',
  amount_usdc: 15,
  status,
  ...extra,
});
const child = (rows: object[]) => ({ Status: 'SUCCEEDED', Output: JSON.stringify({ rows }) });

function summarize(ledger: Map<string, Partial<LedgerRecord>> = new Map()) {
  const putEvents: any[] = [];
  const handler = createBatchPayoutSummarizeHandler({
    settings: { eventBusName: 'bus', dryRun: false },
    ledger: { get: async (key: string) => ledger.get(key) as LedgerRecord | undefined },
    s3,
    putEvents: async (input: any) => {
      putEvents.push(input);
      return { FailedEntryCount: 0, Entries: [] };
    },
    now: () => NOW,
    logger: logger(),
    metrics: new Metrics({ namespace: 'Unit', serviceName: 'unit' }),
  });
  return { handler, putEvents };
}

function readLog(result: { log: string; summary: string }) {
  const key = (uri: string) => uri.replace(`s3://${RUNS}/`, '');
  return readRunLog({ log: text(RUNS, key(result.log))!, summary: text(RUNS, key(result.summary)) });
}

describe('Summarize, streamed', () => {
  test('50,000 rows over three result files in no order: one entry a row, the log in parts, totals to the cent', async () => {
    const rows = 50_000;
    const lines = Array.from({ length: rows }, (_, i) => i + 2);
    // Batches of 100, shuffled over three files; the batch of lines 502-601 reported twice (IN_PROGRESS, then settled).
    const batches: object[][] = [];
    for (let start = 0; start < rows; start += 100)
      batches.push(
        lines
          .slice(start, start + 100)
          .map((line) => outcome(line, line % 10 === 3 ? 'UNKNOWN' : 'SUCCEEDED', { result: { transfer_id: `tx_${line}` } })),
      );
    batches.push(lines.slice(500, 600).map((line) => outcome(line, 'IN_PROGRESS')));
    const shuffled = batches.map((batch, index) => ({ batch, order: (index * 7919) % batches.length })).sort((a, b) => a.order - b.order);
    const files = [0, 1, 2].map((file) => shuffled.filter((_, index) => index % 3 === file).map(({ batch }) => child(batch)));
    const event = runFolder('run-50k', rows, files, [
      { line: 50_002, agent_id: 'agt_x', score: 'n/a', status: 'INVALID', error: 'score "n/a" is not a number' },
    ]);

    const { handler, putEvents } = summarize();
    const result = await handler(event);
    expect(result.log).toBe(`s3://${RUNS}/purpleflea-payouts/run-50k/${PAYOUT_LOG_FILE}`);
    expect(result.summary).toBe(`s3://${RUNS}/purpleflea-payouts/run-50k/${PAYOUT_SUMMARY_FILE}`);
    expect(isMultipart(RUNS, `purpleflea-payouts/run-50k/${PAYOUT_LOG_FILE}`)).toBe(true);

    const log = readLog(result);
    expect(log.rows.map((row) => row.line)).toEqual([...lines, 50_002]);
    const unknown = log.rows.filter((row) => row.status === 'UNKNOWN').length;
    expect(unknown).toBe(5_000);
    expect(log.totals).toMatchObject({
      rows: 50_001,
      amountUsdc: 750_000,
      SUCCEEDED: { rows: 45_000, amountUsdc: 675_000 },
      UNKNOWN: { rows: 5_000, amountUsdc: 75_000 },
      INVALID: { rows: 1, amountUsdc: 0 },
    });
    expect(log.overlapped).toBeUndefined();
    expect(JSON.parse(putEvents[0].Entries[0].Detail)).toMatchObject({
      log: result.log,
      summary: result.summary,
      totals: { rows: 50_001 },
    });
  }, 60_000);

  test("the ledger's word: a REJECTED row another run has paid is SUCCEEDED; rows held under a live lease are IN_PROGRESS, and so are the rows never attempted", async () => {
    const key = (line: number) => payoutActionKey(SOURCE_OBJECT.bucket, SOURCE_OBJECT.key, SOURCE_OBJECT.etag, `agt_${line - 2}`);
    // Lines 2-11 settled by the Map (3 REJECTED, paid since by another run); 12-211 held by another invocation or never attempted.
    const event = runFolder('run-overlap', 210, [
      [
        child(
          Array.from({ length: 10 }, (_, i) =>
            outcome(i + 2, i === 1 ? 'REJECTED' : 'SUCCEEDED', { error: i === 1 ? 'not sent: no time left in this batch' : undefined }),
          ),
        ),
      ],
    ]);
    const ledger = new Map<string, Partial<LedgerRecord>>([
      [key(3), { state: 'SUCCEEDED', amountUsdc: 15, response: { transfer_id: 'tx_other' }, leaseExpiresAt: 0 }],
    ]);
    for (let line = 100; line < 150; line++) ledger.set(key(line), { state: 'SENDING', leaseExpiresAt: NOW + 60_000, amountUsdc: 15 });

    const { handler, putEvents } = summarize(ledger);
    const log = readLog(await handler(event));
    expect(log.rows).toHaveLength(210);
    expect(log.rows[1]).toMatchObject({ line: 3, status: 'SUCCEEDED', repeated: true, result: { transfer_id: 'tx_other' } });
    const inProgress = log.rows.filter((row) => row.status === 'IN_PROGRESS').map((row) => row.line);
    expect(inProgress).toEqual(Array.from({ length: 200 }, (_, i) => i + 12));
    expect(log.rows.some((row) => row.error === NEVER_ATTEMPTED)).toBe(false);
    expect(log).toMatchObject({ overlapped: true, inProgressRows: 200, inProgressLines: inProgress.slice(0, LISTED_IN_PROGRESS_LINES) });
    expect(JSON.parse(putEvents[0].Entries[0].Detail)).toMatchObject({
      overlapped: true,
      in_progress_rows: 200,
      in_progress_lines: inProgress.slice(0, 100),
    });
  });

  test('without an overlap, rows no invocation attempted are REJECTED (never attempted); a line reported twice counts once', async () => {
    const event = runFolder('run-missing', 5, [
      [child([outcome(2, 'SUCCEEDED'), outcome(3, 'SKIPPED')])],
      [child([outcome(2, 'REJECTED')])],
    ]);
    const log = readLog(await summarize().handler(event));
    expect(log.rows.map((row) => [row.line, row.status, row.error])).toEqual([
      [2, 'SUCCEEDED', undefined],
      [3, 'SKIPPED', undefined],
      [4, 'REJECTED', NEVER_ATTEMPTED],
      [5, 'REJECTED', NEVER_ATTEMPTED],
      [6, 'REJECTED', NEVER_ATTEMPTED],
    ]);
  });
});

describe('readRunLog: the log read whole', () => {
  test('a payout_log.json of 0.1.0 (one JSON object) reads as it is', () => {
    const old = {
      runId: 'run-2026-06-01',
      source: { bucket: 'b', key: 'k', etag: 'e' },
      dryRun: false,
      totals: { rows: 1, amountUsdc: 10 },
      rows: [{ line: 2, agent_id: 'agt_a', score: '1', amount_usdc: 10, status: 'SUCCEEDED', result: { transfer_id: 'tx' } }],
    };
    expect(readRunLog({ log: JSON.stringify(old) })).toEqual(old);
  });

  test('a JSON Lines log without its summary, or a document without rows, is refused', () => {
    expect(() => readRunLog({ log: '{"line":2,"status":"SUCCEEDED"}' })).toThrow('not a run log of 0.1.0');
  });

  test('a JSON Lines log with its summary: the summary and the entries in line order', () => {
    const summary = { runId: 'r', source: SOURCE_OBJECT, dryRun: false, log: 's3://b/k', totals: { rows: 2 } };
    expect(
      readRunLog({ log: '{"line":9,"status":"SKIPPED"}\n{"line":3,"status":"SUCCEEDED"}\n', summary: JSON.stringify(summary) }),
    ).toEqual({
      ...summary,
      rows: [
        { line: 3, status: 'SUCCEEDED' },
        { line: 9, status: 'SKIPPED' },
      ],
    });
  });
});
