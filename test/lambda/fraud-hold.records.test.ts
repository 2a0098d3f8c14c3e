import { decideHolds, HoldRules, RecordObject, UnreadableRecordsError } from '../../lambda/fraud-hold-prepare/hold-records';
import { resolveRecords } from '../../lambda/fraud-hold-prepare/record-sources';
import { defaultHoldPrepareSettings } from '../support/handler-settings';

const rules: HoldRules = defaultHoldPrepareSettings();
const object = (key: string, lines: string[]): RecordObject => ({ key, etag: `etag-${key}`, body: Buffer.from(lines.join('\n')) });
const record = (fields: object) => JSON.stringify(fields);

describe('decideHolds (JSON Lines, the seed example)', () => {
  test('a score above 0.80 is held, at or below it is SKIPPED; rows are numbered across objects', () => {
    const decided = decideHolds(
      [
        object('out/a.jsonl.out', [
          record({ transaction_id: 'tx-1', buyer: 'agt_buyer_001', seller: 'agt_merchant_042', amount: 250.0, fraud_score: 0.91 }),
          record({ transaction_id: 'tx-2', buyer: 'agt_buyer_009', seller: 'agt_merchant_017', amount: 89.5, fraud_score: 0.8 }),
        ]),
        object('out/b.jsonl.out', ['', record({ transaction_id: 'tx-3', buyer: 'agt_b', seller: 'agt_s', amount: '10', SageMakerOutput: { fraud_score: 0.85 } })]),
      ],
      rules,
      'fraud-job-7',
    );
    expect(decided.payable).toEqual([
      { line: '1', object_key: 'out/a.jsonl.out', object_etag: 'etag-out/a.jsonl.out', object_line: '1', transaction_id: 'tx-1', buyer: 'agt_buyer_001', seller: 'agt_merchant_042', amount_usdc: '250.00', fraud_score: '0.91', transform_job: 'fraud-job-7' },
      { line: '3', object_key: 'out/b.jsonl.out', object_etag: 'etag-out/b.jsonl.out', object_line: '2', transaction_id: 'tx-3', buyer: 'agt_b', seller: 'agt_s', amount_usdc: '10.00', fraud_score: '0.85', transform_job: 'fraud-job-7' },
    ]);
    expect(decided.notPaid).toEqual([
      expect.objectContaining({ line: 2, transaction_id: 'tx-2', status: 'SKIPPED', error: 'fraud score 0.8 is at or below the threshold 0.8', amount_usdc: 89.5 }),
    ]);
    expect(decided.payableTotalCents).toBe(26000);
    expect(decided.rowCount).toBe(3);
  });

  test.each([
    [{ buyer: 'agt_b', seller: 'agt_s', fraud_score: 0.9 }, 'amount must be a number, got nothing'],
    [{ buyer: 'agt_b', seller: 'agt_s', amount: -5, fraud_score: 0.9 }, 'amount must be positive, got -5'],
    [{ buyer: 'agt_b', seller: 'agt_s', amount: 5, fraud_score: 1.2 }, 'fraud_score must be a number between 0 and 1, got 1.2'],
    [{ buyer: 'agt_b', seller: 'agt_s', amount: 5, fraud_score: 'NaN' }, 'fraud_score must be a number between 0 and 1, got "NaN"'],
    [{ buyer: 'not an agent', seller: 'agt_s', amount: 5, fraud_score: 0.9 }, 'buyer "not an agent" is not a valid agent id'],
    [{ buyer: 'agt_b', seller: '', amount: 5, fraud_score: 0.9 }, 'seller "" is not a valid agent id'],
    [{ buyer: 'agt_b', seller: 'agt_s', amount: 1000.01, fraud_score: 0.9 }, 'amount 1000.01 is over maxHoldUsdc 1000'],
  ])('%j is INVALID: %s, and the other records still go through', (fields, error) => {
    const decided = decideHolds([object('x.out', [record(fields), record({ buyer: 'agt_ok', seller: 'agt_s', amount: 1, fraud_score: 0.99 })])], rules, '');
    expect(decided.notPaid).toEqual([expect.objectContaining({ line: 1, status: 'INVALID', error })]);
    expect(decided.payable).toHaveLength(1);
  });

  test('a line that is not JSON, or not an object, is INVALID, named by object and line', () => {
    const decided = decideHolds([object('x.out', ['{"buyer":', '[1,2]', record({ buyer: 'agt_ok', seller: 'agt_s', amount: 1, fraud_score: 0.99 })])], rules, '');
    expect(decided.notPaid.map((row) => row.error)).toEqual(['line 1 of x.out is not JSON', 'line 2 of x.out is not a JSON object']);
    expect(decided.payable).toHaveLength(1);
  });

  test('every record of a transaction id that appears more than once is INVALID', () => {
    const same = { transaction_id: 'tx-9', buyer: 'agt_b', seller: 'agt_s', amount: 5, fraud_score: 0.95 };
    const decided = decideHolds([object('a.out', [record(same)]), object('b.out', [record({ ...same, amount: 6 })])], rules, '');
    expect(decided.payable).toEqual([]);
    expect(decided.notPaid.map((row) => row.error)).toEqual([
      'transaction "tx-9" appears more than once (lines 1, 2)',
      'transaction "tx-9" appears more than once (lines 1, 2)',
    ]);
  });
});

