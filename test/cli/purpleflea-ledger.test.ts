import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActionLedger } from '../../lambda/shared/action-ledger';
import { LedgerOperator } from '../../cli/src/ledger-operator';
import { predictToTradeEnvironment, PREDICT_TO_TRADE_METRICS } from '../../lib/private/contracts/predict-to-trade-env';
import {
  TRAINING_BONUS_ESCROW_METRICS,
  trainingBonusEscrowEnvironment,
  TrainingBonusEscrowSettings,
} from '../../lib/private/contracts/training-bonus-escrow-env';
import { createLedgerTable, dynaliteClient, instrumentedDynaliteClient } from '../support/dynalite';
import { FAKE_ACCOUNT_ID, FAKE_CALLER_ARN, FAKE_REGION } from '../support/fake-aws';
import { defaultTradeSettings, TEST_ENDPOINT_NAME } from '../support/handler-settings';
import { ESCROW_CREATE_PATH, TRADING_ORDER_PATH } from '../support/purpleflea-sandbox';
import {
  captureOutput,
  Harness,
  handlerEnvironment,
  lambdaContext,
  LEDGER_TABLE,
  loadBundledHandler,
  readLedger,
  startHarness,
} from '../lambda/handler-harness';
import { cliRunner, CliRun } from './cli-runner';

type Handler = (event: unknown, context: unknown) => Promise<{ status: string; [key: string]: any }>;

let harness: Harness;
let cli: ReturnType<typeof cliRunner>;
let output: ReturnType<typeof captureOutput>;
let dynamoClient: DynamoDBClient;
let counter = 0;

const escrowSettings: TrainingBonusEscrowSettings = {
  metricName: 'validation:accuracy',
  metricGoal: 'MAXIMIZE',
  bonusTiers: [{ threshold: 0.9, amountUsdc: 50 }],
  maxBonusUsdc: 1000,
  buyerAgentId: 'agt_platform_treasury',
  sellerTemplate: 'agt_model_{jobName}',
  conditionTemplate: 'model_owner_approved:{jobName}',
  eventBusName: 'default',
  dryRun: false,
  enabled: true,
};

/** A finished training job that earns a bonus, and its state-change event. */
function completedJob() {
  const name = `cli-job-${++counter}-${Date.now()}`;
  const arn = `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:training-job/${name}`;
  harness.aws.setTrainingJob(name, {
    TrainingJobStatus: 'Completed',
    FinalMetricDataList: [{ MetricName: 'validation:accuracy', Value: 0.95 }],
  });
  const event = {
    'version': '0',
    'id': `evt-${counter}`,
    'detail-type': 'SageMaker Training Job State Change',
    'source': 'aws.sagemaker',
    'account': FAKE_ACCOUNT_ID,
    'time': new Date().toISOString(),
    'region': FAKE_REGION,
    'resources': [arn],
    'detail': { TrainingJobName: name, TrainingJobArn: arn, TrainingJobStatus: 'Completed' },
  };
  return { event, actionKey: `v1:escrow:${arn}` };
}

const ledgerAt = (tableName: string, now: () => number = Date.now) => new ActionLedger({ tableName, client: dynamoClient, now });
const escrows = () => harness.sandbox.committed(ESCROW_CREATE_PATH);
const onLedger = (...args: string[]) => [...args, '--table', LEDGER_TABLE];

/** An action whose answer was lost, written straight into `tableName` the way the money path leaves it. */
async function unknownAction(tableName = LEDGER_TABLE, actionKey = `v1:payout:bucket/scores.csv:etag:agt_${++counter}`): Promise<string> {
  const held = await ledgerAt(tableName).claim(actionKey, {
    state: 'SENDING',
    leaseMs: 60_000,
    request: { to_agent: 'agt_x', amount: 12.5 },
    amountUsdc: 12.5,
  });
  if (!held.claimed) throw new Error('expected a claim');
  await ledgerAt(tableName).recordOutcome(actionKey, held.claimToken, 'UNKNOWN', { error: 'no_answer: socket hang up' });
  return actionKey;
}

/** The command failed with exactly one line on stderr, containing `text`. */
function expectOneLineError(run: CliRun, text: string, code = 1) {
  expect(run.stdout).toBe('');
  expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining(text)]);
  expect(run.stderr).toMatch(/^purpleflea-ledger: /);
  expect(run.code).toBe(code);
}

beforeAll(async () => {
  harness = await startHarness();
  cli = cliRunner({ dynamo: harness.dynamo.endpoint, aws: harness.aws.url });
  dynamoClient = dynaliteClient(harness.dynamo.endpoint);
});
afterAll(async () => {
  dynamoClient.destroy();
  await harness.close();
});
beforeEach(() => {
  harness.sandbox.reset();
  output = captureOutput();
});
afterEach(() => output.restore());

