/**
 * One source per default. Each construct keeps its defaults in one constant of lib/private/defaults.ts, which
 * its constructor and validation read; here each prop's `@default` (as jsii compiled it into `.jsii`) and the
 * props tables of the construct pages (docs/constructs/) are checked against those constants. Changing a default in one place and not the
 * others fails here, naming the construct and the prop.
 *
 * How a default is written (see lib/private/defaults.ts):
 *
 * | in the constant                     | JSDoc `@default`                  | README props table                  |
 * | ----------------------------------- | --------------------------------- | ----------------------------------- |
 * | `orderAmountUsdc: 50`               | `50`                              | `` `50` ``                          |
 * | `asset: 'BTC-USDC'`                 | `'BTC-USDC'`                      | `` `BTC-USDC` ``                    |
 * | `maxSignalAgeMinutes: 5` (Duration) | `Duration.minutes(5)`             | `` `Duration.minutes(5)` ``         |
 * | `logRetention: 'THREE_MONTHS'`      | `logs.RetentionDays.THREE_MONTHS` | `` `logs.RetentionDays.THREE_MONTHS` `` |
 * | `modelOutput: 'json'` (a class)     | `ModelOutputFormat.json()`        | `` `ModelOutputFormat.json()` ``    |
 * | not in the constant                 | `- <what happens>`                | words, not a value (`no cap`, `–`)  |
 *
 * A few descriptions name a value of the constants (`every 5 minutes`, the bonus tiers, the functions' memory):
 * DESCRIBED below says what each must contain.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BonusTier, PredictToTrade, PurpleFleaConnection, PurpleFleaDashboard, TrainingBonusEscrow } from '../../lib';
import {
  BATCH_FUNCTION_DEFAULTS,
  BATCH_PAYOUT_DEFAULTS,
  BATCH_RUN_DEFAULTS,
  FRAUD_HOLD_ESCROW_DEFAULTS,
  HANDLER_FUNCTION_DEFAULTS,
  MODEL_OUTPUT_DEFAULTS,
  PREDICT_TO_TRADE_DEFAULTS,
  PURPLEFLEA_API_DEFAULTS,
  PURPLEFLEA_CONNECTION_DEFAULTS,
  PURPLEFLEA_DASHBOARD_DEFAULTS,
  TRAINING_BONUS_ESCROW_DEFAULTS,
  MODEL_AGENTS_DEFAULTS,
  TRADING_PNL_DEFAULTS,
} from '../../lib/private/defaults';
import { Assembly, AssemblyProperty, AssemblyType, ROOT, constructsOf, readAssembly, structProperties } from '../package/assembly';
import { constructPage, documentationPages, readConstructPage, readPage } from '../support/docs-pages';

type Defaults = { readonly [key: string]: unknown };

/** Each construct of the assembly and its constant; a new construct must join. */
const DEFAULTS_OF: { readonly [construct: string]: Defaults } = {
  PurpleFleaConnection: PURPLEFLEA_CONNECTION_DEFAULTS,
  PredictToTrade: PREDICT_TO_TRADE_DEFAULTS,
  TrainingBonusEscrow: TRAINING_BONUS_ESCROW_DEFAULTS,
  BatchPayout: { ...BATCH_RUN_DEFAULTS, ...BATCH_PAYOUT_DEFAULTS },
  FraudHoldEscrow: { ...BATCH_RUN_DEFAULTS, ...FRAUD_HOLD_ESCROW_DEFAULTS },
  PurpleFleaDashboard: PURPLEFLEA_DASHBOARD_DEFAULTS,
  ModelAgents: MODEL_AGENTS_DEFAULTS,
  TradingPnl: TRADING_PNL_DEFAULTS,
};

const minutes = (n: number) => `${n} minute${n === 1 ? '' : 's'}`;
const tiers = (list: readonly BonusTier[]) => list.map((t) => `above ${t.threshold.toFixed(2)} → ${t.amountUsdc} USDC`).join(', ');

