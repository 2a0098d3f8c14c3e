import { MODEL_AGENT_RECORD } from '../../lib/private/contracts/model-agents-env';
import { agentActionKey } from './action-keys';
import type { LedgerRecord } from './action-ledger';

/**
 * The model agents' registry, as the other handlers read it. ModelAgents registers one Purple Flea agent per model
 * version (`v1:agent:<training job ARN or model package ARN>`), and the SUCCEEDED record of that registration is the
 * registry entry: its response holds the agent id, the ARN of the secret holding the agent's key, and the model version
 * (never the key). One table, one write: the entry cannot disagree with the registration it records, and it has the
 * ledger's retention, point-in-time recovery and operator tools.
 *
 * A reader needs `dynamodb:GetItem` on the ledger for `v1:agent:*` keys only (ModelAgents.grantReadRegistry), and, to act
 * as the agent, read of its secret (ModelAgents.grantReadAgentKeys).
 */
export type ModelAgent =
  /** Registered: the agent exists and its key is in its secret. */
  | { readonly status: 'REGISTERED'; readonly modelVersion: string; readonly agentId: string; readonly secretArn: string }
  /** No registration was ever attempted for this model version (not a version of a ModelAgents trigger, or not yet). */
  | { readonly status: 'NOT_REGISTERED'; readonly modelVersion: string }
  /**
   * A registration is under way (CLAIMED or SENDING), or was refused and will be tried again (REJECTED): no agent yet. A
   * caller waits (its event is retried), never guesses.
   */
  | { readonly status: 'PENDING'; readonly modelVersion: string; readonly state: string; readonly reason?: string }
  /**
   * The registration may have created an agent whose answer was lost, or whose key could not be kept (UNKNOWN): an
   * operator resolves it. `agentId` when the answer came but the key could not be stored.
   */
  | { readonly status: 'UNKNOWN'; readonly modelVersion: string; readonly agentId?: string; readonly reason?: string };

/** What the registry reads of the ledger. */
export type RegistryLedger = { get(actionKey: string): Promise<LedgerRecord | undefined> };

/**
 * The agent of a model version: a training job's ARN or a model package's ARN, as SageMaker writes them (the names in
 * lower case; the ARN the state-change event carries).
 */
export async function agentOf(ledger: RegistryLedger, modelVersionArn: string): Promise<ModelAgent> {
  return modelAgentOf(modelVersionArn, await ledger.get(agentActionKey(modelVersionArn)));
}

/** A registration's ledger record, read as a registry entry (agentOf without the read). */
export function modelAgentOf(modelVersion: string, record: LedgerRecord | undefined): ModelAgent {
  if (record === undefined) return { status: 'NOT_REGISTERED', modelVersion };
  const fields = MODEL_AGENT_RECORD;
  const agentId = typeof record.response?.[fields.agentId] === 'string' ? (record.response[fields.agentId] as string) : undefined;
  const secretArn = typeof record.response?.[fields.secretArn] === 'string' ? (record.response[fields.secretArn] as string) : undefined;
  switch (record.state) {
    case 'SUCCEEDED':
      if (agentId === undefined || secretArn === undefined) {
        // Only an operator's resolution can write a SUCCEEDED record without them: the agent cannot be used as it is.
        return { status: 'UNKNOWN', modelVersion, agentId, reason: 'the registration is recorded without an agent id and a secret ARN' };
      }
      return { status: 'REGISTERED', modelVersion, agentId, secretArn };
    case 'UNKNOWN':
      return { status: 'UNKNOWN', modelVersion, agentId, reason: record.error };
    default:
      return { status: 'PENDING', modelVersion, state: record.state, reason: record.error };
  }
}
