/**
 * What the PredictToTrade benchmark runs and how often, shared by the bench process
 * (bench/predict-to-trade.bench.ts) and the stand-ins process (bench/stand-ins-process.ts).
 */
import { resolve } from 'node:path';

// --- How much ---------------------------------------------------------------------------------

export const WARM_INVOCATIONS = 1_000;
export const WARMUP_INVOCATIONS = 200;
/** The variants run interleaved, in blocks, so drift on a noisy machine hits them all alike. */
export const BLOCK_SIZE = 100;
export const COLD_PROCESSES = 10;

/** Issue 2, "Benchmark". */
export const TARGETS = { roundTrips: 4, roundTripsWithCap: 5, medianMs: 4, p99Ms: 10, coldInitMs: 100, bundleBytes: 1024 * 1024 };

// --- What -------------------------------------------------------------------------------------

export const REPO_ROOT = resolve(__dirname, '..');
export const BUNDLE = resolve(REPO_ROOT, 'assets', 'predict-to-trade', 'index.js');

/** The SageMaker endpoint (fake AWS) and what its model answers every time. */
export const ENDPOINT = 'demo-direction-model';
export const MODEL_ANSWER = '{"direction":"long","confidence":0.8}';
/** The Purple Flea API key secret (fake Secrets Manager): { key, agent_id }. */
export const SECRET_NAME = 'PurpleFleaApiKey';
export const AGENT_ID = 'agt_sagemaker_trader';
/** The ledger table (dynalite). */
export const LEDGER_TABLE = 'ActionLedger';

export const RULE_ARN = 'arn:aws:events:us-east-1:123456789012:rule/bench-trader';
export const FEATURES = { rsi: 41.5, momentum: -0.2 };

/** Never binds: (warm-up + timed) x 50 USDC stays far below it. */
export const NEVER_BINDING_CAP_USDC = 1_000_000_000;

// --- Shapes -----------------------------------------------------------------------------------

export interface TradeEvent {
  readonly eventId: string;
  readonly eventTime: string;
  readonly ruleArn: string;
  readonly features: { readonly [name: string]: number };
}

export interface TradeResult {
  readonly status: string;
  readonly repeated?: boolean;
  readonly reason?: string;
}

export type Handler = (event: unknown, context: unknown) => Promise<TradeResult>;

/** A failed invocation, a broken stand-in or a cold-start process that went wrong: the run fails. */
export class BenchFailure extends Error {
  override readonly name = 'BenchFailure';
}
