/**
 * How the client reads the answers of the services profile's routes (README, "The Purple Flea contract the
 * handlers assume", the services table): `classify` with each route's rules for every error code of the table,
 * and the client against the services sandbox, each route reached on its own host with its own key.
 */
import { SERVICES_PROFILE, SERVICES_ROUTES, type ApiRequest, type RouteRules } from '../../lambda/shared/purpleflea-api';
import { classify, PurpleFleaClient, type ServiceEndpoint } from '../../lambda/shared/purpleflea-client';
import { staticCredentials } from '../support/money-path-fakes';
import { PurpleFleaServicesSandbox, SERVICE_PATHS, type CasinoAgent, type TradingAgent } from '../support/purpleflea-services-sandbox';

const answer = (status: number, body: unknown) => ({ kind: 'answered' as const, status, body: JSON.stringify(body) });
const INFO = { _info: { service: 'agent-trading', docs: 'https://trading.purpleflea.com/llms.txt', referral: 'r', version: '1.0.0' } };
const { tradeOpen, tradeClose, escrowCreate, casinoPay, domainRegister } = SERVICES_ROUTES;
const rulesOf = (route: { readonly rules: RouteRules }) => route.rules;

describe('classify: the services table, route by route', () => {
  test.each([
    // route, status, error, outcome, the route's rules
    ['trade open', 400, 'trade_failed', 'UNKNOWN', tradeOpen],
    ['trade close', 400, 'close_failed', 'UNKNOWN', tradeClose],
    ['trade open', 400, 'position_too_large', 'REJECTED', tradeOpen],
    ['trade open', 400, 'invalid_leverage', 'REJECTED', tradeOpen],
    ['trade open', 400, 'wallet_not_configured', 'REJECTED', tradeOpen],
    ['trade open', 403, 'daily_loss_limit_reached', 'REJECTED', tradeOpen],
    ['trade open', 400, 'invalid_request', 'REJECTED', tradeOpen],
    ['escrow create', 402, 'insufficient_balance', 'REJECTED', escrowCreate],
    ['escrow create', 404, 'counterparty_not_found', 'REJECTED', escrowCreate],
    ['escrow create', 400, 'invalid_counterparty', 'REJECTED', escrowCreate],
    ['escrow create', 400, 'self_escrow', 'REJECTED', escrowCreate],
    ['escrow create', 400, 'invalid_amount', 'REJECTED', escrowCreate],
    ['escrow create', 404, 'creator_not_found', 'REJECTED', escrowCreate],
    ['escrow create', 500, 'debit_failed', 'UNKNOWN', escrowCreate],
    ['escrow create', 500, 'internal_error', 'UNKNOWN', escrowCreate],
    ['casino pay', 400, 'insufficient_balance', 'REJECTED', casinoPay],
    ['casino pay', 404, 'recipient_not_found', 'REJECTED', casinoPay],
    ['casino pay', 400, 'same_agent', 'REJECTED', casinoPay],
    ['casino pay', 400, 'invalid_amount', 'REJECTED', casinoPay],
    // The domains service's checks come before it registers or charges; the registrar's registration does not.
    ['domain register', 400, 'invalid_domain', 'REJECTED', domainRegister],
    ['domain register', 400, 'domain_unavailable', 'REJECTED', domainRegister],
    ['domain register', 400, 'insufficient_balance', 'REJECTED', domainRegister],
    ['domain register', 500, 'availability_check_failed', 'REJECTED', domainRegister],
    ['domain register', 500, 'price_unavailable', 'REJECTED', domainRegister],
    ['domain register', 500, 'registration_failed', 'UNKNOWN', domainRegister],
    ['domain register', 500, 'internal_error', 'UNKNOWN', domainRegister],
    ['domain register', 502, 'availability_check_failed', 'UNKNOWN', domainRegister],
  ] as const)('%s: %d %s is %s', (_name, status, error, outcome, route) => {
    const verdict = classify(answer(status, { error, message: 'as the service says', ...INFO }), rulesOf(route));
    expect(verdict).toMatchObject({ kind: 'final', outcome: { outcome, status, error } });
  });

  test('trade_failed is UNKNOWN with the service message and why it may have been executed', () => {
    const verdict = classify(answer(400, { error: 'trade_failed', message: 'Trade failed: SQLITE_BUSY', ...INFO }), rulesOf(tradeOpen));
    expect(verdict).toEqual({
      kind: 'final',
      outcome: {
        outcome: 'UNKNOWN',
        status: 400,
        error: 'trade_failed',
        message: `Trade failed: SQLITE_BUSY; ${tradeOpen.rules.reasons.trade_failed}`,
      },
    });
    // Without a message, the reason alone.
    expect(classify(answer(400, { error: 'close_failed' }), rulesOf(tradeClose))).toMatchObject({
      outcome: { outcome: 'UNKNOWN', message: tradeClose.rules.reasons.close_failed },
    });
  });

  test('a code a route may have executed on, without a reason of its own, still says so', () => {
    const rules: RouteRules = { name: 'x POST /y', mayHaveExecutedOn: ['maybe'] };
    expect(classify(answer(400, { error: 'maybe' }), rules)).toMatchObject({
      outcome: { outcome: 'UNKNOWN', message: 'a 400 maybe from x POST /y may follow an executed action' },
    });
  });

  test('404 recipient_not_found and counterparty_not_found are REJECTED with the reason', () => {
    expect(classify(answer(404, { error: 'recipient_not_found', message: 'No agent ag_x' }), rulesOf(casinoPay))).toMatchObject({
      outcome: { outcome: 'REJECTED', message: 'No agent ag_x; the recipient is not an agent of the casino registry' },
    });
    // Escrow's 404s may come without a message.
    expect(classify(answer(404, { error: 'counterparty_not_found' }), rulesOf(escrowCreate))).toMatchObject({
      outcome: { outcome: 'REJECTED', message: 'the seller is not an agent of the casino registry' },
    });
  });

  test("pay's 400 insufficient_balance and escrow's 402 are REJECTED: nothing moved", () => {
    expect(classify(answer(400, { error: 'insufficient_balance', message: 'Balance 1 is less than 5' }), rulesOf(casinoPay))).toMatchObject(
      {
        outcome: { outcome: 'REJECTED', status: 400, message: `Balance 1 is less than 5; ${casinoPay.rules.reasons.insufficient_balance}` },
      },
    );
    expect(classify(answer(402, { error: 'insufficient_balance', balance: 1 }), rulesOf(escrowCreate))).toMatchObject({
      outcome: { outcome: 'REJECTED', status: 402, message: escrowCreate.rules.reasons.insufficient_balance },
    });
  });

  test('429 rate_limited is retried, 401 (unauthorized or invalid_key) re-reads the key, on every route', () => {
    for (const route of [tradeOpen, escrowCreate, casinoPay]) {
      expect(classify(answer(429, { error: 'rate_limited', message: 'Too many requests. Limit: 20 per 60s' }), rulesOf(route))).toEqual({
        kind: 'retry',
        status: 429,
        error: 'rate_limited',
        message: 'Too many requests. Limit: 20 per 60s',
      });
      expect(classify(answer(401, { error: 'invalid_key' }), rulesOf(route))).toEqual({ kind: 'unauthorized', message: undefined });
    }
  });

  test('a 2xx is SUCCEEDED with what came back: the _info envelope tolerated, a body without the id too', () => {
    const withInfo = { position_id: 'pos_1', order_id: 'ord_1', size_usd: 19.2, ...INFO };
    expect(classify(answer(200, withInfo), rulesOf(tradeOpen))).toEqual({
      kind: 'final',
      outcome: { outcome: 'SUCCEEDED', status: 200, response: withInfo },
    });
    expect(classify(answer(201, { status: 'funded', ...INFO }), rulesOf(escrowCreate))).toEqual({
      kind: 'final',
      outcome: { outcome: 'SUCCEEDED', status: 201, response: { status: 'funded', ...INFO } },
    });
    expect(classify({ kind: 'answered', status: 200, body: 'OK' }, rulesOf(casinoPay))).toEqual({
      kind: 'final',
      outcome: { outcome: 'SUCCEEDED', status: 200, response: { raw: 'OK' } },
    });
  });

  test('without rules (the gateway) a 4xx is REJECTED by its status, whatever its code, with the message as it came', () => {
    expect(classify(answer(400, { error: 'trade_failed', message: 'm' }))).toEqual({
      kind: 'final',
      outcome: { outcome: 'REJECTED', status: 400, error: 'trade_failed', message: 'm' },
    });
    expect(classify(answer(500, { error: 'internal_error' }))).toEqual({
      kind: 'final',
      outcome: { outcome: 'UNKNOWN', status: 500, error: 'internal_error' },
    });
  });
});

