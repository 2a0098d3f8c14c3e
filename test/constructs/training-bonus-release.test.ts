/**
 * TrainingBonusEscrow's `release` (issue 14): the rule on SageMaker's model package state changes, the release
 * function's environment and exact IAM, its alarms and its dashboard row; EscrowRelease's checks at synth.
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { EscrowRelease, PurpleFleaDashboard, TrainingBonusEscrow } from '../../lib';
import { TRAINING_BONUS_RELEASE_ENV } from '../../lib/private/contracts/training-bonus-release-env';
import {
  ACCOUNT,
  REGION,
  arnWithPartition,
  logicalIdOf,
  newBonusEscrow,
  newConnection,
  newStack,
  policiesOf,
  sortStatements,
  variablesOf,
} from './fixtures';

const approval = () => EscrowRelease.onModelApproval({ modelPackageGroupName: 'churn-models' });
const DEFAULT_BUS_ARN = arnWithPartition(`:events:${REGION}:${ACCOUNT}:event-bus/default`);

function releaseRule(template: Template): any {
  const found = Object.values(template.findResources('AWS::Events::Rule')).filter(
    (rule: any) => rule.Properties.EventPattern['detail-type'][0] === 'SageMaker Model Package State Change',
  );
  expect(found).toHaveLength(1);
  return (found[0] as any).Properties;
}

describe('TrainingBonusEscrow with a release', () => {
  test('without `release`, nothing releases: one function, one rule', () => {
    const { template, escrow } = newBonusEscrow();
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.resourceCountIs('AWS::Events::Rule', 1);
    expect(escrow.releaseFunction).toBeUndefined();
    expect(escrow.monitoring().releases).toBeUndefined();
  });

  test('onModelApproval: the rule matches Approved packages of the group only, on the default bus', () => {
    const { template, escrow } = newBonusEscrow({ release: approval() });
    expect(escrow.releaseFunction).toBeDefined();
    const rule = releaseRule(template);
    expect(rule.EventPattern).toEqual({
      'source': ['aws.sagemaker'],
      'detail-type': ['SageMaker Model Package State Change'],
      'detail': { ModelPackageGroupName: ['churn-models'], ModelApprovalStatus: ['Approved'] },
    });
    expect(rule.State).toBe('ENABLED');
    expect(rule.Targets).toHaveLength(1);
    expect(rule.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [logicalIdOf(escrow.releaseFunction!), 'Arn'] });
  });

  test('onLifecycleStage with a prefix: the rule matches every state change of the groups (the stage is read by the function)', () => {
    const { template, escrow } = newBonusEscrow({
      release: EscrowRelease.onLifecycleStage({
        stage: 'Production',
        modelPackageGroupNamePrefix: 'churn-',
        trainingJobMetadataKey: 'job',
      }),
    });
    expect(releaseRule(template).EventPattern.detail).toEqual({ ModelPackageGroupName: [{ prefix: 'churn-' }] });
    const env = variablesOf(template, escrow.releaseFunction!);
    expect(env).toMatchObject({
      [TRAINING_BONUS_RELEASE_ENV.trigger]: 'lifecycle-stage',
      [TRAINING_BONUS_RELEASE_ENV.stage]: 'Production',
      [TRAINING_BONUS_RELEASE_ENV.modelPackageGroupNamePrefix]: 'churn-',
      [TRAINING_BONUS_RELEASE_ENV.trainingJobMetadataKey]: 'job',
      [TRAINING_BONUS_RELEASE_ENV.dryRun]: 'false',
      [TRAINING_BONUS_RELEASE_ENV.enabled]: 'true',
    });
    expect(env[TRAINING_BONUS_RELEASE_ENV.modelPackageGroupName]).toBeUndefined();
  });

  test("the release function's IAM is exact: DescribeModelPackage on the group's packages, release records, escrow records read-only, the bus", () => {
    const { template, escrow, connection } = newBonusEscrow({ release: approval() });
    const role = escrow.releaseFunction!.role as iam.Role;
    const policies = policiesOf(template, role);
    const statements = sortStatements(Object.values(policies).flat());
    const ledgerArn = { 'Fn::GetAtt': [logicalIdOf(connection.ledgerTable), 'Arn'] };
    expect(statements).toEqual(
      sortStatements([
        {
          Effect: 'Allow',
          Action: 'sagemaker:DescribeModelPackage',
          Resource: arnWithPartition(`:sagemaker:${REGION}:${ACCOUNT}:model-package/churn-models/*`),
        },
        { Effect: 'Allow', Action: 'events:PutEvents', Resource: DEFAULT_BUS_ARN },
        {
          Effect: 'Allow',
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Resource: arnWithPartition(`:secretsmanager:${REGION}:${ACCOUNT}:secret:PurpleFleaApiKey-??????`),
        },
        {
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          Resource: ledgerArn,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:release:*'] } },
        },
        {
          Effect: 'Allow',
          Action: 'dynamodb:GetItem',
          Resource: ledgerArn,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:escrow:*'] } },
        },
        {
          Effect: 'Allow',
          Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
          Resource: { 'Fn::GetAtt': [logicalIdOf(escrow.releaseDeadLetterQueue!), 'Arn'] },
        },
        { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
      ]),
    );
  });

  test('a prefix scopes DescribeModelPackage to the groups it starts (lower case, as SageMaker writes ARNs)', () => {
    const { template, escrow } = newBonusEscrow({ release: EscrowRelease.onModelApproval({ modelPackageGroupNamePrefix: 'Churn-' }) });
    const statements = Object.values(policiesOf(template, escrow.releaseFunction!.role as iam.Role)).flat();
    expect(statements.find((s: any) => s.Action === 'sagemaker:DescribeModelPackage').Resource).toEqual(
      arnWithPartition(`:sagemaker:${REGION}:${ACCOUNT}:model-package/churn-*`),
    );
  });

  test('enabled: false disables the release rule too; dryRun reaches the release function', () => {
    const { template, escrow } = newBonusEscrow({ release: approval(), enabled: false, dryRun: true });
    expect(releaseRule(template).State).toBe('DISABLED');
    expect(variablesOf(template, escrow.releaseFunction!)).toMatchObject({
      [TRAINING_BONUS_RELEASE_ENV.enabled]: 'false',
      [TRAINING_BONUS_RELEASE_ENV.dryRun]: 'true',
    });
  });

  test('alarms on unknown releases; the dashboard shows the release row', () => {
    const stack = newStack();
    const connection = newConnection(stack);
    const escrow = new TrainingBonusEscrow(stack, 'Bonus', { connection, release: approval() });
    new PurpleFleaDashboard(stack, 'Dashboard', { monitored: [escrow] });
    const template = Template.fromStack(stack);
    expect(escrow.unknownReleasesAlarm).toBeDefined();
    const alarm = template.toJSON().Resources[logicalIdOf(escrow.unknownReleasesAlarm!)].Properties;
    expect(alarm).toMatchObject({ MetricName: 'ReleasesUnknown', Namespace: 'PurpleFlea/SageMaker', Threshold: 1 });
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(body).toContain('Releases of the escrows by outcome');
    expect(body).toContain('EscrowsAlreadyReleased');
    expect(body).toContain('FILL(created, 0) - FILL(released, 0)');
  });

  test('a variable of the release function cannot be set through functionOptions', () => {
    expect(() =>
      newBonusEscrow({ release: approval(), functionOptions: { environment: { [TRAINING_BONUS_RELEASE_ENV.trigger]: 'x' } } }),
    ).toThrow(/functionOptions\.environment.*RELEASE_TRIGGER/);
  });
});

describe('EscrowRelease: checked when it is made', () => {
  test.each([
    ['no group', () => EscrowRelease.onModelApproval({}), 'modelPackageGroupName or modelPackageGroupNamePrefix is required'],
    [
      'both a group and a prefix',
      () => EscrowRelease.onModelApproval({ modelPackageGroupName: 'a', modelPackageGroupNamePrefix: 'b' }),
      'modelPackageGroupName and modelPackageGroupNamePrefix cannot both be given',
    ],
    [
      'a bad group name',
      () => EscrowRelease.onModelApproval({ modelPackageGroupName: 'churn models' }),
      'modelPackageGroupName must follow',
    ],
    ['no stage', () => EscrowRelease.onLifecycleStage({ modelPackageGroupName: 'a' } as any), 'stage is required'],
    ['an empty stage', () => EscrowRelease.onLifecycleStage({ stage: ' ', modelPackageGroupName: 'a' }), 'stage must be a stage name'],
    [
      'a bad metadata key',
      () => EscrowRelease.onModelApproval({ modelPackageGroupName: 'a', trainingJobMetadataKey: '' }),
      'trainingJobMetadataKey must be',
    ],
  ])('%s', (_name, make, message) => {
    expect(make).toThrow(message);
  });

  test('from JavaScript: a release that is not an EscrowRelease is named', () => {
    expect(() => newBonusEscrow({ release: 'on approval' as any })).toThrow(/release must be an EscrowRelease/);
  });

  test('a token group name is used as it is', () => {
    const stack = newStack();
    const group = new (require('aws-cdk-lib').CfnParameter)(stack, 'Group', { type: 'String' }).valueAsString;
    const { template } = newBonusEscrow({ release: EscrowRelease.onModelApproval({ modelPackageGroupName: group }) }, stack);
    expect(releaseRule(template).EventPattern.detail.ModelPackageGroupName).toEqual([{ Ref: 'Group' }]);
  });
});
