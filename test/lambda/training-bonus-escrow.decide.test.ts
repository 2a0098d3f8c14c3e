import fc from 'fast-check';
import {
  bonusFor,
  checkJob,
  decideBonus,
  dryRunReason,
  EscrowTerms,
  finalMetricValue,
  renderTemplate,
  reportedEscrow,
  sellerOf,
} from '../../lambda/training-bonus-escrow/decide';
import { GATEWAY_PROFILE } from '../../lambda/shared/purpleflea-api';
import { parseTrainingJobEvent } from '../../lambda/training-bonus-escrow/training-job-event';

const SEED_TIERS = [
  { threshold: 0.9, amountUsdc: 50 },
  { threshold: 0.8, amountUsdc: 20 },
  { threshold: 0.7, amountUsdc: 5 },
];

describe("bonusFor (the story's tiers, MAXIMIZE)", () => {
  test.each([
    [0.95, 50],
    [0.9000001, 50],
    [0.9, 20], // "above 0.90": exactly 0.90 is the next tier
    [0.85, 20],
    [0.8, 5],
    [0.71, 5],
    [0.7, 0],
    [0.2, 0],
  ])('accuracy %d earns %d', (accuracy, bonus) => {
    expect(bonusFor(accuracy, SEED_TIERS, 'MAXIMIZE')).toBe(bonus);
  });

  test('the order the tiers are given in does not matter', () => {
    expect(bonusFor(0.85, [...SEED_TIERS].reverse(), 'MAXIMIZE')).toBe(20);
  });

  test('MINIMIZE: a loss strictly below a threshold earns its tier, the lowest threshold first', () => {
    const tiers = [
      { threshold: 0.2, amountUsdc: 20 },
      { threshold: 0.1, amountUsdc: 50 },
    ];
    expect(bonusFor(0.05, tiers, 'MINIMIZE')).toBe(50);
    expect(bonusFor(0.1, tiers, 'MINIMIZE')).toBe(20);
    expect(bonusFor(0.15, tiers, 'MINIMIZE')).toBe(20);
    expect(bonusFor(0.2, tiers, 'MINIMIZE')).toBe(0);
  });

  test('property: a better metric never earns less, and the bonus is always one of the tiers or 0', () => {
    // Tiers written for a loss (a lower bar earns more), as a MINIMIZE user writes them: the story's accuracy
    // tiers read as loss bars would pay a loss of 0 less than one of 0.75 (each bar pays what it says).
    const lossTiers = [
      { threshold: 0.1, amountUsdc: 50 },
      { threshold: 0.2, amountUsdc: 20 },
      { threshold: 0.3, amountUsdc: 5 },
    ];
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (a, b) => {
        const [worse, better] = a <= b ? [a, b] : [b, a];
        expect(bonusFor(better, SEED_TIERS, 'MAXIMIZE')).toBeGreaterThanOrEqual(bonusFor(worse, SEED_TIERS, 'MAXIMIZE'));
        // For a loss the lower value is the better one.
        expect(bonusFor(worse, lossTiers, 'MINIMIZE')).toBeGreaterThanOrEqual(bonusFor(better, lossTiers, 'MINIMIZE'));
        expect([0, 5, 20, 50]).toContain(bonusFor(a, SEED_TIERS, 'MAXIMIZE'));
      }),
    );
  });
});

describe('renderTemplate', () => {
  test('fills the three placeholders, every time they appear', () => {
    expect(renderTemplate('agt_model_{jobName}', { jobName: 'xgb-7', metricName: 'validation:accuracy', metricValue: 0.93 })).toBe(
      'agt_model_xgb-7',
    );
    expect(renderTemplate('{metricName}={metricValue} ({jobName}, {jobName})', { jobName: 'j', metricName: 'm', metricValue: 0.5 })).toBe(
      'm=0.5 (j, j)',
    );
  });
});

describe('parseTrainingJobEvent', () => {
  const event = (detail: unknown) => ({ 'source': 'aws.sagemaker', 'detail-type': 'SageMaker Training Job State Change', detail });

  test('reads the name, the ARN, the status and the tags (a map, or a list of {Key, Value})', () => {
    expect(
      parseTrainingJobEvent(
        event({ TrainingJobName: 'j1', TrainingJobArn: 'arn:j1', TrainingJobStatus: 'Completed', Tags: { owner: 'agt_a' } }),
      ),
    ).toEqual({
      ok: true,
      event: { jobName: 'j1', jobArn: 'arn:j1', status: 'Completed', tags: { owner: 'agt_a' } },
    });
    const listed = parseTrainingJobEvent(
      event({ TrainingJobName: 'j2', TrainingJobStatus: 'Completed', Tags: [{ Key: 'owner', Value: 'agt_b' }] }),
    );
    expect(listed).toEqual({ ok: true, event: { jobName: 'j2', jobArn: undefined, status: 'Completed', tags: { owner: 'agt_b' } } });
  });

  test.each([
    [{}, 'the event has no detail object'],
    [event({ TrainingJobStatus: 'Completed' }), 'detail.TrainingJobName must be a non-empty string, got nothing'],
    [event({ TrainingJobName: 'j', TrainingJobStatus: 3 }), 'detail.TrainingJobStatus must be a string, got 3 (job j)'],
  ])('rejects %j', (input, reason) => {
    const parsed = parseTrainingJobEvent(input);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toContain(reason);
  });
});

describe('checkJob (before SageMaker is asked)', () => {
  test('a Completed job of an enabled construct goes on; a disabled construct or another status is skipped', () => {
    expect(checkJob({ status: 'Completed' }, { enabled: true })).toEqual({ ok: true });
    expect(checkJob({ status: 'Completed' }, { enabled: false })).toEqual({ ok: false, reason: 'disabled (enabled: false)' });
    expect(checkJob({ status: 'Stopped' }, { enabled: true })).toEqual({ ok: false, reason: 'the job is Stopped, not Completed' });
  });
});

