import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { PREDICT_TO_TRADE_METRICS, readPredictToTradeSettings } from '../../lib/private/contracts/predict-to-trade-env';
import { createConnectionRuntime } from '../shared/connection-runtime';
import { createObservability } from '../shared/observability';
import { createPredictToTradeHandler, invokeEndpointWith } from './handler';

// Read and checked once per container: a missing variable fails the cold start with its name.
const settings = readPredictToTradeSettings(process.env);
const connection = readConnectionSettings(process.env, 'PredictToTrade', { servicesProfile: true, trades: true });
const { logger, metrics } = createObservability(PREDICT_TO_TRADE_METRICS.functionNameDimension);

export const handler = createPredictToTradeHandler({
  settings,
  runtime: createConnectionRuntime(connection),
  invokeEndpoint: invokeEndpointWith(new SageMakerRuntimeClient({})),
  now: Date.now,
  logger,
  metrics,
});
