import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { MetricGoal, TrainingBonusEscrow, TrainingBonusEscrowProps } from '../../lib';
import { newConnection, newStack } from './fixtures';

/** Builds a TrainingBonusEscrow 'Bonus' with the given props; returns a thunk for `toThrow`. */
function build(props: Partial<TrainingBonusEscrowProps>, stack: Stack = newStack()): () => TrainingBonusEscrow {
  return () => new TrainingBonusEscrow(stack, 'Bonus', { connection: newConnection(stack), ...props });
}

describe('TrainingBonusEscrow: one error per invalid prop', () => {
  test('trainingJobNamePrefix must start a SageMaker training job name', () => {
    expect(build({ trainingJobNamePrefix: 'churn_model' })).toThrow(
      /TrainingBonusEscrow 'Bonus': trainingJobNamePrefix must be a non-empty start of a training job name, which must follow SageMaker's naming rule .*, got "churn_model"/,
    );
  });

  test('trainingJobNamePrefix must not be empty', () => {
    expect(build({ trainingJobNamePrefix: '' })).toThrow(
      /trainingJobNamePrefix must be a non-empty start of a training job name.*, got ""/,
    );
  });

  test('metricName must not be empty', () => {
    expect(build({ metricName: '' })).toThrow(/TrainingBonusEscrow 'Bonus': metricName must not be empty, got ""/);
  });

  test('bonusTiers must hold at least one tier', () => {
    expect(build({ bonusTiers: [] })).toThrow(/TrainingBonusEscrow 'Bonus': bonusTiers must hold at least one tier, got \[\]/);
  });

  test('bonusTiers thresholds must be distinct', () => {
    const bonusTiers = [
      { threshold: 0.9, amountUsdc: 50 },
      { threshold: 0.8, amountUsdc: 20 },
      { threshold: 0.9, amountUsdc: 10 },
    ];
    expect(build({ bonusTiers })).toThrow(
      /bonusTiers\[2\]\.threshold must differ from every other tier's, got 0\.9 \(the threshold of bonusTiers\[0\] too\)/,
    );
  });

  test('bonusTiers thresholds must be finite', () => {
    expect(build({ bonusTiers: [{ threshold: Number.POSITIVE_INFINITY, amountUsdc: 5 }] })).toThrow(
      /bonusTiers\[0\]\.threshold must be a finite number, got Infinity/,
    );
  });

  test('bonusTiers amounts must be positive', () => {
    expect(
      build({
        bonusTiers: [
          { threshold: 0.9, amountUsdc: 50 },
          { threshold: 0.5, amountUsdc: 0 },
        ],
      }),
    ).toThrow(/bonusTiers\[1\]\.amountUsdc must be a number greater than 0, got 0/);
  });

  test('bonusTiers amounts must not exceed maxBonusUsdc', () => {
    expect(build({ bonusTiers: [{ threshold: 0.9, amountUsdc: 150 }], maxBonusUsdc: 100 })).toThrow(
      /bonusTiers\[0\]\.amountUsdc must be at most maxBonusUsdc \(100\), got 150/,
    );
  });

  test('maxBonusUsdc must be positive', () => {
    expect(build({ maxBonusUsdc: 0 })).toThrow(/TrainingBonusEscrow 'Bonus': maxBonusUsdc must be a number greater than 0, got 0/);
  });

  test('maxBonusUsdc must allow the default tiers', () => {
    expect(build({ maxBonusUsdc: 20 })).toThrow(/maxBonusUsdc must be at least the default bonus tiers' largest amount \(50\), got 20/);
  });

  test('buyerAgentId must be an agent id', () => {
    expect(build({ buyerAgentId: 'platform treasury' })).toThrow(
      /buyerAgentId must match \^\[A-Za-z0-9\]\[A-Za-z0-9_\.:-\]\{0,127\}\$, got "platform treasury"/,
    );
  });

  test('sellerTagKey must be a tag key', () => {
    expect(build({ sellerTagKey: '' })).toThrow(/sellerTagKey must be a tag key of 1 to 128 characters, got ""/);
  });

  test('sellerTemplate may use only the known placeholders', () => {
    expect(build({ sellerTemplate: 'agt_{modelName}' })).toThrow(
      /sellerTemplate uses the unknown placeholder \{modelName\} \(allowed: \{jobName\}, \{metricName\}, \{metricValue\}\), got "agt_\{modelName\}"/,
    );
  });

  test('conditionTemplate may use only the known placeholders', () => {
    expect(build({ conditionTemplate: 'approved:{jobName}:{owner}' })).toThrow(
      /conditionTemplate uses the unknown placeholder \{owner\} \(allowed: \{jobName\}, \{metricName\}, \{metricValue\}\), got "approved:\{jobName\}:\{owner\}"/,
    );
  });

  test.each([
    [
      'an opening brace without its closing one',
      'approved:{jobName',
      /conditionTemplate has an unbalanced "\{" at position 9, got "approved:\{jobName"/,
    ],
    [
      'a closing brace without its opening one',
      'approved:jobName}',
      /conditionTemplate has an unbalanced "\}" at position 16, got "approved:jobName\}"/,
    ],
    ['a nested brace', 'agt_{{jobName}}', /sellerTemplate has an unbalanced "\{" at position 4, got "agt_\{\{jobName\}\}"/],
  ])('templates must balance their braces: %s', (_name, template, error) => {
    const prop = template.startsWith('agt_') ? 'sellerTemplate' : 'conditionTemplate';
    expect(build({ [prop]: template })).toThrow(error);
  });

  test('templates must not be empty', () => {
    expect(build({ conditionTemplate: '' })).toThrow(/conditionTemplate must not be empty, got ""/);
  });

  test('sellerTemplate must render an agent id', () => {
    expect(build({ sellerTemplate: 'agt model {jobName}' })).toThrow(
      /sellerTemplate must render a Purple Flea agent id .* once its placeholders are filled, got "agt model \{jobName\}"/,
    );
  });

  test('functionOptions.role cannot be set', () => {
    const stack = newStack();
    const role = new iam.Role(stack, 'Mine', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(build({ functionOptions: { role } }, stack)).toThrow(
      /functionOptions.role cannot be set: the function gets its own least-privilege role/,
    );
  });

  test('functionOptions.logGroup cannot be set', () => {
    const stack = newStack();
    const logGroup = new logs.LogGroup(stack, 'Mine');
    expect(build({ functionOptions: { logGroup } }, stack)).toThrow(/functionOptions.logGroup cannot be set/);
  });

  test('functionOptions.logRetention cannot be set', () => {
    expect(build({ functionOptions: { logRetention: logs.RetentionDays.ONE_DAY } })).toThrow(
      /functionOptions.logRetention cannot be set: use the logRetention prop/,
    );
  });

  test('functionOptions.retryAttempts cannot be set', () => {
    expect(build({ functionOptions: { retryAttempts: 0 } })).toThrow(
      /functionOptions.retryAttempts cannot be set: the construct retries a failed invocation 2 times/,
    );
  });

  test('functionOptions.maxEventAge cannot be set', () => {
    expect(build({ functionOptions: { maxEventAge: Duration.hours(1) } })).toThrow(
      /functionOptions.maxEventAge cannot be set: the construct keeps an event for 6 hours/,
    );
  });

  test('functionOptions.onFailure cannot be set', () => {
    const stack = newStack();
    const queue = new sqs.Queue(stack, 'Mine');
    expect(build({ functionOptions: { onFailure: new destinations.SqsDestination(queue) } }, stack)).toThrow(
      /functionOptions.onFailure cannot be set: failed invocations go to the dead-letter queue/,
    );
  });

  test("functionOptions.environment cannot set the construct's variables", () => {
    expect(build({ functionOptions: { environment: { BONUS_TIERS: '[]' } } })).toThrow(
      /functionOptions.environment.BONUS_TIERS cannot be set: the construct sets it/,
    );
  });

  test('every problem is reported in one error', () => {
    let message = '';
    try {
      build({ metricName: '', bonusTiers: [{ threshold: Number.NaN, amountUsdc: -5 }], sellerTemplate: 'agt_{owner}' })();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      "TrainingBonusEscrow 'Bonus' has 4 invalid props:\n" +
        '  - metricName must not be empty, got ""\n' +
        '  - bonusTiers[0].threshold must be a finite number, got NaN\n' +
        '  - bonusTiers[0].amountUsdc must be a number greater than 0, got -5\n' +
        '  - sellerTemplate uses the unknown placeholder {owner} (allowed: {jobName}, {metricName}, {metricValue}), got "agt_{owner}"',
    );
  });

  test('valid edge values are accepted', () => {
    // A prefix may end in '-', or be a whole 63-character name; an amount may equal the cap; a loss may be negative.
    expect(
      build({
        trainingJobNamePrefix: 'churn-',
        metricGoal: MetricGoal.MINIMIZE,
        metricName: 'train:loss',
        bonusTiers: [
          { threshold: -1, amountUsdc: 100 },
          { threshold: 0, amountUsdc: 0.01 },
        ],
        maxBonusUsdc: 100,
        buyerAgentId: 'a',
        sellerTagKey: 'k'.repeat(128),
        sellerTemplate: '{jobName}',
        conditionTemplate: '{metricName} of {jobName} is {metricValue}: the owner approves',
      }),
    ).not.toThrow();
    expect(build({ trainingJobNamePrefix: `a${'-b'.repeat(31)}` })).not.toThrow();
    expect(build({ trainingJobNamePrefix: 'A' })).not.toThrow();
    expect(build({ maxBonusUsdc: 50 })).not.toThrow();
  });
});

describe('TrainingBonusEscrow: props that are tokens', () => {
  function tokenStack() {
    const stack = newStack();
    const text = (id: string) => new CfnParameter(stack, id, { type: 'String' }).valueAsString;
    const number = (id: string) => new CfnParameter(stack, id, { type: 'Number' }).valueAsNumber;
    new TrainingBonusEscrow(stack, 'Bonus', {
      connection: newConnection(stack),
      trainingJobNamePrefix: text('Prefix'),
      metricName: text('MetricName'),
      // Would fail as numbers (equal thresholds, amount above the cap); as tokens they cannot be checked here.
      bonusTiers: [
        { threshold: number('Threshold'), amountUsdc: number('Amount') },
        { threshold: number('Threshold2'), amountUsdc: 5000 },
      ],
      maxBonusUsdc: number('MaxBonus'),
      buyerAgentId: text('Buyer'),
      sellerTagKey: text('SellerTag'),
      sellerTemplate: `agt_${text('SellerPrefix')}_{jobName}`,
      conditionTemplate: `${text('Condition')}:{anything`,
    });
    return Template.fromStack(stack);
  }

  test('skip the checks that need a value', () => {
    expect(() => tokenStack()).not.toThrow();
  });

  test('reach the template as references', () => {
    tokenStack().hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          METRIC_NAME: { Ref: 'MetricName' },
          MAX_BONUS_USDC: { Ref: 'MaxBonus' },
          BUYER_AGENT_ID: { Ref: 'Buyer' },
          SELLER_TAG_KEY: { Ref: 'SellerTag' },
          SELLER_TEMPLATE: { 'Fn::Join': ['', ['agt_', { Ref: 'SellerPrefix' }, '_{jobName}']] },
        }),
      },
    });
  });
});
