import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { FRAUD_HOLD_METRICS, readFraudHoldPrepareSettings } from '../../lib/private/contracts/fraud-hold-env';
import { createObservability } from '../shared/observability';
import { createFraudHoldPrepareHandler } from './handler';

// Read and checked once per container: a missing variable fails the cold start with its name.
const settings = readFraudHoldPrepareSettings(process.env);
const { logger } = createObservability(FRAUD_HOLD_METRICS.functionNameDimension);

export const handler = createFraudHoldPrepareHandler({
  settings,
  s3: new S3Client({}),
  sagemaker: new SageMakerClient({ maxAttempts: 5 }),
  logger,
});
