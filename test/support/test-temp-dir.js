/**
 * One temporary folder per test run, removed when the run ends. aws-cdk-lib writes each App's cloud assembly into a
 * new folder of the system's temporary directory and never removes it, and the tests synthesize thousands of apps:
 * left in /tmp they filled the build machine's disk (27,000 folders, 78 GB). So the run's TMPDIR points into a folder
 * of its own, which the workers, the handlers' child processes and the CDK apps inherit, and which the teardown
 * deletes whole. A run that was killed leaves its folder: the next run removes those older than a day.
 */
const { mkdtempSync, readdirSync, rmSync, statSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { basename, join } = require('node:path');

const PREFIX = 'purpleflea-tests-';
const STALE_MS = 24 * 60 * 60 * 1000;

/** Points TMPDIR at a new folder of this run's, in `parent`; returns it. */
function useRunTempDir(parent = tmpdir()) {
  for (const name of readdirSync(parent).filter((entry) => entry.startsWith(PREFIX))) {
    const path = join(parent, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Another run's folder, removed meanwhile: nothing to do.
    }
  }
  const dir = mkdtempSync(join(parent, PREFIX));
  process.env.TMPDIR = dir;
  process.env.TMP = dir;
  process.env.TEMP = dir;
  return dir;
}

/** Removes a run's folder and everything the tests left in it; anything else is left alone. */
function removeRunTempDir(dir) {
  if (dir && basename(dir).startsWith(PREFIX)) rmSync(dir, { recursive: true, force: true });
}

/** Jest's global teardown (called with jest's configs, which it ignores): the folder TMPDIR names. */
module.exports = async function teardown() {
  removeRunTempDir(process.env.TMPDIR);
};
module.exports.useRunTempDir = useRunTempDir;
module.exports.removeRunTempDir = removeRunTempDir;
