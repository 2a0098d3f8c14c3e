/**
 * The operator's command on records of the services profile: `list` shows a SUCCEEDED record's reference
 * from the services' id fields (`position_id`, `tx_id`), and `resolve --as succeeded` writes the reference
 * under the field of the profile the record's request went to, so a repeat delivery reports it as the API would.
 */
import { ActionLedger } from '../../lambda/shared/action-ledger';
import { GATEWAY_PROFILE, SERVICES_PROFILE } from '../../lambda/shared/purpleflea-api';
import { LedgerOperator } from '../../cli/src/ledger-operator';
import { LocalLedger, startLocalLedger } from '../support/dynalite';

const TABLE = 'ServicesReferenceLedger';
const OPERATOR = 'arn:aws:iam::123456789012:user/alice';
const now = Date.parse('2026-11-28T12:00:00Z');

let local: LocalLedger;
const ledger = () => new ActionLedger({ tableName: TABLE, client: local.client, now: () => now });
const operator = () => new LedgerOperator({ tableName: TABLE, client: local.client, now: () => now });

const trade = {
  agentId: 'ag_0123456789ab',
  direction: 'long' as const,
  amountUsdc: 50,
  asset: 'BTC-USDC',
  metadata: {},
  services: { coin: 'BTC', leverage: 2 },
};
const transfer = { fromAgent: 'ag_0123456789ab', toAgent: 'ag_ba9876543210', amountUsdc: 10, memo: 'm' };

async function record(
  actionKey: string,
  request: { [key: string]: unknown },
  outcome: 'SUCCEEDED' | 'UNKNOWN',
  response?: { [key: string]: unknown },
): Promise<void> {
  const held = await ledger().claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request, amountUsdc: 10 });
  if (!held.claimed) throw new Error('expected a claim');
  await ledger().recordOutcome(actionKey, held.claimToken, outcome, { response, error: outcome === 'UNKNOWN' ? 'no answer' : undefined });
}

beforeAll(async () => {
  local = await startLocalLedger(TABLE);
});
afterAll(() => local.close());

test("list shows the services' references: a payment's tx_id, a trade's position (its answer also has order_id)", async () => {
  await record('v1:payout:b/k:e:ag_ba9876543210', SERVICES_PROFILE.walletTransfer(transfer).body, 'SUCCEEDED', {
    tx_id: 'pay_00112233',
    _info: { service: 'agent-casino' },
  });
  await record('v1:trade:rule:svc-1', SERVICES_PROFILE.tradeOrder(trade).body, 'SUCCEEDED', { position_id: 'pos_1', order_id: 'ord_1' });
  await record('v1:trade:rule:gw-1', GATEWAY_PROFILE.tradeOrder(trade).body, 'SUCCEEDED', { order_id: 'ord_g' });
  const references = Object.fromEntries((await operator().list({ states: ['SUCCEEDED'] })).map((a) => [a.actionKey, a.reference]));
  expect(references).toEqual({
    'v1:payout:b/k:e:ag_ba9876543210': 'pay_00112233',
    'v1:trade:rule:svc-1': 'pos_1',
    'v1:trade:rule:gw-1': 'ord_g',
  });
});

test('resolve --as succeeded writes the reference under the id field of the profile the request went to', async () => {
  await record('v1:payout:b/k:e:ag_unknown', SERVICES_PROFILE.walletTransfer(transfer).body, 'UNKNOWN');
  await record('v1:trade:rule:svc-unknown', SERVICES_PROFILE.tradeOrder(trade).body, 'UNKNOWN');
  await record('v1:payout:b/k:e:agt_unknown', GATEWAY_PROFILE.walletTransfer(transfer).body, 'UNKNOWN');
  const resolve = (actionKey: string, reference: string) =>
    operator().resolve(actionKey, { as: 'succeeded', reference, reason: 'found in the casino ledger', by: OPERATOR });

  expect((await resolve('v1:payout:b/k:e:ag_unknown', 'pay_42')).record.response).toEqual({
    tx_id: 'pay_42',
    source: 'operator-resolution',
  });
  expect((await resolve('v1:trade:rule:svc-unknown', 'pos_42')).record.response).toEqual({
    position_id: 'pos_42',
    source: 'operator-resolution',
  });
  expect((await resolve('v1:payout:b/k:e:agt_unknown', 'tr_42')).record.response).toEqual({
    transfer_id: 'tr_42',
    source: 'operator-resolution',
  });
  const listed = await operator().list({ states: ['SUCCEEDED'], kind: 'payout' });
  expect(listed.find((a) => a.actionKey === 'v1:payout:b/k:e:ag_unknown')?.reference).toBe('pay_42');
});
