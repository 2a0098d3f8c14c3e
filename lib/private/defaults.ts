/**
 * Every construct's defaults, one constant per construct (the batch constructs share BATCH_RUN_DEFAULTS, the
 * defaults of BatchRunProps). The constructors and their validation read them; nothing else writes a default.
 * test/constructs/defaults.test.ts checks each prop's `@default` (as jsii compiled it) and the props
 * tables of the construct pages (docs/constructs/) against them: change a value here, and its JSDoc and row with it.
 *
 * Not exported from lib/index.ts, so jsii never sees it; the compiled lib/private/defaults.js ships in the
 * package all the same.
 *
 * A key is a prop's name, and its value is written in the docs as follows (the test's formatter):
 * - a number, a boolean, `{}`: as it is (`50`, `0.6`, `false`); a string: in quotes in JSDoc (`'BTC-USDC'`), in
 *   code font without them in the props tables (`BTC-USDC`);
 * - a `Duration`: a number, the key ending in its unit (`maxSignalAgeMinutes: 5`): `Duration.minutes(5)`;
 * - an enum: its member's name (`logRetention: 'THREE_MONTHS'`): `logs.RetentionDays.THREE_MONTHS`;
 * - a class: its static factory's name, called without arguments (`modelOutput: 'json'`): `ModelOutputFormat.json()`.
 * A prop missing from its construct's constant has no value default: its `@default` describes what happens
 * (`- no daily cap`). A few descriptions name values from here (`every 5 minutes`); the test checks those too.
 */

import type { BonusTier } from '../bonus-tier';

/** PurpleFleaConnection. */
export const PURPLEFLEA_CONNECTION_DEFAULTS = Object.freeze({
  /** `PurpleFleaApi.gateway()`: the gateway at `baseUrl`. */
  api: 'gateway',
  apiKeyField: 'key',
  agentIdField: 'agent_id',
  baseUrl: 'https://api.purpleflea.com',
  requestTimeoutSeconds: 10,
  tradingKeyField: 'trading_key',
  tradingAgentIdField: 'trading_agent_id',
} as const);

/**
 * PurpleFleaApi.gateway()'s and PurpleFleaApi.services()'s options (GatewayApiOptions, ServicesApiOptions): the
 * gateway of the user's story, and the public hosts of Purple Flea's published services (purpleflea-services.md §0).
 */
export const PURPLEFLEA_API_DEFAULTS = Object.freeze({
  baseUrl: PURPLEFLEA_CONNECTION_DEFAULTS.baseUrl,
  escrowUrl: 'https://escrow.purpleflea.com',
  casinoUrl: 'https://casino.purpleflea.com/api/v1',
  tradingUrl: 'https://trading.purpleflea.com/v1',
  faucetUrl: 'https://faucet.purpleflea.com',
  domainsUrl: 'https://domains.purpleflea.com/v1',
} as const);

/** ModelOutputFormat.json()'s and ModelOutputFormat.csv()'s options (JsonModelOutputOptions, CsvModelOutputOptions). */
export const MODEL_OUTPUT_DEFAULTS = Object.freeze({
  directionField: 'direction',
  confidenceField: 'confidence',
  directionColumn: 0,
  confidenceColumn: 1,
} as const);

/** PredictToTrade. */
export const PREDICT_TO_TRADE_DEFAULTS = Object.freeze({
  /** `schedule`: a rate of this many minutes, unless `eventPattern` is given (PredictToTrade.DEFAULT_SCHEDULE_RATE). */
  scheduleRateMinutes: 5,
  features: Object.freeze({}),
  featuresPath: '$.detail',
  modelOutput: 'json',
  confidenceThreshold: 0.6,
  orderAmountUsdc: 50,
  maxOrderAmountUsdc: 1000,
  asset: 'BTC-USDC',
  /** The services profile's leverage, always sent (the trading service's own default is 5). */
  leverage: 1,
  dryRun: false,
  enabled: true,
  maxSignalAgeMinutes: 5,
  logRetention: 'THREE_MONTHS',
} as const);

/** TrainingBonusEscrow. */
export const TRAINING_BONUS_ESCROW_DEFAULTS = Object.freeze({
  metricName: 'validation:accuracy',
  metricGoal: 'MAXIMIZE',
  /** The tiers of the user's story (TrainingBonusEscrow.DEFAULT_BONUS_TIERS), best first. */
  bonusTiers: Object.freeze([
    Object.freeze({ threshold: 0.9, amountUsdc: 50 }),
    Object.freeze({ threshold: 0.8, amountUsdc: 20 }),
    Object.freeze({ threshold: 0.7, amountUsdc: 5 }),
  ]) as readonly BonusTier[],
  maxBonusUsdc: 1000,
  buyerAgentId: 'agt_platform_treasury',
  sellerTemplate: 'agt_model_{jobName}',
  conditionTemplate: 'model_owner_approved:{jobName}',
  /** The services profile's escrow timeout: the longest the escrow service allows, as a bonus waits for the owner's approval. */
  escrowTimeoutDays: 30,
  dryRun: false,
  enabled: true,
  logRetention: 'THREE_MONTHS',
} as const);

