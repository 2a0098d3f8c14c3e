import { Arn, ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2 } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { BatchInput, PreparedRun, RUN_FILES, SourceObject, SummarizeEvent } from './contracts/batch-engine';
import { wildcardResourceFindingId } from './nag-findings';
import { newWildcardPolicy } from './wildcard-policy';

export interface BatchWorkflowProps {
  /** Reads the source once, writes the run's `input.csv`; returns a {@link PreparedRun}. */
  readonly prepareFunction: lambda.IFunction;
  /** Acts on one batch of rows: gets the Map's `{Items, BatchInput}` (a ActBatchEvent for BatchPayout). */
  readonly actFunction: lambda.IFunction;
  /** Reads the Map's results and writes the run's log. */
  readonly summarizeFunction: lambda.IFunction;
  /**
   * The act step's name, in the user's words (e.g. `Pay`): the item processor's state, and the Map is
   * `<actName>Batches` (also its Map Run label). Letters and digits only.
   */
  readonly actName: string;
  /** Where the run folders are: `s3://<outputBucket>/<outputPrefix>/<run id>/`. */
  readonly outputBucket: s3.IBucket;
  /** No leading or trailing slash; may be empty (run folders at the bucket's root). */
  readonly outputPrefix: string;
  /** The run's props, defaults applied (BatchRunProps' `itemsPerBatch`, `maxConcurrency`, `toleratedFailurePercentage`). */
  readonly maxItemsPerBatch: number;
  readonly maxConcurrency: number;
  readonly toleratedFailurePercentage: number;
  /** Retention of the state machine's log group. */
  readonly logRetention: logs.RetentionDays;
  /** The state machine's comment. */
  readonly comment: string;
}

/**
 * What reading and writing (in parts too) objects encrypted with a KMS key takes: named actions, not
 * aws-cdk-lib's grantEncryptDecrypt, whose `kms:ReEncrypt*` and `kms:GenerateDataKey*` cdk-nag reports.
 */
export const S3_KMS_OBJECT_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];

/**
 * The batch engine of docs/design.md, shared by the batch constructs: a Standard state machine
 *
 *   Prepare (Lambda) → <actName>Batches (Distributed Map over the run's input.csv, in batches)
 *     → <actName> (Lambda, per batch) → Summarize (Lambda)
 *
 * with one run folder per execution, `s3://<output bucket>/<output prefix>/<run id>/`, where the run id
 * is the execution's name. Logging at level ALL and tracing on.
 *
 * IAM: the state machine's role may invoke the three functions, read the `input.csv` and write the Map's
 * results of the run folders (not the whole bucket, as aws-cdk-lib's ItemReader and ResultWriter would
 * grant), and start, describe, stop and redrive its own Map Runs (aws-cdk-lib). Every wildcard that
 * leaves is acknowledged by cdk-nag finding id for exactly that resource, on the policy that holds it.
 */
