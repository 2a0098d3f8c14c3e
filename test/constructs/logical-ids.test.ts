/**
 * Pins the logical ids of the batch constructs' resources. A deployed resource whose logical id changes
 * is replaced by CloudFormation (a new state machine, a new output bucket while the old one is retained
 * and orphaned, new roles...), so a refactor that renames a construct id or moves it in the tree must
 * fail here, loudly, and be a deliberate decision (update the snapshot with `jest -u` and say why).
 *
 * Only ids and types are pinned: asset hashes, property values and tokens do not churn the snapshot.
 * Each construct is built with every optional resource it can create (both triggers, a dead-letter
 * queue, a source bucket encrypted with a KMS key, its functions in a VPC).
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BatchPayout, FraudHoldEscrow, PurpleFleaConnection } from '../../lib';
import { newConnection, newStack } from './fixtures';

interface Fixtures {
  readonly stack: Stack;
  readonly connection: PurpleFleaConnection;
  readonly vpc: ec2.Vpc;
  /** A source bucket encrypted with a KMS key. */
  readonly source: s3.Bucket;
}

/** A stack with what the constructs are given: a connection, a VPC, a source bucket with a KMS key. */
function fixtures(): Fixtures {
  const stack = newStack('LogicalIds');
  return {
    stack,
    connection: newConnection(stack),
    vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 }),
    source: new s3.Bucket(stack, 'Source', { encryptionKey: new kms.Key(stack, 'SourceKey') }),
  };
}

/** `<logical id> <type>` of every resource in a stack's template, sorted. */
function resourceLines(stack: Stack): string[] {
  return Object.entries(Template.fromStack(stack).toJSON().Resources as { [id: string]: { Type: string } })
    .map(([id, resource]) => `${id} ${resource.Type}`)
    .sort();
}

/** The resources `add` puts into the template beside the fixtures (its own, and the source bucket's notifications). */
function resourcesAddedBy(add: (f: Fixtures) => void): string[] {
  const fixturesOnly = new Set(resourceLines(fixtures().stack));
  const f = fixtures();
  add(f);
  return resourceLines(f.stack).filter((line) => !fixturesOnly.has(line));
}

describe('logical ids, pinned: changing one replaces a deployed resource', () => {
  test('BatchPayout', () => {
    const added = resourcesAddedBy(({ stack, connection, vpc, source }) => {
      new BatchPayout(stack, 'Payout', {
        connection,
        sourceBucket: source,
        sourcePrefix: 'scores/',
        processingJobNamePrefix: 'churn-',
        processingOutputBucket: s3.Bucket.fromBucketName(stack, 'JobOutput', 'job-output'),
        functionOptions: { vpc },
      });
    });
    expect(added).toMatchSnapshot();
  });

  test('FraudHoldEscrow', () => {
    const added = resourcesAddedBy(({ stack, connection, vpc, source }) => {
      new FraudHoldEscrow(stack, 'Holds', {
        connection,
        sourceBucket: source,
        sourcePrefix: 'scored/',
        transformJobNamePrefix: 'fraud-',
        transformOutputBucket: s3.Bucket.fromBucketName(stack, 'TransformOutput', 'transform-output'),
        transformOutputPrefix: 'transform/',
        functionOptions: { vpc },
      });
    });
    expect(added).toMatchSnapshot();
  });
});
