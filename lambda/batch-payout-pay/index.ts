import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { ActRowOutcome, PayBatchEvent, PayBatchResult, PayoutItem } from '../../lib/private/contracts/batch-engine';
import { BATCH_PAYOUT_METRICS as METRIC, readBatchPayoutPaySettings } from '../../lib/private/contracts/batch-payout-env';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import { ActionLedger } from '../shared/action-ledger';
import { mapWithConcurrency, RateLimiter } from '../shared/batch/rate-limiter';
import { parseDecimal } from '../shared/decimal';
import { MoneyPath } from '../shared/money-path';
import { createObservability } from '../shared/observability';
import { countOutcome } from '../shared/outcome-metrics';
import { AGENT_ID_PATTERN, GATEWAY_PROFILE } from '../shared/purpleflea-api';
import { PurpleFleaClient } from '../shared/purpleflea-client';
import { CredentialSource } from '../shared/purpleflea-credentials';
import { payoutActionKey } from '../shared/action-keys';

const settings = readBatchPayoutPaySettings(process.env);
const connection = readConnectionSettings(process.env, 'BatchPayout Pay');
const { logger, metrics } = createObservability(METRIC.functionNameDimension);
const credentials = new CredentialSource(connection.secretArn, connection);
const moneyPath = new MoneyPath(
  new ActionLedger({ tableName: connection.ledgerTableName, retentionDays: connection.ledgerRetentionDays }),
  new PurpleFleaClient({ baseUrl: connection.baseUrl, credentials, requestTimeoutMs: connection.requestTimeoutMs }),
);
/**
 * Paced a little under the configured rate: Purple Flea counts requests in fixed windows, and network
 * jitter can move a request into the next window; the headroom keeps a window from ever going over.
 */
const RATE_HEADROOM = 0.97;
// Per container: this batch's share of the run's rate, kept across batches the container runs in turn.
const limiter = new RateLimiter(settings.requestsPerSecond * RATE_HEADROOM);

const OUTCOME_METRICS = {
  succeeded: METRIC.payoutsSucceeded,
  skipped: METRIC.payoutsSkipped,
  invalid: METRIC.payoutsInvalid,
  rejected: METRIC.payoutsRejected,
  unknown: METRIC.payoutsUnknown,
  amount: METRIC.paidUsdc,
};

/** Time kept back from the function's timeout to record the last outcomes. */
const RECORDING_MARGIN_MS = 10_000;

/**
 * Pay (one Distributed Map batch): every row through the ledger path, a few at a time and at the
 * run's pace. Returns one outcome per row; never throws for a row (a row's failure is its status).
 */
export const handler = async (event: PayBatchEvent, context: Context): Promise<PayBatchResult> => {
  logger.addContext(context);
  logger.appendKeys({ runId: event.BatchInput?.runId });
  const deadline = Date.now() + context.getRemainingTimeInMillis() - RECORDING_MARGIN_MS;
  try {
    const fromAgent = connection.agentId ?? (await credentials.get()).agentIdFromSecret;
    if (!fromAgent || !AGENT_ID_PATTERN.test(fromAgent)) {
      throw new Error(`no valid paying agent id: set agentId on the PurpleFleaConnection or the secret field "${connection.agentIdField}"`);
    }
    const rows = await mapWithConcurrency(event.Items ?? [], settings.concurrency, (item) => payRow(item, event, fromAgent, deadline));
    for (const row of rows) {
      countOutcome(metrics, OUTCOME_METRICS, { status: row.status, repeated: row.repeated, amountUsdc: row.amount_usdc });
      if (row.status === 'UNKNOWN' || row.status === 'INVALID') logger.error(`payout ${row.status}`, { ...row });
    }
    logger.info('batch paid', { rows: rows.length, byStatus: tally(rows) });
    return { rows };
  } finally {
    logger.resetKeys();
    metrics.publishStoredMetrics();
  }
};

async function payRow(item: PayoutItem, event: PayBatchEvent, fromAgent: string, deadline: number): Promise<ActRowOutcome> {
  const line = Number(item.line);
  const amount = parseDecimal(item.amount_usdc ?? '');
  const base = { line, agent_id: item.agent_id, score: item.score, amount_usdc: amount };
  // Prepare validated every row; a row that arrives otherwise is never paid.
  if (!Number.isInteger(line) || !AGENT_ID_PATTERN.test(item.agent_id ?? '') || amount === undefined || !(amount > 0)) {
    return { ...base, status: 'INVALID', error: `malformed batch item ${JSON.stringify(item)}` };
  }
  if (settings.dryRun) return { ...base, status: 'SKIPPED', error: `dry run: would pay ${amount.toFixed(2)} USDC` };

  const { sourceBucket, sourceKey, sourceEtag } = event.BatchInput;
  const report = await moneyPath.executeOnce(
    {
      actionKey: payoutActionKey(sourceBucket, sourceKey, sourceEtag, item.agent_id),
      amountUsdc: amount,
      request: GATEWAY_PROFILE.walletTransfer({
        fromAgent,
        toAgent: item.agent_id,
        amountUsdc: amount,
        memo: `pipeline-bonus score=${Number(item.score).toFixed(3)}`,
      }),
    },
    {
      deadline,
      // Claimed first, so that a rerun's already-paid rows cost no rate-limit slot.
      beforeSend: async () => {
        if (!(await limiter.take(deadline - (connection.requestTimeoutMs ?? 10_000)))) {
          throw new OutOfTimeError();
        }
      },
    },
  ).catch((error: unknown) => {
    if (error instanceof OutOfTimeError) return undefined;
    throw error;
  });
  if (report === undefined) return { ...base, status: 'REJECTED', error: 'not sent: no time left in this batch (a rerun or redrive pays it)' };
  if (report.apiLatencyMs !== undefined) metrics.addMetric(METRIC.apiLatency, MetricUnit.Milliseconds, report.apiLatencyMs);
  return {
    ...base,
    status: report.status,
    result: report.status === 'SUCCEEDED' ? report.response : undefined,
    error: report.error,
    repeated: report.repeated,
  };
}

/** The rate limiter had no slot before the deadline: the row is given back unsent (REJECTED). */
class OutOfTimeError extends Error {
  constructor() {
    super('no rate-limit slot before the deadline');
  }
}

function tally(rows: readonly ActRowOutcome[]): { [status: string]: number } {
  const counts: { [status: string]: number } = {};
  for (const row of rows) counts[row.status] = (counts[row.status] ?? 0) + 1;
  return counts;
}
