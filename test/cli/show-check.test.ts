/**
 * `purpleflea-ledger show <key> --check`, bundled, against the services sandbox: the read routes narrow an UNKNOWN
 * action of the services profile to its candidates, with how sure each match is, and resolve nothing.
 */
import { ActionLedger } from '../../lambda/shared/action-ledger';
import { GATEWAY_PROFILE, SERVICES_PROFILE } from '../../lambda/shared/purpleflea-api';
import { FakeAws } from '../support/fake-aws';
import { LocalLedger, startLocalLedger } from '../support/dynalite';
import { CasinoAgent, PurpleFleaServicesSandbox, SERVICE_PATHS, TradingAgent } from '../support/purpleflea-services-sandbox';
import { cliRunner } from './cli-runner';

const TABLE = 'ShowCheckLedger';
const SECRET = 'purpleflea/services-key';

let local: LocalLedger;
let aws: FakeAws;
let sandbox: PurpleFleaServicesSandbox;
let cli: ReturnType<typeof cliRunner>;
let creator: CasinoAgent;
let seller: CasinoAgent;
let trader: TradingAgent;
let counter = 0;

beforeAll(async () => {
  [local, aws, sandbox] = await Promise.all([startLocalLedger(TABLE), FakeAws.start(), PurpleFleaServicesSandbox.start()]);
  cli = cliRunner({ dynamo: local.dynamo.endpoint, aws: aws.url });
});
afterAll(async () => {
  await Promise.all([local.close(), aws.close(), sandbox.close()]);
});
beforeEach(() => {
  sandbox.reset();
  creator = sandbox.addCasinoAgent({ balance: 1_000 });
  seller = sandbox.addCasinoAgent();
  trader = sandbox.addTradingAgent();
  aws.setSecret(
    SECRET,
    JSON.stringify({ key: creator.apiKey, agent_id: creator.agentId, trading_key: trader.apiKey, trading_agent_id: trader.agentId }),
  );
});

/** An action whose answer was lost: claimed, SENDING, then UNKNOWN, with the services-profile body it sent. */
async function unknownRecord(actionKey: string, request: { [key: string]: unknown }, amountUsdc: number): Promise<void> {
  const ledger = new ActionLedger({ tableName: TABLE, client: local.client });
  const held = await ledger.claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request, amountUsdc });
  if (!held.claimed) throw new Error('expected a claim');
  await ledger.recordOutcome(actionKey, held.claimToken, 'UNKNOWN', { error: 'no_answer: socket hang up after the request was sent' });
}

