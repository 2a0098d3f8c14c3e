import { parseArgs } from 'node:util';
import { REFERENCE_FIELD_BY_KIND } from '../../lib/private/contracts/action-keys';
import { LEDGER_STATES, RESOLVE_AS, ResolveAs } from './ledger-operator';
import { DEFAULT_SERVICE_URLS } from './lost-answer-check';
import { DEFAULT_GATEWAY_URL, RELEASABLE_KINDS } from './escrow-release';
import type { LedgerState } from '../../lib/private/contracts/ledger-schema';

export const USAGE = `usage: purpleflea-ledger <command> [options]
       purpleflea-ledger --help | --version

Where the ledger is (one of):
  --table <name>           the ledger table's name
  --stack <name>           read it from the stack's output (--output-key, default LedgerTableName)
  --region <region>        default: the AWS SDK's (AWS_REGION, your profile)

Commands:
  list [--status UNKNOWN[,SENDING...]] [--kind trade|escrow|payout|hold|release|dispute|agent|faucet] [--since <ISO date | 30m | 24h | 7d>] [--scan] [--json]
       --status UNKNOWN and/or SENDING alone reads the attention index (cost: those records); anything
       else, or --scan (finds records from version 0.1.0, before the index), scans the whole table (cost: its size)
  show <action key> [--json]
  show <action key> --check --secret <arn or name> [--trading-secret <arn or name>] [--json]
       services profile, UNKNOWN records: asks the services' read routes which escrow, payment or position
       may be the action's, and how sure each match is (exact, likely, possible); resolves nothing.
       Reads the secret (secretsmanager:GetSecretValue). Also: --key-field (default key),
       --trading-key-field (default trading_key), --escrow-url, --casino-url, --trading-url (default the public hosts)
  resolve <action key> --as succeeded --reference <Purple Flea id> --reason <text> [--json]
  resolve <action key> --as not-executed --reason <text> [--json]
  release <v1:hold:... | v1:escrow:... action key> --reason <text> --secret <arn or name> [--json]
       releases the escrow of a SUCCEEDED hold or bonus escrow once, through the ledger (v1:release:<escrow id>),
       with who (your IAM ARN) and why recorded; a second release reports the recorded one and sends nothing.
       Calls Purple Flea's escrow release route (and GET /escrow/{id} after a 409) with the connection's key:
       needs secretsmanager:GetSecretValue on the secret and dynamodb:UpdateItem on the release records.
       Also: --key-field (default key), --escrow-url (services), --base-url (gateway) (default the public hosts)

Credentials are the AWS SDK's default chain (environment, profile, SSO, instance role).`;

/** The longest --reason or --reference kept on a record: every resolution stays on it for good. */
export const MAX_RESOLUTION_TEXT = 1_000;

/** A mistake in the command line: exit code 2, with the usage hint. */
export class UsageError extends Error {
  override readonly name = 'UsageError';

  /** @param withUsage print the whole usage after the message (no command at all: the operator needs the list). */
  constructor(
    message: string,
    readonly withUsage = false,
  ) {
    super(message);
  }
}

/** The commands, as the usage lists them. */
export const COMMANDS = ['list', 'show', 'resolve', 'release'] as const;
const COMMAND_CHOICE = `${COMMANDS.slice(0, -1).join(', ')} or ${COMMANDS[COMMANDS.length - 1]}`;

export type Command =
  | { readonly name: 'help' }
  | { readonly name: 'version' }
  | { readonly name: 'list'; readonly states?: LedgerState[]; readonly kind?: string; readonly since?: Date; readonly scan: boolean }
  | { readonly name: 'show'; readonly actionKey: string; readonly check?: CheckArguments }
  | { readonly name: 'resolve'; readonly actionKey: string; readonly as: ResolveAs; readonly reason: string; readonly reference?: string }
  | { readonly name: 'release'; readonly actionKey: string; readonly reason: string; readonly purpleFlea: ReleaseArguments };

/** `show --check`: where the services are and which secret holds their keys. */
export interface CheckArguments {
  readonly secret: string;
  readonly tradingSecret?: string;
  readonly keyField: string;
  readonly tradingKeyField: string;
  readonly escrowUrl: string;
  readonly casinoUrl: string;
  readonly tradingUrl: string;
}

