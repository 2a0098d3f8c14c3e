/**
 * Proves the local stand-ins behave as the handler tests assume, using the REAL SDK clients and fetch.
 */
import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient, ValidationError } from '@aws-sdk/client-sagemaker-runtime';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LEDGER_PARTITION_KEY } from '../../lib/private/contracts/ledger-schema';
import { applyEnvironment, awsTestEnvironment } from './aws-env';
import { createLedgerTable, startDynalite, type DynaliteServer } from './dynalite';
import { FAKE_ACCOUNT_ID, FakeAws } from './fake-aws';
import { ESCROW_CREATE_PATH, PurpleFleaSandbox, SANDBOX_API_KEY, TRADING_ORDER_PATH, WALLET_TRANSFER_PATH } from './purpleflea-sandbox';

/** Awaits a promise that must reject, and returns what it rejected with. */
async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('FakeAws and dynalite with the real SDK clients', () => {
  let fake: FakeAws;
  let dynamo: DynaliteServer;
  let restoreEnv: () => void;
  let runtime: SageMakerRuntimeClient;
  let secrets: SecretsManagerClient;
  let sagemaker: SageMakerClient;

  beforeAll(async () => {
    [fake, dynamo] = await Promise.all([FakeAws.start(), startDynalite()]);
    // The clients get no endpoint in code: they must find the stand-ins through AWS_ENDPOINT_URL_*.
    restoreEnv = applyEnvironment(awsTestEnvironment(fake.url, dynamo.endpoint));
    runtime = new SageMakerRuntimeClient({});
    secrets = new SecretsManagerClient({});
    sagemaker = new SageMakerClient({});
  });

  afterAll(async () => {
    for (const client of [runtime, secrets, sagemaker]) client?.destroy();
    await Promise.all([fake?.close(), dynamo?.close()]);
    restoreEnv?.();
  });

  beforeEach(() => fake.reset());

  describe('SageMaker Runtime InvokeEndpoint', () => {
    test('round trip: the container sees body and headers, the client gets its answer', async () => {
      fake.setEndpointHandler('churn-model', ({ body, targetVariant }) => ({
        contentType: 'application/json',
        body: JSON.stringify({ echo: JSON.parse(body), variant: targetVariant }),
      }));

      const out = await runtime.send(
        new InvokeEndpointCommand({
          EndpointName: 'churn-model',
          Body: new TextEncoder().encode('{"features":[1,2,3]}'),
          ContentType: 'application/json',
          Accept: 'application/json',
          TargetVariant: 'variant-b',
        }),
      );

      expect(JSON.parse(new TextDecoder().decode(out.Body))).toEqual({ echo: { features: [1, 2, 3] }, variant: 'variant-b' });
      expect(out.ContentType).toBe('application/json');
      expect(out.InvokedProductionVariant).toBe('variant-b');
      expect(fake.invocations).toEqual([
        {
          endpointName: 'churn-model',
          body: '{"features":[1,2,3]}',
          contentType: 'application/json',
          accept: 'application/json',
          targetVariant: 'variant-b',
          customAttributes: undefined,
        },
      ]);
      expect(fake.requestCount).toBe(1);
    });

    test('an unknown endpoint is a ValidationError, as SageMaker answers it', async () => {
      const err = await rejection(runtime.send(new InvokeEndpointCommand({ EndpointName: 'nope', Body: new TextEncoder().encode('{}') })));
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.name).toBe('ValidationError');
      expect(err.message).toBe(`Endpoint nope of account ${FAKE_ACCOUNT_ID} not found.`);
      expect(err.$metadata.httpStatusCode).toBe(400);
      expect(fake.requestCount).toBe(1); // a client error is not retried
    });

    test('a container error becomes a 424 ModelError with the original status and message', async () => {
      fake.setEndpointHandler('broken', () => ({ status: 400, body: 'bad features' }));
      const err = await rejection(
        runtime.send(new InvokeEndpointCommand({ EndpointName: 'broken', Body: new TextEncoder().encode('{}') })),
      );
      expect(err).toBeInstanceOf(ModelError);
      expect(err.name).toBe('ModelError');
      expect(err.$metadata.httpStatusCode).toBe(424);
      expect(err.OriginalStatusCode).toBe(400);
      expect(err.OriginalMessage).toBe('bad features');
      expect(err.message).toMatch(/^Received client error \(400\) from primary/);
      expect(fake.requestCount).toBe(1);
    });
  });

  describe('Secrets Manager GetSecretValue', () => {
    test('finds a secret by name and by ARN, and a re-set secret is a new version', async () => {
      const first = fake.setSecret('purpleflea/api-key', '{"apiKey":"k1"}');

      const byName = await secrets.send(new GetSecretValueCommand({ SecretId: 'purpleflea/api-key' }));
      expect(byName.SecretString).toBe('{"apiKey":"k1"}');
      expect(byName.ARN).toBe(first.arn);
      expect(byName.Name).toBe('purpleflea/api-key');
      expect(byName.VersionStages).toEqual(['AWSCURRENT']);
      expect(byName.CreatedDate).toBeInstanceOf(Date);

      const rotated = fake.setSecret(first.arn, '{"apiKey":"k2"}');
      const byArn = await secrets.send(new GetSecretValueCommand({ SecretId: first.arn }));
      expect(byArn.SecretString).toBe('{"apiKey":"k2"}');
      expect(byArn.VersionId).toBe(rotated.versionId);
      expect(rotated.versionId).not.toBe(first.versionId);
      expect(fake.secretReads).toBe(2);
    });

    test('an unknown secret is a ResourceNotFoundException', async () => {
      const err = await rejection(secrets.send(new GetSecretValueCommand({ SecretId: 'missing' })));
      expect(err).toBeInstanceOf(ResourceNotFoundException);
      expect(err.name).toBe('ResourceNotFoundException');
      expect(err.message).toBe("Secrets Manager can't find the specified secret.");
      expect(fake.secretReads).toBe(1);
    });
  });

  describe('SageMaker DescribeTrainingJob', () => {
    const ended = new Date('2025-01-02T03:04:05.000Z');

    test('returns the stored description, dates as Dates', async () => {
      fake.setTrainingJob('job-1', {
        TrainingJobStatus: 'Completed',
        TrainingEndTime: ended,
        FinalMetricDataList: [{ MetricName: 'validation:auc', Value: 0.91, Timestamp: ended }],
      });
      const out = await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'job-1' }));
      expect(out.TrainingJobName).toBe('job-1');
      expect(out.TrainingJobArn).toBe(`arn:aws:sagemaker:us-east-1:${FAKE_ACCOUNT_ID}:training-job/job-1`);
      expect(out.TrainingJobStatus).toBe('Completed');
      expect(out.TrainingEndTime).toEqual(ended);
      expect(out.FinalMetricDataList?.[0]).toEqual({ MetricName: 'validation:auc', Value: 0.91, Timestamp: ended });
    });

    test('an unknown job is a ValidationException "Requested resource not found."', async () => {
      const err = await rejection(sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'ghost' })));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toBe('Requested resource not found.');
      expect(err.$metadata.httpStatusCode).toBe(400);
    });

    test('injected throttling and 500s are consumed once each and retried by the SDK', async () => {
      fake.setTrainingJob('job-2', { TrainingJobStatus: 'InProgress' });
      fake.injectFault('DescribeTrainingJob', { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' });
      fake.injectFault('DescribeTrainingJob', { status: 500, type: 'InternalFailure' });

      const out = await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'job-2' }));
      expect(out.TrainingJobStatus).toBe('InProgress');
      expect(fake.requestCount).toBe(3);
      expect(fake.operations).toEqual(['DescribeTrainingJob', 'DescribeTrainingJob', 'DescribeTrainingJob']);
    });

    test('without retries the injected fault surfaces as a named error', async () => {
      const noRetry = new SageMakerClient({ maxAttempts: 1 });
      try {
        fake.setTrainingJob('job-3', { TrainingJobStatus: 'Failed' });
        fake.injectFault('DescribeTrainingJob', { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' });
        const err = await rejection(noRetry.send(new DescribeTrainingJobCommand({ TrainingJobName: 'job-3' })));
        expect(err.name).toBe('ThrottlingException');
        expect(err.message).toBe('Rate exceeded');
        // Consumed: the next call succeeds.
        const out = await noRetry.send(new DescribeTrainingJobCommand({ TrainingJobName: 'job-3' }));
        expect(out.TrainingJobStatus).toBe('Failed');
      } finally {
        noRetry.destroy();
      }
    });
  });

  describe('dynalite', () => {
    test('createLedgerTable makes an ACTIVE table keyed by the ledger schema, reachable via the env endpoint', async () => {
      await createLedgerTable(dynamo.endpoint, 'ledger-test');
      const client = new DynamoDBClient({}); // endpoint from AWS_ENDPOINT_URL_DYNAMODB
      const doc = DynamoDBDocumentClient.from(client);
      try {
        const { Table } = await client.send(new DescribeTableCommand({ TableName: 'ledger-test' }));
        expect(Table?.TableStatus).toBe('ACTIVE');
        expect(Table?.KeySchema).toEqual([{ AttributeName: LEDGER_PARTITION_KEY, KeyType: 'HASH' }]);
        expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');

        await doc.send(new PutCommand({ TableName: 'ledger-test', Item: { [LEDGER_PARTITION_KEY]: 'v1:trade:x', state: 'CLAIMED' } }));
        const got = await doc.send(new GetCommand({ TableName: 'ledger-test', Key: { [LEDGER_PARTITION_KEY]: 'v1:trade:x' } }));
        expect(got.Item).toEqual({ [LEDGER_PARTITION_KEY]: 'v1:trade:x', state: 'CLAIMED' });
      } finally {
        client.destroy();
      }
    });
  });
});

