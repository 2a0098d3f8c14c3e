/**
 * FraudHoldEscrow's `agentsFrom` (issue 15, "Using the identity"): the bundled handlers on the services profile, the
 * registry in the ledger on dynalite, the escrow service on the sandbox. A record's seller (or buyer) may name a model
 * version; the hold goes to the version's registered agent, once per transaction; a version not registered yet holds
 * nothing and a rerun holds it once it is; the registry is read once per version per batch, however many records name
 * it; without `agentsFrom` an ARN is refused with the hint.
 */
import { batchSummarizeEnvironment } from '../../lib/private/contracts/batch-engine';
import {
  FRAUD_HOLD_METRICS as METRIC,
  fraudHoldActEnvironment,
  fraudHoldPrepareEnvironment,
  HOLDS_LOG_FILE,
} from '../../lib/private/contracts/fraud-hold-env';
import { FAKE_ACCOUNT_ID, FAKE_REGION } from '../support/fake-aws';
import { defaultHoldPrepareSettings } from '../support/handler-settings';
import { countRegistryReads, modelPackageArn, TestRegistry, trainingJobArn } from '../support/model-agent-registry';
import { BatchHandlers, driveRun } from './batch-driver';
import { captureOutput, LEDGER_TABLE, loadBundledHandler } from './handler-harness';
import { readServicesLedger, resetServices, servicesEnvironment, ServicesHarness, startServicesHarness } from './services-harness';

const RECORDS_BUCKET = 'agents-from-transform-output';
const OUTPUT_BUCKET = 'agents-from-hold-runs';
const BUS_ARN = `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:event-bus/default`;
const prepareDefaults = defaultHoldPrepareSettings({ maxBatchTotalUsdc: 10_000_000, outputBucket: OUTPUT_BUCKET });

let harness: ServicesHarness;
let registry: TestRegistry;
let output: ReturnType<typeof captureOutput>;
let counter = 0;
const unique = () => `${++counter}-${Date.now()}`;

function handlers(options: { agentsFrom?: boolean } = {}): BatchHandlers {
  const service = { POWERTOOLS_SERVICE_NAME: METRIC.serviceName };
  const agentsFromRegistry = (options.agentsFrom ?? true) ? true : undefined;
  const act = fraudHoldActEnvironment({
    conditionTemplate: 'manual_review_cleared:fraud_score={fraudScore}',
    requestsPerSecond: 2000,
    concurrency: 5,
    dryRun: false,
    enabled: true,
    maxHoldUsdc: prepareDefaults.maxHoldUsdc,
    maxBatchTotalUsdc: prepareDefaults.maxBatchTotalUsdc,
    services: { escrowTimeoutHours: 168 },
    agentsFromRegistry,
  });
  return {
    prepare: loadBundledHandler<{ handler: BatchHandlers['prepare'] }>('fraud-hold-prepare', {
      ...service,
      ...fraudHoldPrepareEnvironment({ ...prepareDefaults, agentsFromRegistry }),
    }).handler,
    act: loadBundledHandler<{ handler: BatchHandlers['act'] }>('fraud-hold-act', { ...service, ...servicesEnvironment(harness, act) })
      .handler,
    summarize: loadBundledHandler<{ handler: BatchHandlers['summarize'] }>('fraud-hold-summarize', {
      ...service,
      ...servicesEnvironment(harness, batchSummarizeEnvironment({ eventBusName: BUS_ARN, dryRun: false })),
    }).handler,
  };
}

