// Generates API.md from the jsii assembly (.jsii, written by `npm run compile`) with jsii-docgen.
//   node scripts/docgen.mjs [output]   (default: API.md; test/package/api-docs.test.ts writes a temp file)
// Deterministic: one language (TypeScript), rendered from the assembly and its dependencies' assemblies
// only, without the README (prose, not API: editing it must not make API.md stale), "\n" line endings.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Documentation, Language } from 'jsii-docgen';

const root = new URL('..', import.meta.url).pathname;
const output = process.argv[2] ?? join(root, 'API.md');

const docs = await Documentation.forProject(root);
const markdown = await docs.toMarkdown({ language: Language.TYPESCRIPT, readme: false, allSubmodules: true });
writeFileSync(output, markdown.render().replace(/\r\n/g, '\n'));
console.log(`wrote ${output}`);
