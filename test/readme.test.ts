/**
 * The documentation's TypeScript examples run: each ```ts block of the README and of every page under docs/ is
 * type-checked against lib/, then executed (with the package name pointing at lib/), its app synthesized and checked
 * by cdk-nag. The README has a section and an example for every construct of the jsii assembly, and the construct's
 * own page (docs/constructs/) lists its props. (The Python examples are checked against the generated Python module in
 * test/package/python-bindings.test.ts; links and the README's length in test/docs.test.ts.)
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as ts from 'typescript';
import { constructsOf, readAssembly, structProperties } from './package/assembly';
import { codeBlocks, constructPage, documentationPages, readConstructPage, readPage, ROOT } from './support/docs-pages';

const PACKAGE_NAME = 'purpleflea-sagemaker-constructs';
const workDir = join(__dirname, '.readme-snippets');

const readme = readPage('README.md');
const snippets = documentationPages().flatMap((page) => codeBlocks(page, 'ts'));
const readmeSnippets = snippets.filter((snippet) => snippet.page === 'README.md').map((snippet) => snippet.code);

const exampleFiles = snippets.map((_snippet, index) => join(workDir, `example-${index + 1}.ts`));

beforeAll(() => {
  mkdirSync(workDir, { recursive: true });
  snippets.forEach(({ code }, index) => {
    // The example as a user writes it, plus an export so the test can reach its app.
    const local = code.replace(`'${PACKAGE_NAME}'`, `'${join(ROOT, 'lib', 'index')}'`);
    writeFileSync(exampleFiles[index], `${local}\nexport const exampleApp = app;\n`);
  });
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** One program for all the examples (each is a module of its own): type-checking them one by one took seconds each. */
let program: ts.Program | undefined;
function typeProblems(file: string): string[] {
  program ??= ts.createProgram(exampleFiles, {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    types: ['node'],
  });
  const source = program.getSourceFile(file);
  if (!source) return [`${file} is not in the program`];
  return ts.getPreEmitDiagnostics(program, source).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

test('the README has TypeScript examples', () => {
  expect(readmeSnippets.length).toBeGreaterThan(0);
});

test('the README starts with the two commands that set up and test a fresh clone, under a heading for trying the sample app', () => {
  const firstBlock = readme.match(/```(\w*)\n([\s\S]*?)```/);
  expect(firstBlock?.[1]).toBe('sh');
  const commands = (firstBlock?.[2] ?? '')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.replace(/\s+#.*$/, ''));
  expect(commands).toEqual(['npm ci && npx cdk synth', 'npm test']);
  const firstHeading = readme.match(/\n## (.*)\n/);
  expect(firstHeading?.[1]).toMatch(/sample app/i);
  expect(firstHeading?.[1]).toMatch(/develop/i);
  expect(firstHeading!.index!).toBeLessThan(readme.indexOf('```sh'));
  expect(readme.indexOf('```sh')).toBeLessThan(readme.indexOf('\n## ', firstHeading!.index! + 1));
});

describe.each(constructsOf(readAssembly()).map((c) => [c.name, c] as const))('the documentation of %s', (name, construct) => {
  /** From the construct's heading to the next heading of the same or a higher level. */
  const section = readme.match(new RegExp(`\n### \`${name}\`\n([\\s\\S]*?)(?=\n#{2,3} |$)`))?.[1] ?? '';

  test('has a section in the README, with a link to its page', () => {
    expect(section).not.toBe('');
    expect(readme).toContain(`](${constructPage(name)})`);
  });

  test('has a TypeScript example in the README that constructs it', () => {
    expect(readmeSnippets.filter((code) => code.includes(`new ${name}(`)).length).toBeGreaterThan(0);
  });

  test(`lists each of its props on its page`, () => {
    const page = readConstructPage(name);
    expect({ page: constructPage(name), exists: page !== '' }).toEqual({ page: constructPage(name), exists: true });
    const props = construct.props ? structProperties(readAssembly(), construct.props).map((p) => p.name) : [];
    expect(props.filter((prop) => !page.includes(`\`${prop}\``))).toEqual([]);
  });
});

describe.each(exampleFiles.map((file, index) => [`${snippets[index].page}:${snippets[index].line}`, file] as const))(
  'the example at %s',
  (_place, file) => {
    test('type-checks against the library', () => {
      expect(typeProblems(file)).toEqual([]);
    });

    test('synthesizes, with no unacknowledged cdk-nag finding', () => {
      const { exampleApp } = require(file) as { exampleApp: App };
      const assembly = exampleApp.synth();
      expect(assembly.stacks.length).toBeGreaterThan(0);
      for (const stack of exampleApp.node.children.filter(Stack.isStack)) {
        const report = new AwsSolutionsChecks().validateScope(stack);
        expect(report.violations.map((v) => v.ruleName)).toEqual([]);
      }
    });
  },
);
