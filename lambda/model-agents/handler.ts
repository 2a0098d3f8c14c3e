import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  agentSecretName,
  MODEL_AGENT_RECORD,
  MODEL_AGENT_REGISTERED_EVENT,
  MODEL_AGENTS_METRICS as METRIC,
  MODEL_AGENTS_OUTCOME_METRICS,
  ModelAgentsSettings,
} from '../../lib/private/contracts/model-agents-env';
import { agentActionKey, faucetActionKey } from '../shared/action-keys';
import type { ActionLedger } from '../shared/action-ledger';
import { announceOnce } from '../shared/announce-once';
import { type PutEvents, putOneEvent } from '../shared/events';
import type { ExecuteOnce, MoneyAction } from '../shared/money-path';
import { AgentRoutes, PurpleFleaApiProfile, SERVICES_AGENT_ID_PREFIX } from '../shared/purpleflea-api';
import type { ReadApi } from '../shared/purpleflea-client';
import { singleActionHandler } from '../shared/single-action-handler';
import { AgentSecrets, putKeyPersistently } from './agent-secrets';
import { ModelVersion, parseModelVersionEvent } from './model-version';

export type RegistrationStatus = 'SUCCEEDED' | 'SKIPPED' | 'INVALID' | 'REJECTED' | 'UNKNOWN' | 'IN_PROGRESS';

/** What became of the new agent's $1. */
export type FaucetStatus =
  /** Claimed now, by this construct. */
  | 'CLAIMED'
  /** The agent had it (the casino's own background claim), or the faucet said 409 already_claimed. */
  | 'ALREADY_FUNDED'
  /** 429 ip_rate_limited (one claim per IP per 24 hours), or the balance could not be read: a later run claims it. */
  | 'DEFERRED'
  | 'REJECTED'
  | 'UNKNOWN'
  | 'IN_PROGRESS';

export interface FaucetResult {
  readonly status: FaucetStatus;
  readonly actionKey?: string;
  readonly repeated?: boolean;
  readonly reason?: string;
}

/** One invocation's outcome, as logged and returned: it never holds the agent's key. */
export interface AgentResult {
  readonly status: RegistrationStatus;
  /** The training job's or the model package's ARN. */
  readonly modelVersion?: string;
  readonly modelVersionName?: string;
  /** `v1:agent:<model version ARN>`. */
  readonly actionKey?: string;
  readonly agentId?: string;
  /** The secret holding the agent's key (its ARN; never the value). */
  readonly secretArn?: string;
  readonly repeated?: boolean;
  readonly faucet?: FaucetResult;
  readonly reason?: string;
}

