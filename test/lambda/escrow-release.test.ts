/**
 * Releasing an escrow once (issue 14), through the money path with the real client, dynalite and each profile's
 * sandbox: one release per escrow id, a repeat makes no call, a lost answer is UNKNOWN and never re-sent, and a
 * 409 `invalid_status` is read back (`GET /escrow/{id}`): released before → SUCCEEDED (`released_before`),
 * refunded or disputed → REJECTED naming the state; an unknown escrow is REJECTED.
 */
import type { LedgerRecord } from '../../lambda/shared/action-ledger';
import { createdEscrow, escrowReleaseAction } from '../../lambda/shared/escrow-release';
import { GATEWAY_PROFILE } from '../../lambda/shared/purpleflea-api';
import { PurpleFleaClient } from '../../lambda/shared/purpleflea-client';
import { SANDBOX_API_KEY } from '../support/purpleflea-sandbox';
import { useEscrowWorlds } from './escrow-worlds';

const worlds = useEscrowWorlds('ReleaseLedger');

describe.each([
  ['gateway', worlds.gateway],
  ['services', worlds.services],
] as const)('an escrow released once, on the %s profile', (_name, profile) => {
  const path = () => worlds.moneyPath(profile);
  /** Releases the sandbox committed for this escrow. */
  const releases = (escrowId: string) => profile.committed('release', escrowId).length;
  const release = (escrowId: string) =>
    path().executeOnce(escrowReleaseAction(profile.api, profile.client(), { escrowId, amountUsdc: 20 }), {
      deadline: Date.now() + 10_000,
    });

  test('the first release moves it, a second is a repeat that makes no call', async () => {
    const escrowId = await profile.createEscrow(20);
    expect(await release(escrowId)).toMatchObject({ status: 'SUCCEEDED', repeated: false, actionKey: `v1:release:${escrowId}` });
    expect(await release(escrowId)).toMatchObject({ status: 'SUCCEEDED', repeated: true });
    expect(releases(escrowId)).toBe(1);
  });

  test('a lost answer is UNKNOWN, and a later delivery never sends it again', async () => {
    const escrowId = await profile.createEscrow(20);
    profile.injectFault('timeout-after-commit');
    expect(await release(escrowId)).toMatchObject({ status: 'UNKNOWN' });
    expect(await release(escrowId)).toMatchObject({ status: 'UNKNOWN', repeated: true });
    expect(releases(escrowId)).toBe(1);
  });

  test('released before (by hand): the 409 is read back and recorded as SUCCEEDED, released_before', async () => {
    const escrowId = await profile.createEscrow(20);
    await profile.moveEscrow(escrowId, 'released');
    const report = await release(escrowId);
    expect(report).toMatchObject({
      status: 'SUCCEEDED',
      httpStatus: 409,
      response: { escrow_id: escrowId, status: 'released', released_before: true },
    });
    expect(await release(escrowId)).toMatchObject({ status: 'SUCCEEDED', repeated: true, response: { released_before: true } });
  });

  test.each(['refunded', 'disputed'] as const)('%s: the 409 is read back and REJECTED, naming the state', async (state) => {
    const escrowId = await profile.createEscrow(20);
    await profile.moveEscrow(escrowId, state);
    expect(await release(escrowId)).toMatchObject({
      status: 'REJECTED',
      error: expect.stringContaining(`the escrow is ${state}: it cannot be released`),
    });
    expect(releases(escrowId)).toBe(0);
  });

  test('an escrow that does not exist is REJECTED (404), nothing released', async () => {
    const report = await release(profile === worlds.gateway ? 'esc_999999' : 'esc_nonexistent00');
    expect(report).toMatchObject({ status: 'REJECTED', httpStatus: 404 });
  });
});

