import type { BatchInput, PayoutItem } from '../../lib/private/contracts/batch-engine';
import { BATCH_PAYOUT_METRICS as METRIC, BATCH_PAYOUT_OUTCOME_METRICS, readBatchPayoutPaySettings } from '../../lib/private/contracts/batch-payout-env';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { payoutActionKey } from '../shared/action-keys';
import { ActionLedger } from '../shared/action-ledger';
import { batchActHandler, RowPlan } from '../shared/batch/act-on-batch';
import { amountRecheckProblem } from '../shared/batch/row-caps';
import { parseDecimal } from '../shared/decimal';
import { MoneyPath } from '../shared/money-path';
import { createObservability } from '../shared/observability';
import { AGENT_ID_PATTERN, GATEWAY_PROFILE } from '../shared/purpleflea-api';
import { PurpleFleaClient } from '../shared/purpleflea-client';
import { connectionAgentId, CredentialSource } from '../shared/purpleflea-credentials';

const settings = readBatchPayoutPaySettings(process.env);
const connection = readConnectionSettings(process.env, 'BatchPayout Pay');
const { logger, metrics } = createObservability(METRIC.functionNameDimension);
const credentials = new CredentialSource(connection.secretArn, connection);
const requestTimeoutMs = connection.requestTimeoutMs ?? 10_000;

/** Pay (one Distributed Map batch): a wallet transfer per row, from the connection's agent. */
export const handler = batchActHandler<PayoutItem, BatchInput>({
  logger,
  metrics,
  label: 'payout',
  metricNames: BATCH_PAYOUT_OUTCOME_METRICS,
  apiLatencyMetric: METRIC.apiLatency,
  moneyPath: new MoneyPath(
    new ActionLedger({ tableName: connection.ledgerTableName, retentionDays: connection.ledgerRetentionDays }),
    new PurpleFleaClient({ baseUrl: connection.baseUrl, credentials, requestTimeoutMs }),
  ),
  requestsPerSecond: settings.requestsPerSecond,
  concurrency: settings.concurrency,
  requestTimeoutMs,
  plan: planPayout,
});

async function planPayout(item: PayoutItem, batch: BatchInput): Promise<RowPlan> {
  const line = Number(item.line);
  const amount = parseDecimal(item.amount_usdc ?? '');
  const columns = { line, agent_id: item.agent_id, score: item.score, amount_usdc: amount };
  // Prepare validated every row; a row that arrives otherwise is never paid.
  if (!Number.isInteger(line) || !AGENT_ID_PATTERN.test(item.agent_id ?? '') || amount === undefined || !(amount > 0)) {
    return { columns, invalid: `malformed batch item ${JSON.stringify(item)}` };
  }
  // Prepare checked the caps, but input.csv may have been rewritten since: each row is checked again.
  const overCap = amountRecheckProblem(item.amount_usdc, amount, [['maxPayoutPerAgentUsdc', settings.maxPayoutPerAgentUsdc], ['maxBatchTotalUsdc', settings.maxBatchTotalUsdc]], 'not paid');
  if (overCap !== undefined) return { columns, invalid: overCap };
  // Read by every step that moves money: a run in flight, or a redrive, after the construct was disabled pays no one.
  if (!settings.enabled) return { columns, skipped: 'disabled (enabled: false): nothing is paid' };
  if (settings.dryRun) return { columns, skipped: `dry run: would pay ${amount.toFixed(2)} USDC` };
  // Errors never quote a value read from the secret.
  const fromAgent = await connectionAgentId(connection, credentials);
  return {
    columns,
    action: {
      actionKey: payoutActionKey(batch.sourceBucket, batch.sourceKey, batch.sourceEtag, item.agent_id),
      amountUsdc: amount,
      request: GATEWAY_PROFILE.walletTransfer({
        fromAgent,
        toAgent: item.agent_id,
        amountUsdc: amount,
        memo: `pipeline-bonus score=${Number(item.score).toFixed(3)}`,
      }),
    },
  };
}
