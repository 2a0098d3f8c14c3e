/**
 * The README's TypeScript examples run: each ```ts block is type-checked against lib/, then executed
 * (with the package name pointing at lib/), its app synthesized and checked by cdk-nag. Every construct
 * of the jsii assembly has an example and its props in its section. (The Python examples are checked
 * against the generated Python module in test/package/python-bindings.test.ts.)
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as ts from 'typescript';
import { constructsOf, readAssembly, structProperties } from './package/assembly';

const ROOT = resolve(__dirname, '..');
const PACKAGE_NAME = 'purpleflea-sagemaker-constructs';
const workDir = join(__dirname, '.readme-snippets');

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);

const exampleFiles = snippets.map((_code, index) => join(workDir, `example-${index + 1}.ts`));

beforeAll(() => {
  mkdirSync(workDir, { recursive: true });
  snippets.forEach((code, index) => {
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
  expect(snippets.length).toBeGreaterThan(0);
});

test('the README starts with the two commands that set up and test a fresh clone', () => {
  const firstBlock = readme.match(/```sh\n([\s\S]*?)```/)?.[1] ?? '';
  const commands = firstBlock
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.replace(/\s+#.*$/, ''));
  expect(commands).toEqual(['npm ci && npx cdk synth', 'npm test']);
  expect(readme.indexOf('```sh')).toBeLessThan(readme.indexOf('\n## '));
});

describe.each(constructsOf(readAssembly()).map((c) => [c.name, c] as const))('the README on %s', (name, construct) => {
  /** From the construct's heading to the next heading of the same or a higher level. */
  const section = readme.match(new RegExp(`\n### \`${name}\`\n([\\s\\S]*?)(?=\n#{2,3} |$)`))?.[1] ?? '';

  test('has a section', () => {
    expect(section).not.toBe('');
  });

  test('has a TypeScript example that constructs it', () => {
    expect(snippets.filter((code) => code.includes(`new ${name}(`)).length).toBeGreaterThan(0);
  });

  test('lists each of its props in its section', () => {
    const props = construct.props ? structProperties(readAssembly(), construct.props).map((p) => p.name) : [];
    expect(props.filter((prop) => !section.includes(`\`${prop}\``))).toEqual([]);
  });
});

describe.each(exampleFiles.map((file, index) => [index + 1, file] as const))('README example %d', (_index, file) => {
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
});