describe('resolving what a lost answer left UNKNOWN, with the bundled escrow handler', () => {
  let handler: Handler;
  beforeAll(() => {
    const env = {
      ...handlerEnvironment(harness, trainingBonusEscrowEnvironment(escrowSettings)),
      POWERTOOLS_SERVICE_NAME: TRAINING_BONUS_ESCROW_METRICS.serviceName,
    };
    handler = loadBundledHandler<{ handler: Handler }>('training-bonus-escrow', env).handler;
  });

  test('not-executed: the same event then sends exactly one request, and only one', async () => {
    const job = completedJob();
    // The connection drops after the request went out, before Purple Flea committed anything.
    harness.sandbox.injectFaults(ESCROW_CREATE_PATH, { kind: 'reset-before-commit' });
    expect((await handler(job.event, lambdaContext())).status).toBe('UNKNOWN');
    expect(await handler(job.event, lambdaContext())).toMatchObject({ status: 'UNKNOWN', repeated: true });
    expect(harness.sandbox.calls).toHaveLength(1);
    expect(escrows()).toHaveLength(0);

    const listed = await cli(onLedger('list', '--status', 'UNKNOWN', '--kind', 'escrow', '--json'));
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toContainEqual(
      expect.objectContaining({ actionKey: job.actionKey, state: 'UNKNOWN', kind: 'escrow', amountUsdc: 50 }),
    );

    const resolved = await cli(
      onLedger('resolve', job.actionKey, '--as', 'not-executed', '--reason', 'no escrow for this job in the treasury history'),
    );
    expect(resolved).toMatchObject({ code: 0, stderr: '' });
    expect(resolved.stdout).toContain(`resolved ${job.actionKey} as not-executed: now REJECTED`);

    const callsBefore = harness.sandbox.calls.length;
    expect(await handler(job.event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', repeated: false });
    expect(harness.sandbox.calls.length - callsBefore).toBe(1);
    expect(await handler(job.event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', repeated: true });
    expect(harness.sandbox.calls.length - callsBefore).toBe(1);
    expect(escrows()).toHaveLength(1);
    expect(await readLedger(harness, job.actionKey)).toMatchObject({
      state: 'SUCCEEDED',
      attempts: 2,
      resolutions: [{ as: 'not-executed', by: FAKE_CALLER_ARN, reason: 'no escrow for this job in the treasury history' }],
    });
  });

  test('succeeded: a repeat returns the recorded reference without a call, and announces it once', async () => {
    const job = completedJob();
    // Purple Flea made the escrow, and the answer was lost.
    harness.sandbox.injectFaults(ESCROW_CREATE_PATH, { kind: 'reset-after-commit' });
    expect((await handler(job.event, lambdaContext())).status).toBe('UNKNOWN');
    expect(escrows()).toHaveLength(1);
    const reference = escrows()[0].id;

    const resolved = await cli(
      onLedger(
        'resolve',
        job.actionKey,
        '--as',
        'succeeded',
        '--reference',
        reference,
        '--reason',
        'escrow found for the job at Purple Flea',
      ),
    );
    expect(resolved).toMatchObject({ code: 0, stderr: '' });

    const callsBefore = harness.sandbox.calls.length;
    const announcedBefore = harness.aws.putEvents.length;
    expect(await handler(job.event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', repeated: true, escrowId: reference });
    expect(await handler(job.event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', repeated: true, escrowId: reference });
    expect(harness.sandbox.calls.length).toBe(callsBefore);
    expect(escrows()).toHaveLength(1);
    const announced = harness.aws.putEvents.slice(announcedBefore);
    expect(announced.map((entry) => JSON.parse(entry.Detail!).escrow_id)).toEqual([reference]);
  });
});

describe('resolving gives a daily-cap reservation back, with the bundled trade handler', () => {
  test('not-executed releases the reservation, so the resent order fits a cap it filled', async () => {
    // The cap holds exactly one $50 order: without the release, the resend would be over the cap.
    const settings = defaultTradeSettings({ maxDailyNotionalUsdc: 50, dailyCapScope: `cli-cap-${Date.now()}` });
    const env = {
      ...handlerEnvironment(harness, predictToTradeEnvironment(settings)),
      POWERTOOLS_SERVICE_NAME: PREDICT_TO_TRADE_METRICS.serviceName,
    };
    const handler = loadBundledHandler<{ handler: Handler }>('predict-to-trade', env).handler;
    harness.aws.setEndpointHandler(TEST_ENDPOINT_NAME, () => ({
      body: '{"direction":"long","confidence":0.8}',
      contentType: 'application/json',
    }));
    const event = {
      eventId: `cap-evt-${Date.now()}`,
      eventTime: new Date().toISOString(),
      ruleArn: 'arn:aws:events:us-east-1:123456789012:rule/trader',
      features: {},
    };

    harness.sandbox.injectFaults(TRADING_ORDER_PATH, { kind: 'reset-before-commit' });
    const lost = await handler(event, lambdaContext());
    expect(lost.status).toBe('UNKNOWN');

    const shown = JSON.parse((await cli(onLedger('show', lost.actionKey, '--json'))).stdout);
    expect(shown).toMatchObject({ capCounterKey: expect.stringContaining(settings.dailyCapScope), capReservedCents: 5_000 });

    const resolved = await cli(
      onLedger('resolve', lost.actionKey, '--as', 'not-executed', '--reason', 'no such order in the agent history'),
    );
    expect(resolved.code).toBe(0);
    expect(resolved.stdout).toContain(`gave back 5000 cents reserved on ${shown.capCounterKey}`);

    expect(await handler(event, lambdaContext())).toMatchObject({ status: 'SUCCEEDED', repeated: false });
    expect(harness.sandbox.committed(TRADING_ORDER_PATH)).toHaveLength(1);
    // The cap still holds: the order it now counts fills it.
    expect((await handler({ ...event, eventId: `${event.eventId}-next` }, lambdaContext())).status).toBe('INVALID');
  });
});

describe('an interrupted release of the reservation', () => {
  test('not-executed again finishes it, saying the resolution was already recorded; a third run is refused', async () => {
    const actionKey = `v1:trade:arn:aws:events:us-east-1:123456789012:rule/trader:evt-${++counter}`;
    const cap = { counterKey: `v1:daily-notional:cli-interrupted-${counter}:2026-11-28`, cents: 5_000 };
    const held = await ledgerAt(LEDGER_TABLE).claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request: {}, amountUsdc: 50, cap });
    if (!held.claimed) throw new Error('expected a claim');
    await ledgerAt(LEDGER_TABLE).reserve({ ...cap, id: held.claimToken }, 100_000);
    await ledgerAt(LEDGER_TABLE).recordOutcome(actionKey, held.claimToken, 'UNKNOWN', { error: 'no_answer: socket hang up' });
    // An earlier run wrote the resolution, and its release on the counter failed.
    const dave = 'arn:aws:sts::123456789012:assumed-role/Operators/dave';
    const flaky = instrumentedDynaliteClient(harness.dynamo.endpoint, cap.counterKey);
    try {
      await expect(
        new LedgerOperator({ tableName: LEDGER_TABLE, client: flaky.client }).resolve(actionKey, {
          as: 'not-executed',
          reason: 'no such order',
          by: dave,
        }),
      ).rejects.toThrow('socket hang up');
    } finally {
      flaky.client.destroy();
    }
    const resolvedAt = (await readLedger(harness, actionKey))?.resolutions[0].at;
    expect((await readLedger(harness, cap.counterKey))?.reservedCents).toBe(5_000);

    const finished = await cli(onLedger('resolve', actionKey, '--as', 'not-executed', '--reason', 'finishing the release'));
    expect(finished).toMatchObject({ code: 0, stderr: '' });
    expect(finished.stdout.trimEnd().split('\n')).toEqual([
      `${actionKey} was already resolved as not-executed by ${dave} at ${resolvedAt} (it is REJECTED); only the release of its cap reservation was left to do`,
      `gave back 5000 cents reserved on ${cap.counterKey}`,
    ]);
    expect((await readLedger(harness, cap.counterKey))?.reservedCents).toBe(0);

    expectOneLineError(
      await cli(onLedger('resolve', actionKey, '--as', 'not-executed', '--reason', 'once more')),
      `action '${actionKey}' is REJECTED, not UNKNOWN: only UNKNOWN actions can be resolved (resolved as not-executed by ${dave} at ${resolvedAt})`,
    );
    expect((await readLedger(harness, cap.counterKey))?.reservedCents).toBe(0);
    expect((await readLedger(harness, actionKey))?.resolutions).toHaveLength(1);
  });
});

describe('list', () => {
  const TABLE = 'CliListLedger';
  const now = Date.now();
  const hours = (count: number) => now - count * 3_600_000;

  beforeAll(async () => {
    await createLedgerTable(harness.dynamo.endpoint, TABLE);
    const seed = async (
      actionKey: string,
      at: number,
      outcome: 'SUCCEEDED' | 'UNKNOWN' | 'REJECTED',
      response?: { [key: string]: unknown },
    ) => {
      const ledger = ledgerAt(TABLE, () => at);
      const held = await ledger.claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request: {}, amountUsdc: 20 });
      if (!held.claimed) throw new Error('expected a claim');
      await ledger.recordOutcome(actionKey, held.claimToken, outcome, {
        response,
        error: outcome === 'SUCCEEDED' ? undefined : `${outcome.toLowerCase()}: details\non two lines`,
      });
    };
    await seed('v1:trade:arn:aws:events:us-east-1:123456789012:rule/trader:evt-old', hours(240), 'UNKNOWN');
    await seed('v1:escrow:arn:aws:sagemaker:us-east-1:123456789012:training-job/job-a', hours(2), 'UNKNOWN');
    await seed('v1:payout:scores/run.csv:etag1:agt_alice', hours(1), 'SUCCEEDED', { transfer_id: 'tx_77' });
    await seed('v1:hold:txn-9', hours(1), 'REJECTED');
    // A cap counter is not an action.
    await ledgerAt(TABLE).reserve({ counterKey: 'v1:daily-notional:Trader:2026-11-28', cents: 5_000, id: 'reservation-1' }, 100_000);
  });

  const list = (...args: string[]) => cli(['list', '--table', TABLE, ...args]);
  const keys = async (...args: string[]) =>
    (JSON.parse((await list(...args, '--json')).stdout) as { actionKey: string }[]).map(
      (action) => action.actionKey.split(':')[1] + ':' + action.actionKey.split(':').at(-1),
    );

  test('a table by default: a header, one aligned row per action (key last, whole), and a count', async () => {
    const run = await list();
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^UPDATED\s+STATE\s+KIND\s+USDC\s+ATTEMPTS\s+REFERENCE\s+ERROR\s+ACTION KEY$/);
    expect(lines).toHaveLength(1 + 4 + 1);
    expect(lines.at(-1)).toMatch(/^4 actions \(scanned the whole table: \d+ items read\)$/);
    const payout = lines.find((line) => line.includes('agt_alice'))!;
    expect(payout).toMatch(/SUCCEEDED\s+payout\s+20\s+1\s+tx_77\s+v1:payout:scores\/run\.csv:etag1:agt_alice$/);
    // Errors are flattened to one line, so a row stays a row.
    expect(lines.find((line) => line.includes('job-a'))).toContain('unknown: details on two lines');
    // Every row's key starts in the header's ACTION KEY column.
    const keyColumn = lines[0].indexOf('ACTION KEY');
    for (const line of lines.slice(1, -1)) expect(line.slice(keyColumn)).toMatch(/^v1:/);
    expect(run.stdout).not.toContain('daily-notional');
  });

  test('--status UNKNOWN reads the attention index (it says so, with the items read); --scan reads the whole table', async () => {
    const indexed = await list('--status', 'UNKNOWN');
    expect(indexed).toMatchObject({ code: 0, stderr: '' });
    expect(indexed.stdout.trimEnd().split('\n').at(-1)).toBe('2 actions (from the attention index: 2 items read)');
    const scanned = await list('--status', 'UNKNOWN', '--scan');
    expect(scanned.stdout.trimEnd().split('\n').at(-1)).toMatch(/^2 actions \(scanned the whole table: [5-9]\d* items read\)$/);
    expect((await cli(['show', 'v1:hold:txn-9', '--table', TABLE, '--scan'])).stderr).toContain('--scan is only for list');
  });

  test('JSON: the same actions as data', async () => {
    const actions = JSON.parse((await list('--json')).stdout);
    expect(actions).toHaveLength(4);
    expect(actions).toContainEqual({
      actionKey: 'v1:payout:scores/run.csv:etag1:agt_alice',
      kind: 'payout',
      state: 'SUCCEEDED',
      leaseExpired: false,
      amountUsdc: 20,
      attempts: 1,
      reference: 'tx_77',
      createdAt: new Date(hours(1)).toISOString(),
      updatedAt: new Date(hours(1)).toISOString(),
    });
  });

  test('filters: --status (repeatable, comma-separated, any case), --kind, --since as a duration or an ISO date', async () => {
    expect(await keys('--status', 'UNKNOWN')).toEqual(['trade:evt-old', 'escrow:training-job/job-a']);
    expect(await keys('--status', 'unknown,rejected', '--kind', 'hold')).toEqual(['hold:txn-9']);
    // Changed at the same time: ordered by key.
    expect(await keys('--status', 'SUCCEEDED', '--status', 'REJECTED')).toEqual(['hold:txn-9', 'payout:agt_alice']);
    expect(await keys('--status', 'UNKNOWN', '--since', '24h')).toEqual(['escrow:training-job/job-a']);
    expect(await keys('--since', new Date(hours(1.5)).toISOString())).toHaveLength(2);
    expect(await keys('--kind', 'trade', '--since', '30m')).toEqual([]);
    expect((await list('--kind', 'trade', '--since', '30m')).stdout).toMatch(
      /^no actions match \(scanned the whole table: \d+ items read\)\n$/,
    );
  });

  test('bad filters are usage errors (exit 2) that name the value', async () => {
    expectOneLineError(
      await list('--status', 'LOST'),
      "--status must be one of CLAIMED, SENDING, SUCCEEDED, REJECTED, UNKNOWN, got 'LOST'",
      2,
    );
    expectOneLineError(
      await list('--since', 'yesterday'),
      "--since must be an ISO date (2026-11-28, 2026-11-28T12:00:00Z) or a duration (30m, 24h, 7d, 2w), got 'yesterday'",
      2,
    );
  });
});

describe('show', () => {
  test('the record, its request, and its history through the resolution, as text and as JSON', async () => {
    const actionKey = await unknownAction();
    harness.aws.setCallerIdentity('arn:aws:sts::123456789012:assumed-role/Operators/carol');
    try {
      expect(
        (
          await cli(
            onLedger(
              'resolve',
              actionKey,
              '--as',
              'succeeded',
              '--reference',
              'tx_555',
              '--reason',
              'transfer seen in the recipient history',
            ),
          )
        ).code,
      ).toBe(0);
    } finally {
      harness.aws.setCallerIdentity(FAKE_CALLER_ARN);
    }

    const text = await cli(onLedger('show', actionKey));
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(new RegExp(`^action\\s+${actionKey.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
    expect(text.stdout).toMatch(/^state\s+SUCCEEDED$/m);
    expect(text.stdout).toMatch(/^amount\s+12\.5 USDC$/m);
    expect(text.stdout).toContain('"to_agent": "agt_x"');
    expect(text.stdout).toContain('"transfer_id": "tx_555"');
    const history = text.stdout.split('\nhistory\n')[1].split('\nresolutions\n')[0].split('\n');
    expect(history).toEqual([
      expect.stringMatching(/^ {2}\S+Z {2}claim\s+SENDING$/),
      expect.stringMatching(/^ {2}\S+Z {2}record-outcome\s+UNKNOWN\s+no_answer: socket hang up$/),
      expect.stringMatching(
        /^ {2}\S+Z {2}resolve\s+SUCCEEDED\s+by arn:aws:sts::123456789012:assumed-role\/Operators\/carol; reference tx_555; reason: transfer seen in the recipient history$/,
      ),
    ]);
    expect(text.stdout).toMatch(
      /resolutions\n {2}\S+Z {2}succeeded \(reference tx_555\) by arn:aws:sts::123456789012:assumed-role\/Operators\/carol: transfer seen in the recipient history\n$/,
    );

    const json = JSON.parse((await cli(onLedger('show', actionKey, '--json'))).stdout);
    expect(json).toMatchObject({
      actionKey,
      state: 'SUCCEEDED',
      request: { to_agent: 'agt_x', amount: 12.5 },
      response: { transfer_id: 'tx_555' },
      history: [
        { state: 'SENDING' },
        { state: 'UNKNOWN', error: 'no_answer: socket hang up' },
        { event: 'resolve', state: 'SUCCEEDED', reference: 'tx_555' },
      ],
      resolutions: [
        { as: 'succeeded', by: 'arn:aws:sts::123456789012:assumed-role/Operators/carol', previousError: 'no_answer: socket hang up' },
      ],
    });
  });
});

describe('finding 9: text output escapes control characters from records', () => {
  const TABLE = 'CliControlCharactersLedger';
  const ESC = '\x1b';
  /** A row that erases itself (CR, ESC[2K) and prints a fake SUCCEEDED line (LF) instead. */
  const FAKE_ROW = `\r${ESC}[2K2026-11-28T09:15:12.000Z  SUCCEEDED  payout  12.5  1  tx_fake`;
  const forgedKey = `v1:payout:scores/run.csv:etag:agt_mallory${FAKE_ROW}\n2026-11-28T09:15:13.000Z  SUCCEEDED  payout  8.4  1  tx_fake2  v1:payout:x`;
  const bidiKey = 'v1:hold:txn-\u202eredlof\u202c-\u2028-\u2029-\u2066x\u2069-\u200f';
  /** Ends with printable text that stays as it is: non-ASCII letters, an emoji, a backslash. */
  const c1Key = 'v1:hold:txn-\x9b31m-\x85-\x7f-\tTAB-\x07-é日本🙂\\';
  /** What a terminal may act on: C0 controls but LF (which the output itself uses between lines), DEL, C1, bidi controls, line/paragraph separators. */
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

  /** A text output that a terminal prints as it is. */
  function expectPrintable(text: string) {
    expect(text).not.toMatch(UNSAFE);
  }

  beforeAll(async () => {
    await createLedgerTable(harness.dynamo.endpoint, TABLE);
    const seed = async (
      actionKey: string,
      outcome: 'SUCCEEDED' | 'UNKNOWN',
      details: { response?: { [key: string]: unknown }; error?: string },
    ) => {
      const held = await ledgerAt(TABLE).claim(actionKey, {
        state: 'SENDING',
        leaseMs: 60_000,
        request: { to_agent: `agt_x${ESC}]0;title\x07`, memo: 'a\u202eb\x85c\x7f' },
        amountUsdc: 3,
      });
      if (!held.claimed) throw new Error('expected a claim');
      await ledgerAt(TABLE).recordOutcome(actionKey, held.claimToken, outcome, details);
    };
    await seed(forgedKey, 'UNKNOWN', { error: `internal_error: ${ESC}[1A${ESC}[2Kupstream\rSUCCEEDED\u2028x` });
    await seed(bidiKey, 'SUCCEEDED', { response: { escrow_id: `tx_${ESC}[32mOK\r` } });
    await seed(c1Key, 'UNKNOWN', { error: 'c1: \x9b2K\x85' });
  });

  test('finding 9: list prints one row per record, with every control character escaped visibly', async () => {
    const run = await cli(['list', '--table', TABLE]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expectPrintable(run.stdout);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 3 + 1);
    expect(lines.at(-1)).toMatch(/^3 actions \(scanned the whole table: \d+ items read\)$/);
    // No line but the real row says SUCCEEDED: the forged ones stay inside the forged key, escaped.
    expect(lines.filter((line) => /^\S+Z\s+SUCCEEDED\s/.test(line))).toHaveLength(1);
    const forged = lines.find((line) => line.includes('agt_mallory'))!;
    expect(forged).toMatch(/^\S+Z {2}UNKNOWN /);
    expect(forged).toContain('agt_mallory\\r\\x1b[2K2026-11-28T09:15:12.000Z  SUCCEEDED');
    expect(forged).toContain('tx_fake\\n2026-11-28T09:15:13.000Z');
    expect(forged).toContain('internal_error: \\x1b[1A\\x1b[2Kupstream\\rSUCCEEDED');
    const bidi = lines.find((line) => line.includes('txn-\\u202e'))!;
    expect(bidi).toContain('v1:hold:txn-\\u202eredlof\\u202c-\\u2028-\\u2029-\\u2066x\\u2069-\\u200f');
    expect(bidi).toContain('tx_\\x1b[32mOK\\r');
    expect(lines.find((line) => line.includes('\\x9b31m'))).toMatch(/v1:hold:txn-\\x9b31m-\\x85-\\x7f-\\tTAB-\\x07-é日本🙂\\$/);
    // Every row's key still starts in the header's ACTION KEY column.
    const keyColumn = lines[0].indexOf('ACTION KEY');
    for (const line of lines.slice(1, -1)) expect(line.slice(keyColumn)).toMatch(/^v1:/);
  });

  test('finding 9: --json is unchanged: the values as stored', async () => {
    const actions = JSON.parse((await cli(['list', '--table', TABLE, '--json'])).stdout) as { actionKey: string; reference?: string }[];
    expect(actions.map((action) => action.actionKey).sort()).toEqual([forgedKey, bidiKey, c1Key].sort());
    expect(actions.find((action) => action.actionKey === bidiKey)?.reference).toBe(`tx_${ESC}[32mOK\r`);
    expect(JSON.parse((await cli(['show', bidiKey, '--table', TABLE, '--json'])).stdout)).toMatchObject({
      actionKey: bidiKey,
      request: { memo: 'a\u202eb\x85c\x7f' },
    });
  });

  test('finding 9: show, resolve and their errors escape them too', async () => {
    const reason = `checked${ESC}[2J\rby phone\u2028\u202e`;
    const resolved = await cli([
      'resolve',
      forgedKey,
      '--table',
      TABLE,
      '--as',
      'succeeded',
      '--reference',
      `tx_${ESC}[0m\n9`,
      '--reason',
      reason,
    ]);
    expect(resolved).toMatchObject({ code: 0, stderr: '' });
    expectPrintable(resolved.stdout);
    expect(resolved.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(resolved.stdout).toContain('agt_mallory\\r\\x1b[2K');
    expect(resolved.stdout).toContain('with reference tx_\\x1b[0m\\n9;');

    const shown = await cli(['show', forgedKey, '--table', TABLE]);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expectPrintable(shown.stdout);
    expect(shown.stdout).toMatch(
      /^action {4}v1:payout:scores\/run\.csv:etag:agt_mallory\\r\\x1b\[2K.*\\n2026-11-28T09:15:13\.000Z {2}SUCCEEDED {2}payout.*v1:payout:x$/m,
    );
    expect(shown.stdout).toContain('"memo": "a\\u202eb\\x85c\\x7f"');
    expect(shown.stdout).toContain('"to_agent": "agt_x\\u001b]0;title\\u0007"');
    expect(shown.stdout).toContain('reason: checked\\x1b[2J\\rby phone\\u2028\\u202e');
    expect(shown.stdout).toContain(`by ${FAKE_CALLER_ARN}: checked\\x1b[2J\\rby phone\\u2028\\u202e\n`);
    expectPrintable((await cli(['show', c1Key, '--table', TABLE])).stdout);

    // The one-line error quotes the key: escaped as well.
    const refused = await cli(['resolve', forgedKey, '--table', TABLE, '--as', 'not-executed', '--reason', 'x']);
    expectOneLineError(refused, "action 'v1:payout:scores/run.csv:etag:agt_mallory\\r\\x1b[2K");
    expectPrintable(refused.stderr);
    expect(refused.stderr).toContain(`is SUCCEEDED, not UNKNOWN`);
  });
});

describe('two operators resolving one record at once', () => {
  test('exactly one wins; the other is told the state the first left and who did it', async () => {
    const actionKey = await unknownAction();
    const runs = await Promise.all([
      cli(onLedger('resolve', actionKey, '--as', 'not-executed', '--reason', 'not in the sender history')),
      cli(onLedger('resolve', actionKey, '--as', 'succeeded', '--reference', 'tx_1', '--reason', 'found it')),
    ]);
    expect(runs.map((run) => run.code).sort()).toEqual([0, 1]);
    const loser = runs.find((run) => run.code === 1)!;
    expectOneLineError(loser, `action '${actionKey}' is `);
    expect(loser.stderr).toMatch(
      /is (REJECTED|SUCCEEDED), not UNKNOWN: only UNKNOWN actions can be resolved \(resolved as (not-executed|succeeded) by arn:aws:iam::123456789012:user\/ledger-operator at /,
    );
    expect((await readLedger(harness, actionKey))?.resolutions).toHaveLength(1);
  });
});

describe('the ledger table from a stack output', () => {
  test('--stack reads the LedgerTableName output through CloudFormation; --output-key picks another', async () => {
    const actionKey = await unknownAction();
    await createLedgerTable(harness.dynamo.endpoint, 'CliOtherLedger');
    const elsewhere = await unknownAction('CliOtherLedger');
    harness.aws.setStack('PurpleFleaSample', { LedgerTableName: LEDGER_TABLE, OtherLedger: 'CliOtherLedger' });
    const keysIn = (run: CliRun) => (JSON.parse(run.stdout) as { actionKey: string }[]).map((action) => action.actionKey);
    const fromStack = keysIn(await cli(['list', '--stack', 'PurpleFleaSample', '--status', 'UNKNOWN', '--json']));
    expect(fromStack).toContain(actionKey);
    expect(fromStack).not.toContain(elsewhere);
    expect(keysIn(await cli(['list', '--stack', 'PurpleFleaSample', '--output-key', 'OtherLedger', '--json']))).toEqual([elsewhere]);
    expect(harness.aws.operations).toContain('DescribeStacks');
  });

  test('a stack that does not exist, or has no such output, is named with the region', async () => {
    expectOneLineError(
      await cli(['list', '--stack', 'NoSuchStack']),
      "purpleflea-ledger: stack 'NoSuchStack' not found in region us-east-1",
    );
    harness.aws.setStack('Bare', { BucketName: 'b' });
    expectOneLineError(
      await cli(['list', '--stack', 'Bare']),
      "purpleflea-ledger: stack 'Bare' in region us-east-1 has no output 'LedgerTableName' (its outputs: BucketName); give --output-key or --table",
    );
  });
});

describe('clear errors: one line, non-zero exit, naming the thing', () => {
  test('a table that does not exist, with the region', async () => {
    expectOneLineError(
      await cli(['list', '--table', 'NoSuchLedger']),
      "purpleflea-ledger: ledger table 'NoSuchLedger' not found in region us-east-1",
    );
    expectOneLineError(
      await cli(['show', 'v1:trade:x', '--table', 'NoSuchLedger', '--region', 'eu-west-1']),
      "ledger table 'NoSuchLedger' not found in region eu-west-1",
    );
  });

  test('a key that does not exist', async () => {
    expectOneLineError(
      await cli(onLedger('show', 'v1:payout:nowhere')),
      `purpleflea-ledger: no action 'v1:payout:nowhere' in ledger table '${LEDGER_TABLE}'`,
    );
    expectOneLineError(
      await cli(onLedger('resolve', 'v1:payout:nowhere', '--as', 'not-executed', '--reason', 'x')),
      `no action 'v1:payout:nowhere' in ledger table '${LEDGER_TABLE}'`,
    );
  });

  test('a record that is not UNKNOWN, naming its state; it is left as it was', async () => {
    const actionKey = `v1:payout:bucket/paid.csv:etag:agt_${++counter}`;
    const held = await ledgerAt(LEDGER_TABLE).claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request: {}, amountUsdc: 3 });
    if (!held.claimed) throw new Error('expected a claim');
    await ledgerAt(LEDGER_TABLE).recordOutcome(actionKey, held.claimToken, 'SUCCEEDED', { response: { transfer_id: 'tx_3' } });
    expectOneLineError(
      await cli(onLedger('resolve', actionKey, '--as', 'not-executed', '--reason', 'x')),
      `purpleflea-ledger: action '${actionKey}' is SUCCEEDED, not UNKNOWN: only UNKNOWN actions can be resolved`,
    );
    expect(await readLedger(harness, actionKey)).toMatchObject({ state: 'SUCCEEDED', response: { transfer_id: 'tx_3' } });
  });

  test('usage: no --reason, a bad --as, --as succeeded without --reference, no table (exit 2, nothing written)', async () => {
    const actionKey = await unknownAction();
    expectOneLineError(
      await cli(onLedger('resolve', actionKey, '--as', 'not-executed')),
      'purpleflea-ledger: resolve needs --reason <text>',
      2,
    );
    expectOneLineError(
      await cli(onLedger('resolve', actionKey, '--as', 'not-executed', '--reason', '  ')),
      'resolve needs --reason <text>',
      2,
    );
    expectOneLineError(
      await cli(onLedger('resolve', actionKey, '--as', 'done', '--reason', 'x')),
      "purpleflea-ledger: --as must be 'succeeded' or 'not-executed', got 'done'",
      2,
    );
    expectOneLineError(await cli(onLedger('resolve', actionKey, '--reason', 'x')), 'resolve needs --as succeeded or --as not-executed', 2);
    expectOneLineError(
      await cli(onLedger('resolve', actionKey, '--as', 'succeeded', '--reason', 'x')),
      '--as succeeded needs --reference <id>',
      2,
    );
    expectOneLineError(await cli(['list']), 'purpleflea-ledger: no ledger table: give --table <name> or --stack <name>', 2);
    expectOneLineError(await cli(['resolve', actionKey, '--as', 'not-executed', '--reason', 'x']), 'no ledger table', 2);
    expectOneLineError(await cli(onLedger('list', '--stack', 'PurpleFleaSample')), 'give --table or --stack, not both', 2);
    expectOneLineError(
      await cli(onLedger('resolve', actionKey, '--as', 'not-executed', '--reason', 'x', '--bogus')),
      "Unknown option '--bogus'",
      2,
    );
    expectOneLineError(await cli(onLedger('pay', actionKey)), "unknown command 'pay'", 2);
    expect(await readLedger(harness, actionKey)).toMatchObject({ state: 'UNKNOWN' });
    expect(await readLedger(harness, actionKey)).not.toHaveProperty('resolutions');
  });

  test('--help prints the usage and exits 0', async () => {
    const run = await cli(['--help']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^usage: purpleflea-ledger <command>/);
    expect(run.stdout).toContain('resolve <action key> --as not-executed --reason <text>');
  });
});

describe('the command line itself, before any AWS call', () => {
  test('no arguments: a usage error (exit 2) that names the commands, then the whole usage', async () => {
    const run = await cli([]);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    const lines = run.stderr.split('\n');
    expect(lines[0]).toBe('purpleflea-ledger: no command: give list, show, resolve or release');
    expect(run.stderr).toContain('usage: purpleflea-ledger <command> [options]');
    expect(run.stderr).toContain('resolve <action key> --as not-executed --reason <text>');
  });

  test('a mistyped command is a usage error (exit 2) naming it and the commands, with or without a table', async () => {
    const line = "purpleflea-ledger: unknown command 'lsit': use list, show, resolve or release (--help for the usage)";
    for (const args of [['lsit'], onLedger('lsit')]) {
      const run = await cli(args);
      expect(run).toMatchObject({ code: 2, stdout: '', stderr: `${line}\n` });
    }
  });

  test("--version prints the package's version and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `purpleflea-ledger ${version}\n`, stderr: '' });
  });
});

describe('no credentials or no region: one line that says what to set', () => {
  /** Nothing the SDK's default chain could find: no keys, no profile, no config files, no instance metadata. */
  const noCredentials: NodeJS.ProcessEnv = {
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_CONFIG_FILE: '/nonexistent/purpleflea-test/config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/purpleflea-test/credentials',
    HOME: '/nonexistent/purpleflea-test',
    AWS_EC2_METADATA_DISABLED: 'true',
  };

  test.each([
    [
      'no keys and no profile',
      {},
      'purpleflea-ledger: no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY',
    ],
    [
      'a key id without its secret',
      { AWS_ACCESS_KEY_ID: 'AKIAFAKEFORLOCALTESTS' },
      'purpleflea-ledger: no AWS credentials found: AWS_ACCESS_KEY_ID is set without AWS_SECRET_ACCESS_KEY: set both, or AWS_PROFILE',
    ],
    [
      'a profile that is not there',
      { AWS_PROFILE: 'nowhere' },
      "purpleflea-ledger: no AWS credentials found for profile 'nowhere': check it in your AWS config, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
    ],
  ])('%s (exit 1)', async (_label, environment, line) => {
    for (const args of [onLedger('list'), onLedger('resolve', 'v1:trade:x', '--as', 'not-executed', '--reason', 'x')]) {
      const run = await cli(args, { ...noCredentials, ...environment });
      expect(run).toEqual({ code: 1, stdout: '', stderr: `${line}\n` });
    }
  });

  test('no region (exit 2): AWS_REGION or --region, and a profile that names none is said to', async () => {
    const noRegion = { ...noCredentials, AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined };
    expect(await cli(onLedger('list'), noRegion)).toEqual({
      code: 2,
      stdout: '',
      stderr: 'purpleflea-ledger: no AWS region: set AWS_REGION or pass --region\n',
    });
    expect(await cli(onLedger('list'), { ...noRegion, AWS_PROFILE: 'nowhere' })).toEqual({
      code: 2,
      stdout: '',
      stderr:
        "purpleflea-ledger: no AWS region: set AWS_REGION or pass --region (profile 'nowhere' names none, or is not in your AWS config)\n",
    });
  });
});
