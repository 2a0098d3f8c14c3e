import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { readBatchSummarizeSettings } from '../../lib/private/contracts/batch-engine';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { FRAUD_HOLD_METRICS } from '../../lib/private/contracts/fraud-hold-env';
import { connectionLedger } from '../shared/action-ledger';
import { putEventsWith } from '../shared/events';
import { createObservability } from '../shared/observability';
import { createFraudHoldSummarizeHandler } from './handler';

// Read and checked once per container: a missing variable fails the cold start with its name. Either API profile:
// Summarize reads only the ledger.
const connection = readConnectionSettings(process.env, 'FraudHoldEscrow Summarize', { servicesProfile: true });
const { logger, metrics } = createObservability(FRAUD_HOLD_METRICS.functionNameDimension);
const settings = readBatchSummarizeSettings(process.env);

export const handler = createFraudHoldSummarizeHandler({
  settings,
  ledger: connectionLedger(connection),
  s3: new S3Client({}),
  putEvents: putEventsWith(new EventBridgeClient({})),
  now: Date.now,
  logger,
  metrics,
});