/**
 * `release`: where Purple Flea is and which secret holds the connection's key (the options' names are `show
 * --check`'s). The creation record's request tells the profile; each URL is that profile's.
 */
export interface ReleaseArguments {
  readonly secret: string;
  readonly keyField: string;
  /** The services profile's escrow host. */
  readonly escrowUrl: string;
  /** The gateway's base URL. */
  readonly baseUrl: string;
}

const CHECK_OPTIONS = ['secret', 'trading-secret', 'key-field', 'trading-key-field', 'escrow-url', 'casino-url', 'trading-url'] as const;
/** The options `release` takes of those, and its own. */
const RELEASE_OPTIONS = ['secret', 'key-field', 'escrow-url', 'base-url'] as const;
/** What `onlyFor` names for an option that more than one command takes. */
const SHARED_OPTION_COMMANDS: { readonly [option: string]: string } = {
  'secret': 'show --check and release',
  'key-field': 'show --check and release',
  'escrow-url': 'show --check and release',
  'reason': 'resolve and release',
};

export interface Invocation {
  readonly command: Command;
  readonly table?: string;
  readonly stack?: string;
  readonly outputKey: string;
  readonly region?: string;
  readonly json: boolean;
}

export function parseInvocation(argv: readonly string[], now: Date = new Date()): Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        'table': { type: 'string' },
        'stack': { type: 'string' },
        'output-key': { type: 'string', default: 'LedgerTableName' },
        'region': { type: 'string' },
        'status': { type: 'string', multiple: true },
        'kind': { type: 'string' },
        'since': { type: 'string' },
        'json': { type: 'boolean', default: false },
        'scan': { type: 'boolean' },
        'as': { type: 'string' },
        'reference': { type: 'string' },
        'reason': { type: 'string' },
        'check': { type: 'boolean' },
        'secret': { type: 'string' },
        'trading-secret': { type: 'string' },
        'key-field': { type: 'string' },
        'trading-key-field': { type: 'string' },
        'escrow-url': { type: 'string' },
        'casino-url': { type: 'string' },
        'trading-url': { type: 'string' },
        'base-url': { type: 'string' },
        'help': { type: 'boolean', short: 'h', default: false },
        'version': { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    // node's messages name the option; keep them, on one line.
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  const { values, positionals } = parsed;
  const common = { table: values.table, stack: values.stack, outputKey: values['output-key'], region: values.region, json: values.json };
  const [name, ...rest] = positionals;
  if (values.help || name === 'help') return { ...common, command: { name: 'help' } };
  if (values.version) return { ...common, command: { name: 'version' } };
  if (name === undefined) throw new UsageError(`no command: give ${COMMAND_CHOICE}`, true);
  // Before the other checks: a mistyped command is named as such, not as the option it lacks.
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown command '${name}': use ${COMMAND_CHOICE} (--help for the usage)`);
  }
  if (values.table !== undefined && values.stack !== undefined) throw new UsageError('give --table or --stack, not both');
  if (values.table === undefined && values.stack === undefined) {
    throw new UsageError('no ledger table: give --table <name> or --stack <name> (the stack output LedgerTableName names it)');
  }
  if (values.table !== undefined && argv.some((arg) => arg === '--output-key' || arg.startsWith('--output-key='))) {
    throw new UsageError('--output-key goes with --stack only');
  }

  const onlyFor = (option: string, commands: string) => {
    if ((values as { [option: string]: unknown })[option] !== undefined)
      throw new UsageError(`--${option} is only for ${SHARED_OPTION_COMMANDS[option] ?? commands}`);
  };
  const oneKey = () => {
    if (rest.length !== 1) throw new UsageError(`${name} takes one action key, got ${rest.length}`);
    return rest[0];
  };

  switch (name) {
    case 'list': {
      if (rest.length) throw new UsageError(`list takes no arguments, got '${rest.join(' ')}'`);
      ['check', ...CHECK_OPTIONS].forEach((option) => onlyFor(option, 'show --check'));
      ['as', 'reference', 'reason'].forEach((option) => onlyFor(option, 'resolve'));
      onlyFor('base-url', 'release');
      return {
        ...common,
        command: {
          name: 'list',
          states: values.status === undefined ? undefined : parseStates(values.status),
          kind: values.kind === undefined ? undefined : parseKind(values.kind),
          since: values.since === undefined ? undefined : parseSince(values.since, now),
          scan: values.scan === true,
        },
      };
    }
    case 'show':
      ['as', 'reference', 'reason'].forEach((option) => onlyFor(option, 'resolve'));
      ['status', 'kind', 'since', 'scan'].forEach((option) => onlyFor(option, 'list'));
      onlyFor('base-url', 'release');
      if (values.check === undefined) {
        CHECK_OPTIONS.forEach((option) => onlyFor(option, 'show --check'));
        return { ...common, command: { name: 'show', actionKey: oneKey() } };
      }
      return { ...common, command: { name: 'show', actionKey: oneKey(), check: parseCheck(values) } };
    case 'resolve': {
      ['status', 'kind', 'since', 'scan'].forEach((option) => onlyFor(option, 'list'));
      ['check', ...CHECK_OPTIONS].forEach((option) => onlyFor(option, 'show --check'));
      onlyFor('base-url', 'release');
      const actionKey = oneKey();
      if (values.as === undefined) throw new UsageError(`resolve needs --as ${RESOLVE_AS.join(' or --as ')}`);
      if (!RESOLVE_AS.includes(values.as as ResolveAs))
        throw new UsageError(`--as must be ${RESOLVE_AS.map((as) => `'${as}'`).join(' or ')}, got '${values.as}'`);
      const as = values.as as ResolveAs;
      if (values.reason === undefined || !values.reason.trim())
        throw new UsageError('resolve needs --reason <text>: why you decided it (kept on the record)');
      if (as === 'succeeded' && (values.reference === undefined || !values.reference.trim())) {
        throw new UsageError('--as succeeded needs --reference <id>: the Purple Flea id of the order, escrow or transfer that was made');
      }
      if (as === 'not-executed' && values.reference !== undefined) throw new UsageError('--reference goes with --as succeeded only');
      for (const option of ['reason', 'reference'] as const) {
        const length = values[option]?.trim().length ?? 0;
        if (length > MAX_RESOLUTION_TEXT) throw new UsageError(`--${option} is ${length} characters: at most ${MAX_RESOLUTION_TEXT}`);
      }
      return { ...common, command: { name: 'resolve', actionKey, as, reason: values.reason.trim(), reference: values.reference?.trim() } };
    }
    case 'release': {
      ['status', 'kind', 'since', 'scan'].forEach((option) => onlyFor(option, 'list'));
      ['as', 'reference'].forEach((option) => onlyFor(option, 'resolve'));
      ['check', ...CHECK_OPTIONS.filter((option) => !(RELEASE_OPTIONS as readonly string[]).includes(option))].forEach((option) =>
        onlyFor(option, 'show --check'),
      );
      const actionKey = oneKey().trim();
      releasableKey(actionKey);
      if (values.reason === undefined || !values.reason.trim())
        throw new UsageError('release needs --reason <text>: why you release it (kept on the release record)');
      const length = values.reason.trim().length;
      if (length > MAX_RESOLUTION_TEXT) throw new UsageError(`--reason is ${length} characters: at most ${MAX_RESOLUTION_TEXT}`);
      const secret = optionText(values, 'secret');
      if (secret === undefined) {
        throw new UsageError(
          "release needs --secret <arn or name>: the connection's Purple Flea key secret (the release is sent with its key)",
        );
      }
      const purpleFlea: ReleaseArguments = {
        secret,
        keyField: optionText(values, 'key-field') ?? 'key',
        escrowUrl: serviceUrl(values, 'escrow-url', DEFAULT_SERVICE_URLS.escrow),
        baseUrl: serviceUrl(values, 'base-url', DEFAULT_GATEWAY_URL),
      };
      return { ...common, command: { name: 'release', actionKey, reason: values.reason.trim(), purpleFlea } };
    }
    default:
      // Refused above; kept so that a new command cannot be forgotten here.
      throw new UsageError(`unknown command '${name}'`);
  }
}

type OptionValues = { readonly [option: string]: string | boolean | string[] | undefined };

/**
 * `release`'s key: a hold's or a bonus escrow's (whose SUCCEEDED record names the escrow and its amount). A
 * release's own key is refused too: it names no amount and no creation to check, and `show` shows it.
 */
function releasableKey(actionKey: string): void {
  const kind = /^v1:([^:]+):./.exec(actionKey)?.[1];
  const kinds = RELEASABLE_KINDS.map((releasable) => `v1:${releasable}:...`).join(' or ');
  if (kind === 'release') {
    throw new UsageError(
      `'${actionKey}' is a release's own key: give the key of the hold or the bonus escrow it releases (${kinds}); show it with show`,
    );
  }
  if (kind === undefined || !(RELEASABLE_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`release takes a hold's or a bonus escrow's action key (${kinds}), got '${actionKey}'`);
  }
}

