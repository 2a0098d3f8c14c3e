import { ACTION_KINDS, actionKeyPrefix } from '../../lib/private/contracts/action-keys';

/**
 * The action keys (docs/design.md): readable, versioned, and stable across library versions — a changed
 * key would let a repeat delivery pay again. Documented in docs/exactly-once.md. Each starts with its kind's prefix
 * from the contract, the one the construct's role is limited to (`dynamodb:LeadingKeys`).
 */

/** One order per scheduled or matched event. */
export function tradeActionKey(ruleArn: string, eventId: string): string {
  return `${actionKeyPrefix(ACTION_KINDS.trade)}${ruleArn}:${eventId}`;
}

/** One escrow per training job, ever. */
export function escrowActionKey(trainingJobArn: string): string {
  return `${actionKeyPrefix(ACTION_KINDS.escrow)}${trainingJobArn}`;
}

/** One payout per agent per file content: re-uploading identical content pays no one again. */
export function payoutActionKey(bucket: string, key: string, etag: string, agentId: string): string {
  return `${actionKeyPrefix(ACTION_KINDS.payout)}${bucket}/${key}:${etag}:${agentId}`;
}

/** The running total of one PredictToTrade's orders on one UTC day, for its daily cap. */
export function dailyNotionalKey(scope: string, now: Date): string {
  return `${actionKeyPrefix(ACTION_KINDS.dailyNotional)}${scope}:${now.toISOString().slice(0, 10)}`;
}

/** One hold per transaction, ever. */
export function holdActionKey(transactionId: string): string {
  return `${actionKeyPrefix(ACTION_KINDS.hold)}${transactionId}`;
}

/** A record without a transaction id is identified by where it is: its object's content and its line. */
export function holdActionKeyByPosition(bucket: string, key: string, etag: string, line: number): string {
  return `${actionKeyPrefix(ACTION_KINDS.hold)}${bucket}/${key}:${etag}:${line}`;
}

/** One release per escrow, ever, whatever released it (an approval, a cleared review, an operator). */
export function releaseActionKey(escrowId: string): string {
  return `${actionKeyPrefix(ACTION_KINDS.release)}${escrowId}`;
}

/** One dispute per escrow, ever (a hold whose review confirmed fraud, when FraudHoldEscrow disputes it). */
export function disputeActionKey(escrowId: string): string {
  return `${actionKeyPrefix(ACTION_KINDS.dispute)}${escrowId}`;
}

/**
 * One Purple Flea agent per model version, ever: a training job's ARN or a model package's ARN, as SageMaker writes
 * them (names in lower case). Its SUCCEEDED record is the registry (lambda/shared/model-agents.ts, agentOf).
 */
export function agentActionKey(modelVersionArn: string): string {
  return `${actionKeyPrefix(ACTION_KINDS.agent)}${modelVersionArn}`;
}

/** One faucet claim per agent, ever (the faucet credits each casino agent once). */
export function faucetActionKey(agentId: string): string {
  return `${actionKeyPrefix(ACTION_KINDS.faucet)}${agentId}`;
}

/**
 * One registration per domain, ever (ModelAgents' optional `domainName`): the rendered name in lower case, as the
 * domains service keeps it, so two spellings of one name are one action.
 */
export function domainActionKey(domain: string): string {
  return `${actionKeyPrefix(ACTION_KINDS.domain)}${domain.trim().toLowerCase()}`;
}