/** What the handler would have sent, sent to the sandbox directly (its answer is then "lost"). */
async function send(url: string, key: string, body: { [key: string]: unknown }): Promise<{ [key: string]: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'authorization': `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.ok).toBe(true);
  return (await response.json()) as { [key: string]: any };
}

const check = (actionKey: string, ...more: string[]) =>
  cli(
    [
      'show',
      actionKey,
      '--check',
      '--table',
      TABLE,
      '--secret',
      SECRET,
      '--escrow-url',
      sandbox.escrowUrl,
      '--casino-url',
      sandbox.casinoUrl,
      '--trading-url',
      sandbox.tradingUrl,
      ...more,
    ],
    { AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url },
  );

function escrowBody(actionKey: string, amountUsdc = 50) {
  return SERVICES_PROFILE.createEscrow({
    buyer: creator.agentId,
    seller: seller.agentId,
    amountUsdc,
    condition: 'model_owner_approved:job\x1b[2J',
    metadata: {},
    actionKey,
    services: { timeoutHours: 720 },
  }).body as { [key: string]: unknown };
}

describe('show --check on the services profile', () => {
  test('an UNKNOWN escrow whose create executed is found exactly, by the action key hash in its description', async () => {
    const actionKey = `v1:escrow:arn:aws:sagemaker:us-east-1:123456789012:training-job/check-${++counter}`;
    const body = escrowBody(actionKey);
    // Another escrow of the same amount and time, of another action: it must not be a candidate.
    await send(`${sandbox.escrowUrl}/escrow/create`, creator.apiKey, escrowBody(`${actionKey}-other`));
    const created = await send(`${sandbox.escrowUrl}/escrow/create`, creator.apiKey, body);
    await unknownRecord(actionKey, body, 50);

    const run = await check(actionKey);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`action    ${actionKey}`);
    expect(run.stdout).toContain('state     UNKNOWN');
    const candidates = run.stdout.split('\ncandidates\n')[1].split('\nnotes\n')[0];
    expect(candidates).toMatch(new RegExp(`^  exact     ${created.escrow_id}  GET /escrow/\\{id\\}\\n`));
    expect(candidates.match(/esc_/g)).toHaveLength(1);
    // Text output escapes control characters (the condition is the record's, printed in its request).
    expect(run.stdout).not.toContain('\x1b');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^nothing was resolved/);

    const json = await check(actionKey, '--json');
    const parsed = JSON.parse(json.stdout);
    expect(parsed.record.state).toBe('UNKNOWN');
    expect(parsed.check).toMatchObject({ profile: 'services', kind: 'escrow', resolved: false });
    expect(parsed.check.candidates).toEqual([expect.objectContaining({ confidence: 'exact', reference: created.escrow_id })]);
  });

  test('an UNKNOWN escrow whose create did not execute has no candidate, even beside another escrow', async () => {
    const actionKey = `v1:escrow:arn:aws:sagemaker:us-east-1:123456789012:training-job/check-${++counter}`;
    await send(`${sandbox.escrowUrl}/escrow/create`, creator.apiKey, escrowBody(`${actionKey}-someone-else`));
    await unknownRecord(actionKey, escrowBody(actionKey), 50);

    const run = await check(actionKey);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('candidates\n  none: no read route shows this action\n');
    expect(run.stdout).toContain('read 1 escrow_lock entry of the casino ledger');
    expect(JSON.parse((await check(actionKey, '--json')).stdout).check.candidates).toEqual([]);
  });

  test('an UNKNOWN casino pay: payment_sent entries of that amount in the window, likely when one, possible when several', async () => {
    const actionKey = `v1:payout:scores/check.csv:"etag":${seller.agentId}-${++counter}`;
    const body = SERVICES_PROFILE.walletTransfer({ fromAgent: creator.agentId, toAgent: seller.agentId, amountUsdc: 12.5, memo: 'm' })
      .body as {
      [key: string]: unknown;
    };
    await unknownRecord(actionKey, body, 12.5);
    const paid = await send(`${sandbox.casinoUrl}/api/v1/stats/pay`, creator.apiKey, body);
    await send(`${sandbox.casinoUrl}/api/v1/stats/pay`, creator.apiKey, { ...body, amount: 7 }); // another amount

    const one = JSON.parse((await check(actionKey, '--json')).stdout).check;
    expect(one.candidates).toEqual([
      expect.objectContaining({ confidence: 'likely', reference: paid.tx_id, source: 'GET /api/v1/auth/ledger' }),
    ]);
    expect(one.notes.join('\n')).toMatch(/neither the recipient nor the memo/);

    const again = await send(`${sandbox.casinoUrl}/api/v1/stats/pay`, creator.apiKey, body);
    const two = await check(actionKey);
    expect(two.code).toBe(0);
    expect(two.stdout).toContain(`  possible  ${paid.tx_id}  GET /api/v1/auth/ledger`);
    expect(two.stdout).toContain(`  possible  ${again.tx_id}  GET /api/v1/auth/ledger`);
    expect(two.stdout).toContain('one of 2 of that amount in the window');
  });

  test('an UNKNOWN trade open after a fill: the stored position by coin, side, window and size (a partial fill too)', async () => {
    const actionKey = `v1:trade:endpoint:check-${++counter}`;
    const body = SERVICES_PROFILE.tradeOrder({
      agentId: trader.agentId,
      direction: 'long',
      amountUsdc: 100,
      asset: 'BTC-USDC',
      metadata: {},
      services: { coin: 'BTC', leverage: 2 },
    }).body as { [key: string]: unknown };
    await unknownRecord(actionKey, body, 100);
    sandbox.fillNextOrders(0.5);
    const opened = await send(`${sandbox.tradingUrl}/v1/trade/open`, trader.apiKey, body);
    await send(`${sandbox.tradingUrl}/v1/trade/open`, trader.apiKey, { ...body, side: 'short', coin: 'ETH' }); // another market and side

    const run = await check(actionKey, '--json');
    expect(run.stderr).toBe('');
    const { candidates } = JSON.parse(run.stdout).check;
    expect(candidates).toEqual([
      expect.objectContaining({ confidence: 'likely', reference: opened.position_id, source: 'GET /v1/trade/positions?status=all' }),
    ]);
    expect(candidates[0].why).toContain('requested 100');
    expect(candidates[0].why).toContain(String(opened.order_id));
  });

  test('a fill whose database write failed (400 trade_failed): live on Hyperliquid only, a possible candidate without an id', async () => {
    const actionKey = `v1:trade:endpoint:check-${++counter}`;
    const body = SERVICES_PROFILE.tradeOrder({
      agentId: trader.agentId,
      direction: 'short',
      amountUsdc: 40,
      asset: 'SOL-USDC',
      metadata: {},
      services: { coin: 'SOL', leverage: 1 },
    }).body as { [key: string]: unknown };
    await unknownRecord(actionKey, body, 40);
    sandbox.injectFaults(SERVICE_PATHS.tradeOpen, { kind: 'trade-failed-after-fill' });
    const answer = await fetch(`${sandbox.tradingUrl}/v1/trade/open`, {
      method: 'POST',
      headers: { 'authorization': `Bearer ${trader.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(answer.status).toBe(400);

    const run = await check(actionKey);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('  possible  (no id)  GET /v1/trade/positions\n');
    expect(run.stdout).toMatch(/a live short SOL position of [\d.]+ USD on Hyperliquid that the service did not record/);
  });

  test('a gateway-profile record: --check says it speaks the services only', async () => {
    const actionKey = `v1:payout:scores/gw.csv:"etag":agt_bob-${++counter}`;
    const body = GATEWAY_PROFILE.walletTransfer({ fromAgent: 'agt_treasury', toAgent: 'agt_bob', amountUsdc: 8.4, memo: 'm' }).body as {
      [key: string]: unknown;
    };
    await unknownRecord(actionKey, body, 8.4);
    const run = await check(actionKey);
    expect(run.stdout).toBe('');
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining('--check speaks the services profile only')]);
  });

  test('a secret without the field names the secret and the field, never a value; no --secret is a usage error', async () => {
    const actionKey = `v1:trade:endpoint:check-${++counter}`;
    const body = SERVICES_PROFILE.tradeOrder({
      agentId: trader.agentId,
      direction: 'long',
      amountUsdc: 100,
      asset: 'BTC-USDC',
      metadata: {},
      services: { coin: 'BTC', leverage: 2 },
    }).body as { [key: string]: unknown };
    await unknownRecord(actionKey, body, 100);
    aws.setSecret(SECRET, JSON.stringify({ key: creator.apiKey, agent_id: creator.agentId }));

    const run = await check(actionKey);
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toEqual([`purpleflea-ledger: secret '${SECRET}' has no non-empty string field 'trading_key'`]);
    expect(run.stderr).not.toContain(creator.apiKey);

    const missing = await check(actionKey, '--secret', 'purpleflea/absent');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("could not read secret 'purpleflea/absent'");

    const usage = await cli(['show', actionKey, '--check', '--table', TABLE]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--check needs --secret');
  });
});