/** What a description must contain, in the JSDoc and in the README (`both` for the same words in each). */
interface Described {
  readonly jsdoc?: string;
  readonly readme?: string;
  readonly both?: string;
  /** Keys of the constant it is made from that are not the prop's own. */
  readonly uses?: readonly string[];
}

const singleFunction: Described = { both: `${HANDLER_FUNCTION_DEFAULTS.memorySizeMb} MB, ${HANDLER_FUNCTION_DEFAULTS.timeoutSeconds} s` };
const batchFunctions: Described = {
  both:
    `${minutes(BATCH_FUNCTION_DEFAULTS.prepareAndSummarizeTimeoutMinutes)} and ${BATCH_FUNCTION_DEFAULTS.prepareAndSummarizeMemorySizeMb} MB for Prepare and Summarize, ` +
    `${minutes(BATCH_FUNCTION_DEFAULTS.timeoutMinutes)} and ${HANDLER_FUNCTION_DEFAULTS.memorySizeMb} MB for `,
};

/** Defaults whose docs describe them in words that name values of the constants. */
const DESCRIBED: { readonly [constructDotProp: string]: Described } = {
  'PredictToTrade.schedule': { both: `every ${minutes(PREDICT_TO_TRADE_DEFAULTS.scheduleRateMinutes)}`, uses: ['scheduleRateMinutes'] },
  'PredictToTrade.functionOptions': singleFunction,
  'TrainingBonusEscrow.bonusTiers': { both: tiers(TRAINING_BONUS_ESCROW_DEFAULTS.bonusTiers) },
  'TrainingBonusEscrow.functionOptions': singleFunction,
  'ModelAgents.functionOptions': singleFunction,
  'TradingPnl.schedule': { both: `every ${minutes(TRADING_PNL_DEFAULTS.scheduleRateMinutes)}`, uses: ['scheduleRateMinutes'] },
  'TradingPnl.functionOptions': singleFunction,
  // One JSDoc (BatchRunProps) for both batch constructs.
  'BatchPayout.outputPrefix': {
    jsdoc: `'${BATCH_PAYOUT_DEFAULTS.outputPrefix}' for BatchPayout`,
    readme: `\`${BATCH_PAYOUT_DEFAULTS.outputPrefix}\``,
  },
  'BatchPayout.functionOptions': batchFunctions,
  'FraudHoldEscrow.outputPrefix': {
    jsdoc: `'${FRAUD_HOLD_ESCROW_DEFAULTS.outputPrefix}' for FraudHoldEscrow`,
    readme: `\`${FRAUD_HOLD_ESCROW_DEFAULTS.outputPrefix}\``,
  },
  'FraudHoldEscrow.functionOptions': batchFunctions,
};

const DURATION_UNITS = ['Seconds', 'Minutes', 'Hours', 'Days'] as const;

/** A prop's entry in its constant: under its own name, or for a Duration, its name and its unit. */
function entryOf(defaults: Defaults, prop: AssemblyProperty): { key: string; value: unknown } | undefined {
  const keys = prop.type.fqn === 'aws-cdk-lib.Duration' ? DURATION_UNITS.map((unit) => `${prop.name}${unit}`) : [prop.name];
  const key = keys.find((k) => k in defaults);
  return key === undefined ? undefined : { key, value: defaults[key] };
}

/** A type as the library's code names it: `logs.RetentionDays` (aws-cdk-lib/aws-logs as `logs`), `MetricGoal`. */
function typeName(fqn: string): string {
  const [, ...rest] = fqn.split('.');
  return rest.map((part) => part.replace(/^aws_/, '')).join('.');
}

