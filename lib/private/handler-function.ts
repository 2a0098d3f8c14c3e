import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HANDLER_FUNCTION_DEFAULTS } from './defaults';
import type { PropsValidator } from './validation';

/** The one place the handlers' runtime is chosen: the newest Node.js runtime aws-cdk-lib names. */
export const HANDLER_RUNTIME = lambda.Runtime.NODEJS_24_X;

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
      runtime: HANDLER_RUNTIME,
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
 * log group and its retention, the async invocation settings, and the construct's environment variables.
 */
export function checkFunctionOptions(v: PropsValidator, options: lambda.FunctionOptions | undefined, owned: OwnedFunctionOptions): void {
  const fn = options ?? {};
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
