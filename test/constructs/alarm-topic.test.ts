import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ACCOUNT, REGION, logicalIdOf, newBatchPayout, newBonusEscrow, newFraudHoldEscrow, newStack, newTrader } from './fixtures';

/** Each construct, built in `stack` with `alarmTopic` (and a trigger, so that every alarm it can have exists). */
const constructs: [string, number, (stack: Stack, alarmTopic?: sns.ITopic) => Template][] = [
  ['PredictToTrade', 3, (stack, alarmTopic) => newTrader({ alarmTopic }, stack).template],
  ['TrainingBonusEscrow', 3, (stack, alarmTopic) => newBonusEscrow({ alarmTopic }, stack).template],
  [
    'BatchPayout',
    3,
    (stack, alarmTopic) =>
      newBatchPayout({ alarmTopic, sourceBucket: s3.Bucket.fromBucketName(stack, 'Scores', 'scores') }, stack).template,
  ],
  [
    'FraudHoldEscrow',
    3,
    (stack, alarmTopic) =>
      newFraudHoldEscrow(
        {
          alarmTopic,
          transformJobTrigger: true,
          transformOutputBucket: s3.Bucket.fromBucketName(stack, 'TransformOutput', 'transform-output'),
        },
        stack,
      ).template,
  ],
];

describe.each(constructs)('%s: alarmTopic', (_name, alarmCount, build) => {
  test('with alarmTopic, every alarm notifies exactly that topic when it fires and when it clears', () => {
    const stack = newStack();
    const topic = new sns.Topic(stack, 'Alarms');
    const alarms = Object.values(build(stack, topic).findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(alarmCount);
    const topicRef = { Ref: logicalIdOf(topic) };
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([topicRef]);
      expect(alarm.Properties.OKActions).toEqual([topicRef]);
      expect(alarm.Properties.InsufficientDataActions).toBeUndefined();
    }
  });

  test('an imported topic is referenced by its ARN', () => {
    const stack = newStack();
    const arn = `arn:aws:sns:${REGION}:${ACCOUNT}:ops-alarms`;
    const alarms = Object.values(build(stack, sns.Topic.fromTopicArn(stack, 'Alarms', arn)).findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(alarmCount);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([arn]);
      expect(alarm.Properties.OKActions).toEqual([arn]);
    }
  });

  test('without alarmTopic, no alarm has actions', () => {
    const alarms = Object.values(build(newStack()).findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(alarmCount);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
      expect(alarm.Properties.OKActions).toBeUndefined();
      expect(alarm.Properties.InsufficientDataActions).toBeUndefined();
    }
  });

  test('with an imported alarmTopic, cdk-nag finds nothing unacknowledged', () => {
    const stack = newStack('Nag');
    build(stack, sns.Topic.fromTopicArn(stack, 'Alarms', `arn:aws:sns:${REGION}:${ACCOUNT}:ops-alarms`));
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`))).toEqual([]);
  });
});
