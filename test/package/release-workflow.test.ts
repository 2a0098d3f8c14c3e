/**
 * The release pipeline (issue 16, item 4): .github/workflows/release.yml parses, and builds, tests and packs the
 * library as a jsii library is released (npm tarball and Python distribution from jsii-pacmak), then publishes each
 * with publib only when its registry token is configured.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const workflow = parse(readFileSync(join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8'));
type Step = { name?: string; uses?: string; run?: string; if?: string; with?: { [key: string]: unknown } };
const steps = (job: string): Step[] => workflow.jobs[job].steps;
const runs = (job: string) => steps(job).map((step) => step.run ?? '');

test('runs on version tags (and by hand), reading the repository only', () => {
  expect(workflow.on.push.tags).toEqual(['v*']);
  expect(workflow.on).toHaveProperty('workflow_dispatch');
  expect(workflow.permissions).toEqual({ contents: 'read' });
});

test('the build installs from the lockfile, runs the tests, and packs both distributions with jsii-pacmak, kept as an artifact', () => {
  const commands = runs('build');
  const at = (pattern: RegExp) => commands.findIndex((run) => pattern.test(run));
  expect(at(/^npm ci\b/)).toBeGreaterThanOrEqual(0);
  expect(at(/^npm test$/)).toBeGreaterThan(at(/^npm ci\b/));
  expect(at(/jsii-pacmak --target js --target python --outdir dist/)).toBeGreaterThan(at(/^npm test$/));
  const uses = steps('build').map((step) => step.uses ?? '');
  expect(uses).toEqual(
    expect.arrayContaining([expect.stringMatching(/^actions\/checkout@/), expect.stringMatching(/^actions\/setup-python@/)]),
  );
  expect(steps('build').find((step) => step.uses?.startsWith('actions/upload-artifact@'))?.with).toMatchObject({
    name: 'packages',
    path: 'dist/',
  });
});

test.each([
  ['publish-npm', 'publib-npm dist/js', 'NPM_TOKEN'],
  ['publish-pypi', 'publib-pypi dist/python', 'TWINE_PASSWORD'],
])('%s publishes with publib after the build, only when its token is configured', (job, command, token) => {
  expect(workflow.jobs[job].needs).toBe('build');
  expect(workflow.jobs[job].env[token]).toBe(`\${{ secrets.${token} }}`);
  const publish = steps(job).find((step) => step.run?.includes(command));
  expect(publish).toBeDefined();
  expect(publish!.run).toMatch(/-p publib@/);
  expect(publish!.if).toBe(`env.${token} != ''`);
  // Every step names what it does.
  expect(steps(job).every((step) => typeof step.name === 'string' && step.name.length > 0)).toBe(true);
});
