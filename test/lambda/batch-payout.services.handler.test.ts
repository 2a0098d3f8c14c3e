/**
 * The bundled BatchPayout handlers on the services profile (issue 13): each row is a casino pay
 * (`POST /api/v1/stats/pay` {to_agent_id, amount, memo}) from the connection key's agent, once per agent per
 * file; an `agt_` recipient is INVALID and never sent; pay's 400 insufficient_balance is REJECTED and a rerun pays
 * it once funded; and the 10,000-row run with faults reconciles to the cent with the money the casino moved.
 */
import { batchSummarizeEnvironment } from '../../lib/private/contracts/batch-engine';
import {
  BATCH_PAYOUT_METRICS as METRIC,
  batchPayoutPayEnvironment,
  batchPayoutPrepareEnvironment,
} from '../../lib/private/contracts/batch-payout-env';
import { FAKE_ACCOUNT_ID, FAKE_REGION } from '../support/fake-aws';
import { faultMix, seededRandom } from '../support/fault-mix';
import { defaultPayoutPrepareSettings } from '../support/handler-settings';
import { CasinoAgent, SERVICE_PATHS } from '../support/purpleflea-services-sandbox';
import { BatchHandlers, driveRun } from './batch-driver';
import { captureOutput, loadBundledHandler } from './handler-harness';
import { readServicesLedger, resetServices, servicesEnvironment, ServicesHarness, startServicesHarness } from './services-harness';

const SOURCE_BUCKET = 'services-scores';
const OUTPUT_BUCKET = 'services-payout-runs';
const BUS_ARN = `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:event-bus/default`;
const prepareDefaults = defaultPayoutPrepareSettings(OUTPUT_BUCKET);

let harness: ServicesHarness;
let output: ReturnType<typeof captureOutput>;
let counter = 0;

function handlers(options: { dryRun?: boolean } = {}): BatchHandlers {
  const service = { POWERTOOLS_SERVICE_NAME: METRIC.serviceName };
  const dryRun = options.dryRun ?? false;
  const { maxPayoutPerAgentUsdc, maxBatchTotalUsdc } = prepareDefaults;
  return {
    prepare: loadBundledHandler<{ handler: BatchHandlers['prepare'] }>('batch-payout-prepare', {
      ...service,
      ...batchPayoutPrepareEnvironment(prepareDefaults),
    }).handler,
    act: loadBundledHandler<{ handler: BatchHandlers['act'] }>('batch-payout-pay', {
      ...service,
      ...servicesEnvironment(
        harness,
        batchPayoutPayEnvironment({
          requestsPerSecond: 2000,
          concurrency: 5,
          dryRun,
          enabled: true,
          maxPayoutPerAgentUsdc,
          maxBatchTotalUsdc,
        }),
      ),
    }).handler,
    summarize: loadBundledHandler<{ handler: BatchHandlers['summarize'] }>('batch-payout-summarize', {
      ...service,
      ...servicesEnvironment(harness, batchSummarizeEnvironment({ eventBusName: BUS_ARN, dryRun })),
    }).handler,
  };
}

