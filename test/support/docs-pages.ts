/**
 * The user documentation as the tests read it: the README (the user's page), a page per construct under
 * docs/constructs/ (its props table, its Python example), and the topic pages under docs/. The README test, the
 * defaults test and the Python bindings test check the code and tables of every page through this.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

/** Every page of user and contributor documentation, relative to the root: README.md, DEVELOPERS.md, docs/**.md. */
export function documentationPages(): string[] {
  const docs = (readdirSync(join(ROOT, 'docs'), { recursive: true }) as string[])
    .filter((file) => file.endsWith('.md'))
    .map((file) => join('docs', file))
    .sort();
  return ['README.md', 'DEVELOPERS.md', ...docs];
}

export function readPage(page: string): string {
  return readFileSync(join(ROOT, page), 'utf8');
}

/** A construct's own page: `PurpleFleaDashboard` → docs/constructs/purpleflea-dashboard.md (Purple Flea is one word in file names). */
export function constructPage(constructName: string): string {
  const kebab = constructName
    .replace(/PurpleFlea/g, 'Purpleflea')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
  return join('docs', 'constructs', `${kebab}.md`);
}

/** The construct's page, or '' when it has none (the tests then fail naming the missing page). */
export function readConstructPage(constructName: string): string {
  const page = constructPage(constructName);
  return existsSync(join(ROOT, page)) ? readPage(page) : '';
}

/** The fenced code blocks of one language in a page, each with its page and the line its fence opens on. */
export function codeBlocks(page: string, language: string): { page: string; line: number; code: string }[] {
  const text = readPage(page);
  return [...text.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((match) => ({
    page,
    line: text.slice(0, match.index).split('\n').length,
    code: match[1],
  }));
}
