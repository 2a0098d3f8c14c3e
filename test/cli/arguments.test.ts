/** The operator command's argument checks and JSON output, without a process: every mistake is a usage error naming it. */
import { MAX_RESOLUTION_TEXT, parseInvocation, parseSince, UsageError } from '../../cli/src/arguments';
import { toJson } from '../../cli/src/format';

const table = ['--table', 'Ledger'];

test.each([
  ['an empty --status', ['list', '--status', ',', ...table], '--status names no state'],
  [
    'an unknown --status',
    ['list', '--status', 'DONE', ...table],
    "--status must be one of CLAIMED, SENDING, SUCCEEDED, REJECTED, UNKNOWN, got 'DONE'",
  ],
  [
    'an unknown --kind',
    ['list', '--kind', 'payment', ...table],
    "--kind must be one of trade, escrow, payout, hold, release, dispute, agent, faucet, domain, got 'payment'",
  ],
  ['--output-key with --table', ['list', '--output-key', 'Other', ...table], '--output-key goes with --stack only'],
  [
    'a --reason too long to keep',
    ['resolve', 'v1:trade:x', '--as', 'not-executed', '--reason', 'x'.repeat(MAX_RESOLUTION_TEXT + 1), ...table],
    `--reason is ${MAX_RESOLUTION_TEXT + 1} characters: at most ${MAX_RESOLUTION_TEXT}`,
  ],
  [
    'a --reference too long to keep',
    ['resolve', 'v1:trade:x', '--as', 'succeeded', '--reference', 'r'.repeat(MAX_RESOLUTION_TEXT + 1), '--reason', 'found', ...table],
    `--reference is ${MAX_RESOLUTION_TEXT + 1} characters`,
  ],
  ['--secret without --check', ['show', 'v1:trade:x', '--secret', 'S', ...table], '--secret is only for show --check'],
  ['--check on list', ['list', '--check', ...table], '--check is only for show --check'],
  ['--check without --secret', ['show', 'v1:trade:x', '--check', ...table], '--check needs --secret'],
  [
    'a plain-http service URL that is not loopback',
    ['show', 'v1:trade:x', '--check', '--secret', 'S', '--casino-url', 'http://casino.example.com', ...table],
    '--casino-url must be https (http only for a loopback host)',
  ],
])('%s is refused', (_label, argv, message) => {
  expect(() => parseInvocation(argv)).toThrow(UsageError);
  expect(() => parseInvocation(argv)).toThrow(message);
});

test.each([
  [['lsit'], 'lsit'],
  [['lsit', ...table], 'lsit'],
  [['--stack', 'S', 'shwo', 'v1:trade:x'], 'shwo'],
])('a mistyped command (%j) is named as one, before any missing option, with the commands', (argv, typed) => {
  expect(() => parseInvocation(argv)).toThrow(UsageError);
  expect(() => parseInvocation(argv)).toThrow(`unknown command '${typed}': use list, show, resolve or release (--help for the usage)`);
});

test('no command is a usage error that asks for the whole usage, with or without options', () => {
  for (const argv of [[], table]) {
    let error: unknown;
    try {
      parseInvocation(argv);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ message: 'no command: give list, show, resolve or release', withUsage: true });
  }
});

test('--version and --help need no command, table or credentials; --help wins over --version', () => {
  expect(parseInvocation(['--version']).command).toEqual({ name: 'version' });
  expect(parseInvocation(['list', '--version']).command).toEqual({ name: 'version' });
  expect(parseInvocation(['--help', '--version']).command).toEqual({ name: 'help' });
  expect(parseInvocation(['help']).command).toEqual({ name: 'help' });
});

test('a kind is matched whatever its case, and the stack output key is kept for --stack', () => {
  expect(parseInvocation(['list', '--kind', 'Payout', ...table]).command).toMatchObject({ name: 'list', kind: 'payout' });
  expect(parseInvocation(['list', '--stack', 'S', '--output-key', 'Ledger'])).toMatchObject({ stack: 'S', outputKey: 'Ledger' });
});

test('--since: a date and time without a zone is UTC, like the ledger; a duration counts back from now', () => {
  const now = new Date('2026-11-29T12:00:00Z');
  expect(parseSince('2026-11-28T09:30', now).toISOString()).toBe('2026-11-28T09:30:00.000Z');
  expect(parseSince('2026-11-28T09:30:00+01:00', now).toISOString()).toBe('2026-11-28T08:30:00.000Z');
  expect(parseSince('2026-11-28', now).toISOString()).toBe('2026-11-28T00:00:00.000Z');
  expect(parseSince('90m', now).toISOString()).toBe('2026-11-29T10:30:00.000Z');
});

test("JSON output shows a cap counter's released resolutions (a DynamoDB string set) as an array", () => {
  expect(JSON.parse(toJson({ releasedForResolutions: new Set(['r1', 'r2']) }))).toEqual({ releasedForResolutions: ['r1', 'r2'] });
});

test("show --check: the public hosts and the connection's field names by default; each can be given", () => {
  expect(parseInvocation(['show', 'v1:trade:x', '--check', '--secret', 'S', ...table]).command).toEqual({
    name: 'show',
    actionKey: 'v1:trade:x',
    check: {
      secret: 'S',
      tradingSecret: undefined,
      keyField: 'key',
      tradingKeyField: 'trading_key',
      escrowUrl: 'https://escrow.purpleflea.com',
      casinoUrl: 'https://casino.purpleflea.com',
      tradingUrl: 'https://trading.purpleflea.com',
    },
  });
  const argv = [
    'show',
    'k',
    '--check',
    '--secret',
    'S',
    '--trading-secret',
    'T',
    '--key-field',
    'casino',
    '--trading-url',
    'http://127.0.0.1:9/',
  ];
  expect(parseInvocation([...argv, ...table]).command).toMatchObject({
    check: { tradingSecret: 'T', keyField: 'casino', tradingUrl: 'http://127.0.0.1:9' },
  });
});
