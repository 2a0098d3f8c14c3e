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
  /** Each new agent also gets a domain, registered once with a funded domains account's key (`domainName`); absent: none. */
  readonly domain?: ModelAgentDomainSettings;
}

/** ModelAgents' optional domain registration: written only when the construct's `domainName` is given. */
export interface ModelAgentDomainSettings {
  /** The domain of a model version, from MODEL_AGENT_DOMAIN_PLACEHOLDERS, e.g. `{modelVersionName}.agents.example.com`. */
  readonly nameTemplate: string;
  /** The domains service's API, with its `/v1` (the connection's `PurpleFleaApi.services({ domainsUrl })`). */
  readonly domainsUrl: string;
  /** The secret holding the domains account's key: its SecretString, or a JSON object with it under `keyField`. */
  readonly keySecretArn: string;
  readonly keyField: string;
}

/**
 * The placeholders a domain template may use: `{modelVersionName}` is the training job's name, or a model package's
 * `<group>-<version>`, in lower case (names SageMaker allows are DNS labels; a long package name may not be).
 */
export const MODEL_AGENT_DOMAIN_PLACEHOLDERS = ['modelVersionName'] as const;

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
  domainNameTemplate: 'DOMAIN_NAME_TEMPLATE',
  domainsUrl: 'DOMAINS_URL',
  domainKeySecretArn: 'DOMAIN_KEY_SECRET_ARN',
  domainKeyField: 'DOMAIN_KEY_FIELD',
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
    // Only with a domain: without one, the function's environment is what it was before domains existed.
    [env.domainNameTemplate]: settings.domain?.nameTemplate,
    [env.domainsUrl]: settings.domain?.domainsUrl,
    [env.domainKeySecretArn]: settings.domain?.keySecretArn,
    [env.domainKeyField]: settings.domain?.keyField,
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
    domain: readDomainSettings(read, env),
  };
}

/** All four domain variables, or none. */
function readDomainSettings(read: EnvironmentReader, env: Environment): ModelAgentDomainSettings | undefined {
  const names = [
    MODEL_AGENTS_ENV.domainNameTemplate,
    MODEL_AGENTS_ENV.domainsUrl,
    MODEL_AGENTS_ENV.domainKeySecretArn,
    MODEL_AGENTS_ENV.domainKeyField,
  ];
  const given = names.filter((name) => env[name] !== undefined);
  if (given.length === 0) return undefined;
  if (given.length !== names.length) {
    throw new Error(
      `ModelAgents: the environment variables ${names.join(', ')} are set together or not at all; only ${given.join(', ')} is set`,
    );
  }
  return {
    nameTemplate: read.string(MODEL_AGENTS_ENV.domainNameTemplate),
    domainsUrl: read.string(MODEL_AGENTS_ENV.domainsUrl),
    keySecretArn: read.string(MODEL_AGENTS_ENV.domainKeySecretArn),
    keyField: read.string(MODEL_AGENTS_ENV.domainKeyField),
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
  /** With `domainName`: a domain registered for a new agent (or found registered before, by a read-back). */
  domainsRegistered: 'DomainsRegistered',
  /** Refused (taken by another account, insufficient balance, ...): nothing charged; a later delivery may try again. */
  domainRegistrationsRejected: 'DomainRegistrationsRejected',
  /** A domain registration that may have happened (and been charged): never sent again, an operator checks it. */
  domainRegistrationsUnknown: 'DomainRegistrationsUnknown',
  /** The template rendered no valid domain for the model version: nothing sent. */
  domainRegistrationsInvalid: 'DomainRegistrationsInvalid',
  /** What the domains account was charged (USD), as the answer says. */
  domainChargedUsd: 'DomainChargedUsd',
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

/**
 * The fields of a domain registration's recorded response: from the register answer (`cost.total_charged_usd` as
 * `charged_usd`), or from `GET /v1/domains` when a refusal or a lost answer was read back (`price_paid`).
 */
export const MODEL_AGENT_DOMAIN_RECORD = {
  domainId: 'domain_id',
  domain: 'domain',
  expiresAt: 'expires_at',
  chargedUsd: 'charged_usd',
  modelVersion: 'model_version',
  /** True when the domain was found in the account's list after a refusal or a lost answer, not in a 201. */
  foundByReadBack: 'found_by_read_back',
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
