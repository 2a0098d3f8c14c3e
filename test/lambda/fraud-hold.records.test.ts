import { decideHolds, HoldRules, RecordObject, UnreadableRecordsError } from '../../lambda/fraud-hold-prepare/hold-records';
import { resolveRecords } from '../../lambda/fraud-hold-prepare/record-sources';
import fc from 'fast-check';
import { normalizedCsv } from '../../lambda/shared/batch/prepare-run';
import { HOLD_COLUMNS } from '../../lib/private/contracts/fraud-hold-env';
import { readCsvAsStepFunctions } from '../support/step-functions-csv';
import { defaultHoldPrepareSettings } from '../support/handler-settings';

const rules: HoldRules = defaultHoldPrepareSettings();
const object = (key: string, lines: string[]): RecordObject => ({ key, etag: `etag-${key}`, body: Buffer.from(lines.join('\n')) });
const record = (fields: object) => JSON.stringify(fields);

describe('finding 7: the largest amount a record may have', () => {
  test('finding 7: an amount over 1,000,000,000 USDC is INVALID with the field and value, whatever its score, and carries no amount', () => {
    const decided = decideHolds(
      [
        object('out/max.out', [
          '{"transaction_id":"at-max","buyer":"agt_b","seller":"agt_s","amount":1000000000,"fraud_score":0.9}',
          '{"transaction_id":"over-max","buyer":"agt_b","seller":"agt_s","amount":1000000000.01,"fraud_score":0.9}',
          '{"transaction_id":"skipped-huge","buyer":"agt_b","seller":"agt_s","amount":1e20,"fraud_score":0.1}',
        ]),
      ],
      rules,
      'job',
    );
    expect(decided.notActedOn).toEqual([
      expect.objectContaining({
        transaction_id: 'at-max',
        status: 'INVALID',
        amount_usdc: 1_000_000_000,
        error: 'amount 1000000000.00 is over maxHoldUsdc 1000',
      }),
      expect.objectContaining({
        transaction_id: 'over-max',
        status: 'INVALID',
        amount_usdc: undefined,
        error: 'amount 1000000000.01 is over 1000000000 USDC, the largest a row may have',
      }),
      // Not SKIPPED with an amount no total could carry to the cent.
      expect.objectContaining({
        transaction_id: 'skipped-huge',
        status: 'INVALID',
        amount_usdc: undefined,
        error: 'amount 1e20 is over 1000000000 USDC, the largest a row may have',
      }),
    ]);
  });
});

describe("decideHolds (JSON Lines, the story's example)", () => {
  test('a score above 0.80 is held, at or below it is SKIPPED; rows are numbered across objects', () => {
    const decided = decideHolds(
      [
        object('out/a.jsonl.out', [
          record({ transaction_id: 'tx-1', buyer: 'agt_buyer_001', seller: 'agt_merchant_042', amount: 250.0, fraud_score: 0.91 }),
          record({ transaction_id: 'tx-2', buyer: 'agt_buyer_009', seller: 'agt_merchant_017', amount: 89.5, fraud_score: 0.8 }),
        ]),
        object('out/b.jsonl.out', [
          '',
          record({ transaction_id: 'tx-3', buyer: 'agt_b', seller: 'agt_s', amount: '10', SageMakerOutput: { fraud_score: 0.85 } }),
        ]),
      ],
      rules,
      'fraud-job-7',
    );
    expect(decided.toAct).toEqual([
      {
        line: '1',
        object_key: 'out/a.jsonl.out',
        object_etag: 'etag-out/a.jsonl.out',
        object_line: '1',
        transaction_id: 'tx-1',
        buyer: 'agt_buyer_001',
        seller: 'agt_merchant_042',
        amount_usdc: '250.00',
        fraud_score: '0.91',
        transform_job: 'fraud-job-7',
      },
      {
        line: '3',
        object_key: 'out/b.jsonl.out',
        object_etag: 'etag-out/b.jsonl.out',
        object_line: '2',
        transaction_id: 'tx-3',
        buyer: 'agt_b',
        seller: 'agt_s',
        amount_usdc: '10.00',
        fraud_score: '0.85',
        transform_job: 'fraud-job-7',
      },
    ]);
    expect(decided.notActedOn).toEqual([
      expect.objectContaining({
        line: 2,
        transaction_id: 'tx-2',
        status: 'SKIPPED',
        error: 'fraud score 0.8 is at or below the threshold 0.8',
        amount_usdc: 89.5,
      }),
    ]);
    expect(decided.totalToActCents).toBe(26000);
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
    const decided = decideHolds(
      [object('x.out', [record(fields), record({ buyer: 'agt_ok', seller: 'agt_s', amount: 1, fraud_score: 0.99 })])],
      rules,
      '',
    );
    expect(decided.notActedOn).toEqual([expect.objectContaining({ line: 1, status: 'INVALID', error })]);
    expect(decided.toAct).toHaveLength(1);
  });

  test('a line that is not JSON, or not an object, is INVALID, named by object and line', () => {
    const decided = decideHolds(
      [object('x.out', ['{"buyer":', '[1,2]', record({ buyer: 'agt_ok', seller: 'agt_s', amount: 1, fraud_score: 0.99 })])],
      rules,
      '',
    );
    expect(decided.notActedOn.map((row) => row.error)).toEqual(['line 1 of x.out is not JSON', 'line 2 of x.out is not a JSON object']);
    expect(decided.toAct).toHaveLength(1);
  });

  test('every record of a transaction id that appears more than once is INVALID', () => {
    const same = { transaction_id: 'tx-9', buyer: 'agt_b', seller: 'agt_s', amount: 5, fraud_score: 0.95 };
    const decided = decideHolds([object('a.out', [record(same)]), object('b.out', [record({ ...same, amount: 6 })])], rules, '');
    expect(decided.toAct).toEqual([]);
    expect(decided.notActedOn.map((row) => row.error)).toEqual([
      'transaction "tx-9" appears more than once (lines 1, 2)',
      'transaction "tx-9" appears more than once (lines 1, 2)',
    ]);
  });
});

