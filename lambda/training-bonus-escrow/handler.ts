import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DescribeTrainingJobCommand, DescribeTrainingJobCommandOutput, SageMakerClient } from '@aws-sdk/client-sagemaker';
import {
  ESCROW_CREATED_EVENT,
  TRAINING_BONUS_ESCROW_METRICS as METRIC,
  TRAINING_BONUS_ESCROW_OUTCOME_METRICS,
  TrainingBonusEscrowSettings,
} from '../../lib/private/contracts/training-bonus-escrow-env';
import { escrowActionKey } from '../shared/action-keys';
import type { ActionLedger } from '../shared/action-ledger';
import { announceOnce } from '../shared/announce-once';
import { type PutEvents, putOneEvent } from '../shared/events';
import type { ExecuteOnce } from '../shared/money-path';
import type { ApiService, PurpleFleaApiProfile } from '../shared/purpleflea-api';
import { singleActionHandler } from '../shared/single-action-handler';
import {
  Checked,
  checkJob,
  decideBonus,
  dryRunReason,
  EscrowTerms,
  finalMetricValue,
  renderTemplate,
  reportedEscrow,
  sellerOf,
  TemplateValues,
} from './decide';
import { parseTrainingJobEvent, TrainingJobEvent } from './training-job-event';
import { agentOf } from '../shared/model-agents';

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

/** What the handler reads of DescribeTrainingJob's answer. */
export type TrainingJobDescription = Pick<DescribeTrainingJobCommandOutput, 'TrainingJobArn' | 'FinalMetricDataList'>;

/** One DescribeTrainingJob call; it throws SageMaker's errors as they are (a job it does not know included). */
export type DescribeTrainingJob = (jobName: string) => Promise<TrainingJobDescription>;

/** DescribeTrainingJob through the SageMaker client. */
export function describeTrainingJobWith(client: SageMakerClient): DescribeTrainingJob {
  return (jobName) => client.send(new DescribeTrainingJobCommand({ TrainingJobName: jobName }));
}

/**
 * The ledger's follow-up operations, by which the escrow is announced once, and its reads (the model agents'
 * registry, when the seller comes from it). ActionLedger has them.
 */
export type NotificationLedger = Pick<ActionLedger, 'claimNotification' | 'releaseNotification' | 'markNotified' | 'get'>;

/**
 * The seller comes from the model agents' registry and the job's agent is not registered (yet), or its registration is
 * unsettled: nothing is escrowed and nothing guessed. Thrown, so that Lambda delivers the event again (ModelAgents
 * registers on the same Completed event), and then the dead-letter queue keeps it for a redrive.
 */
export class SellerNotRegisteredError extends Error {
  constructor(jobName: string, status: string, reason?: string) {
    super(
      `the seller of training job ${jobName} is its model agent, which is ${status}${reason ? ` (${reason})` : ''}: ` +
        'the bonus waits for its registration (this event is retried, then kept in the dead-letter queue for a redrive)',
    );
    this.name = 'SellerNotRegisteredError';
  }
}