describe('finalMetricValue', () => {
  test('the named metric of FinalMetricDataList', () => {
    expect(
      finalMetricValue(
        'j',
        [
          { MetricName: 'train:loss', Value: 0.2 },
          { MetricName: 'validation:accuracy', Value: 0.93 },
        ],
        'validation:accuracy',
      ),
    ).toEqual({ ok: true, value: 0.93 });
  });

  test('a missing metric names those the job has (or none)', () => {
    expect(finalMetricValue('j', [{ MetricName: 'train:loss', Value: 0.2 }], 'validation:accuracy')).toEqual({
      ok: false,
      reason: 'job j has no final metric "validation:accuracy" (it has: train:loss)',
    });
    expect(finalMetricValue('j', undefined, 'validation:accuracy')).toEqual({
      ok: false,
      reason: 'job j has no final metric "validation:accuracy" (it has: none)',
    });
  });

  test.each([[undefined], [Number.NaN], [Number.POSITIVE_INFINITY]])('a value of %p is not a finite number', (value) => {
    expect(finalMetricValue('j', [{ MetricName: 'm', Value: value }], 'm')).toEqual({
      ok: false,
      reason: `job j's final metric "m" is not a finite number, got ${String(value)}`,
    });
  });
});

describe('decideBonus', () => {
  const rules = { metricName: 'validation:accuracy', bonusTiers: SEED_TIERS, metricGoal: 'MAXIMIZE' as const, maxBonusUsdc: 1000 };

  test("the tier's bonus; below every tier is skipped with the metric; over maxBonusUsdc is invalid, never reduced", () => {
    expect(decideBonus(0.93, rules)).toEqual({ action: 'escrow', bonusUsdc: 50 });
    expect(decideBonus(0.5, rules)).toEqual({ action: 'skip', bonusUsdc: 0, reason: 'validation:accuracy 0.5 is below every bonus tier' });
    expect(decideBonus(0.93, { ...rules, maxBonusUsdc: 49.99 })).toEqual({
      action: 'invalid',
      bonusUsdc: 50,
      reason: 'bonus 50 USDC is over maxBonusUsdc 49.99',
    });
  });
});

describe('sellerOf', () => {
  const values = { jobName: 'Job-1', metricName: 'validation:accuracy', metricValue: 0.93 };
  const rules = { sellerTagKey: 'purpleflea:seller', sellerTemplate: 'agt_model_{jobName}' };

  test("the job's tag when the key is set and the job has it; else the template", () => {
    expect(sellerOf({ jobName: 'Job-1', tags: { 'purpleflea:seller': 'agt_alice' } }, values, rules)).toEqual({
      ok: true,
      agentId: 'agt_alice',
    });
    expect(sellerOf({ jobName: 'Job-1', tags: {} }, values, rules)).toEqual({ ok: true, agentId: 'agt_model_Job-1' });
    expect(
      sellerOf({ jobName: 'Job-1', tags: { 'purpleflea:seller': 'agt_alice' } }, values, { ...rules, sellerTagKey: undefined }),
    ).toEqual({
      ok: true,
      agentId: 'agt_model_Job-1',
    });
  });

  test('an invalid agent id names where it came from', () => {
    expect(sellerOf({ jobName: 'Job 1', tags: {} }, { ...values, jobName: 'Job 1' }, rules)).toEqual({
      ok: false,
      reason: 'the seller template gives an invalid seller agent id for job Job 1: "agt_model_Job 1"',
    });
  });
});

describe('dryRunReason and reportedEscrow', () => {
  const computed: EscrowTerms = { buyer: 'agt_treasury', seller: 'agt_model_j', bonusUsdc: 75, condition: 'approved:j' };
  const recorded = (terms: EscrowTerms) => ({
    amountUsdc: terms.bonusUsdc,
    request: GATEWAY_PROFILE.createEscrow({ ...terms, amountUsdc: terms.bonusUsdc, metadata: {} }).body,
  });

  test('a dry run says what it would escrow; otherwise the escrow is sent', () => {
    expect(dryRunReason(computed, { dryRun: true })).toBe('dry run: would escrow 75 USDC from agt_treasury to agt_model_j');
    expect(dryRunReason(computed, { dryRun: false })).toBeUndefined();
  });

  test('a first delivery, or a repeat of the same escrow, reports it with no note', () => {
    expect(reportedEscrow(undefined, computed, GATEWAY_PROFILE)).toEqual({ escrow: computed });
    expect(reportedEscrow(recorded(computed), computed, GATEWAY_PROFILE)).toEqual({ escrow: computed });
  });

  test("a repeat reports the recorded escrow, and this delivery's bonus and seller where they differ", () => {
    expect(reportedEscrow(recorded({ ...computed, bonusUsdc: 50 }), computed, GATEWAY_PROFILE)).toEqual({
      escrow: { ...computed, bonusUsdc: 50 },
      computedBonusUsdc: 75,
      note: 'repeated: the ledger recorded an escrow of 50 USDC for this job; this delivery computed 75 USDC',
    });
    expect(reportedEscrow(recorded({ ...computed, seller: 'agt_bob' }), computed, GATEWAY_PROFILE)).toEqual({
      escrow: { ...computed, seller: 'agt_bob' },
      computedBonusUsdc: 75,
      note: 'repeated: the ledger recorded an escrow of 75 USDC to agt_bob for this job; this delivery computed the seller agt_model_j',
    });
  });
});
