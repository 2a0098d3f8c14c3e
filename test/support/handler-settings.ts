import type { PredictToTradeSettings } from '../../lib/private/contracts/predict-to-trade-env';

export const TEST_ENDPOINT_NAME = 'demo-direction-model';

/**
 * What PredictToTrade's construct writes by default (the seed's defaults), for running the handler
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