export interface TrainingBonusEscrowDeps {
  readonly settings: TrainingBonusEscrowSettings;
  /**
   * The connection's API profile, money path, ledger and agent ids (lambda/shared/connection-runtime.ts). The
   * agent id is read only where the profile makes the key's agent the buyer (the services).
   */
  readonly runtime: {
    readonly api: PurpleFleaApiProfile;
    readonly moneyPath: ExecuteOnce;
    readonly ledger: NotificationLedger;
    agentId(service?: ApiService): Promise<string>;
  };
  readonly describeTrainingJob: DescribeTrainingJob;
  /** Puts `Purple Flea Escrow Created` on the settings' bus. */
  readonly putEvents: PutEvents;
  /** The clock (epoch ms): DescribeTrainingJob's latency, the invocation's deadline. */
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * The TrainingBonusEscrow handler: a training job's `Completed` event → its final metric → the bonus tier →
 * at most one escrow, through the money path, announced once on the bus. Returns normally for every outcome
 * of the escrow (UNKNOWN included: it is never re-sent) and for input no retry can fix; throws when SageMaker
 * or EventBridge failed, so Lambda tries again (the ledger makes the repeat harmless) and then the dead-letter
 * queue keeps the event.
 */
export function createTrainingBonusEscrowHandler(deps: TrainingBonusEscrowDeps) {
  const { settings, runtime, now, logger, metrics } = deps;
  const { api } = runtime;

  async function escrowBonus(event: unknown, deadline: number): Promise<EscrowResult> {
    const parsed = parseTrainingJobEvent(event);
    if (!parsed.ok) return { status: 'INVALID', reason: parsed.reason };
    const job = parsed.event;
    logger.appendKeys({ jobName: job.jobName });

    const checked = checkJob(job, settings);
    if (!checked.ok) return { status: 'SKIPPED', jobName: job.jobName, reason: checked.reason };

    const description = await describeTrainingJob(job.jobName);
    if ('reason' in description) return { status: 'INVALID', jobName: job.jobName, reason: description.reason };
    const jobArn = job.jobArn ?? description.job.TrainingJobArn;
    if (!jobArn) return { status: 'INVALID', jobName: job.jobName, reason: 'neither the event nor DescribeTrainingJob gave the job ARN' };
    const actionKey = escrowActionKey(jobArn);
    logger.appendKeys({ actionKey });

    const metric = finalMetricValue(job.jobName, description.job.FinalMetricDataList, settings.metricName);
    if (!metric.ok) return { status: 'INVALID', jobName: job.jobName, actionKey, reason: metric.reason };
    const metricValue = metric.value;

    const bonus = decideBonus(metricValue, settings);
    const bonusUsdc = bonus.bonusUsdc;
    const common = { jobName: job.jobName, actionKey, metricValue, bonusUsdc };
    if (bonus.action === 'skip') return { ...common, status: 'SKIPPED', reason: bonus.reason };
    if (bonus.action === 'invalid') return { ...common, status: 'INVALID', reason: bonus.reason };

    const values = { jobName: job.jobName, metricName: settings.metricName, metricValue };
    const seller = await sellerFor(job, jobArn, values);
    if (!seller.ok) return { ...common, status: 'INVALID', reason: seller.reason };
    const terms = { seller: seller.agentId, bonusUsdc, condition: renderTemplate(settings.conditionTemplate, values) };
    // On the services profile the key's agent pays: its id is read (from the secret) only once the escrow is sent.
    const dryRun = dryRunReason(
      { ...terms, buyer: api.escrowBuyerIsKeyAgent ? "the connection key's agent" : settings.buyerAgentId },
      settings,
    );
    if (dryRun !== undefined) return { ...common, seller: seller.agentId, status: 'SKIPPED', reason: dryRun };
    const computed: EscrowTerms = {
      ...terms,
      buyer: api.escrowBuyerIsKeyAgent ? await runtime.agentId(api.serviceOf.escrow) : settings.buyerAgentId,
    };

    const report = await runtime.moneyPath.executeOnce(
      {
        actionKey,
        amountUsdc: bonusUsdc,
        request: api.createEscrow({
          buyer: computed.buyer,
          seller: computed.seller,
          amountUsdc: bonusUsdc,
          condition: computed.condition,
          metadata: {
            training_job: job.jobName,
            metric_name: settings.metricName,
            metric_value: metricValue,
            trigger: 'sagemaker-training-complete',
          },
          actionKey,
          services: settings.services && { timeoutHours: settings.services.escrowTimeoutHours },
        }),
      },
      { deadline },
    );
    if (report.apiLatencyMs !== undefined) metrics.addMetric(METRIC.apiLatency, MetricUnit.Milliseconds, report.apiLatencyMs);
    const escrowId = typeof report.response?.escrow_id === 'string' ? report.response.escrow_id : undefined;
    // A repeat reports, and announces, the escrow the ledger recorded, not the one this delivery computed.
    const { escrow, ...computedOtherwise } = reportedEscrow(report.recorded, computed, api);
    // Announced once: the invocation that takes the notification in the ledger puts the event.
    if (report.status === 'SUCCEEDED' && !report.notified) {
      await announceOnce(runtime.ledger, actionKey, () =>
        announceEscrow({ escrowId, jobName: job.jobName, jobArn, actionKey, ...escrow, metricValue }),
      );
    }
    return {
      ...common,
      bonusUsdc: escrow.bonusUsdc,
      ...computedOtherwise,
      seller: escrow.seller,
      status: report.status,
      escrowId,
      repeated: report.repeated,
      reason: report.error,
    };
  }

  /** The job's tag, else its model agent (when the seller comes from the registry), else the seller template. */
  async function sellerFor(job: TrainingJobEvent, jobArn: string, values: TemplateValues): Promise<Checked<{ readonly agentId: string }>> {
    const tagged = settings.sellerTagKey !== undefined && job.tags[settings.sellerTagKey] !== undefined;
    if (!settings.sellerFromRegistry || tagged) return sellerOf(job, values, settings, api.counterpartyProblem);
    const agent = await agentOf(runtime.ledger, jobArn);
    if (agent.status !== 'REGISTERED') {
      logger.warn('escrow waits for the model agent', { jobName: job.jobName, agentStatus: agent.status });
      throw new SellerNotRegisteredError(job.jobName, agent.status, 'reason' in agent ? agent.reason : undefined);
    }
    const problem = api.counterpartyProblem(agent.agentId);
    if (problem !== undefined)
      return { ok: false, reason: `the model agent of job ${job.jobName} cannot be this connection's seller: ${problem}` };
    return { ok: true, agentId: agent.agentId };
  }

  type Described = { readonly job: TrainingJobDescription } | { readonly reason: string };

  /** A job SageMaker does not know is bad input (no retry helps); any other failure is thrown, to be retried. */
  async function describeTrainingJob(jobName: string): Promise<Described> {
    const started = now();
    try {
      return { job: await deps.describeTrainingJob(jobName) };
    } catch (error) {
      const { name, message } = error as Error;
      if (name === 'ResourceNotFound' || (name === 'ValidationException' && /not found/i.test(message))) {
        return { reason: `training job ${jobName} was not found by DescribeTrainingJob: ${message}` };
      }
      throw new Error(`DescribeTrainingJob failed for training job ${jobName}: ${name}: ${message}`, { cause: error });
    } finally {
      metrics.addMetric(METRIC.describeLatency, MetricUnit.Milliseconds, now() - started);
    }
  }

  async function announceEscrow(
    detail: { escrowId?: string; jobName: string; jobArn: string; actionKey: string; metricValue: number } & EscrowTerms,
  ): Promise<void> {
    await putOneEvent(
      deps.putEvents,
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
      `the escrow of job ${detail.jobName}`,
    );
  }

  return singleActionHandler<EscrowResult>({
    logger,
    metrics,
    now,
    label: 'escrow',
    metricNames: TRAINING_BONUS_ESCROW_OUTCOME_METRICS,
    amountOf: (result) => result.bonusUsdc,
    act: escrowBonus,
  });
}
