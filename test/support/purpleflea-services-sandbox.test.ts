/**
 * Proves the services sandbox behaves as purpleflea-services.md says the services do, with a real HTTP
 * client (node's fetch): each route's answer, its errors in the documented order, the escrow state
 * machine and its timeout refund, the per-path limits on the sandbox's clock, the faucet's cooldown,
 * partial fills, `_info`, and every fault kind.
 */
import {
  ESCROW_SWEEP_INTERVAL_MS,
  FAUCET_IP_COOLDOWN_MS,
  PurpleFleaServicesSandbox,
  SERVICE_NAMES,
  SERVICE_PATHS,
  withId,
  type CasinoAgent,
  type TradingAgent,
} from './purpleflea-services-sandbox';

/** A fixed start, so that sweep times and windows are exact: sweeps run at T0 + k × 5 min. */
const T0 = Date.parse('2025-06-02T00:00:00.000Z');
const HOUR = 3_600_000;

interface Sent {
  status: number;
  headers: Headers;
  json: any;
}

interface SendOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  /** Sent as is instead of JSON.stringify(body). */
  raw?: string;
  /** The bearer key; none when undefined. */
  key?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

async function send(url: string, options: SendOptions = {}): Promise<Sent> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers.Authorization = `Bearer ${options.key}`;
  const method = options.method ?? (options.body === undefined && options.raw === undefined ? 'GET' : 'POST');
  if (method === 'POST') headers['Content-Type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    body: method === 'POST' ? (options.raw ?? JSON.stringify(options.body ?? {})) : undefined,
    signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
  });
  return { status: res.status, headers: res.headers, json: await res.json() };
}

const post = (url: string, body: unknown, key?: string, headers?: Record<string, string>) =>
  send(url, { method: 'POST', body, key, headers });
const get = (url: string, key?: string) => send(url, { key });
const fromIp = (ip: string) => ({ 'X-Forwarded-For': `${ip}, 10.0.0.1` });

