/**
 * The two API profiles' requests (lambda/shared/purpleflea-api.ts), built from the same actions: the gateway's
 * exactly as before profiles existed, the services' as purpleflea-services.md describes each route; the ledger's
 * readers of both; and where a record's reference is, on either profile (lib/private/contracts/action-keys.ts).
 */
import { createHash } from 'node:crypto';
import {
  GATEWAY_PROFILE,
  parseServicesEscrowDescription,
  SERVICES_PROFILE,
  SERVICES_ROUTES,
  servicesEscrowDescription,
} from '../../lambda/shared/purpleflea-api';
import { referenceFieldOf, referenceOf } from '../../lib/private/contracts/action-keys';

const ACTION_KEY = 'v1:escrow:arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-42';
const SHA = createHash('sha256').update(ACTION_KEY).digest('hex');

const trade = {
  agentId: 'agt_trader',
  direction: 'long' as const,
  amountUsdc: 50,
  asset: 'BTC-USDC',
  metadata: { source: 'sagemaker', confidence: 0.73 },
  services: { coin: 'BTC', leverage: 3 },
};
const escrow = {
  buyer: 'ag_0123456789ab',
  seller: 'ag_ba9876543210',
  amountUsdc: 20,
  condition: 'model_owner_approved:churn-42',
  metadata: { training_job: 'churn-42' },
  actionKey: ACTION_KEY,
  services: { timeoutHours: 720 },
};
const transfer = { fromAgent: 'ag_0123456789ab', toAgent: 'ag_ba9876543210', amountUsdc: 12.34, memo: 'pipeline-bonus score=1.234' };

describe('the gateway profile: the requests of before profiles, byte for byte', () => {
  test('a trade order, whatever services settings it is given', () => {
    const request = GATEWAY_PROFILE.tradeOrder(trade);
    expect(request.service).toBe('gateway');
    expect(request.path).toBe('/trading/order');
    expect(request.route).toBeUndefined();
    expect(JSON.stringify(request.body)).toBe(
      '{"agent_id":"agt_trader","direction":"long","amount":50,"asset":"BTC-USDC","order_type":"market","metadata":{"source":"sagemaker","confidence":0.73}}',
    );
  });

  test('an escrow: the action key and the timeout are not sent', () => {
    const request = GATEWAY_PROFILE.createEscrow(escrow);
    expect([request.service, request.path, request.route]).toEqual(['gateway', '/escrow/create', undefined]);
    expect(JSON.stringify(request.body)).toBe(
      '{"buyer":"ag_0123456789ab","seller":"ag_ba9876543210","amount":20,"condition":"model_owner_approved:churn-42","metadata":{"training_job":"churn-42"}}',
    );
  });

  test('a wallet transfer', () => {
    const request = GATEWAY_PROFILE.walletTransfer(transfer);
    expect([request.service, request.path, request.route]).toEqual(['gateway', '/wallet/transfer', undefined]);
    expect(JSON.stringify(request.body)).toBe(
      '{"from_agent":"ag_0123456789ab","to_agent":"ag_ba9876543210","amount":12.34,"memo":"pipeline-bonus score=1.234"}',
    );
  });

  test('the readers read back what was recorded', () => {
    expect(GATEWAY_PROFILE.recordedTradeOrder(GATEWAY_PROFILE.tradeOrder(trade).body)).toEqual({
      direction: 'long',
      amountUsdc: 50,
      asset: 'BTC-USDC',
    });
    expect(GATEWAY_PROFILE.recordedEscrow(GATEWAY_PROFILE.createEscrow(escrow).body)).toEqual({
      buyer: escrow.buyer,
      seller: escrow.seller,
      amountUsdc: 20,
      condition: escrow.condition,
    });
    expect(GATEWAY_PROFILE.recordedTransfer(GATEWAY_PROFILE.walletTransfer(transfer).body)).toEqual(transfer);
    expect(GATEWAY_PROFILE.recordedTradeOrder({ direction: 'up', amount: '50' })).toEqual({
      direction: undefined,
      amountUsdc: undefined,
      asset: undefined,
    });
  });

  test('any agent id of the API shape may be a counterparty, agt_ included; the answer says nothing of a fill', () => {
    expect(GATEWAY_PROFILE.counterpartyProblem('agt_model_churn-42')).toBeUndefined();
    expect(GATEWAY_PROFILE.counterpartyProblem('ag_0123456789ab')).toBeUndefined();
    expect(GATEWAY_PROFILE.counterpartyProblem('agt bad')).toContain('is not a Purple Flea agent id');
    expect(GATEWAY_PROFILE.filledUsdc({ order_id: 'ord_1', size_usd: 20 })).toBeUndefined();
    expect(GATEWAY_PROFILE.serviceOf).toEqual({ trade: 'gateway', escrow: 'gateway', transfer: 'gateway' });
  });
});

