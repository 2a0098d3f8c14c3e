/**
 * The packed library in a user's app on the lowest aws-cdk-lib it accepts (its peerDependencies floor) and on
 * the newest one published, each installed from the npm registry with cdk-nag (the project's version) as the
 * app's validation plugin, as a user adds it: every construct synthesizes, with zero unacknowledged cdk-nag
 * findings, and every function runs on the latest Node.js runtime that aws-cdk-lib names, which is the one
 * cdk-nag's AwsSolutions-L1 asks for (issue 16, items 2 and 3).
 *
 * Needs the npm registry (the newest version is looked up when the test runs). The project's own aws-cdk-lib is
 * covered offline by consumer-app.test.ts.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ts from 'typescript';
import { ROOT, constructsOf, readAssembly } from './assembly';
import { registryApp } from './offline-install';

const run = promisify(execFile);
const library = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const installedVersion = (name: string): string =>
  JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;

/** npm with the project's environment minus what `npm test` exports about the project (npm_package_*, ...). */
const npmEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) || /^npm_config_(cache|registry)$/i.test(name)),
);

/** `^2.269.0` → `2.269.0`: the lowest version the library accepts. */
const FLOOR = /^\^(\d+\.\d+\.\d+)$/.exec(library.peerDependencies['aws-cdk-lib'])?.[1];
const NEWEST = execFileSync('npm', ['view', 'aws-cdk-lib', 'version'], { env: npmEnv, encoding: 'utf8' }).trim();

interface Outcome {
  readonly installed: string;
  readonly status: number;
  readonly output: string;
  readonly outdir: string;
  /** cdk-nag's latest Node.js runtime in the app's aws-cdk-lib (its AwsSolutions-L1 rule: `Runtime.ALL`, by version). */
  readonly latestNode: string;
  /** The README's quick start, as written, run in the same app with cdk-nag added. */
  readonly quickStart: { readonly status: number; readonly output: string; readonly outdir: string };
}

/**
 * The README's quick start as a user pastes it into the app, compiled to JavaScript as their TypeScript build would
 * (type-checked against the library by readme.test.ts), then cdk-nag added the way the README's Install section
 * says it is tested, and the app synthesized.
 */
