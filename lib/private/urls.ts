import { Token } from 'aws-cdk-lib';

/** Why a URL failed {@link isAllowedApiUrl}, for validation messages. */
export const API_URL_RULE = 'must be an https URL without credentials (plain http only to loopback: 127.0.0.0/8, localhost, [::1])';

/**
 * A Purple Flea URL the handlers may call: https without credentials, or plain http to a loopback
 * address only (127.0.0.0/8, localhost, [::1]), for tests against a local sandbox.
 */
export function isAllowedApiUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  const host = url.hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The URL without trailing slashes, so that the handlers can append paths; a token is left as it is. */
export function trimTrailingSlashes(url: string): string {
  return Token.isUnresolved(url) ? url : url.replace(/\/+$/, '');
}
