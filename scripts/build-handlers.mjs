// Bundles every handler in lambda/<name>/index.ts into assets/<name>/index.js with esbuild.
// Handlers are bundled when the library is built, never at a consumer's synth: the AWS SDK clients
// and Powertools go into the bundle, so the function's behaviour does not depend on the runtime's copy.
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const handlerRoot = join(root, 'lambda');
const assetsRoot = join(root, 'assets');

const handlers = readdirSync(handlerRoot).filter(
  (name) => name !== 'shared' && existsSync(join(handlerRoot, name, 'index.ts')),
);

rmSync(assetsRoot, { recursive: true, force: true });
for (const name of handlers) {
  const outfile = join(assetsRoot, name, 'index.js');
  await build({
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
  const kib = (statSync(outfile).size / 1024).toFixed(0);
  console.log(`bundled lambda/${name} -> assets/${name}/index.js (${kib} KiB)`);
}
