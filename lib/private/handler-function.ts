import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HANDLER_FUNCTION_DEFAULTS } from './defaults';
import type { PropsValidator } from './validation';

/**
 * The Node.js major the handler bundles are built for (scripts/build-handlers.mjs, esbuild's `target`):
 * the oldest runtime a function may be given.
 */
export const HANDLER_BUNDLE_NODE_MAJOR = 22;

/** `nodejs24.x` → 24; undefined for a name that is not a Node.js runtime's. */
export function nodeMajorOf(runtimeName: string): number | undefined {
  const match = /^nodejs(\d+)\.x$/.exec(runtimeName);
  return match ? Number(match[1]) : undefined;
}

/**
 * The handlers' runtime unless a construct's `runtime` prop says otherwise: the newest Node.js runtime that
 * the app's aws-cdk-lib names, chosen at synth. That aws-cdk-lib is the one this module resolves
 * (`aws-cdk-lib` is a peer dependency), the same one cdk-nag's AwsSolutions-L1 reads the latest runtime of
 * the family from; so a library built on an older aws-cdk-lib is still on the latest runtime in a newer app.
 *
 * The rule: among `lambda.Runtime`'s static members named `NODEJS_<n>_X` whose runtime is of the Node.js
 * family, named `nodejs<n>.x`, and not variable (`NODEJS_LATEST` is), the one with the highest `<n>` of at
 * least {@link HANDLER_BUNDLE_NODE_MAJOR}. Older runtimes (all of AWS's deprecated ones among them) are never
 * picked. Newer majors are not held back until tested: that would fail AwsSolutions-L1 on the next aws-cdk-lib;
 * the bundles are self-contained CommonJS (SDK included), and `runtime` pins a major.
 */
export function defaultHandlerRuntime(): lambda.Runtime {
  let newest: { runtime: lambda.Runtime; major: number } | undefined;
  for (const member of Object.getOwnPropertyNames(lambda.Runtime)) {
    const match = /^NODEJS_(\d+)_X$/.exec(member);
    // Older members are deprecated runtimes: not even read.
    if (!match || Number(match[1]) < HANDLER_BUNDLE_NODE_MAJOR) continue;
    const major = Number(match[1]);
    const runtime: unknown = (lambda.Runtime as unknown as { [name: string]: unknown })[member];
    if (!(runtime instanceof lambda.Runtime)) continue;
    if (runtime.family !== lambda.RuntimeFamily.NODEJS || runtime.isVariable || nodeMajorOf(runtime.name) !== major) continue;
    if (!newest || major > newest.major) newest = { runtime, major };
  }
  if (!newest) {
    throw new Error(
      `aws-cdk-lib names no Node.js runtime of ${HANDLER_BUNDLE_NODE_MAJOR} or newer (lambda.Runtime.NODEJS_${HANDLER_BUNDLE_NODE_MAJOR}_X): ` +
        'upgrade aws-cdk-lib to a version this library supports (see its peerDependencies)',
    );
  }
  return newest.runtime;
}

/** Handlers are bundled into assets/<name>/index.js when the library is built (scripts/build-handlers.mjs). */
export function handlerAssetPath(assetName: string): string {
  // lib/private/*.ts (ts-jest) and lib/private/*.js (compiled) are both two levels below the package root.
  const path = join(__dirname, '..', '..', 'assets', assetName);
  if (!existsSync(join(path, 'index.js'))) {
    throw new Error(`The ${assetName} handler bundle is missing at ${path}: run \`npm run build:handlers\` first`);
  }
  return path;
}