describe('reading an escrow back with a rotated key', () => {
  /** A key source that still holds the old key until refreshed, counting the refreshes. */
  function rotatingCredentials(oldKey: string, newKey: string) {
    let current = oldKey;
    const counts = { refreshes: 0 };
    return {
      counts,
      credentials: {
        get: async () => ({ apiKey: current }),
        refresh: async () => {
          counts.refreshes += 1;
          current = newKey;
          return { apiKey: current };
        },
      },
    };
  }
  afterEach(() => worlds.gatewaySandbox().setApiKeys([SANDBOX_API_KEY]));

  test('a 401 re-reads the key once and reads with the new one', async () => {
    const escrowId = await worlds.gateway.createEscrow(20);
    worlds.gatewaySandbox().setApiKeys(['pf_live_rotated']);
    const { counts, credentials } = rotatingCredentials(SANDBOX_API_KEY, 'pf_live_rotated');
    const client = new PurpleFleaClient({ baseUrl: worlds.gatewaySandbox().baseUrl, credentials, requestTimeoutMs: 500 });
    const read = await client.read(GATEWAY_PROFILE.readEscrow(escrowId));
    expect(read).toMatchObject({ kind: 'answered', status: 200, body: { escrow_id: escrowId } });
    expect(counts.refreshes).toBe(1);
  });

  test('a key still refused after the re-read is answered 401, without a second re-read', async () => {
    const escrowId = await worlds.gateway.createEscrow(20);
    worlds.gatewaySandbox().setApiKeys(['pf_live_rotated']);
    const { counts, credentials } = rotatingCredentials(SANDBOX_API_KEY, 'pf_live_stale_again');
    const client = new PurpleFleaClient({ baseUrl: worlds.gatewaySandbox().baseUrl, credentials, requestTimeoutMs: 500 });
    expect(await client.read(GATEWAY_PROFILE.readEscrow(escrowId))).toMatchObject({ kind: 'answered', status: 401 });
    expect(counts.refreshes).toBe(1);
  });
});

describe('createdEscrow: what a creation record says about releasing its escrow', () => {
  const record = (actionKey: string, fields: Partial<LedgerRecord>): LedgerRecord =>
    ({ actionKey, claimToken: 't', leaseExpiresAt: 0, attempts: 1, createdAt: 0, updatedAt: 0, ...fields }) as LedgerRecord;
  const bonus = 'v1:escrow:arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-1';
  const hold = 'v1:hold:txn-1';

  test('no record: none; REJECTED: refused, with its error', () => {
    expect(createdEscrow(undefined)).toEqual({ kind: 'none' });
    expect(createdEscrow(record(hold, { state: 'REJECTED', error: 'insufficient_balance' }))).toEqual({
      kind: 'refused',
      error: 'insufficient_balance',
    });
  });

  test.each(['CLAIMED', 'SENDING', 'UNKNOWN'] as const)('%s: unsettled (the release waits, never guesses)', (state) => {
    expect(createdEscrow(record(bonus, { state }))).toEqual({ kind: 'unsettled', state });
  });

  test("SUCCEEDED: the escrow id from either profile's answer, and the recorded amount", () => {
    expect(createdEscrow(record(bonus, { state: 'SUCCEEDED', amountUsdc: 50, response: { escrow_id: 'esc_0123456789abcdef' } }))).toEqual({
      kind: 'created',
      escrowId: 'esc_0123456789abcdef',
      amountUsdc: 50,
    });
    expect(createdEscrow(record(hold, { state: 'SUCCEEDED', amountUsdc: 25, response: { escrow_id: 'esc_5521' } }))).toMatchObject({
      kind: 'created',
      escrowId: 'esc_5521',
    });
  });

  test('SUCCEEDED without an escrow id or without an amount: incomplete', () => {
    expect(createdEscrow(record(bonus, { state: 'SUCCEEDED', amountUsdc: 50, response: { status: 'funded' } }))).toEqual({
      kind: 'incomplete',
    });
    expect(createdEscrow(record(hold, { state: 'SUCCEEDED', response: { escrow_id: 'esc_5521' } }))).toEqual({ kind: 'incomplete' });
  });
});
