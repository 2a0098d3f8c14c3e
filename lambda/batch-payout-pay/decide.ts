/**
 * BatchPayout Pay's decisions on one row of `input.csv`, with no I/O: whether it is paid (and how much), and
 * the transfer that pays it.
 */
import type { BatchInput, PayoutItem } from '../../lib/private/contracts/batch-engine';
import type { BatchPayoutPaySettings } from '../../lib/private/contracts/batch-payout-env';
import { payoutActionKey } from '../shared/action-keys';
import { amountRecheckProblem } from '../shared/batch/row-caps';
import type { RowColumns } from '../shared/batch/row-outcomes';
import { parseDecimal } from '../shared/decimal';
import type { MoneyAction } from '../shared/money-path';
import { agentCellProblem } from '../shared/model-version-agents';
import type { PurpleFleaApiProfile } from '../shared/purpleflea-api';

export type PayoutRowRules = Pick<
  BatchPayoutPaySettings,
  'enabled' | 'dryRun' | 'maxPayoutPerAgentUsdc' | 'maxBatchTotalUsdc' | 'agentsFromRegistry'
>;

/** A row's log columns, and why it is not paid (INVALID or SKIPPED), or the amount to pay. */
export type CheckedPayoutRow =
  | { readonly columns: RowColumns; readonly invalid: string }
  | { readonly columns: RowColumns; readonly skipped: string }
  | { readonly columns: RowColumns; readonly amountUsdc: number };

/** The checks of one row before it is paid: well formed, within the caps (again), enabled, not a dry run. */
export function checkPayoutRow(item: PayoutItem, rules: PayoutRowRules): CheckedPayoutRow {
  const line = Number(item.line);
  const amount = parseDecimal(item.amount_usdc ?? '');
  const columns = { line, agent_id: item.agent_id, score: item.score, amount_usdc: amount };
  // Prepare validated every row; a row that arrives otherwise is never paid. The agent id cell is an agent id, or with
  // agentsFrom a model version ARN (the handler resolves it), each by its rule; an ARN that breaks it gets its reason.
  const agentId = item.agent_id ?? '';
  const agentProblem = agentCellProblem('agent_id', agentId, rules.agentsFromRegistry === true);
  const arnProblem = agentProblem !== undefined && agentId.startsWith('arn:');
  if (!Number.isInteger(line) || (agentProblem !== undefined && !arnProblem) || amount === undefined || !(amount > 0)) {
    return { columns, invalid: `malformed batch item ${JSON.stringify(item)}` };
  }
  if (arnProblem) return { columns, invalid: `${agentProblem}: input.csv is not what Prepare wrote; not paid` };
  // Prepare checked the caps, but input.csv may have been rewritten since: each row is checked again.
  const caps = [
    ['maxPayoutPerAgentUsdc', rules.maxPayoutPerAgentUsdc],
    ['maxBatchTotalUsdc', rules.maxBatchTotalUsdc],
  ] as const;
  const overCap = amountRecheckProblem(item.amount_usdc, amount, caps, 'not paid');
  if (overCap !== undefined) return { columns, invalid: overCap };
  // Read by every step that moves money: a run in flight, or a redrive, after the construct was disabled pays no one.
  if (!rules.enabled) return { columns, skipped: 'disabled (enabled: false): nothing is paid' };
  if (rules.dryRun) return { columns, skipped: `dry run: would pay ${amount.toFixed(2)} USDC` };
  return { columns, amountUsdc: amount };
}

/**
 * Why the connection's API cannot pay a checked row's agent (on the services profile, an id that is not an `ag_`
 * id of the casino registry), or undefined: the row is then INVALID, never sent.
 */
export function recipientProblem(item: PayoutItem, api: Pick<PurpleFleaApiProfile, 'counterpartyProblem'>): string | undefined {
  const problem = api.counterpartyProblem(item.agent_id);
  return problem === undefined ? undefined : `not paid: ${problem}`;
}

/**
 * The transfer that pays a checked row, from the connection's agent (on the services profile, casino pay from the
 * key's agent): once per agent per source file. `item.agent_id` is the agent paid: for a row that names a model
 * version, the handler passes the agent it resolved to, so the key keeps the agent id rule (no `/`) and a file pays an
 * agent once whether its rows name it or its model version.
 */
export function payoutAction(
  item: PayoutItem,
  batch: BatchInput,
  amountUsdc: number,
  fromAgent: string,
  api: Pick<PurpleFleaApiProfile, 'walletTransfer'>,
): MoneyAction {
  return {
    actionKey: payoutActionKey(batch.sourceBucket, batch.sourceKey, batch.sourceEtag, item.agent_id),
    amountUsdc,
    request: api.walletTransfer({
      fromAgent,
      toAgent: item.agent_id,
      amountUsdc,
      memo: `pipeline-bonus score=${Number(item.score).toFixed(3)}`,
    }),
  };
}
