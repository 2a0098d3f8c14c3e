import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { FraudHoldEscrow, FraudHoldEscrowProps, HoldInputFormat, RateLimit } from '../../lib';
import { newConnection, newStack } from './fixtures';

/** Builds a FraudHoldEscrow 'Holds' with the given props; returns a thunk for `toThrow`. */
function build(
  props: Partial<FraudHoldEscrowProps> | ((stack: Stack) => Partial<FraudHoldEscrowProps>),
  stack: Stack = newStack(),
): () => FraudHoldEscrow {
  return () =>
    new FraudHoldEscrow(stack, 'Holds', { connection: newConnection(stack), ...(typeof props === 'function' ? props(stack) : props) });
}

const bucket = (stack: Stack, name = 'my-scored') => s3.Bucket.fromBucketName(stack, `Bucket-${name}`, name);
/** Props with the transform-job trigger on and its bucket. */
const transform = (stack: Stack): Partial<FraudHoldEscrowProps> => ({
  transformJobTrigger: true,
  transformOutputBucket: bucket(stack, 'transform-output'),
});

const KEY_PREFIX_RULE = 'must be a non-empty key prefix without a leading "/", "*" or "?" (leave it out to match every key)';

describe('FraudHoldEscrow: one error per invalid prop', () => {
  test('transformJobNamePrefix must start a SageMaker transform job name', () => {
    expect(build((stack) => ({ ...transform(stack), transformJobNamePrefix: 'fraud_scores' }))).toThrow(
      /FraudHoldEscrow 'Holds': transformJobNamePrefix must be a non-empty start of a transform job name, which must follow SageMaker's naming rule .*, got "fraud_scores"/,
    );
  });

  test('transformJobNamePrefix cannot be given with transformJobTrigger: false', () => {
    expect(
      build((stack) => ({ transformJobTrigger: false, transformJobNamePrefix: 'fraud-', transformOutputBucket: bucket(stack) })),
    ).toThrow('transformJobNamePrefix cannot be given with transformJobTrigger: false');
  });

  test('the transform-job trigger requires transformOutputBucket', () => {
    expect(build({ transformJobNamePrefix: 'fraud-' })).toThrow(
      "FraudHoldEscrow 'Holds': transformOutputBucket is required by the transform-job trigger: it is the bucket the jobs write their output to",
    );
    expect(build({ transformJobTrigger: true })).toThrow(/transformOutputBucket is required by the transform-job trigger/);
  });

  test.each<[string, (stack: Stack) => Partial<FraudHoldEscrowProps>]>([
    ['transformOutputBucket', (stack) => ({ transformOutputBucket: bucket(stack) })],
    ['transformOutputPrefix', () => ({ transformOutputPrefix: 'transform/' })],
  ])('%s is only for the transform-job trigger', (prop, props) => {
    expect(build(props)).toThrow(
      `FraudHoldEscrow 'Holds': ${prop} cannot be set: is used by the transform-job trigger only: set transformJobTrigger or transformJobNamePrefix`,
    );
  });

  test.each([
    ['empty', ''],
    ['with a leading slash', '/transform/'],
    ['with a wildcard', 'transform/*'],
  ])('transformOutputPrefix must be a plain key prefix: not %s', (_name, transformOutputPrefix) => {
    expect(build((stack) => ({ ...transform(stack), transformOutputPrefix }))).toThrow(
      `FraudHoldEscrow 'Holds': transformOutputPrefix ${KEY_PREFIX_RULE}, got ${JSON.stringify(transformOutputPrefix)}`,
    );
  });

  test.each([
    ['empty', ''],
    ['with a question mark', 'scored?/'],
  ])('sourcePrefix must be a plain key prefix: not %s', (_name, sourcePrefix) => {
    expect(build((stack) => ({ sourceBucket: bucket(stack), sourcePrefix }))).toThrow(
      `FraudHoldEscrow 'Holds': sourcePrefix ${KEY_PREFIX_RULE}, got ${JSON.stringify(sourcePrefix)}`,
    );
  });

  test('sourceSuffix must be a plain key suffix', () => {
    expect(build((stack) => ({ sourceBucket: bucket(stack), sourceSuffix: '*.out' }))).toThrow(
      `FraudHoldEscrow 'Holds': sourceSuffix must be a non-empty key suffix without "*" or "?" (leave it out to match every key), got "*.out"`,
    );
  });

  test('sourcePrefix and sourceSuffix require sourceBucket', () => {
    expect(build({ sourcePrefix: 'scored/' })).toThrow(`FraudHoldEscrow 'Holds': sourcePrefix requires sourceBucket, got "scored/"`);
    expect(build({ sourceSuffix: '.out' })).toThrow(`FraudHoldEscrow 'Holds': sourceSuffix requires sourceBucket, got ".out"`);
  });

  test('objectSuffix is a literal suffix, not a pattern', () => {
    expect(build({ objectSuffix: '*.out' })).toThrow(
      `FraudHoldEscrow 'Holds': objectSuffix must be a literal key suffix without "*" or "?" (empty for every object), got "*.out"`,
    );
  });

  test.each(['transactionIdField', 'buyerField', 'sellerField', 'amountField', 'fraudScoreField'])('%s must not be empty', (prop) => {
    expect(build({ [prop]: '' })).toThrow(`FraudHoldEscrow 'Holds': ${prop} must not be empty, got ""`);
  });

  test('the fields must differ from each other', () => {
    expect(build({ sellerField: 'buyer' })).toThrow(
      `FraudHoldEscrow 'Holds': sellerField must differ from buyerField ("buyer"): each field holds one thing`,
    );
    expect(build({ transactionIdField: 'id', fraudScoreField: 'id' })).toThrow(
      /fraudScoreField must differ from transactionIdField \("id"\)/,
    );
  });

  test.each([-0.01, 1.01, Number.NaN])('fraudScoreThreshold must be from 0 to 1: not %p', (fraudScoreThreshold) => {
    expect(build({ fraudScoreThreshold })).toThrow(
      `FraudHoldEscrow 'Holds': fraudScoreThreshold must be between 0 and 1, got ${fraudScoreThreshold}`,
    );
  });

  test('conditionTemplate must not be empty', () => {
    expect(build({ conditionTemplate: '' })).toThrow(`FraudHoldEscrow 'Holds': conditionTemplate must not be empty, got ""`);
  });

  test('conditionTemplate may use only the hold placeholders', () => {
    expect(build({ conditionTemplate: 'review:{metricValue}' })).toThrow(
      `FraudHoldEscrow 'Holds': conditionTemplate uses the unknown placeholder {metricValue} (allowed: {transactionId}, {fraudScore}, {jobName}), got "review:{metricValue}"`,
    );
  });

  test('conditionTemplate must have balanced braces', () => {
    expect(build({ conditionTemplate: 'review:{fraudScore' })).toThrow(
      `conditionTemplate has an unbalanced "{" at position 7, got "review:{fraudScore"`,
    );
    expect(build({ conditionTemplate: 'review:fraudScore}' })).toThrow(
      `conditionTemplate has an unbalanced "}" at position 17, got "review:fraudScore}"`,
    );
  });

  test('maxHoldUsdc must be positive', () => {
    expect(build({ maxHoldUsdc: 0 })).toThrow(`FraudHoldEscrow 'Holds': maxHoldUsdc must be a number greater than 0, got 0`);
  });

  test('maxBatchTotalUsdc must be positive', () => {
    expect(build({ maxBatchTotalUsdc: -100 })).toThrow(
      `FraudHoldEscrow 'Holds': maxBatchTotalUsdc must be a number greater than 0, got -100`,
    );
  });

  test('finding 7: the caps may not pass the largest amount a row may have (10^9 USDC) or a run may add up to (10^13 USDC)', () => {
    expect(build({ maxHoldUsdc: 1_000_000_000.01 })).toThrow(
      `FraudHoldEscrow 'Holds': maxHoldUsdc must be at most 1000000000, the largest amount a row may have, got 1000000000.01`,
    );
    expect(build({ maxBatchTotalUsdc: 20_000_000_000_000 })).toThrow(
      `FraudHoldEscrow 'Holds': maxBatchTotalUsdc must be at most 10000000000000, the largest total a run's log keeps exact to the cent, got 20000000000000`,
    );
    expect(build({ maxHoldUsdc: 1_000_000_000, maxBatchTotalUsdc: 10_000_000_000_000 })).not.toThrow();
  });

  test.each([0, 1001])('maxRequestsPerSecond must be in (0, 1000]: not %p', (maxRequestsPerSecond) => {
    expect(build({ maxRequestsPerSecond })).toThrow(
      `FraudHoldEscrow 'Holds': maxRequestsPerSecond must be a number greater than 0 and at most 1000, got ${maxRequestsPerSecond}`,
    );
  });

  test.each([0, 1.5, 1001])('maxConcurrency must be an integer from 1 to 1000: not %p', (maxConcurrency) => {
    expect(build({ maxConcurrency })).toThrow(
      `FraudHoldEscrow 'Holds': maxConcurrency must be an integer between 1 and 1000, got ${maxConcurrency}`,
    );
  });

  test.each([0, 2.5, 101])('actConcurrency must be an integer from 1 to 100: not %p', (actConcurrency) => {
    expect(build({ actConcurrency })).toThrow(
      `FraudHoldEscrow 'Holds': actConcurrency must be an integer between 1 and 100, got ${actConcurrency}`,
    );
  });

  test.each([0, 1001])('itemsPerBatch must be an integer from 1 to 1000: not %p', (itemsPerBatch) => {
    expect(build({ itemsPerBatch })).toThrow(
      `FraudHoldEscrow 'Holds': itemsPerBatch must be an integer between 1 and 1000, got ${itemsPerBatch}`,
    );
  });

  test('toleratedFailurePercentage must be from 0 to 100', () => {
    expect(build({ toleratedFailurePercentage: 101 })).toThrow(
      `FraudHoldEscrow 'Holds': toleratedFailurePercentage must be between 0 and 100, got 101`,
    );
  });

  test.each(['maxRequestsPerSecond', 'maxConcurrency', 'itemsPerBatch', 'toleratedFailurePercentage'])(
    '%s must be known at synth, not a token',
    (prop) => {
      const stack = newStack();
      const token = new CfnParameter(stack, 'Value', { type: 'Number' }).valueAsNumber;
      expect(build({ [prop]: token }, stack)).toThrow(
        `FraudHoldEscrow 'Holds': ${prop} must be a number known at synth, got a token: it shapes the state machine and the per-batch rate`,
      );
    },
  );

  test("a batch given must fit in the Act function's timeout at its share of the rate", () => {
    // 100 rows at 10 / 20 = 0.5 requests a second: 200 s, within 5 minutes less a minute.
    expect(build({ maxConcurrency: 20, itemsPerBatch: 100 })).not.toThrow();
    // 100 rows at 10 / 30: 300 s.
    expect(build({ maxConcurrency: 30, itemsPerBatch: 100 })).toThrow(
      "FraudHoldEscrow 'Holds': itemsPerBatch (100) at maxRequestsPerSecond / maxConcurrency (10 / 30) takes 300 s a batch, more than the Act " +
        "function's timeout (5 minutes) less a minute for backing off allows: lower itemsPerBatch or maxConcurrency, or raise the rate or functionOptions.timeout",
    );
    // A longer timeout makes room.
    expect(build({ maxConcurrency: 30, itemsPerBatch: 100, functionOptions: { timeout: Duration.minutes(6) } })).not.toThrow();
    // Left out, itemsPerBatch is lowered to fit (80 rows), and maxConcurrency too (one batch at 20/min).
    expect(build({ maxConcurrency: 30 })).not.toThrow();
    expect(build({ maxRequestsPerSecond: 0.3 })).not.toThrow();
    expect(build({ rateLimit: RateLimit.perMinute(20) })).not.toThrow();
    // 100 rows given, at 20/min, one batch at a time: 300 s.
    expect(build({ rateLimit: RateLimit.perMinute(20), itemsPerBatch: 100 })).toThrow(
      "FraudHoldEscrow 'Holds': itemsPerBatch (100) at rateLimit / maxConcurrency (20/min / 1) takes 300 s a batch, more than the Act " +
        "function's timeout (5 minutes) less a minute for backing off allows: lower itemsPerBatch or maxConcurrency, or raise the rate or functionOptions.timeout",
    );
    // Even one row a batch cannot fit: a rate this slow is an error, not a batch that times out.
    expect(build({ rateLimit: RateLimit.perMinute(0.2) })).toThrow(
      "FraudHoldEscrow 'Holds': itemsPerBatch (1) at rateLimit / maxConcurrency (0.2/min / 1) takes 300 s a batch",
    );
  });

  test('rateLimit and maxRequestsPerSecond cannot both be given', () => {
    expect(build({ rateLimit: RateLimit.perMinute(20), maxRequestsPerSecond: 0.3 })).toThrow(
      "FraudHoldEscrow 'Holds': maxRequestsPerSecond and rateLimit cannot both be given: give the run's limit once",
    );
  });

  test.each([
    [RateLimit.perSecond(0), 'greater than 0 and at most 1000 a second, got 0/s'],
    [RateLimit.perSecond(1001), 'greater than 0 and at most 1000 a second, got 1001/s'],
    [RateLimit.perMinute(-1), 'greater than 0 and at most 60000 a minute, got -1/min'],
    [RateLimit.perMinute(60_001), 'greater than 0 and at most 60000 a minute, got 60001/min'],
    [RateLimit.perMinute(Number.NaN), 'greater than 0 and at most 60000 a minute, got NaN/min'],
  ])('rateLimit must be in range: %s', (rateLimit, why) => {
    expect(build({ rateLimit })).toThrow(`FraudHoldEscrow 'Holds': rateLimit must be ${why}`);
  });

  test('rateLimit must be known at synth, not a token', () => {
    const stack = newStack();
    const token = new CfnParameter(stack, 'Value', { type: 'Number' }).valueAsNumber;
    expect(build({ rateLimit: RateLimit.perMinute(token) }, stack)).toThrow(
      "FraudHoldEscrow 'Holds': rateLimit must be a number known at synth, got a token: it shapes the state machine and the per-batch rate",
    );
  });

  test.each([
    ['a trailing slash', 'holds/'],
    ['a wildcard', 'holds*'],
  ])('outputPrefix must be a plain key prefix: not with %s', (_name, outputPrefix) => {
    expect(build({ outputPrefix })).toThrow(
      `FraudHoldEscrow 'Holds': outputPrefix must be a key prefix of at most 512 characters (letters, digits, and !_.'()=- between single "/"), ` +
        `without a leading or trailing "/" (empty for the bucket's root), got ${JSON.stringify(outputPrefix)}`,
    );
  });

  test('one bucket as source and output must keep the run folders out of the source prefix', () => {
    const stack = newStack();
    const shared = new s3.Bucket(stack, 'Shared');
    expect(build({ sourceBucket: shared, outputBucket: shared, sourcePrefix: 'purpleflea-holds/incoming/' }, stack)).toThrow(
      `FraudHoldEscrow 'Holds': sourcePrefix ("purpleflea-holds/incoming/") must not overlap outputPrefix ("purpleflea-holds") when sourceBucket is outputBucket: ` +
        "the run's own files would start new runs",
    );
    const other = newStack();
    const sharedToo = new s3.Bucket(other, 'Shared');
    expect(build({ sourceBucket: sharedToo, outputBucket: sharedToo, sourcePrefix: 'scored/' }, other)).not.toThrow();
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
    expect(build({ functionOptions: { logGroup: new logs.LogGroup(stack, 'Mine') } }, stack)).toThrow(
      /functionOptions.logGroup cannot be set/,
    );
  });

  test('functionOptions.logRetention cannot be set', () => {
    expect(build({ functionOptions: { logRetention: logs.RetentionDays.ONE_DAY } })).toThrow(
      /functionOptions.logRetention cannot be set: use the logRetention prop/,
    );
  });

  test('functionOptions.retryAttempts cannot be set', () => {
    expect(build({ functionOptions: { retryAttempts: 0 } })).toThrow(
      "FraudHoldEscrow 'Holds': functionOptions.retryAttempts cannot be set: the functions are invoked synchronously by Step Functions, which retries them",
    );
  });

  test('functionOptions.maxEventAge cannot be set', () => {
    expect(build({ functionOptions: { maxEventAge: Duration.hours(1) } })).toThrow(
      "FraudHoldEscrow 'Holds': functionOptions.maxEventAge cannot be set: the functions are invoked synchronously by Step Functions (no event queue)",
    );
  });

  test('functionOptions.onFailure cannot be set', () => {
    const stack = newStack();
    const queue = new sqs.Queue(stack, 'Mine');
    expect(build({ functionOptions: { onFailure: new destinations.SqsDestination(queue) } }, stack)).toThrow(
      "FraudHoldEscrow 'Holds': functionOptions.onFailure cannot be set: the functions are invoked synchronously by Step Functions: a failure fails the step, and the run",
    );
  });

  test.each([
    'FRAUD_SCORE_FIELD',
    'OBJECT_SUFFIX',
    'CONDITION_TEMPLATE',
    'ACT_CONCURRENCY',
    'EVENT_BUS_NAME',
    'PF_SECRET_ARN',
    'POWERTOOLS_SERVICE_NAME',
  ])("functionOptions.environment cannot set the construct's variable %s", (name) => {
    expect(build({ functionOptions: { environment: { [name]: 'x' } } })).toThrow(
      `FraudHoldEscrow 'Holds': functionOptions.environment.${name} cannot be set: the construct sets it`,
    );
  });

  test('every problem is reported in one error', () => {
    let message = '';
    try {
      build({ transformOutputPrefix: 'transform/', fraudScoreThreshold: 2, conditionTemplate: '{amount}', maxConcurrency: 0 })();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      "FraudHoldEscrow 'Holds' has 4 invalid props:\n" +
        '  - transformOutputPrefix cannot be set: is used by the transform-job trigger only: set transformJobTrigger or transformJobNamePrefix\n' +
        '  - fraudScoreThreshold must be between 0 and 1, got 2\n' +
        '  - conditionTemplate uses the unknown placeholder {amount} (allowed: {transactionId}, {fraudScore}, {jobName}), got "{amount}"\n' +
        '  - maxConcurrency must be an integer between 1 and 1000, got 0',
    );
  });

  test('valid edge values are accepted', () => {
    expect(
      build((stack) => ({
        transformJobNamePrefix: 'F',
        transformOutputBucket: bucket(stack, 'transform-output'),
        transformOutputPrefix: 't',
        sourceBucket: bucket(stack),
        sourcePrefix: 'a',
        sourceSuffix: '.out',
        objectSuffix: '',
        inputFormat: HoldInputFormat.CSV,
        transactionIdField: 'a.b.c',
        fraudScoreField: 'SageMakerOutput.fraud_score',
        fraudScoreThreshold: 0,
        conditionTemplate: '{transactionId}{fraudScore}{jobName}',
        maxHoldUsdc: 0.01,
        maxBatchTotalUsdc: 0.01,
        maxRequestsPerSecond: 1000,
        maxConcurrency: 1,
        actConcurrency: 100,
        itemsPerBatch: 1000,
        toleratedFailurePercentage: 100,
        outputPrefix: '',
      })),
    ).not.toThrow();
    expect(build({ fraudScoreThreshold: 1, conditionTemplate: 'no placeholder at all', actConcurrency: 1 })).not.toThrow();
  });
});
