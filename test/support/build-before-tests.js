/**
 * Jest's global setup: builds what the tests run and is not there yet, so that any single test file
 * works on a fresh clone (`npx jest test/lambda/money-path.test.ts`), and a bundle older than its
 * sources is never what a test runs. `npm test` builds everything first; then this finds nothing to do.
 */
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const { useRunTempDir } = require('./test-temp-dir');

const root = join(__dirname, '..', '..');

/** Newest modification time (ms) of the .ts files under `folders`; 0 when there are none. */
function newestSource(folders) {
  let newest = 0;
  const visit = (path) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) visit(child);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) newest = Math.max(newest, statSync(child).mtimeMs);
    }
  };
  for (const folder of folders) if (existsSync(join(root, folder))) visit(join(root, folder));
  return newest;
}

/** Oldest modification time of `files`, or -1 when one is missing. */
function oldestOutput(files) {
  let oldest = Infinity;
  for (const file of files) {
    if (!existsSync(file)) return -1;
    oldest = Math.min(oldest, statSync(file).mtimeMs);
  }
  return oldest;
}

module.exports = async function buildBeforeTests() {
  useRunTempDir();
  const handlers = readdirSync(join(root, 'lambda')).filter(
    (name) => name !== 'shared' && existsSync(join(root, 'lambda', name, 'index.ts')),
  );
  const bundles = [...handlers.map((name) => join(root, 'assets', name, 'index.js')), join(root, 'cli', 'purpleflea-ledger.js')];
  // Handlers and the command import the shared contracts from lib/private/contracts; the command's
  // --version is package.json's, written into its bundle.
  const sources = Math.max(newestSource(['lambda', 'cli/src', 'lib/private/contracts']), statSync(join(root, 'package.json')).mtimeMs);
  if (oldestOutput(bundles) < sources) {
    console.log('\nbundling the handlers and the operator command (missing or older than their sources)');
    execFileSync(process.execPath, [join(root, 'scripts', 'build-handlers.mjs')], { cwd: root, stdio: 'inherit' });
  }
  // The package checks and the README test read the jsii assembly: compiled once if missing (slow: ~1 min).
  if (!existsSync(join(root, '.jsii'))) {
    console.log('\ncompiling the library with jsii (no .jsii assembly yet)');
    execFileSync('npx', ['jsii', '--fail-on-warnings'], { cwd: root, stdio: 'inherit' });
  }
};
