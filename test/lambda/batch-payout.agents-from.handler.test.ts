/**
 * BatchPayout's `agentsFrom` (issue 15, "Using the identity"): the bundled handlers on the services profile, the ledger
 * on dynalite holding the model agents' registry, casino pay on the services sandbox. A row may name a model version
 * by its ARN; it is paid to the version's registered agent, once per agent per file (the key names the agent, never
 * the ARN); a version not registered yet is not paid and a rerun pays it once it is; bad ARNs are refused with the
 * reason; without `agentsFrom` an ARN is refused with the hint.
 */
import { batchSummarizeEnvironment } from '../../lib/private/contracts/batch-engine';
import {
  BATCH_PAYOUT_METRICS as METRIC,
  batchPayoutPayEnvironment,
  batchPayoutPrepareEnvironment,
  batchPayoutSummarizeEnvironment,
} from '../../lib/private/contracts/batch-payout-env';
import { FAKE_ACCOUNT_ID, FAKE_REGION } from '../support/fake-aws';
import { defaultPayoutPrepareSettings } from '../support/handler-settings';
import { countRegistryReads, modelPackageArn, TestRegistry, trainingJobArn } from '../support/model-agent-registry';
import { CasinoAgent } from '../support/purpleflea-services-sandbox';
import { BatchHandlers, driveRun } from './batch-driver';
import { captureOutput, lambdaContext, LEDGER_TABLE, loadBundledHandler } from './handler-harness';
import { readServicesLedger, resetServices, servicesEnvironment, ServicesHarness, startServicesHarness } from './services-harness';

const SOURCE_BUCKET = 'agents-from-scores';
const OUTPUT_BUCKET = 'agents-from-payout-runs';
const BUS_ARN = `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:event-bus/default`;
const prepareDefaults = defaultPayoutPrepareSettings(OUTPUT_BUCKET);

let harness: ServicesHarness;
let registry: TestRegistry;
let output: ReturnType<typeof captureOutput>;
let counter = 0;
const unique = () => `${++counter}-${Date.now()}`;

function handlers(options: { agentsFrom?: boolean } = {}): BatchHandlers {
  const service = { POWERTOOLS_SERVICE_NAME: METRIC.serviceName };
  const agentsFromRegistry = (options.agentsFrom ?? true) ? true : undefined;
  const { maxPayoutPerAgentUsdc, maxBatchTotalUsdc } = prepareDefaults;
  return {
    prepare: loadBundledHandler<{ handler: BatchHandlers['prepare'] }>('batch-payout-prepare', {
      ...service,
      ...batchPayoutPrepareEnvironment({ ...prepareDefaults, agentsFromRegistry }),
    }).handler,
    act: loadBundledHandler<{ handler: BatchHandlers['act'] }>('batch-payout-pay', {
      ...service,
      ...servicesEnvironment(
        harness,
        batchPayoutPayEnvironment({
          requestsPerSecond: 2000,
          concurrency: 5,
          dryRun: false,
          enabled: true,
          maxPayoutPerAgentUsdc,
          maxBatchTotalUsdc,
          agentsFromRegistry,
        }),
      ),
    }).handler,
    summarize: loadBundledHandler<{ handler: BatchHandlers['summarize'] }>('batch-payout-summarize', {
      ...service,
      ...servicesEnvironment(harness, {
        ...batchSummarizeEnvironment({ eventBusName: BUS_ARN, dryRun: false }),
        ...batchPayoutSummarizeEnvironment({ agentsFromRegistry }),
      }),
    }).handler,
  };
}