export class BatchWorkflow extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  /** The state machine's log group. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BatchWorkflowProps) {
    super(scope, id);
    // ResultWriterV2 whatever the app's feature flags say (the flag is read from this construct up):
    // without it aws-cdk-lib would render the deprecated `resultWriter` prop and ignore ours.
    this.node.setContext(STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);

    const { outputBucket, outputPrefix, actName } = props;
    const mapLabel = `${actName}Batches`;

    const prepare = invoke(this, 'Prepare', props.prepareFunction, {
      // PrepareEvent: the execution's name is the run id (the same on a redrive), and its input as it came.
      payload: sfn.TaskInput.fromObject({ runId: sfn.JsonPath.executionName, input: sfn.JsonPath.entirePayload }),
    });

    const map = new sfn.DistributedMap(this, mapLabel, {
      label: mapLabel,
      itemReader: new RunInputReader({
        bucket: outputBucket,
        key: sfn.JsonPath.stringAt(runPath('inputKey')),
        csvHeaders: sfn.CsvHeaders.useFirstRow(),
      }),
      itemBatcher: new sfn.ItemBatcher({
        maxItemsPerBatch: props.maxItemsPerBatch,
        batchInput: BATCH_INPUT_TEMPLATE,
      }),
      maxConcurrency: props.maxConcurrency,
      // aws-cdk-lib leaves 0 out of the ASL, which is the same: no failed batch is tolerated.
      toleratedFailurePercentage: props.toleratedFailurePercentage,
      resultWriterV2: new RunResultsWriter({
        bucket: outputBucket,
        // `<output prefix>/<run id>/map-results`, from the run folder Prepare returned.
        prefix: sfn.JsonPath.format(`{}/${RUN_FILES.mapResults}`, sfn.JsonPath.stringAt(runFolderPath('prefix'))),
      }),
      resultPath: MAP_RESULT_PATH,
    });
    // Each batch: the Map's `{Items, BatchInput}` as it is.
    map.itemProcessor(invoke(this, actName, props.actFunction, { payload: sfn.TaskInput.fromJsonPathAt('$') }));

    const summarize = invoke(this, 'Summarize', props.summarizeFunction, { payload: sfn.TaskInput.fromJsonPathAt('$') });

    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: props.comment,
      definitionBody: sfn.DefinitionBody.fromChainable(prepare.next(map).next(summarize)),
    });

    this.allowRunFolders(outputBucket, outputPrefix);
    this.enableLogging();
    this.enableTracing();
    this.acknowledgeAwsCdkLibWildcards(mapLabel, [props.prepareFunction, props.actFunction, props.summarizeFunction]);
  }

  /**
   * What the ItemReader and the ResultWriter need, in the run folders only: reading `input.csv`, writing
   * (and, for multipart uploads, listing and aborting) the Map's results.
   */
  private allowRunFolders(bucket: s3.IBucket, prefix: string): void {
    const role = this.stateMachine.role;
    newWildcardPolicy(this, 'RunFolderAccess', {
      role,
      // The state machine resource, not the L2 construct, which holds the role.
      dependent: this.cfnStateMachine,
      statements: [
        {
          actions: ['s3:GetObject'],
          resources: [bucket.arnForObjects(underPrefix(prefix, `*/${RUN_FILES.input}`))],
          reason: `The Map's ItemReader reads the ${RUN_FILES.input} of each run folder, whose name is the execution's name, known only when it starts.`,
        },
        {
          actions: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
          resources: [bucket.arnForObjects(underPrefix(prefix, `*/${RUN_FILES.mapResults}/*`))],
          reason:
            `The Map's ResultWriter writes the results of each run under <run folder>/${RUN_FILES.mapResults}/<map run id>/, ` +
            'names known only when the run starts (these are the actions Step Functions documents for a ResultWriter).',
        },
      ],
    });
    bucket.encryptionKey?.grant(role, ...S3_KMS_OBJECT_ACTIONS);
  }

  /**
   * Logging at level ALL with the execution data, to the construct's log group. aws-cdk-lib would add the
   * log-delivery actions, which take no resource, to the role's default policy, where acknowledging
   * `Resource: *` would also hide a wildcard a user adds; they get a policy of their own instead.
   */
  private enableLogging(): void {
    const policy = new iam.Policy(this, 'LogDelivery', {
      roles: [this.stateMachine.role],
      statements: [
        new iam.PolicyStatement({
          actions: [
            'logs:CreateLogDelivery',
            'logs:GetLogDelivery',
            'logs:UpdateLogDelivery',
            'logs:DeleteLogDelivery',
            'logs:ListLogDeliveries',
            'logs:PutResourcePolicy',
            'logs:DescribeResourcePolicies',
            'logs:DescribeLogGroups',
          ],
          resources: ['*'],
        }),
      ],
    });
    // Step Functions checks these permissions when the state machine is created.
    this.cfnStateMachine.node.addDependency(policy);
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'CloudWatch Logs vended log delivery (CreateLogDelivery, PutResourcePolicy, DescribeLogGroups...), which Step Functions ' +
        'uses to write to its log group, supports no resource scoping; these are the actions Step Functions documents for logging.',
    });
    this.cfnStateMachine.loggingConfiguration = {
      level: sfn.LogLevel.ALL,
      includeExecutionData: true,
      destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: this.logGroup.logGroupArn } }],
    };
  }

  /** X-Ray tracing, its actions (which take no resource) in a policy of their own, as for the functions. */
  private enableTracing(): void {
    const policy = new iam.Policy(this, 'Tracing', {
      roles: [this.stateMachine.role],
      statements: [
        new iam.PolicyStatement({
          actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'],
          resources: ['*'],
        }),
      ],
    });
    this.cfnStateMachine.node.addDependency(policy);
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'The X-Ray actions that tracing a state machine needs (PutTraceSegments, PutTelemetryRecords, GetSampling*) support no resource scoping.',
    });
    this.cfnStateMachine.tracingConfiguration = { enabled: true };
  }

  /**
   * The wildcards aws-cdk-lib adds and no prop removes, each acknowledged for exactly its resource:
   * - LambdaInvoke grants `lambda:InvokeFunction` on `<function ARN>:*` (its versions and aliases) beside
   *   the function, in the role's default policy;
   * - a Distributed Map lets the role describe and stop the Map's child executions
   *   (`execution:<state machine name>:*`) and redrive its Map Runs (`execution:<name>/<label>:*`),
   *   in its DistributedMapPolicy.
   */
  private acknowledgeAwsCdkLibWildcards(mapLabel: string, functions: lambda.IFunction[]): void {
    const defaultPolicy = this.stateMachine.role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy === undefined) throw new Error('BatchWorkflow: the state machine role has no default policy');
    for (const fn of functions) {
      Validations.of(defaultPolicy).acknowledge({
        id: wildcardResourceFindingId(defaultPolicy, `${fn.functionArn}:*`),
        reason:
          "aws-cdk-lib's LambdaInvoke task grants lambda:InvokeFunction on the function's versions and aliases (<function ARN>:*) " +
          'beside the function itself; the workflow invokes only the unqualified function.',
      });
    }

    const mapPolicy = this.stateMachine.node.tryFindChild('DistributedMapPolicy');
    if (mapPolicy === undefined) throw new Error('BatchWorkflow: aws-cdk-lib created no DistributedMapPolicy');
    const stack = Stack.of(this);
    const stateMachineName = Arn.split(this.stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName;
    const executions = (name: string) =>
      stack.formatArn({ service: 'states', resource: 'execution', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    Validations.of(mapPolicy).acknowledge({
      id: wildcardResourceFindingId(mapPolicy, `${executions(stateMachineName!)}:*`),
      reason:
        "A Distributed Map runs each batch as a child execution of this state machine, named by Step Functions at run time: aws-cdk-lib's " +
        'DistributedMapPolicy lets the role describe and stop the executions of this one state machine.',
    });
    Validations.of(mapPolicy).acknowledge({
      id: wildcardResourceFindingId(mapPolicy, executions(`${stateMachineName}/${mapLabel}:*`)),
      reason:
        "aws-cdk-lib's DistributedMapPolicy lets the role redrive the Map Runs of this state machine's one labelled Distributed Map " +
        `(${mapLabel}), whose ids are known only when they run.`,
    });
  }

  private get cfnStateMachine(): sfn.CfnStateMachine {
    return this.stateMachine.node.defaultChild as sfn.CfnStateMachine;
  }
}

/** `$.<field>` of the execution's state once Prepare has run, checked against the contract. */
function runPath(field: keyof PreparedRun): string {
  return `$.${field}`;
}

function sourcePath(field: keyof SourceObject): string {
  return `${runPath('source')}.${field}`;
}

function runFolderPath(field: keyof PreparedRun['runFolder']): string {
  return `${runPath('runFolder')}.${field}`;
}

/** What every batch gets beside its items: the run id and the source object (its ETag names the content). */
const BATCH_INPUT_TEMPLATE: { readonly [field in keyof BatchInput as `${field}.$`]: string } = {
  'runId.$': runPath('runId'),
  'sourceBucket.$': sourcePath('bucket'),
  'sourceKey.$': sourcePath('key'),
  'sourceEtag.$': sourcePath('etag'),
};

/** Where the Map's output (`{MapRunArn, ResultWriterDetails}`) goes in the state Summarize gets. */
const MAP_RESULT_FIELD: keyof SummarizeEvent = 'mapResult';
const MAP_RESULT_PATH = `$.${MAP_RESULT_FIELD}`;

/** `<prefix>/<rest>`, or `<rest>` when the prefix is empty. */
function underPrefix(prefix: string, rest: string): string {
  return prefix === '' ? rest : `${prefix}/${rest}`;
}

/**
 * A Lambda step whose state becomes the function's answer (`$.Payload`), retried on Lambda's own errors
 * (aws-cdk-lib's default: service errors, SDK client errors) and on throttling. Repeating a step is safe:
 * the handlers are idempotent, and the action ledger makes a repeated payment a no-op.
 */
function invoke(scope: Construct, id: string, fn: lambda.IFunction, options: { readonly payload: sfn.TaskInput }): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: fn,
    payload: options.payload,
    outputPath: '$.Payload',
    retryOnServiceExceptions: true,
  });
  task.addRetry({
    errors: ['Lambda.TooManyRequestsException'],
    interval: Duration.seconds(2),
    maxAttempts: 6,
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}

/** The run's `input.csv`; its s3:GetObject, scoped to the run folders, is in RunFolderAccess. */
class RunInputReader extends sfn.S3CsvItemReader {
  public providePolicyStatements(): iam.PolicyStatement[] {
    return [];
  }
}

/** The run folder's `map-results/`; its permissions, scoped to the run folders, are in RunFolderAccess. */
class RunResultsWriter extends sfn.ResultWriterV2 {
  public providePolicyStatements(): iam.PolicyStatement[] {
    return [];
  }
}
