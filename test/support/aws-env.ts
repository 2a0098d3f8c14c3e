/**
 * Environment for running the real AWS SDK v3 clients against the local stand-ins.
 * The SDK reads service-specific endpoint overrides from AWS_ENDPOINT_URL_<SERVICE ID> (the service id
 * upper-cased, spaces to underscores), so the handlers need no test-only code paths.
 */

/** Obviously fake credentials: the stand-ins never check signatures, and nothing can reach AWS with these. */
export const FAKE_ACCESS_KEY_ID = 'AKIAFAKEFORLOCALTESTS';
export const FAKE_SECRET_ACCESS_KEY = 'fake-secret-access-key-for-local-tests-only';

/**
 * `s3Endpoint` (a FakeS3 url) is optional so callers without S3 are unchanged. An http://127.0.0.1:PORT
 * endpoint makes the S3 client address buckets path-style on its own; see fake-s3.ts.
 */
export function awsTestEnvironment(fakeAwsUrl: string, dynamoEndpoint: string, s3Endpoint?: string): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: FAKE_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: FAKE_SECRET_ACCESS_KEY,
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: fakeAwsUrl,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: fakeAwsUrl,
    AWS_ENDPOINT_URL_SAGEMAKER: fakeAwsUrl,
    AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME: fakeAwsUrl,
    AWS_ENDPOINT_URL_EVENTBRIDGE: fakeAwsUrl,
    AWS_ENDPOINT_URL_STS: fakeAwsUrl,
    AWS_ENDPOINT_URL_CLOUDFORMATION: fakeAwsUrl,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    ...(s3Endpoint !== undefined ? { AWS_ENDPOINT_URL_S3: s3Endpoint } : {}),
    // Never wait on (or reach) the instance metadata service when looking for credentials or region.
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/**
 * Sets `vars` on process.env and returns a function that puts the previous values back.
 * Set them before a client's first request: the SDK reads region, credentials and endpoint lazily on
 * the first call and then keeps them, so restoring afterwards does not redirect a client in use.
 */
export function applyEnvironment(vars: Record<string, string>): () => void {
  const previous = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  // A session token from the developer's shell would be sent with the fake keys; drop it while testing.
  const previousToken = process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_SESSION_TOKEN;
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of Object.entries({ ...previous, AWS_SESSION_TOKEN: previousToken })) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
