import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { readTrainingBonusEscrowSettings, TRAINING_BONUS_ESCROW_METRICS } from '../../lib/private/contracts/training-bonus-escrow-env';
import { createConnectionRuntime } from '../shared/connection-runtime';
import { putEventsWith } from '../shared/events';
import { createObservability } from '../shared/observability';
import { createTrainingBonusEscrowHandler, describeTrainingJobWith } from './handler';

// Read and checked once per container: a missing variable fails the cold start with its name.
const settings = readTrainingBonusEscrowSettings(process.env);
const connection = readConnectionSettings(process.env, 'TrainingBonusEscrow', { servicesProfile: true });
const { logger, metrics } = createObservability(TRAINING_BONUS_ESCROW_METRICS.functionNameDimension);

export const handler = createTrainingBonusEscrowHandler({
  settings,
  runtime: createConnectionRuntime(connection),
  // Throttling and 5xx from SageMaker are retried by the SDK (backoff with jitter) before the invocation fails.
  describeTrainingJob: describeTrainingJobWith(new SageMakerClient({ maxAttempts: 5 })),
  putEvents: putEventsWith(new EventBridgeClient({})),
  now: Date.now,
  logger,
  metrics,
});
