import { compactEnvironment, Environment, EnvironmentReader } from './env-reader';
import type { OutcomeMetricNames } from './outcome-metrics';

/** Everything the ModelAgents handler is told by its construct, besides the connection. */
export interface ModelAgentsSettings {
  /** Completed training jobs get an agent (those whose name starts with `trainingJobNamePrefix`, when given). */
  readonly trainingJobs: boolean;
  readonly trainingJobNamePrefix?: string;
  /** The model packages of this group get an agent (at most one of name and prefix; neither: no packages). */
  readonly modelPackageGroupName?: string;
  readonly modelPackageGroupNamePrefix?: string;
  /** Every agent's secret is named `<prefix><the model version ARN's resource>`, e.g. `purpleflea/model-agents/training-job/churn-1`. */
  readonly secretNamePrefix: string;
  /** The KMS key the secrets are encrypted with (the connection's secret's), when it has one. */
  readonly secretKmsKeyId?: string;
  /** Check the new agent's balance and claim the faucet's $1 when it is missing. */
  readonly claimFaucet: boolean;
  /** Name or ARN of the bus that gets `Purple Flea Model Agent Registered`. */
  readonly eventBusName: string;
  readonly dryRun: boolean;
  readonly enabled: boolean;
}

export const MODEL_AGENTS_ENV = {
  trainingJobs: 'TRAINING_JOBS',
  trainingJobNamePrefix: 'TRAINING_JOB_NAME_PREFIX',
  modelPackageGroupName: 'MODEL_PACKAGE_GROUP_NAME',
  modelPackageGroupNamePrefix: 'MODEL_PACKAGE_GROUP_NAME_PREFIX',
  secretNamePrefix: 'AGENT_SECRET_NAME_PREFIX',
  secretKmsKeyId: 'AGENT_SECRET_KMS_KEY_ID',
  claimFaucet: 'CLAIM_FAUCET',
  eventBusName: 'EVENT_BUS_NAME',
  dryRun: 'DRY_RUN',
  enabled: 'ENABLED',
} as const;

export function modelAgentsEnvironment(settings: ModelAgentsSettings): { [name: string]: string } {
  const env = MODEL_AGENTS_ENV;
  return compactEnvironment({
    [env.trainingJobs]: String(settings.trainingJobs),
    [env.trainingJobNamePrefix]: settings.trainingJobNamePrefix,
    [env.modelPackageGroupName]: settings.modelPackageGroupName,
    [env.modelPackageGroupNamePrefix]: settings.modelPackageGroupNamePrefix,
    [env.secretNamePrefix]: settings.secretNamePrefix,
    [env.secretKmsKeyId]: settings.secretKmsKeyId,
    [env.claimFaucet]: String(settings.claimFaucet),
    [env.eventBusName]: settings.eventBusName,
    [env.dryRun]: String(settings.dryRun),
    [env.enabled]: String(settings.enabled),
  });
}

export function readModelAgentsSettings(env: Environment): ModelAgentsSettings {
  const read = new EnvironmentReader(env, 'ModelAgents');
  const names = MODEL_AGENTS_ENV;
  const modelPackageGroupName = read.optionalString(names.modelPackageGroupName);
  const modelPackageGroupNamePrefix = read.optionalString(names.modelPackageGroupNamePrefix);
  if (modelPackageGroupName !== undefined && modelPackageGroupNamePrefix !== undefined) {
    throw new Error(
      `ModelAgents: the environment variables ${names.modelPackageGroupName} and ${names.modelPackageGroupNamePrefix} cannot both be set`,
    );
  }
  return {
    trainingJobs: read.boolean(names.trainingJobs),
    trainingJobNamePrefix: read.optionalString(names.trainingJobNamePrefix),
    modelPackageGroupName,
    modelPackageGroupNamePrefix,
    secretNamePrefix: read.string(names.secretNamePrefix),
    secretKmsKeyId: read.optionalString(names.secretKmsKeyId),
    claimFaucet: read.boolean(names.claimFaucet),
    eventBusName: read.string(names.eventBusName),
    dryRun: read.boolean(names.dryRun),
    enabled: read.boolean(names.enabled),
  };
}

/** The EMF metrics the handler emits and the construct alarms on and shows. */
export const MODEL_AGENTS_METRICS = {
  namespace: 'PurpleFlea/SageMaker',
  serviceName: 'model-agents',
  functionNameDimension: 'FunctionName',
  agentsRegistered: 'AgentsRegistered',
  registrationsSkipped: 'RegistrationsSkipped',
  registrationsInvalid: 'RegistrationsInvalid',
  registrationsRejected: 'RegistrationsRejected',
  /** A registration that may have created an agent whose key is not kept: an orphan at worst, for the operator. */
  registrationsUnknown: 'RegistrationsUnknown',
  /** Registration moves no money: the outcome mapping's amount, never emitted. */
  registeredUsdc: 'RegisteredUsdc',
  faucetClaimed: 'FaucetClaimed',
  /** The new agent had its $1 already (the casino's own background claim), or the faucet answered 409 already_claimed. */
  faucetAlreadyFunded: 'FaucetAlreadyFunded',
  /** 429 ip_rate_limited (one claim per IP per 24 hours), or a balance that could not be read: a later run claims it. */
  faucetDeferred: 'FaucetDeferred',
  faucetRejected: 'FaucetRejected',
  faucetUnknown: 'FaucetUnknown',
  apiLatency: 'ApiLatency',
} as const;

export const MODEL_AGENTS_OUTCOME_METRICS: OutcomeMetricNames = {
  succeeded: MODEL_AGENTS_METRICS.agentsRegistered,
  skipped: MODEL_AGENTS_METRICS.registrationsSkipped,
  invalid: MODEL_AGENTS_METRICS.registrationsInvalid,
  rejected: MODEL_AGENTS_METRICS.registrationsRejected,
  unknown: MODEL_AGENTS_METRICS.registrationsUnknown,
  amount: MODEL_AGENTS_METRICS.registeredUsdc,
};

/** The event put on the bus once per registered agent (never with its key). */
export const MODEL_AGENT_REGISTERED_EVENT = {
  source: 'purpleflea.sagemaker',
  detailType: 'Purple Flea Model Agent Registered',
} as const;

/**
 * The fields of a registration's recorded response: the registry entry (lambda/shared/model-agents.ts). The casino's
 * answer is recorded through a list of these public fields, never whole: its `api_key` is shown once, and kept only in
 * the agent's secret.
 */
export const MODEL_AGENT_RECORD = {
  agentId: 'agent_id',
  secretArn: 'secret_arn',
  modelVersion: 'model_version',
  referralCode: 'referral_code',
  tier: 'tier',
} as const;

/** The fields of an agent's secret: those a PurpleFleaConnection reads by default, so the secret can be a connection's own. */
export const AGENT_SECRET_FIELDS = { key: 'key', agentId: 'agent_id' } as const;

/** The tag every agent secret carries: the model version (training job or model package ARN) it belongs to. */
export const AGENT_SECRET_MODEL_VERSION_TAG = 'purpleflea:model-version';

/** The secrets' names: `<prefix><resource of the ARN>` (`training-job/<name>`, `model-package/<group>/<version>`). */
export function agentSecretName(prefix: string, modelVersionArn: string): string {
  const resource = modelVersionArn.split(':').slice(5).join(':');
  return `${prefix}${resource}`;
}

/** The secrets' prefix unless the construct says otherwise. */
export const DEFAULT_AGENT_SECRET_NAME_PREFIX = 'purpleflea/model-agents/';