const jsonl = (records: object[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';
function upload(records: object[]): { bucket: string; key: string } {
  const key = `uploads/${unique()}.out`;
  harness.s3.putObject(RECORDS_BUCKET, key, jsonl(records));
  return { bucket: RECORDS_BUCKET, key };
}
const drive = (h: BatchHandlers, input: unknown, options: { itemsPerBatch?: number; maxConcurrency?: number } = {}) =>
  driveRun(harness.s3, h, `agents-from-run-${unique()}`, input, { logFile: HOLDS_LOG_FILE, ...options });
const created = () =>
  harness.sandbox
    .committed('escrow.create')
    .map((e) => e.body as { counterparty_agent_id: string; amount_usd: number; description: string });
const byLine = (rows: any[]) => [...rows].sort((a, b) => a.line - b.line);

beforeAll(async () => {
  harness = await startServicesHarness();
  harness.s3.createBucket(RECORDS_BUCKET);
  harness.s3.createBucket(OUTPUT_BUCKET);
  registry = new TestRegistry(harness.dynamo.endpoint, LEDGER_TABLE);
});
afterAll(async () => {
  await harness.close();
});
beforeEach(() => {
  resetServices(harness, { balance: 10_000 });
  output = captureOutput();
});
afterEach(() => output.restore());

describe('FraudHoldEscrow agentsFrom: sellers and buyers naming model versions', () => {
  test('holds for a model version go to its agent, once per transaction; the registry is read once per version per batch; a rerun holds nothing twice', async () => {
    const seller = harness.sandbox.addCasinoAgent();
    const buyer = harness.sandbox.addCasinoAgent();
    const sellerVersion = modelPackageArn(`merchant-models-${unique()}`, 2);
    const buyerVersion = trainingJobArn(`buyer-${unique()}`);
    await registry.registered(sellerVersion, seller.agentId);
    await registry.registered(buyerVersion, buyer.agentId);
    const tx = `tx-af-${unique()}`;
    const records = Array.from({ length: 30 }, (_, i) => ({
      transaction_id: `${tx}-${i}`,
      buyer: i === 0 ? buyerVersion : 'agt_buyer_001',
      seller: sellerVersion,
      amount: 10 + i,
      fraud_score: 0.95,
    }));
    const input = upload(records);

    const reads = countRegistryReads(harness.dynamo);
    let first;
    try {
      first = await drive(handlers(), input, { itemsPerBatch: 100, maxConcurrency: 1 });
    } finally {
      reads.stop();
    }
    // One batch of 30 records naming one seller version (and one naming a buyer version): one read of each.
    expect(reads.reads.get(`v1:agent:${sellerVersion}`)).toBe(1);
    expect(reads.reads.get(`v1:agent:${buyerVersion}`)).toBe(1);
    expect(created()).toHaveLength(30);
    expect(created().every((body) => body.counterparty_agent_id === seller.agentId)).toBe(true);
    expect(created().find((body) => body.amount_usd === 10)!.description).toContain(`| buyer ${buyer.agentId} |`);
    const rows = byLine(first.log.rows);
    expect(rows[0]).toMatchObject({
      status: 'SUCCEEDED',
      buyer: buyerVersion,
      seller: sellerVersion,
      resolved_buyer: buyer.agentId,
      resolved_seller: seller.agentId,
    });
    expect(rows.every((row) => row.status === 'SUCCEEDED')).toBe(true);
    expect(await readServicesLedger(harness, `v1:hold:${tx}-0`)).toMatchObject({
      state: 'SUCCEEDED',
      request: { counterparty_agent_id: seller.agentId },
    });

    const again = await drive(handlers(), input);
    expect(created()).toHaveLength(30);
    expect(again.log.rows.every((row: any) => row.status === 'SUCCEEDED' && row.repeated === true)).toBe(true);
  });

  test('a seller version never registered is INVALID; one under way is REJECTED and held by a rerun once registered; the other records are held', async () => {
    const merchant = harness.sandbox.addCasinoAgent();
    const pendingAgent = harness.sandbox.addCasinoAgent();
    const never = trainingJobArn(`never-${unique()}`);
    const pending = trainingJobArn(`pending-${unique()}`);
    await registry.pending(pending);
    const tx = `tx-pend-${unique()}`;
    const input = upload([
      { transaction_id: `${tx}-never`, buyer: 'agt_b', seller: never, amount: 20, fraud_score: 0.9 },
      { transaction_id: `${tx}-pending`, buyer: 'agt_b', seller: pending, amount: 30, fraud_score: 0.9 },
      { transaction_id: `${tx}-plain`, buyer: 'agt_b', seller: merchant.agentId, amount: 40, fraud_score: 0.9 },
    ]);

    const first = await drive(handlers(), input);
    expect(created().map((body) => [body.counterparty_agent_id, body.amount_usd])).toEqual([[merchant.agentId, 40]]);
    const [neverRow, pendingRow] = byLine(first.log.rows);
    expect(neverRow).toMatchObject({ status: 'INVALID', seller: never });
    expect(neverRow.error).toBe(
      `not held: seller "${never}" names a model version that has no agent: ModelAgents never registered one (is it a version ModelAgents watches?)`,
    );
    expect(pendingRow).toMatchObject({ status: 'REJECTED', seller: pending });
    expect(pendingRow.error).toBe(
      `not held: seller "${pending}" names a model version whose agent is not registered yet (its registration is SENDING); ` +
        'a rerun sends it once the agent is registered',
    );
    expect(await readServicesLedger(harness, `v1:hold:${tx}-pending`)).toBeUndefined();

    await registry.registered(pending, pendingAgent.agentId);
    await drive(handlers(), input);
    await drive(handlers(), input);
    expect(created().map((body) => [body.counterparty_agent_id, body.amount_usd])).toEqual([
      [merchant.agentId, 40],
      [pendingAgent.agentId, 30],
    ]);
  });

  test('a malformed ARN is INVALID naming the field and value; without agentsFrom an ARN is INVALID with the hint', async () => {
    const merchant = harness.sandbox.addCasinoAgent();
    const version = trainingJobArn(`no-prop-${unique()}`);
    await registry.registered(version, merchant.agentId);
    const badArn = `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:transform-job/scoring-1`;
    const tx = `tx-bad-${unique()}`;
    const input = upload([
      { transaction_id: `${tx}-1`, buyer: badArn, seller: merchant.agentId, amount: 20, fraud_score: 0.9 },
      { transaction_id: `${tx}-2`, buyer: 'agt_b', seller: version, amount: 30, fraud_score: 0.9 },
    ]);
    const withProp = await drive(handlers(), input);
    expect(byLine(withProp.log.rows).map((row) => [row.status, row.error])).toEqual([
      [
        'INVALID',
        `buyer "${badArn}" is not a model version ARN: a model version ARN is arn:<partition>:sagemaker:<region>:<account>:training-job/<name> ` +
          'or …:model-package/<group>/<version>, its names in lower case as SageMaker writes them',
      ],
      ['SUCCEEDED', undefined],
    ]);

    const other = upload([{ transaction_id: `${tx}-3`, buyer: 'agt_b', seller: version, amount: 30, fraud_score: 0.9 }]);
    const withoutProp = await drive(handlers({ agentsFrom: false }), other);
    expect(withoutProp.log.rows[0]).toMatchObject({
      status: 'INVALID',
      error: `seller "${version}" is not a valid agent id: an ARN is read as a model version only with agentsFrom (a ModelAgents registry), which resolves it to its agent`,
    });
    expect(created()).toHaveLength(1);
  });
});
