/**
 * A model's identity and its bonus, end to end on the services profile (issues 14 and 15), with the bundled handlers
 * of three constructs against the services sandbox, the fake AWS and dynalite: a training job completes → its bonus
 * waits for its model agent → ModelAgents registers the agent (its key in its own secret) → the bonus is escrowed to
 * that agent → the model package is approved → the escrow is released to the agent, once. Duplicate and concurrent
 * deliveries at every step move nothing twice, and the agent's key is in no log, result, ledger record or event.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { escrowActionKey, releaseActionKey } from '../../lambda/shared/action-keys';
import { modelAgentsEnvironment } from '../../lib/private/contracts/model-agents-env';
import { trainingBonusEscrowEnvironment } from '../../lib/private/contracts/training-bonus-escrow-env';
import { trainingBonusReleaseEnvironment } from '../../lib/private/contracts/training-bonus-release-env';
import { applyEnvironment, awsTestEnvironment } from '../support/aws-env';
import { FAKE_ACCOUNT_ID, FAKE_REGION } from '../support/fake-aws';
import { defaultEscrowSettings } from '../support/handler-settings';
import { captureOutput, lambdaContext, LEDGER_TABLE, loadBundledHandler } from './handler-harness';
import { readServicesLedger, resetServices, servicesEnvironment, ServicesHarness, startServicesHarness } from './services-harness';

type Handler = (event: unknown, context: unknown) => Promise<{ status: string; [key: string]: any }>;

const BUS_ARN = `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:event-bus/default`;
const GROUP = 'churn-models';
const PREFIX = 'purpleflea/model-agents/';

let harness: ServicesHarness;
let output: ReturnType<typeof captureOutput>;
let restoreEnv: () => void;

beforeAll(async () => {
  harness = await startServicesHarness();
  restoreEnv = applyEnvironment(awsTestEnvironment(harness.aws.url, harness.dynamo.endpoint));
});
afterAll(async () => {
  restoreEnv();
  await harness.close();
});
beforeEach(() => {
  resetServices(harness, { balance: 1_000 });
  output = captureOutput();
});
afterEach(() => output.restore());

const agents = () =>
  loadBundledHandler<{ handler: Handler }>(
    'model-agents',
    servicesEnvironment(
      harness,
      modelAgentsEnvironment({
        trainingJobs: true,
        trainingJobNamePrefix: 'churn-',
        secretNamePrefix: PREFIX,
        claimFaucet: true,
        eventBusName: BUS_ARN,
        dryRun: false,
        enabled: true,
      }),
    ),
  ).handler;
const bonus = () =>
  loadBundledHandler<{ handler: Handler }>(
    'training-bonus-escrow',
    servicesEnvironment(
      harness,
      trainingBonusEscrowEnvironment(
        defaultEscrowSettings({
          sellerTemplate: 'ag_unused',
          sellerFromRegistry: true,
          eventBusName: BUS_ARN,
          services: { escrowTimeoutHours: 720 },
        }),
      ),
    ),
  ).handler;
const release = () =>
  loadBundledHandler<{ handler: Handler }>(
    'training-bonus-release',
    servicesEnvironment(
      harness,
      trainingBonusReleaseEnvironment({
        trigger: 'approval',
        modelPackageGroupName: GROUP,
        trainingJobMetadataKey: 'TrainingJobName',
        eventBusName: BUS_ARN,
        dryRun: false,
        enabled: true,
      }),
    ),
  ).handler;

/** Runs a handler as Lambda would: its result, or the error that makes Lambda try again. */
async function deliver(handler: Handler, event: unknown): Promise<{ status: string; [key: string]: any }> {
  try {
    return await handler(event, lambdaContext());
  } catch (error) {
    return { status: 'FAILED', error: (error as Error).message };
  }
}

