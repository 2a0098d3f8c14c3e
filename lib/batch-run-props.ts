import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { PurpleFleaConnection } from './purpleflea-connection';
import { RateLimit } from './rate-limit';

/**
 * The props every batch construct takes, with the same meaning: the connection, the S3 trigger, the
 * total cap, how fast, where the run folders go, and the functions' settings. Extended by
 * {@link BatchPayoutProps} and {@link FraudHoldEscrowProps}.
 *
 * A run reads its input (BatchPayout's scored rows, FraudHoldEscrow's records), writes the items to act
 * on as the run's `input.csv`, acts on them in batches on a Distributed Map (BatchPayout's Pay function
 * pays, FraudHoldEscrow's Act function holds), then writes the run's log (JSON Lines: `payout_log.jsonl`,
 * `holds_log.jsonl`) and its summary (`payout_summary.json`, `holds_summary.json`), and puts a completion event.
 */
export interface BatchRunProps {
  /** How to reach Purple Flea and the action ledger. */
  readonly connection: PurpleFleaConnection;

  // The S3 trigger.

  /**
   * Start a run when an input file (BatchPayout's scores, FraudHoldEscrow's records) is created in this
   * bucket (EventBridge `Object Created` events). A bucket created in the same stack gets EventBridge
   * notifications turned on; an imported bucket must have them turned on by its owner (S3 console:
   * Properties, Amazon EventBridge).
   * @default - no S3 trigger
   */
  readonly sourceBucket?: s3.IBucket;

  /**
   * Only objects whose key starts with this start a run (e.g. `scores/`); the function may read only them.
   * Requires `sourceBucket`.
   * @default - every object in `sourceBucket`
   */
  readonly sourcePrefix?: string;

  /**
   * Only objects whose key ends with this start a run (e.g. `.csv`, `.out`). Requires `sourceBucket`.
   * @default - any key
   */
  readonly sourceSuffix?: string;

  // The total cap.

  /**
   * A run whose total (BatchPayout: of its payable amounts; FraudHoldEscrow: of its holds) is above this
   * moves no money: it fails before any money moves, naming the total and the cap. Greater than 0, at most
   * 10,000,000,000,000 (the largest total a run's log keeps exact to the cent).
   * @default 100000
   */
  readonly maxBatchTotalUsdc?: number;

  // How fast.

  /**
   * Purple Flea requests per second for the whole run, shared equally by the `maxConcurrency` batches
   * in flight. Greater than 0, at most 1000; known at synth (not a token). Or give `rateLimit` (not both).
   * Left out on the services profile (`PurpleFleaApi.services()`), FraudHoldEscrow keeps under escrow create's
   * limit (20 a minute per client IP) less a tenth: 18 a minute (0.3 a second); BatchPayout's casino pay has no
   * limit, so 10 a second on both profiles.
   * @default 10
   */
  readonly maxRequestsPerSecond?: number;

  /**
   * The run's limit, per second or per minute (`RateLimit.perMinute(20)` for a service path that allows 20
   * requests a minute), in place of `maxRequestsPerSecond`: giving both is an error. Known at synth.
   * @default - `maxRequestsPerSecond`
   */
  readonly rateLimit?: RateLimit;

  /**
   * Batches acted on (paid, or held) at the same time (the Distributed Map's MaxConcurrency). An integer
   * from 1 to 1000; known at synth (not a token). When left out, 10, or fewer (at least 1) when
   * `itemsPerBatch` (100 when left out) rows at a tenth of a slow rate would not fit in the act function's
   * timeout.
   * @default 10
   */
  readonly maxConcurrency?: number;

  /**
   * Items (BatchPayout's rows, FraudHoldEscrow's records) per batch (the Distributed Map's ItemBatcher).
   * An integer from 1 to 1000; known at synth. A batch must fit in the act function's timeout (Pay's,
   * Act's) at its share of the rate (with a minute to spare for backing off from 429s):
   * itemsPerBatch × maxConcurrency / rate seconds. When left out, 100, or as many as fit (at least 1): at
   * `RateLimit.perMinute(20)` and the default 5-minute timeout, 80 rows a batch, one batch at a time.
   * @default 100
   */
  readonly itemsPerBatch?: number;

  /**
   * The percentage of batches that may fail without failing the run (the Distributed Map's
   * ToleratedFailurePercentage). From 0 to 100; known at synth.
   * @default 0
   */
  readonly toleratedFailurePercentage?: number;

  // Where the run folders go.

  /**
   * The bucket of the run folders (`<outputPrefix>/<run id>/`: the normalized input, the Map's results
   * and the run's log). Must not be `sourceBucket` under an overlapping prefix (a run's own files would
   * start new runs).
   * @default - a new bucket: S3-managed encryption, TLS only, public access blocked, versioned, retained
   */
  readonly outputBucket?: s3.IBucket;

  /**
   * The key prefix of the run folders in `outputBucket`: no leading or trailing slash, no wildcard; empty
   * for the bucket's root.
   * @default - 'purpleflea-payouts' for BatchPayout, 'purpleflea-holds' for FraudHoldEscrow
   */
  readonly outputPrefix?: string;

  /**
   * The bus that gets a completion event (source `purpleflea.sagemaker`) after each run:
   * `Purple Flea Payout Completed` from BatchPayout, `Purple Flea Holds Completed` from FraudHoldEscrow.
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;

  /**
   * Run and log everything, but move no money (pay no one, hold nothing).
   * @default false
   */
  readonly dryRun?: boolean;

  /**
   * When false, the rules are created disabled and no step that moves money sends anything: a run started
   * by hand fails in Prepare, and the rows of a run in flight or of a redrive are SKIPPED by Pay or Act.
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * How long the functions' and the state machine's logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Overrides for the three functions: memory, timeout, VPC placement... The construct sets their code,
   * handler, runtime (see `runtime`), role, log group and its own environment variables; they are invoked synchronously
   * by Step Functions, so they have no async retries, event age or failure destination. Giving any of
   * those here is an error.
   * @default - arm64, active tracing; 15 minutes and 1024 MB for Prepare and Summarize, 5 minutes and 256 MB for the act
   * function (BatchPayout's Pay, FraudHoldEscrow's Act)
   */
  readonly functionOptions?: lambda.FunctionOptions;

  /**
   * The Lambda runtime of the construct's functions: a Node.js runtime, Node.js 22 or newer (the handler
   * bundles are built for Node.js 22). Give one to pin a major, e.g. to move to a new one on your own schedule.
   * @default - the newest Node.js runtime your app's aws-cdk-lib names (`lambda.Runtime.NODEJS_<n>_X`), chosen at
   * synth, which is the latest runtime cdk-nag's AwsSolutions-L1 expects
   */
  readonly runtime?: lambda.Runtime;

  /**
   * Every alarm of the construct notifies this topic when it fires and when it clears (an alarm
   * action and an OK action).
   * @default - no actions: add your own to the public alarm properties
   */
  readonly alarmTopic?: sns.ITopic;
}
