import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeTrainingJobCommand, DescribeTrainingJobCommandOutput, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { readConnectionSettings } from '../../lib/private/contracts/connection-env';
import {
  ESCROW_CREATED_EVENT,
  readTrainingBonusEscrowSettings,
  TRAINING_BONUS_ESCROW_METRICS as METRIC,
  TRAINING_BONUS_ESCROW_OUTCOME_METRICS,
  TRAINING_JOB_STATE_CHANGE,
} from '../../lib/private/contracts/training-bonus-escrow-env';
import { escrowActionKey } from '../shared/action-keys';
import { ActionLedger } from '../shared/action-ledger';
import { toCentsRounded } from '../shared/decimal';
import { MoneyPath } from '../shared/money-path';
import { createObservability } from '../shared/observability';
import { AGENT_ID_PATTERN, GATEWAY_PROFILE } from '../shared/purpleflea-api';
import { PurpleFleaClient } from '../shared/purpleflea-client';
import { singleActionHandler } from '../shared/single-action-handler';
import { CredentialSource } from '../shared/purpleflea-credentials';
import { bonusFor, renderTemplate } from './decide';
import { parseTrainingJobEvent, TrainingJobEvent } from './training-job-event';

// Read and checked once per container: a missing variable fails the cold start with its name.
const settings = readTrainingBonusEscrowSettings(process.env);
const connection = readConnectionSettings(process.env, 'TrainingBonusEscrow');

const { logger, metrics } = createObservability(METRIC.functionNameDimension);
// Throttling and 5xx from SageMaker are retried by the SDK (backoff with jitter) before the invocation fails.
const sagemaker = new SageMakerClient({ maxAttempts: 5 });
const eventBridge = new EventBridgeClient({});
const ledger = new ActionLedger({ tableName: connection.ledgerTableName, retentionDays: connection.ledgerRetentionDays });
const moneyPath = new MoneyPath(
  ledger,
  new PurpleFleaClient({
    baseUrl: connection.baseUrl,
    credentials: new CredentialSource(connection.secretArn, connection),
    requestTimeoutMs: connection.requestTimeoutMs,
  }),
);

export type EscrowStatus = 'SUCCEEDED' | 'SKIPPED' | 'INVALID' | 'REJECTED' | 'UNKNOWN' | 'IN_PROGRESS';

export interface EscrowResult {
  readonly status: EscrowStatus;
  readonly jobName?: string;
  readonly actionKey?: string;
  readonly reason?: string;
  readonly metricValue?: number;
  /** The escrow's amount: for a repeat (the ledger already had the job's escrow), the one the ledger recorded. */
  readonly bonusUsdc?: number;
  /** A repeat whose bonus this delivery computed otherwise (the tiers changed): that bonus; `note` says so. */
  readonly computedBonusUsdc?: number;
  readonly note?: string;
  readonly seller?: string;
  readonly escrowId?: string;
  readonly repeated?: boolean;
}

/**
 * Returns normally for every outcome of the escrow (UNKNOWN included: it is never re-sent) and for
 * input no retry can fix; throws when SageMaker or EventBridge failed, so Lambda tries again (the
 * ledger makes the repeat harmless) and then the dead-letter queue keeps the event.
 */
export const handler = singleActionHandler<EscrowResult>({
  logger,
  metrics,
  label: 'escrow',
  metricNames: TRAINING_BONUS_ESCROW_OUTCOME_METRICS,
  amountOf: (result) => result.bonusUsdc,
  act: escrowBonus,
});

