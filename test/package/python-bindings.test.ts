/**
 * The Python package jsii-pacmak generates from the assembly (source only: wheels need PyPI): every
 * public type is a class of the module, each construct and struct takes each of its props as a keyword
 * argument, and the Python examples of the README and docs/ parse and use only names that exist in it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeBlocks, documentationPages } from '../support/docs-pages';
import { Assembly, ROOT, constructsOf, pythonName, readAssembly, structProperties } from './assembly';

/** Class name → member name → parameter names, as python_api.py describes the generated module. */
type PythonApi = { [className: string]: { [member: string]: string[] } };
type PythonUse = { line: number; class: string; member?: string; keywords?: string[] };

const HELPER = join(__dirname, 'python_api.py');
const PYTHON_MODULE: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).jsii.targets.python.module;
/** The Python examples of the README and of every page under docs/. */
const README_PYTHON = documentationPages().flatMap((page) => codeBlocks(page, 'python').map((block) => block.code));

const assembly: Assembly = readAssembly();
const publicTypes = Object.values(assembly.types);
const constructs = constructsOf(assembly);
let outdir: string;
let api: PythonApi;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'pf-pacmak-'));
  execFileSync(join(ROOT, 'node_modules', '.bin', 'jsii-pacmak'), ['--code-only', '--target', 'python', '--outdir', outdir], {
    cwd: ROOT,
    // pacmak embeds the npm package with `npm pack`; the library is built already, so no prepack build.
    env: { ...process.env, npm_config_ignore_scripts: 'true' },
    stdio: 'pipe',
  });
  const modulePath = join(outdir, 'python', 'src', PYTHON_MODULE, '__init__.py');
  api = JSON.parse(execFileSync('python3', [HELPER, 'describe', modulePath], { encoding: 'utf8' }));
}, 120_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function usesOf(code: string): { error?: string; uses?: PythonUse[] } {
  return JSON.parse(execFileSync('python3', [HELPER, 'uses', PYTHON_MODULE], { input: code, encoding: 'utf8' }));
}

/** What a snippet uses from the module that the generated module does not have. */
function problemsOf(code: string): string[] {
  const result = usesOf(code);
  if (result.error) return [`does not parse: ${result.error}`];
  const problems: string[] = [];
  for (const use of result.uses ?? []) {
    const members = api[use.class];
    const where = `line ${use.line}`;
    if (!members) {
      problems.push(`${where}: ${PYTHON_MODULE} has no class ${use.class}`);
    } else if (use.member && !(use.member in members)) {
      problems.push(`${where}: ${use.class} has no ${use.member === '__init__' ? 'constructor' : `member ${use.member}`}`);
    } else if (use.member) {
      for (const keyword of use.keywords ?? []) {
        if (!members[use.member].includes(keyword)) problems.push(`${where}: ${use.class}.${use.member} takes no keyword ${keyword}`);
      }
    }
  }
  return problems;
}

describe('the generated Python package', () => {
  test('holds the five constructs the library started with (the assembly is read correctly)', () => {
    expect(constructs.map((c) => c.name)).toEqual(
      expect.arrayContaining(['PurpleFleaConnection', 'PredictToTrade', 'TrainingBonusEscrow', 'BatchPayout', 'FraudHoldEscrow']),
    );
  });

  test('has a class for every public type of the assembly (constructs, props, structs, enums)', () => {
    expect(publicTypes.length).toBeGreaterThan(0);
    const missing = publicTypes.filter((type) => !(type.name in api)).map((type) => type.fqn);
    expect(missing).toEqual([]);
  });

  test.each(constructs.map((c) => [c.name, c] as const))(
    '%s takes the scope, the id and each of its props as keyword arguments',
    (_name, construct) => {
      expect(construct.props).toBeDefined();
      const expected = ['scope', 'id', ...structProperties(assembly, construct.props!).map((p) => pythonName(p.name))];
      expect(api[construct.name]?.__init__).toEqual(expect.arrayContaining(expected));
    },
  );

  const structs = publicTypes.filter((type) => type.datatype);
  test.each(structs.map((s) => [s.name, s] as const))(
    'the %s struct takes each of its properties as a keyword argument',
    (_name, struct) => {
      const expected = structProperties(assembly, struct).map((p) => pythonName(p.name));
      expect(api[struct.name]?.__init__).toEqual(expect.arrayContaining(expected));
    },
  );

  const enums = publicTypes.filter((type) => type.kind === 'enum');
  test.each(enums.map((e) => [e.name, e] as const))('the %s enum has each of its members', (_name, enumType) => {
    expect(Object.keys(api[enumType.name] ?? {})).toEqual(expect.arrayContaining((enumType.members ?? []).map((m) => m.name)));
  });
});

describe("the documentation's Python examples", () => {
  test('exist, one constructing each construct', () => {
    const notShown = constructs.filter(
      (c) => !README_PYTHON.some((code) => (usesOf(code).uses ?? []).some((use) => use.class === c.name && use.member === '__init__')),
    );
    expect(notShown.map((c) => c.name)).toEqual([]);
  });

  test('a misused name is caught (the check itself can fail)', () => {
    const code = [
      `from ${PYTHON_MODULE} import PredictToTrade, NoSuchConstruct`,
      'trader = PredictToTrade(stack, "Trader", connection=connection, endpoint_name="e", endpointName="camelCase")',
      'trader.no_such_property',
      'def broken(:',
    ];
    expect(problemsOf(code.slice(0, 3).join('\n'))).toEqual([
      `line 1: ${PYTHON_MODULE} has no class NoSuchConstruct`,
      'line 2: PredictToTrade.__init__ takes no keyword endpointName',
      'line 3: PredictToTrade has no member no_such_property',
    ]);
    expect(problemsOf(code.join('\n'))).toEqual([expect.stringMatching(/^does not parse: line 4/)]);
  });

  test.each(README_PYTHON.map((code, index) => [index + 1, code] as const))(
    'example %d parses and uses only classes, members and keyword arguments the Python module has',
    (_index, code) => {
      expect(problemsOf(code)).toEqual([]);
    },
  );
});
