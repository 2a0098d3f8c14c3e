import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { POWERTOOLS_SERVICE_DIMENSION } from './contracts/outcome-metrics';

/** Where a handler's EMF metrics are: its contract's namespace and the dimensions its metrics carry. */
export interface HandlerMetricSource {
  readonly namespace: string;
  /** Powertools' `service` dimension (the function's POWERTOOLS_SERVICE_NAME). */
  readonly serviceName: string;
  /** The dimension holding the function's name, so each construct sees only its own function. */
  readonly functionNameDimension: string;
}

/**
 * One EMF metric of `handler`, with exactly the dimensions the handler emits it under (Powertools'
 * `service`, and the function's name): CloudWatch finds a metric only by its full set of dimensions.
 */
export function handlerMetric(
  source: HandlerMetricSource,
  handler: lambda.IFunction,
  metricName: string,
  options: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: source.namespace,
    metricName,
    dimensionsMap: {
      [POWERTOOLS_SERVICE_DIMENSION]: source.serviceName,
      [source.functionNameDimension]: handler.functionName,
    },
    ...options,
  });
}
