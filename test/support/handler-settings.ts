import type { BatchPayoutPrepareSettings } from '../../lib/private/contracts/batch-payout-env';
import type { FraudHoldPrepareSettings } from '../../lib/private/contracts/fraud-hold-env';
import type { PredictToTradeSettings } from '../../lib/private/contracts/predict-to-trade-env';
import type { TrainingBonusEscrowSettings } from '../../lib/private/contracts/training-bonus-escrow-env';

export const TEST_ENDPOINT_NAME = 'demo-direction-model';

/**
 * What PredictToTrade's construct writes by default (the story's defaults), for running the handler
 * in tests and the benchmark. The construct's own tests assert those defaults literally.
 */
export function defaultTradeSettings(overrides: Partial<PredictToTradeSettings> = {}): PredictToTradeSettings {
  return {
    endpointName: TEST_ENDPOINT_NAME,
    outputFormat: 'JSON',
    directionField: 'direction',
    confidenceField: 'confidence',
    directionColumn: 0,
    confidenceColumn: 1,
    confidenceThreshold: 0.6,
    orderAmountUsdc: 50,
    maxOrderAmountUsdc: 1000,
    dailyCapScope: 'TestScope',
    asset: 'BTC-USDC',
    dryRun: false,
    enabled: true,
    maxSignalAgeSeconds: 300,
    ...overrides,
  };
}

/**
 * What FraudHoldEscrow's construct writes for its Prepare step by default (JSON Lines records of the
 * fraud model, a hold above a score of 0.8), for running the handler and its record rules in tests.
 */
export function defaultHoldPrepareSettings(overrides: Partial<FraudHoldPrepareSettings> = {}): FraudHoldPrepareSettings {
  return {
    inputFormat: 'JSON_LINES',
    transactionIdField: 'transaction_id',
    buyerField: 'buyer',
    sellerField: 'seller',
    amountField: 'amount',
    fraudScoreField: 'fraud_score',
    fraudScoreThreshold: 0.8,
    maxHoldUsdc: 1000,
    maxBatchTotalUsdc: 100_000,
    objectSuffix: '.out',
    outputBucket: 'test-output-bucket',
    outputPrefix: 'purpleflea-holds',
    enabled: true,
    ...overrides,
  };
}

/**
 * What BatchPayout's construct writes for its Prepare step by default ($10 per score point, the story's
 * columns), with the run folders in `outputBucket`, for running the handler in tests.
 */
export function defaultPayoutPrepareSettings(
  outputBucket: string,
  overrides: Partial<BatchPayoutPrepareSettings> = {},
): BatchPayoutPrepareSettings {
  return {
    agentIdColumn: 'agent_id',
    scoreColumn: 'score',
    usdPerScorePoint: 10,
    minPayoutUsdc: 0.01,
    maxPayoutPerAgentUsdc: 1000,
    maxBatchTotalUsdc: 1_000_000,
    outputBucket,
    outputPrefix: 'purpleflea-payouts',
    processingOutputName: 'payout',
    processingFileName: 'scores.csv',
    enabled: true,
    ...overrides,
  };
}

/**
 * What TrainingBonusEscrow's construct writes by default (the story's tiers, the treasury as buyer, the seller
 * template, the approval condition), with the seller tag key and bus the tests use, for running the handler.
 */
export function defaultEscrowSettings(overrides: Partial<TrainingBonusEscrowSettings> = {}): TrainingBonusEscrowSettings {
  return {
    metricName: 'validation:accuracy',
    metricGoal: 'MAXIMIZE',
    bonusTiers: [
      { threshold: 0.9, amountUsdc: 50 },
      { threshold: 0.8, amountUsdc: 20 },
      { threshold: 0.7, amountUsdc: 5 },
    ],
    maxBonusUsdc: 1000,
    buyerAgentId: 'agt_platform_treasury',
    sellerTagKey: 'purpleflea:seller',
    sellerTemplate: 'agt_model_{jobName}',
    conditionTemplate: 'model_owner_approved:{jobName}',
    eventBusName: 'default',
    dryRun: false,
    enabled: true,
    ...overrides,
  };
}
