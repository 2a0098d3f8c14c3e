import fc from 'fast-check';
import { scoreRows, ScoreRules, UnreadableScoresError } from '../../lambda/batch-payout-prepare/score-rows';
import { normalizedCsv } from '../../lambda/shared/batch/prepare-run';
import { resolveSource } from '../../lambda/batch-payout-prepare/source-object';
import { PAYOUT_COLUMNS } from '../../lib/private/contracts/batch-engine';

const rules: ScoreRules = {
  agentIdColumn: 'agent_id',
  scoreColumn: 'score',
  usdPerScorePoint: 10,
  minPayoutUsdc: 0.01,
  maxPayoutPerAgentUsdc: 1000,
};
const statusOf = (file: ReturnType<typeof scoreRows>, line: number) =>
  file.toAct.some((row) => row.line === String(line)) ? 'PAYABLE' : file.notActedOn.find((row) => row.line === line)?.status;

describe('scoreRows: amounts as the hand-written pattern computes them', () => {
  test('amount = round(score × $10, 2); other columns ignored; BOM, CRLF and quoted fields', () => {
    const file = scoreRows('\ufeffteam,agent_id,"score"\r\n"a, b",agt_one,0.615\r\nx,"agt_two",1.2345\r\n', rules);
    expect(file.toAct).toEqual([
      { line: '2', agent_id: 'agt_one', score: '0.615', amount_usdc: '6.15' },
      { line: '3', agent_id: 'agt_two', score: '1.2345', amount_usdc: '12.35' },
    ]);
    expect(file.totalToActCents).toBe(1850);
    expect(file.notActedOn).toEqual([]);
  });

  test('configurable column names', () => {
    const file = scoreRows('recipient,perf\nag_x,2\n', { ...rules, agentIdColumn: 'recipient', scoreColumn: 'perf' });
    expect(file.toAct).toEqual([{ line: '2', agent_id: 'ag_x', score: '2', amount_usdc: '20.00' }]);
  });

  test('at or below minPayoutUsdc is SKIPPED; over maxPayoutPerAgentUsdc is INVALID, never reduced', () => {
    const file = scoreRows('agent_id,score\nagt_a,0.001\nagt_b,0\nagt_c,100.01\nagt_d,100\n', rules);
    expect(file.notActedOn.map((row) => [row.line, row.status, row.error])).toEqual([
      [2, 'SKIPPED', 'amount 0.01 is at or below minPayoutUsdc 0.01'],
      [3, 'SKIPPED', 'amount 0.00 is at or below minPayoutUsdc 0.01'],
      [4, 'INVALID', 'amount 1000.10 is over maxPayoutPerAgentUsdc 1000'],
    ]);
    // Exactly at the cap is paid.
    expect(file.toAct.map((row) => row.agent_id)).toEqual(['agt_d']);
  });
});

