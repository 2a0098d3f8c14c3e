import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { readTrainingBonusReleaseSettings, TRAINING_BONUS_RELEASE_METRICS } from '../../lib/private/contracts/training-bonus-release-env';
import { createConnectionRuntime } from '../shared/connection-runtime';
import { putEventsWith } from '../shared/events';
import { createObservability } from '../shared/observability';
import { createTrainingBonusReleaseHandler, describeModelPackageWith } from './handler';

// Read and checked once per container: a missing variable fails the cold start with its name.
const settings = readTrainingBonusReleaseSettings(process.env);
const connection = readConnectionSettings(process.env, 'TrainingBonusEscrow release', { servicesProfile: true });
const { logger, metrics } = createObservability(TRAINING_BONUS_RELEASE_METRICS.functionNameDimension);

export const handler = createTrainingBonusReleaseHandler({
  settings,
  runtime: createConnectionRuntime(connection),
  // Throttling and 5xx from SageMaker are retried by the SDK (backoff with jitter) before the invocation fails.
  describeModelPackage: describeModelPackageWith(new SageMakerClient({ maxAttempts: 5 })),
  putEvents: putEventsWith(new EventBridgeClient({})),
  now: Date.now,
  logger,
  metrics,
});
