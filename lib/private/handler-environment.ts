import { CONNECTION_ENV, connectionEnvironment } from './contracts/connection-env';
import type { PurpleFleaConnection } from '../purpleflea-connection';

/*
 * The construct side of every handler's environment. What each variable means, and how a handler reads
 * it, is the contract's (lib/private/contracts/*-env.ts); this module fills the contracts from constructs.
 */

/** Powertools' service name and metrics namespace of one handler. */
export interface HandlerMetricsNames {
  readonly serviceName: string;
  readonly namespace: string;
}

/** The variables every handler gets besides the connection's and its construct's own settings. */
const COMMON_ENVIRONMENT_NAMES = ['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE'] as const;

/**
 * A handler's whole environment: source maps, Powertools' service and namespace, how to reach
 * Purple Flea and the ledger, then the construct's settings (from its contract).
 */
export function handlerEnvironment(
  metrics: HandlerMetricsNames,
  connection: PurpleFleaConnection,
  settings: { [name: string]: string },
): { [name: string]: string } {
  return {
    ...commonHandlerEnvironment(metrics),
    ...connectionEnvironmentOf(connection),
    ...settings,
  };
}

/**
 * What every handler gets, even one that never calls Purple Flea: source maps, and Powertools'
 * service and namespace.
 */
export function commonHandlerEnvironment(metrics: HandlerMetricsNames): { [name: string]: string } {
  return {
    NODE_OPTIONS: '--enable-source-maps',
    POWERTOOLS_SERVICE_NAME: metrics.serviceName,
    POWERTOOLS_METRICS_NAMESPACE: metrics.namespace,
  };
}

/**
 * The names of every variable {@link handlerEnvironment} may set for a construct whose contract names
 * its settings' variables `settingsNames`: the user's `functionOptions.environment` may not set them.
 */
export function constructEnvironmentNames(settingsNames: { readonly [key: string]: string }): string[] {
  return [...COMMON_ENVIRONMENT_NAMES, ...Object.values(CONNECTION_ENV), ...Object.values(settingsNames)];
}

/** The environment variables that tell a handler how to reach Purple Flea and the ledger. */
export function connectionEnvironmentOf(connection: PurpleFleaConnection): { [name: string]: string } {
  return connectionEnvironment({
    // The ARN, never the value.
    secretArn: connection.apiKeySecret.secretArn,
    apiKeyField: connection.apiKeyField,
    agentIdField: connection.agentIdField,
    agentId: connection.agentId,
    baseUrl: connection.baseUrl,
    ledgerTableName: connection.ledgerTable.tableName,
    ledgerRetentionDays: connection.ledgerRetention?.toDays({ integral: false }),
    requestTimeoutMs: connection.requestTimeout.toMilliseconds(),
  });
}