function upload(content: string): { bucket: string; key: string; etag: string } {
  const key = `scores/agents-from-${unique()}.csv`;
  const etag = harness.s3.putObject(SOURCE_BUCKET, key, content).replace(/"/g, '');
  return { bucket: SOURCE_BUCKET, key, etag };
}
const runId = () => `agents-from-run-${unique()}`;
const payments = () => harness.sandbox.committed('casino.pay').map((p) => p.body as { to_agent_id: string; amount: number });
const paidTo = () => payments().map((p) => [p.to_agent_id, p.amount]);
const agents = (count: number): CasinoAgent[] => Array.from({ length: count }, () => harness.sandbox.addCasinoAgent());
const byLine = (rows: any[]) => [...rows].sort((a, b) => a.line - b.line);

beforeAll(async () => {
  harness = await startServicesHarness();
  harness.s3.createBucket(SOURCE_BUCKET);
  harness.s3.createBucket(OUTPUT_BUCKET);
  registry = new TestRegistry(harness.dynamo.endpoint, LEDGER_TABLE);
});
afterAll(async () => {
  await harness.close();
});
beforeEach(() => {
  resetServices(harness, { balance: 1_000 });
  output = captureOutput();
});
afterEach(() => output.restore());

describe('BatchPayout agentsFrom: rows naming model versions are paid to their agents', () => {
  test('a training job and a model package are paid to their registered agents, an agent id as before; keys name the agents; a rerun pays no one twice', async () => {
    const [jobAgent, packageAgent, plain] = agents(3);
    const job = trainingJobArn(`churn-${unique()}`);
    const pkg = modelPackageArn(`churn-models-${unique()}`, 3);
    await registry.registered(job, jobAgent.agentId);
    await registry.registered(pkg, packageAgent.agentId);
    const source = upload(`agent_id,score\n${job},1\n${pkg},2.5\n${plain.agentId},0.5\n`);

    const first = await driveRun(harness.s3, handlers(), runId(), source);
    expect(paidTo()).toEqual(
      expect.arrayContaining([
        [jobAgent.agentId, 10],
        [packageAgent.agentId, 25],
        [plain.agentId, 5],
      ]),
    );
    expect(payments()).toHaveLength(3);
    expect(byLine(first.log.rows).map((row) => [row.line, row.agent_id, row.resolved_agent_id, row.status])).toEqual([
      [2, job, jobAgent.agentId, 'SUCCEEDED'],
      [3, pkg, packageAgent.agentId, 'SUCCEEDED'],
      [4, plain.agentId, undefined, 'SUCCEEDED'],
    ]);
    expect(first.log.totals).toMatchObject({ rows: 3, SUCCEEDED: { rows: 3, amountUsdc: 40 } });
    // One payout per agent per file: the key names the agent (no "/"), never the ARN.
    const keyOf = (agentId: string) => `v1:payout:${source.bucket}/${source.key}:${source.etag}:${agentId}`;
    expect(await readServicesLedger(harness, keyOf(jobAgent.agentId))).toMatchObject({
      state: 'SUCCEEDED',
      request: { to_agent_id: jobAgent.agentId, amount: 10 },
    });
    expect(await readServicesLedger(harness, keyOf(job))).toBeUndefined();

    // The same file again, twice at once (an overlapping rerun): no one is paid again.
    const again = await Promise.all([driveRun(harness.s3, handlers(), runId(), source), driveRun(harness.s3, handlers(), runId(), source)]);
    expect(payments()).toHaveLength(3);
    for (const { log } of again) {
      expect(log.rows.every((row: any) => row.status === 'SUCCEEDED' || row.status === 'IN_PROGRESS')).toBe(true);
      expect(log.rows.filter((row: any) => row.status === 'SUCCEEDED').every((row: any) => row.repeated === true)).toBe(true);
    }
  });

  test('a row naming a version that was never registered is INVALID, naming it; the other rows are paid', async () => {
    const [paid] = agents(1);
    const unregistered = trainingJobArn(`never-${unique()}`);
    const source = upload(`agent_id,score\n${unregistered},1\n${paid.agentId},2\n`);
    const { log } = await driveRun(harness.s3, handlers(), runId(), source);

    expect(paidTo()).toEqual([[paid.agentId, 20]]);
    expect(byLine(log.rows).map((row) => [row.line, row.status])).toEqual([
      [2, 'INVALID'],
      [3, 'SUCCEEDED'],
    ]);
    expect(byLine(log.rows)[0].error).toBe(
      `not paid: agent_id "${unregistered}" names a model version that has no agent: ` +
        'ModelAgents never registered one (is it a version ModelAgents watches?)',
    );
  });

  test('a registration under way or UNKNOWN leaves its row REJECTED, not paid and not recorded; once registered, a rerun pays it once', async () => {
    const [pendingAgent, unknownAgent, paid] = agents(3);
    const pending = trainingJobArn(`pending-${unique()}`);
    const unknown = modelPackageArn(`unknown-${unique()}`, 1);
    await registry.pending(pending);
    await registry.unknown(unknown);
    const source = upload(`agent_id,score\n${pending},1\n${unknown},2\n${paid.agentId},3\n`);

    const first = await driveRun(harness.s3, handlers(), runId(), source);
    expect(paidTo()).toEqual([[paid.agentId, 30]]);
    const [pendingRow, unknownRow] = byLine(first.log.rows);
    expect(pendingRow).toMatchObject({ line: 2, agent_id: pending, status: 'REJECTED', amount_usdc: 10 });
    expect(pendingRow.error).toMatch(
      /^not paid: agent_id "arn:[^"]+" names a model version whose agent is not registered yet \(its registration is SENDING\); a rerun sends it once the agent is registered$/,
    );
    expect(unknownRow).toMatchObject({ line: 3, agent_id: unknown, status: 'REJECTED' });
    expect(unknownRow.error).toContain('whose agent registration is UNKNOWN (timeout after sending (injected)): an operator resolves it');
    expect(first.log.totals).toMatchObject({ SUCCEEDED: { rows: 1 }, REJECTED: { rows: 2, amountUsdc: 30 } });
    // Nothing recorded for them: neither under an agent nor under the ARN.
    expect(harness.sandbox.committed('casino.pay')).toHaveLength(1);

    // The registration completes; the same file again pays it once, and the UNKNOWN one still waits.
    await registry.registered(pending, pendingAgent.agentId);
    const second = await driveRun(harness.s3, handlers(), runId(), source);
    expect(paidTo()).toEqual([
      [paid.agentId, 30],
      [pendingAgent.agentId, 10],
    ]);
    expect(byLine(second.log.rows).map((row) => [row.line, row.status, row.repeated ?? false])).toEqual([
      [2, 'SUCCEEDED', false],
      [3, 'REJECTED', false],
      [4, 'SUCCEEDED', true],
    ]);
    await driveRun(harness.s3, handlers(), runId(), source);
    expect(payments()).toHaveLength(2);
    expect(harness.sandbox.casinoBalance(unknownAgent.agentId)).toBe(0);
  });

  test("a paid row whose batch then failed is found by Summarize through the registry: SUCCEEDED, not 'never attempted'", async () => {
    const [jobAgent] = agents(1);
    const job = trainingJobArn(`lost-batch-${unique()}`);
    await registry.registered(job, jobAgent.agentId);
    const source = upload(`agent_id,score\n${job},1\n`);
    const all = handlers();
    // The batch pays its row, then its invocation fails (as a timeout after the last payment would): the Map has no row.
    const failingAfterPaying: BatchHandlers = {
      ...all,
      act: async (event, context) => {
        await all.act(event, context);
        throw new Error('Lambda timed out (injected)');
      },
    };
    const { log } = await driveRun(harness.s3, failingAfterPaying, runId(), source);
    expect(paidTo()).toEqual([[jobAgent.agentId, 10]]);
    expect(log.rows).toEqual([expect.objectContaining({ line: 2, agent_id: job, status: 'SUCCEEDED', repeated: true, amount_usdc: 10 })]);
  });

  test.each([
    ['another resource type', `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:endpoint/churn`],
    ['a "/" inside the job name', `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:training-job/churn/extra`],
    ['a model package without its version', `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:model-package/churn-models`],
    [
      'a name in upper case (SageMaker writes them in lower case)',
      `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:training-job/Churn-1`,
    ],
    ['a short account', `arn:aws:sagemaker:${FAKE_REGION}:12345:training-job/churn-1`],
  ])('an ARN with %s is INVALID, naming the column and the value; the other rows are paid', async (_name, arn) => {
    const [paid] = agents(1);
    const source = upload(`agent_id,score\n${arn},1\n${paid.agentId},1\n`);
    const reads = countRegistryReads(harness.dynamo);
    const { log } = await driveRun(harness.s3, handlers(), runId(), source);
    reads.stop();
    expect(paidTo()).toEqual([[paid.agentId, 10]]);
    const refused = byLine(log.rows)[0];
    expect(refused).toMatchObject({ line: 2, agent_id: arn, status: 'INVALID' });
    expect(refused.error).toBe(
      `agent_id "${arn}" is not a model version ARN: a model version ARN is arn:<partition>:sagemaker:<region>:<account>:training-job/<name> ` +
        'or …:model-package/<group>/<version>, its names in lower case as SageMaker writes them',
    );
    expect(reads.reads.size).toBe(0);
  });

  test('an ARN rewritten into input.csv after Prepare is INVALID in Pay, naming the value; nothing is sent for it', async () => {
    const [jobAgent] = agents(1);
    const job = trainingJobArn(`tampered-${unique()}`);
    await registry.registered(job, jobAgent.agentId);
    const source = upload(`agent_id,score\n${job},1\n`);
    const all = handlers();
    const tampered = `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:training-job/${job.split('/')[1]}/x`;
    const { log } = await driveRun(
      harness.s3,
      {
        ...all,
        prepare: async (event, context) => {
          const prepared = await all.prepare(event, context);
          const csv = harness.s3.getObject(prepared.runFolder.bucket, prepared.inputKey)!.toString('utf8');
          harness.s3.putObject(prepared.runFolder.bucket, prepared.inputKey, csv.replace(job, tampered));
          return prepared;
        },
      },
      runId(),
      source,
    );
    expect(payments()).toHaveLength(0);
    expect(log.rows[0]).toMatchObject({ agent_id: tampered, status: 'INVALID' });
    expect(log.rows[0].error).toBe(
      `agent_id "${tampered}" is not a model version ARN: a model version ARN is arn:<partition>:sagemaker:<region>:<account>:` +
        'training-job/<name> or …:model-package/<group>/<version>, its names in lower case as SageMaker writes them: ' +
        'input.csv is not what Prepare wrote; not paid',
    );
  });

  test('without agentsFrom an ARN is INVALID with the hint that agentsFrom resolves it; the other rows are paid', async () => {
    const [jobAgent, paid] = agents(2);
    const job = trainingJobArn(`no-prop-${unique()}`);
    await registry.registered(job, jobAgent.agentId);
    const source = upload(`agent_id,score\n${job},1\n${paid.agentId},1\n`);
    const { log } = await driveRun(harness.s3, handlers({ agentsFrom: false }), runId(), source);
    expect(paidTo()).toEqual([[paid.agentId, 10]]);
    expect(byLine(log.rows)[0]).toMatchObject({ agent_id: job, status: 'INVALID' });
    expect(byLine(log.rows)[0].error).toMatch(
      /^agent_id "arn:[^"]+" is not a valid agent id: an ARN is read as a model version only with agentsFrom \(a ModelAgents registry\), which resolves it to its agent$/,
    );
  });

  test('two rows naming one version are both INVALID (as two rows naming one agent); a version and its agent named directly are paid once', async () => {
    const [twiceAgent, bothAgent] = agents(2);
    const twice = trainingJobArn(`twice-${unique()}`);
    const both = trainingJobArn(`both-${unique()}`);
    await registry.registered(twice, twiceAgent.agentId);
    await registry.registered(both, bothAgent.agentId);
    const source = upload(`agent_id,score\n${twice},1\n${twice},2\n${both},1\n${bothAgent.agentId},1\n`);
    const { log } = await driveRun(harness.s3, handlers(), runId(), source, { itemsPerBatch: 1, maxConcurrency: 1 });

    expect(paidTo()).toEqual([[bothAgent.agentId, 10]]);
    const rows = byLine(log.rows);
    expect(rows.map((row) => [row.line, row.status, row.repeated ?? false])).toEqual([
      [2, 'INVALID', false],
      [3, 'INVALID', false],
      [4, 'SUCCEEDED', false],
      [5, 'SUCCEEDED', true],
    ]);
    expect(rows[0].error).toMatch(/appears more than once \(lines 2, 3\)$/);
  });

  test('Pay reads the registry once per version per invocation, however many rows name it, and again at the next batch', async () => {
    const [jobAgent] = agents(1);
    const job = trainingJobArn(`cached-${unique()}`);
    await registry.registered(job, jobAgent.agentId);
    // Rows Prepare would not pass on (one version many times), given to Pay as it is given any batch: Pay trusts no file.
    const batch = {
      Items: Array.from({ length: 40 }, (_, i) => ({ line: String(i + 2), agent_id: job, score: '1', amount_usdc: '10.00' })),
      BatchInput: { runId: runId(), sourceBucket: SOURCE_BUCKET, sourceKey: `scores/cache-${unique()}.csv`, sourceEtag: 'etag-cache' },
    };
    const pay = handlers().act;
    const reads = countRegistryReads(harness.dynamo);
    try {
      const result = (await pay(batch, lambdaContext(60_000))) as { rows: any[] };
      expect(reads.reads.get(`v1:agent:${job}`)).toBe(1);
      // One payout per agent per file: the other rows find it.
      expect(payments()).toHaveLength(1);
      expect(result.rows.filter((row) => row.status === 'SUCCEEDED' || row.status === 'IN_PROGRESS')).toHaveLength(40);
      await pay(batch, lambdaContext(60_000));
      expect(reads.reads.get(`v1:agent:${job}`)).toBe(2);
      expect(payments()).toHaveLength(1);
    } finally {
      reads.stop();
    }
  });
});
