import { Stack, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { AnyConnectionSettings, CONNECTION_ENV, connectionEnvironment } from './contracts/connection-env';
import type { WriteNumber } from './contracts/env-reader';
import { PurpleFleaApiProfile } from '../purpleflea-api';
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

/** What a handler does with the connection, beyond reaching Purple Flea and the ledger. */
export interface ConnectionUse {
  /** It trades: on the services profile, it is told where the trading key is (and only it may read it). */
  readonly trades?: boolean;
}

/**
 * A handler's whole environment: source maps, Powertools' service and namespace, how to reach
 * Purple Flea and the ledger, then the construct's settings (from its contract).
 */
export function handlerEnvironment(
  metrics: HandlerMetricsNames,
  connection: PurpleFleaConnection,
  settings: { [name: string]: string },
  use: ConnectionUse = {},
): { [name: string]: string } {
  return {
    ...commonHandlerEnvironment(metrics),
    ...connectionEnvironmentOf(connection, use),
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
 * How the constructs write number settings into a function's environment: a number as its text, and a number
 * token (Lazy.number, a CfnParameter's valueAsNumber) as a string token of its JSON, which resolves to the
 * number's text (or a reference to a parameter, whose value CloudFormation passes as a string). Lambda takes
 * only strings, and a number token alone in a variable would resolve to a number.
 */
export function numberInTemplate(scope: IConstruct): WriteNumber {
  return (value) => (Token.isUnresolved(value) ? Stack.of(scope).toJsonString(value) : value.toString());
}

/**
 * The names of every variable {@link handlerEnvironment} may set for a construct whose contract names
 * its settings' variables `settingsNames`: the user's `functionOptions.environment` may not set them.
 */
export function constructEnvironmentNames(settingsNames: { readonly [key: string]: string }): string[] {
  return [...COMMON_ENVIRONMENT_NAMES, ...Object.values(CONNECTION_ENV), ...Object.values(settingsNames)];
}

/**
 * The environment variables that tell a handler how to reach Purple Flea and the ledger. On the gateway they
 * are exactly those of before profiles existed; on the services profile they name the services' URLs and,
 * for a handler that trades, where the trading key is.
 */
export function connectionEnvironmentOf(connection: PurpleFleaConnection, use: ConnectionUse = {}): { [name: string]: string } {
  return connectionEnvironment(connectionSettingsOf(connection, use));
}

function connectionSettingsOf(connection: PurpleFleaConnection, use: ConnectionUse): AnyConnectionSettings {
  const common = {
    // The ARN, never the value.
    secretArn: connection.apiKeySecret.secretArn,
    apiKeyField: connection.apiKeyField,
    agentIdField: connection.agentIdField,
    agentId: connection.agentId,
    ledgerTableName: connection.ledgerTable.tableName,
    ledgerRetentionDays: connection.ledgerRetention?.toDays({ integral: false }),
    requestTimeoutMs: connection.requestTimeout.toMilliseconds(),
  };
  const api = connection.api;
  if (api.profile !== PurpleFleaApiProfile.SERVICES) {
    return { ...common, baseUrl: required(api.baseUrl, 'baseUrl') };
  }
  return {
    ...common,
    profile: 'services',
    escrowUrl: required(api.escrowUrl, 'escrowUrl'),
    casinoUrl: required(api.casinoUrl, 'casinoUrl'),
    tradingUrl: required(api.tradingUrl, 'tradingUrl'),
    faucetUrl: required(api.faucetUrl, 'faucetUrl'),
    tradingKey: use.trades
      ? {
          // The ARN, never the value; absent: the trading key is in the connection's secret.
          secretArn: connection.tradingKeySecret?.secretArn,
          keyField: required(connection.tradingKeyField, 'tradingKeyField'),
          agentIdField: required(connection.tradingAgentIdField, 'tradingAgentIdField'),
        }
      : undefined,
  };
}

/** A value the connection sets for its profile (PurpleFleaApi's factories and the connection's constructor). */
function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`PurpleFleaConnection: ${name} is missing for its profile`);
  return value;
}
