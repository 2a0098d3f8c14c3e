// Bundles every handler in lambda/<name>/index.ts into assets/<name>/index.js with esbuild.
// Handlers are bundled when the library is built, never at a consumer's synth: the AWS SDK clients
// and Powertools go into the bundle, so the function's behaviour does not depend on the runtime's copy.
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFile } from './replace-file.mjs';

const root = new URL('..', import.meta.url).pathname;
const handlerRoot = join(root, 'lambda');
const assetsRoot = join(root, 'assets');

const handlers = readdirSync(handlerRoot).filter((name) => name !== 'shared' && existsSync(join(handlerRoot, name, 'index.ts')));

// A folder whose handler is gone would still be shipped: remove it.
if (existsSync(assetsRoot)) {
  for (const name of readdirSync(assetsRoot)) {
    if (!handlers.includes(name)) rmSync(join(assetsRoot, name), { recursive: true, force: true });
  }
}
for (const name of handlers) {
  const outfile = join(assetsRoot, name, 'index.js');
  const result = await build({
    write: false,
    entryPoints: [join(handlerRoot, name, 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
    // The SDK ships ESM and CJS; prefer module entry points for better tree-shaking.
    mainFields: ['module', 'main'],
  });
  for (const file of result.outputFiles) replaceFile(file.path, file.contents);
  const kib = (result.outputFiles.find((file) => file.path === outfile).contents.length / 1024).toFixed(0);
  console.log(`bundled lambda/${name} -> assets/${name}/index.js (${kib} KiB)`);
}

// The operator's command shares lambda/shared's ledger code: built with the handlers.
await import('./build-cli.mjs');
