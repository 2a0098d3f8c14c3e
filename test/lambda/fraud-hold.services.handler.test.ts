/**
 * The bundled FraudHoldEscrow handlers on the services profile (issue 13): each flagged transaction becomes one
 * escrow on the escrow service, paid by the connection key's agent, to the transaction's seller (an `ag_` id of
 * the casino registry), for the construct's timeout, with the transaction's buyer, the condition and the action
 * key's SHA-256 in the public description; an `agt_` seller is INVALID and never sent; exactly once.
 */
import { createHash } from 'node:crypto';
import { batchSummarizeEnvironment } from '../../lib/private/contracts/batch-engine';
import {
  FRAUD_HOLD_METRICS as METRIC,
  fraudHoldActEnvironment,
  fraudHoldPrepareEnvironment,
  HOLDS_LOG_FILE,
} from '../../lib/private/contracts/fraud-hold-env';
import { FAKE_ACCOUNT_ID, FAKE_REGION } from '../support/fake-aws';
import { defaultHoldPrepareSettings } from '../support/handler-settings';
import { CasinoAgent, SERVICE_PATHS } from '../support/purpleflea-services-sandbox';
import { BatchHandlers, driveRun } from './batch-driver';
import { captureOutput, loadBundledHandler } from './handler-harness';
import { readServicesLedger, resetServices, servicesEnvironment, ServicesHarness, startServicesHarness } from './services-harness';

const RECORDS_BUCKET = 'services-transform-output';
const OUTPUT_BUCKET = 'services-hold-runs';
const BUS_ARN = `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:event-bus/default`;
/** A week, the construct's default for holds on the services profile. */
const TIMEOUT_HOURS = 168;
const prepareDefaults = defaultHoldPrepareSettings({ maxBatchTotalUsdc: 10_000_000, outputBucket: OUTPUT_BUCKET });

let harness: ServicesHarness;
let output: ReturnType<typeof captureOutput>;
let merchant: CasinoAgent;
let counter = 0;
const unique = () => `${++counter}-${Date.now()}`;

function handlers(options: { dryRun?: boolean } = {}): BatchHandlers {
  const service = { POWERTOOLS_SERVICE_NAME: METRIC.serviceName };
  const dryRun = options.dryRun ?? false;
  const { maxHoldUsdc, maxBatchTotalUsdc } = prepareDefaults;
  const act = fraudHoldActEnvironment({
    conditionTemplate: 'manual_review_cleared:fraud_score={fraudScore}',
    requestsPerSecond: 2000,
    concurrency: 5,
    dryRun,
    enabled: true,
    maxHoldUsdc,
    maxBatchTotalUsdc,
    services: { escrowTimeoutHours: TIMEOUT_HOURS },
  });
  return {
    prepare: loadBundledHandler<{ handler: BatchHandlers['prepare'] }>('fraud-hold-prepare', {
      ...service,
      ...fraudHoldPrepareEnvironment(prepareDefaults),
    }).handler,
    act: loadBundledHandler<{ handler: BatchHandlers['act'] }>('fraud-hold-act', { ...service, ...servicesEnvironment(harness, act) })
      .handler,
    summarize: loadBundledHandler<{ handler: BatchHandlers['summarize'] }>('fraud-hold-summarize', {
      ...service,
      ...servicesEnvironment(harness, batchSummarizeEnvironment({ eventBusName: BUS_ARN, dryRun })),
    }).handler,
  };
}

