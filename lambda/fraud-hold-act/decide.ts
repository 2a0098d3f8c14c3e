/**
 * FraudHoldEscrow Act's decision on one row of `input.csv`, with no I/O: whether it is held, and the escrow
 * that holds it.
 */
import type { BatchInput } from '../../lib/private/contracts/batch-engine';
import type { FraudHoldActSettings, HoldItem } from '../../lib/private/contracts/fraud-hold-env';
import type { RowPlan } from '../shared/batch/act-on-batch';
import { amountRecheckProblem } from '../shared/batch/row-caps';
import { parseDecimal } from '../shared/decimal';
import { agentCellProblem, namesModelVersion } from '../shared/model-version-agents';
import type { PurpleFleaApiProfile } from '../shared/purpleflea-api';
import { TRANSACTION_ID_PATTERN } from '../shared/record-ids';
import { fillTemplate } from '../shared/template';
import { holdColumns, holdKeyOf } from './hold-row';

export type HoldRowRules = Pick<
  FraudHoldActSettings,
  'conditionTemplate' | 'enabled' | 'dryRun' | 'maxHoldUsdc' | 'maxBatchTotalUsdc' | 'services' | 'agentsFromRegistry'
>;

/**
 * One row: INVALID (malformed, over a cap, or a seller the connection's API cannot take), SKIPPED (disabled, dry
 * run), or the escrow hold, built by the connection's API profile (on the services profile the key's agent pays,
 * the transaction's buyer is named in the description, and the hold lasts `escrowTimeoutHours`).
 */
export function planHold(item: HoldItem, batch: BatchInput, rules: HoldRowRules, api: PurpleFleaApiProfile): RowPlan {
  const columns = holdColumns(item);
  const score = parseDecimal(item.fraud_score ?? '');
  const amount = columns.amount_usdc;
  // Prepare validated every row; a row that arrives otherwise holds nothing.
  const transactionId = item.transaction_id ?? '';
  if (transactionId !== '' && !TRANSACTION_ID_PATTERN.test(transactionId))
    return { columns, invalid: `malformed batch item ${JSON.stringify(item)}` };
  // Each party is an agent id, or with agentsFrom a model version ARN (the handler resolves it and plans again with its
  // agent), by its rule; an ARN that breaks it gets its reason.
  const resolves = rules.agentsFromRegistry === true;
  const parties = (['buyer', 'seller'] as const).map((field) => {
    const value = item[field] ?? '';
    return { value, problem: agentCellProblem(field, value, resolves) };
  });
  const arnProblem = parties.find((party) => party.problem !== undefined && party.value.startsWith('arn:'))?.problem;
  if (
    !Number.isInteger(columns.line) ||
    parties.some((party) => party.problem !== undefined && !party.value.startsWith('arn:')) ||
    amount === undefined ||
    !(amount > 0) ||
    score === undefined
  ) {
    return { columns, invalid: `malformed batch item ${JSON.stringify(item)}` };
  }
  if (arnProblem !== undefined) return { columns, invalid: `${arnProblem}: input.csv is not what Prepare wrote; not held` };
  // Prepare checked the caps, but input.csv may have been rewritten since: each row is checked again.
  const caps = [
    ['maxHoldUsdc', rules.maxHoldUsdc],
    ['maxBatchTotalUsdc', rules.maxBatchTotalUsdc],
  ] as const;
  const overCap = amountRecheckProblem(item.amount_usdc, amount, caps, 'not held');
  if (overCap !== undefined) return { columns, invalid: overCap };
  // A model version's agent is checked once resolved.
  const seller = namesModelVersion(item.seller, resolves) ? undefined : api.counterpartyProblem(item.seller);
  if (seller !== undefined) return { columns, invalid: `not held: the seller ${seller}` };
  // Read by every step that moves money: a run in flight, or a redrive, after the construct was disabled holds nothing.
  if (!rules.enabled) return { columns, skipped: 'disabled (enabled: false): nothing is held' };
  if (rules.dryRun) return { columns, skipped: `dry run: would hold ${amount.toFixed(2)} USDC from ${item.buyer} for ${item.seller}` };
  const condition = fillTemplate(rules.conditionTemplate, {
    transactionId: item.transaction_id,
    fraudScore: score.toFixed(2),
    jobName: item.transform_job,
  });
  const actionKey = holdKeyOf(item, batch.sourceBucket);
  return {
    columns,
    action: {
      actionKey,
      amountUsdc: amount,
      request: api.createEscrow({
        buyer: item.buyer,
        seller: item.seller,
        amountUsdc: amount,
        condition,
        metadata: {
          source: 'sagemaker-batch',
          transaction_id: item.transaction_id || null,
          fraud_score: score,
          transform_job: item.transform_job || null,
        },
        actionKey,
        services: rules.services && { timeoutHours: rules.services.escrowTimeoutHours },
      }),
    },
  };
}
