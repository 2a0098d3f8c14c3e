import { Annotations, Arn, ArnFormat, Stack, Token } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { PurpleFleaConnection } from '../purpleflea-connection';

/*
 * Traps synth can see (issue 16, item 6): the handlers' AWS clients work in their function's region, so a secret or a
 * ledger in another region fails only at run time, and an imported bucket starts nothing until its owner turns on its
 * EventBridge notifications.
 */

/** A concrete region, or undefined for a token (an environment-agnostic stack, a secret ARN known only at deploy). */
function knownRegion(region: string | undefined): string | undefined {
  return region === undefined || region === '' || Token.isUnresolved(region) ? undefined : region;
}

/**
 * `prop`'s secret must be in the stack's region: the handlers read it with a Secrets Manager client of their own
 * region. Returns the problem, naming both regions, or undefined (also when either is not known at synth).
 */
export function secretRegionProblem(scope: Construct, prop: string, secret: secretsmanager.ISecret): string | undefined {
  const stackRegion = knownRegion(Stack.of(scope).region);
  const arn = secret.secretArn;
  if (stackRegion === undefined || Token.isUnresolved(arn)) return undefined;
  const secretRegion = knownRegion(Arn.split(arn, ArnFormat.COLON_RESOURCE_NAME).region);
  if (secretRegion === undefined || secretRegion === stackRegion) return undefined;
  return (
    `${prop} is in region ${secretRegion}, but the stack is in ${stackRegion}: the functions read it in their own region ` +
    `(replicate the secret to ${stackRegion}, and give the replica)`
  );
}

/**
 * A construct's connection must be in the construct's region: its functions reach the connection's ledger table and
 * secrets in their own region. Throws, naming both regions, in the library's error style.
 */
export function checkConnectionRegion(scope: Construct, constructName: string, id: string, connection: PurpleFleaConnection): void {
  const here = knownRegion(Stack.of(scope).region);
  const there = knownRegion(Stack.of(connection).region);
  if (here === undefined || there === undefined || here === there) return;
  throw new Error(
    `${constructName} '${id}': connection is in region ${there} (stack ${Stack.of(connection).stackName}), but this construct is in ` +
      `${here}: its functions would look for the connection's ledger table and secret in ${here}; give it a connection of its own region`,
  );
}

/**
 * A source bucket this stack does not own starts runs only if its owner turned on its EventBridge notifications: a
 * warning at synth, naming the bucket and the setting. (A bucket of the stack gets them turned on by the construct.)
 */
export function warnImportedSourceBucket(scope: Construct, bucket: s3.IBucket): void {
  // A name known only at deploy (another stack's bucket): its place in the app.
  const name = Token.isUnresolved(bucket.bucketName) ? `bucket ${bucket.node.path}` : `bucket ${bucket.bucketName}`;
  Annotations.of(scope).addWarningV2(
    'purpleflea-sagemaker-constructs:sourceBucketEventBridge',
    `sourceBucket: ${name} is not a bucket of this stack, so the construct cannot turn on its EventBridge notifications: ` +
      'uploads start runs only once its owner does (S3 console: Properties, Amazon EventBridge, On; or eventBridgeEnabled: true ' +
      'on its s3.Bucket)',
  );
}