describe('the services profile: each route as purpleflea-services.md describes it', () => {
  test('trade → trading POST /trade/open {coin, side, size_usd (notional), leverage}, the leverage always sent', () => {
    const request = SERVICES_PROFILE.tradeOrder(trade);
    expect([request.service, request.path]).toEqual(['trading', '/trade/open']);
    expect(request.body).toEqual({ coin: 'BTC', side: 'long', size_usd: 50, leverage: 3 });
    expect(request.route).toBe(SERVICES_ROUTES.tradeOpen.rules);
    expect(request.route?.mayHaveExecutedOn).toEqual(['trade_failed']);
    // Leverage 1 is sent too: the service's own default would be 5.
    expect(SERVICES_PROFILE.tradeOrder({ ...trade, direction: 'short', services: { coin: 'xyz:TSLA', leverage: 1 } }).body).toEqual({
      coin: 'xyz:TSLA',
      side: 'short',
      size_usd: 50,
      leverage: 1,
    });
  });

  test('a trade without its coin and leverage is a handler bug, never a request', () => {
    expect(() => SERVICES_PROFILE.tradeOrder({ ...trade, services: undefined })).toThrow(
      "the services profile needs a trade's coin and leverage",
    );
  });

  test('escrow → escrow POST /escrow/create {amount_usd, description, counterparty_agent_id, timeout_hours}: no buyer field, the action key only as its SHA-256', () => {
    const request = SERVICES_PROFILE.createEscrow(escrow);
    expect([request.service, request.path]).toEqual(['escrow', '/escrow/create']);
    expect(request.route).toBe(SERVICES_ROUTES.escrowCreate.rules);
    expect(request.body).toEqual({
      amount_usd: 20,
      description: `model_owner_approved:churn-42 | buyer ag_0123456789ab | action sha256:${SHA}`,
      counterparty_agent_id: 'ag_ba9876543210',
      timeout_hours: 720,
    });
    // Public to anyone with the escrow id: neither the key nor the metadata is in it.
    expect(JSON.stringify(request.body)).not.toContain(ACTION_KEY);
    expect(JSON.stringify(request.body)).not.toContain('training_job');
    expect(() => SERVICES_PROFILE.createEscrow({ ...escrow, services: undefined })).toThrow("an escrow's timeout_hours");
    expect(() => SERVICES_PROFILE.createEscrow({ ...escrow, actionKey: undefined })).toThrow("an escrow's action key");
  });

  test("payout → casino POST /stats/pay {to_agent_id, amount, memo}: the sender is the key's agent", () => {
    const request = SERVICES_PROFILE.walletTransfer(transfer);
    expect([request.service, request.path]).toEqual(['casino', '/stats/pay']);
    expect(request.route).toBe(SERVICES_ROUTES.casinoPay.rules);
    expect(request.body).toEqual({ to_agent_id: 'ag_ba9876543210', amount: 12.34, memo: 'pipeline-bonus score=1.234' });
  });

  test('the readers read back what was recorded', () => {
    expect(SERVICES_PROFILE.recordedTradeOrder(SERVICES_PROFILE.tradeOrder(trade).body)).toEqual({
      direction: 'long',
      amountUsdc: 50,
      coin: 'BTC',
      leverage: 3,
    });
    expect(SERVICES_PROFILE.recordedEscrow(SERVICES_PROFILE.createEscrow(escrow).body)).toEqual({
      buyer: 'ag_0123456789ab',
      seller: 'ag_ba9876543210',
      amountUsdc: 20,
      condition: 'model_owner_approved:churn-42',
      timeoutHours: 720,
    });
    expect(SERVICES_PROFILE.recordedTransfer(SERVICES_PROFILE.walletTransfer(transfer).body)).toEqual({
      toAgent: 'ag_ba9876543210',
      amountUsdc: 12.34,
      memo: 'pipeline-bonus score=1.234',
    });
    // A gateway body read by the services' reader has none of its fields.
    expect(SERVICES_PROFILE.recordedTradeOrder(GATEWAY_PROFILE.tradeOrder(trade).body)).toEqual({
      direction: undefined,
      amountUsdc: undefined,
      coin: undefined,
      leverage: undefined,
    });
  });

  test('the description round-trips a condition with pipes in it; another description is all condition', () => {
    const description = servicesEscrowDescription('a | b | buyer x', 'ag_1', ACTION_KEY);
    expect(parseServicesEscrowDescription(description)).toEqual({ condition: 'a | b | buyer x', buyer: 'ag_1', actionKeySha256: SHA });
    expect(parseServicesEscrowDescription('hand-written escrow')).toEqual({ condition: 'hand-written escrow' });
  });

  test('counterparties are ag_ ids of the casino registry: an agt_ id is refused with its reason', () => {
    expect(SERVICES_PROFILE.counterpartyProblem('ag_ba9876543210')).toBeUndefined();
    expect(SERVICES_PROFILE.counterpartyProblem('agt_model_churn-42')).toBe(
      '"agt_model_churn-42" is not an ag_ id of the casino registry: the services profile\'s escrow and pay take only those (an agt_ id is the gateway\'s)',
    );
    expect(SERVICES_PROFILE.counterpartyProblem('ag bad')).toContain('is not a Purple Flea agent id');
  });

  test("a trade's filled notional is the answer's size_usd (a fill may be partial); absent when the answer lacks it", () => {
    expect(SERVICES_PROFILE.filledUsdc({ position_id: 'pos_1', size_usd: 19.2 })).toBe(19.2);
    expect(SERVICES_PROFILE.filledUsdc({ position_id: 'pos_1' })).toBeUndefined();
    expect(SERVICES_PROFILE.filledUsdc(undefined)).toBeUndefined();
    expect(SERVICES_PROFILE.serviceOf).toEqual({ trade: 'trading', escrow: 'escrow', transfer: 'casino' });
  });
});