describe('decideHolds (CSV with a header)', () => {
  test('reads the configured columns', () => {
    const csv: RecordObject = {
      key: 'in.csv',
      etag: 'e',
      body: Buffer.from('\ufefftxn,payer,payee,value,score\r\nT1,agt_b,agt_s,12.5,0.95\r\nT2,agt_b,agt_s,3,0.1\r\n'),
    };
    const decided = decideHolds(
      [csv],
      {
        ...rules,
        inputFormat: 'CSV',
        transactionIdField: 'txn',
        buyerField: 'payer',
        sellerField: 'payee',
        amountField: 'value',
        fraudScoreField: 'score',
      },
      '',
    );
    expect(decided.toAct.map((row) => [row.transaction_id, row.amount_usdc, row.object_line])).toEqual([['T1', '12.50', '2']]);
    expect(decided.notActedOn.map((row) => row.status)).toEqual(['SKIPPED']);
  });

  test('a CSV without a needed column cannot be read', () => {
    const csv: RecordObject = { key: 'in.csv', etag: 'e', body: Buffer.from('buyer,seller,amount\nagt_b,agt_s,1\n') };
    expect(() => decideHolds([csv], { ...rules, inputFormat: 'CSV' }, '')).toThrow(
      new UnreadableRecordsError('in.csv has no "fraud_score" column (its header is: buyer, seller, amount)'),
    );
  });
});

describe('resolveRecords', () => {
  test('the three triggers', () => {
    expect(resolveRecords({ bucket: 'b', key: 'k.out' })).toEqual({
      ok: true,
      location: { kind: 'object', bucket: 'b', key: 'k.out' },
      transformJob: '',
    });
    expect(resolveRecords({ bucket: 'b', prefix: 'runs/7/' })).toEqual({
      ok: true,
      location: { kind: 'prefix', bucket: 'b', prefix: 'runs/7/' },
      transformJob: '',
    });
    expect(
      resolveRecords({
        source: 'aws.sagemaker',
        detail: { TransformJobName: 'fraud-7', TransformOutput: { S3OutputPath: 's3://out/fraud/7' } },
      }),
    ).toEqual({
      ok: true,
      location: { kind: 'prefix', bucket: 'out', prefix: 'fraud/7/' },
      transformJob: 'fraud-7',
    });
    expect(resolveRecords({ source: 'aws.sagemaker', detail: { TransformJobName: 'fraud-8' } })).toEqual({
      ok: true,
      location: { kind: 'transform-job', jobName: 'fraud-8' },
      transformJob: 'fraud-8',
    });
  });
});

