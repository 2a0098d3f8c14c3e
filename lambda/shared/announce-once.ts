import type { ActionLedger } from './action-ledger';

/** The ledger's follow-up operations, by which a SUCCEEDED action's event is put once (ActionLedger has them). */
export type AnnouncementLedger = Pick<ActionLedger, 'claimNotification' | 'releaseNotification' | 'markNotified'>;

/** A failed announcement may be taken over after this (Lambda's retry comes a minute later or more). */
const NOTIFICATION_LEASE_MS = 50_000;

/**
 * Puts a SUCCEEDED action's event once: the invocation that takes the action's notification in the ledger puts it and
 * marks it done; one whose put fails gives the notification back and throws, so that Lambda's retry puts it (the
 * ledger makes the action itself a repeat). Call it only for an action whose report is not `notified` yet.
 */
export async function announceOnce(ledger: AnnouncementLedger, actionKey: string, announce: () => Promise<void>): Promise<void> {
  if (!(await ledger.claimNotification(actionKey, NOTIFICATION_LEASE_MS))) return;
  try {
    await announce();
  } catch (error) {
    await ledger.releaseNotification(actionKey);
    throw error;
  }
  await ledger.markNotified(actionKey);
}
