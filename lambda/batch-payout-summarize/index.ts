import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { readBatchSummarizeSettings } from '../../lib/private/contracts/batch-engine';
import { BATCH_PAYOUT_METRICS, readBatchPayoutSummarizeSettings } from '../../lib/private/contracts/batch-payout-env';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { connectionLedger } from '../shared/action-ledger';
import { putEventsWith } from '../shared/events';
import { createObservability } from '../shared/observability';
import { createBatchPayoutSummarizeHandler } from './handler';

// Read and checked once per container: a missing variable fails the cold start with its name. Either API profile:
// Summarize reads only the ledger.
const connection = readConnectionSettings(process.env, 'BatchPayout Summarize', { servicesProfile: true });
const { logger, metrics } = createObservability(BATCH_PAYOUT_METRICS.functionNameDimension);
const settings = readBatchSummarizeSettings(process.env);

export const handler = createBatchPayoutSummarizeHandler({
  settings,
  payoutSettings: readBatchPayoutSummarizeSettings(process.env),
  ledger: connectionLedger(connection),
  s3: new S3Client({}),
  putEvents: putEventsWith(new EventBridgeClient({})),
  now: Date.now,
  logger,
  metrics,
});