function optionText(values: OptionValues, option: string): string | undefined {
  const value = values[option];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !value.trim()) throw new UsageError(`--${option} needs a value`);
  return value.trim();
}

/** A service's URL, without trailing slashes: https, or http to a loopback host. */
function serviceUrl(values: OptionValues, option: string, fallback: string): string {
  const value = (optionText(values, option) ?? fallback).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new UsageError(`--${option} must be a URL, got '${value}'`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    throw new UsageError(`--${option} must be https (http only for a loopback host), got '${value}'`);
  }
  return value;
}

function parseCheck(values: OptionValues): CheckArguments {
  const text = (option: string) => optionText(values, option);
  const secret = text('secret');
  if (secret === undefined) {
    throw new UsageError(
      "--check needs --secret <arn or name>: the connection's Purple Flea key secret (it reads the services with those keys)",
    );
  }
  const url = (option: string, fallback: string) => serviceUrl(values, option, fallback);
  return {
    secret,
    tradingSecret: text('trading-secret'),
    keyField: text('key-field') ?? 'key',
    tradingKeyField: text('trading-key-field') ?? 'trading_key',
    escrowUrl: url('escrow-url', DEFAULT_SERVICE_URLS.escrow),
    casinoUrl: url('casino-url', DEFAULT_SERVICE_URLS.casino),
    tradingUrl: url('trading-url', DEFAULT_SERVICE_URLS.trading),
  };
}

