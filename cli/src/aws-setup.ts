/**
 * What the operator must set when the AWS SDK finds no region or no credentials: one line naming the
 * variables (or the step) that fix it, in place of the SDK's own error.
 */

type Environment = { readonly [name: string]: string | undefined };

/** The SDK's message when no provider of its default chain had credentials. */
const NO_PROVIDER_HAD_CREDENTIALS = /could not load credentials from any providers/i;

/** No region from `--region`, the environment or the profile. */
export function regionProblem(env: Environment): string {
  const profile = env.AWS_PROFILE;
  return profile
    ? `no AWS region: set AWS_REGION or pass --region (profile '${profile}' names none, or is not in your AWS config)`
    : 'no AWS region: set AWS_REGION or pass --region';
}

/**
 * The line for an SDK error that means no usable credentials, or undefined for any other error. The SDK's
 * message is kept when it names its own fix (an SSO session to log in to again); its generic "from any
 * providers" is replaced by what to set.
 */
export function credentialsProblem(error: unknown, env: Environment): string | undefined {
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  if (name !== 'CredentialsProviderError') return undefined;
  const text = typeof message === 'string' ? message.split('\n')[0].trim() : '';
  if (text !== '' && !NO_PROVIDER_HAD_CREDENTIALS.test(text)) return `no AWS credentials: ${text}`;
  if (env.AWS_ACCESS_KEY_ID && !env.AWS_SECRET_ACCESS_KEY) {
    return 'no AWS credentials found: AWS_ACCESS_KEY_ID is set without AWS_SECRET_ACCESS_KEY: set both, or AWS_PROFILE';
  }
  if (env.AWS_PROFILE) {
    return `no AWS credentials found for profile '${env.AWS_PROFILE}': check it in your AWS config, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`;
  }
  return 'no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY';
}