async function escrowBonus(event: unknown, deadline: number): Promise<EscrowResult> {
  const parsed = parseTrainingJobEvent(event);
  if (!parsed.ok) return { status: 'INVALID', reason: parsed.reason };
  const job = parsed.event;
  logger.appendKeys({ jobName: job.jobName });

  if (!settings.enabled) return { status: 'SKIPPED', jobName: job.jobName, reason: 'disabled (enabled: false)' };
  if (job.status !== TRAINING_JOB_STATE_CHANGE.completedStatus) {
    return { status: 'SKIPPED', jobName: job.jobName, reason: `the job is ${job.status}, not Completed` };
  }

  const description = await describeTrainingJob(job.jobName);
  if ('reason' in description) return { status: 'INVALID', jobName: job.jobName, reason: description.reason };
  const jobArn = job.jobArn ?? description.job.TrainingJobArn;
  if (!jobArn) return { status: 'INVALID', jobName: job.jobName, reason: 'neither the event nor DescribeTrainingJob gave the job ARN' };
  const actionKey = escrowActionKey(jobArn);
  logger.appendKeys({ actionKey });

  const metric = description.job.FinalMetricDataList?.find((entry) => entry.MetricName === settings.metricName);
  if (!metric) {
    const found = (description.job.FinalMetricDataList ?? []).map((entry) => entry.MetricName).join(', ') || 'none';
    return { status: 'INVALID', jobName: job.jobName, actionKey, reason: `job ${job.jobName} has no final metric "${settings.metricName}" (it has: ${found})` };
  }
  const metricValue = metric.Value;
  if (typeof metricValue !== 'number' || !Number.isFinite(metricValue)) {
    return { status: 'INVALID', jobName: job.jobName, actionKey, reason: `job ${job.jobName}'s final metric "${settings.metricName}" is not a finite number, got ${String(metricValue)}` };
  }

  const bonusUsdc = bonusFor(metricValue, settings.bonusTiers, settings.metricGoal);
  const common = { jobName: job.jobName, actionKey, metricValue, bonusUsdc };
  if (bonusUsdc === 0) return { ...common, status: 'SKIPPED', reason: `${settings.metricName} ${metricValue} is below every bonus tier` };
  if (bonusUsdc > settings.maxBonusUsdc) {
    return { ...common, status: 'INVALID', reason: `bonus ${bonusUsdc} USDC is over maxBonusUsdc ${settings.maxBonusUsdc}` };
  }

  const values = { jobName: job.jobName, metricName: settings.metricName, metricValue };
  const seller = sellerOf(job, values);
  if (!seller.ok) return { ...common, status: 'INVALID', reason: seller.reason };
  const condition = renderTemplate(settings.conditionTemplate, values);
  if (settings.dryRun) {
    return { ...common, seller: seller.agentId, status: 'SKIPPED', reason: `dry run: would escrow ${bonusUsdc} USDC from ${settings.buyerAgentId} to ${seller.agentId}` };
  }

  const report = await moneyPath.executeOnce(
    {
      actionKey,
      amountUsdc: bonusUsdc,
      request: GATEWAY_PROFILE.createEscrow({
        buyer: settings.buyerAgentId,
        seller: seller.agentId,
        amountUsdc: bonusUsdc,
        condition,
        metadata: { training_job: job.jobName, metric_name: settings.metricName, metric_value: metricValue, trigger: 'sagemaker-training-complete' },
      }),
    },
    { deadline },
  );
  if (report.apiLatencyMs !== undefined) metrics.addMetric(METRIC.apiLatency, MetricUnit.Milliseconds, report.apiLatencyMs);
  const escrowId = typeof report.response?.escrow_id === 'string' ? report.response.escrow_id : undefined;
  // A repeat reports, and announces, the escrow the ledger recorded, not the one this delivery computed.
  const recorded = GATEWAY_PROFILE.recordedEscrow(report.recorded?.request ?? {});
  const escrow = {
    buyer: recorded.buyer ?? settings.buyerAgentId,
    seller: recorded.seller ?? seller.agentId,
    bonusUsdc: report.recorded?.amountUsdc ?? recorded.amountUsdc ?? bonusUsdc,
    condition: recorded.condition ?? condition,
  };
  const differs = [
    ...(toCentsRounded(escrow.bonusUsdc) !== toCentsRounded(bonusUsdc) ? [`${bonusUsdc} USDC`] : []),
    ...(escrow.seller !== seller.agentId ? [`the seller ${seller.agentId}`] : []),
  ];
  const computedOtherwise = differs.length === 0 ? {} : {
    computedBonusUsdc: bonusUsdc,
    note: `repeated: the ledger recorded an escrow of ${escrow.bonusUsdc} USDC${escrow.seller !== seller.agentId ? ` to ${escrow.seller}` : ''} for this job; this delivery computed ${differs.join(' and ')}`,
  };
  // Announced once: the invocation that takes the notification in the ledger puts the event.
  if (report.status === 'SUCCEEDED' && !report.notified && (await ledger.claimNotification(actionKey, NOTIFICATION_LEASE_MS))) {
    try {
      await announceEscrow({ escrowId, jobName: job.jobName, jobArn, actionKey, ...escrow, metricValue });
    } catch (error) {
      await ledger.releaseNotification(actionKey);
      throw error;
    }
    await ledger.markNotified(actionKey);
  }
  return { ...common, bonusUsdc: escrow.bonusUsdc, ...computedOtherwise, seller: escrow.seller, status: report.status, escrowId, repeated: report.repeated, reason: report.error };
}

