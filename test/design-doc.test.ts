/**
 * docs/design.md names files and folders; when one moves or goes, the page must change with it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const design = readFileSync(join(ROOT, 'docs', 'design.md'), 'utf8');

/** Every `path` in backticks that starts with one of the tree's top folders (placeholders like <handler> aside). */
function namedPaths(text: string): string[] {
  const paths = [...text.matchAll(/`((?:lib|lambda|cli|test|bin|scripts|bench|docs)\/[^`\s]*)`/g)].map((match) => match[1]);
  return [...new Set(paths.filter((path) => !path.includes('<')))];
}

test('every file and folder docs/design.md names exists', () => {
  const paths = namedPaths(design);
  expect(paths.length).toBeGreaterThan(5);
  expect(paths.filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
});

test('the code points at docs/design.md, not at a design document the repository does not have', () => {
  const sources = ['lib', 'lambda', 'cli/src'].flatMap((folder) =>
    (readdirSync(join(ROOT, folder), { recursive: true }) as string[])
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
      .map((file) => join(folder, file)),
  );
  expect(sources.length).toBeGreaterThan(20);
  const pointingElsewhere = sources.filter((source) => /(?<!docs\/)DESIGN\.md/.test(readFileSync(join(ROOT, source), 'utf8')));
  expect(pointingElsewhere).toEqual([]);
});