describe('decideHolds (CSV with a header)', () => {
  test('reads the configured columns', () => {
    const csv: RecordObject = { key: 'in.csv', etag: 'e', body: Buffer.from('\ufefftxn,payer,payee,value,score\r\nT1,agt_b,agt_s,12.5,0.95\r\nT2,agt_b,agt_s,3,0.1\r\n') };
    const decided = decideHolds([csv], { ...rules, inputFormat: 'CSV', transactionIdField: 'txn', buyerField: 'payer', sellerField: 'payee', amountField: 'value', fraudScoreField: 'score' }, '');
    expect(decided.payable.map((row) => [row.transaction_id, row.amount_usdc, row.object_line])).toEqual([['T1', '12.50', '2']]);
    expect(decided.notPaid.map((row) => row.status)).toEqual(['SKIPPED']);
  });

  test('a CSV without a needed column cannot be read', () => {
    const csv: RecordObject = { key: 'in.csv', etag: 'e', body: Buffer.from('buyer,seller,amount\nagt_b,agt_s,1\n') };
    expect(() => decideHolds([csv], { ...rules, inputFormat: 'CSV' }, '')).toThrow(new UnreadableRecordsError('in.csv has no "fraud_score" column (its header is: buyer, seller, amount)'));
  });
});

describe('resolveRecords', () => {
  test('the three triggers', () => {
    expect(resolveRecords({ bucket: 'b', key: 'k.out' })).toEqual({ ok: true, location: { kind: 'object', bucket: 'b', key: 'k.out' }, transformJob: '' });
    expect(resolveRecords({ bucket: 'b', prefix: 'runs/7/' })).toEqual({ ok: true, location: { kind: 'prefix', bucket: 'b', prefix: 'runs/7/' }, transformJob: '' });
    expect(resolveRecords({ source: 'aws.sagemaker', detail: { TransformJobName: 'fraud-7', TransformOutput: { S3OutputPath: 's3://out/fraud/7' } } })).toEqual({
      ok: true,
      location: { kind: 'prefix', bucket: 'out', prefix: 'fraud/7/' },
      transformJob: 'fraud-7',
    });
    expect(resolveRecords({ source: 'aws.sagemaker', detail: { TransformJobName: 'fraud-8' } })).toEqual({ ok: true, location: { kind: 'transform-job', jobName: 'fraud-8' }, transformJob: 'fraud-8' });
  });
});