describe('scoreRows: bad rows are INVALID with the field and the value, and the other rows still go through', () => {
  test.each([
    ['', 'agent_id is empty'],
    ['agt bad', 'agent_id "agt bad" is not a valid agent id'],
    ['agt_\\', 'agent_id "agt_\\\\" is not a valid agent id'],
  ])('agent id %j', (agentId, error) => {
    const file = scoreRows(`agent_id,score\n${agentId},1\nagt_ok,1\n`, rules);
    expect(file.notActedOn).toEqual([expect.objectContaining({ line: 2, status: 'INVALID', error })]);
    expect(file.toAct.map((row) => row.agent_id)).toEqual(['agt_ok']);
  });

  test('a 2 KB agent id (or 129 characters, one too many) is INVALID, the value shortened in the reason', () => {
    const file = scoreRows(`agent_id,score\n${'a'.repeat(2048)},1\n${'c'.repeat(129)},1\n${'d'.repeat(128)},1\n`, rules);
    expect(file.notActedOn.map((row) => row.error)).toEqual([
      `agent_id "${'a'.repeat(64)}…" (2048 characters) is not a valid agent id`,
      `agent_id "${'c'.repeat(64)}…" (129 characters) is not a valid agent id`,
    ]);
    expect(file.toAct.map((row) => row.agent_id)).toEqual(['d'.repeat(128)]);
  });

  test.each([
    ['abc', 'score "abc" is not a number'],
    ['NaN', 'score "NaN" is not a number'],
    ['-0.5', 'score -0.5 is negative'],
    ['1e308', 'score 1e308 gives an amount over 1000000000 USDC, the largest a row may have'],
    ['', 'score is empty'],
    ['0x10', 'score "0x10" is not a number'],
  ])('score %j', (score, error) => {
    const file = scoreRows(`agent_id,score\nagt_a,${score}\nagt_ok,1\n`, rules);
    expect(file.notActedOn).toEqual([expect.objectContaining({ line: 2, status: 'INVALID', error })]);
    expect(file.toAct).toHaveLength(1);
  });

  test('finding 7: an amount over the largest a row may have (1,000,000,000 USDC) is INVALID with the score, and carries no amount', () => {
    const file = scoreRows('agent_id,score\nagt_at_max,100000000\nagt_over_max,100000000.001\nagt_huge,5000000000000.002\n', rules);
    expect(file.notActedOn).toEqual([
      // At the maximum: an amount (over maxPayoutPerAgentUsdc), exact in cents.
      expect.objectContaining({
        agent_id: 'agt_at_max',
        status: 'INVALID',
        amount_usdc: 1_000_000_000,
        error: 'amount 1000000000.00 is over maxPayoutPerAgentUsdc 1000',
      }),
      expect.objectContaining({
        agent_id: 'agt_over_max',
        status: 'INVALID',
        amount_usdc: undefined,
        error: 'score 100000000.001 gives an amount over 1000000000 USDC, the largest a row may have',
      }),
      expect.objectContaining({
        agent_id: 'agt_huge',
        status: 'INVALID',
        amount_usdc: undefined,
        error: 'score 5000000000000.002 gives an amount over 1000000000 USDC, the largest a row may have',
      }),
    ]);
  });

  test('rows sharing an agent id that breaks the rule are INVALID for the rule, not as duplicates', () => {
    const long = 'b'.repeat(200);
    const file = scoreRows(`agent_id,score\n${long},1\n${long},1\nagt_ok,1\n`, rules);
    expect(file.notActedOn.map((row) => row.error)).toEqual([
      `agent_id "${'b'.repeat(64)}…" (200 characters) is not a valid agent id`,
      `agent_id "${'b'.repeat(64)}…" (200 characters) is not a valid agent id`,
    ]);
    expect(file.toAct.map((row) => row.agent_id)).toEqual(['agt_ok']);
  });

  test('every row of a duplicated agent id is INVALID, naming the lines', () => {
    const file = scoreRows('agent_id,score\nagt_a,1\nagt_b,1\nagt_a,0.001\nagt_a,2\n', rules);
    expect(file.toAct.map((row) => row.agent_id)).toEqual(['agt_b']);
    expect(file.notActedOn.map((row) => [row.line, row.status, row.error])).toEqual([
      [2, 'INVALID', 'agent_id "agt_a" appears more than once (lines 2, 4, 5)'],
      [4, 'INVALID', 'agent_id "agt_a" appears more than once (lines 2, 4, 5)'],
      [5, 'INVALID', 'agent_id "agt_a" appears more than once (lines 2, 4, 5)'],
    ]);
  });

  test('a short row (missing the score cell) is INVALID, not a crash', () => {
    const file = scoreRows('agent_id,score\nagt_a\nagt_b,1\n', rules);
    expect(file.notActedOn).toEqual([expect.objectContaining({ line: 2, error: 'score is empty' })]);
  });
});

describe('scoreRows: files that pay no one', () => {
  test('missing columns name what the header has', () => {
    expect(() => scoreRows('agent,points\nagt_a,1\n', rules)).toThrow(
      new UnreadableScoresError('the scores file has no "agent_id" or "score" column (its header is: "agent", "points")'),
    );
  });

  test('an empty file', () => {
    expect(() => scoreRows('', rules)).toThrow('the scores file is empty: it has no header row');
    expect(() => scoreRows('\ufeff\r\n', rules)).toThrow('the scores file is empty');
  });

  test('a header-only file has nothing to pay, and is no error', () => {
    expect(scoreRows('agent_id,score\r\n', rules)).toEqual({ toAct: [], notActedOn: [], totalToActCents: 0, rowCount: 0 });
  });

  test('a broken quote is unreadable', () => {
    expect(() => scoreRows('agent_id,score\n"agt_a,1\n', rules)).toThrow(UnreadableScoresError);
  });
});

