import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * Structured JSON logs and EMF metrics. The service name and namespace come from the
 * POWERTOOLS_* variables the construct sets; the function name is a dimension so that each
 * construct's alarms see only its own function.
 */
export function createObservability(functionNameDimension: string): { logger: Logger; metrics: Metrics } {
  const logger = new Logger();
  const metrics = new Metrics({
    defaultDimensions: { [functionNameDimension]: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'local' },
  });
  return { logger, metrics };
}
