import fc from 'fast-check';
import { bonusFor, renderTemplate } from '../../lambda/training-bonus-escrow/decide';
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
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (a, b) => {
        const [worse, better] = a <= b ? [a, b] : [b, a];
        expect(bonusFor(better, SEED_TIERS, 'MAXIMIZE')).toBeGreaterThanOrEqual(bonusFor(worse, SEED_TIERS, 'MAXIMIZE'));
        expect(bonusFor(worse, SEED_TIERS, 'MINIMIZE')).toBeGreaterThanOrEqual(bonusFor(better, SEED_TIERS, 'MINIMIZE'));
        expect([0, 5, 20, 50]).toContain(bonusFor(a, SEED_TIERS, 'MAXIMIZE'));
      }),
    );
  });
});

describe('renderTemplate', () => {
  test('fills the three placeholders, every time they appear', () => {
    expect(renderTemplate('agt_model_{jobName}', { jobName: 'xgb-7', metricName: 'validation:accuracy', metricValue: 0.93 })).toBe('agt_model_xgb-7');
    expect(renderTemplate('{metricName}={metricValue} ({jobName}, {jobName})', { jobName: 'j', metricName: 'm', metricValue: 0.5 })).toBe('m=0.5 (j, j)');
  });
});

describe('parseTrainingJobEvent', () => {
  const event = (detail: unknown) => ({ source: 'aws.sagemaker', 'detail-type': 'SageMaker Training Job State Change', detail });

  test('reads the name, the ARN, the status and the tags (a map, or a list of {Key, Value})', () => {
    expect(parseTrainingJobEvent(event({ TrainingJobName: 'j1', TrainingJobArn: 'arn:j1', TrainingJobStatus: 'Completed', Tags: { owner: 'agt_a' } }))).toEqual({
      ok: true,
      event: { jobName: 'j1', jobArn: 'arn:j1', status: 'Completed', tags: { owner: 'agt_a' } },
    });
    const listed = parseTrainingJobEvent(event({ TrainingJobName: 'j2', TrainingJobStatus: 'Completed', Tags: [{ Key: 'owner', Value: 'agt_b' }] }));
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