describe('scoreRows properties', () => {
  test('every row gets exactly one fate, and the payable total is the sum of the payable amounts in cents', () => {
    const agent = fc.oneof(fc.constantFrom('agt_a', 'agt_b', 'agt_c', 'ag_d', '', 'bad id'), fc.stringMatching(/^agt_[a-z0-9]{1,6}$/));
    const score = fc.oneof(fc.double({ min: 0, max: 200, noNaN: true }).map(String), fc.constantFrom('abc', '-1', '', '1e308', '0.001'));
    fc.assert(
      fc.property(fc.array(fc.tuple(agent, score), { maxLength: 40 }), (rows) => {
        const csv = ['agent_id,score', ...rows.map(([a, s]) => `${a},${s}`)].join('\n');
        const file = scoreRows(csv, rules);
        expect(file.toAct.length + file.notActedOn.length).toBe(rows.length);
        const lines = [...file.toAct.map((row) => Number(row.line)), ...file.notActedOn.map((row) => row.line)].sort((a, b) => a - b);
        expect(lines).toEqual(rows.map((_, index) => index + 2));
        expect(file.totalToActCents).toBe(file.toAct.reduce((sum, row) => sum + Math.round(Number(row.amount_usdc) * 100), 0));
        const paidAgents = file.toAct.map((row) => row.agent_id);
        expect(new Set(paidAgents).size).toBe(paidAgents.length);
        for (const row of file.toAct) {
          expect(Number(row.amount_usdc)).toBeGreaterThan(0.01);
          expect(Number(row.amount_usdc)).toBeLessThanOrEqual(1000);
        }
      }),
    );
  });

  test('normalizedCsv writes the payable rows back under the fixed columns', () => {
    const file = scoreRows('agent_id,score\nagt_a,1\nagt_b,0.5\n', rules);
    expect(normalizedCsv(file.toAct, PAYOUT_COLUMNS)).toBe('line,agent_id,score,amount_usdc\n2,agt_a,1,10.00\n3,agt_b,0.5,5.00\n');
    expect(statusOf(file, 2)).toBe('PAYABLE');
  });
});

describe('resolveSource', () => {
  const processing = { outputName: 'payout', fileName: 'scores.csv' };

  test('a manual start, an S3 Object Created event, a processing job with its outputs', () => {
    expect(resolveSource({ bucket: 'b', key: 'scores/a.csv' }, processing)).toEqual({
      ok: true,
      location: { kind: 'object', bucket: 'b', key: 'scores/a.csv' },
    });
    expect(
      resolveSource({ source: 'aws.s3', detail: { bucket: { name: 'b' }, object: { key: 'scores/x y.csv', etag: 'e' } } }, processing),
    ).toEqual({
      ok: true,
      location: { kind: 'object', bucket: 'b', key: 'scores/x y.csv' },
    });
    const job = {
      source: 'aws.sagemaker',
      detail: {
        ProcessingJobName: 'score-42',
        ProcessingOutputConfig: {
          Outputs: [
            { OutputName: 'other', S3Output: { S3Uri: 's3://x/y' } },
            { OutputName: 'payout', S3Output: { S3Uri: 's3://out/jobs/42/' } },
          ],
        },
      },
    };
    expect(resolveSource(job, processing)).toEqual({ ok: true, location: { kind: 'object', bucket: 'out', key: 'jobs/42/scores.csv' } });
  });

  test('a processing job event without outputs asks DescribeProcessingJob', () => {
    expect(resolveSource({ source: 'aws.sagemaker', detail: { ProcessingJobName: 'j' } }, processing)).toEqual({
      ok: true,
      location: { kind: 'processing-job', jobName: 'j' },
    });
  });

  test.each([
    [
      { source: 'aws.sagemaker', detail: { ProcessingJobName: 'j', ProcessingOutputConfig: { Outputs: [{ OutputName: 'other' }] } } },
      'processing job j has no S3 output named "payout" (it has: other)',
    ],
    [{ foo: 1 }, 'the input is neither {bucket, key}'],
    [{ bucket: '', key: 'k' }, 'bucket and key must not be empty'],
    [{ source: 'aws.s3', detail: {} }, 'the S3 event has no detail.bucket.name'],
  ])('rejects %j', (input, reason) => {
    const resolved = resolveSource(input, processing);
    expect(resolved.ok).toBe(false);
    expect(!resolved.ok && resolved.reason).toContain(reason);
  });
});