describe('the client against the services sandbox: each route on its host, with its key', () => {
  let sandbox: PurpleFleaServicesSandbox;
  let payer: CasinoAgent;
  let payee: CasinoAgent;
  let trader: TradingAgent;
  let client: PurpleFleaClient;
  let actions = 0;

  function clientFor(sb: PurpleFleaServicesSandbox, casinoKey: string, tradingKey: string): PurpleFleaClient {
    const casino = staticCredentials(casinoKey);
    const endpoint = (baseUrl: string, key = casino): ServiceEndpoint => ({ baseUrl, credentials: key });
    return new PurpleFleaClient({
      services: {
        escrow: endpoint(sb.escrowUrl),
        casino: endpoint(`${sb.casinoUrl}/api/v1/`),
        faucet: endpoint(sb.faucetUrl),
        trading: endpoint(`${sb.tradingUrl}/v1`, staticCredentials(tradingKey)),
      },
      requestTimeoutMs: 1_000,
      backoffBaseMs: 10,
      maxBackoffMs: 50,
      rateLimitWindowMs: 20,
    });
  }
  const post = (request: ApiRequest, on = client) => on.post(request, { actionKey: `v1:test:${++actions}`, deadline: Date.now() + 10_000 });
  const trade = (amountUsdc = 50) =>
    SERVICES_PROFILE.tradeOrder({
      agentId: trader.agentId,
      direction: 'long',
      amountUsdc,
      asset: 'BTC-USDC',
      metadata: {},
      services: { coin: 'BTC', leverage: 2 },
    });
  const escrow = (seller: string, amountUsdc = 20) =>
    SERVICES_PROFILE.createEscrow({
      buyer: payer.agentId,
      seller,
      amountUsdc,
      condition: 'model_owner_approved:job',
      metadata: {},
      actionKey: `v1:escrow:job-${actions}`,
      services: { timeoutHours: 48 },
    });
  const pay = (toAgent: string, amountUsdc = 5) =>
    SERVICES_PROFILE.walletTransfer({ fromAgent: payer.agentId, toAgent, amountUsdc, memo: 'bonus' });

  beforeAll(async () => {
    sandbox = await PurpleFleaServicesSandbox.start();
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    sandbox.reset();
    payer = sandbox.addCasinoAgent({ balance: 100 });
    payee = sandbox.addCasinoAgent();
    trader = sandbox.addTradingAgent();
    client = clientFor(sandbox, payer.apiKey, trader.apiKey);
  });

  test('trade open on the trading host with the trading key: SUCCEEDED with position_id, order_id and the filled size', async () => {
    // 64 USD is 0.001 BTC at the sandbox's 64,000: no rounding to the market's size decimals.
    const outcome = await post(trade(64));
    expect(outcome).toMatchObject({
      outcome: 'SUCCEEDED',
      status: 200,
      response: { position_id: expect.stringMatching(/^pos_/), order_id: expect.stringMatching(/^ord_/), size_usd: 64 },
    });
    const [call] = sandbox.calls;
    expect(call).toMatchObject({
      service: 'trading',
      path: '/v1/trade/open',
      authorization: `Bearer ${trader.apiKey}`,
      body: { coin: 'BTC', side: 'long', size_usd: 64, leverage: 2 },
    });
    expect(sandbox.committed('trade.open')).toHaveLength(1);
  });

  test('a partial fill is SUCCEEDED with the filled size the answer reports', async () => {
    sandbox.fillNextOrders(0.4);
    const outcome = await post(trade(50));
    expect(outcome.outcome).toBe('SUCCEEDED');
    const filled = SERVICES_PROFILE.filledUsdc(outcome.outcome === 'SUCCEEDED' ? outcome.response : undefined);
    expect(filled).toBeGreaterThan(0);
    expect(filled).toBeLessThan(50);
  });

  test('400 trade_failed after a real fill is UNKNOWN, not retried, and the position is live on Hyperliquid', async () => {
    sandbox.injectFaults(SERVICE_PATHS.tradeOpen, { kind: 'trade-failed-after-fill' });
    const outcome = await post(trade());
    expect(outcome).toMatchObject({ outcome: 'UNKNOWN', status: 400, error: 'trade_failed', attempts: 1 });
    expect(outcome.outcome === 'UNKNOWN' && outcome.message).toContain('it may have been executed');
    expect(sandbox.calls).toHaveLength(1);
    expect(sandbox.hyperliquidPosition(trader.agentId, 'BTC')?.size).toBeGreaterThan(0);
  });

  test('a trade_failed that executed nothing (no price) is UNKNOWN as well: the answer cannot tell them apart', async () => {
    sandbox.setMarketPrice('BTC', undefined);
    expect(await post(trade())).toMatchObject({ outcome: 'UNKNOWN', error: 'trade_failed' });
    expect(sandbox.committed('trade.open')).toHaveLength(0);
  });

  test('escrow create on the escrow host with the casino key: SUCCEEDED with escrow_id, timeout_hours as sent', async () => {
    const outcome = await post(escrow(payee.agentId));
    expect(outcome).toMatchObject({
      outcome: 'SUCCEEDED',
      status: 201,
      response: { escrow_id: expect.stringMatching(/^esc_/), timeout_hours: 48, creator_id: payer.agentId },
    });
    expect(sandbox.calls[0]).toMatchObject({ service: 'escrow', path: '/escrow/create', authorization: `Bearer ${payer.apiKey}` });
    expect(sandbox.casinoBalance(payer.agentId)).toBe(80);
  });

  test("escrow's 402 insufficient_balance and 404 counterparty_not_found are REJECTED with the reason, nothing debited", async () => {
    expect(await post(escrow(payee.agentId, 500))).toMatchObject({ outcome: 'REJECTED', status: 402, error: 'insufficient_balance' });
    const missing = await post(escrow('ag_000000000000'));
    expect(missing).toMatchObject({ outcome: 'REJECTED', status: 404, error: 'counterparty_not_found' });
    expect(missing.outcome === 'REJECTED' && missing.message).toContain('the seller is not an agent of the casino registry');
    expect(sandbox.casinoBalance(payer.agentId)).toBe(100);
  });

  test('casino pay under /api/v1 with the casino key: SUCCEEDED with tx_id', async () => {
    const outcome = await post(pay(payee.agentId, 12.34));
    expect(outcome).toMatchObject({
      outcome: 'SUCCEEDED',
      status: 200,
      response: { tx_id: expect.stringMatching(/^pay_/), amount: 12.34, memo: 'bonus' },
    });
    expect(sandbox.calls[0]).toMatchObject({ service: 'casino', path: '/api/v1/stats/pay', authorization: `Bearer ${payer.apiKey}` });
    expect(sandbox.casinoBalance(payee.agentId)).toBe(12.34);
  });

  test("pay's 400 insufficient_balance and 404 recipient_not_found are REJECTED with the reason", async () => {
    const poor = await post(pay(payee.agentId, 1_000));
    expect(poor).toMatchObject({ outcome: 'REJECTED', status: 400, error: 'insufficient_balance' });
    expect(poor.outcome === 'REJECTED' && poor.message).toContain("the casino balance of the key's agent is below the amount");
    const nobody = await post(pay('ag_000000000000'));
    expect(nobody).toMatchObject({ outcome: 'REJECTED', status: 404, error: 'recipient_not_found' });
    expect(nobody.outcome === 'REJECTED' && nobody.message).toContain('the recipient is not an agent of the casino registry');
    expect(sandbox.committed('casino.pay')).toHaveLength(0);
  });

  test('429 rate_limited is waited out and retried: one escrow', async () => {
    sandbox.injectFaults(SERVICE_PATHS.escrowCreate, { kind: 'status', status: 429, error: 'rate_limited' });
    expect(await post(escrow(payee.agentId))).toMatchObject({ outcome: 'SUCCEEDED', attempts: 2 });
    expect(sandbox.committed('escrow.create')).toHaveLength(1);
  });

  test('answers without _info are read the same', async () => {
    sandbox.setInfoEnvelope(false);
    expect(await post(pay(payee.agentId))).toMatchObject({ outcome: 'SUCCEEDED', response: { tx_id: expect.any(String) } });
    expect(await post(pay('ag_000000000000'))).toMatchObject({ outcome: 'REJECTED', error: 'recipient_not_found' });
  });

  test('a 2xx whose body lacks the id is SUCCEEDED, recorded as it came', async () => {
    sandbox.injectFaults(SERVICE_PATHS.casinoPay, { kind: 'status', status: 200, error: 'ok_without_id' });
    const outcome = await post(pay(payee.agentId));
    expect(outcome).toMatchObject({ outcome: 'SUCCEEDED', status: 200, response: { error: 'ok_without_id' } });
    expect(outcome.outcome === 'SUCCEEDED' && outcome.response.tx_id).toBeUndefined();
  });

  test('each service uses its own key: the casino key does not open trades', async () => {
    const casinoKeyForTrading = clientFor(sandbox, payer.apiKey, payer.apiKey);
    expect(await post(trade(), casinoKeyForTrading)).toMatchObject({ outcome: 'REJECTED', status: 401, attempts: 2 });
    expect(sandbox.committed('trade.open')).toHaveLength(0);
  });

  test('a request for a service the client has no endpoint for fails before anything is sent, naming it', async () => {
    const escrowOnly = new PurpleFleaClient({
      services: { escrow: { baseUrl: sandbox.escrowUrl, credentials: staticCredentials(payer.apiKey) } },
    });
    await expect(post(pay(payee.agentId), escrowOnly)).rejects.toThrow('no base URL and key for the casino service');
    await expect(post({ path: '/wallet/transfer', body: {} }, escrowOnly)).rejects.toThrow('no base URL and key for the gateway service');
    expect(sandbox.calls).toHaveLength(0);
  });

  test("a base URL's own path is kept (the services behind a mount path)", async () => {
    const mounted = await PurpleFleaServicesSandbox.start({ mountPath: '/pf' });
    try {
      const agent = mounted.addCasinoAgent({ balance: 10 });
      const other = mounted.addCasinoAgent();
      const outcome = await post(pay(other.agentId), clientFor(mounted, agent.apiKey, 'unused'));
      expect(outcome).toMatchObject({ outcome: 'SUCCEEDED' });
      expect(mounted.calls[0].path).toBe('/pf/api/v1/stats/pay');
    } finally {
      await mounted.close();
    }
  });
});
