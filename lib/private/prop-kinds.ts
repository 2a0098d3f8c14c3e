import { MODEL_OUTPUT_FORMATS } from './contracts/predict-to-trade-env';
import { RELEASE_TRIGGERS } from './contracts/training-bonus-release-env';
import { Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { PurpleFleaApiProfile } from '../purpleflea-api';
import type { PropsValidator } from './validation';

/*
 * What a JavaScript caller's object props are, told by the members the constructs read rather than by
 * `instanceof`: an app may hold two copies of this library (two versions in node_modules), whose classes
 * differ, and an interface (`ISecret`) has no class at all.
 */

/** A `PurpleFleaConnection`: its API, its key secret and its ledger. */
export const CONNECTION_KIND = 'a PurpleFleaConnection';
export function isConnection(value: unknown): boolean {
  const connection = value as { api?: unknown; apiKeySecret?: unknown; ledgerTable?: unknown };
  return isObject(value) && isApi(connection.api) && isSecret(connection.apiKeySecret) && isObject(connection.ledgerTable);
}

/** A `secretsmanager.ISecret`: anything with a secret ARN. */
export const SECRET_KIND = 'a Secrets Manager secret (secretsmanager.ISecret, e.g. Secret.fromSecretNameV2)';
export function isSecret(value: unknown): boolean {
  return isObject(value) && typeof (value as { secretArn?: unknown }).secretArn === 'string';
}

/** A `PurpleFleaApi`, from one of its factories. */
export const API_KIND = 'a PurpleFleaApi (PurpleFleaApi.gateway() or PurpleFleaApi.services())';
export function isApi(value: unknown): boolean {
  return isObject(value) && (Object.values(PurpleFleaApiProfile) as unknown[]).includes((value as { profile?: unknown }).profile);
}

/** A `ModelOutputFormat`, from one of its factories. */
export const MODEL_OUTPUT_KIND = 'a ModelOutputFormat (ModelOutputFormat.json() or ModelOutputFormat.csv())';
export function isModelOutputFormat(value: unknown): boolean {
  return isObject(value) && (MODEL_OUTPUT_FORMATS as readonly unknown[]).includes((value as { formatName?: unknown }).formatName);
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

/** A `RateLimit`, from one of its factories. */
export const RATE_LIMIT_KIND = 'a RateLimit (RateLimit.perSecond(n) or RateLimit.perMinute(n))';
export function isRateLimit(value: unknown): boolean {
  if (!isObject(value)) return false;
  const unit = (value as { unit?: unknown }).unit;
  return unit === 'second' || unit === 'minute';
}

/** An `IMonitoredMoneyAction`: a construct with a `monitoring()`. */
export const MONITORED_KIND = 'a construct that implements IMonitoredMoneyAction (PredictToTrade, BatchPayout...)';
export function isMonitored(value: unknown): boolean {
  const monitored = value as { node?: unknown; monitoring?: unknown };
  return isObject(value) && isObject(monitored.node) && typeof monitored.monitoring === 'function';
}

/** An `EscrowRelease`, from one of its factories. */
export const ESCROW_RELEASE_KIND = 'an EscrowRelease (EscrowRelease.onModelApproval(...) or EscrowRelease.onLifecycleStage(...))';
export function isEscrowRelease(value: unknown): boolean {
  return isObject(value) && (RELEASE_TRIGGERS as readonly unknown[]).includes((value as { trigger?: unknown }).trigger);
}

/** A `ModelAgents` construct: what the constructs use of it is its registry grant. */
export const MODEL_AGENTS_KIND = 'a ModelAgents construct';
export function isModelAgents(value: unknown): boolean {
  return isObject(value) && typeof (value as { grantReadRegistry?: unknown }).grantReadRegistry === 'function';
}

/**
 * `sellerFrom`, `agentsFrom`: the registry is read from this construct's connection's ledger, so ModelAgents must record
 * it in the same table. Two connections with one table (the same object, or one name imported twice) are fine; another
 * table would leave every read denied and every bonus waiting or row refused, found only at run time.
 */
export function checkSameRegistryLedger(v: PropsValidator, prop: string, modelAgents: unknown, connection: unknown): void {
  if (!isModelAgents(modelAgents) || !isConnection(connection)) return;
  const registry = (modelAgents as { registryTable?: dynamodb.ITable }).registryTable;
  const ledger = (connection as { ledgerTable?: dynamodb.ITable }).ledgerTable;
  if (registry === undefined || ledger === undefined || registry === ledger) return;
  const named = (table: dynamodb.ITable) => (Token.isUnresolved(table.tableName) ? undefined : table.tableName);
  if (named(registry) !== undefined && named(registry) === named(ledger)) return;
  const tableOf = (table: dynamodb.ITable) => named(table) ?? table.node.path;
  v.fail(
    `${prop}: the ModelAgents '${(modelAgents as { node: { id: string } }).node.id}' keeps its registry in ledger table ` +
      `${tableOf(registry)}, and connection uses ${tableOf(ledger)}: give both the same PurpleFleaConnection (or the same ` +
      'ledgerTable), or the registry cannot be read',
  );
}

/** An EventBridge bus (`events.IEventBus`): anything with a bus ARN. */
export const EVENT_BUS_KIND = 'an EventBridge bus (events.IEventBus, e.g. EventBus.fromEventBusName)';
export function isEventBus(value: unknown): boolean {
  return isObject(value) && typeof (value as { eventBusArn?: unknown }).eventBusArn === 'string';
}
