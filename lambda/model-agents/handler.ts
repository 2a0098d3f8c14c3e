import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { domainNameProblem, normalizedDomain } from '../../lib/private/contracts/domain-names';
import {
  agentSecretName,
  MODEL_AGENT_DOMAIN_PLACEHOLDERS,
  MODEL_AGENT_DOMAIN_RECORD,
  MODEL_AGENT_RECORD,
  MODEL_AGENT_REGISTERED_EVENT,
  MODEL_AGENTS_METRICS as METRIC,
  MODEL_AGENTS_OUTCOME_METRICS,
  ModelAgentsSettings,
} from '../../lib/private/contracts/model-agents-env';
import { agentActionKey, domainActionKey, faucetActionKey } from '../shared/action-keys';
import type { ActionLedger } from '../shared/action-ledger';
import { announceOnce } from '../shared/announce-once';
import { type PutEvents, putOneEvent } from '../shared/events';
import { type ActionReport, type ExecuteOnce, type MoneyAction, OutcomeNotRecordedError } from '../shared/money-path';
import { AgentRoutes, DomainRoutes, PurpleFleaApiProfile, SERVICES_AGENT_ID_PREFIX } from '../shared/purpleflea-api';
import type { ApiOutcome, ReadApi } from '../shared/purpleflea-client';
import { fillTemplate } from '../shared/template';
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

/** What became of the agent's domain (`domainName`). */
export type DomainStatus =
  /** Registered now, or found registered by this account before (a lost answer's earlier attempt). */
  | 'REGISTERED'
  /** The template rendered no valid domain for this model version: nothing sent. */
  | 'INVALID'
  /** Refused, nothing charged (taken by another account, insufficient balance, ...): a later delivery may try again. */
  | 'REJECTED'
  /** May have been registered and charged: never sent again; an operator checks it. */
  | 'UNKNOWN'
  /** Another invocation is registering it. */
  | 'IN_PROGRESS';

export interface DomainResult {
  readonly status: DomainStatus;
  /** The rendered name, in lower case. */
  readonly domain: string;
  /** `v1:domain:<domain>` (absent when the name is invalid). */
  readonly actionKey?: string;
  readonly domainId?: string;
  readonly expiresAt?: string;
  readonly chargedUsd?: number;
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
  /** With `domainName`: the agent's domain. */
  readonly domain?: DomainResult;
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
  /**
   * With `domainName`: the money path and the read routes of the domains service, with the domains account's key (not
   * the connection's: the domains service has its own registry and balance). The ledger is the connection's.
   */
  readonly domains?: { readonly moneyPath: ExecuteOnce; readonly reader: ReadApi };
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
  const domainRoutes: DomainRoutes | undefined =
    settings.domain === undefined
      ? undefined
      : (runtime.api.domains ?? fail(`ModelAgents: the ${runtime.api.name} profile has no domain registration`));
  if (settings.domain !== undefined && deps.domains === undefined)
    fail('ModelAgents: a domain template is set, but no domains client was given');

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
      const domain = settings.domain === undefined ? undefined : domainOf(version);
      const andDomain =
        domain === undefined ? '' : domain.problem === undefined ? `, and the domain ${domain.name}` : `; no domain: ${domain.problem}`;
      return {
        ...common,
        status: 'SKIPPED',
        reason: `dry run: would register an agent for ${version.name}, its key in secret ${secretName}${andDomain}`,
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
    const domain = settings.domain === undefined ? undefined : await registerDomain(version, deadline);
    if (!report.notified) await announceOnce(runtime.ledger, actionKey, () => announce(version, agentId, secretArn, faucet, domain));
    return { ...result, faucet, domain };
  }

  /** The model version's domain: the template filled, trimmed and in lower case, and why it cannot be registered, if so. */
  function domainOf(version: ModelVersion): { readonly name: string; readonly problem?: string } {
    // A model package's name is `<group>/<version>`: a slash is no DNS character.
    const values: { [name in (typeof MODEL_AGENT_DOMAIN_PLACEHOLDERS)[number]]: string } = {
      modelVersionName: version.name.replace('/', '-').toLowerCase(),
    };
    const name = normalizedDomain(fillTemplate(settings.domain!.nameTemplate, values));
    return { name, problem: domainNameProblem(name) };
  }

  /**
   * The agent's domain, registered once (`v1:domain:<domain>`) with the domains account's key, after the agent (and
   * its faucet dollar). The price is known only from the answer: the action's amount is 0, and what was charged is
   * recorded (`charged_usd`); the account's balance is what bounds it. A 400 domain_unavailable, and an answer that
   * may have taken effect (a lost answer, a 5xx), are read back in the account's list: ours is REGISTERED.
   */
  async function registerDomain(version: ModelVersion, deadline: number): Promise<DomainResult> {
    const { name: domain, problem } = domainOf(version);
    if (problem !== undefined) {
      return countedDomain({
        status: 'INVALID',
        domain,
        reason: `the domain template renders no valid domain for ${version.name}: ${problem}`,
      });
    }
    const actionKey = domainActionKey(domain);
    let report: ActionReport;
    try {
      report = await sendDomainOnce(version, domain, actionKey, deadline);
    } catch (error) {
      // Only a ledger that could not record an answer throws after sending: that stays the invocation's error.
      if (error instanceof OutcomeNotRecordedError) throw error;
      // Nothing was sent (the domains key could not be read, the claim failed): the agent still stands and is announced.
      return countedDomain({ domain, actionKey, status: 'REJECTED', reason: `not sent: ${(error as Error).message}` });
    }
    return domainOutcome(version, domain, actionKey, report);
  }