const jsonl = (records: object[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';
const drive = (h: BatchHandlers, input: unknown, one = false) =>
  driveRun(harness.s3, h, `services-run-${unique()}`, input, {
    logFile: HOLDS_LOG_FILE,
    ...(one ? { itemsPerBatch: 1, maxConcurrency: 1 } : {}),
  });
const escrowCalls = () => harness.sandbox.calls.filter((call) => call.route === SERVICE_PATHS.escrowCreate);
const created = () => harness.sandbox.committed('escrow.create');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function upload(records: object[]): { bucket: string; key: string } {
  const key = `uploads/${unique()}.out`;
  harness.s3.putObject(RECORDS_BUCKET, key, jsonl(records));
  return { bucket: RECORDS_BUCKET, key };
}

beforeAll(async () => {
  harness = await startServicesHarness();
  harness.s3.createBucket(RECORDS_BUCKET);
  harness.s3.createBucket(OUTPUT_BUCKET);
});
afterAll(async () => {
  await harness.close();
});
beforeEach(() => {
  resetServices(harness, { balance: 1_000 });
  merchant = harness.sandbox.addCasinoAgent();
  output = captureOutput();
});
afterEach(() => output.restore());

describe('FraudHoldEscrow on the services profile: one escrow hold per flagged transaction', () => {
  test("held by the key's agent for the ag_ seller, timeout_hours sent, the buyer named in the description; an agt_ seller INVALID", async () => {
    const tx = `tx-svc-${unique()}`;
    const input = upload([
      { transaction_id: tx, buyer: 'agt_buyer_001', seller: merchant.agentId, amount: 250, fraud_score: 0.91 },
      { transaction_id: `${tx}-low`, buyer: 'agt_buyer_002', seller: merchant.agentId, amount: 12, fraud_score: 0.2 },
      { transaction_id: `${tx}-agt`, buyer: 'agt_buyer_003', seller: 'agt_merchant_017', amount: 30, fraud_score: 0.95 },
    ]);
    const { log } = await drive(handlers(), input);

    expect(escrowCalls()).toHaveLength(1);
    expect(escrowCalls()[0]).toMatchObject({ service: 'escrow', authorization: `Bearer ${harness.casino.apiKey}` });
    expect(escrowCalls()[0].body).toEqual({
      amount_usd: 250,
      description: `manual_review_cleared:fraud_score=0.91 | buyer agt_buyer_001 | action sha256:${sha256(`v1:hold:${tx}`)}`,
      counterparty_agent_id: merchant.agentId,
      timeout_hours: TIMEOUT_HOURS,
    });
    expect(harness.sandbox.escrow(created()[0].id)).toMatchObject({
      status: 'funded',
      creatorId: harness.casino.agentId,
      timeoutHours: TIMEOUT_HOURS,
    });
    expect(harness.sandbox.casinoBalance(harness.casino.agentId)).toBe(750);

    expect(log.rows.map((row: any) => [row.transaction_id, row.status])).toEqual([
      [tx, 'SUCCEEDED'],
      [`${tx}-low`, 'SKIPPED'],
      [`${tx}-agt`, 'INVALID'],
    ]);
    expect(log.rows[0].result).toEqual(expect.objectContaining({ escrow_id: created()[0].id }));
    expect(log.rows[2].error).toBe(
      'not held: the seller "agt_merchant_017" is not an ag_ id of the casino registry: the services profile\'s escrow and pay take only those (an agt_ id is the gateway\'s)',
    );
    expect(log.totals).toMatchObject({
      rows: 3,
      SUCCEEDED: { rows: 1, amountUsdc: 250 },
      SKIPPED: { rows: 1 },
      INVALID: { rows: 1, amountUsdc: 30 },
    });
    expect(await readServicesLedger(harness, `v1:hold:${tx}-agt`)).toBeUndefined();
    expect(await readServicesLedger(harness, `v1:hold:${tx}`)).toMatchObject({
      state: 'SUCCEEDED',
      response: { escrow_id: created()[0].id },
    });
  });

  test('exactly one hold per transaction: a rerun of the file, and another file with the same transaction', async () => {
    const record = { transaction_id: `tx-once-${unique()}`, buyer: 'agt_b', seller: merchant.agentId, amount: 5, fraud_score: 0.99 };
    const input = upload([record]);
    await drive(handlers(), input);
    await drive(handlers(), input);
    const third = await drive(handlers(), upload([record]));
    expect(created()).toHaveLength(1);
    expect(escrowCalls()).toHaveLength(1);
    expect(third.log.rows[0]).toMatchObject({ status: 'SUCCEEDED', repeated: true });
  });

  test('a lost answer is UNKNOWN, never re-sent by a rerun; 402 insufficient_balance is REJECTED, nothing debited', async () => {
    resetServices(harness, { balance: 100 });
    merchant = harness.sandbox.addCasinoAgent();
    harness.sandbox.injectFaults(SERVICE_PATHS.escrowCreate, { kind: 'reset-after-commit' });
    const lost = { transaction_id: `tx-lost-${unique()}`, buyer: 'agt_b', seller: merchant.agentId, amount: 60, fraud_score: 0.99 };
    const poor = { transaction_id: `tx-poor-${unique()}`, buyer: 'agt_b', seller: merchant.agentId, amount: 70, fraud_score: 0.99 };
    const input = upload([lost, poor]);
    const first = await drive(handlers(), input, true);
    expect(first.log.rows.map((row: any) => row.status)).toEqual(['UNKNOWN', 'REJECTED']);
    expect(first.log.rows[1].error).toContain(
      "insufficient_balance: Balance 40 is less than 70; the casino balance of the key's agent is below the amount",
    );
    expect(created()).toHaveLength(1);

    const second = await drive(handlers(), input, true);
    expect(harness.sandbox.casinoBalance(harness.casino.agentId)).toBe(40);
    expect(second.log.rows.map((row: any) => row.status)).toEqual(['UNKNOWN', 'REJECTED']);
    expect(escrowCalls().filter((call) => (call.body as { amount_usd?: number }).amount_usd === 60)).toHaveLength(1);
  });

  test('a dry run holds nothing and shows the agt_ seller INVALID', async () => {
    const input = upload([
      { transaction_id: `tx-dry-${unique()}`, buyer: 'agt_b', seller: merchant.agentId, amount: 5, fraud_score: 0.99 },
      { transaction_id: `tx-dry-agt-${unique()}`, buyer: 'agt_b', seller: 'agt_s', amount: 5, fraud_score: 0.99 },
    ]);
    const { log } = await drive(handlers({ dryRun: true }), input);
    expect(log.rows.map((row: any) => row.status)).toEqual(['SKIPPED', 'INVALID']);
    expect(harness.sandbox.calls).toHaveLength(0);
  });
});
