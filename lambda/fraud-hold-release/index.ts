import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { FRAUD_HOLD_RELEASE_METRICS, readFraudHoldReleaseSettings } from '../../lib/private/contracts/hold-review-env';
import { createConnectionRuntime } from '../shared/connection-runtime';
import { putEventsWith } from '../shared/events';
import { createObservability } from '../shared/observability';
import { createFraudHoldReleaseHandler, readObjectTextWith } from './handler';

// Read and checked once per container: a missing variable fails the cold start with its name.
const settings = readFraudHoldReleaseSettings(process.env);
const connection = readConnectionSettings(process.env, 'FraudHoldEscrow release', { servicesProfile: true });
const { logger, metrics } = createObservability(FRAUD_HOLD_RELEASE_METRICS.functionNameDimension);

export const handler = createFraudHoldReleaseHandler({
  settings,
  runtime: createConnectionRuntime(connection),
  readObject: readObjectTextWith(new S3Client({})),
  putEvents: putEventsWith(new EventBridgeClient({})),
  now: Date.now,
  logger,
  metrics,
});
