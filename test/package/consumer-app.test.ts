/**
 * A user's view of the package: a separate CDK app in a temporary folder installs the packed tarball
 * (offline, from the npm cache the project's install filled) and synthesizes consumer-app/app.js with
 * plain node, with no esbuild and no Docker to be found: the handlers must come bundled in the package.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, constructsOf, readAssembly } from './assembly';
import { offlineApp } from './offline-install';

const library = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const STACKS = ['RequiredPropsOnly', 'ExistingResources', 'ServicesProfile'];

const work = mkdtempSync(join(tmpdir(), 'pf-consumer-'));
const appDir = join(work, 'app');
const binDir = join(work, 'bin');
const outdir = join(work, 'cdk.out');
const installed = join(appDir, 'node_modules', library.name);
/** What the app's synth runs with: node alone on the PATH, nothing inherited (no NODE_PATH, NODE_OPTIONS). */
const synthEnv = { PATH: binDir, HOME: work };

/** npm with the project's environment minus what `npm test` exports about the project (npm_package_*, ...). */
function npm(args: string[], cwd: string): string {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) || /^npm_config_(cache|registry)$/i.test(name)),
  );
  return execFileSync('npm', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

let usedConstructs: { [stack: string]: string[] };

beforeAll(() => {
  // The build has run (npm test builds first): pack it as it is.
  const [packed] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT));
  const tarball = join(work, packed.filename);

  mkdirSync(appDir);
  const { packageJson, lockfile } = offlineApp('purpleflea-consumer-app', tarball);
  writeFileSync(join(appDir, 'package.json'), JSON.stringify(packageJson, null, 2));
  writeFileSync(join(appDir, 'package-lock.json'), JSON.stringify(lockfile, null, 2));
  copyFileSync(join(__dirname, 'consumer-app', 'app.js'), join(appDir, 'app.js'));
  npm(['ci', '--offline', '--no-audit', '--no-fund'], appDir);

  mkdirSync(binDir);
  symlinkSync(process.execPath, join(binDir, 'node'));
  const output = execFileSync(join(binDir, 'node'), ['app.js', outdir], { cwd: appDir, env: synthEnv, encoding: 'utf8' });
  usedConstructs = JSON.parse(output.trim().split('\n').pop()!);
}, 240_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs a line of JavaScript in the app's folder and environment; its exit status. */
function inApp(code: string): { status: number | null; stderr: string } {
  const result = spawnSync(join(binDir, 'node'), ['-e', code], { cwd: appDir, env: synthEnv, encoding: 'utf8' });
  return { status: result.status, stderr: result.stderr };
}

function template(stack: string): { Resources: { [id: string]: { Type: string; Properties?: any } } } {
  return JSON.parse(readFileSync(join(outdir, `${stack}.template.json`), 'utf8'));
}

/** The folder in the cloud assembly that each Lambda function's code is zipped from, by logical id. */
function functionCodeFolders(stack: string): { [logicalId: string]: string } {
  const manifest = JSON.parse(readFileSync(join(outdir, `${stack}.assets.json`), 'utf8'));
  const folderByObjectKey = new Map<string, string>();
  for (const asset of Object.values<any>(manifest.files)) {
    for (const destination of Object.values<any>(asset.destinations))
      folderByObjectKey.set(destination.objectKey, join(outdir, asset.source.path));
  }
  const folders: { [logicalId: string]: string } = {};
  for (const [id, resource] of Object.entries(template(stack).Resources)) {
    const key = resource.Type === 'AWS::Lambda::Function' ? resource.Properties?.Code?.S3Key : undefined;
    if (typeof key === 'string') folders[id] = folderByObjectKey.get(key) ?? `no asset for ${key}`;
  }
  return folders;
}

/** The handler bundles as installed from the tarball, by content. */
function packagedHandlers(): Map<string, string> {
  const byContent = new Map<string, string>();
  for (const name of readdirSync(join(installed, 'assets'))) {
    byContent.set(readFileSync(join(installed, 'assets', name, 'index.js'), 'utf8'), name);
  }
  return byContent;
}

