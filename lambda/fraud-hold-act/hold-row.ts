import type { HoldItem } from '../../lib/private/contracts/fraud-hold-env';
import { holdActionKey, holdActionKeyByPosition } from '../shared/action-keys';
import { parseDecimal } from '../shared/decimal';

/** The log columns of a hold row (Summarize uses the same). */
export function holdColumns(item: HoldItem) {
  return {
    line: Number(item.line),
    object_key: item.object_key,
    object_line: Number(item.object_line),
    transaction_id: item.transaction_id,
    buyer: item.buyer,
    seller: item.seller,
    fraud_score: item.fraud_score,
    amount_usdc: parseDecimal(item.amount_usdc ?? ''),
  };
}

/** Exactly one hold per transaction; a record without a transaction id is identified by its place. */
export function holdKeyOf(item: HoldItem, sourceBucket: string): string {
  return item.transaction_id !== ''
    ? holdActionKey(item.transaction_id)
    : holdActionKeyByPosition(sourceBucket, item.object_key, item.object_etag, Number(item.object_line));
}