export interface ModelAgentsDeps {
  readonly settings: ModelAgentsSettings;
  readonly runtime: {
    readonly api: PurpleFleaApiProfile;
    readonly moneyPath: ExecuteOnce;
    readonly ledger: Pick<ActionLedger, 'get' | 'claimNotification' | 'releaseNotification' | 'markNotified'>;
  };
  readonly secrets: AgentSecrets;
  /** The casino's read routes with the key in the agent's secret (its balance is its own). */
  readonly agentReader: (secretArn: string) => ReadApi;
  /** Puts `Purple Flea Model Agent Registered` on the settings' bus. */
  readonly putEvents: PutEvents;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** What the faucet credits. */
const FAUCET_USD = 1;

/**
 * ModelAgents: a model version (a completed training job, a model package of a watched group) → its secret, created
 * empty → one casino agent (`v1:agent:<ARN>`), whose key goes into the secret before the registration is recorded, and
 * is recorded without it → the agent's $1 from the faucet when its balance lacks it (`v1:faucet:<agent id>`) → one
 * `Purple Flea Model Agent Registered` event. A lost answer is UNKNOWN and never registered again (an orphan agent at
 * worst, listed for the operator).
 */
export function createModelAgentsHandler(deps: ModelAgentsDeps) {
  const { settings, runtime, now, logger, metrics } = deps;
  // The construct refuses the gateway at synth; an edited environment stops here, at the cold start.
  const routes: AgentRoutes =
    runtime.api.agents ??
    fail(
      `ModelAgents: the ${runtime.api.name} profile has no agent registration (the gateway documents none): use PurpleFleaApi.services()`,
    );

  async function register(event: unknown, deadline: number): Promise<AgentResult> {
    const parsed = parseModelVersionEvent(event, settings);
    if (!parsed.ok) return { status: parsed.skip ? 'SKIPPED' : 'INVALID', reason: parsed.reason };
    const version = parsed.version;
    const actionKey = agentActionKey(version.arn);
    const secretName = agentSecretName(settings.secretNamePrefix, version.arn);
    const common = { modelVersion: version.arn, modelVersionName: version.name, actionKey };
    logger.appendKeys({ modelVersion: version.arn, actionKey });
    if (!settings.enabled) return { ...common, status: 'SKIPPED', reason: 'disabled: the construct is switched off (enabled: false)' };
    if (settings.dryRun) {
      return {
        ...common,
        status: 'SKIPPED',
        reason: `dry run: would register an agent for ${version.name}, its key in secret ${secretName}`,
      };
    }

    // The secret first, before anything is registered: the key has somewhere to go the moment it is answered. A
    // registration already recorded names its secret; any other state makes sure of it (a refused registration is tried again).
    const existing = await runtime.ledger.get(actionKey);
    const recordedSecret = existing?.state === 'SUCCEEDED' ? stringField(existing.response, MODEL_AGENT_RECORD.secretArn) : undefined;
    const secretArn = recordedSecret ?? (await deps.secrets.ensure(secretName, version.arn));

    const report = await runtime.moneyPath.executeOnce(registration(version, secretArn, deadline), { deadline });
    if (report.apiLatencyMs !== undefined) metrics.addMetric(METRIC.apiLatency, MetricUnit.Milliseconds, report.apiLatencyMs);
    const agentId = stringField(report.response, MODEL_AGENT_RECORD.agentId);
    const result: AgentResult = { ...common, status: report.status, agentId, secretArn, repeated: report.repeated, reason: report.error };
    if (report.status !== 'SUCCEEDED') return result;
    if (agentId === undefined) return { ...result, status: 'UNKNOWN', reason: 'the registration is recorded without an agent id' };
    logger.appendKeys({ agentId });

    const faucet = settings.claimFaucet ? await claimFaucet(agentId, secretArn, deadline) : undefined;
    if (!report.notified) await announceOnce(runtime.ledger, actionKey, () => announce(version, agentId, secretArn, faucet));
    return { ...result, faucet };
  }

  /**
   * The registration as a money action: its answer is recorded through the public fields only (with the secret's ARN
   * and the model version: the registry entry), and its key is written into the secret before that record is made.
   */
  function registration(version: ModelVersion, secretArn: string, deadline: number): MoneyAction {
    return {
      actionKey: agentActionKey(version.arn),
      request: routes.registerAgent(),
      amountUsdc: 0,
      recordable: (response) => {
        const kept: { [field: string]: unknown } = {
          [MODEL_AGENT_RECORD.secretArn]: secretArn,
          [MODEL_AGENT_RECORD.modelVersion]: version.arn,
        };
        for (const field of [MODEL_AGENT_RECORD.agentId, MODEL_AGENT_RECORD.referralCode, MODEL_AGENT_RECORD.tier]) {
          if (typeof response[field] === 'string') kept[field] = response[field];
        }
        return kept;
      },
      beforeRecording: async (response) => {
        const agentId = response[MODEL_AGENT_RECORD.agentId];
        const apiKey = response.api_key;
        if (typeof agentId !== 'string' || !agentId.startsWith(SERVICES_AGENT_ID_PREFIX) || typeof apiKey !== 'string' || apiKey === '') {
          throw new Error('the registration answered without an ag_ agent_id and an api_key');
        }
        await putKeyPersistently(deps.secrets, secretArn, agentId, apiKey, { deadline, now });
      },
    };
  }

  /**
   * The casino posts a faucet claim for each new agent itself, but all such claims share one IP's daily claim: the
   * agent's balance (read with its own key) says whether the $1 came; if not, it is claimed once (`v1:faucet:<agent id>`).
   * A 409 already_claimed is done; a 429 ip_rate_limited is refused at once (the claim record is REJECTED, so a later
   * run of the same model version claims it) and reported, never retried in a loop.
   */
  async function claimFaucet(agentId: string, secretArn: string, deadline: number): Promise<FaucetResult> {
    const actionKey = faucetActionKey(agentId);
    const recorded = await runtime.ledger.get(actionKey);
    if (recorded?.state === 'SUCCEEDED') return { status: faucetDone(recorded.response), actionKey, repeated: true };
    if (recorded === undefined || recorded.state === 'REJECTED') {
      const funded = await hasFaucetDollar(agentId, secretArn);
      if (funded.known === false) return counted({ status: 'DEFERRED', actionKey, reason: funded.reason });
      if (funded.has) return counted({ status: 'ALREADY_FUNDED', actionKey, reason: funded.reason });
    }
    const report = await runtime.moneyPath.executeOnce(
      {
        actionKey,
        request: routes.claimFaucet(agentId),
        amountUsdc: FAUCET_USD,
        readBackRefusal: async (refusal) =>
          refusal.status === 409 && refusal.error === 'already_claimed'
            ? {
                outcome: 'SUCCEEDED',
                status: 409,
                attempts: refusal.attempts,
                response: {
                  agent_id: agentId,
                  already_claimed: true,
                  note: 'the faucet answered 409 already_claimed: the agent had its $1',
                },
              }
            : refusal,
      },
      { deadline },
    );
    const base = { actionKey, repeated: report.repeated, reason: report.error };
    switch (report.status) {
      case 'SUCCEEDED':
        return counted({ ...base, status: faucetDone(report.response) }, report.repeated);
      case 'REJECTED':
        // The faucet's daily claim per IP: a later run claims it. (Recorded REJECTED: the next run may send it again.)
        return counted({ ...base, status: report.httpStatus === 429 ? 'DEFERRED' : 'REJECTED' });
      case 'UNKNOWN':
        return counted({ ...base, status: 'UNKNOWN' }, report.repeated);
      default:
        return { ...base, status: 'IN_PROGRESS' };
    }
  }

  /** Whether the agent has its faucet dollar: a faucet credit in its recent activity, or a balance of at least $1. */
  async function hasFaucetDollar(
    agentId: string,
    secretArn: string,
  ): Promise<{ known: true; has: boolean; reason?: string } | { known: false; reason: string }> {
    let read;
    try {
      read = await deps.agentReader(secretArn).read(routes.readBalance());
    } catch (error) {
      return { known: false, reason: `the agent's balance could not be read: ${(error as Error).message}` };
    }
    if (read.kind === 'failed') return { known: false, reason: `the agent's balance could not be read: ${read.reason}` };
    if (read.status !== 200) return { known: false, reason: `GET /auth/balance answered ${read.status} for agent ${agentId}` };
    const activity = Array.isArray(read.body.recent_activity) ? (read.body.recent_activity as { service?: unknown }[]) : [];
    if (activity.some((entry) => entry?.service === 'faucet'))
      return { known: true, has: true, reason: 'the casino claimed its $1 when it registered' };
    const balance = typeof read.body.balance_usd === 'number' ? read.body.balance_usd : 0;
    if (balance >= FAUCET_USD) return { known: true, has: true, reason: `its balance is already ${balance} USD` };
    return { known: true, has: false };
  }

  function faucetDone(response: { readonly [key: string]: unknown } | undefined): FaucetStatus {
    return response?.already_claimed === true ? 'ALREADY_FUNDED' : 'CLAIMED';
  }

  /** The faucet's metrics, once per outcome (a repeat reads what an earlier invocation did). */
  function counted(result: FaucetResult, repeated = false): FaucetResult {
    if (repeated) return result;
    const name = {
      CLAIMED: METRIC.faucetClaimed,
      ALREADY_FUNDED: METRIC.faucetAlreadyFunded,
      DEFERRED: METRIC.faucetDeferred,
      REJECTED: METRIC.faucetRejected,
      UNKNOWN: METRIC.faucetUnknown,
      IN_PROGRESS: undefined,
    }[result.status];
    if (name !== undefined) metrics.addMetric(name, MetricUnit.Count, 1);
    if (result.status === 'DEFERRED' || result.status === 'REJECTED' || result.status === 'UNKNOWN')
      logger.warn(`faucet ${result.status}`, { ...result });
    return result;
  }

  async function announce(version: ModelVersion, agentId: string, secretArn: string, faucet: FaucetResult | undefined): Promise<void> {
    await putOneEvent(
      deps.putEvents,
      {
        EventBusName: settings.eventBusName,
        Source: MODEL_AGENT_REGISTERED_EVENT.source,
        DetailType: MODEL_AGENT_REGISTERED_EVENT.detailType,
        Resources: [version.arn],
        // Never the key: the secret's ARN says where it is.
        Detail: JSON.stringify({
          agent_id: agentId,
          secret_arn: secretArn,
          model_version: version.arn,
          model_version_kind: version.kind,
          model_version_name: version.name,
          faucet: faucet?.status ?? 'NOT_REQUESTED',
          action_key: agentActionKey(version.arn),
        }),
      },
      `the agent of ${version.arn}`,
    );
  }

  return singleActionHandler<AgentResult>({
    logger,
    metrics,
    now,
    label: 'agent',
    metricNames: MODEL_AGENTS_OUTCOME_METRICS,
    amountOf: () => undefined,
    act: register,
  });
}

function stringField(record: { readonly [key: string]: unknown } | undefined, field: string): string | undefined {
  const value = record?.[field];
  return typeof value === 'string' ? value : undefined;
}

function fail(message: string): never {
  throw new Error(message);
}