/** A default as JSDoc writes it: the TypeScript expression that gives it. */
function jsdocForm(assembly: Assembly, prop: AssemblyProperty, key: string, value: unknown): string {
  const fqn = prop.type.fqn;
  if (fqn === 'aws-cdk-lib.Duration') return `Duration.${key.slice(prop.name.length).toLowerCase()}(${value})`;
  if (fqn !== undefined) {
    if (typeof value !== 'string') {
      throw new Error(`${prop.name}: a default of type ${fqn} is written as the name of its member or factory`);
    }
    // A class of the library: its static factory, called without arguments; an enum: its member.
    return assembly.types[fqn]?.kind === 'class' ? `${typeName(fqn)}.${value}()` : `${typeName(fqn)}.${value}`;
  }
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

/** A default as the README's props tables write it: in code font, a string without its quotes. */
function readmeForm(assembly: Assembly, prop: AssemblyProperty, key: string, value: unknown): string {
  const plainString = prop.type.primitive === 'string' && typeof value === 'string';
  return `\`${plainString ? value : jsdocForm(assembly, prop, key, value)}\``;
}

/** The construct's own page (docs/constructs/), which holds its props table. */
function sectionOf(name: string): string {
  return readConstructPage(name);
}

/** The rows of a construct's props table (`| prop | default | |`), each prop with its row. */
function tableRows(name: string): Map<string, string> {
  const lines = sectionOf(name).split('\n');
  const header = lines.findIndex((line) => /^\| prop \| default \|/.test(line));
  if (header === -1) throw new Error(`${constructPage(name)}: no props table`);
  const rows = new Map<string, string>();
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const names = [...line.split('|')[1].matchAll(/`(\w+)`/g)].map((m) => m[1]);
    for (const prop of names) rows.set(prop, line);
  }
  return rows;
}

/**
 * Each prop's cell in the default column. A row of several props gives one default each, separated by ", ",
 * or `as \`Other\``, which is the other construct's cell for the same prop.
 */
function readmeDefaults(name: string): Map<string, string> {
  const cells = new Map<string, string>();
  for (const [prop, line] of tableRows(name)) {
    const [, propsCell, defaultCell] = line.split('|').map((cell) => cell.trim());
    const names = [...propsCell.matchAll(/`(\w+)`/g)].map((m) => m[1]);
    const other = defaultCell.match(/^as `(\w+)`$/)?.[1];
    if (other !== undefined) {
      const cell = readmeDefaults(other).get(prop);
      if (cell === undefined) throw new Error(`README: ${name}'s ${prop} is "as ${other}", whose table has no ${prop}`);
      cells.set(prop, cell);
      continue;
    }
    const values = names.length === 1 ? [defaultCell] : defaultCell.split(', ');
    if (values.length !== names.length) throw new Error(`README: ${name}'s row of ${names.join(', ')} gives ${values.length} defaults`);
    cells.set(prop, values[names.indexOf(prop)]);
  }
  return cells;
}

/** A README cell that is a value in code font, not words. */
const CODE_VALUE = /^`[^`]*`$/;

const assembly = readAssembly();
const constructs = constructsOf(assembly);

test('every construct of the assembly has a constant of defaults', () => {
  expect(constructs.map((c) => c.name).filter((name) => DEFAULTS_OF[name] === undefined)).toEqual([]);
});

describe.each(constructs.map((c) => [c.name, c] as const))('%s', (name, construct) => {
  const defaults = DEFAULTS_OF[name] ?? {};
  const props = construct.props ? structProperties(assembly, construct.props).filter((p) => p.optional) : [];

  test.each(props.map((p) => [p.name, p] as const))("%s: its @default and its README row give the constant's default", (propName, prop) => {
    const jsdoc = prop.docs?.default;
    const cell = readmeDefaults(name).get(propName);
    if (cell === undefined) throw new Error(`README: ${name}'s props table has no row for ${propName}`);
    const described = DESCRIBED[`${name}.${propName}`];
    const entry = entryOf(defaults, prop);

    if (described !== undefined) {
      expect(jsdoc).toContain(described.jsdoc ?? described.both);
      expect(cell).toContain(described.readme ?? described.both);
    } else if (entry !== undefined) {
      expect({ '@default': jsdoc, 'README': cell }).toEqual({
        '@default': jsdocForm(assembly, prop, entry.key, entry.value),
        'README': readmeForm(assembly, prop, entry.key, entry.value),
      });
    } else {
      // No value default: the docs say what happens instead (jsii's "- " form; words in the README).
      expect(jsdoc).toMatch(/^- /);
      expect(cell).not.toMatch(CODE_VALUE);
    }
  });

  test("its constant holds nothing but its props' defaults", () => {
    const used = new Set(
      Object.entries(DESCRIBED)
        .filter(([key]) => key.startsWith(`${name}.`))
        .flatMap(([, d]) => d.uses ?? []),
    );
    const propKeys = new Set(props.map((p) => entryOf(defaults, p)?.key));
    expect(Object.keys(defaults).filter((key) => !propKeys.has(key) && !used.has(key))).toEqual([]);
  });
});

