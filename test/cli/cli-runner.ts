/**
 * Runs the BUNDLED operator command (cli/purpleflea-ledger.js, as npm installs it) in a child process,
 * with the real AWS SDK clients pointed at the local stand-ins through AWS_ENDPOINT_URL_*.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY } from '../support/aws-env';

export const CLI_PATH = resolve(__dirname, '..', '..', 'cli', 'purpleflea-ledger.js');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliEndpoints {
  readonly dynamo: string;
  /** FakeAws: STS and CloudFormation. */
  readonly aws: string;
}

export function cliRunner(endpoints: CliEndpoints) {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run npm run build:handlers first`);
  const environment: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: FAKE_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: FAKE_SECRET_ACCESS_KEY,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamo,
    AWS_ENDPOINT_URL_STS: endpoints.aws,
    AWS_ENDPOINT_URL_CLOUDFORMATION: endpoints.aws,
    AWS_EC2_METADATA_DISABLED: 'true',
    // No profile or config file of the developer's may take part.
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
  return (args: readonly string[], overrides: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
    new Promise((resolvePromise) => {
      execFile(
        process.execPath,
        [CLI_PATH, ...args],
        { env: { ...environment, ...overrides }, timeout: 30_000 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
          resolvePromise({ code, stdout, stderr });
        },
      );
    });
}
