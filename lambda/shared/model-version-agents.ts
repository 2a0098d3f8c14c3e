/**
 * Agent id columns that name model versions (BatchPayout's and FraudHoldEscrow's `agentsFrom`): a cell may hold a
 * SageMaker model version's ARN instead of an agent id, and the act step pays (or holds for) the agent the ModelAgents
 * registry names for it (`agentOf`, model-agents.ts).
 *
 * Why the ARN has a rule of its own: it has `/`s, which agent ids (AGENT_ID_PATTERN) and every id that goes into an
 * action key exclude (record-ids.ts). So an ARN never goes into a key: the key names the agent it resolves to (one
 * payout per agent per file, however the row named it). And only ARNs exactly as SageMaker writes them (names in lower
 * case) are accepted, since the registry is keyed by that spelling: any other spelling would never find its agent.
 */
import { agentOf, type ModelAgent, type RegistryLedger } from './model-agents';
import { AGENT_ID_PATTERN } from './purpleflea-api';
import { shownValue } from './record-ids';

/** SageMaker's name rule in lower case (as names appear in ARNs): 1 to 63 letters, digits and inner hyphens. */
const NAME_IN_ARN = '[a-z0-9](?:-*[a-z0-9]){0,62}';

/**
 * A training job's ARN (`arn:<partition>:sagemaker:<region>:<account>:training-job/<name>`) or a versioned model
 * package's (`…:model-package/<group>/<version>`), as SageMaker writes them: the registry's keys (`v1:agent:<ARN>`).
 */
export const MODEL_VERSION_ARN = new RegExp(
  `^arn:aws(?:-[a-z]+)*:sagemaker:[a-z]{2}(?:-[a-z]+)+-\\d:\\d{12}:(?:training-job/${NAME_IN_ARN}|model-package/${NAME_IN_ARN}/[1-9]\\d{0,9})$`,
);

/** The rule in words, for the reason a value is refused. */
export const MODEL_VERSION_ARN_RULE =
  'a model version ARN is arn:<partition>:sagemaker:<region>:<account>:training-job/<name> or ' +
  '…:model-package/<group>/<version>, its names in lower case as SageMaker writes them';

/**
 * An ARN for a reason, whole up to this length: the end of an ARN (its name, its version) is what tells it apart, so
 * the usual cut to 64 characters (shownValue) would hide it. A model version's ARN is under 200 characters.
 */
const SHOWN_ARN_CHARACTERS = 256;

function shownArn(value: string): string {
  if (value.length <= SHOWN_ARN_CHARACTERS) return JSON.stringify(value);
  return `${JSON.stringify(`${value.slice(0, SHOWN_ARN_CHARACTERS)}…`)} (${value.length} characters)`;
}

/** True for a value that names a model version (and so must be resolved), when the construct resolves them. */
export function namesModelVersion(value: string, resolvesModelVersions: boolean): boolean {
  return resolvesModelVersions && MODEL_VERSION_ARN.test(value);
}

/**
 * Why an agent id cell cannot be used as it is written, or undefined: an agent id (the API's rule), or, when the
 * construct resolves model versions, a model version ARN. A value that starts like an ARN gets the reason that helps:
 * which ARN rule it breaks, or that `agentsFrom` would resolve it.
 */
export function agentCellProblem(field: string, value: string, resolvesModelVersions: boolean): string | undefined {
  if (AGENT_ID_PATTERN.test(value) && !(resolvesModelVersions && value.startsWith('arn:'))) return undefined;
  if (namesModelVersion(value, resolvesModelVersions)) return undefined;
  if (!value.startsWith('arn:')) return `${field} ${shownValue(value)} is not a valid agent id`;
  if (resolvesModelVersions) return `${field} ${shownArn(value)} is not a model version ARN: ${MODEL_VERSION_ARN_RULE}`;
  return (
    `${field} ${shownArn(value)} is not a valid agent id: an ARN is read as a model version only with agentsFrom ` +
    '(a ModelAgents registry), which resolves it to its agent'
  );
}

/** A cell resolved: the agent id, or why the row is INVALID, or why it is not sent now (REJECTED: a rerun sends it). */
export type ResolvedAgent = { readonly agentId: string } | { readonly invalid: string } | { readonly notSent: string };

/**
 * Past this many model versions, the cache starts again: a batch names at most a few hundred, Summarize reads a whole
 * run, and memory must not grow with it.
 */
const MAX_CACHED_VERSIONS = 10_000;

/**
 * Resolves model version ARNs through the registry, each read once while cached: many rows may name the same version.
 * Concurrent rows share one read; a read that fails is not kept (the next row reads again). Start it afresh per
 * invocation (`forget`): a registration that is under way now may be done at the next batch.
 */
export class ModelVersionAgents {
  private readonly reads = new Map<string, Promise<ModelAgent>>();

  constructor(private readonly ledger: RegistryLedger) {}

  /** True for a (checked) cell that names a model version: `resolve` reads its agent. */
  names(value: string): boolean {
    return MODEL_VERSION_ARN.test(value);
  }

  /** Forgets every answer: the next read of each version goes to the registry. */
  forget(): void {
    this.reads.clear();
  }

  /** The registry's entry of one version (cached). */
  agentOf(modelVersionArn: string): Promise<ModelAgent> {
    const known = this.reads.get(modelVersionArn);
    if (known !== undefined) return known;
    if (this.reads.size >= MAX_CACHED_VERSIONS) this.reads.clear();
    const read = agentOf(this.ledger, modelVersionArn);
    this.reads.set(modelVersionArn, read);
    read.catch(() => this.reads.delete(modelVersionArn));
    return read;
  }

  /**
   * A checked cell's agent: itself when it is an agent id; when it names a model version, the version's registered agent.
   * Not registered ever: INVALID (nothing will register it unless ModelAgents watches it). A registration under way,
   * refused for now, or whose outcome is UNKNOWN, or a registry that cannot be read: not sent now, never guessed, and
   * not recorded anywhere as done, so the next run of the same file sends it once the agent exists. `notDone` starts
   * each reason (`not paid`, `not held`).
   */
  async resolve(field: string, value: string, notDone: string): Promise<ResolvedAgent> {
    if (!MODEL_VERSION_ARN.test(value)) return { agentId: value };
    const named = `${field} ${shownArn(value)}`;
    let agent: ModelAgent;
    try {
      agent = await this.agentOf(value);
    } catch (error) {
      const { name, message } = error as Error;
      return {
        notSent: `${notDone}: the model agents' registry could not be read for ${named} (${name}: ${message}); a rerun sends it`,
      };
    }
    switch (agent.status) {
      case 'REGISTERED':
        return { agentId: agent.agentId };
      case 'NOT_REGISTERED':
        return {
          invalid: `${notDone}: ${named} names a model version that has no agent: ModelAgents never registered one (is it a version ModelAgents watches?)`,
        };
      case 'PENDING':
        return {
          notSent:
            `${notDone}: ${named} names a model version whose agent is not registered yet (its registration is ${agent.state}` +
            `${agent.reason ? `: ${agent.reason}` : ''}); a rerun sends it once the agent is registered`,
        };
      case 'UNKNOWN':
        return {
          notSent:
            `${notDone}: ${named} names a model version whose agent registration is UNKNOWN${agent.reason ? ` (${agent.reason})` : ''}: ` +
            'an operator resolves it (purpleflea-ledger); a rerun sends it once the agent is registered',
        };
    }
  }
}