describe('a CDK app that installs the packed library', () => {
  test('has neither esbuild nor Docker within reach', () => {
    expect(inApp("require.resolve('esbuild')")).toEqual({ status: 1, stderr: expect.stringContaining("Cannot find module 'esbuild'") });
    for (const command of ['docker', 'esbuild']) {
      expect(inApp(`require('node:child_process').execFileSync('${command}', ['--version'])`)).toEqual({
        status: 1,
        stderr: expect.stringContaining('ENOENT'),
      });
    }
  });

  test('installed the library from the tarball (a copy, not a link to the project)', () => {
    expect(lstatSync(installed).isDirectory()).toBe(true);
    expect(JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).version).toBe(library.version);
  });

  test.each(STACKS)('%s uses every construct of the assembly (those of the services only, on the services profile)', (stack) => {
    const servicesOnly = ['ModelAgents', 'TradingPnl'];
    const expected = constructsOf(readAssembly())
      .map((c) => c.name)
      .filter((name) => stack === 'ServicesProfile' || !servicesOnly.includes(name));
    expect(expected.length).toBeGreaterThan(0);
    expect([...usedConstructs[stack]].sort()).toEqual([...expected].sort());
  });

  /** The shipped handler each function of a stack runs (undefined: a bundle the package does not ship). */
  const handlersOf = (stack: string) => {
    const shipped = packagedHandlers();
    return Object.entries(functionCodeFolders(stack)).map(([id, folder]) => ({
      id,
      handler: shipped.get(readFileSync(join(folder, 'index.js'), 'utf8')),
    }));
  };

  test.each(STACKS)('every function of %s runs a handler bundle shipped in the package', (stack) => {
    expect(
      handlersOf(stack)
        .filter((f) => f.handler === undefined)
        .map((f) => f.id),
    ).toEqual([]);
  });

  test('each shipped bundle is used by a function of the app (optional features, such as releases, in the stacks that turn them on)', () => {
    const used = new Set(STACKS.flatMap((stack) => handlersOf(stack).map((f) => f.handler)));
    expect([...used].sort()).toEqual([...new Set(packagedHandlers().values())].sort());
  });

  test('RequiredPropsOnly creates its own ledger table', () => {
    const tables = Object.values(template('RequiredPropsOnly').Resources).filter((r) => r.Type === 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(1);
  });

  test('ExistingResources uses the existing secret, ledger table and bucket, and creates none of them', () => {
    const resources = Object.values(template('ExistingResources').Resources);
    const types = resources.map((r) => r.Type);
    expect(types).not.toContain('AWS::DynamoDB::Table');
    expect(types).not.toContain('AWS::SecretsManager::Secret');
    const text = JSON.stringify(resources);
    expect(text).toContain('arn:aws:secretsmanager:eu-west-1:123456789012:secret:ExistingPurpleFleaKey-AbCdEf');
    expect(text).toContain(':table/existing-purpleflea-ledger');
    // The object-created rules match the existing bucket.
    const rules = resources.filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern?.source?.includes('aws.s3'));
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) expect(rule.Properties.EventPattern.detail.bucket.name).toEqual(['existing-model-output']);
  });

  test('ServicesProfile: every function that reaches Purple Flea speaks the services profile, with the props where the profiles differ', () => {
    const variables = Object.values(template('ServicesProfile').Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.PF_SECRET_ARN !== undefined)
      .map((r) => r.Properties.Environment.Variables);
    expect(variables.length).toBeGreaterThan(0);
    for (const v of variables) {
      expect(v).toMatchObject({ PF_API_PROFILE: 'services', PF_ESCROW_URL: 'https://escrow.purpleflea.com' });
      expect(v).not.toHaveProperty('PF_BASE_URL');
    }
    // Only the trader and TradingPnl (which reads with it) are told where the trading key is.
    const traders = variables.filter((v) => v.PF_TRADING_SECRET_ARN !== undefined);
    expect(traders).toEqual([
      expect.objectContaining({ PF_TRADING_KEY_FIELD: 'key', PF_TRADING_AGENT_ID_FIELD: 'agent_id', COIN: 'BTC', LEVERAGE: '2' }),
      expect.objectContaining({
        POWERTOOLS_SERVICE_NAME: 'trading-pnl',
        PF_TRADING_KEY_FIELD: 'key',
        PF_TRADING_AGENT_ID_FIELD: 'agent_id',
      }),
    ]);
    expect(variables.filter((v) => v.ESCROW_TIMEOUT_HOURS !== undefined).map((v) => v.ESCROW_TIMEOUT_HOURS)).toEqual(['72', '72']);
    expect(variables.filter((v) => v.SELLER_TEMPLATE !== undefined).map((v) => v.SELLER_TEMPLATE)).toEqual(['ag_0123456789ab']);
  });
});