/** A failed announcement may be taken over after this (Lambda's retry comes a minute later or more). */
const NOTIFICATION_LEASE_MS = 50_000;

type Described = { readonly job: DescribeTrainingJobCommandOutput } | { readonly reason: string };

/** A job SageMaker does not know is bad input (no retry helps); any other failure is thrown, to be retried. */
async function describeTrainingJob(jobName: string): Promise<Described> {
  const started = Date.now();
  try {
    return { job: await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: jobName })) };
  } catch (error) {
    const { name, message } = error as Error;
    if (name === 'ResourceNotFound' || (name === 'ValidationException' && /not found/i.test(message))) {
      return { reason: `training job ${jobName} was not found by DescribeTrainingJob: ${message}` };
    }
    throw new Error(`DescribeTrainingJob failed for training job ${jobName}: ${name}: ${message}`, { cause: error });
  } finally {
    metrics.addMetric(METRIC.describeLatency, MetricUnit.Milliseconds, Date.now() - started);
  }
}

/** The seller: the job's tag when `sellerTagKey` is set and the job has it, else the seller template. */
function sellerOf(job: TrainingJobEvent, values: Parameters<typeof renderTemplate>[1]): { ok: true; agentId: string } | { ok: false; reason: string } {
  const tagged = settings.sellerTagKey === undefined ? undefined : job.tags[settings.sellerTagKey];
  const agentId = tagged ?? renderTemplate(settings.sellerTemplate, values);
  if (!AGENT_ID_PATTERN.test(agentId)) {
    const source = tagged === undefined ? 'the seller template' : `the job's tag "${settings.sellerTagKey}"`;
    return { ok: false, reason: `${source} gives an invalid seller agent id for job ${job.jobName}: ${JSON.stringify(agentId)}` };
  }
  return { ok: true, agentId };
}

async function announceEscrow(detail: {
  escrowId?: string; jobName: string; jobArn: string; actionKey: string; bonusUsdc: number; buyer: string; seller: string; condition: string; metricValue: number;
}): Promise<void> {
  const result = await eventBridge.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: settings.eventBusName,
          Source: ESCROW_CREATED_EVENT.source,
          DetailType: ESCROW_CREATED_EVENT.detailType,
          Resources: [detail.jobArn],
          Detail: JSON.stringify({
            escrow_id: detail.escrowId,
            training_job: detail.jobName,
            training_job_arn: detail.jobArn,
            amount_usdc: detail.bonusUsdc,
            buyer: detail.buyer,
            seller: detail.seller,
            condition: detail.condition,
            metric_name: settings.metricName,
            metric_value: detail.metricValue,
            action_key: detail.actionKey,
          }),
        },
      ],
    }),
  );
  if (result.FailedEntryCount) {
    throw new Error(`PutEvents failed for the escrow of job ${detail.jobName}: ${result.Entries?.[0]?.ErrorCode ?? 'unknown error'}`);
  }
}
