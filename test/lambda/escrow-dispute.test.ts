/**
 * Disputing a hold once (issue 14, FraudHoldEscrow's onConfirmedFraud: DISPUTE), through the money path with the real
 * client, dynalite and each profile's sandbox: one dispute per escrow id, with its reason; a repeat makes no call, a
 * lost answer is UNKNOWN and never re-sent, and a 409 `invalid_status` is read back (`GET /escrow/{id}`): disputed
 * before → SUCCEEDED (`disputed_before`), released or refunded → REJECTED naming the state; an unknown escrow is REJECTED.
 */
import { escrowDisputeAction } from '../../lambda/shared/escrow-dispute';
import { useEscrowWorlds } from './escrow-worlds';

const worlds = useEscrowWorlds('DisputeLedger');

describe.each([
  ['gateway', worlds.gateway],
  ['services', worlds.services],
] as const)('a hold disputed once, on the %s profile', (_name, profile) => {
  const REASON = 'review confirmed fraud: chargeback pattern';
  const path = () => worlds.moneyPath(profile);
  /** The reasons of the disputes the sandbox committed for this escrow. */
  const disputes = (escrowId: string) => profile.committed('dispute', escrowId).map((body) => String(body.reason));
  const dispute = (escrowId: string) =>
    path().executeOnce(escrowDisputeAction(profile.api, profile.client(), { escrowId, amountUsdc: 20, reason: REASON }), {
      deadline: Date.now() + 10_000,
    });

  test('the first dispute is sent with its reason, a second is a repeat that makes no call', async () => {
    const escrowId = await profile.createEscrow(20);
    expect(await dispute(escrowId)).toMatchObject({ status: 'SUCCEEDED', repeated: false, actionKey: `v1:dispute:${escrowId}` });
    expect(await dispute(escrowId)).toMatchObject({ status: 'SUCCEEDED', repeated: true });
    expect(disputes(escrowId)).toEqual([REASON]);
  });

  test('a lost answer is UNKNOWN, and a later delivery never sends it again', async () => {
    const escrowId = await profile.createEscrow(20);
    profile.injectFault('timeout-after-commit');
    expect(await dispute(escrowId)).toMatchObject({ status: 'UNKNOWN' });
    expect(await dispute(escrowId)).toMatchObject({ status: 'UNKNOWN', repeated: true });
    expect(disputes(escrowId)).toHaveLength(1);
  });

  test('disputed before (by hand): the 409 is read back and recorded as SUCCEEDED, disputed_before', async () => {
    const escrowId = await profile.createEscrow(20);
    await profile.moveEscrow(escrowId, 'disputed');
    expect(await dispute(escrowId)).toMatchObject({
      status: 'SUCCEEDED',
      httpStatus: 409,
      response: { escrow_id: escrowId, status: 'disputed', disputed_before: true },
    });
  });

  test.each(['released', 'refunded'] as const)('%s: the 409 is read back and REJECTED, naming the state', async (state) => {
    const escrowId = await profile.createEscrow(20);
    await profile.moveEscrow(escrowId, state);
    const before = disputes(escrowId).length;
    expect(await dispute(escrowId)).toMatchObject({
      status: 'REJECTED',
      error: expect.stringContaining(`the escrow is ${state}: it cannot be disputed`),
    });
    expect(disputes(escrowId)).toHaveLength(before);
  });

  test('an escrow that does not exist is REJECTED (404), nothing disputed', async () => {
    const report = await dispute(profile === worlds.gateway ? 'esc_999999' : 'esc_nonexistent00');
    expect(report).toMatchObject({ status: 'REJECTED', httpStatus: 404 });
  });
});
