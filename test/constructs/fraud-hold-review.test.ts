/**
 * FraudHoldEscrow's review (issue 14, HoldReview): the template of each review source (functions and their
 * environments, rules, least-privilege statements exact, alarms), cdk-nag clean, and the new props' validation.
 */
import { Lazy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { ConfirmedFraudAction, HoldReview, ReviewDecisionRule } from '../../lib/hold-review';
import { FRAUD_HOLD_RELEASE_ENV, FRAUD_HOLD_REVIEW_START_ENV } from '../../lib/private/contracts/hold-review-env';
import { ACCOUNT, REGION, newFraudHoldEscrow, newStack } from './fixtures';

const FLOW = `arn:aws:sagemaker:${REGION}:${ACCOUNT}:flow-definition/hold-review`;

function unacknowledgedFindings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
}

function withAugmentedAi(options: { prefix?: string; onConfirmedFraud?: ConfirmedFraudAction; decisionRule?: ReviewDecisionRule } = {}) {
  const stack = newStack();
  const loopOutput = new s3.Bucket(stack, 'LoopOutput', { enforceSSL: true });
  const built = newFraudHoldEscrow(
    {
      review: HoldReview.augmentedAi({
        flowDefinition: FLOW,
        humanLoopOutputBucket: loopOutput,
        humanLoopOutputPrefix: options.prefix,
        decisionRule: options.decisionRule,
      }),
      onConfirmedFraud: options.onConfirmedFraud,
    },
    stack,
  );
  return { ...built, loopOutput };
}

/** The statements of every policy attached to the role of `fn` (the role's inline policies and its policies). */
function statementsOf(template: Template, functionLogicalIdPrefix: string): any[] {
  const fn = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith(functionLogicalIdPrefix));
  const roleId = fn![1].Properties.Role['Fn::GetAtt'][0];
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p: any) =>
    p.Properties.Roles.some((r: any) => r.Ref === roleId),
  );
  return policies.flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

describe('HoldReview.augmentedAi', () => {
  test('the release function is told the flow definition, where the loop output is, the answers, the rule and the fraud action', () => {
    const { template } = withAugmentedAi({
      prefix: 'a2i',
      onConfirmedFraud: ConfirmedFraudAction.DISPUTE,
      decisionRule: ReviewDecisionRule.MAJORITY,
    });
    const env = FRAUD_HOLD_RELEASE_ENV;
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^FraudHoldEscrow release'),
      Environment: {
        Variables: Match.objectLike({
          [env.source]: 'augmented-ai',
          [env.flowDefinitionArn]: FLOW,
          [env.humanLoopOutputBucket]: { Ref: Match.stringLikeRegexp('^LoopOutput') },
          [env.humanLoopOutputPrefix]: 'a2i',
          [env.answerField]: 'decision',
          [env.fraudValue]: 'fraud',
          [env.clearValue]: 'clear',
          [env.decisionRule]: 'majority',
          [env.onConfirmedFraud]: 'dispute',
          [env.dryRun]: 'false',
          [env.enabled]: 'true',
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^FraudHoldEscrow review start'),
      Environment: {
        Variables: Match.objectLike({
          [FRAUD_HOLD_REVIEW_START_ENV.flowDefinitionArn]: FLOW,
          [FRAUD_HOLD_REVIEW_START_ENV.enabled]: 'true',
        }),
      },
    });
  });

  test("the rules: A2I's ended loops of this flow definition and hold- names; the runs' Holds Completed events", () => {
    const { template } = withAugmentedAi();
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.sagemaker'],
        'detail-type': ['SageMaker A2I HumanLoop Status Change'],
        'detail': { flowDefinitionArn: [FLOW], humanLoopName: [{ prefix: 'hold-' }], humanLoopStatus: ['Completed', 'Failed', 'Stopped'] },
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'source': ['purpleflea.sagemaker'], 'detail-type': ['Purple Flea Holds Completed'] },
    });
  });

  test('least privilege: StartHumanLoop on the flow definition only; the loop output under its prefix; the ledger by kind', () => {
    const { template } = withAugmentedAi({ prefix: 'a2i' });
    const start = statementsOf(template, 'HoldsReviewStart');
    expect(start).toEqual(expect.arrayContaining([{ Action: 'sagemaker:StartHumanLoop', Effect: 'Allow', Resource: FLOW }]));
    expect(start.some((s) => JSON.stringify(s.Action).includes('dynamodb') || JSON.stringify(s.Action).includes('secretsmanager'))).toBe(
      false,
    );
    expect(start).toEqual(
      expect.arrayContaining([
        {
          Action: 's3:GetObject',
          Effect: 'Allow',
          Resource: {
            'Fn::Join': [
              '',
              [
                { 'Fn::GetAtt': [expect.stringMatching(/^HoldsRunBucket|^HoldsOutputBucket|Bucket/), 'Arn'] },
                expect.stringMatching(/^\/.*\*$/),
              ],
            ],
          },
        },
      ]),
    );
    const release = statementsOf(template, 'HoldsReviewRelease');
    expect(release).toEqual(
      expect.arrayContaining([
        {
          Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          Effect: 'Allow',
          Resource: expect.anything(),
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:release:*', 'v1:dispute:*'] } },
        },
        {
          Action: 'dynamodb:GetItem',
          Effect: 'Allow',
          Resource: expect.anything(),
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:hold:*'] } },
        },
        {
          Action: 's3:GetObject',
          Effect: 'Allow',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^LoopOutput/), 'Arn'] }, '/a2i/*']] },
        },
      ]),
    );
    expect(release.some((s) => JSON.stringify(s.Action).includes('sagemaker:StartHumanLoop'))).toBe(false);
  });

  test('alarms: unknown releases, failed or stopped loops, the review dead-letter queue; a dispute alarm only with DISPUTE', () => {
    const keep = withAugmentedAi();
    expect(keep.holds.unknownReleasesAlarm).toBeDefined();
    expect(keep.holds.failedReviewsAlarm).toBeDefined();
    keep.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ReviewsFailed', Namespace: 'PurpleFlea/SageMaker' });
    keep.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ReleasesUnknown' });
    expect(
      Object.values(keep.template.findResources('AWS::CloudWatch::Alarm')).some((a: any) => a.Properties.MetricName === 'DisputesUnknown'),
    ).toBe(false);
    withAugmentedAi({ onConfirmedFraud: ConfirmedFraudAction.DISPUTE }).template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DisputesUnknown',
    });
  });

  test('the dashboard gets the releases row', () => {
    const { holds } = withAugmentedAi();
    expect(holds.monitoring().releases?.function).toBe(holds.releaseFunction);
  });

  test('cdk-nag AwsSolutions: no unacknowledged finding', () => {
    // The construct's own resources (the test's loop output bucket is the user's).
    const { holds } = withAugmentedAi({ prefix: 'a2i', onConfirmedFraud: ConfirmedFraudAction.DISPUTE });
    expect(unacknowledgedFindings(holds)).toEqual([]);
  });

  test('a token flow definition (a CfnFlowDefinition attribute) is accepted as it is', () => {
    const stack = newStack();
    const token = Lazy.string({ produce: () => FLOW });
    expect(() =>
      newFraudHoldEscrow(
        { review: HoldReview.augmentedAi({ flowDefinition: token, humanLoopOutputBucket: new s3.Bucket(stack, 'B') }) },
        stack,
      ),
    ).not.toThrow();
  });
});