function parseStates(options: string[]): LedgerState[] {
  const states = options
    .flatMap((option) => option.split(','))
    .map((state) => state.trim().toUpperCase())
    .filter(Boolean);
  if (states.length === 0) throw new UsageError(`--status names no state: give one or more of ${LEDGER_STATES.join(', ')}`);
  for (const state of states) {
    if (!LEDGER_STATES.includes(state as LedgerState))
      throw new UsageError(`--status must be one of ${LEDGER_STATES.join(', ')}, got '${state}'`);
  }
  return states as LedgerState[];
}

function parseKind(text: string): string {
  const kind = text.trim().toLowerCase();
  const kinds = Object.keys(REFERENCE_FIELD_BY_KIND);
  if (!kinds.includes(kind)) throw new UsageError(`--kind must be one of ${kinds.join(', ')}, got '${text}'`);
  return kind;
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(m|h|d|w)$/i;
const UNIT_MS: { [unit: string]: number } = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * An ISO date (`2026-11-28`, `2026-11-28T12:00:00Z`) or a duration back from now (`30m`, `24h`, `7d`, `2w`).
 * A date and time without a zone is UTC, as the ledger's times are (JavaScript would take it as local time).
 */
export function parseSince(text: string, now: Date): Date {
  const duration = DURATION.exec(text.trim());
  if (duration) return new Date(now.getTime() - Number(duration[1]) * UNIT_MS[duration[2].toLowerCase()]);
  const utc = /T[\d:.]+$/.test(text) ? `${text}Z` : text;
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(Date.parse(utc))) return new Date(Date.parse(utc));
  throw new UsageError(`--since must be an ISO date (2026-11-28, 2026-11-28T12:00:00Z) or a duration (30m, 24h, 7d, 2w), got '${text}'`);
}
