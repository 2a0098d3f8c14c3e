import type { BatchInput } from '../../lib/private/contracts/batch-engine';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { FRAUD_HOLD_METRICS as METRIC, FRAUD_HOLD_OUTCOME_METRICS, HoldItem, readFraudHoldActSettings } from '../../lib/private/contracts/fraud-hold-env';
import { ActionLedger } from '../shared/action-ledger';
import { batchActHandler, RowPlan } from '../shared/batch/act-on-batch';
import { amountRecheckProblem } from '../shared/batch/row-caps';
import { parseDecimal } from '../shared/decimal';
import { MoneyPath } from '../shared/money-path';
import { createObservability } from '../shared/observability';
import { AGENT_ID_PATTERN, GATEWAY_PROFILE } from '../shared/purpleflea-api';
import { PurpleFleaClient } from '../shared/purpleflea-client';
import { CredentialSource } from '../shared/purpleflea-credentials';
import { TRANSACTION_ID_PATTERN } from '../shared/record-ids';
import { fillTemplate } from '../shared/template';
import { holdColumns, holdKeyOf } from './hold-row';

const settings = readFraudHoldActSettings(process.env);
const connection = readConnectionSettings(process.env, 'FraudHoldEscrow Act');
const { logger, metrics } = createObservability(METRIC.functionNameDimension);
const requestTimeoutMs = connection.requestTimeoutMs ?? 10_000;

/** Act (FraudHoldEscrow, one Distributed Map batch): an escrow hold per flagged transaction. */
export const handler = batchActHandler<HoldItem, BatchInput>({
  logger,
  metrics,
  label: 'hold',
  metricNames: FRAUD_HOLD_OUTCOME_METRICS,
  apiLatencyMetric: METRIC.apiLatency,
  moneyPath: new MoneyPath(
    new ActionLedger({ tableName: connection.ledgerTableName, retentionDays: connection.ledgerRetentionDays }),
    new PurpleFleaClient({ baseUrl: connection.baseUrl, credentials: new CredentialSource(connection.secretArn, connection), requestTimeoutMs }),
  ),
  requestsPerSecond: settings.requestsPerSecond,
  concurrency: settings.concurrency,
  requestTimeoutMs,
  plan: planHold,
});

function planHold(item: HoldItem, batch: BatchInput): RowPlan {
  const columns = holdColumns(item);
  const score = parseDecimal(item.fraud_score ?? '');
  const amount = columns.amount_usdc;
  // Prepare validated every row; a row that arrives otherwise holds nothing.
  const transactionId = item.transaction_id ?? '';
  if (transactionId !== '' && !TRANSACTION_ID_PATTERN.test(transactionId)) return { columns, invalid: `malformed batch item ${JSON.stringify(item)}` };
  if (!Number.isInteger(columns.line) || !AGENT_ID_PATTERN.test(item.buyer ?? '') || !AGENT_ID_PATTERN.test(item.seller ?? '') || amount === undefined || !(amount > 0) || score === undefined) {
    return { columns, invalid: `malformed batch item ${JSON.stringify(item)}` };
  }
  // Prepare checked the caps, but input.csv may have been rewritten since: each row is checked again.
  const overCap = amountRecheckProblem(item.amount_usdc, amount, [['maxHoldUsdc', settings.maxHoldUsdc], ['maxBatchTotalUsdc', settings.maxBatchTotalUsdc]], 'not held');
  if (overCap !== undefined) return { columns, invalid: overCap };
  // Read by every step that moves money: a run in flight, or a redrive, after the construct was disabled holds nothing.
  if (!settings.enabled) return { columns, skipped: 'disabled (enabled: false): nothing is held' };
  if (settings.dryRun) return { columns, skipped: `dry run: would hold ${amount.toFixed(2)} USDC from ${item.buyer} for ${item.seller}` };
  const condition = fillTemplate(settings.conditionTemplate, { transactionId: item.transaction_id, fraudScore: score.toFixed(2), jobName: item.transform_job });
  return {
    columns,
    action: {
      actionKey: holdKeyOf(item, batch.sourceBucket),
      amountUsdc: amount,
      request: GATEWAY_PROFILE.createEscrow({
        buyer: item.buyer,
        seller: item.seller,
        amountUsdc: amount,
        condition,
        metadata: { source: 'sagemaker-batch', transaction_id: item.transaction_id || null, fraud_score: score, transform_job: item.transform_job || null },
      }),
    },
  };
}
