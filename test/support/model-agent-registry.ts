/**
 * The model agents' registry, as ModelAgents leaves it in the ledger, for the handler tests of the constructs that read
 * it (`agentsFrom`): a registration's record written by the real ActionLedger (claimed as SENDING, then SUCCEEDED with
 * the recordable answer, or UNKNOWN), and the registry's reads counted at dynalite.
 */
import type { IncomingMessage } from 'node:http';
import { agentActionKey } from '../../lambda/shared/action-keys';
import { ActionLedger } from '../../lambda/shared/action-ledger';
import { MODEL_AGENT_RECORD } from '../../lib/private/contracts/model-agents-env';
import { dynaliteClient, DynaliteServer } from './dynalite';
import { FAKE_ACCOUNT_ID, FAKE_REGION } from './fake-aws';

/** A training job's ARN as SageMaker writes it (the name in lower case). */
export const trainingJobArn = (name: string) => `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:training-job/${name.toLowerCase()}`;
/** A versioned model package's ARN as SageMaker writes it. */
export const modelPackageArn = (group: string, version: number) =>
  `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:model-package/${group.toLowerCase()}/${version}`;

export class TestRegistry {
  private readonly ledger: ActionLedger;
  private readonly tokens = new Map<string, string>();

  constructor(dynamoEndpoint: string, tableName: string) {
    this.ledger = new ActionLedger({ tableName, client: dynaliteClient(dynamoEndpoint) });
  }

  /** A registration sent and not yet answered (SENDING under a live lease): the registry says PENDING. */
  async pending(modelVersionArn: string): Promise<void> {
    const claim = await this.ledger.claim(agentActionKey(modelVersionArn), {
      state: 'SENDING',
      leaseMs: 15 * 60_000,
      request: { model_version: modelVersionArn },
      amountUsdc: 0,
    });
    if (!claim.claimed) throw new Error(`${modelVersionArn} is already in the registry`);
    this.tokens.set(modelVersionArn, claim.claimToken);
  }

  /** The registration answered and its key kept: REGISTERED to `agentId` (pending first, if it was not). */
  async registered(modelVersionArn: string, agentId: string): Promise<void> {
    if (!this.tokens.has(modelVersionArn)) await this.pending(modelVersionArn);
    await this.record(modelVersionArn, 'SUCCEEDED', {
      response: {
        [MODEL_AGENT_RECORD.agentId]: agentId,
        [MODEL_AGENT_RECORD.secretArn]: `arn:aws:secretsmanager:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:secret:purpleflea/model-agents/x-AbCdEf`,
        [MODEL_AGENT_RECORD.modelVersion]: modelVersionArn,
      },
    });
  }

  /** The registration's answer was lost: UNKNOWN, an operator's case. */
  async unknown(modelVersionArn: string): Promise<void> {
    if (!this.tokens.has(modelVersionArn)) await this.pending(modelVersionArn);
    await this.record(modelVersionArn, 'UNKNOWN', { error: 'timeout after sending (injected)' });
  }

  private async record(arn: string, state: 'SUCCEEDED' | 'UNKNOWN', details: { response?: { [key: string]: unknown }; error?: string }) {
    if (!(await this.ledger.recordOutcome(agentActionKey(arn), this.tokens.get(arn)!, state, details))) {
      throw new Error(`the registration of ${arn} could not be recorded`);
    }
  }
}

/**
 * Counts the registry's reads at the server: GetItem requests for a `v1:agent:` key, by key. `stop()` ends the count.
 */
export function countRegistryReads(dynamo: DynaliteServer): { readonly reads: Map<string, number>; stop(): void } {
  const reads = new Map<string, number>();
  const onRequest = (req: IncomingMessage) => {
    if (req.headers['x-amz-target'] !== 'DynamoDB_20120810.GetItem') return;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const key = /"(v1:agent:[^"]+)"/.exec(Buffer.concat(chunks).toString('utf8'))?.[1];
      if (key !== undefined) reads.set(key, (reads.get(key) ?? 0) + 1);
    });
  };
  dynamo.server!.on('request', onRequest);
  return { reads, stop: () => dynamo.server!.off('request', onRequest) };
}
