/**
 * Traps synth can see (issue 16, item 6): an imported source bucket whose EventBridge notifications the construct
 * cannot turn on (a warning naming the bucket and the setting), a secret in another region than the stack, a
 * connection used from another region (clear errors naming both regions).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { BatchPayout, FraudHoldEscrow, PredictToTrade, PurpleFleaConnection } from '../../lib';
import { ACCOUNT, REGION, newConnection, newStack } from './fixtures';

describe('an imported sourceBucket', () => {
  test.each([
    [
      'BatchPayout',
      (stack: Stack, sourceBucket: s3.IBucket) => new BatchPayout(stack, 'Payout', { connection: newConnection(stack), sourceBucket }),
    ],
    [
      'FraudHoldEscrow',
      (stack: Stack, sourceBucket: s3.IBucket) => new FraudHoldEscrow(stack, 'Holds', { connection: newConnection(stack), sourceBucket }),
    ],
  ])('%s: a warning names the bucket and the setting its owner must turn on', (_name, build) => {
    const stack = newStack();
    build(stack, s3.Bucket.fromBucketName(stack, 'Theirs', 'their-scores'));
    Annotations.fromStack(stack).hasWarning(
      '*',
      Match.stringLikeRegexp(
        'sourceBucket: bucket their-scores is not a bucket of this stack.*Amazon EventBridge, On.*eventBridgeEnabled: true',
      ),
    );
  });

  test('a bucket of the stack gets its notifications turned on: no warning', () => {
    const stack = newStack();
    new BatchPayout(stack, 'Payout', { connection: newConnection(stack), sourceBucket: new s3.Bucket(stack, 'Scores') });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('sourceBucket'))).toEqual([]);
  });

  test("a bucket of another stack of the app: the warning too (this construct does not change another stack's bucket)", () => {
    const app = new App();
    const env = { account: ACCOUNT, region: REGION };
    const bucket = new s3.Bucket(new Stack(app, 'Data', { env }), 'Scores', { bucketName: 'shared-scores' });
    const stack = new Stack(app, 'Payouts', { env });
    new BatchPayout(stack, 'Payout', { connection: newConnection(stack), sourceBucket: bucket });
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('sourceBucket: bucket Data/Scores is not a bucket of this stack'));
  });
});

describe('regions', () => {
  test('a secret in another region than the stack is an error naming both', () => {
    const stack = newStack();
    const secret = secretsmanager.Secret.fromSecretCompleteArn(
      stack,
      'Key',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:PurpleFleaKey-AbCdEf',
    );
    expect(() => new PurpleFleaConnection(stack, 'C', { apiKeySecret: secret })).toThrow(
      "PurpleFleaConnection 'C': apiKeySecret is in region us-east-1, but the stack is in eu-west-1: the functions read it in their own region",
    );
  });

  test('a secret of the same region, or a stack whose region is known only at deploy: no error', () => {
    const stack = newStack();
    const same = secretsmanager.Secret.fromSecretCompleteArn(
      stack,
      'Key',
      `arn:aws:secretsmanager:${REGION}:123456789012:secret:PurpleFleaKey-AbCdEf`,
    );
    expect(() => new PurpleFleaConnection(stack, 'C', { apiKeySecret: same })).not.toThrow();
    const agnostic = new Stack(new App(), 'Agnostic');
    const other = secretsmanager.Secret.fromSecretCompleteArn(
      agnostic,
      'Key',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:PurpleFleaKey-AbCdEf',
    );
    expect(() => new PurpleFleaConnection(agnostic, 'C', { apiKeySecret: other })).not.toThrow();
  });

  test('a connection used from another region is an error naming both', () => {
    const app = new App();
    const connection = newConnection(new Stack(app, 'Shared', { env: { account: ACCOUNT, region: 'us-east-1' } }));
    const stack = new Stack(app, 'Trading', { env: { account: ACCOUNT, region: REGION } });
    expect(() => new PredictToTrade(stack, 'Trader', { connection, endpointName: 'm' })).toThrow(
      "PredictToTrade 'Trader': connection is in region us-east-1 (stack Shared), but this construct is in eu-west-1",
    );
  });
});