export interface HandlerFunctionProps {
  /** The folder under assets/ holding the bundled handler (entry `index.handler`). */
  readonly assetName: string;
  readonly description: string;
  /** Retention of the function's own log group. */
  readonly logRetention: logs.RetentionDays;
  /** The user's overrides (memory, VPC, reserved concurrency...); the construct has rejected the ones it must set. */
  readonly functionOptions?: lambda.FunctionOptions;
  /** The construct's `runtime` prop (checked by {@link checkFunctionOptions}). @default defaultHandlerRuntime() */
  readonly runtime?: lambda.Runtime;
  /** The construct's environment; wins over the user's variables of the same name. */
  readonly environment: { [name: string]: string };
  /**
   * Lambda's async invocation settings, which the construct must set for a function invoked
   * asynchronously (by EventBridge). A function that only Step Functions invokes, synchronously, has none.
   */
  readonly retryAttempts?: number;
  readonly maxEventAge?: Duration;
  readonly onFailure?: lambda.IDestination;
}

/**
 * A library handler: the bundled asset, the runtime, tracing, its own log group with a retention
 * period, and its own role whose only built-in permission is writing to that log group (no managed
 * AWSLambdaBasicExecutionRole, which would allow writing to any log group).
 *
 * Settings, lowest precedence first: the defaults here, the user's `functionOptions`, what the
 * construct must set (code, handler, runtime, role, log group, its environment, async invocation).
 */
