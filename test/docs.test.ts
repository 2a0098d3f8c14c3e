/**
 * The documentation holds together: the README stays a page a user reads in one sitting, every relative link of every
 * page (README, DEVELOPERS.md, docs/) reaches a file that exists and, with an anchor, a heading of that file, and the
 * README names every page under docs/.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { documentationPages, readPage, ROOT } from './support/docs-pages';

/** The README's budget (issue 16: about 600 lines); the rest of the documentation is under docs/. */
const README_MAX_LINES = 600;

/** The page without its fenced code blocks, whose `#` lines are comments, not headings. */
function prose(text: string): string {
  return text.replace(/```[\s\S]*?```/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation other than `-` and `_` dropped, spaces as `-`. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor of a page's headings; a repeated heading gets `-1`, `-2`, as on GitHub. */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const match of prose(text).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = anchorOf(match[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  // API.md's anchors are HTML: <a name="..." id="purpleflea-sagemaker-constructs.BatchPayoutProps"></a>.
  for (const match of text.matchAll(/<a [^>]*id="([^"]+)"/g)) anchors.add(match[1]);
  return anchors;
}

/** The relative links of a page: `[text](target)`, outside code, not to a web address. */
function relativeLinks(text: string): string[] {
  return [...prose(text).matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]).filter((target) => !/^[a-z]+:/.test(target));
}

test('anchorOf gives the anchors GitHub gives', () => {
  expect(anchorOf('`show <action key> --check` (services profile)')).toBe('show-action-key---check-services-profile');
  expect(anchorOf("Pacing to Purple Flea's windows")).toBe('pacing-to-purple-fleas-windows');
  expect(anchorOf('`PurpleFleaConnection`')).toBe('purplefleaconnection');
});

test(`the README is at most ${README_MAX_LINES} lines`, () => {
  expect(readPage('README.md').split('\n').length).toBeLessThanOrEqual(README_MAX_LINES);
});

test('the README links every page under docs/', () => {
  const readme = readPage('README.md');
  const pages = documentationPages().filter((page) => page.startsWith('docs/') && !page.startsWith('docs/constructs/'));
  expect(pages.length).toBeGreaterThan(4);
  expect(pages.filter((page) => !readme.includes(`](${page})`))).toEqual([]);
});

describe.each(documentationPages().map((page) => [page] as const))('%s', (page) => {
  test('links only to files and headings that exist', () => {
    const broken = relativeLinks(readPage(page)).filter((link) => {
      const [path, anchor] = link.split('#');
      const target = path === '' ? page : normalize(join(dirname(page), path));
      if (!existsSync(join(ROOT, target))) return true;
      if (anchor === undefined) return false;
      return statSync(join(ROOT, target)).isDirectory() || !anchorsOf(readPage(target)).has(anchor);
    });
    expect(broken).toEqual([]);
  });
});