describe("a record's reference, on either profile", () => {
  test('read from the response: the services field first, then the gateway one', () => {
    expect(referenceOf('trade', { order_id: 'ord_g' })).toBe('ord_g');
    expect(referenceOf('trade', { position_id: 'pos_s', order_id: 'ord_s' })).toBe('pos_s');
    expect(referenceOf('payout', { transfer_id: 'tr_1' })).toBe('tr_1');
    expect(referenceOf('payout', { tx_id: 'pay_1', _info: { service: 'agent-casino' } })).toBe('pay_1');
    expect(referenceOf('escrow', { escrow_id: 'esc_1' })).toBe('esc_1');
    expect(referenceOf('hold', { escrow_id: 'esc_2' })).toBe('esc_2');
    // A 2xx without its id is SUCCEEDED with no reference.
    expect(referenceOf('payout', { id: 'x' })).toBeUndefined();
    expect(referenceOf(undefined, { id: 'x' })).toBe('x');
  });

  test("an operator's resolution writes under the field of the profile the recorded request went to", () => {
    expect(referenceFieldOf('trade', GATEWAY_PROFILE.tradeOrder(trade).body)).toBe('order_id');
    expect(referenceFieldOf('trade', SERVICES_PROFILE.tradeOrder(trade).body)).toBe('position_id');
    expect(referenceFieldOf('payout', GATEWAY_PROFILE.walletTransfer(transfer).body)).toBe('transfer_id');
    expect(referenceFieldOf('payout', SERVICES_PROFILE.walletTransfer(transfer).body)).toBe('tx_id');
    expect(referenceFieldOf('hold', SERVICES_PROFILE.createEscrow(escrow).body)).toBe('escrow_id');
    expect(referenceFieldOf('payout', undefined)).toBe('transfer_id');
    expect(referenceFieldOf(undefined, undefined)).toBe('id');
  });
});
