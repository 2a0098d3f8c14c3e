/**
 * The S3 stand-in's own process for bench/batch-steps.bench.ts: FakeS3 (test/support/fake-s3.ts) and the
 * synthetic files, made here so that neither their bytes nor the time to serve them count in a step's
 * process. Messages: bench/batch-steps-protocol.ts.
 */
import { FakeS3 } from '../test/support/fake-s3';
import type { ActBatchResult, PreparedRun } from '../lib/private/contracts/batch-engine';
import { FromS3, RUNS_BUCKET, SOURCE_BUCKET, ToS3 } from './batch-steps-protocol';

const send = (message: FromS3) => process.send!(message);

/**
 * A scores file of `rows` rows, as a model's processing job might write it: a few rows that are not paid
 * (1 in 1,000 with a score that is not a number, 1 in 1,000 under the minimum) and a few repeated agent
 * ids (1 in 10,000 rows shares one of 7 ids), the rest distinct.
 */
export function scoresFile(rows: number): Buffer {
  const parts: string[] = ['agent_id,score,team\n'];
  for (let i = 0; i < rows; i++) {
    const agent = i % 10_000 === 17 ? `agt_repeated_${i % 7}` : `agt_${String(i).padStart(8, '0')}`;
    const score = i % 1000 === 13 ? 'n/a' : i % 1000 === 14 ? '0.0001' : ((i % 97) / 10 + 0.25).toFixed(4);
    parts.push(`${agent},${score},team-${i % 13}\n`);
  }
  return Buffer.from(parts.join(''), 'utf8');
}

/** A Batch Transform's JSON Lines output of `rows` records: 1 in 5 above the fraud threshold, a few ids repeated. */
export function recordsFile(rows: number): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < rows; i++) {
    const id = i % 10_000 === 17 ? `tx-repeated-${i % 7}` : `tx-${i}`;
    const score = i % 5 === 0 ? 0.91 : 0.12;
    parts.push(
      `{"transaction_id":"${id}","buyer":"agt_b${i % 5000}","seller":"agt_s${i % 300}","amount":${(i % 400) + 0.5},"fraud_score":${score}}\n`,
    );
  }
  return Buffer.from(parts.join(''), 'utf8');
}

/**
 * What the Distributed Map's ResultWriter leaves for a run whose batches all ran: result files of child
 * executions (each with its Input and its Output, 2,000 children a file, children in completion order,
 * here a little shuffled), and the manifest. 1 row in 1,000 is REJECTED (out of time), the rest SUCCEEDED.
 */
function mapResults(fake: FakeS3, run: PreparedRun, itemsPerBatch: number): string {
  const csv = fake.getObject(run.runFolder.bucket, run.inputKey)!.toString('utf8');
  const lines = csv
    .split('\n')
    .slice(1)
    .filter((line) => line !== '');
  const batchInput = { runId: run.runId, sourceBucket: run.source.bucket, sourceKey: run.source.key, sourceEtag: run.source.etag };
  const children: string[] = [];
  for (let start = 0, index = 0; start < lines.length; start += itemsPerBatch, index++) {
    const items = lines.slice(start, start + itemsPerBatch).map((text) => {
      const [line, agent_id, score, amount_usdc] = text.split(',');
      return { line, agent_id, score, amount_usdc };
    });
    const output: ActBatchResult = {
      rows: items.map((item) => {
        const columns = { line: Number(item.line), agent_id: item.agent_id, score: item.score, amount_usdc: Number(item.amount_usdc) };
        return Number(item.line) % 1000 === 7
          ? { ...columns, status: 'REJECTED', error: 'not sent: no time left in this batch (a rerun sends it)' }
          : { ...columns, status: 'SUCCEEDED', result: { transfer_id: `tx_${item.line}_${item.agent_id}`, status: 'completed' } };
      }),
    };
    children.push(
      JSON.stringify({
        ExecutionArn: `arn:aws:states:us-east-1:123456789012:execution:bench:${run.runId}/${index}`,
        Input: JSON.stringify({ Items: items, BatchInput: batchInput }),
        Name: `${index}`,
        Output: JSON.stringify(output),
        StartDate: '2026-12-01T10:00:00.000Z',
        StopDate: '2026-12-01T10:00:05.000Z',
        Status: 'SUCCEEDED',
      }),
    );
  }
  // Completion order: neighbours swapped now and then.
  for (let i = 1; i < children.length; i += 3) [children[i - 1], children[i]] = [children[i], children[i - 1]];
  const prefix = `${run.runFolder.prefix}/map-results/${run.runId}`;
  const files: { Key: string; Size: number }[] = [];
  for (let start = 0, file = 0; start < children.length || file === 0; start += 2000, file++) {
    const body = Buffer.from(`[${children.slice(start, start + 2000).join(',')}]`, 'utf8');
    const key = `${prefix}/SUCCEEDED_${file}.json`;
    fake.putObject(RUNS_BUCKET, key, body);
    files.push({ Key: key, Size: body.length });
  }
  const manifestKey = `${prefix}/manifest.json`;
  fake.putObject(
    RUNS_BUCKET,
    manifestKey,
    JSON.stringify({ DestinationBucket: RUNS_BUCKET, MapRunArn: 'arn:bench', ResultFiles: { FAILED: [], PENDING: [], SUCCEEDED: files } }),
  );
  return manifestKey;
}

async function main(): Promise<void> {
  const fake = await FakeS3.start();
  const buckets = () => [SOURCE_BUCKET, RUNS_BUCKET].forEach((bucket) => fake.createBucket(bucket));
  buckets();
  process.on('disconnect', () => void fake.close().finally(() => process.exit(0)));
  process.on('message', (message: ToS3) => {
    try {
      switch (message.type) {
        case 'scores':
          fake.putObject(SOURCE_BUCKET, message.key, scoresFile(message.rows));
          send({ id: message.id, result: fake.describeObject(SOURCE_BUCKET, message.key)!.body.length });
          return;
        case 'records':
          fake.putObject(SOURCE_BUCKET, message.key, recordsFile(message.rows));
          send({ id: message.id, result: fake.describeObject(SOURCE_BUCKET, message.key)!.body.length });
          return;
        case 'map-results':
          send({ id: message.id, result: mapResults(fake, message.run, message.itemsPerBatch) });
          return;
        case 'sizes':
          send({
            id: message.id,
            result: message.keys.map(({ bucket, key }) =>
              fake.listKeys(bucket, key).reduce((sum, k) => sum + fake.describeObject(bucket, k)!.body.length, 0),
            ),
          });
          return;
        case 'forget':
          fake.reset();
          buckets();
          send({ id: message.id, result: null });
          return;
      }
    } catch (error) {
      send({ id: message.id, error: (error as Error).stack ?? String(error) });
    }
  });
  send({ type: 'ready', url: fake.url });
}

void main();
