// Bundles the operator's command (cli/src/purpleflea-ledger.ts) into cli/purpleflea-ledger.js, the file
// package.json "bin" names: one file with the AWS SDK clients inside, so `npx purpleflea-ledger` needs
// nothing else installed. Run by build-handlers.mjs (and so by `npm run build`), or on its own.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFile } from './replace-file.mjs';

const root = new URL('..', import.meta.url).pathname;
const outfile = join(root, 'cli', 'purpleflea-ledger.js');
// `--version` prints it: written in at build time, so the bundle needs no package.json beside it.
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const result = await build({
  write: false,
  entryPoints: [join(root, 'cli', 'src', 'purpleflea-ledger.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  // The package supports Node 20 ("engines"); the handlers may target Lambda's newer runtime, this may not.
  target: 'node20',
  format: 'cjs',
  banner: { js: '#!/usr/bin/env node' },
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  mainFields: ['module', 'main'],
  define: { PACKAGE_VERSION: JSON.stringify(version) },
});
replaceFile(outfile, result.outputFiles[0].contents, 0o755);
console.log(
  `bundled cli/src/purpleflea-ledger.ts -> cli/purpleflea-ledger.js (${(result.outputFiles[0].contents.length / 1024).toFixed(0)} KiB)`,
);
