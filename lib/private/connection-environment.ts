import { connectionEnvironment } from './contracts/connection-env';
import type { PurpleFleaConnection } from '../purpleflea-connection';

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