describe('decideHolds: transaction ids and agent ids are exact and bounded', () => {
  const flagged = '"buyer":"agt_b","seller":"agt_s","amount":5,"fraud_score":0.95';
  const idRule = '1 to 128 letters, digits and _ . : @ + = -';

  test('two numeric ids beyond 2^53, which JSON.parse makes one, are two transactions: both held, with their digits', () => {
    const decided = decideHolds(
      [
        object('big.out', [
          `{"transaction_id":9007199254740993,${flagged}}`,
          `{"transaction_id":9007199254740992,${flagged}}`,
          `{"transaction_id":123456789012345678901234567890,${flagged}}`,
        ]),
      ],
      rules,
      '',
    );
    expect(decided.notActedOn).toEqual([]);
    expect(decided.toAct.map((row) => row.transaction_id)).toEqual([
      '9007199254740993',
      '9007199254740992',
      '123456789012345678901234567890',
    ]);
  });

  test('a numeric id is its digits as written (a safe one keeps the key it always had); a string keeps its leading zeros', () => {
    const decided = decideHolds(
      [object('ids.out', [`{"transaction_id":42,${flagged}}`, `{"transaction_id":"0042",${flagged}}`, `{"transaction_id":-7,${flagged}}`])],
      rules,
      '',
    );
    expect(decided.toAct.map((row) => row.transaction_id)).toEqual(['42', '0042', '-7']);
  });

  test('a numeric buyer or seller keeps its digits too (not another agent)', () => {
    const decided = decideHolds(
      [
        object('agents.out', [
          '{"transaction_id":"t-1","buyer":9007199254740993,"seller":12345678901234567891,"amount":5,"fraud_score":0.95}',
        ]),
      ],
      rules,
      '',
    );
    expect(decided.toAct.map((row) => [row.buyer, row.seller])).toEqual([['9007199254740993', '12345678901234567891']]);
  });

  test.each([
    [
      'a 2 KB id',
      JSON.stringify('x'.repeat(2048)),
      `transaction_id "${'x'.repeat(64)}…" (2048 characters) is not a valid transaction id: ${idRule}`,
    ],
    [
      '129 characters',
      JSON.stringify('t'.repeat(129)),
      `transaction_id "${'t'.repeat(64)}…" (129 characters) is not a valid transaction id: ${idRule}`,
    ],
    ['an id ending in a backslash', JSON.stringify('tx\\'), `transaction_id "tx\\\\" is not a valid transaction id: ${idRule}`],
    ['a comma', JSON.stringify('tx,1'), `transaction_id "tx,1" is not a valid transaction id: ${idRule}`],
    ['a double quote', JSON.stringify('tx"1'), `transaction_id "tx\\"1" is not a valid transaction id: ${idRule}`],
    ['a line break', JSON.stringify('tx\r\n1'), `transaction_id "tx\\r\\n1" is not a valid transaction id: ${idRule}`],
    ['a space inside', JSON.stringify('tx 1'), `transaction_id "tx 1" is not a valid transaction id: ${idRule}`],
    [
      "a slash (a record's place has one)",
      JSON.stringify('bucket/k.out:etag:1'),
      `transaction_id "bucket/k.out:etag:1" is not a valid transaction id: ${idRule}`,
    ],
    ['a letter outside ASCII', JSON.stringify('tx-é'), `transaction_id "tx-é" is not a valid transaction id: ${idRule}`],
    [
      'a number with a fraction',
      '1.5',
      'transaction_id 1.5 is not a valid transaction id: a number must be a whole number as digits (write any other id as a string)',
    ],
    [
      'a number with an exponent',
      '1e3',
      'transaction_id 1e3 is not a valid transaction id: a number must be a whole number as digits (write any other id as a string)',
    ],
    ['true', 'true', 'transaction_id true is not a valid transaction id: it must be a string or a whole number'],
    ['an object', '{"id":1}', 'transaction_id {"id":1} is not a valid transaction id: it must be a string or a whole number'],
  ])('%s is INVALID with the reason naming the field and the value; the other records still go through', (_, literal, error) => {
    const decided = decideHolds(
      [object('x.out', [`{"transaction_id":${literal},${flagged}}`, `{"transaction_id":"ok-1",${flagged}}`])],
      rules,
      '',
    );
    expect(decided.notActedOn).toEqual([expect.objectContaining({ line: 1, status: 'INVALID', error })]);
    expect(decided.toAct.map((row) => row.transaction_id)).toEqual(['ok-1']);
  });

  test('the ids that pass: letters, digits and _ . : @ + = -, up to 128; a record with no id (missing, null, "") is identified by its place', () => {
    const ids = ['A-z_0.9:@+=', 't'.repeat(128), '-1', 'pi_3N2x:order@shop'];
    const decided = decideHolds(
      [
        object('ok.out', [
          ...ids.map((id) => `{"transaction_id":${JSON.stringify(id)},${flagged}}`),
          `{${flagged}}`,
          `{"transaction_id":null,${flagged}}`,
          `{"transaction_id":"",${flagged}}`,
        ]),
      ],
      rules,
      '',
    );
    expect(decided.notActedOn).toEqual([]);
    expect(decided.toAct.map((row) => row.transaction_id)).toEqual([...ids, '', '', '']);
  });

  test('the id rule holds for CSV records too', () => {
    const csv: RecordObject = {
      key: 'in.csv',
      etag: 'e',
      body: Buffer.from('transaction_id,buyer,seller,amount,fraud_score\n"tx\\",agt_b,agt_s,5,0.95\n"007",agt_b,agt_s,5,0.95\n'),
    };
    const decided = decideHolds([csv], { ...rules, inputFormat: 'CSV' }, '');
    expect(decided.notActedOn).toEqual([
      expect.objectContaining({ line: 1, status: 'INVALID', error: `transaction_id "tx\\\\" is not a valid transaction id: ${idRule}` }),
    ]);
    expect(decided.toAct.map((row) => row.transaction_id)).toEqual(['007']);
  });

  test('two records with the same refused id are INVALID for the id, not as duplicates; a long bad agent id is shown shortened', () => {
    const long = JSON.stringify('y'.repeat(300));
    const decided = decideHolds(
      [
        object('x.out', [
          `{"transaction_id":${long},${flagged}}`,
          `{"transaction_id":${long},${flagged}}`,
          `{"transaction_id":"t-2","buyer":${long},"seller":"agt_s","amount":5,"fraud_score":0.95}`,
        ]),
      ],
      rules,
      '',
    );
    expect(decided.notActedOn.map((row) => row.error)).toEqual([
      `transaction_id "${'y'.repeat(64)}…" (300 characters) is not a valid transaction id: ${idRule}`,
      `transaction_id "${'y'.repeat(64)}…" (300 characters) is not a valid transaction id: ${idRule}`,
      `buyer "${'y'.repeat(64)}…" (300 characters) is not a valid agent id`,
    ]);
  });

  test('the records of an object whose key input.csv cannot carry (a backslash) are INVALID; a key with quotes and commas is fine', () => {
    const decided = decideHolds(
      [
        object('in\\bad.out', [`{"transaction_id":"t-1",${flagged}}`]),
        object('in "odd", fine.out', [`{"transaction_id":"t-2",${flagged}}`]),
      ],
      rules,
      '',
    );
    expect(decided.notActedOn).toEqual([
      expect.objectContaining({
        line: 1,
        status: 'INVALID',
        error: 'the object key "in\\\\bad.out" has a backslash, which input.csv cannot pass on to Step Functions unchanged',
      }),
    ]);
    expect(decided.toAct.map((row) => row.object_key)).toEqual(['in "odd", fine.out']);
  });

  test('property: a record is held with exactly its id, or INVALID; every held record reaches Act through input.csv exactly as decided', () => {
    const tricky = fc.constantFrom('"', ',', '\\', '\n', '\r', ' ', '/', '0', '9', 'a', 'Z', '_', '-', '.', ':', '@', '+', '=', 'é', '😀');
    const id = fc.oneof(
      fc.array(tricky, { minLength: 1, maxLength: 12 }).map((parts) => JSON.stringify(parts.join(''))),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 140 }).map((s) => JSON.stringify(s)),
      fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
    );
    const key = fc.array(tricky, { minLength: 1, maxLength: 8 }).map((parts) => `out/${parts.join('')}.out`);
    fc.assert(
      fc.property(key, fc.uniqueArray(id, { maxLength: 10 }), (objectKey, ids) => {
        const decided = decideHolds(
          [
            object(
              objectKey,
              ids.map((literal) => `{"transaction_id":${literal},${flagged}}`),
            ),
          ],
          rules,
          'job-1',
        );
        expect(decided.toAct.length + decided.notActedOn.length).toBe(ids.length);
        for (const row of decided.toAct) {
          const literal = ids[Number(row.line) - 1];
          const given = literal.startsWith('"') ? (JSON.parse(literal) as string).trim() : literal;
          expect(row.transaction_id).toBe(given);
          // No id (a blank string) is identified by its place; any other is within the rule.
          if (given !== '') expect(row.transaction_id).toMatch(/^[A-Za-z0-9_.:@+=-]{1,128}$/);
        }
        expect(readCsvAsStepFunctions(Buffer.from(normalizedCsv(decided.toAct, HOLD_COLUMNS), 'utf8'))).toEqual(decided.toAct);
      }),
      { numRuns: 500 },
    );
  });
});