describe('HoldReview.events', () => {
  test("the rule is on the user's bus; no review start function; the release function is told the events source", () => {
    const stack = newStack();
    const bus = new events.EventBus(stack, 'ReviewBus');
    const { template, holds } = newFraudHoldEscrow({ review: HoldReview.events({ eventBus: bus }) }, stack);
    expect(holds.reviewStartFunction).toBeUndefined();
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: Match.stringLikeRegexp('^ReviewBus') },
      EventPattern: { 'source': ['purpleflea.review'], 'detail-type': ['Purple Flea Hold Review Completed'] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ [FRAUD_HOLD_RELEASE_ENV.source]: 'events', [FRAUD_HOLD_RELEASE_ENV.onConfirmedFraud]: 'keep-hold' }),
      },
    });
    expect(unacknowledgedFindings(holds)).toEqual([]);
  });

  test('without review, no review resources', () => {
    const { holds } = newFraudHoldEscrow();
    expect(holds.releaseFunction).toBeUndefined();
    expect(holds.monitoring().releases).toBeUndefined();
  });
});

describe('validation', () => {
  const bucket = () => new s3.Bucket(new Stack(), 'B');
  test.each([
    [{ flowDefinition: 'flow-definition/holds' }, 'HoldReview.augmentedAi(): flowDefinition must be a flow definition ARN'],
    [{ flowDefinition: FLOW, humanLoopOutputPrefix: 'a2i/' }, 'humanLoopOutputPrefix must be a key prefix without leading or trailing "/"'],
    [{ flowDefinition: FLOW, fraudValue: 'same', clearValue: 'same' }, 'fraudValue and clearValue must differ (both "same")'],
    [{ flowDefinition: FLOW, answerField: 'a..b' }, 'answerField must be a field name'],
  ])('%j: %s', (options, message) => {
    expect(() => HoldReview.augmentedAi({ humanLoopOutputBucket: bucket(), ...options } as any)).toThrow(message);
  });

  test('humanLoopOutputBucket is required', () => {
    expect(() => HoldReview.augmentedAi({ flowDefinition: FLOW } as any)).toThrow('humanLoopOutputBucket is required');
  });

  test('onConfirmedFraud without review', () => {
    expect(() => newFraudHoldEscrow({ onConfirmedFraud: ConfirmedFraudAction.DISPUTE })).toThrow(/onConfirmedFraud .*set review/);
  });
});