describe('ModelOutputFormat', () => {
  const options = ['JsonModelOutputOptions', 'CsvModelOutputOptions']
    .map((struct) => assembly.types[`${assembly.name}.${struct}`])
    .flatMap((struct: AssemblyType) => struct.properties ?? []);
  const modelOutputRow = tableRows('PredictToTrade').get('modelOutput') ?? '';

  test.each(options.map((p) => [p.name, p] as const))("%s: its @default and the README give the constant's default", (propName, prop) => {
    const value = (MODEL_OUTPUT_DEFAULTS as Defaults)[propName];
    expect(value).toBeDefined();
    const written = jsdocForm(assembly, prop, propName, value);
    expect(prop.docs?.default).toBe(written);
    // PredictToTrade's modelOutput row spells the factories out: `json({ directionField: 'direction', ... })`.
    expect(modelOutputRow).toContain(`${propName}: ${written}`);
  });

  test("its constant holds nothing but the options' defaults", () => {
    expect(Object.keys(MODEL_OUTPUT_DEFAULTS).sort()).toEqual(options.map((p) => p.name).sort());
  });
});

describe('PurpleFleaApi', () => {
  const options = ['GatewayApiOptions', 'ServicesApiOptions']
    .map((struct) => assembly.types[`${assembly.name}.${struct}`])
    .flatMap((struct: AssemblyType) => struct.properties ?? []);
  /** The options table of the page on the two API profiles (`| option | default | |`). */
  const profiles = readPage('docs/api-profiles.md');
  const optionRows = new Map(
    profiles
      .split('\n')
      .filter((line) => /^\| `\w+` \|/.test(line))
      .map((line) => line.split('|').map((cell) => cell.trim()))
      .map(([, option, cell]) => [option.replace(/`/g, ''), cell] as const),
  );

  test.each(options.map((p) => [p.name, p] as const))("%s: its @default and the README give the constant's default", (propName, prop) => {
    const value = (PURPLEFLEA_API_DEFAULTS as Defaults)[propName];
    expect(value).toBeDefined();
    expect({ '@default': prop.docs?.default, 'README': optionRows.get(propName) }).toEqual({
      '@default': jsdocForm(assembly, prop, propName, value),
      'README': readmeForm(assembly, prop, propName, value),
    });
  });

  test("its constant holds nothing but the options' defaults", () => {
    expect(Object.keys(PURPLEFLEA_API_DEFAULTS).sort()).toEqual(options.map((p) => p.name).sort());
  });

  test("the gateway's default base URL is the connection's", () => {
    expect(PURPLEFLEA_API_DEFAULTS.baseUrl).toBe(PURPLEFLEA_CONNECTION_DEFAULTS.baseUrl);
  });
});

describe('the public DEFAULT_ statics', () => {
  const docsOf = (type: string, member: string) =>
    assembly.types[`${assembly.name}.${type}`].properties?.find((p) => p.name === member)?.docs?.summary ?? '';

  test('are the constants, and say so in their docs', () => {
    expect(PredictToTrade.DEFAULT_SCHEDULE_RATE.toMinutes()).toBe(PREDICT_TO_TRADE_DEFAULTS.scheduleRateMinutes);
    expect(docsOf('PredictToTrade', 'DEFAULT_SCHEDULE_RATE')).toContain(`every ${minutes(PREDICT_TO_TRADE_DEFAULTS.scheduleRateMinutes)}`);
    expect(assembly.types[`${assembly.name}.PredictToTrade`].docs?.remarks).toContain(
      `every ${minutes(PREDICT_TO_TRADE_DEFAULTS.scheduleRateMinutes)} by default`,
    );

    expect(PurpleFleaDashboard.DEFAULT_PERIOD.toMinutes()).toBe(PURPLEFLEA_DASHBOARD_DEFAULTS.periodMinutes);
    expect(docsOf('PurpleFleaDashboard', 'DEFAULT_PERIOD')).toContain(minutes(PURPLEFLEA_DASHBOARD_DEFAULTS.periodMinutes));

    expect(TrainingBonusEscrow.DEFAULT_BONUS_TIERS).toEqual(TRAINING_BONUS_ESCROW_DEFAULTS.bonusTiers);
    expect(docsOf('TrainingBonusEscrow', 'DEFAULT_BONUS_TIERS')).toContain(tiers(TRAINING_BONUS_ESCROW_DEFAULTS.bonusTiers));

    expect(PurpleFleaConnection.DEFAULT_BASE_URL).toBe(PURPLEFLEA_CONNECTION_DEFAULTS.baseUrl);
  });
});

test("the documentation's prose gives the same defaults as the constants: `prop` (value)", () => {
  const prose = documentationPages().map(readPage).join('\n');
  // Each prop's default as the README writes it, when every construct that has the prop agrees on it.
  const written = new Map<string, string | null>();
  for (const { name, props } of constructs) {
    for (const prop of props ? structProperties(assembly, props) : []) {
      const entry = entryOf(DEFAULTS_OF[name] ?? {}, prop);
      if (entry === undefined || DESCRIBED[`${name}.${prop.name}`] !== undefined) continue;
      const form = readmeForm(assembly, prop, entry.key, entry.value);
      written.set(prop.name, written.has(prop.name) && written.get(prop.name) !== form ? null : form);
    }
  }
  const propNames = new Set(constructs.flatMap((c) => (c.props ? structProperties(assembly, c.props) : []).map((p) => p.name)));
  const mentions = [...prose.matchAll(/`(\w+)` \((?:default )?(`[^`]+`|[\d][\d.,]*)\)/g)]
    // Not `maxPayoutPerAgentUsdc` (`maxHoldUsdc`): a prop beside another.
    .filter(([, prop, value]) => written.get(prop) && !propNames.has(value.replace(/`/g, '')));
  expect(mentions.length).toBeGreaterThan(0);
  const wrong = mentions.filter(([, prop, value]) => {
    const expected = written.get(prop)!;
    // Numbers as numbers: `(0.80)` is 0.8, `(100,000)` is 100000.
    return value.startsWith('`') ? value !== expected : Number(value.replace(/,/g, '')) !== Number(expected.slice(1, -1));
  });
  expect(wrong.map(([mention]) => mention)).toEqual([]);
});

test('no prop default is written in lib/ as a literal: `props.x ?? 50` reads the constant instead', () => {
  const files = readdirSync(join(ROOT, 'lib'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => join('lib', file));
  // A fallback of a prop or an option: a number, a non-empty string, a boolean, a Duration of a number, an enum member.
  const fallback = /\b(?:props|options)(?:\??\.\w+)+\s*\?\?\s*([^,;\n\]]+)/g;
  const literal = /^(?:-?\d|'[^']|"[^"]|`|true\b|false\b|Duration\.\w+\(\s*\d|(?:\w+\.)+(?!DEFAULT_)[A-Z][A-Z0-9_]*\b)/;
  const found = files.flatMap((file) =>
    [...readFileSync(join(ROOT, file), 'utf8').matchAll(fallback)].filter((m) => literal.test(m[1])).map((m) => `${file}: ${m[0]}`),
  );
  expect(found).toEqual([]);
});
