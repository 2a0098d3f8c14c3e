/**
 * Finding 8 (issue 12): the key can never become the agent id. The bundled handlers that read the agent
 * id from the secret (PredictToTrade, BatchPayout's Pay) refuse an agentIdField that names the key's own
 * field, and report an invalid agent id read from the secret without its value: nothing read from the
 * secret but a valid agent id reaches a request, a ledger record, a log line or an error.
 */
import { batchPayoutPayEnvironment, BATCH_PAYOUT_METRICS } from '../../lib/private/contracts/batch-payout-env';
import { ActBatchEvent } from '../../lib/private/contracts/batch-engine';
import { ConnectionSettings } from '../../lib/private/contracts/connection-env';
import { PREDICT_TO_TRADE_METRICS, predictToTradeEnvironment } from '../../lib/private/contracts/predict-to-trade-env';
import { payoutActionKey, tradeActionKey } from '../../lambda/shared/action-keys';
import { defaultTradeSettings, TEST_ENDPOINT_NAME } from '../support/handler-settings';
import { SANDBOX_API_KEY } from '../support/purpleflea-sandbox';
import {
  AGENT_ID,
  captureOutput,
  Harness,
  handlerEnvironment,
  lambdaContext,
  loadBundledHandler,
  readLedger,
  SECRET_NAME,
  startHarness,
} from './handler-harness';

type Handler = (event: any, context: unknown) => Promise<any>;

const RULE_ARN = 'arn:aws:events:us-east-1:123456789012:rule/finding-8';
/** Not an agent id (a space, a '!'), and recognisable if it were ever printed. */
const INVALID_AGENT_ID_VALUE = 'not an agent id! from-the-secret';

let harness: Harness;
let output: ReturnType<typeof captureOutput>;
let counter = 0;

beforeAll(async () => {
  harness = await startHarness();
  harness.aws.setEndpointHandler(TEST_ENDPOINT_NAME, () => ({
    body: '{"direction":"long","confidence":0.9}',
    contentType: 'application/json',
  }));
});
afterAll(async () => {
  await harness.close();
});
beforeEach(() => {
  harness.sandbox.reset();
  output = captureOutput();
});
afterEach(() => output.restore());

function trader(connection: Partial<ConnectionSettings>): Handler {
  const env = handlerEnvironment(harness, predictToTradeEnvironment(defaultTradeSettings()), connection);
  return loadBundledHandler<{ handler: Handler }>('predict-to-trade', {
    ...env,
    POWERTOOLS_SERVICE_NAME: PREDICT_TO_TRADE_METRICS.serviceName,
  }).handler;
}

function payer(connection: Partial<ConnectionSettings>): Handler {
  const settings = {
    requestsPerSecond: 2000,
    concurrency: 5,
    dryRun: false,
    enabled: true,
    maxPayoutPerAgentUsdc: 1000,
    maxBatchTotalUsdc: 100_000,
  } as Parameters<typeof batchPayoutPayEnvironment>[0];
  const env = handlerEnvironment(harness, batchPayoutPayEnvironment(settings), connection);
  return loadBundledHandler<{ handler: Handler }>('batch-payout-pay', { ...env, POWERTOOLS_SERVICE_NAME: BATCH_PAYOUT_METRICS.serviceName })
    .handler;
}

function tradeEvent() {
  counter += 1;
  return { eventId: `evt-f8-${counter}-${Date.now()}`, eventTime: new Date().toISOString(), ruleArn: RULE_ARN, features: { rsi: 40 } };
}

function payBatch(): ActBatchEvent {
  counter += 1;
  return {
    Items: [{ line: '2', agent_id: 'agt_recipient', score: '0.5', amount_usdc: '5.00' }],
    BatchInput: { runId: `run-f8-${counter}`, sourceBucket: 'scores', sourceKey: `f8-${counter}.csv`, sourceEtag: `etag${counter}` },
  };
}

/** The handler's rejection; neither it nor anything the handler wrote holds `secretValue`. */
async function failure(invocation: Promise<unknown>, secretValue: string): Promise<string> {
  let message: string | undefined;
  try {
    await invocation;
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toBeDefined();
  expect(message).not.toContain(secretValue);
  expect(output.text()).not.toContain(secretValue);
  return message!;
}

/** Runs `body` with the secret holding `value`, then puts the harness's secret back. */
async function withSecret(value: { [field: string]: string }, body: () => Promise<void>): Promise<void> {
  harness.aws.setSecret(SECRET_NAME, JSON.stringify(value));
  try {
    await body();
  } finally {
    harness.aws.setSecret(SECRET_NAME, JSON.stringify({ key: SANDBOX_API_KEY, agent_id: AGENT_ID }));
  }
}

describe('finding 8: an agentIdField that names the key field', () => {
  test('finding 8: PredictToTrade refuses it: no order, and the key is in no request, record, log or error', async () => {
    const event = tradeEvent();
    const message = await failure(trader({ agentIdField: 'key' })(event, lambdaContext()), SANDBOX_API_KEY);
    expect(message).toContain('agentIdField and apiKeyField both name "key"');
    expect(harness.sandbox.calls).toHaveLength(0);
    expect(await readLedger(harness, tradeActionKey(RULE_ARN, event.eventId))).toBeUndefined();
  });

  test('finding 8: BatchPayout Pay refuses it: no transfer, and the key is never from_agent', async () => {
    const batch = payBatch();
    const message = await failure(payer({ agentIdField: 'key' })(batch, lambdaContext()), SANDBOX_API_KEY);
    expect(message).toContain('agentIdField and apiKeyField both name "key"');
    expect(harness.sandbox.calls).toHaveLength(0);
    const { sourceBucket, sourceKey, sourceEtag } = batch.BatchInput;
    expect(await readLedger(harness, payoutActionKey(sourceBucket, sourceKey, sourceEtag, 'agt_recipient'))).toBeUndefined();
  });
});

describe('finding 8: an invalid agent id read from the secret', () => {
  test('finding 8: PredictToTrade reports it without its value', async () => {
    await withSecret({ key: SANDBOX_API_KEY, agent_id: INVALID_AGENT_ID_VALUE }, async () => {
      const message = await failure(trader({})(tradeEvent(), lambdaContext()), INVALID_AGENT_ID_VALUE);
      expect(message).toContain('the secret field "agent_id" does not hold a valid agent id');
      expect(harness.sandbox.calls).toHaveLength(0);
    });
  });

  test('finding 8: BatchPayout Pay reports it without its value', async () => {
    await withSecret({ key: SANDBOX_API_KEY, agent_id: INVALID_AGENT_ID_VALUE }, async () => {
      const message = await failure(payer({})(payBatch(), lambdaContext()), INVALID_AGENT_ID_VALUE);
      expect(message).toContain('the secret field "agent_id" does not hold a valid agent id');
      expect(harness.sandbox.calls).toHaveLength(0);
    });
  });

  test('finding 8: an agentId given on the connection is still named in its error (it is in the template, not the secret)', async () => {
    const message = await failure(trader({ agentId: 'bad agent!' })(tradeEvent(), lambdaContext()), SANDBOX_API_KEY);
    expect(message).toContain('the connection\'s agentId is not a valid agent id, got "bad agent!"');
  });
});
