/**
 * What ModelAgents accepts as a domain to register (its optional `domainName`): the construct checks the template at
 * synth with this rule, and the handler checks each rendered name again before anything is sent.
 */

/** One DNS label as the registrars take it: 1 to 63 of a-z, 0-9 and '-', not starting or ending with '-'. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const MAX_DOMAIN_LENGTH = 253;

export const DOMAIN_NAME_RULE =
  "a domain name: at least two dot-separated labels of 1 to 63 letters, digits or '-' (not starting or ending with '-'), " +
  `at most ${MAX_DOMAIN_LENGTH} characters in all`;

/** Why `domain` (already in lower case) cannot be registered, or undefined. */
export function domainNameProblem(domain: string): string | undefined {
  if (domain.length > MAX_DOMAIN_LENGTH) return `${JSON.stringify(domain)} is ${domain.length} characters, more than ${MAX_DOMAIN_LENGTH}`;
  const labels = domain.split('.');
  if (labels.length < 2) return `${JSON.stringify(domain)} has no dot: it is not ${DOMAIN_NAME_RULE}`;
  const bad = labels.find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    return `${JSON.stringify(domain)} has the label ${JSON.stringify(bad)}, which is not 1 to 63 of a-z, 0-9 and '-' (not starting or ending with '-')`;
  }
  return undefined;
}

/** The name the domains service registers: trimmed and in lower case, as it does itself. */
export function normalizedDomain(rendered: string): string {
  return rendered.trim().toLowerCase();
}
