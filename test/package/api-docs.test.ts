/**
 * API.md is generated from the assembly (scripts/docgen.mjs, `npm run docgen`) and committed; it must
 * be what the current assembly generates.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './assembly';

/** The first line where two texts differ, for a readable failure; undefined when they are equal. */
function firstDifference(committed: string, generated: string): string | undefined {
  if (committed === generated) return undefined;
  const a = committed.split('\n');
  const b = generated.split('\n');
  const line = a.findIndex((text, i) => text !== b[i]);
  const at = line === -1 ? a.length : line;
  return `line ${at + 1}: API.md has ${JSON.stringify(a[at])}, the assembly generates ${JSON.stringify(b[at])}`;
}

test('firstDifference tells equal texts from different ones', () => {
  expect(firstDifference('a\nb\n', 'a\nb\n')).toBeUndefined();
  expect(firstDifference('a\nb\n', 'a\nc\n')).toBe('line 2: API.md has "b", the assembly generates "c"');
  expect(firstDifference('a\n', 'a\nb\n')).toBe('line 2: API.md has "", the assembly generates "b"');
});

test('API.md is what the assembly generates (run `npm run docgen` after changing the public API)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-docgen-'));
  try {
    const generatedPath = join(dir, 'API.md');
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'docgen.mjs'), generatedPath], { cwd: ROOT, stdio: 'pipe' });
    const generated = readFileSync(generatedPath, 'utf8');
    expect(generated).toContain('# API Reference');
    expect(firstDifference(readFileSync(join(ROOT, 'API.md'), 'utf8'), generated)).toBeUndefined();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