test('a training job → its bonus waits for its agent → one agent → one escrow to it → approved → released to it, once; the key nowhere', async () => {
  const name = `churn-${Date.now()}`;
  const jobArn = `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:training-job/${name}`;
  harness.aws.setTrainingJob(name, {
    TrainingJobStatus: 'Completed',
    FinalMetricDataList: [{ MetricName: 'validation:accuracy', Value: 0.93, Timestamp: new Date() }],
  });
  const completed = {
    'detail-type': 'SageMaker Training Job State Change',
    'source': 'aws.sagemaker',
    'detail': { TrainingJobName: name, TrainingJobArn: jobArn, TrainingJobStatus: 'Completed', Tags: {} },
  };
  const escrows = () => harness.sandbox.committed('escrow.create');

  // Both rules fire on the same event; the bonus may run first: it waits, escrowing nothing.
  expect(await deliver(bonus(), completed)).toMatchObject({ status: 'FAILED', error: expect.stringContaining('NOT_REGISTERED') });
  expect(escrows()).toHaveLength(0);

  // The agent, registered once however often the event comes (two containers at once, then again).
  const registered = await Promise.all([deliver(agents(), completed), deliver(agents(), completed)]);
  expect(registered.map((r) => r.status).sort()).toEqual(expect.arrayContaining(['SUCCEEDED']));
  await deliver(agents(), completed);
  expect(harness.sandbox.committed('casino.register')).toHaveLength(1);
  const agentId = harness.sandbox.committed('casino.register')[0].agentId!;
  const secret = harness.aws.storedSecrets.find((s) => s.name === `${PREFIX}training-job/${name}`)!;
  const key = JSON.parse(secret.secretString!).key as string;
  expect(key.length).toBeGreaterThan(8);

  // Lambda's retry of the bonus, and a duplicate: one escrow, to the agent.
  expect(await deliver(bonus(), completed)).toMatchObject({ status: 'SUCCEEDED', seller: agentId, bonusUsdc: 50, repeated: false });
  expect(await deliver(bonus(), completed)).toMatchObject({ status: 'SUCCEEDED', repeated: true });
  expect(escrows()).toHaveLength(1);
  expect(escrows()[0].body).toMatchObject({ counterparty_agent_id: agentId, amount_usd: 50 });
  const escrowId = escrows()[0].id;
  expect(await readServicesLedger(harness, escrowActionKey(jobArn))).toMatchObject({
    state: 'SUCCEEDED',
    response: { escrow_id: escrowId },
  });

  // The model package of the job approved, delivered twice at once: one release, to the agent.
  const balanceBefore = harness.sandbox.casinoBalance(agentId);
  const packageArn = harness.aws.setModelPackage(GROUP, 1, {
    ModelApprovalStatus: 'Approved',
    CustomerMetadataProperties: { TrainingJobName: name },
  });
  const approved = { detail: { ModelPackageGroupName: GROUP, ModelPackageArn: packageArn, ModelApprovalStatus: 'Approved' } };
  const releases = await Promise.all([deliver(release(), approved), deliver(release(), approved)]);
  expect(releases.map((r) => r.status)).toContain('SUCCEEDED');
  expect(harness.sandbox.committed('escrow.release')).toHaveLength(1);
  expect(await readServicesLedger(harness, releaseActionKey(escrowId))).toMatchObject({ state: 'SUCCEEDED' });
  // The agent got the bonus less the escrow service's 1 % commission.
  expect(harness.sandbox.casinoBalance(agentId) - balanceBefore).toBeCloseTo(49.5, 2);

  // The key is in its secret and nowhere else: not in the logs, not in the ledger, not in an event.
  const ledgerItems = await harness.ledger.send(new ScanCommand({ TableName: LEDGER_TABLE }));
  const everything = [output.text(), JSON.stringify(ledgerItems.Items), JSON.stringify(harness.aws.putEvents), JSON.stringify(registered)];
  for (const text of everything) expect(text).not.toContain(key);
});