/**
 * The services' limits per path and client IP, in fixed one-minute windows (purpleflea-services.md; pay has none),
 * and the share of a limit a batch construct leaves free by default on the services profile (other callers
 * behind the same IP, a request at a window's edge): FraudHoldEscrow paces escrow create at 18 a minute.
 */
export const SERVICES_RATE_LIMITS = Object.freeze({
  escrowCreatePerMinute: 20,
  tradeOpenPerMinute: 30,
  margin: 0.1,
} as const);

/** BatchRunProps: the props BatchPayout and FraudHoldEscrow share, with the same defaults. */
export const BATCH_RUN_DEFAULTS = Object.freeze({
  maxBatchTotalUsdc: 100_000,
  maxRequestsPerSecond: 10,
  maxConcurrency: 10,
  itemsPerBatch: 100,
  toleratedFailurePercentage: 0,
  dryRun: false,
  enabled: true,
  logRetention: 'THREE_MONTHS',
} as const);

/** BatchPayout, beside BATCH_RUN_DEFAULTS. */
export const BATCH_PAYOUT_DEFAULTS = Object.freeze({
  outputPrefix: 'purpleflea-payouts',
  processingOutputName: 'payout',
  processingFileName: 'scores.csv',
  agentIdColumn: 'agent_id',
  scoreColumn: 'score',
  usdPerScorePoint: 10,
  minPayoutUsdc: 0.01,
  maxPayoutPerAgentUsdc: 1000,
  payConcurrency: 5,
} as const);

/** FraudHoldEscrow, beside BATCH_RUN_DEFAULTS. */
export const FRAUD_HOLD_ESCROW_DEFAULTS = Object.freeze({
  outputPrefix: 'purpleflea-holds',
  objectSuffix: '.out',
  inputFormat: 'JSON_LINES',
  transactionIdField: 'transaction_id',
  buyerField: 'buyer',
  sellerField: 'seller',
  amountField: 'amount',
  fraudScoreField: 'fraud_score',
  fraudScoreThreshold: 0.8,
  conditionTemplate: 'manual_review_cleared:fraud_score={fraudScore}',
  maxHoldUsdc: 1000,
  actConcurrency: 5,
  /**
   * The services profile's escrow timeout. A hold can be ended early only by releasing it to the seller (review
   * cleared); a hold that is not released goes back to its creator at the timeout. A week gives review its time and
   * returns the funds of a confirmed fraud without locking them for the service's maximum of 30 days.
   */
  escrowTimeoutDays: 7,
  /** On a review's confirmed fraud: keep the hold (its timeout refunds its creator); DISPUTE is the user's choice. */
  onConfirmedFraud: 'KEEP_HOLD',
} as const);

/** PurpleFleaDashboard. */
export const PURPLEFLEA_DASHBOARD_DEFAULTS = Object.freeze({
  periodMinutes: 5,
} as const);

/**
 * Every handler function, unless its construct's `functionOptions` says otherwise (the `functionOptions`
 * default of PredictToTrade and TrainingBonusEscrow; a batch construct's act function keeps this memory size).
 */
export const HANDLER_FUNCTION_DEFAULTS = Object.freeze({
  memorySizeMb: 256,
  /** Leaves room for backing off from 429s (fixed one-minute windows, no Retry-After) within one invocation. */
  timeoutSeconds: 90,
} as const);

/** A batch construct's three functions (its `functionOptions` default), over HANDLER_FUNCTION_DEFAULTS. */
export const BATCH_FUNCTION_DEFAULTS = Object.freeze({
  /** The act function: a batch acted on at its share of the rate, with room to back off from 429s. */
  timeoutMinutes: 5,
  /**
   * Prepare and Summarize stream their files (issue 17): `npm run bench` (bench/batch-steps.bench.ts) measures
   * them at a peak resident set under 256 MiB from 10,000 to 1,000,000 rows, and about 1M rows in 40 s at
   * this memory's 0.58 vCPU. 1024 MB keeps memory four times the bound and CPU for files of ten million rows
   * and more; Lambda's longest timeout sets the largest file one run can take (docs/benchmarks.md).
   */
  prepareAndSummarizeMemorySizeMb: 1024,
  prepareAndSummarizeTimeoutMinutes: 15,
} as const);

/** ModelAgents. */
export const MODEL_AGENTS_DEFAULTS = Object.freeze({
  secretNamePrefix: 'purpleflea/model-agents/',
  claimFaucet: true,
  domainKeyField: 'key',
  dryRun: false,
  enabled: true,
  logRetention: 'THREE_MONTHS',
} as const);

/** TradingPnl. */
export const TRADING_PNL_DEFAULTS = Object.freeze({
  /** `schedule`: a rate of this many minutes (TradingPnl.DEFAULT_SCHEDULE_RATE). */
  scheduleRateMinutes: 15,
  logRetention: 'THREE_MONTHS',
} as const);
