import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { BatchPayout, BatchPayoutProps, RateLimit } from '../../lib';
import { newConnection, newStack } from './fixtures';

/** Builds a BatchPayout 'Payout' with the given props; returns a thunk for `toThrow`. */
function build(
  props: Partial<BatchPayoutProps> | ((stack: Stack) => Partial<BatchPayoutProps>),
  stack: Stack = newStack(),
): () => BatchPayout {
  return () =>
    new BatchPayout(stack, 'Payout', { connection: newConnection(stack), ...(typeof props === 'function' ? props(stack) : props) });
}

const bucket = (stack: Stack, name = 'my-scores') => s3.Bucket.fromBucketName(stack, `Bucket-${name}`, name);
/** Props with the processing-job trigger on and its bucket. */
const processing = (stack: Stack): Partial<BatchPayoutProps> => ({
  processingJobTrigger: true,
  processingOutputBucket: bucket(stack, 'job-output'),
});

describe('BatchPayout: one error per invalid prop', () => {
  test.each([
    ['empty', ''],
    ['with a leading slash', '/scores/'],
    ['with a wildcard', 'scores/*'],
    ['with a question mark', 'scores?/'],
  ])('sourcePrefix must be a plain key prefix: not %s', (_name, sourcePrefix) => {
    expect(build((stack) => ({ sourceBucket: bucket(stack), sourcePrefix }))).toThrow(
      `BatchPayout 'Payout': sourcePrefix must be a non-empty key prefix without a leading "/", "*" or "?" (leave it out to match every key), got ${JSON.stringify(sourcePrefix)}`,
    );
  });

  test.each([
    ['empty', ''],
    ['with a wildcard', '*.csv'],
  ])('sourceSuffix must be a plain key suffix: not %s', (_name, sourceSuffix) => {
    expect(build((stack) => ({ sourceBucket: bucket(stack), sourceSuffix }))).toThrow(
      `BatchPayout 'Payout': sourceSuffix must be a non-empty key suffix without "*" or "?" (leave it out to match every key), got ${JSON.stringify(sourceSuffix)}`,
    );
  });

  test('sourcePrefix requires sourceBucket', () => {
    expect(build({ sourcePrefix: 'scores/' })).toThrow(`BatchPayout 'Payout': sourcePrefix requires sourceBucket, got "scores/"`);
  });

  test('sourceSuffix requires sourceBucket', () => {
    expect(build({ sourceSuffix: '.csv' })).toThrow(`BatchPayout 'Payout': sourceSuffix requires sourceBucket, got ".csv"`);
  });

  test('processingJobNamePrefix must start a SageMaker processing job name', () => {
    expect(build((stack) => ({ ...processing(stack), processingJobNamePrefix: 'churn_scores' }))).toThrow(
      /BatchPayout 'Payout': processingJobNamePrefix must be a non-empty start of a processing job name, which must follow SageMaker's naming rule .*, got "churn_scores"/,
    );
  });

  test('processingJobNamePrefix cannot be given with processingJobTrigger: false', () => {
    expect(
      build((stack) => ({ processingJobTrigger: false, processingJobNamePrefix: 'churn-', processingOutputBucket: bucket(stack) })),
    ).toThrow('processingJobNamePrefix cannot be given with processingJobTrigger: false');
  });

  test('the processing-job trigger requires processingOutputBucket', () => {
    expect(build({ processingJobNamePrefix: 'churn-' })).toThrow(
      "BatchPayout 'Payout': processingOutputBucket is required by the processing-job trigger: it is the bucket the jobs write their scores to",
    );
    expect(build({ processingJobTrigger: true })).toThrow(/processingOutputBucket is required by the processing-job trigger/);
  });

  test.each<[string, (stack: Stack) => Partial<BatchPayoutProps>]>([
    ['processingOutputBucket', (stack) => ({ processingOutputBucket: bucket(stack) })],
    ['processingOutputName', () => ({ processingOutputName: 'scores' })],
    ['processingFileName', () => ({ processingFileName: 'part-0.csv' })],
  ])('%s is only for the processing-job trigger', (prop, props) => {
    expect(build(props)).toThrow(
      `BatchPayout 'Payout': ${prop} cannot be set: is used by the processing-job trigger only: set processingJobTrigger or processingJobNamePrefix`,
    );
  });

  test('processingOutputName must not be empty', () => {
    expect(build((stack) => ({ ...processing(stack), processingOutputName: '' }))).toThrow(
      `BatchPayout 'Payout': processingOutputName must not be empty, got ""`,
    );
  });

  test.each(['', '/scores.csv'])('processingFileName must be a file name: not %j', (processingFileName) => {
    expect(build((stack) => ({ ...processing(stack), processingFileName }))).toThrow(
      `BatchPayout 'Payout': processingFileName must be a non-empty file name without a leading "/", got ${JSON.stringify(processingFileName)}`,
    );
  });

  test('agentIdColumn must not be empty', () => {
    expect(build({ agentIdColumn: '' })).toThrow(`BatchPayout 'Payout': agentIdColumn must not be empty, got ""`);
  });

  test('scoreColumn must not be empty', () => {
    expect(build({ scoreColumn: '' })).toThrow(`BatchPayout 'Payout': scoreColumn must not be empty, got ""`);
  });

  test('scoreColumn must differ from agentIdColumn', () => {
    expect(build({ agentIdColumn: 'id', scoreColumn: 'id' })).toThrow(
      `BatchPayout 'Payout': scoreColumn must differ from agentIdColumn ("id"), got "id"`,
    );
  });

  test('usdPerScorePoint must be positive', () => {
    expect(build({ usdPerScorePoint: 0 })).toThrow(`BatchPayout 'Payout': usdPerScorePoint must be a number greater than 0, got 0`);
  });

  test('minPayoutUsdc must not be negative', () => {
    expect(build({ minPayoutUsdc: -0.01 })).toThrow(`BatchPayout 'Payout': minPayoutUsdc must be a number of at least 0, got -0.01`);
  });

  test('maxPayoutPerAgentUsdc must be positive', () => {
    expect(build({ maxPayoutPerAgentUsdc: 0 })).toThrow(/maxPayoutPerAgentUsdc must be a number greater than 0, got 0/);
  });

  test('maxPayoutPerAgentUsdc must be greater than minPayoutUsdc', () => {
    expect(build({ minPayoutUsdc: 50, maxPayoutPerAgentUsdc: 50 })).toThrow(
      `BatchPayout 'Payout': maxPayoutPerAgentUsdc must be greater than minPayoutUsdc (50), got 50`,
    );
    // Against the default minimum too.
    expect(build({ maxPayoutPerAgentUsdc: 0.01 })).toThrow(/maxPayoutPerAgentUsdc must be greater than minPayoutUsdc \(0\.01\), got 0\.01/);
  });

  test('maxBatchTotalUsdc must be positive', () => {
    expect(build({ maxBatchTotalUsdc: -100 })).toThrow(`BatchPayout 'Payout': maxBatchTotalUsdc must be a number greater than 0, got -100`);
  });

  test('finding 7: the caps may not pass the largest amount a row may have (10^9 USDC) or a run may add up to (10^13 USDC)', () => {
    expect(build({ maxPayoutPerAgentUsdc: 1_000_000_000.01 })).toThrow(
      `BatchPayout 'Payout': maxPayoutPerAgentUsdc must be at most 1000000000, the largest amount a row may have, got 1000000000.01`,
    );
    expect(build({ maxBatchTotalUsdc: 20_000_000_000_000 })).toThrow(
      `BatchPayout 'Payout': maxBatchTotalUsdc must be at most 10000000000000, the largest total a run's log keeps exact to the cent, got 20000000000000`,
    );
    expect(build({ maxPayoutPerAgentUsdc: 1_000_000_000, maxBatchTotalUsdc: 10_000_000_000_000 })).not.toThrow();
  });

  test.each([0, 1001, Number.NaN])('maxRequestsPerSecond must be in (0, 1000]: not %p', (maxRequestsPerSecond) => {
    expect(build({ maxRequestsPerSecond })).toThrow(
      `BatchPayout 'Payout': maxRequestsPerSecond must be a number greater than 0 and at most 1000, got ${maxRequestsPerSecond}`,
    );
  });

  test.each([0, 1.5, 1001])('maxConcurrency must be an integer from 1 to 1000: not %p', (maxConcurrency) => {
    expect(build({ maxConcurrency })).toThrow(
      `BatchPayout 'Payout': maxConcurrency must be an integer between 1 and 1000, got ${maxConcurrency}`,
    );
  });

  test.each([0, 2.5, 101])('payConcurrency must be an integer from 1 to 100: not %p', (payConcurrency) => {
    expect(build({ payConcurrency })).toThrow(
      `BatchPayout 'Payout': payConcurrency must be an integer between 1 and 100, got ${payConcurrency}`,
    );
  });

  test.each([0, 10.5, 1001])('itemsPerBatch must be an integer from 1 to 1000: not %p', (itemsPerBatch) => {
    expect(build({ itemsPerBatch })).toThrow(
      `BatchPayout 'Payout': itemsPerBatch must be an integer between 1 and 1000, got ${itemsPerBatch}`,
    );
  });

  test.each([-1, 100.5])('toleratedFailurePercentage must be from 0 to 100: not %p', (toleratedFailurePercentage) => {
    expect(build({ toleratedFailurePercentage })).toThrow(
      `BatchPayout 'Payout': toleratedFailurePercentage must be between 0 and 100, got ${toleratedFailurePercentage}`,
    );
  });

  test.each(['maxRequestsPerSecond', 'maxConcurrency', 'itemsPerBatch', 'toleratedFailurePercentage'])(
    '%s must be known at synth, not a token',
    (prop) => {
      const stack = newStack();
      const token = new CfnParameter(stack, 'Value', { type: 'Number' }).valueAsNumber;
      expect(build({ [prop]: token }, stack)).toThrow(
        `BatchPayout 'Payout': ${prop} must be a number known at synth, got a token: it shapes the state machine and the per-batch rate`,
      );
    },
  );

  test("a batch given must fit in the Pay function's timeout at its share of the rate", () => {
    // 100 rows at 10 / 20 = 0.5 requests a second: 200 s, within 5 minutes less a minute.
    expect(build({ maxConcurrency: 20, itemsPerBatch: 100 })).not.toThrow();
    // 100 rows at 10 / 30: 300 s.
    expect(build({ maxConcurrency: 30, itemsPerBatch: 100 })).toThrow(
      "BatchPayout 'Payout': itemsPerBatch (100) at maxRequestsPerSecond / maxConcurrency (10 / 30) takes 300 s a batch, more than the Pay " +
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
      "BatchPayout 'Payout': itemsPerBatch (100) at rateLimit / maxConcurrency (20/min / 1) takes 300 s a batch, more than the Pay " +
        "function's timeout (5 minutes) less a minute for backing off allows: lower itemsPerBatch or maxConcurrency, or raise the rate or functionOptions.timeout",
    );
    // Even one row a batch cannot fit: a rate this slow is an error, not a batch that times out.
    expect(build({ rateLimit: RateLimit.perMinute(0.2) })).toThrow(
      "BatchPayout 'Payout': itemsPerBatch (1) at rateLimit / maxConcurrency (0.2/min / 1) takes 300 s a batch",
    );
  });

  test('rateLimit and maxRequestsPerSecond cannot both be given', () => {
    expect(build({ rateLimit: RateLimit.perMinute(20), maxRequestsPerSecond: 0.3 })).toThrow(
      "BatchPayout 'Payout': maxRequestsPerSecond and rateLimit cannot both be given: give the run's limit once",
    );
  });

  test.each([
    [RateLimit.perSecond(0), 'greater than 0 and at most 1000 a second, got 0/s'],
    [RateLimit.perSecond(1001), 'greater than 0 and at most 1000 a second, got 1001/s'],
    [RateLimit.perMinute(-1), 'greater than 0 and at most 60000 a minute, got -1/min'],
    [RateLimit.perMinute(60_001), 'greater than 0 and at most 60000 a minute, got 60001/min'],
    [RateLimit.perMinute(Number.NaN), 'greater than 0 and at most 60000 a minute, got NaN/min'],
  ])('rateLimit must be in range: %s', (rateLimit, why) => {
    expect(build({ rateLimit })).toThrow(`BatchPayout 'Payout': rateLimit must be ${why}`);
  });

  test('rateLimit must be known at synth, not a token', () => {
    const stack = newStack();
    const token = new CfnParameter(stack, 'Value', { type: 'Number' }).valueAsNumber;
    expect(build({ rateLimit: RateLimit.perMinute(token) }, stack)).toThrow(
      "BatchPayout 'Payout': rateLimit must be a number known at synth, got a token: it shapes the state machine and the per-batch rate",
    );
  });

  test.each([
    ['a leading slash', '/payouts'],
    ['a trailing slash', 'payouts/'],
    ['a doubled slash', 'runs//payouts'],
    ['a wildcard', 'payouts*'],
    ['a space', 'my payouts'],
    ['more than 512 characters', 'p'.repeat(513)],
  ])('outputPrefix must be a plain key prefix: not with %s', (_name, outputPrefix) => {
    expect(build({ outputPrefix })).toThrow(
      `BatchPayout 'Payout': outputPrefix must be a key prefix of at most 512 characters (letters, digits, and !_.'()=- between single "/"), ` +
        `without a leading or trailing "/" (empty for the bucket's root), got ${JSON.stringify(outputPrefix)}`,
    );
  });

  test.each<[string, Partial<BatchPayoutProps>, string]>([
    ['no source prefix', {}, 'not given'],
    ['a source prefix above the run folders', { sourcePrefix: 'purple' }, '"purple"'],
    ['a source prefix inside the run folders', { sourcePrefix: 'purpleflea-payouts/incoming/' }, '"purpleflea-payouts/incoming/"'],
    ['run folders at the root', { sourcePrefix: 'scores/', outputPrefix: '' }, '"scores/"'],
  ])('one bucket as source and output must keep the run folders out of the source prefix: %s', (_name, props, shown) => {
    const stack = newStack();
    const shared = new s3.Bucket(stack, 'Shared');
    expect(build({ sourceBucket: shared, outputBucket: shared, ...props }, stack)).toThrow(
      new RegExp(
        `sourcePrefix \\(${shown.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\) must not overlap outputPrefix \\(".*"\\) when sourceBucket is outputBucket: the run's own files would start new runs`,
      ),
    );
  });

  test('one bucket as source and output, imported twice by name, is still one bucket', () => {
    expect(
      build((stack) => ({ sourceBucket: bucket(stack, 'shared'), outputBucket: s3.Bucket.fromBucketName(stack, 'Again', 'shared') })),
    ).toThrow(/sourcePrefix \(not given\) must not overlap outputPrefix \("purpleflea-payouts"\) when sourceBucket is outputBucket/);
  });

  test('one bucket as source and output is fine with separate prefixes', () => {
    const stack = newStack();
    const shared = new s3.Bucket(stack, 'Shared');
    expect(build({ sourceBucket: shared, outputBucket: shared, sourcePrefix: 'scores/' }, stack)).not.toThrow();
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
      "BatchPayout 'Payout': functionOptions.retryAttempts cannot be set: the functions are invoked synchronously by Step Functions, which retries them",
    );
  });

  test('functionOptions.maxEventAge cannot be set', () => {
    expect(build({ functionOptions: { maxEventAge: Duration.hours(1) } })).toThrow(
      "BatchPayout 'Payout': functionOptions.maxEventAge cannot be set: the functions are invoked synchronously by Step Functions (no event queue)",
    );
  });

  test('functionOptions.onFailure cannot be set', () => {
    const stack = newStack();
    const queue = new sqs.Queue(stack, 'Mine');
    expect(build({ functionOptions: { onFailure: new destinations.SqsDestination(queue) } }, stack)).toThrow(
      "BatchPayout 'Payout': functionOptions.onFailure cannot be set: the functions are invoked synchronously by Step Functions: a failure fails the step, and the run",
    );
  });

  test.each(['OUTPUT_PREFIX', 'REQUESTS_PER_SECOND', 'EVENT_BUS_NAME', 'PF_SECRET_ARN', 'POWERTOOLS_SERVICE_NAME'])(
    "functionOptions.environment cannot set the construct's variable %s",
    (name) => {
      expect(build({ functionOptions: { environment: { [name]: 'x' } } })).toThrow(
        `BatchPayout 'Payout': functionOptions.environment.${name} cannot be set: the construct sets it`,
      );
    },
  );

  test('every problem is reported in one error', () => {
    let message = '';
    try {
      build({ sourcePrefix: 'scores/', usdPerScorePoint: -1, maxConcurrency: 0, outputPrefix: '/x' })();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      "BatchPayout 'Payout' has 4 invalid props:\n" +
        '  - sourcePrefix requires sourceBucket, got "scores/"\n' +
        '  - usdPerScorePoint must be a number greater than 0, got -1\n' +
        '  - maxConcurrency must be an integer between 1 and 1000, got 0\n' +
        `  - outputPrefix must be a key prefix of at most 512 characters (letters, digits, and !_.'()=- between single "/"), without a leading or trailing "/" (empty for the bucket's root), got "/x"`,
    );
  });

  test('valid edge values are accepted', () => {
    expect(
      build((stack) => ({
        sourceBucket: bucket(stack),
        sourcePrefix: 'a',
        sourceSuffix: '.csv',
        processingJobNamePrefix: 'churn-',
        processingOutputBucket: bucket(stack, 'job-output'),
        processingOutputName: 'o',
        processingFileName: 'scores/part-0.csv',
        minPayoutUsdc: 0,
        maxPayoutPerAgentUsdc: 0.02,
        usdPerScorePoint: 0.001,
        maxBatchTotalUsdc: 0.01,
        maxRequestsPerSecond: 1000,
        maxConcurrency: 1,
        payConcurrency: 100,
        itemsPerBatch: 1000,
        toleratedFailurePercentage: 0,
        outputPrefix: "runs/pay-outs_2024.v1/(x)=!'",
      })),
    ).not.toThrow();
    expect(
      build({ outputPrefix: '', maxConcurrency: 1000, itemsPerBatch: 1, toleratedFailurePercentage: 100, payConcurrency: 1 }),
    ).not.toThrow();
    expect(build({ outputPrefix: 'p'.repeat(512) })).not.toThrow();
    expect(build((stack) => ({ processingJobNamePrefix: 'A', processingOutputBucket: bucket(stack) }))).not.toThrow();
  });
});
