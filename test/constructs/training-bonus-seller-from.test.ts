/**
 * TrainingBonusEscrow's `sellerFrom: ModelAgents` (issue 15, "Using the identity"): the bonus's seller is the model
 * version's agent from the registry; the function may read the registry's records only (GetItem on `v1:agent:*`).
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ModelAgents, PurpleFleaApi, TrainingBonusEscrow } from '../../lib';
import { TRAINING_BONUS_ESCROW_ENV } from '../../lib/private/contracts/training-bonus-escrow-env';
import { logicalIdOf, newConnection, newStack, policiesOf, variablesOf } from './fixtures';

function servicesStack() {
  const stack = newStack();
  const connection = newConnection(stack, { api: PurpleFleaApi.services() });
  const agents = new ModelAgents(stack, 'Agents', { connection, trainingJobNamePrefix: 'churn-' });
  return { stack, connection, agents };
}

test('the function is told the seller comes from the registry, and may read its records (GetItem on v1:agent:* only)', () => {
  const { stack, connection, agents } = servicesStack();
  const bonus = new TrainingBonusEscrow(stack, 'Bonus', { connection, trainingJobNamePrefix: 'churn-', sellerFrom: agents });
  const template = Template.fromStack(stack);
  expect(variablesOf(template, bonus.lambdaFunction)[TRAINING_BONUS_ESCROW_ENV.sellerFromRegistry]).toBe('true');
  const statements = Object.values(policiesOf(template, bonus.lambdaFunction.role as iam.Role)).flat();
  expect(statements).toContainEqual({
    Effect: 'Allow',
    Action: 'dynamodb:GetItem',
    Resource: { 'Fn::GetAtt': [logicalIdOf(connection.ledgerTable), 'Arn'] },
    Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['v1:agent:*'] } },
  });
  // Its keys are not the bonus's business: no read of the agents' secrets.
  expect(JSON.stringify(statements)).not.toContain('model-agents/');
});

test('without sellerFrom the function is not told, and reads no registry', () => {
  const { stack, connection } = servicesStack();
  const bonus = new TrainingBonusEscrow(stack, 'Bonus', { connection, sellerAgentId: 'ag_0123456789ab' });
  const template = Template.fromStack(stack);
  expect(variablesOf(template, bonus.lambdaFunction)[TRAINING_BONUS_ESCROW_ENV.sellerFromRegistry]).toBeUndefined();
  expect(JSON.stringify(Object.values(policiesOf(template, bonus.lambdaFunction.role as iam.Role)))).not.toContain('v1:agent:');
});

test.each([
  ['with sellerAgentId', { sellerAgentId: 'ag_0123456789ab' }, 'sellerFrom and sellerAgentId cannot both be given'],
  ['with sellerTemplate', { sellerTemplate: 'ag_{jobName}' }, 'sellerFrom and sellerTemplate cannot both be given'],
])('sellerFrom %s is refused, naming both', (_name, props, message) => {
  const { stack, connection, agents } = servicesStack();
  expect(() => new TrainingBonusEscrow(stack, 'Bonus', { connection, sellerFrom: agents, ...props })).toThrow(message);
});

test('from JavaScript: a sellerFrom that is not a ModelAgents is named; without any seller the services profile asks for sellerFrom too', () => {
  const { stack, connection } = servicesStack();
  expect(() => new TrainingBonusEscrow(stack, 'Bonus', { connection, sellerFrom: 'agents' as any })).toThrow(
    /sellerFrom must be a ModelAgents construct/,
  );
  expect(() => new TrainingBonusEscrow(stack, 'Bonus2', { connection })).toThrow(
    /sellerAgentId, sellerTemplate or sellerFrom must be given on the services profile/,
  );
});
