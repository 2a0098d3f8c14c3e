import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { BATCH_PAYOUT_METRICS, readBatchPayoutPrepareSettings } from '../../lib/private/contracts/batch-payout-env';
import { createObservability } from '../shared/observability';
import { createBatchPayoutPrepareHandler } from './handler';

// Read and checked once per container: a missing variable fails the cold start with its name.
const settings = readBatchPayoutPrepareSettings(process.env);
const { logger } = createObservability(BATCH_PAYOUT_METRICS.functionNameDimension);

export const handler = createBatchPayoutPrepareHandler({
  settings,
  s3: new S3Client({}),
  sagemaker: new SageMakerClient({ maxAttempts: 5 }),
  logger,
});
