import { BATCH_PAYOUT_METRICS, readBatchPayoutPaySettings } from '../../lib/private/contracts/batch-payout-env';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { createConnectionRuntime } from '../shared/connection-runtime';
import { createObservability } from '../shared/observability';
import { createBatchPayoutPayHandler } from './handler';

// Read and checked once per container: a missing variable fails the cold start with its name.
const settings = readBatchPayoutPaySettings(process.env);
const connection = readConnectionSettings(process.env, 'BatchPayout Pay', { servicesProfile: true });
const { logger, metrics } = createObservability(BATCH_PAYOUT_METRICS.functionNameDimension);

export const handler = createBatchPayoutPayHandler({ settings, runtime: createConnectionRuntime(connection), logger, metrics });
