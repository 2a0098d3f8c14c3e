/**
 * What `npm pack` ships (listed with --dry-run; the consumer test installs a real tarball), and the
 * package metadata Construct Hub and users read.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './assembly';

const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** Files under a folder, relative to the package root. */
function filesUnder(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

let packed: string[];

beforeAll(() => {
  // The build has run (npm test builds first): list without prepack's second build.
  const [result] = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  packed = result.files.map((file: { path: string }) => file.path);
}, 60_000);

describe('the npm package', () => {
  test('holds the compiled library: a .js and a .d.ts for every TypeScript source in lib/', () => {
    const sources = filesUnder('lib').filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'));
    expect(sources).toContain('lib/index.ts');
    const expected = sources.flatMap((file) => [file.replace(/\.ts$/, '.js'), file.replace(/\.ts$/, '.d.ts')]);
    expect(expected.filter((file) => !packed.includes(file))).toEqual([]);
  });

  test('holds the bundled handler of every lambda/<handler>/index.ts, with its source map', () => {
    const handlers = readdirSync(join(ROOT, 'lambda')).filter(
      (name) => name !== 'shared' && existsSync(join(ROOT, 'lambda', name, 'index.ts')),
    );
    expect(handlers.length).toBeGreaterThan(0);
    const expected = handlers.flatMap((name) => [`assets/${name}/index.js`, `assets/${name}/index.js.map`]);
    expect(expected.filter((file) => !packed.includes(file))).toEqual([]);
  });

  test('holds every command package.json "bin" names, as an executable bundle', () => {
    const commands: { [name: string]: string } = packageJson.bin;
    expect(Object.keys(commands)).toContain('purpleflea-ledger');
    for (const file of Object.values(commands)) {
      expect(packed).toContain(file);
      expect(readFileSync(join(ROOT, file), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
    }
  });

  test('holds the assembly, the README, the API reference, the license and package.json', () => {
    expect(packed).toEqual(expect.arrayContaining(['.jsii', 'README.md', 'API.md', 'LICENSE', 'package.json']));
  });

  test('holds the pages under docs/ that the README links, and its picture', () => {
    const linked = [...readme.matchAll(/\]\((docs\/[^)#\s]+)/g)].map((match) => match[1]).filter((path) => !path.endsWith('/'));
    expect(linked).toEqual(expect.arrayContaining(['docs/exactly-once.md', 'docs/architecture.svg']));
    expect(linked.filter((path) => !packed.includes(path))).toEqual([]);
  });

  test('holds no sources of the handlers, tests, sample app, CI, scripts, benchmarks or operator CLI', () => {
    const excluded = ['lambda/', 'test/', 'bin/', '.ci/', 'cli/src/', 'scripts/', 'bench/', 'cdk.out/', 'node_modules/', 'dist/'];
    expect(packed.filter((file) => excluded.some((folder) => file.startsWith(folder)))).toEqual([]);
    // TypeScript sources stay out (declarations are in); so do build settings.
    expect(packed.filter((file) => (file.endsWith('.ts') && !file.endsWith('.d.ts')) || /^tsconfig.*\.json$/.test(file))).toEqual([]);
  });
});

describe('the package metadata', () => {
  test('is Apache-2.0, with the license text', () => {
    expect(packageJson.license).toBe('Apache-2.0');
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(license).toContain('Apache License');
    expect(license).toContain('Version 2.0, January 2004');
  });

  test('has the keywords Construct Hub indexes, and the Node.js versions it supports', () => {
    expect(packageJson.keywords).toEqual(expect.arrayContaining(['awscdk', 'aws-cdk', 'cdk', 'constructs', 'sagemaker']));
    expect(packageJson.engines.node).toMatch(/^>= ?\d+/);
  });

  test('builds before packing', () => {
    expect(packageJson.scripts.prepack).toBe('npm run build');
  });

  test.each(['aws-cdk-lib', 'constructs'])(
    'states the %s version it is tested against: the dev dependency, the lowest peer version, and in the README',
    (name) => {
      const tested: string = packageJson.devDependencies[name];
      expect(tested).toMatch(/^\d+\.\d+\.\d+$/);
      expect(packageJson.peerDependencies[name]).toBe(`^${tested}`);
      const statement = readme.split('\n').find((line) => line.startsWith('Tested against'));
      expect(statement).toContain(`\`${name}\` ${tested}`);
    },
  );
});
