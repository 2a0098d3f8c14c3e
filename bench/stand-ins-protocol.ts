/**
 * What the bench process and the stand-ins process (bench/stand-ins-process.ts) say to each other over
 * the IPC channel of child_process.fork, and the counters the stand-ins keep.
 */

/** Where the stand-ins listen (all on 127.0.0.1). */
export interface StandInAddresses {
  /** Fake SageMaker Runtime / Secrets Manager / SageMaker (test/support/fake-aws.ts). */
  readonly awsUrl: string;
  /** dynalite, holding the ledger table. */
  readonly dynamoEndpoint: string;
  /** The Purple Flea sandbox (test/support/purpleflea-sandbox.ts). */
  readonly sandboxUrl: string;
  /** ARN of the Purple Flea API key secret in the fake Secrets Manager. */
  readonly secretArn: string;
}

const COUNT_KEYS = [
  // Requests reaching each stand-in, i.e. network round trips.
  'invokeEndpoint',
  'getSecretValue',
  'otherAws',
  'dynamodb',
  'purpleflea',
  // Orders the sandbox committed.
  'orders',
  // New TCP connections each stand-in accepted.
  'awsConnections',
  'dynamoConnections',
  'purplefleaConnections',
  // CPU time of the stand-ins process (user + system, process.cpuUsage()), microseconds.
  'cpuMicros',
] as const;

/** Totals since the stand-ins started; the difference of two is what happened in between. */
export type Counts = { readonly [K in (typeof COUNT_KEYS)[number]]: number };

export const ZERO_COUNTS = Object.fromEntries(COUNT_KEYS.map((key) => [key, 0])) as Counts;

function combine(a: Counts, b: Counts, sign: 1 | -1): Counts {
  return Object.fromEntries(COUNT_KEYS.map((key) => [key, a[key] + sign * b[key]])) as Counts;
}

export const addCounts = (a: Counts, b: Counts): Counts => combine(a, b, 1);
export const subtractCounts = (later: Counts, earlier: Counts): Counts => combine(later, earlier, -1);

export const roundTrips = (c: Pick<Counts, 'invokeEndpoint' | 'getSecretValue' | 'otherAws' | 'dynamodb' | 'purpleflea'>) =>
  c.invokeEndpoint + c.getSecretValue + c.otherAws + c.dynamodb + c.purpleflea;
export const connections = (c: Counts) => c.awsConnections + c.dynamoConnections + c.purplefleaConnections;

/** Bench process to stand-ins process. */
export type ToStandIns = { readonly type: 'counts'; readonly id: number } | { readonly type: 'close' };

/** Stand-ins process to bench process. */
export type FromStandIns =
  | { readonly type: 'ready'; readonly addresses: StandInAddresses }
  | { readonly type: 'counts'; readonly id: number; readonly counts: Counts }
  | { readonly type: 'failed'; readonly message: string };
