/**
 * The test run's own temporary folder (test/support/test-temp-dir.js): every worker writes there, the CDK apps'
 * assemblies included, and the teardown removes it, so a run leaves nothing in the system's temporary directory.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const teardown: ((...jestConfigs: object[]) => Promise<void>) & {
  useRunTempDir: (parent?: string) => string;
  removeRunTempDir: (dir: string) => void;
} = require('./test-temp-dir');

test("this worker's temporary directory is the run's own folder", () => {
  expect(tmpdir()).toMatch(/purpleflea-tests-[^/]+$/);
});

test('an app synthesized without an outdir writes its assembly into the run folder', () => {
  const app = new App();
  new Stack(app, 'Empty');
  const assembly = app.synth();
  expect(assembly.directory.startsWith(tmpdir())).toBe(true);
});

describe('useRunTempDir and the teardown', () => {
  const saved = { TMPDIR: process.env.TMPDIR, TMP: process.env.TMP, TEMP: process.env.TEMP };
  let parent: string;

  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'parent-'));
  });
  afterEach(() => {
    Object.assign(process.env, saved);
    rmSync(parent, { recursive: true, force: true });
  });

  test('make a folder of the run, which the teardown, called as jest calls it, removes with what is in it', async () => {
    const dir = teardown.useRunTempDir(parent);
    expect(dir.startsWith(join(parent, 'purpleflea-tests-'))).toBe(true);
    expect(process.env.TMPDIR).toBe(dir);
    mkdirSync(join(dir, 'cdk.outAbc'));
    await teardown({ rootDir: '/' }, { id: 'project' });
    expect(existsSync(dir)).toBe(false);
  });

  test("remove a killed run's folder older than a day, and leave a running one's", () => {
    const stale = join(parent, 'purpleflea-tests-stale');
    const running = join(parent, 'purpleflea-tests-running');
    const other = join(parent, 'cdk.out-someone-else');
    for (const dir of [stale, running, other]) mkdirSync(dir);
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    utimesSync(stale, twoDaysAgo, twoDaysAgo);
    utimesSync(other, twoDaysAgo, twoDaysAgo);
    const dir = teardown.useRunTempDir(parent);
    expect(readdirSync(parent).sort()).toEqual(['cdk.out-someone-else', 'purpleflea-tests-running', dir.slice(parent.length + 1)].sort());
  });

  test('the teardown removes nothing when TMPDIR is not a run folder', async () => {
    process.env.TMPDIR = parent;
    await teardown({ rootDir: '/' }, { id: 'project' });
    teardown.removeRunTempDir(parent);
    expect(existsSync(parent)).toBe(true);
  });
});