  /** The registration through the domains money path, with its read-backs. */
  function sendDomainOnce(version: ModelVersion, domain: string, actionKey: string, deadline: number): Promise<ActionReport> {
    return deps.domains!.moneyPath.executeOnce(
      {
        actionKey,
        request: domainRoutes!.registerDomain(domain),
        // The price is not known before the answer (the registrar's, plus 20%): see above.
        amountUsdc: 0,
        recordable: (response) => domainRecord(response, version),
        readBackRefusal: async (refusal) =>
          refusal.status === 400 && refusal.error === 'domain_unavailable'
            ? ((await findDomain(domain, refusal.attempts)) ?? {
                ...refusal,
                message: `${refusal.message ?? 'domain_unavailable'}; it is not in this account's domains: another account has it`,
              })
            : refusal,
        readBackUnknown: async (unknown) => (await findDomain(domain, unknown.attempts)) ?? unknown,
      },
      { deadline },
    );
  }

  /** The report as the domain's outcome (a SUCCEEDED record made for another model version is INVALID for this one). */
  function domainOutcome(version: ModelVersion, domain: string, actionKey: string, report: ActionReport): DomainResult {
    const base = { domain, actionKey, repeated: report.repeated, reason: report.error };
    switch (report.status) {
      case 'SUCCEEDED': {
        const recordedFor = report.response?.[MODEL_AGENT_DOMAIN_RECORD.modelVersion];
        if (typeof recordedFor === 'string' && recordedFor !== version.arn) {
          return countedDomain({
            ...base,
            status: 'INVALID',
            reason: `the domain ${domain} is registered for another model version (${recordedFor}): the template gives both the same name`,
          });
        }
        const chargedUsd = report.response?.[MODEL_AGENT_DOMAIN_RECORD.chargedUsd];
        return countedDomain(
          {
            ...base,
            status: 'REGISTERED',
            domainId: stringField(report.response, MODEL_AGENT_DOMAIN_RECORD.domainId),
            expiresAt: stringField(report.response, MODEL_AGENT_DOMAIN_RECORD.expiresAt),
            chargedUsd: typeof chargedUsd === 'number' ? chargedUsd : undefined,
          },
          report.repeated,
        );
      }
      case 'REJECTED':
        return countedDomain({ ...base, status: 'REJECTED' });
      case 'UNKNOWN':
        return countedDomain({ ...base, status: 'UNKNOWN' }, report.repeated);
      case 'INVALID':
        return countedDomain({ ...base, status: 'INVALID' });
      default:
        return { ...base, status: 'IN_PROGRESS' };
    }
  }

  /** The domain in the account's list (`GET /v1/domains`), as a SUCCEEDED answer; undefined when it is not there. */
  async function findDomain(domain: string, attempts: number): Promise<ApiOutcome | undefined> {
    const read = await deps.domains!.reader.read(domainRoutes!.listDomains());
    if (read.kind === 'failed') throw new Error(read.reason);
    if (read.status !== 200) throw new Error(`GET /v1/domains answered ${read.status}`);
    const list = Array.isArray(read.body.domains) ? (read.body.domains as unknown[]) : [];
    const found = list.find(
      (entry): entry is { [key: string]: unknown } =>
        entry !== null && typeof entry === 'object' && (entry as { domain?: unknown }).domain === domain,
    );
    return found === undefined
      ? undefined
      : { outcome: 'SUCCEEDED', status: read.status, attempts, response: { ...found, [MODEL_AGENT_DOMAIN_RECORD.foundByReadBack]: true } };
  }

  /** What of a registration's answer (or of its list entry) the record keeps, with the model version it is for. */
  function domainRecord(response: { readonly [key: string]: unknown }, version: ModelVersion): { [field: string]: unknown } {
    const fields = MODEL_AGENT_DOMAIN_RECORD;
    const kept: { [field: string]: unknown } = { [fields.modelVersion]: version.arn };
    for (const field of [fields.domainId, fields.domain, fields.expiresAt]) {
      if (typeof response[field] === 'string') kept[field] = response[field];
    }
    const cost = response.cost as { total_charged_usd?: unknown } | undefined;
    const charged = typeof cost?.total_charged_usd === 'number' ? cost.total_charged_usd : response.price_paid;
    if (typeof charged === 'number') kept[fields.chargedUsd] = charged;
    if (response[fields.foundByReadBack] === true) kept[fields.foundByReadBack] = true;
    return kept;
  }

  /** The domain's metrics, once per outcome (a repeat reads what an earlier invocation did). */
  function countedDomain(result: DomainResult, repeated = false): DomainResult {
    if (repeated) return result;
    const name = {
      REGISTERED: METRIC.domainsRegistered,
      INVALID: METRIC.domainRegistrationsInvalid,
      REJECTED: METRIC.domainRegistrationsRejected,
      UNKNOWN: METRIC.domainRegistrationsUnknown,
      IN_PROGRESS: undefined,
    }[result.status];
    if (name !== undefined) metrics.addMetric(name, MetricUnit.Count, 1);
    if (result.status === 'REGISTERED' && result.chargedUsd !== undefined)
      metrics.addMetric(METRIC.domainChargedUsd, MetricUnit.NoUnit, result.chargedUsd);
    if (result.status !== 'REGISTERED' && result.status !== 'IN_PROGRESS') logger.warn(`domain ${result.status}`, { ...result });
    return result;
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

  async function announce(
    version: ModelVersion,
    agentId: string,
    secretArn: string,
    faucet: FaucetResult | undefined,
    domain: DomainResult | undefined,
  ): Promise<void> {
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
          // Only with domainName: the domain as it stood when the agent was announced (once per agent).
          ...(domain === undefined ? {} : { domain: domain.domain, domain_status: domain.status }),
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