export class HandlerFunction extends lambda.Function {
  /** The function's log group (a concrete LogGroup, unlike `Function.logGroup`). */
  public readonly handlerLogGroup: logs.LogGroup;
  public readonly handlerRole: iam.Role;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    // The log group and the role are siblings of the function: they must exist before super().
    const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, { retention: props.logRetention });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs ${props.description}`,
      inlinePolicies: {
        WriteOwnLogs: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              // The log group's ARN ends in ":*", which covers its log streams and nothing else.
              resources: [logGroup.logGroupArn],
            }),
          ],
        }),
      },
    });

    const user = props.functionOptions ?? {};
    super(scope, id, {
      // Defaults.
      description: props.description,
      architecture: lambda.Architecture.ARM_64,
      memorySize: HANDLER_FUNCTION_DEFAULTS.memorySizeMb,
      timeout: Duration.seconds(HANDLER_FUNCTION_DEFAULTS.timeoutSeconds),
      // The user's overrides.
      ...user,
      // Tracing is configured below, with its permissions in a policy of their own.
      tracing: undefined,
      // What the construct must set.
      code: lambda.Code.fromAsset(handlerAssetPath(props.assetName)),
      handler: 'index.handler',
      runtime: props.runtime ?? defaultHandlerRuntime(),
      role,
      logGroup,
      environment: { ...user.environment, ...props.environment },
      retryAttempts: props.retryAttempts,
      maxEventAge: props.maxEventAge,
      onFailure: props.onFailure,
    });
    this.handlerLogGroup = logGroup;
    this.handlerRole = role;

    const tracing = user.tracing ?? lambda.Tracing.ACTIVE;
    if (tracing !== lambda.Tracing.DISABLED) this.enableTracing(scope, id, role, tracing);
    if (user.vpc) this.allowNetworkInterfaces(scope, id, role);
  }

  /**
   * aws-cdk-lib would add X-Ray's actions, which take no resource, to the role's default policy;
   * acknowledging `Resource: *` there would also hide a wildcard a user adds later. So they get a
   * policy of their own, acknowledged alone.
   */
  private enableTracing(scope: Construct, id: string, role: iam.Role, tracing: lambda.Tracing): void {
    (this.node.defaultChild as lambda.CfnFunction).tracingConfig = { mode: tracing };
    const policy = new iam.Policy(scope, `${id}Tracing`, {
      roles: [role],
      statements: [new iam.PolicyStatement({ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] })],
    });
    this.node.addDependency(policy);
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'xray:PutTraceSegments and xray:PutTelemetryRecords, needed for active tracing, support no resource scoping.',
    });
  }

  /**
   * In a VPC, Lambda manages the function's network interfaces with the function's role. A role given
   * by aws-cdk-lib would get the managed AWSLambdaVPCAccessExecutionRole; this one gets the same actions
   * in a policy of its own, so that its unavoidable `Resource: *` is acknowledged on that policy only.
   */
  private allowNetworkInterfaces(scope: Construct, id: string, role: iam.Role): void {
    const policy = new iam.Policy(scope, `${id}NetworkInterfaces`, {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      ],
    });
    // Deleted after the function, so that Lambda can still remove the function's network interfaces.
    this.node.addDependency(policy);
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Lambda creates, describes and deletes the network interfaces of a function in a VPC before their ids are known; ' +
        'EC2 Describe* actions support no resource scoping. These are the actions of the AWS-managed AWSLambdaVPCAccessExecutionRole.',
    });
  }
}

/** Why a construct sets its function's async invocation settings itself, in its own words. */
export interface OwnedFunctionOptions {
  /** The variables the construct sets (see `constructEnvironmentNames`). */
  readonly environment: readonly string[];
  readonly retryAttemptsWhy: string;
  readonly maxEventAgeWhy: string;
  /** @default 'failed invocations go to the dead-letter queue' */
  readonly onFailureWhy?: string;
}

/**
 * Rejects the `functionOptions` a {@link HandlerFunction}'s construct must set itself: the role, the
 * log group and its retention, the async invocation settings, and the construct's environment variables;
 * and a `runtime` the handler bundles cannot run on.
 */
export function checkFunctionOptions(
  v: PropsValidator,
  options: lambda.FunctionOptions | undefined,
  owned: OwnedFunctionOptions,
  runtime?: lambda.Runtime,
): void {
  checkRuntime(v, runtime);
  const fn = options ?? {};
  // Not a FunctionOptions field: a JavaScript caller's (or a cast's) runtime would be silently ignored.
  v.notAllowed('functionOptions.runtime', (fn as { runtime?: unknown }).runtime, 'use the runtime prop');
  v.notAllowed(
    'functionOptions.role',
    fn.role,
    'the function gets its own least-privilege role (add statements with lambdaFunction.addToRolePolicy)',
  );
  v.notAllowed('functionOptions.logGroup', fn.logGroup, 'the function gets its own log group (see logRetention)');
  v.notAllowed('functionOptions.logRetention', fn.logRetention, 'use the logRetention prop');
  v.notAllowed('functionOptions.retryAttempts', fn.retryAttempts, owned.retryAttemptsWhy);
  v.notAllowed('functionOptions.maxEventAge', fn.maxEventAge, owned.maxEventAgeWhy);
  v.notAllowed('functionOptions.onFailure', fn.onFailure, owned.onFailureWhy ?? 'failed invocations go to the dead-letter queue');
  for (const name of Object.keys(fn.environment ?? {})) {
    if (owned.environment.includes(name)) {
      v.fail(`functionOptions.environment.${name} cannot be set: the construct sets it`);
    }
  }
}

/**
 * The `runtime` prop: a Node.js runtime (`nodejs<n>.x`) no older than the one the bundles are built for.
 * A variable runtime (`NODEJS_LATEST`) is checked by the name it stands for today.
 */
export function checkRuntime(v: PropsValidator, runtime: unknown): void {
  if (runtime === undefined || runtime === null) return;
  const name =
    typeof runtime === 'object' && typeof (runtime as { name?: unknown }).name === 'string' ? (runtime as lambda.Runtime).name : undefined;
  if (name === undefined) {
    v.fail(`runtime must be a lambda.Runtime (e.g. lambda.Runtime.NODEJS_${HANDLER_BUNDLE_NODE_MAJOR}_X), got ${JSON.stringify(runtime)}`);
    return;
  }
  const family = (runtime as lambda.Runtime).family;
  const major = nodeMajorOf(name);
  if (major === undefined || (family !== undefined && family !== lambda.RuntimeFamily.NODEJS)) {
    v.fail(`runtime must be a Node.js runtime (the handlers are JavaScript bundles), got ${name}`);
  } else if (major < HANDLER_BUNDLE_NODE_MAJOR) {
    v.fail(
      `runtime must be Node.js ${HANDLER_BUNDLE_NODE_MAJOR} or newer (the handler bundles are built for node${HANDLER_BUNDLE_NODE_MAJOR}), got ${name}`,
    );
  }
}
