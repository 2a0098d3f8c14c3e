import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerA2IRuntimeClient } from '@aws-sdk/client-sagemaker-a2i-runtime';
import { FRAUD_HOLD_REVIEW_START_METRICS, readFraudHoldReviewStartSettings } from '../../lib/private/contracts/hold-review-env';
import { createObservability } from '../shared/observability';
import { createFraudHoldReviewStartHandler, startHumanLoopWith } from './handler';

// Read and checked once per container: a missing variable fails the cold start with its name.
const settings = readFraudHoldReviewStartSettings(process.env);
const { logger, metrics } = createObservability(FRAUD_HOLD_REVIEW_START_METRICS.functionNameDimension);

export const handler = createFraudHoldReviewStartHandler({
  settings,
  s3: new S3Client({}),
  // Throttling and 5xx from A2I are retried by the SDK (backoff with jitter) before a start counts as failed.
  startHumanLoop: startHumanLoopWith(new SageMakerA2IRuntimeClient({ maxAttempts: 5 })),
  now: Date.now,
  logger,
  metrics,
});