function upload(content: string): { bucket: string; key: string; etag: string } {
  counter += 1;
  const key = `scores/services-${counter}-${Date.now()}.csv`;
  const etag = harness.s3.putObject(SOURCE_BUCKET, key, content).replace(/"/g, '');
  return { bucket: SOURCE_BUCKET, key, etag };
}
const runId = () => `services-run-${++counter}-${Date.now()}`;
const payments = () => harness.sandbox.committed('casino.pay');
const payCalls = () => harness.sandbox.calls.filter((call) => call.route === SERVICE_PATHS.casinoPay);
const agents = (count: number): CasinoAgent[] => Array.from({ length: count }, () => harness.sandbox.addCasinoAgent());
const cents = (usd: number) => Math.round(usd * 100);

/** Moves casino balance by the service's own route, as an agent would (the sandbox funds agents only at creation). */
async function payWithKey(from: CasinoAgent, to: string, amount: number): Promise<void> {
  const res = await fetch(`${harness.sandbox.casinoUrl}/api/v1/stats/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'authorization': `Bearer ${from.apiKey}` },
    body: JSON.stringify({ to_agent_id: to, amount }),
  });
  if (res.status !== 200) throw new Error(`funding failed: ${res.status}`);
}

beforeAll(async () => {
  harness = await startServicesHarness();
  harness.s3.createBucket(SOURCE_BUCKET);
  harness.s3.createBucket(OUTPUT_BUCKET);
});
afterAll(async () => {
  await harness.close();
});
beforeEach(() => {
  resetServices(harness, { balance: 1_000 });
  output = captureOutput();
});
afterEach(() => output.restore());

describe('BatchPayout on the services profile: casino pay, each agent once', () => {
  test("a scored CSV pays each ag_ agent through casino pay, from the key's agent; an agt_ row is INVALID, never sent; the log reconciles", async () => {
    const [alice, bob, erin] = agents(3);
    const source = upload(`agent_id,score\n${alice.agentId},0.5\n${bob.agentId},1.234\nagt_carol,1\n${erin.agentId},2\nag_dave,abc\n`);
    const { log } = await driveRun(harness.s3, handlers(), runId(), source);

    expect(payCalls()).toHaveLength(3);
    for (const call of payCalls()) expect(call).toMatchObject({ service: 'casino', authorization: `Bearer ${harness.casino.apiKey}` });
    expect(payCalls().map((call) => call.body)).toEqual(
      expect.arrayContaining([
        { to_agent_id: alice.agentId, amount: 5, memo: 'pipeline-bonus score=0.500' },
        { to_agent_id: bob.agentId, amount: 12.34, memo: 'pipeline-bonus score=1.234' },
        { to_agent_id: erin.agentId, amount: 20, memo: 'pipeline-bonus score=2.000' },
      ]),
    );
    expect([alice, bob, erin].map((a) => harness.sandbox.casinoBalance(a.agentId))).toEqual([5, 12.34, 20]);
    expect(cents(harness.sandbox.casinoBalance(harness.casino.agentId))).toBe(cents(1_000 - 37.34));

    expect(log.rows.map((row: any) => [row.line, row.status])).toEqual([
      [2, 'SUCCEEDED'],
      [3, 'SUCCEEDED'],
      [4, 'INVALID'],
      [5, 'SUCCEEDED'],
      [6, 'INVALID'],
    ]);
    expect(log.rows[0].result).toEqual(expect.objectContaining({ tx_id: expect.stringMatching(/^pay_/) }));
    expect(log.rows[2].error).toBe(
      'not paid: "agt_carol" is not an ag_ id of the casino registry: the services profile\'s escrow and pay take only those (an agt_ id is the gateway\'s)',
    );
    expect(log.totals).toMatchObject({ rows: 5, SUCCEEDED: { rows: 3, amountUsdc: 37.34 }, INVALID: { rows: 2 } });
    expect(await readServicesLedger(harness, `v1:payout:${source.bucket}/${source.key}:${source.etag}:agt_carol`)).toBeUndefined();
    expect(await readServicesLedger(harness, `v1:payout:${source.bucket}/${source.key}:${source.etag}:${bob.agentId}`)).toMatchObject({
      state: 'SUCCEEDED',
      request: { to_agent_id: bob.agentId, amount: 12.34, memo: 'pipeline-bonus score=1.234' },
      response: { tx_id: payments().find((p) => (p.body as { to_agent_id?: string }).to_agent_id === bob.agentId)!.id },
    });
  });

  test("pay's 400 insufficient_balance is REJECTED with the reason, nothing moved; the same file again pays it once funded, and no one twice", async () => {
    resetServices(harness, { balance: 25 });
    const [r1, r2, r3] = agents(3);
    const source = upload(`agent_id,score\n${r1.agentId},1\n${r2.agentId},1\n${r3.agentId},1\n`);
    const first = await driveRun(harness.s3, handlers(), runId(), source, { itemsPerBatch: 1, maxConcurrency: 1 });
    expect(first.log.totals).toMatchObject({ SUCCEEDED: { rows: 2, amountUsdc: 20 }, REJECTED: { rows: 1, amountUsdc: 10 } });
    const rejected = first.log.rows.find((row: any) => row.status === 'REJECTED');
    expect(rejected.error).toBe(
      `insufficient_balance: Balance 5 is less than 10; ${"the casino balance of the key's agent is below the amount (400 on this route: nothing was paid)"}`,
    );
    expect(payments()).toHaveLength(2);

    // Funded by another agent through the casino, as a deposit would.
    const donor = harness.sandbox.addCasinoAgent({ balance: 100 });
    await payWithKey(donor, harness.casino.agentId, 50);
    const second = await driveRun(harness.s3, handlers(), runId(), source);
    expect(second.log.totals).toMatchObject({ SUCCEEDED: { rows: 3, amountUsdc: 30 }, REJECTED: { rows: 0 } });
    expect(second.log.rows.filter((row: any) => row.repeated)).toHaveLength(2);
    expect([r1, r2, r3].map((a) => harness.sandbox.casinoBalance(a.agentId))).toEqual([10, 10, 10]);
    expect(payments().filter((p) => p.agentId === harness.casino.agentId)).toHaveLength(3);
  });

  test('404 recipient_not_found (an ag_ id the casino does not know) is REJECTED with the reason', async () => {
    const source = upload('agent_id,score\nag_000000000000,1\n');
    const { log } = await driveRun(harness.s3, handlers(), runId(), source);
    expect(log.rows[0]).toMatchObject({ status: 'REJECTED' });
    expect(log.rows[0].error).toBe('recipient_not_found: No agent ag_000000000000; the recipient is not an agent of the casino registry');
  });

  test('a dry run shows an agt_ row INVALID and the others SKIPPED, with no call', async () => {
    const [a] = agents(1);
    const { log } = await driveRun(harness.s3, handlers({ dryRun: true }), runId(), upload(`agent_id,score\n${a.agentId},1\nagt_x,1\n`));
    expect(log.rows.map((row: any) => row.status)).toEqual(['SKIPPED', 'INVALID']);
    expect(harness.sandbox.calls).toHaveLength(0);
  });
});

describe('BatchPayout on the services profile: 10,000 rows end to end, with faults', () => {
  test('every row has one status, payments match the log and the balances, no agent is paid twice, totals reconcile to the cent, a rerun adds only REJECTED retries', async () => {
    resetServices(harness, { balance: 1_000_000 });
    const random = seededRandom(20261204);
    const recipients = agents(10_000);
    const source = upload(['agent_id,score', ...recipients.map((a) => `${a.agentId},${(random() * 5).toFixed(4)}`)].join('\n'));
    // 5% 429s, 1% "paid but the answer was lost", 1% connection resets before the payment; the rest answer.
    harness.sandbox.injectFaults(SERVICE_PATHS.casinoPay, ...faultMix(random, 13_000));

    const first = await driveRun(harness.s3, handlers(), runId(), source);
    const log = first.log;
    expect(log.rows).toHaveLength(10_000);
    const byStatus = (status: string) => log.rows.filter((row: any) => row.status === status);
    const succeeded = byStatus('SUCCEEDED');
    const unknown = byStatus('UNKNOWN');
    expect(succeeded.length + unknown.length + byStatus('SKIPPED').length + byStatus('INVALID').length + byStatus('REJECTED').length).toBe(
      10_000,
    );
    expect(unknown.length).toBeGreaterThan(0);

    // The casino's payments are the SUCCEEDED rows plus some UNKNOWN ones, nobody twice.
    const paidTo = payments().map((p) => (p.body as { to_agent_id: string }).to_agent_id);
    expect(new Set(paidTo).size).toBe(paidTo.length);
    const succeededAgents = new Set(succeeded.map((row: any) => row.agent_id));
    const unknownAgents = new Set(unknown.map((row: any) => row.agent_id));
    for (const agent of succeededAgents) expect(paidTo).toContain(agent);
    for (const agent of paidTo) expect(succeededAgents.has(agent) || unknownAgents.has(agent)).toBe(true);

    // To the cent: the log's totals, its rows, the payments and the balances the casino keeps.
    const rowCents = (rows: any[]) => rows.reduce((sum, row) => sum + cents(row.amount_usdc ?? 0), 0);
    expect(cents(log.totals.SUCCEEDED.amountUsdc)).toBe(rowCents(succeeded));
    const statusCents = ['SUCCEEDED', 'SKIPPED', 'INVALID', 'REJECTED', 'UNKNOWN'].reduce(
      (sum, s) => sum + cents(log.totals[s].amountUsdc),
      0,
    );
    expect(cents(log.totals.amountUsdc)).toBe(statusCents);
    const paidCents = payments().reduce((sum, p) => sum + cents((p.body as { amount: number }).amount), 0);
    expect(cents(1_000_000 - harness.sandbox.casinoBalance(harness.casino.agentId))).toBe(paidCents);
    for (const row of succeeded) expect(cents(harness.sandbox.casinoBalance(row.agent_id))).toBe(cents(row.amount_usdc));
    const unknownPaidCents = payments()
      .filter((p) => unknownAgents.has((p.body as { to_agent_id: string }).to_agent_id))
      .reduce((sum, p) => sum + cents((p.body as { amount: number }).amount), 0);
    expect(paidCents).toBe(rowCents(succeeded) + unknownPaidCents);

    // A second run pays no one again except REJECTED rows; UNKNOWN stays UNKNOWN.
    const rejectedBefore = new Set(byStatus('REJECTED').map((row: any) => row.agent_id));
    const paymentsBefore = payments().length;
    const second = await driveRun(harness.s3, handlers(), runId(), source);
    const added = payments()
      .slice(paymentsBefore)
      .map((p) => (p.body as { to_agent_id: string }).to_agent_id);
    for (const agent of added) expect(rejectedBefore.has(agent)).toBe(true);
    expect(
      second.log.rows
        .filter((row: any) => row.status === 'UNKNOWN')
        .map((row: any) => row.agent_id)
        .sort(),
    ).toEqual([...unknownAgents].sort());
    const allPaid = payments().map((p) => (p.body as { to_agent_id: string }).to_agent_id);
    expect(new Set(allPaid).size).toBe(allPaid.length);
  }, 300_000);
});
