import { Duration } from 'aws-cdk-lib';
import { AGENT_ID } from './patterns';
import type { PropsValidator } from './validation';

/** What the escrow service takes as a counterparty, for validation messages. */
export const SERVICES_AGENT_ID =
  'an ag_ id of the casino registry on the services profile (the escrow service refuses others, such as agt_ ids)';

/** The escrow service's counterparties: `ag_` ids of the casino registry (it refuses `agt_...`). */
export function isServicesAgentId(id: string): boolean {
  return id.startsWith('ag_') && AGENT_ID.test(id);
}

/** The escrow service's `timeout_hours`: it floors the value to whole hours and keeps it within 1 to 720. */
export const MIN_ESCROW_TIMEOUT = Duration.hours(1);
export const MAX_ESCROW_TIMEOUT = Duration.days(30);

/**
 * An `escrowTimeout` prop: from 1 hour to 30 days, in whole hours, so that the service keeps what it is given
 * (anything else it would floor or clamp). A token is not checked.
 */
export function checkEscrowTimeout(v: PropsValidator, escrowTimeout: Duration | undefined): void {
  if (!v.isDuration('escrowTimeout', escrowTimeout) || escrowTimeout.isUnresolved()) return;
  const seconds = escrowTimeout.toSeconds({ integral: false });
  if (seconds < MIN_ESCROW_TIMEOUT.toSeconds() || seconds > MAX_ESCROW_TIMEOUT.toSeconds()) {
    v.duration('escrowTimeout', escrowTimeout, MIN_ESCROW_TIMEOUT, MAX_ESCROW_TIMEOUT);
  } else {
    v.check(
      'escrowTimeout',
      escrowTimeout,
      () => Number.isInteger(seconds / 3600),
      'must be a whole number of hours (the escrow service takes timeout_hours)',
    );
  }
}
