import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { FRAUD_HOLD_METRICS, readFraudHoldActSettings } from '../../lib/private/contracts/fraud-hold-env';
import { createConnectionRuntime } from '../shared/connection-runtime';
import { createObservability } from '../shared/observability';
import { createFraudHoldActHandler } from './handler';

// Read and checked once per container: a missing variable fails the cold start with its name.
const settings = readFraudHoldActSettings(process.env);
const connection = readConnectionSettings(process.env, 'FraudHoldEscrow Act', { servicesProfile: true });
const { logger, metrics } = createObservability(FRAUD_HOLD_METRICS.functionNameDimension);

export const handler = createFraudHoldActHandler({ settings, runtime: createConnectionRuntime(connection), logger, metrics });