/** Awaits a promise that must reject, and returns what it rejected with. */
async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('PurpleFleaServicesSandbox', () => {
  let sandbox: PurpleFleaServicesSandbox;

  beforeAll(async () => {
    sandbox = await PurpleFleaServicesSandbox.start({ frozenAt: T0 });
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  beforeEach(() => sandbox.reset());

  const escrowCreate = () => sandbox.escrowUrl + SERVICE_PATHS.escrowCreate;
  const escrowRoute = (route: string, id: string) => sandbox.escrowUrl + withId(route, id);
  const casino = (path: string) => sandbox.casinoUrl + path;
  const trading = (path: string) => sandbox.tradingUrl + path;
  const faucetClaim = () => sandbox.faucetUrl + SERVICE_PATHS.faucetClaim;

  describe('hosts', () => {
    test('each service has its own port, and its routes are reachable only through its own base URL', async () => {
      const urls = SERVICE_NAMES.map((service) => sandbox.urlOf(service));
      expect(new Set(urls.map((url) => new URL(url).port)).size).toBe(5);
      expect(urls.every((url) => url.startsWith('http://127.0.0.1:'))).toBe(true);

      const trader = sandbox.addTradingAgent();
      const wrongHost = await post(
        sandbox.escrowUrl + SERVICE_PATHS.tradeOpen,
        { coin: 'BTC', side: 'long', size_usd: 100 },
        trader.apiKey,
      );
      expect(wrongHost.status).toBe(404);
      expect(wrongHost.json).toEqual({ error: 'not_found', _info: expect.objectContaining({ service: 'agent-escrow' }) });
      expect((await post(sandbox.tradingUrl + SERVICE_PATHS.casinoRegister, {})).status).toBe(404);
      expect((await post(sandbox.casinoUrl + SERVICE_PATHS.faucetClaim, { agent_casino_id: 'ag_000000000000' })).status).toBe(404);
      expect((await post(sandbox.faucetUrl + SERVICE_PATHS.escrowCreate, {})).status).toBe(404);
      expect(sandbox.committed()).toEqual([]);

      // The same route on its own host works.
      expect((await post(trading(SERVICE_PATHS.tradeOpen), { coin: 'BTC', side: 'long', size_usd: 100 }, trader.apiKey)).status).toBe(200);
    });

    test('every call is recorded with its host, route template and client IP', async () => {
      const alice = sandbox.addCasinoAgent({ balance: 5 });
      await get(casino(SERVICE_PATHS.casinoBalance), alice.apiKey);
      await post(escrowRoute(SERVICE_PATHS.escrowRelease, 'esc_0000000000000000'), {}, alice.apiKey, fromIp('203.0.113.7'));
      await send(escrowCreate(), { method: 'POST', body: {}, headers: { 'X-Real-IP': '198.51.100.2' } });
      await get(sandbox.tradingUrl + '/nowhere');
      expect(sandbox.calls).toEqual([
        expect.objectContaining({
          service: 'casino',
          method: 'GET',
          path: SERVICE_PATHS.casinoBalance,
          route: SERVICE_PATHS.casinoBalance,
          clientIp: 'unknown',
          status: 200,
        }),
        expect.objectContaining({
          service: 'escrow',
          path: '/escrow/release/esc_0000000000000000',
          route: SERVICE_PATHS.escrowRelease,
          clientIp: '203.0.113.7',
          status: 404,
        }),
        expect.objectContaining({
          service: 'escrow',
          route: SERVICE_PATHS.escrowCreate,
          clientIp: '198.51.100.2',
          status: 401,
          committed: false,
        }),
        expect.objectContaining({ service: 'trading', route: undefined, status: 404 }),
      ]);
    });

    test('mountPath: the services answer only under the base URL path', async () => {
      const mounted = await PurpleFleaServicesSandbox.start({ mountPath: '/pf/' });
      try {
        expect(mounted.casinoUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/pf$/);
        const res = await post(mounted.casinoUrl + SERVICE_PATHS.casinoRegister, {});
        expect(res.status).toBe(201);
        // A client that drops the base URL's path (new URL('/api/...', base)) gets 404.
        const dropped = await post(new URL(SERVICE_PATHS.casinoRegister, mounted.casinoUrl).href, {});
        expect(dropped.status).toBe(404);
        expect(mounted.committed('casino.register')).toHaveLength(1);
      } finally {
        await mounted.close();
      }
    });
  });

  describe('_info envelopes', () => {
    test('every JSON object answer carries _info of its service: success, refusal, unknown route, injected fault', async () => {
      const alice = sandbox.addCasinoAgent({ balance: 5 });
      const answers = [
        await get(casino(SERVICE_PATHS.casinoBalance), alice.apiKey),
        await get(casino(SERVICE_PATHS.casinoBalance)),
        await get(sandbox.escrowUrl + '/nope'),
        await post(faucetClaim(), {}),
        await get(trading(SERVICE_PATHS.tradeHistory), 'sk_trade_unknown'),
      ];
      expect(answers.map((a) => [a.status, a.json._info?.service])).toEqual([
        [200, 'agent-casino'],
        [401, 'agent-casino'],
        [404, 'agent-escrow'],
        [400, 'agent-faucet'],
        [401, 'agent-trading'],
      ]);
      expect(answers[0].json._info).toEqual({
        service: 'agent-casino',
        docs: expect.any(String),
        referral: expect.any(String),
        version: expect.any(String),
      });

      sandbox.injectFaults(SERVICE_PATHS.escrowCreate, { kind: 'status', status: 503 });
      const injected = await post(escrowCreate(), {}, alice.apiKey);
      expect(injected.json).toEqual({
        error: 'service_unavailable',
        message: 'injected fault',
        _info: expect.objectContaining({ service: 'agent-escrow' }),
      });
    });

    test('setInfoEnvelope(false): answers without _info, as clients must also tolerate', async () => {
      sandbox.setInfoEnvelope(false);
      const registered = await post(casino(SERVICE_PATHS.casinoRegister), {});
      expect(registered.status).toBe(201);
      expect(registered.json).not.toHaveProperty('_info');
      expect((await post(faucetClaim(), {})).json).toEqual({ error: 'invalid_request', message: expect.any(String) });
    });
  });

  describe('casino', () => {
    test('register: 201 with a new agent, its key shown once, balance 0; the key reads the balance', async () => {
      const res = await post(casino(SERVICE_PATHS.casinoRegister), { anything: 'ignored' }, undefined, fromIp('203.0.113.1'));
      expect(res.status).toBe(201);
      expect(res.json).toMatchObject({
        agent_id: expect.stringMatching(/^ag_[0-9a-f]{12}$/),
        api_key: expect.stringMatching(/^sk_live_[0-9a-f]{48}$/),
        referral_code: expect.stringMatching(/^ref_[0-9a-f]{8}$/),
        balance: 0,
        tier: 'free',
        risk_factor: 0.25,
        referral_commission: expect.anything(),
        message: expect.any(String),
        next_steps: expect.any(Object),
      });
      const balance = await get(casino(SERVICE_PATHS.casinoBalance), res.json.api_key);
      expect(balance.status).toBe(200);
      expect(balance.json.agent_id).toBe(res.json.agent_id);
      expect(sandbox.committed('casino.register').map((a) => a.id)).toEqual([res.json.agent_id]);
    });

    test("register also claims the faucet for the new agent from the IP 'unknown': once per 24 h for the whole platform", async () => {
      const first = await post(casino(SERVICE_PATHS.casinoRegister), {}, undefined, fromIp('203.0.113.1'));
      const second = await post(casino(SERVICE_PATHS.casinoRegister), {}, undefined, fromIp('203.0.113.2'));
      expect(first.json.balance).toBe(0); // the answer is written before the claim lands
      expect(sandbox.casinoBalance(first.json.agent_id)).toBe(1);
      expect(sandbox.casinoBalance(second.json.agent_id)).toBe(0);
      expect(sandbox.committed('faucet.claim')).toEqual([expect.objectContaining({ agentId: first.json.agent_id, path: undefined })]);

      // The first agent's own claim is then refused as already claimed; the second can still claim from its IP.
      expect((await post(faucetClaim(), { agent_casino_id: first.json.agent_id }, undefined, fromIp('203.0.113.1'))).json.error).toBe(
        'already_claimed',
      );
      expect((await post(faucetClaim(), { agent_casino_id: second.json.agent_id }, undefined, fromIp('203.0.113.2'))).status).toBe(200);
      // A client without a forwarded IP is 'unknown' too, and shares the platform's claim.
      const third = sandbox.addCasinoAgent();
      expect((await post(faucetClaim(), { agent_casino_id: third.agentId })).json.error).toBe('ip_rate_limited');
    });

    test('register: a known referral_code makes its agent the referrer, an unknown one is ignored; bad JSON is 400 invalid_json', async () => {
      const referrer = sandbox.addCasinoAgent();
      const referred = await post(casino(SERVICE_PATHS.casinoRegister), { referral_code: referrer.referralCode });
      expect(sandbox.casinoAgent(referred.json.agent_id)?.referredBy).toBe(referrer.agentId);
      const unknown = await post(casino(SERVICE_PATHS.casinoRegister), { referral_code: 'ref_00000000' });
      expect(unknown.status).toBe(201);
      expect(sandbox.casinoAgent(unknown.json.agent_id)?.referredBy).toBeUndefined();

      const bad = await send(casino(SERVICE_PATHS.casinoRegister), { raw: '{"referral_code":' });
      expect(bad.status).toBe(400);
      expect(bad.json.error).toBe('invalid_json');
      expect(sandbox.committed('casino.register')).toHaveLength(2);
    });

    test('balance: balance_usd, lifetime and the 10 newest ledger entries without ids', async () => {
      const alice = sandbox.addCasinoAgent({ balance: 100 });
      const bob = sandbox.addCasinoAgent();
      for (let i = 1; i <= 12; i++) {
        sandbox.clock.advance(1_000);
        expect((await post(casino(SERVICE_PATHS.casinoPay), { to_agent_id: bob.agentId, amount: i }, alice.apiKey)).status).toBe(200);
      }
      const res = await get(casino(SERVICE_PATHS.casinoBalance), alice.apiKey);
      expect(res.json).toMatchObject({
        agent_id: alice.agentId,
        balance_usd: 100 - 78,
        tier: 'free',
        risk_factor: 0.25,
        lifetime: { total_deposited: 0, total_withdrawn: 0, total_wagered: 0, total_won: 0, net_profit: 0 },
      });
      expect(res.json.recent_activity).toHaveLength(10);
      expect(res.json.recent_activity[0]).toEqual({
        type: 'debit',
        amount: 12,
        balance_after: 22,
        reason: 'payment_sent',
        service: 'payment',
        at: new Date(T0 + 12_000).toISOString(),
      });
      expect(res.json.recent_activity.map((e: any) => e.amount)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    });

    test('ledger: the 50 newest entries, newest first, with camelCase fields and an ISO `at`', async () => {
      const alice = sandbox.addCasinoAgent({ balance: 2_000 });
      const bob = sandbox.addCasinoAgent();
      for (let i = 1; i <= 52; i++) await post(casino(SERVICE_PATHS.casinoPay), { to_agent_id: bob.agentId, amount: i }, alice.apiKey);
      const res = await get(casino(SERVICE_PATHS.casinoLedger), alice.apiKey);
      expect(res.status).toBe(200);
      expect(res.json.entries).toHaveLength(50);
      expect(res.json.entries[0]).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        agentId: alice.agentId,
        type: 'debit',
        amount: 52,
        balanceAfter: 2_000 - (52 * 53) / 2,
        reason: 'payment_sent',
        reference: expect.stringMatching(/^pay_[0-9a-f]{16}$/),
        service: 'payment',
        createdAt: T0 / 1000,
        at: new Date(T0).toISOString(),
      });
      expect(res.json.entries.at(-1).amount).toBe(3);
      expect(sandbox.casinoLedger(alice.agentId)).toHaveLength(52);
    });

    test.each([
      ['no Authorization header', undefined],
      ['an unknown key', 'sk_live_unknown'],
      ['a trading key (another registry)', 'TRADING'],
    ])('balance, ledger and pay with %s → 401 unauthorized with message and suggestion', async (_name, key) => {
      const trader = sandbox.addTradingAgent();
      const used = key === 'TRADING' ? trader.apiKey : key;
      for (const res of [
        await get(casino(SERVICE_PATHS.casinoBalance), used),
        await get(casino(SERVICE_PATHS.casinoLedger), used),
        await post(casino(SERVICE_PATHS.casinoPay), { to_agent_id: 'ag_x', amount: 1 }, used),
      ]) {
        expect(res.status).toBe(401);
        expect(res.json).toMatchObject({ error: 'unauthorized', message: expect.any(String), suggestion: expect.any(String) });
      }
    });

    test('pay: moves casino balance; the memo is echoed, never stored; both ledgers reference the tx_id', async () => {
      const alice = sandbox.addCasinoAgent({ balance: 10 });
      const bob = sandbox.addCasinoAgent({ balance: 1 });
      const res = await post(casino(SERVICE_PATHS.casinoPay), { to_agent_id: bob.agentId, amount: 2.5, memo: 'v1:payout:x' }, alice.apiKey);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        tx_id: expect.stringMatching(/^pay_[0-9a-f]{16}$/),
        from: alice.agentId,
        to: bob.agentId,
        amount: 2.5,
        memo: 'v1:payout:x',
        sender_new_balance: 7.5,
        timestamp: new Date(T0).toISOString(),
        message: expect.any(String),
        note: expect.any(String),
      });
      expect(sandbox.casinoBalance(alice.agentId)).toBe(7.5);
      expect(sandbox.casinoBalance(bob.agentId)).toBe(3.5);
      expect(sandbox.casinoLedger(alice.agentId)).toEqual([
        expect.objectContaining({ type: 'debit', amount: 2.5, reason: 'payment_sent', reference: res.json.tx_id, service: 'payment' }),
      ]);
      expect(sandbox.casinoLedger(bob.agentId)).toEqual([
        expect.objectContaining({ type: 'credit', amount: 2.5, reason: 'payment_received', reference: res.json.tx_id }),
      ]);
      expect(JSON.stringify(sandbox.casinoLedger(alice.agentId))).not.toContain('v1:payout:x');
      expect(sandbox.committed('casino.pay')).toEqual([
        expect.objectContaining({ id: res.json.tx_id, agentId: alice.agentId, path: SERVICE_PATHS.casinoPay }),
      ]);

      const noMemo = await post(casino(SERVICE_PATHS.casinoPay), { to_agent_id: bob.agentId, amount: 0.01 }, alice.apiKey);
      expect(noMemo.json.memo).toBeNull();
    });

    describe('pay refusals, each a request that also breaks every later check', () => {
      let alice: CasinoAgent;
      let bob: CasinoAgent;
      beforeEach(() => {
        alice = sandbox.addCasinoAgent({ balance: 5 });
        bob = sandbox.addCasinoAgent();
      });

      test.each<[string, () => SendOptions, number, string]>([
        ['401 unauthorized first', () => ({ raw: 'not json' }), 401, 'unauthorized'],
        ['400 invalid_json', () => ({ raw: 'not json', key: alice.apiKey }), 400, 'invalid_json'],
        ['400 invalid_request: no to_agent_id', () => ({ body: { amount: 0.001 }, key: alice.apiKey }), 400, 'invalid_request'],
        [
          '400 invalid_request: amount 0 is falsy',
          () => ({ body: { to_agent_id: alice.agentId, amount: 0 }, key: alice.apiKey }),
          400,
          'invalid_request',
        ],
        [
          '400 invalid_amount below 0.01',
          () => ({ body: { to_agent_id: alice.agentId, amount: 0.009 }, key: alice.apiKey }),
          400,
          'invalid_amount',
        ],
        [
          '400 invalid_amount for a string',
          () => ({ body: { to_agent_id: alice.agentId, amount: '1' }, key: alice.apiKey }),
          400,
          'invalid_amount',
        ],
        ['400 same_agent', () => ({ body: { to_agent_id: alice.agentId, amount: 1e9 }, key: alice.apiKey }), 400, 'same_agent'],
        [
          '404 recipient_not_found',
          () => ({ body: { to_agent_id: 'ag_000000000000', amount: 1e9 }, key: alice.apiKey }),
          404,
          'recipient_not_found',
        ],
        [
          '400 (not 402) insufficient_balance',
          () => ({ body: { to_agent_id: bob.agentId, amount: 5.01 }, key: alice.apiKey }),
          400,
          'insufficient_balance',
        ],
      ])('%s', async (_name, options, status, error) => {
        const res = await send(casino(SERVICE_PATHS.casinoPay), { method: 'POST', ...options() });
        expect([res.status, res.json.error]).toEqual([status, error]);
        if (error === 'invalid_request') expect(res.json.example).toEqual(expect.objectContaining({ to_agent_id: expect.any(String) }));
        expect(sandbox.committed()).toEqual([]);
        expect(sandbox.casinoBalance(alice.agentId)).toBe(5);
      });
    });

    test('pay, balance and ledger have no rate limit', async () => {
      const alice = sandbox.addCasinoAgent({ balance: 100 });
      const bob = sandbox.addCasinoAgent();
      const statuses = new Set<number>();
      for (let i = 0; i < 70; i++) {
        statuses.add((await post(casino(SERVICE_PATHS.casinoPay), { to_agent_id: bob.agentId, amount: 1 }, alice.apiKey)).status);
        statuses.add((await get(casino(SERVICE_PATHS.casinoBalance), alice.apiKey)).status);
      }
      expect([...statuses]).toEqual([200]);
      expect(sandbox.committed('casino.pay')).toHaveLength(70);
    });
  });

  describe('escrow', () => {
    let alice: CasinoAgent; // creator
    let bob: CasinoAgent; // counterparty
    let carol: CasinoAgent; // neither
    beforeEach(() => {
      alice = sandbox.addCasinoAgent({ balance: 150 });
      bob = sandbox.addCasinoAgent();
      carol = sandbox.addCasinoAgent({ balance: 1 });
    });

    async function create(body: Record<string, unknown> = {}): Promise<string> {
      const res = await post(
        escrowCreate(),
        { amount_usd: 100, description: 'bonus for job-1', counterparty_agent_id: bob.agentId, ...body },
        alice.apiKey,
      );
      expect(res.status).toBe(201);
      return res.json.escrow_id;
    }

    test('create: 201 funded, the creator debited under <esc>_debit, commission and net at 6 decimals', async () => {
      const res = await post(
        escrowCreate(),
        { amount_usd: 10.015, description: 'v1:escrow:arn:job-1', counterparty_agent_id: bob.agentId, metadata: { x: 1 } },
        alice.apiKey,
        {
          'Idempotency-Key': 'ignored',
        },
      );
      expect(res.status).toBe(201);
      const id = res.json.escrow_id;
      expect(res.json).toEqual({
        escrow_id: expect.stringMatching(/^esc_[0-9a-f]{16}$/),
        amount_usd: 10.015,
        commission_usd: 0.10015,
        net_to_counterparty: 9.91485,
        description: 'v1:escrow:arn:job-1',
        creator_id: alice.agentId,
        counterparty_id: bob.agentId,
        status: 'funded',
        timeout_hours: 24,
        auto_release_at: new Date(T0 + 24 * HOUR).toISOString(),
        next_steps: expect.any(Object),
        _info: expect.any(Object),
      });
      expect(sandbox.casinoBalance(alice.agentId)).toBeCloseTo(150 - 10.015, 9);
      expect(sandbox.casinoLedger(alice.agentId)).toEqual([
        {
          id: `${id}_debit`,
          agentId: alice.agentId,
          type: 'debit',
          amount: 10.015,
          balanceAfter: expect.closeTo(139.985, 9),
          reason: `escrow_lock: ${id}`,
          reference: id,
          service: 'escrow',
          createdAt: T0 / 1000,
        },
      ]);
      expect(sandbox.committed('escrow.create')).toEqual([
        expect.objectContaining({ id, agentId: alice.agentId, idempotencyKey: 'ignored', path: SERVICE_PATHS.escrowCreate }),
      ]);
    });

    test('create: a numeric string amount is parsed; timeout_hours is floored and clamped to 1..720', async () => {
      const cases: Array<[unknown, number]> = [
        [undefined, 24],
        [2.7, 2],
        [0, 1],
        [-5, 1],
        [1_000, 720],
        ['12', 12],
      ];
      for (const [timeout, expected] of cases) {
        const res = await post(
          escrowCreate(),
          { amount_usd: '0.10', description: 'abc', counterparty_agent_id: bob.agentId, timeout_hours: timeout },
          alice.apiKey,
        );
        expect([res.status, res.json.amount_usd, res.json.timeout_hours]).toEqual([201, 0.1, expected]);
        expect(res.json.auto_release_at).toBe(new Date(T0 + expected * HOUR).toISOString());
      }
    });

    test.each<[string, () => SendOptions, number, string]>([
      ['401 unauthorized first, with a message', () => ({ body: { amount_usd: 0 } }), 401, 'unauthorized'],
      [
        '400 invalid_amount below 0.10',
        () => ({ body: { amount_usd: 0.09, description: 'x', counterparty_agent_id: 'agt_x' }, key: alice.apiKey }),
        400,
        'invalid_amount',
      ],
      ['400 invalid_amount when missing (bad JSON reads as {})', () => ({ raw: '{oops', key: alice.apiKey }), 400, 'invalid_amount'],
      [
        '400 invalid_description: 2 characters after trim',
        () => ({ body: { amount_usd: 1, description: '  ab  ', counterparty_agent_id: 'agt_x' }, key: alice.apiKey }),
        400,
        'invalid_description',
      ],
      [
        '400 invalid_counterparty: agt_ is not ag_',
        () => ({ body: { amount_usd: 1, description: 'abc', counterparty_agent_id: 'agt_bob' }, key: alice.apiKey }),
        400,
        'invalid_counterparty',
      ],
      [
        '400 self_escrow',
        () => ({ body: { amount_usd: 1e6, description: 'abc', counterparty_agent_id: alice.agentId }, key: alice.apiKey }),
        400,
        'self_escrow',
      ],
      [
        '404 counterparty_not_found',
        () => ({ body: { amount_usd: 1e6, description: 'abc', counterparty_agent_id: 'ag_000000000000' }, key: alice.apiKey }),
        404,
        'counterparty_not_found',
      ],
      [
        '402 insufficient_balance',
        () => ({ body: { amount_usd: 150.01, description: 'abc', counterparty_agent_id: bob.agentId }, key: alice.apiKey }),
        402,
        'insufficient_balance',
      ],
      [
        '500 for a description that is not a string',
        () => ({ body: { amount_usd: 1, description: 12345, counterparty_agent_id: bob.agentId }, key: alice.apiKey }),
        500,
        'internal_error',
      ],
    ])('create refusal: %s', async (_name, options, status, error) => {
      const res = await send(escrowCreate(), { method: 'POST', ...options() });
      expect([res.status, res.json.error]).toEqual([status, error]);
      if (status === 401) expect(res.json.message).toEqual(expect.any(String));
      if (status === 402) expect(res.json.balance).toBe(150);
      expect(sandbox.committed()).toEqual([]);
      expect(sandbox.casinoLedger(alice.agentId)).toEqual([]);
    });

    test('create with a non-numeric timeout_hours: 500 after a debit and its refund, no escrow', async () => {
      const res = await post(
        escrowCreate(),
        { amount_usd: 5, description: 'abc', counterparty_agent_id: bob.agentId, timeout_hours: 'soon' },
        alice.apiKey,
      );
      expect([res.status, res.json.error]).toEqual([500, 'internal_error']);
      const entries = sandbox.casinoLedger(alice.agentId);
      expect(entries.map((e) => [e.type, e.amount])).toEqual([
        ['debit', 5],
        ['credit', 5],
      ]);
      const escrowId = entries[0].reference!;
      expect(entries.map((e) => e.id)).toEqual([`${escrowId}_debit`, `${escrowId}_refund_credit`]);
      expect(sandbox.casinoBalance(alice.agentId)).toBe(150);
      expect(sandbox.escrow(escrowId)).toBeUndefined();
      expect(sandbox.committed()).toEqual([]);
    });

    test('get: anyone with the id sees the public view; a participant key adds the events; an invalid key is silently public', async () => {
      const id = await create();
      const publicView = {
        escrow_id: id,
        status: 'funded',
        amount_usd: 100,
        commission_usd: 1,
        net_to_counterparty: 99,
        description: 'bonus for job-1',
        creator_id: alice.agentId,
        counterparty_id: bob.agentId,
        timeout_hours: 24,
        created_at: new Date(T0).toISOString(),
        auto_release_at: new Date(T0 + 24 * HOUR).toISOString(),
        completed_at: null,
        released_at: null,
        disputed_at: null,
        _info: expect.any(Object),
      };
      expect((await get(escrowRoute(SERVICE_PATHS.escrowGet, id))).json).toEqual(publicView);
      expect((await get(escrowRoute(SERVICE_PATHS.escrowGet, id), carol.apiKey)).json).toEqual(publicView);
      expect((await get(escrowRoute(SERVICE_PATHS.escrowGet, id), 'sk_live_wrong')).json).toEqual(publicView);
      expect((await get(escrowRoute(SERVICE_PATHS.escrowGet, id), bob.apiKey)).json).toEqual({
        ...publicView,
        events: [{ id: expect.any(Number), escrow_id: id, event: 'created', actor_id: alice.agentId, note: null, created_at: T0 / 1000 }],
      });
      const missing = await get(escrowRoute(SERVICE_PATHS.escrowGet, 'esc_0000000000000000'));
      expect([missing.status, missing.json.error]).toEqual([404, 'not_found']);
    });

    test('create → complete (counterparty) → release (creator): the counterparty gets the net, the referrer 15 % of the fee', async () => {
      const referrer = sandbox.addCasinoAgent();
      const referredCreator = sandbox.addCasinoAgent({ balance: 100, referredBy: referrer.agentId });
      const created = await post(
        escrowCreate(),
        { amount_usd: 100, description: 'abc', counterparty_agent_id: bob.agentId },
        referredCreator.apiKey,
      );
      const id = created.json.escrow_id;

      sandbox.clock.advance(60_000);
      const completed = await post(escrowRoute(SERVICE_PATHS.escrowComplete, id), {}, bob.apiKey);
      expect(completed.status).toBe(200);
      expect(completed.json).toMatchObject({
        escrow_id: id,
        status: 'completed',
        message: expect.any(String),
        next_step: expect.any(String),
        auto_release_at: new Date(T0 + 24 * HOUR).toISOString(),
      });
      expect(sandbox.casinoBalance(bob.agentId)).toBe(0); // completing moves no money

      sandbox.clock.advance(60_000);
      const released = await post(escrowRoute(SERVICE_PATHS.escrowRelease, id), undefined, referredCreator.apiKey);
      expect(released.status).toBe(200);
      expect(released.json).toMatchObject({
        escrow_id: id,
        status: 'released',
        amount_released: 99,
        commission: 1,
        referral_commission: 0.15,
        counterparty_id: bob.agentId,
        message: expect.any(String),
      });
      expect(sandbox.casinoBalance(bob.agentId)).toBe(99);
      expect(sandbox.casinoBalance(referrer.agentId)).toBe(0.15);
      expect(sandbox.casinoLedger(bob.agentId)).toEqual([
        expect.objectContaining({
          id: `${id}_release_credit`,
          type: 'credit',
          amount: 99,
          reason: `escrow_release: ${id}`,
          service: 'escrow',
        }),
      ]);
      expect(sandbox.casinoLedger(referrer.agentId)).toEqual([expect.objectContaining({ id: `${id}_refcom_credit`, amount: 0.15 })]);
      const view = (await get(escrowRoute(SERVICE_PATHS.escrowGet, id), bob.apiKey)).json;
      expect(view).toMatchObject({
        status: 'released',
        completed_at: new Date(T0 + 60_000).toISOString(),
        released_at: new Date(T0 + 120_000).toISOString(),
      });
      expect(view.events.map((e: any) => [e.event, e.actor_id])).toEqual([
        ['created', referredCreator.agentId],
        ['completed', bob.agentId],
        ['released', referredCreator.agentId],
      ]);
      expect(sandbox.committed().map((a) => a.kind)).toEqual(['escrow.create', 'escrow.complete', 'escrow.release']);
    });

    test('release by the creator only: refused for the counterparty and a third party; 401, 404, 409 once released', async () => {
      const id = await create();
      const release = (key?: string) => post(escrowRoute(SERVICE_PATHS.escrowRelease, id), {}, key);

      const unauthorized = await release();
      expect([unauthorized.status, unauthorized.json]).toEqual([401, { error: 'unauthorized', _info: expect.any(Object) }]);
      const missing = await post(escrowRoute(SERVICE_PATHS.escrowRelease, 'esc_0000000000000000'), {}, bob.apiKey);
      expect([missing.status, missing.json.error]).toEqual([404, 'not_found']);
      expect((await release(bob.apiKey)).json.error).toBe('forbidden');
      expect((await release(carol.apiKey)).status).toBe(403);
      expect(sandbox.escrow(id)?.status).toBe('funded');
      expect(sandbox.casinoBalance(bob.agentId)).toBe(0);

      // Released straight from funded: completion is not required.
      expect((await release(alice.apiKey)).status).toBe(200);
      const again = await release(alice.apiKey);
      expect([again.status, again.json.error, again.json.message]).toEqual([409, 'invalid_status', 'Escrow is released']);
      expect(sandbox.casinoBalance(bob.agentId)).toBe(99);
      expect(sandbox.committed('escrow.release')).toHaveLength(1);
    });

    test('complete: the counterparty only, from funded only', async () => {
      const id = await create();
      expect((await post(escrowRoute(SERVICE_PATHS.escrowComplete, id), {}, alice.apiKey)).json.error).toBe('forbidden');
      expect((await post(escrowRoute(SERVICE_PATHS.escrowComplete, id), {}, bob.apiKey)).status).toBe(200);
      const again = await post(escrowRoute(SERVICE_PATHS.escrowComplete, id), {}, bob.apiKey);
      expect([again.status, again.json.error]).toEqual([409, 'invalid_status']);
      expect(sandbox.committed('escrow.complete')).toHaveLength(1);
    });

    test('timeout: at the first sweep after auto_release_at the creator is refunded minus the commission; the referrer keeps its share; the counterparty gets nothing', async () => {
      const referrer = sandbox.addCasinoAgent();
      const id = await create({ timeout_hours: 1, referral_code: referrer.referralCode });
      expect((await post(escrowRoute(SERVICE_PATHS.escrowComplete, id), {}, bob.apiKey)).status).toBe(200);
      expect(sandbox.casinoBalance(alice.agentId)).toBe(50);

      sandbox.clock.advance(HOUR - 1);
      expect(sandbox.escrow(id)?.status).toBe('completed');
      sandbox.clock.advance(1); // T0 + 1 h: auto_release_at, and a sweep time
      const refunded = (await get(escrowRoute(SERVICE_PATHS.escrowGet, id), alice.apiKey)).json;
      expect(refunded).toMatchObject({ status: 'refunded', released_at: new Date(T0 + HOUR).toISOString() });
      expect(refunded.events.at(-1)).toMatchObject({ event: 'refunded', created_at: (T0 + HOUR) / 1000 });
      expect(sandbox.casinoBalance(alice.agentId)).toBe(50 + 99);
      expect(sandbox.casinoLedger(alice.agentId).at(-1)).toMatchObject({
        id: `${id}_timeout_credit`,
        type: 'credit',
        amount: 99,
        reason: `escrow_timeout_refund: ${id}`,
        service: 'escrow',
        createdAt: (T0 + HOUR) / 1000,
      });
      expect(sandbox.casinoBalance(referrer.agentId)).toBe(0.15);
      expect(sandbox.casinoBalance(bob.agentId)).toBe(0);
      expect(sandbox.committed('escrow.timeout_refund')).toEqual([
        expect.objectContaining({ id, agentId: alice.agentId, path: undefined }),
      ]);

      const late = await post(escrowRoute(SERVICE_PATHS.escrowRelease, id), {}, alice.apiKey);
      expect([late.status, late.json.error, late.json.message]).toEqual([409, 'invalid_status', 'Escrow is refunded']);
    });

    test('timeout: a release between auto_release_at and the next sweep still succeeds', async () => {
      sandbox.clock.advance(1_000); // created 1 s after a sweep time, so it expires 1 s after one too
      const id = await create({ timeout_hours: 1 });
      sandbox.clock.advance(HOUR + 1_000);
      expect(sandbox.escrow(id)).toMatchObject({ status: 'funded', autoReleaseAt: T0 + 1_000 + HOUR });
      expect((await post(escrowRoute(SERVICE_PATHS.escrowRelease, id), {}, alice.apiKey)).status).toBe(200);
      sandbox.clock.advance(ESCROW_SWEEP_INTERVAL_MS);
      expect(sandbox.escrow(id)?.status).toBe('released');
      expect(sandbox.casinoBalance(alice.agentId)).toBe(50);
      expect(sandbox.casinoBalance(bob.agentId)).toBe(99);

      // An escrow nobody releases is refunded at the first sweep after it expires.
      const other = await create({ amount_usd: 40, timeout_hours: 1 });
      sandbox.clock.advance(HOUR - 1);
      expect(sandbox.escrow(other)?.status).toBe('funded');
      sandbox.clock.advance(ESCROW_SWEEP_INTERVAL_MS);
      expect(sandbox.escrow(other)?.status).toBe('refunded');
    });

    test('dispute: either party, with a reason or the default; funds stay locked and the sweep skips it', async () => {
      const id = await create({ timeout_hours: 1 });
      expect((await post(escrowRoute(SERVICE_PATHS.escrowDispute, id), { reason: 'x' }, carol.apiKey)).json.error).toBe('forbidden');
      const noKey = await post(escrowRoute(SERVICE_PATHS.escrowDispute, id), {});
      expect([noKey.status, noKey.json.error]).toEqual([401, 'unauthorized']);
      const missing = await post(escrowRoute(SERVICE_PATHS.escrowDispute, 'esc_0000000000000000'), {}, bob.apiKey);
      expect(missing.json).toEqual({ error: 'not_found', _info: expect.any(Object) });

      const disputed = await post(escrowRoute(SERVICE_PATHS.escrowDispute, id), { reason: 'work not delivered' }, bob.apiKey);
      expect(disputed.status).toBe(200);
      expect(disputed.json).toMatchObject({
        escrow_id: id,
        status: 'disputed',
        reason: 'work not delivered',
        message: expect.any(String),
        contact: expect.any(String),
      });
      expect((await post(escrowRoute(SERVICE_PATHS.escrowRelease, id), {}, alice.apiKey)).json.error).toBe('invalid_status');
      expect((await post(escrowRoute(SERVICE_PATHS.escrowDispute, id), {}, alice.apiKey)).status).toBe(409);

      sandbox.clock.advance(800 * HOUR);
      expect(sandbox.escrow(id)).toMatchObject({ status: 'disputed', disputedAt: T0 });
      expect(sandbox.casinoBalance(alice.agentId)).toBe(50);
      expect(sandbox.casinoBalance(bob.agentId)).toBe(0);

      const other = await create({ amount_usd: 10 });
      const byCreator = await post(escrowRoute(SERVICE_PATHS.escrowDispute, other), undefined, alice.apiKey);
      expect(byCreator.json.reason).toBe('No reason provided');
      expect(sandbox.committed('escrow.dispute').map((a) => a.id)).toEqual([id, other]);
    });

    test("referral_code on create replaces the creator's referrer; the creator's own code means no referral at all", async () => {
      const ownReferrer = sandbox.addCasinoAgent();
      const codeOwner = sandbox.addCasinoAgent();
      const creator = sandbox.addCasinoAgent({ balance: 300, referredBy: ownReferrer.agentId });
      const createAs = async (body: Record<string, unknown>) =>
        (await post(escrowCreate(), { amount_usd: 100, description: 'abc', counterparty_agent_id: bob.agentId, ...body }, creator.apiKey))
          .json.escrow_id;
      const viaCode = await createAs({ referral_code: codeOwner.referralCode });
      const viaOwnCode = await createAs({ referral_code: creator.referralCode });
      const viaDefault = await createAs({});
      for (const id of [viaCode, viaOwnCode, viaDefault])
        expect((await post(escrowRoute(SERVICE_PATHS.escrowRelease, id), {}, creator.apiKey)).status).toBe(200);
      expect(sandbox.casinoBalance(codeOwner.agentId)).toBe(0.15);
      expect(sandbox.casinoBalance(ownReferrer.agentId)).toBe(0.15);
      expect(sandbox.escrow(viaOwnCode)?.referralCommission).toBe(0);
    });

    test('stats: public totals', async () => {
      const released = await create({ amount_usd: 50 });
      await create({ amount_usd: 50 });
      await post(escrowRoute(SERVICE_PATHS.escrowRelease, released), {}, alice.apiKey);
      const res = await get(sandbox.escrowUrl + SERVICE_PATHS.escrowStats);
      expect(res.json).toMatchObject({
        total_created: 2,
        total_released: 1,
        total_disputed: 0,
        total_volume_usd: 100,
        total_commission_usd: 1,
        commission_rate: '1%',
        referral_commission_rate: expect.any(String),
      });
    });
  });

  describe('per-path per-minute limits (fixed 60 s windows on the sandbox clock)', () => {
    test('escrow create: 20 per (path, IP); limits run before auth; rejected requests count; the window renews only once MORE than 60 s have passed', async () => {
      const alice = sandbox.addCasinoAgent({ balance: 10 });
      const bob = sandbox.addCasinoAgent();
      const body = { amount_usd: 1, description: 'abc', counterparty_agent_id: bob.agentId };
      for (let i = 0; i < 20; i++) expect((await post(escrowCreate(), body)).status).toBe(401);
      const limited = await post(escrowCreate(), body, alice.apiKey);
      expect(limited.status).toBe(429);
      expect(limited.json).toEqual({ error: 'rate_limited', message: 'Too many requests. Limit: 20 per 60s', _info: expect.any(Object) });
      expect(limited.headers.get('retry-after')).toBeNull();
      expect([...limited.headers.keys()].filter((h) => h.startsWith('x-ratelimit'))).toEqual([]);

      // Another IP has its own window; so has another path of the same service.
      expect((await post(escrowCreate(), body, alice.apiKey, fromIp('203.0.113.9'))).status).toBe(201);
      expect((await get(sandbox.escrowUrl + SERVICE_PATHS.escrowStats)).status).toBe(200);

      sandbox.clock.advance(60_000); // exactly 60 s after the window opened: still the same window
      expect((await post(escrowCreate(), body, alice.apiKey)).status).toBe(429);
      sandbox.clock.advance(1);
      expect((await post(escrowCreate(), body, alice.apiKey)).status).toBe(201);
      expect(sandbox.committed('escrow.create')).toHaveLength(2);
    });

    test('the key is the path, so escrow disputes are limited per escrow id (10 per 60 s)', async () => {
      const alice = sandbox.addCasinoAgent({ balance: 10 });
      const bob = sandbox.addCasinoAgent();
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        ids.push(
          (await post(escrowCreate(), { amount_usd: 1, description: 'abc', counterparty_agent_id: bob.agentId }, alice.apiKey)).json
            .escrow_id,
        );
      }
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) statuses.push((await post(escrowRoute(SERVICE_PATHS.escrowDispute, ids[0]), {}, alice.apiKey)).status);
      expect(statuses).toEqual([200, 409, 409, 409, 409, 409, 409, 409, 409, 409, 429]);
      expect((await post(escrowRoute(SERVICE_PATHS.escrowDispute, ids[1]), {}, alice.apiKey)).status).toBe(200);
    });

    test.each<[string, string, number, 'casino' | 'trading' | 'escrow' | 'faucet']>([
      ['casino register', SERVICE_PATHS.casinoRegister, 10, 'casino'],
      ['trading register', SERVICE_PATHS.tradingRegister, 10, 'trading'],
      ['trade open', SERVICE_PATHS.tradeOpen, 30, 'trading'],
      ['escrow complete', withId(SERVICE_PATHS.escrowComplete, 'esc_0000000000000000'), 30, 'escrow'],
      ['escrow release', withId(SERVICE_PATHS.escrowRelease, 'esc_0000000000000000'), 30, 'escrow'],
      ['faucet claim', SERVICE_PATHS.faucetClaim, 5, 'faucet'],
    ])('%s: %i per 60 s per client IP', async (_name, path, limit, service) => {
      const url = sandbox.urlOf(service) + path;
      for (let i = 0; i < limit; i++)
        expect((await send(url, { method: 'POST', raw: '{}', headers: fromIp('198.51.100.1') })).status).not.toBe(429);
      const over = await send(url, { method: 'POST', raw: '{}', headers: fromIp('198.51.100.1') });
      expect([over.status, over.json.message]).toEqual([429, `Too many requests. Limit: ${limit} per 60s`]);
      expect((await send(url, { method: 'POST', raw: '{}', headers: { 'X-Real-IP': '198.51.100.2' } })).status).not.toBe(429);
    });

    test('trading reads have no limit; setRateLimit overrides one route; setRateLimitsEnabled(false) turns them all off', async () => {
      const trader = sandbox.addTradingAgent();
      for (let i = 0; i < 40; i++) expect((await get(trading(SERVICE_PATHS.tradeHistory), trader.apiKey)).status).toBe(200);

      sandbox.setRateLimit(SERVICE_PATHS.tradeOpen, 1);
      const order = { coin: 'BTC', side: 'long', size_usd: 100 };
      expect((await post(trading(SERVICE_PATHS.tradeOpen), order, trader.apiKey)).status).toBe(200);
      expect((await post(trading(SERVICE_PATHS.tradeOpen), order, trader.apiKey)).status).toBe(429);
      sandbox.setRateLimitsEnabled(false);
      expect((await post(trading(SERVICE_PATHS.tradeOpen), order, trader.apiKey)).status).toBe(200);
      sandbox.reset(); // back to the documented limits
      const again = sandbox.addTradingAgent();
      for (let i = 0; i < 30; i++) await post(trading(SERVICE_PATHS.tradeOpen), order, again.apiKey);
      expect((await post(trading(SERVICE_PATHS.tradeOpen), order, again.apiKey)).status).toBe(429);
    });
  });

  describe('faucet', () => {
    test('claim: no key needed; $1 on the casino balance under <claim_id>_ledger', async () => {
      const agent = sandbox.addCasinoAgent();
      const referrer = sandbox.addCasinoAgent();
      const res = await post(faucetClaim(), { agent_casino_id: agent.agentId, referral_code: referrer.referralCode });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        credited: 1,
        message: expect.any(String),
        casino_url: sandbox.casinoUrl,
        claim_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        agent_id: agent.agentId,
        referral_tracked: true,
      });
      expect(sandbox.casinoBalance(agent.agentId)).toBe(1);
      expect(sandbox.casinoLedger(agent.agentId)).toEqual([
        expect.objectContaining({
          id: `${res.json.claim_id}_ledger`,
          type: 'credit',
          amount: 1,
          reason: 'faucet_claim: $1 free credits',
          service: 'faucet',
        }),
      ]);
      expect(sandbox.committed('faucet.claim')).toEqual([
        expect.objectContaining({ id: res.json.claim_id, agentId: agent.agentId, path: SERVICE_PATHS.faucetClaim }),
      ]);
    });

    test('refusals in order: invalid_request, then ip_rate_limited (before the agent is looked at), agent_not_found, already_claimed, has_deposits', async () => {
      const claimed = sandbox.addCasinoAgent();
      const depositor = sandbox.addCasinoAgent({ hasDeposits: true });
      const claim = (body: unknown, ip: string) => post(faucetClaim(), body, undefined, fromIp(ip));
      const errorOf = async (body: unknown, ip: string) => {
        const res = await claim(body, ip);
        return [res.status, res.json.error];
      };

      expect(await errorOf({ agent_casino_id: 'agt_x' }, '192.0.2.1')).toEqual([400, 'invalid_request']);
      expect(await errorOf({}, '192.0.2.1')).toEqual([400, 'invalid_request']);
      expect((await claim({ agent_casino_id: claimed.agentId }, '192.0.2.1')).status).toBe(200);
      // The same IP: refused as ip_rate_limited even for an unknown agent or one that already claimed.
      expect(await errorOf({ agent_casino_id: 'ag_000000000000' }, '192.0.2.1')).toEqual([429, 'ip_rate_limited']);
      expect(await errorOf({ agent_casino_id: claimed.agentId }, '192.0.2.1')).toEqual([429, 'ip_rate_limited']);
      expect(await errorOf({ agent_casino_id: 'ag_000000000000' }, '192.0.2.2')).toEqual([404, 'agent_not_found']);
      expect(await errorOf({ agent_casino_id: claimed.agentId }, '192.0.2.3')).toEqual([409, 'already_claimed']);
      expect(await errorOf({ agent_casino_id: depositor.agentId }, '192.0.2.4')).toEqual([403, 'has_deposits']);
      expect(sandbox.committed('faucet.claim')).toHaveLength(1);
      expect(sandbox.casinoBalance(claimed.agentId)).toBe(1);
    });

    test('rate_limited comes first: the 6th request in a minute from one IP, whatever it asks', async () => {
      const fresh = sandbox.addCasinoAgent();
      for (let i = 0; i < 5; i++) await post(faucetClaim(), { agent_casino_id: 'bad' }, undefined, fromIp('192.0.2.9'));
      const res = await post(faucetClaim(), { agent_casino_id: fresh.agentId }, undefined, fromIp('192.0.2.9'));
      expect([res.status, res.json.error]).toEqual([429, 'rate_limited']);
    });

    test('the per-IP cooldown is 24 h from the successful claim', async () => {
      const first = sandbox.addCasinoAgent();
      const second = sandbox.addCasinoAgent();
      expect((await post(faucetClaim(), { agent_casino_id: first.agentId }, undefined, fromIp('192.0.2.5'))).status).toBe(200);
      sandbox.clock.advance(FAUCET_IP_COOLDOWN_MS - 1);
      expect((await post(faucetClaim(), { agent_casino_id: second.agentId }, undefined, fromIp('192.0.2.5'))).json.error).toBe(
        'ip_rate_limited',
      );
      sandbox.clock.advance(1);
      expect((await post(faucetClaim(), { agent_casino_id: second.agentId }, undefined, fromIp('192.0.2.5'))).status).toBe(200);
    });
  });

  describe('trading', () => {
    let trader: TradingAgent;
    beforeEach(() => {
      trader = sandbox.addTradingAgent();
    });
    const open = (body: unknown, key: string | undefined = trader.apiKey) => post(trading(SERVICE_PATHS.tradeOpen), body, key);

    test('register: its own registry and keys; a casino key is unknown here and a trading key unknown to the casino', async () => {
      const res = await post(trading(SERVICE_PATHS.tradingRegister), {});
      expect(res.status).toBe(201);
      expect(res.json).toMatchObject({
        agent_id: expect.stringMatching(/^ag_[0-9a-f]{12}$/),
        api_key: expect.stringMatching(/^sk_trade_[0-9a-f]{48}$/),
        referral_code: expect.stringMatching(/^ref_[0-9a-f]{8}$/),
        tier: 'free',
        deposit_address: expect.stringMatching(/^0x[0-9a-f]{40}$/),
        hl_wallet: {
          address: res.json.deposit_address,
          generated: true,
          signing_key_stored: true,
          builder_fee_approved: false,
          execution: expect.any(String),
          onboarding: expect.any(String),
        },
        message: expect.any(String),
        fee_structure: expect.any(Object),
        referral_commission: expect.anything(),
        next_steps: expect.any(Object),
      });
      expect(sandbox.casinoAgent(res.json.agent_id)).toBeUndefined();
      expect((await get(casino(SERVICE_PATHS.casinoBalance), res.json.api_key)).status).toBe(401);
      const casinoAgent = sandbox.addCasinoAgent();
      expect((await get(trading(SERVICE_PATHS.tradeHistory), casinoAgent.apiKey)).json).toEqual({
        error: 'invalid_key',
        _info: expect.any(Object),
      });
      expect((await get(trading(SERVICE_PATHS.tradeHistory), res.json.api_key)).status).toBe(200);
    });

    test('register: an address with its key is stored, a key alone derives the address, an address alone gets a fresh wallet; bad ones are refused in order', async () => {
      const address = `0x${'ab'.repeat(20)}`;
      const key = `0x${'cd'.repeat(32)}`;
      const both = await post(trading(SERVICE_PATHS.tradingRegister), {
        hl_wallet_address: address,
        hl_signing_key: key,
        wallet_agent_id: 'ag_x',
      });
      expect(both.json.hl_wallet).toMatchObject({ address, generated: false, signing_key_stored: true });
      const keyOnly = await post(trading(SERVICE_PATHS.tradingRegister), { hl_signing_key: key });
      expect(keyOnly.json.hl_wallet).toMatchObject({ address: expect.stringMatching(/^0x[0-9a-f]{40}$/), generated: false });
      const addressOnly = await post(trading(SERVICE_PATHS.tradingRegister), { hl_wallet_address: address });
      expect(addressOnly.json.hl_wallet.generated).toBe(true);
      expect(addressOnly.json.hl_wallet.address).not.toBe(address);

      const badBoth = await post(trading(SERVICE_PATHS.tradingRegister), { hl_wallet_address: '0x12', hl_signing_key: '0x34' });
      expect([badBoth.status, badBoth.json.error]).toEqual([400, 'invalid_wallet']);
      expect((await post(trading(SERVICE_PATHS.tradingRegister), { hl_signing_key: key.slice(0, -1) })).json.error).toBe(
        'invalid_signing_key',
      );
      expect((await send(trading(SERVICE_PATHS.tradingRegister), { raw: 'nope' })).json.error).toBe('invalid_json');
      expect(sandbox.committed('trading.register')).toHaveLength(3);
    });

    test('register: a referral is honoured only when the referrer was not itself referred', async () => {
      const root = await post(trading(SERVICE_PATHS.tradingRegister), {});
      const child = await post(trading(SERVICE_PATHS.tradingRegister), { referral_code: root.json.referral_code });
      const grandchild = await post(trading(SERVICE_PATHS.tradingRegister), { referral_code: child.json.referral_code });
      expect(sandbox.tradingAgent(child.json.agent_id)?.referredBy).toBe(root.json.agent_id);
      expect(sandbox.tradingAgent(grandchild.json.agent_id)?.referredBy).toBeUndefined();
    });

    test('open: 200 with the position; leverage 5 when not sent; size_usd is notional; fees and estimates at cents', async () => {
      const res = await open({ coin: 'btc', side: 'long', size_usd: 1_000 });
      expect(res.status).toBe(200);
      // 1000 / 64000 = 0.015625 BTC, rounded to 5 decimals: 0.01563 BTC = $1000.32.
      expect(res.json).toEqual({
        position_id: expect.stringMatching(/^pos_[0-9a-f-]{36}$/),
        order_id: expect.stringMatching(/^ord_[0-9a-f-]{36}$/),
        coin: 'BTC',
        ticker: 'BTC',
        category: 'crypto',
        dex: '',
        side: 'long',
        size_usd: 1000.32,
        entry_price: 64_000,
        leverage: 5,
        max_leverage: 40,
        margin_used: 200.06,
        liquidation_price: 51_520,
        fee: 0.55,
        fee_breakdown: { hyperliquid: 0.35, purple_flea_builder: 0.2 },
        hl_order_id: expect.any(Number),
        execution: 'real',
        status: 'open',
        _info: expect.any(Object),
      });
      expect(sandbox.committed('trade.open')).toEqual([
        expect.objectContaining({ id: res.json.position_id, agentId: trader.agentId, recorded: true }),
      ]);

      const short = await open({ coin: 'TSLA', side: 'short', size_usd: 500, leverage: 50 });
      // Capped silently at the agent's max_leverage (10), which the market allows.
      expect(short.json).toMatchObject({
        coin: 'xyz:TSLA',
        ticker: 'TSLA',
        dex: 'xyz',
        category: 'stocks',
        leverage: 10,
        max_leverage: 10,
        size_usd: 500,
      });
      expect(short.json.liquidation_price).toBe(273.75);
    });

    test('open with a partial fill: size_usd, margin and the records are the filled part', async () => {
      sandbox.fillNextOrders(0.4);
      const res = await open({ coin: 'ETH', side: 'long', size_usd: 3_200, leverage: 4 });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ size_usd: 1_280, margin_used: 320, leverage: 4 });
      expect(sandbox.hyperliquidPosition(trader.agentId, 'ETH')).toEqual({ coin: 'ETH', size: 0.4, entryPrice: 3_200, leverage: 4 });
      const [row] = (await get(trading(SERVICE_PATHS.tradeHistory), trader.apiKey)).json.trades;
      expect(row).toMatchObject({ sizeUsd: 1_280, side: 'buy', coin: 'ETH', price: 3_200, realizedPnl: 0 });

      // The next order fills completely again.
      expect((await open({ coin: 'ETH', side: 'long', size_usd: 3_200 })).json.size_usd).toBe(3_200);
    });

    describe('open refusals, each a request that also breaks every later check', () => {
      test.each<[string, () => SendOptions | Promise<SendOptions>, number, string]>([
        ['401 unauthorized without a header', () => ({ raw: 'x' }), 401, 'unauthorized'],
        ['401 invalid_key, no message', () => ({ raw: 'x', key: 'sk_trade_nope' }), 401, 'invalid_key'],
        ['400 invalid_json', () => ({ raw: '{"coin":', key: trader.apiKey }), 400, 'invalid_json'],
        [
          '400 invalid_request: size 0',
          () => ({ body: { coin: 'BTC', side: 'up', size_usd: 0 }, key: trader.apiKey }),
          400,
          'invalid_request',
        ],
        ['400 invalid_request: no coin', () => ({ body: { side: 'long', size_usd: 10 }, key: trader.apiKey }), 400, 'invalid_request'],
        [
          '400 invalid_size: a string',
          () => ({ body: { coin: 'BTC', side: 'up', size_usd: '100', leverage: 0 }, key: trader.apiKey }),
          400,
          'invalid_size',
        ],
        [
          '400 invalid_size: negative',
          () => ({ body: { coin: 'BTC', side: 'up', size_usd: -1 }, key: trader.apiKey }),
          400,
          'invalid_size',
        ],
        [
          '400 invalid_side',
          () => ({ body: { coin: 'BTC', side: 'buy', size_usd: 1e9, leverage: 0 }, key: trader.apiKey }),
          400,
          'invalid_side',
        ],
        [
          '400 invalid_leverage below 1',
          () => ({ body: { coin: 'BTC', side: 'long', size_usd: 1e9, leverage: 0.5 }, key: trader.apiKey }),
          400,
          'invalid_leverage',
        ],
        [
          '400 invalid_leverage as a string',
          () => ({ body: { coin: 'BTC', side: 'long', size_usd: 100, leverage: '3' }, key: trader.apiKey }),
          400,
          'invalid_leverage',
        ],
        [
          '400 position_too_large',
          () => ({ body: { coin: 'NOPE', side: 'long', size_usd: 10_000.01 }, key: trader.apiKey }),
          400,
          'position_too_large',
        ],
        [
          '403 daily_loss_limit_reached',
          () => ({
            body: { coin: 'NOPE', side: 'long', size_usd: 100 },
            key: sandbox.addTradingAgent({ maxDailyLossUsd: 50, lossTodayUsd: 50, walletAddress: null }).apiKey,
          }),
          403,
          'daily_loss_limit_reached',
        ],
        [
          '400 wallet_not_configured',
          () => ({ body: { coin: 'NOPE', side: 'long', size_usd: 100 }, key: sandbox.addTradingAgent({ walletAddress: null }).apiKey }),
          400,
          'wallet_not_configured',
        ],
        [
          '400 trade_failed: unknown market',
          () => ({ body: { coin: 'NOPE', side: 'long', size_usd: 100 }, key: trader.apiKey }),
          400,
          'trade_failed',
        ],
      ])('%s', async (_name, options, status, error) => {
        const res = await send(trading(SERVICE_PATHS.tradeOpen), { method: 'POST', ...(await options()) });
        expect([res.status, res.json.error]).toEqual([status, error]);
        if (error === 'invalid_key') expect(res.json).not.toHaveProperty('message');
        if (error === 'invalid_request')
          expect(res.json.examples).toEqual(expect.arrayContaining([expect.objectContaining({ coin: expect.any(String) })]));
        if (error === 'position_too_large') expect(res.json.max_position_usd).toBe(10_000);
        if (error === 'daily_loss_limit_reached') expect(res.json.resets_at).toBe('2025-06-03T00:00:00.000Z');
        expect(sandbox.committed()).toEqual([]);
      });

      test('400 trade_failed for every execution failure, and nothing is filled', async () => {
        const lenient = sandbox.addTradingAgent({ maxLeverage: 20 });
        sandbox.setMarketPrice('SOL', undefined);
        sandbox.fillNextOrders(0);
        const failures = [
          await open({ coin: 'BTC', side: 'long', size_usd: 100 }), // the queued 0 fill: not filled (IOC)
          await open({ coin: 'SOL', side: 'long', size_usd: 100 }), // no price
          await open({ coin: 'TSLA', side: 'long', size_usd: 100, leverage: 15 }, lenient.apiKey), // above the market's 10x
          await open({ coin: 'BTC', side: 'long', size_usd: 5 }), // 0.00008 BTC = $5.12, below Hyperliquid's $10 minimum
        ];
        sandbox.setHyperliquidReachable(false);
        failures.push(await open({ coin: 'BTC', side: 'long', size_usd: 100 }));
        expect(failures.map((f) => [f.status, f.json.error])).toEqual(Array(5).fill([400, 'trade_failed']));
        expect(failures.map((f) => f.json.message)).toEqual([
          expect.stringMatching(/could not immediately match/),
          'Trade failed: No price for SOL',
          expect.stringMatching(/exceeds the maximum of 10x/),
          expect.stringMatching(/minimum value of \$10/),
          expect.stringMatching(/unreachable/),
        ]);
        expect(sandbox.committed()).toEqual([]);
        expect(sandbox.hyperliquidPosition(trader.agentId, 'BTC')).toBeUndefined();
      });
    });

    test('reads: history newest first with a limit (default 50, max 200); positions live from Hyperliquid, net per coin, or the stored rows', async () => {
      const first = await open({ coin: 'BTC', side: 'long', size_usd: 640 });
      sandbox.clock.advance(1_000);
      const second = await open({ coin: 'BTC', side: 'long', size_usd: 640 });
      sandbox.clock.advance(1_000);
      await open({ coin: 'ETH', side: 'short', size_usd: 320 });
      sandbox.setMarketPrice('BTC', 65_000);

      const history = (await get(trading(SERVICE_PATHS.tradeHistory) + '?limit=2', trader.apiKey)).json;
      expect(history.count).toBe(2);
      expect(history.trades.map((t: any) => [t.coin, t.side, t.createdAt])).toEqual([
        ['ETH', 'sell', T0 / 1000 + 2],
        ['BTC', 'buy', T0 / 1000 + 1],
      ]);
      expect(history.trades[0]).toEqual({
        id: expect.stringMatching(/^trd_/),
        agentId: trader.agentId,
        orderId: expect.stringMatching(/^ord_/),
        coin: 'ETH',
        side: 'sell',
        sizeUsd: 320,
        price: 3_200,
        fee: 0.17,
        realizedPnl: 0,
        createdAt: T0 / 1000 + 2,
      });
      expect((await get(trading(SERVICE_PATHS.tradeHistory) + '?limit=1000', trader.apiKey)).json.count).toBe(3);

      const live = (await get(trading(SERVICE_PATHS.tradePositions), trader.apiKey)).json;
      expect(live).toMatchObject({ source: 'hyperliquid', count: 2 });
      expect(live.positions.find((p: any) => p.coin === 'BTC')).toEqual({
        position_id: second.json.position_id, // the newest open stored position in that coin
        coin: 'BTC',
        ticker: 'BTC',
        side: 'long',
        size: 0.02,
        size_usd: 1_300,
        entry_price: 64_000,
        current_price: 65_000,
        leverage: 5,
        margin_used: 260,
        liquidation_price: 51_520,
        unrealized_pnl: 20,
        return_on_equity: 0.08,
        source: 'hyperliquid',
      });
      expect(live.positions.find((p: any) => p.coin === 'ETH')).toMatchObject({ side: 'short', size: 0.1 });

      const all = (await get(trading(SERVICE_PATHS.tradePositions) + '?status=all', trader.apiKey)).json;
      expect(all.count).toBe(3);
      expect(all.positions.map((p: any) => p.id).slice(1)).toEqual([second.json.position_id, first.json.position_id]);
      expect(all.positions[1]).toMatchObject({
        agentId: trader.agentId,
        coin: 'BTC',
        side: 'long',
        sizeUsd: 640,
        entryPrice: 64_000,
        status: 'open',
        hlOrderId: second.json.hl_order_id,
        openedAt: T0 / 1000 + 1,
        closedAt: null,
        ticker: 'BTC',
        current_price: 65_000,
        unrealized_pnl: 10,
      });

      sandbox.setHyperliquidReachable(false);
      const fallback = (await get(trading(SERVICE_PATHS.tradePositions), trader.apiKey)).json;
      expect(fallback).toMatchObject({ source: 'database', count: 3 });
      expect((await get(trading(SERVICE_PATHS.tradePositions))).status).toBe(401);
    });
  });

  describe('faults', () => {
    let alice: CasinoAgent;
    let bob: CasinoAgent;
    beforeEach(() => {
      alice = sandbox.addCasinoAgent({ balance: 100 });
      bob = sandbox.addCasinoAgent();
    });
    const escrowBody = () => ({ amount_usd: 10, description: 'abc', counterparty_agent_id: bob.agentId });

    test.each([
      [429, 'rate_limited'],
      [500, 'internal_error'],
      [502, 'bad_gateway'],
      [503, 'service_unavailable'],
    ])('status %i answers %s with _info and commits nothing', async (status, error) => {
      sandbox.injectFaults(SERVICE_PATHS.escrowCreate, { kind: 'status', status });
      const res = await post(escrowCreate(), escrowBody(), alice.apiKey);
      expect([res.status, res.json.error, res.json._info?.service]).toEqual([status, error, 'agent-escrow']);
      expect(res.headers.get('retry-after')).toBeNull();
      expect(sandbox.committed()).toEqual([]);
      expect(sandbox.casinoBalance(alice.agentId)).toBe(100);
      expect(sandbox.calls[0]).toMatchObject({ status, committed: false, fault: { kind: 'status', status } });
    });

    test('status-after-commit: the payment moved, the client sees 500', async () => {
      sandbox.injectFaults(SERVICE_PATHS.casinoPay, { kind: 'status-after-commit', status: 500 });
      const res = await post(casino(SERVICE_PATHS.casinoPay), { to_agent_id: bob.agentId, amount: 3 }, alice.apiKey);
      expect([res.status, res.json.error]).toEqual([500, 'internal_error']);
      expect(sandbox.casinoBalance(bob.agentId)).toBe(3);
      expect(sandbox.committed('casino.pay')).toHaveLength(1);
      expect(sandbox.calls[0]).toMatchObject({ status: 500, committed: true });
    });

    test('an after-commit fault does not bite a refused request (402), and is consumed', async () => {
      sandbox.injectFaults(SERVICE_PATHS.escrowCreate, { kind: 'reset-after-commit' });
      const res = await post(escrowCreate(), { ...escrowBody(), amount_usd: 1_000 }, alice.apiKey);
      expect([res.status, res.json.error]).toEqual([402, 'insufficient_balance']);
      expect(sandbox.pendingFaults).toBe(0);
    });

    test('timeout: never answers, nothing committed', async () => {
      sandbox.injectFaults(SERVICE_PATHS.escrowCreate, { kind: 'timeout' });
      const err = await rejection(send(escrowCreate(), { method: 'POST', body: escrowBody(), key: alice.apiKey, timeoutMs: 150 }));
      expect(err.name).toBe('TimeoutError');
      expect(sandbox.committed()).toEqual([]);
      expect(sandbox.casinoBalance(alice.agentId)).toBe(100);
      expect(sandbox.calls[0]).toMatchObject({ status: 'timeout', committed: false });
    });

    test('timeout-after-commit: the escrow exists and the creator is debited, the client times out', async () => {
      sandbox.injectFaults(SERVICE_PATHS.escrowCreate, { kind: 'timeout-after-commit' });
      const err = await rejection(send(escrowCreate(), { method: 'POST', body: escrowBody(), key: alice.apiKey, timeoutMs: 150 }));
      expect(err.name).toBe('TimeoutError');
      expect(sandbox.committed('escrow.create')).toHaveLength(1);
      expect(sandbox.casinoBalance(alice.agentId)).toBe(90);
    });

    test('reset-before-commit: the connection drops, nothing committed', async () => {
      sandbox.injectFaults(SERVICE_PATHS.tradeOpen, { kind: 'reset-before-commit' });
      const trader = sandbox.addTradingAgent();
      const err = await rejection(post(trading(SERVICE_PATHS.tradeOpen), { coin: 'BTC', side: 'long', size_usd: 100 }, trader.apiKey));
      expect([err.name, err.message, err.cause?.code]).toEqual(['TypeError', 'fetch failed', 'UND_ERR_SOCKET']);
      expect(sandbox.committed()).toEqual([]);
      expect(sandbox.hyperliquidPosition(trader.agentId, 'BTC')).toBeUndefined();
    });

    test('reset-after-commit: the answer is lost; the ledger and GET /escrow/:id find what happened', async () => {
      sandbox.injectFaults(SERVICE_PATHS.escrowCreate, { kind: 'reset-after-commit' });
      const err = await rejection(post(escrowCreate(), { ...escrowBody(), description: 'v1:escrow:job-7' }, alice.apiKey));
      expect(err.cause?.code).toBe('UND_ERR_SOCKET');
      expect(sandbox.calls[0]).toMatchObject({ status: 'reset', committed: true });

      const { entries } = (await get(casino(SERVICE_PATHS.casinoLedger), alice.apiKey)).json;
      const lock = entries.find((e: any) => e.service === 'escrow' && e.reason.startsWith('escrow_lock: '));
      expect(lock).toMatchObject({ amount: 10, createdAt: T0 / 1000 });
      const found = await get(escrowRoute(SERVICE_PATHS.escrowGet, lock.reference), alice.apiKey);
      expect(found.json).toMatchObject({ status: 'funded', description: 'v1:escrow:job-7', counterparty_id: bob.agentId, amount_usd: 10 });
    });

    test('delay and setLatency: answered normally, later', async () => {
      sandbox.injectFaults(SERVICE_PATHS.casinoBalance, { kind: 'delay', ms: 120 });
      let started = Date.now();
      expect((await get(casino(SERVICE_PATHS.casinoBalance), alice.apiKey)).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(110);
      sandbox.setLatency(60);
      started = Date.now();
      await get(casino(SERVICE_PATHS.casinoBalance), alice.apiKey);
      await get(sandbox.escrowUrl + SERVICE_PATHS.escrowStats);
      expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    });

    test('faults match a route template (any id), an exact path, or * (any host), oldest first', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await post(escrowCreate(), escrowBody(), alice.apiKey)).json.escrow_id);
      sandbox.injectFaults(SERVICE_PATHS.escrowRelease, { kind: 'status', status: 502 });
      sandbox.injectFaults(withId(SERVICE_PATHS.escrowRelease, ids[2]), { kind: 'status', status: 503 });
      sandbox.injectFaults('*', { kind: 'status', status: 500 });
      expect((await get(casino(SERVICE_PATHS.casinoBalance), alice.apiKey)).status).toBe(500);
      expect((await post(escrowRoute(SERVICE_PATHS.escrowRelease, ids[2]), {}, alice.apiKey)).status).toBe(502);
      expect((await post(escrowRoute(SERVICE_PATHS.escrowRelease, ids[1]), {}, alice.apiKey)).status).toBe(200);
      expect((await post(escrowRoute(SERVICE_PATHS.escrowRelease, ids[2]), {}, alice.apiKey)).status).toBe(503);
      expect(sandbox.pendingFaults).toBe(0);
    });

    test('trade-failed-after-fill: 400 trade_failed, filled on Hyperliquid, absent from the database', async () => {
      const trader = sandbox.addTradingAgent();
      sandbox.injectFaults(SERVICE_PATHS.tradeOpen, { kind: 'trade-failed-after-fill' });
      const res = await post(trading(SERVICE_PATHS.tradeOpen), { coin: 'BTC', side: 'short', size_usd: 640 }, trader.apiKey);
      expect([res.status, res.json.error]).toEqual([400, 'trade_failed']);
      expect(sandbox.committed('trade.open')).toEqual([
        expect.objectContaining({ agentId: trader.agentId, recorded: false, id: expect.stringMatching(/^hl_\d+$/) }),
      ]);
      expect(sandbox.calls[0]).toMatchObject({ status: 400, committed: true });

      expect((await get(trading(SERVICE_PATHS.tradeHistory), trader.apiKey)).json.count).toBe(0);
      expect((await get(trading(SERVICE_PATHS.tradePositions) + '?status=all', trader.apiKey)).json.count).toBe(0);
      const live = (await get(trading(SERVICE_PATHS.tradePositions), trader.apiKey)).json;
      expect(live.positions).toEqual([
        expect.objectContaining({ position_id: null, coin: 'BTC', side: 'short', size: 0.01, size_usd: 640 }),
      ]);
    });

    test('status-after-commit 400 trade_failed: a fill the database did record', async () => {
      const trader = sandbox.addTradingAgent();
      sandbox.injectFaults(SERVICE_PATHS.tradeOpen, {
        kind: 'status-after-commit',
        status: 400,
        error: 'trade_failed',
        message: 'Trade failed: timeout',
      });
      const res = await post(trading(SERVICE_PATHS.tradeOpen), { coin: 'BTC', side: 'long', size_usd: 640 }, trader.apiKey);
      expect(res.json).toEqual({ error: 'trade_failed', message: 'Trade failed: timeout', _info: expect.any(Object) });
      expect((await get(trading(SERVICE_PATHS.tradePositions) + '?status=all', trader.apiKey)).json.count).toBe(1);
    });

    test('release-failed-after-credit: 500 with the counterparty paid; retries fail on the duplicate credit; the timeout then refunds the creator too', async () => {
      const id = (await post(escrowCreate(), { ...escrowBody(), timeout_hours: 1 }, alice.apiKey)).json.escrow_id;
      sandbox.injectFaults(SERVICE_PATHS.escrowRelease, { kind: 'release-failed-after-credit' });
      const failed = await post(escrowRoute(SERVICE_PATHS.escrowRelease, id), {}, alice.apiKey);
      expect([failed.status, failed.json.error]).toEqual([500, 'release_failed']);
      expect(sandbox.escrow(id)?.status).toBe('funded');
      expect(sandbox.casinoBalance(bob.agentId)).toBe(9.9);

      const retry = await post(escrowRoute(SERVICE_PATHS.escrowRelease, id), {}, alice.apiKey);
      expect([retry.status, retry.json.error]).toEqual([500, 'release_failed']);
      expect(sandbox.casinoBalance(bob.agentId)).toBe(9.9);

      sandbox.clock.advance(HOUR);
      expect(sandbox.escrow(id)?.status).toBe('refunded');
      expect(sandbox.casinoBalance(alice.agentId)).toBe(90 + 9.9);
      expect(sandbox.committed().map((a) => a.kind)).toEqual(['escrow.create', 'escrow.release', 'escrow.timeout_refund']);
    });

    test('close() finishes while a request is left unanswered', async () => {
      const own = await PurpleFleaServicesSandbox.start();
      own.injectFaults('*', { kind: 'timeout' });
      const hanging = fetch(own.faucetUrl + SERVICE_PATHS.faucetClaim, { method: 'POST', body: '{}' });
      await own.waitForCalls(1);
      const started = Date.now();
      await own.close();
      expect(Date.now() - started).toBeLessThan(1_000);
      await expect(hanging).rejects.toThrow();
    });
  });
});
