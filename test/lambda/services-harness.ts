/**
 * Runs the bundled handlers on the services profile: the same stand-ins as handler-harness.ts (fake AWS,
 * FakeS3, dynalite), with Purple Flea's published services on the services sandbox. Each `resetServices`
 * starts from an empty sandbox with a funded casino agent (the connection's key: escrow, casino pay), a trading
 * agent (the trading key) and the connection's secret holding both keys and their agent ids.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { connectionEnvironment, ServicesConnectionSettings } from '../../lib/private/contracts/connection-env';
import { applyEnvironment, awsTestEnvironment } from '../support/aws-env';
import { createLedgerTable, DynaliteServer, dynaliteClient, startDynalite } from '../support/dynalite';
import { FakeAws } from '../support/fake-aws';
import { FakeS3 } from '../support/fake-s3';
import { CasinoAgent, PurpleFleaServicesSandbox, ServicesSandboxOptions, TradingAgent } from '../support/purpleflea-services-sandbox';
import { Harness, INJECTED_429_WINDOW_MS, LEDGER_TABLE, readLedger } from './handler-harness';

export const SERVICES_SECRET_NAME = 'PurpleFleaServicesKeys';

/** The connection's secret on the services profile: the casino key and agent id, the trading key and agent id. */
export const SECRET_FIELDS = { key: 'key', agentId: 'agent_id', tradingKey: 'trading_key', tradingAgentId: 'trading_agent_id' } as const;

export interface ServicesHarness extends Omit<Harness, 'sandbox' | 'connection'> {
  readonly sandbox: PurpleFleaServicesSandbox;
  /** Settings pointing at the stand-ins; a function that trades gets `tradingKey` too (servicesEnvironment). */
  readonly connection: ServicesConnectionSettings;
  /** The connection key's agent, funded (set by resetServices). */
  casino: CasinoAgent;
  /** The trading key's agent (set by resetServices). */
  trader: TradingAgent;
}

export async function startServicesHarness(sandboxOptions: ServicesSandboxOptions = {}): Promise<ServicesHarness> {
  const [sandbox, aws, s3, dynamo] = await Promise.all([
    PurpleFleaServicesSandbox.start(sandboxOptions),
    FakeAws.start(),
    FakeS3.start(),
    startDynalite(),
  ]);
  await createLedgerTable(dynamo.endpoint, LEDGER_TABLE);
  const { arn } = aws.setSecret(SERVICES_SECRET_NAME, '{}');
  const restoreEnv = applyEnvironment({
    ...awsTestEnvironment(aws.url, dynamo.endpoint, s3.url),
    POWERTOOLS_METRICS_NAMESPACE: 'PurpleFlea/SageMaker',
    AWS_LAMBDA_FUNCTION_NAME: 'test-function',
  });
  const ledger = DynamoDBDocumentClient.from(dynaliteClient(dynamo.endpoint));
  const harness: ServicesHarness = {
    sandbox,
    aws,
    s3,
    dynamo: dynamo as DynaliteServer,
    secretArn: arn,
    ledger,
    connection: {
      profile: 'services',
      secretArn: arn,
      apiKeyField: SECRET_FIELDS.key,
      agentIdField: SECRET_FIELDS.agentId,
      escrowUrl: sandbox.escrowUrl,
      casinoUrl: `${sandbox.casinoUrl}/api/v1`,
      tradingUrl: `${sandbox.tradingUrl}/v1`,
      faucetUrl: sandbox.faucetUrl,
      ledgerTableName: LEDGER_TABLE,
      requestTimeoutMs: 1_000,
      rateLimitWindowMs: INJECTED_429_WINDOW_MS,
    },
    casino: undefined as unknown as CasinoAgent,
    trader: undefined as unknown as TradingAgent,
    async close() {
      ledger.destroy();
      await Promise.all([sandbox.close(), aws.close(), s3.close(), dynamo.close()]);
      restoreEnv();
    },
  };
  resetServices(harness);
  return harness;
}

/**
 * An empty sandbox (its per-path limits off unless `rateLimits`), a casino agent with `balance` and a trading
 * agent, and the secret naming their keys. Load a handler after it: its container caches the secret.
 */
export function resetServices(harness: ServicesHarness, options: { balance?: number; rateLimits?: boolean } = {}): void {
  harness.sandbox.reset();
  harness.sandbox.setRateLimitsEnabled(options.rateLimits ?? false);
  harness.casino = harness.sandbox.addCasinoAgent({ balance: options.balance ?? 10_000 });
  harness.trader = harness.sandbox.addTradingAgent();
  harness.aws.setSecret(SERVICES_SECRET_NAME, JSON.stringify(servicesSecret(harness)));
}

/** The secret's JSON: both keys and both agent ids, under SECRET_FIELDS. */
export function servicesSecret(harness: Pick<ServicesHarness, 'casino' | 'trader'>): { [field: string]: string } {
  return {
    [SECRET_FIELDS.key]: harness.casino.apiKey,
    [SECRET_FIELDS.agentId]: harness.casino.agentId,
    [SECRET_FIELDS.tradingKey]: harness.trader.apiKey,
    [SECRET_FIELDS.tradingAgentId]: harness.trader.agentId,
  };
}

/**
 * A handler's environment on the services profile, as the construct writes it: the connection's (with where the
 * trading key is, for a function that trades), then the handler's own settings.
 */
export function servicesEnvironment(
  harness: ServicesHarness,
  handlerEnv: { [name: string]: string },
  options: { trades?: boolean; connection?: Partial<ServicesConnectionSettings> } = {},
): { [name: string]: string } {
  const tradingKey = options.trades ? { keyField: SECRET_FIELDS.tradingKey, agentIdField: SECRET_FIELDS.tradingAgentId } : undefined;
  return { ...connectionEnvironment({ ...harness.connection, tradingKey, ...options.connection }), ...handlerEnv };
}

/** The ledger's record of an action (handler-harness's readLedger, for this harness). */
export async function readServicesLedger(harness: ServicesHarness, actionKey: string): Promise<{ [key: string]: any } | undefined> {
  return readLedger(harness as unknown as Harness, actionKey);
}