describe('PurpleFleaSandbox', () => {
  let sandbox: PurpleFleaSandbox;

  beforeAll(async () => {
    sandbox = await PurpleFleaSandbox.start();
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  beforeEach(() => {
    sandbox.reset();
    sandbox.setApiKeys([SANDBOX_API_KEY]);
  });

  const order = {
    agent_id: 'agt_alpha',
    direction: 'long',
    amount: 25,
    asset: 'BTC-USDC',
    order_type: 'market',
    metadata: { model: 'm1' },
  };
  const escrow = { buyer: 'agt_buyer', seller: 'ag_seller', amount: 10.5, condition: 'model auc >= 0.9', metadata: {} };
  const transfer = { from_agent: 'agt_treasury', to_agent: 'ag_winner:1', amount: 3, memo: 'payout' };

  interface PostOptions {
    key?: string | null;
    idempotencyKey?: string;
    timeoutMs?: number;
    rawBody?: string;
  }

  async function post(path: string, body: unknown, options: PostOptions = {}): Promise<{ status: number; headers: Headers; json: any }> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    const key = options.key === undefined ? SANDBOX_API_KEY : options.key;
    if (key !== null) headers.Authorization = `Bearer ${key}`;
    if (options.idempotencyKey) headers['Idempotency-Key'] = options.idempotencyKey;
    const res = await fetch(sandbox.baseUrl + path, {
      method: 'POST',
      headers,
      body: options.rawBody ?? JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
    return { status: res.status, headers: res.headers, json: await res.json() };
  }

  describe('happy paths', () => {
    test('POST /trading/order fills an order and records the call', async () => {
      const res = await post(TRADING_ORDER_PATH, order, { idempotencyKey: 'a'.repeat(64) });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ order_id: expect.stringMatching(/^ord_\d+$/), status: 'filled', _info: expect.any(Object) });
      expect(sandbox.committed()).toEqual([
        { kind: 'order', path: TRADING_ORDER_PATH, id: res.json.order_id, body: order, idempotencyKey: 'a'.repeat(64) },
      ]);
      expect(sandbox.calls).toEqual([
        {
          method: 'POST',
          path: TRADING_ORDER_PATH,
          body: order,
          idempotencyKey: 'a'.repeat(64),
          authorization: `Bearer ${SANDBOX_API_KEY}`,
          status: 200,
          committed: true,
          fault: undefined,
          receivedAt: expect.any(Number),
          answeredAt: expect.any(Number),
        },
      ]);
      expect(sandbox.calls[0].answeredAt).toBeGreaterThanOrEqual(sandbox.calls[0].receivedAt);
    });

    test('POST /escrow/create funds an escrow', async () => {
      const res = await post(ESCROW_CREATE_PATH, escrow);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ escrow_id: expect.stringMatching(/^esc_\d+$/), status: 'funded' });
      expect(sandbox.committed(ESCROW_CREATE_PATH).map((a) => a.id)).toEqual([res.json.escrow_id]);
      expect(sandbox.committed(TRADING_ORDER_PATH)).toEqual([]);
    });

    test('POST /wallet/transfer moves money', async () => {
      const res = await post(WALLET_TRANSFER_PATH, transfer);
      expect(res.status).toBe(200);
      expect(res.json.transfer_id).toMatch(/^tx_\d+$/);
      expect(sandbox.committed()).toHaveLength(1);
      expect(sandbox.committed()[0]).toMatchObject({ kind: 'transfer', body: transfer });
    });

    test('has no idempotency: the same Idempotency-Key twice commits twice', async () => {
      const first = await post(WALLET_TRANSFER_PATH, transfer, { idempotencyKey: 'same' });
      const second = await post(WALLET_TRANSFER_PATH, transfer, { idempotencyKey: 'same' });
      expect(first.json.transfer_id).not.toBe(second.json.transfer_id);
      expect(sandbox.committed().map((a) => a.idempotencyKey)).toEqual(['same', 'same']);
    });
  });

  describe('validation, routing and auth', () => {
    test.each([
      ['bad agent id', TRADING_ORDER_PATH, { ...order, agent_id: '-starts-with-dash' }, /agent_id/],
      ['agent id too long', TRADING_ORDER_PATH, { ...order, agent_id: 'a'.repeat(129) }, /agent_id/],
      ['zero amount', TRADING_ORDER_PATH, { ...order, amount: 0 }, /amount/],
      ['amount as a string', ESCROW_CREATE_PATH, { ...escrow, amount: '10' }, /amount/],
      ['bad direction', TRADING_ORDER_PATH, { ...order, direction: 'up' }, /direction/],
      ['limit order', TRADING_ORDER_PATH, { ...order, order_type: 'limit' }, /order_type/],
      ['metadata not an object', ESCROW_CREATE_PATH, { ...escrow, metadata: [] }, /metadata/],
      ['missing condition', ESCROW_CREATE_PATH, { ...escrow, condition: undefined }, /condition/],
      ['bad seller', ESCROW_CREATE_PATH, { ...escrow, seller: 'has space' }, /seller/],
      ['missing to_agent', WALLET_TRANSFER_PATH, { ...transfer, to_agent: undefined }, /to_agent/],
    ])('%s → 400 invalid_request', async (_name, path, body, message) => {
      const res = await post(path, body);
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('invalid_request');
      expect(res.json.message).toMatch(message);
      expect(sandbox.committed()).toEqual([]);
    });

    test('a body that is not JSON → 400, recorded raw', async () => {
      const res = await post(TRADING_ORDER_PATH, undefined, { rawBody: 'not json' });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('invalid_request');
      expect(sandbox.calls[0].body).toBe('not json');
    });

    test('an unknown path → 404 not_found', async () => {
      const res = await post('/trading/close', order);
      expect(res.status).toBe(404);
      expect(res.json).toEqual({ error: 'not_found' });
    });

    test('a wrong or missing key → 401 unauthorized; setApiKeys rotates keys', async () => {
      expect((await post(TRADING_ORDER_PATH, order, { key: 'pf_live_wrong' })).json).toEqual({
        error: 'unauthorized',
        message: expect.any(String),
      });
      expect((await post(TRADING_ORDER_PATH, order, { key: null })).status).toBe(401);

      sandbox.setApiKeys(['pf_rotated']);
      expect((await post(TRADING_ORDER_PATH, order)).status).toBe(401);
      expect((await post(TRADING_ORDER_PATH, order, { key: 'pf_rotated' })).status).toBe(200);
      expect(sandbox.calls.map((c) => c.status)).toEqual([401, 401, 401, 200]);
      expect(sandbox.committed()).toHaveLength(1);
    });
  });

  describe('faults', () => {
    test.each([
      [429, 'rate_limited'],
      [402, 'insufficient_balance'],
      [500, 'internal_error'],
      [503, 'service_unavailable'],
    ])('status %i answers %s and commits nothing', async (status, error) => {
      sandbox.injectFaults(ESCROW_CREATE_PATH, { kind: 'status', status });
      const res = await post(ESCROW_CREATE_PATH, escrow);
      expect(res.status).toBe(status);
      expect(res.json.error).toBe(error);
      expect(sandbox.committed()).toEqual([]);
      expect(sandbox.calls[0]).toMatchObject({ status, committed: false });
      expect(res.headers.get('retry-after')).toBeNull();
    });

    test('faults are consumed one per matching request, in order; other paths are untouched', async () => {
      sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'status', status: 500 }, { kind: 'status', status: 403, error: 'forbidden' });
      expect((await post(WALLET_TRANSFER_PATH, transfer)).status).toBe(200);
      expect((await post(TRADING_ORDER_PATH, order)).status).toBe(500);
      const forbidden = await post(TRADING_ORDER_PATH, order);
      expect(forbidden.status).toBe(403);
      expect(forbidden.json.error).toBe('forbidden');
      expect((await post(TRADING_ORDER_PATH, order)).status).toBe(200);
      expect(sandbox.pendingFaults).toBe(0);
    });

    test("'*' matches any path", async () => {
      sandbox.injectFaults('*', { kind: 'status', status: 502 });
      expect((await post(WALLET_TRANSFER_PATH, transfer)).status).toBe(502);
      expect((await post(WALLET_TRANSFER_PATH, transfer)).status).toBe(200);
    });

    test('timeout: never answers and commits nothing', async () => {
      sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'timeout' });
      const err = await rejection(post(TRADING_ORDER_PATH, order, { timeoutMs: 150 }));
      expect(err.name).toBe('TimeoutError');
      expect(sandbox.committed()).toEqual([]);
      expect(sandbox.calls[0]).toMatchObject({ status: 'timeout', committed: false, fault: { kind: 'timeout' } });
    });

    test('timeout-after-commit: commits, never answers', async () => {
      sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'timeout-after-commit' });
      const err = await rejection(post(TRADING_ORDER_PATH, order, { timeoutMs: 150 }));
      expect(err.name).toBe('TimeoutError');
      expect(sandbox.committed()).toHaveLength(1);
      expect(sandbox.calls[0]).toMatchObject({ status: 'timeout', committed: true });
    });

    test('reset-before-commit: the connection drops, nothing committed', async () => {
      sandbox.injectFaults(ESCROW_CREATE_PATH, { kind: 'reset-before-commit' });
      const err = await rejection(post(ESCROW_CREATE_PATH, escrow));
      // fetch's TypeError comes from Node's realm, not jest's sandbox, so compare by name.
      expect(err.name).toBe('TypeError');
      expect(err.message).toBe('fetch failed');
      expect(err.cause?.code).toBe('UND_ERR_SOCKET');
      expect(sandbox.committed()).toEqual([]);
      expect(sandbox.calls[0]).toMatchObject({ status: 'reset', committed: false });
    });

    test('reset-after-commit: committed but the answer was lost', async () => {
      sandbox.injectFaults(ESCROW_CREATE_PATH, { kind: 'reset-after-commit' });
      const err = await rejection(post(ESCROW_CREATE_PATH, escrow));
      expect(err.message).toBe('fetch failed');
      expect(err.cause?.code).toBe('UND_ERR_SOCKET');
      expect(sandbox.committed()).toHaveLength(1);
      expect(sandbox.calls[0]).toMatchObject({ status: 'reset', committed: true });
      // The next request on a fresh connection works.
      expect((await post(ESCROW_CREATE_PATH, escrow)).status).toBe(200);
    });

    test('status-after-commit: commits, then answers 500', async () => {
      sandbox.injectFaults(WALLET_TRANSFER_PATH, { kind: 'status-after-commit', status: 500 });
      const res = await post(WALLET_TRANSFER_PATH, transfer);
      expect(res.status).toBe(500);
      expect(res.json.error).toBe('internal_error');
      expect(sandbox.committed()).toHaveLength(1);
      expect(sandbox.calls[0]).toMatchObject({ status: 500, committed: true });
    });

    test('delay: answers normally after the delay', async () => {
      sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'delay', ms: 120 });
      const started = Date.now();
      const res = await post(TRADING_ORDER_PATH, order);
      expect(Date.now() - started).toBeGreaterThanOrEqual(110);
      expect(res.status).toBe(200);
      expect(sandbox.committed()).toHaveLength(1);
    });

    test('setLatency delays every request', async () => {
      sandbox.setLatency(80);
      const started = Date.now();
      await post(TRADING_ORDER_PATH, order);
      await post(TRADING_ORDER_PATH, order);
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    });
  });

  describe('rate limit', () => {
    test('fixed window: beyond the limit 429 rate_limited with no Retry-After, nothing committed', async () => {
      sandbox.setRateLimit(ESCROW_CREATE_PATH, 2);
      const statuses: number[] = [];
      let limited: Awaited<ReturnType<typeof post>> | undefined;
      for (let i = 0; i < 4; i++) {
        const res = await post(ESCROW_CREATE_PATH, escrow);
        statuses.push(res.status);
        if (res.status === 429) limited = res;
      }
      expect(statuses).toEqual([200, 200, 429, 429]);
      expect(limited?.json.error).toBe('rate_limited');
      expect(limited?.headers.get('retry-after')).toBeNull();
      expect(sandbox.committed()).toHaveLength(2);
      // Other paths have their own (here: no) limit.
      expect((await post(WALLET_TRANSFER_PATH, transfer)).status).toBe(200);
    });

    test('a new window admits requests again', async () => {
      sandbox.setRateLimit(TRADING_ORDER_PATH, 1, 100);
      expect((await post(TRADING_ORDER_PATH, order)).status).toBe(200);
      expect((await post(TRADING_ORDER_PATH, order)).status).toBe(429);
      await new Promise((resolve) => setTimeout(resolve, 110));
      expect((await post(TRADING_ORDER_PATH, order)).status).toBe(200);
    });
  });

  test('close() finishes while a request is left unanswered', async () => {
    const own = await PurpleFleaSandbox.start({ apiKeys: ['k'], latencyMs: 0 });
    own.injectFaults('*', { kind: 'timeout' });
    const hanging = fetch(own.baseUrl + TRADING_ORDER_PATH, {
      method: 'POST',
      headers: { Authorization: 'Bearer k' },
      body: JSON.stringify(order),
    });
    await own.waitForCalls(1);
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(hanging).rejects.toThrow();
    expect(own.committed()).toEqual([]);
  });
});