function quickStartProgram(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const quickStart = readme.match(/\n## Quick start\n[\s\S]*?```ts\n([\s\S]*?)```/)?.[1];
  if (quickStart === undefined) throw new Error('README: no TypeScript example under "## Quick start"');
  const withCdkNag = `${quickStart}
import { Validations as ValidationsForTest } from 'aws-cdk-lib';
import { AwsSolutionsChecks as AwsSolutionsChecksForTest } from 'cdk-nag';
ValidationsForTest.of(app).addPlugins(new AwsSolutionsChecksForTest());
app.synth();
`;
  return ts.transpileModule(withCdkNag, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
}

const work = mkdtempSync(join(tmpdir(), 'pf-cdk-versions-'));
const binDir = join(work, 'bin');
const outcomes = new Map<string, Outcome>();

/** The version before the floor: tried with the peer range overridden (npm would refuse it), to show why it is the floor. */
function previousVersion(version: string): string {
  const versions: string[] = JSON.parse(
    execFileSync('npm', ['view', 'aws-cdk-lib', 'versions', '--json'], { env: npmEnv, encoding: 'utf8' }),
  );
  return versions[versions.indexOf(version) - 1];
}

async function tryVersion(tarball: string, version: string, overridePeerRange = false): Promise<Outcome> {
  const appDir = join(work, `app-${version}`);
  mkdirSync(appDir);
  const packageJson = registryApp(`purpleflea-app-cdk-${version}`, tarball, {
    awsCdkLib: version,
    constructs: library.devDependencies.constructs,
    cdkNag: installedVersion('cdk-nag'),
  });
  writeFileSync(join(appDir, 'package.json'), JSON.stringify(packageJson, null, 2));
  copyFileSync(join(__dirname, 'consumer-app', 'app.js'), join(appDir, 'app.js'));
  const force = overridePeerRange ? ['--legacy-peer-deps'] : [];
  await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', ...force], { cwd: appDir, env: npmEnv });

  // node alone on the PATH, nothing inherited.
  const env = { PATH: binDir, HOME: work };
  const node = join(binDir, 'node');
  const installed = JSON.parse(readFileSync(join(appDir, 'node_modules', 'aws-cdk-lib', 'package.json'), 'utf8')).version;
  const latestNode = (
    await run(
      node,
      [
        '-e',
        "const { Runtime } = require('aws-cdk-lib/aws-lambda'); console.log(Runtime.ALL.map((r) => r.name).filter((n) => n.startsWith('nodejs'))" +
          ".sort((a, b) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' })).pop())",
      ],
      { cwd: appDir, env },
    )
  ).stdout.trim();
  const outdir = join(appDir, 'cdk.out');
  writeFileSync(join(appDir, 'quick-start.js'), quickStartProgram());
  const quickStartOut = join(appDir, 'quick-start.out');
  const quickStart = await runNode(node, ['quick-start.js'], appDir, { ...env, CDK_OUTDIR: quickStartOut });
  const everyConstruct = await runNode(node, ['app.js', outdir, '--cdk-nag'], appDir, env);
  return { installed, ...everyConstruct, outdir, latestNode, quickStart: { ...quickStart, outdir: quickStartOut } };
}

async function runNode(node: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ status: number; output: string }> {
  try {
    const { stdout } = await run(node, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
    return { status: 0, output: stdout };
  } catch (error: any) {
    return { status: error.code ?? 1, output: `${error.stdout}\n${error.stderr}` };
  }
}

const VERSIONS = [...new Set([FLOOR!, NEWEST])];
const BELOW_FLOOR = previousVersion(FLOOR!);
let belowFloor: Outcome;

beforeAll(async () => {
  expect(FLOOR).toBeDefined();
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, env: npmEnv, encoding: 'utf8' }),
  );
  mkdirSync(binDir);
  symlinkSync(process.execPath, join(binDir, 'node'));
  // The installs wait on the network: side by side.
  const tarball = join(work, packed.filename);
  const results = await Promise.all([...VERSIONS.map((version) => tryVersion(tarball, version)), tryVersion(tarball, BELOW_FLOOR, true)]);
  VERSIONS.forEach((version, i) => outcomes.set(version, results[i]));
  belowFloor = results[VERSIONS.length];
}, 480_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(VERSIONS)('an app on aws-cdk-lib %s, with cdk-nag', (version) => {
  const outcome = () => outcomes.get(version)!;

  test('installs that version (the peer range accepts it)', () => {
    expect(outcome().installed).toBe(version);
  });

  test('synthesizes every construct, with cdk-nag as a validation plugin and zero unacknowledged findings', () => {
    const { status, output } = outcome();
    if (status !== 0) throw new Error(`synth failed (${status}):\n${output.slice(-4000)}`);
    const lines = output.trim().split('\n');
    expect(JSON.parse(lines.find((line) => line.startsWith('{"cdkNagFindings"'))!)).toEqual({ cdkNagFindings: [] });
    const used: { [stack: string]: string[] } = JSON.parse(lines.pop()!);
    const all = constructsOf(readAssembly()).map((c) => c.name);
    expect([...new Set(Object.values(used).flat())].sort()).toEqual([...all].sort());
  });

  test("the README's quick start, as written, synthesizes with cdk-nag: one function, on the latest runtime, in dry-run mode", () => {
    const { status, output, outdir } = outcome().quickStart;
    if (status !== 0) throw new Error(`the quick start failed (${status}):\n${output.slice(-4000)}`);
    const functions = readdirSync(outdir)
      .filter((file) => file.endsWith('.template.json'))
      .flatMap((file) => Object.values<any>(JSON.parse(readFileSync(join(outdir, file), 'utf8')).Resources))
      .filter((resource) => resource.Type === 'AWS::Lambda::Function');
    expect(functions.map((f) => f.Properties.Runtime)).toEqual([outcome().latestNode]);
    expect(functions[0].Properties.Environment.Variables.DRY_RUN).toBe('true');
  });

  test("every function runs on the latest Node.js runtime of that aws-cdk-lib (cdk-nag's AwsSolutions-L1)", () => {
    const { outdir, latestNode } = outcome();
    expect(latestNode).toMatch(/^nodejs\d+\.x$/);
    const runtimes = readdirSync(outdir)
      .filter((file) => file.endsWith('.template.json'))
      .flatMap((file) => Object.values<any>(JSON.parse(readFileSync(join(outdir, file), 'utf8')).Resources))
      .filter((resource) => resource.Type === 'AWS::Lambda::Function')
      .map((resource) => resource.Properties.Runtime);
    expect(runtimes.length).toBeGreaterThan(0);
    expect(new Set(runtimes)).toEqual(new Set([latestNode]));
  });
});

test('the floor is what the library needs: on the version before it (peer range overridden), synth fails', () => {
  // README, Install: aws-cdk-lib 2.268.0's Validations.acknowledge rejects cdk-nag's id of a finding on one wildcard
  // resource (`AwsSolutions-IAM5[Resource::<arn>]`): it takes the "::" inside the brackets for a second prefix.
  expect(FLOOR).toBe('2.269.0');
  expect(belowFloor.installed).toBe('2.268.0');
  expect(belowFloor.status).not.toBe(0);
  expect(belowFloor.output).toContain("InvalidValidationId» Invalid validation rule ID 'AwsSolutions-IAM5[Resource::");
});
