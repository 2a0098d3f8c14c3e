import { App, CfnParameter, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { PredictToTrade, PurpleFleaConnection, TrainingBonusEscrow, TrainingBonusEscrowProps } from '../../lib';
import { ACCOUNT, REGION, newConnection, newStack } from './fixtures';

/** cdk-nag's findings as `<rule> <construct path>` lines, easy to read in a failure. */
function unacknowledgedFindings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
}

/** Every acknowledgment in the tree: where, which finding, and why. */
function acknowledgments(scope: IConstruct): { path: string; id: string; reason: string }[] {
  return scope.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as { [id: string]: string }).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

/** A stack with both constructs: a scheduled trader and an event-driven one. */
function stackWithBothTriggers(): Stack {
  const stack = newStack('Nag');
  const connection = newConnection(stack);
  new PredictToTrade(stack, 'Scheduled', { connection, endpointName: 'demo-direction-model' });
  new PredictToTrade(stack, 'OnEvent', {
    connection,
    endpointName: 'demo-direction-model',
    eventPattern: { source: ['my.signals'], detailType: ['Features Ready'] },
    maxDailyNotionalUsdc: 500,
  });
  return stack;
}

describe('cdk-nag AwsSolutionsChecks', () => {
  test('the checks run: an unprotected queue is reported', () => {
    const stack = newStack('Control');
    new sqs.Queue(stack, 'Plain');
    expect(unacknowledgedFindings(stack)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^AwsSolutions-SQS3 Control\/Plain\/Resource$/)]),
    );
  });

  test('no unacknowledged finding for a connection and PredictToTrade on a schedule and on an event pattern', () => {
    expect(unacknowledgedFindings(stackWithBothTriggers())).toEqual([]);
  });

  test.each<[string, (stack: Stack) => Partial<TrainingBonusEscrowProps>]>([
    ['without a prefix, on the default bus', () => ({})],
    ['with a prefix', () => ({ trainingJobNamePrefix: 'Churn-Model-' })],
    ['with a prefix and a custom bus', (stack) => ({ trainingJobNamePrefix: 'churn-', eventBus: new events.EventBus(stack, 'Releases') })],
    ['with a prefix that is a token', (stack) => ({ trainingJobNamePrefix: new CfnParameter(stack, 'Prefix').valueAsString })],
  ])('no unacknowledged finding for a connection, PredictToTrade and TrainingBonusEscrow %s', (_name, props) => {
    const stack = stackWithBothTriggers();
    const connection = stack.node.findChild('PurpleFlea') as PurpleFleaConnection;
    new TrainingBonusEscrow(stack, 'Bonus', { connection, ...props(stack) });
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test('no unacknowledged finding in an environment-agnostic stack (region and account unknown at synth)', () => {
    const stack = new Stack(new App(), 'Agnostic');
    const connection = newConnection(stack);
    new PredictToTrade(stack, 'Trader', { connection, endpointName: 'demo-direction-model' });
    new TrainingBonusEscrow(stack, 'Bonus', { connection, trainingJobNamePrefix: 'churn-' });
    new TrainingBonusEscrow(stack, 'AnyJob', { connection });
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test('no unacknowledged finding with the function in a VPC', () => {
    const stack = newStack('NagVpc');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    // The test's own VPC is not part of the library.
    Validations.of(vpc).acknowledge({ id: 'AwsSolutions-VPC7', reason: 'Test fixture: a VPC without flow logs.' });
    new PredictToTrade(stack, 'InVpc', { connection: newConnection(stack), endpointName: 'demo-direction-model', functionOptions: { vpc } });

    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test('the constructs acknowledge exactly these findings, narrowly and with a reason', () => {
    const stack = newStack('NagVpc');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const connection = newConnection(stack);
    const trader = new PredictToTrade(stack, 'Trader', { connection, endpointName: 'demo-direction-model', functionOptions: { vpc } });
    const bonus = new TrainingBonusEscrow(stack, 'Bonus', { connection, trainingJobNamePrefix: 'Churn-', functionOptions: { vpc } });
    const anyJob = new TrainingBonusEscrow(stack, 'AnyJob', { connection });

    // (aws-cdk-lib's Vpc acknowledges a CloudFormation validation rule of its own on the stack.)
    const found = [...acknowledgments(connection), ...acknowledgments(trader), ...acknowledgments(bonus), ...acknowledgments(anyJob)];
    expect(found.map(({ path, id }) => `${id} ${path}`).sort()).toEqual(
      [
        // The DLQ is itself the dead-letter queue.
        'AwsSolutions-SQS3 NagVpc/Trader/DeadLetterQueue',
        // X-Ray's actions take no resource: in their own policy.
        'AwsSolutions-IAM5[Resource::*] NagVpc/Trader/HandlerTracing',
        // Lambda's VPC network-interface actions, in their own policy.
        'AwsSolutions-IAM5[Resource::*] NagVpc/Trader/HandlerNetworkInterfaces',
        // The same three for each TrainingBonusEscrow (the second one is not in a VPC)...
        'AwsSolutions-SQS3 NagVpc/Bonus/DeadLetterQueue',
        'AwsSolutions-IAM5[Resource::*] NagVpc/Bonus/HandlerTracing',
        'AwsSolutions-IAM5[Resource::*] NagVpc/Bonus/HandlerNetworkInterfaces',
        'AwsSolutions-SQS3 NagVpc/AnyJob/DeadLetterQueue',
        'AwsSolutions-IAM5[Resource::*] NagVpc/AnyJob/HandlerTracing',
        // ...and DescribeTrainingJob on the jobs the rule matches, named exactly, in a policy of its own.
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:${REGION}:${ACCOUNT}:training-job/churn-*] NagVpc/Bonus/HandlerDescribeTrainingJob`,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:${REGION}:${ACCOUNT}:training-job/*] NagVpc/AnyJob/HandlerDescribeTrainingJob`,
      ].sort(),
    );
    for (const { reason } of found) expect(reason.length).toBeGreaterThan(40);
  });

  test("a wildcard a user adds to the function's role is still reported", () => {
    const stack = newStack('UserWildcard');
    const trader = new PredictToTrade(stack, 'Trader', { connection: newConnection(stack), endpointName: 'demo-direction-model' });
    trader.lambdaFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
    expect(unacknowledgedFindings(stack)).toEqual(['AwsSolutions-IAM5[Resource::*] UserWildcard/Trader/HandlerRole/DefaultPolicy/Resource']);
  });

  test('without tracing there is no wildcard to acknowledge', () => {
    const stack = newStack('NoTracing');
    const trader = new PredictToTrade(stack, 'Trader', {
      connection: newConnection(stack),
      endpointName: 'demo-direction-model',
      functionOptions: { tracing: lambda.Tracing.DISABLED },
    });
    expect(acknowledgments(trader).map((a) => a.id)).toEqual(['AwsSolutions-SQS3']);
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test("a wildcard a user adds to TrainingBonusEscrow's role is still reported, even on the training jobs it may describe", () => {
    const stack = newStack('UserWildcardBonus');
    const bonus = new TrainingBonusEscrow(stack, 'Bonus', { connection: newConnection(stack), trainingJobNamePrefix: 'churn-' });
    // The very resource the construct acknowledges on its own policy: the acknowledgment does not reach the role's.
    const trainingJobs = `arn:aws:sagemaker:${REGION}:${ACCOUNT}:training-job/churn-*`;
    bonus.lambdaFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:StopTrainingJob'], resources: [trainingJobs] }));
    expect(unacknowledgedFindings(stack)).toEqual([
      `AwsSolutions-IAM5[Resource::${trainingJobs}] UserWildcardBonus/Bonus/HandlerRole/DefaultPolicy/Resource`,
    ]);
  });

  test("the acknowledged finding id is cdk-nag's own: without the acknowledgment, cdk-nag reports exactly that id", () => {
    const stack = newStack('Unacknowledged');
    const bonus = new TrainingBonusEscrow(stack, 'Bonus', { connection: newConnection(stack), trainingJobNamePrefix: 'Churn-' });
    const [acknowledged] = acknowledgments(bonus.node.findChild('HandlerDescribeTrainingJob'));
    // The same statement in a policy of the user's, which nothing acknowledges.
    new iam.Policy(stack, 'Copy', {
      roles: [bonus.lambdaFunction.role!],
      statements: [
        new iam.PolicyStatement({
          actions: ['sagemaker:DescribeTrainingJob'],
          resources: [stack.formatArn({ service: 'sagemaker', resource: 'training-job', resourceName: 'churn-*' })],
        }),
      ],
    });
    expect(unacknowledgedFindings(stack)).toEqual([`${acknowledged.id} Unacknowledged/Copy/Resource`]);
  });
});
