/**
 * The README's TypeScript examples run: each ```ts block is type-checked against lib/, then executed
 * (with the package name pointing at lib/), its app synthesized and checked by cdk-nag.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as ts from 'typescript';

const ROOT = resolve(__dirname, '..');
const PACKAGE_NAME = 'purpleflea-sagemaker-constructs';
const workDir = join(__dirname, '.readme-snippets');

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);

beforeAll(() => mkdirSync(workDir, { recursive: true }));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

test('the README has TypeScript examples', () => {
  expect(snippets.length).toBeGreaterThan(0);
});

describe.each(snippets.map((code, index) => [index + 1, code] as const))('README example %d', (index, code) => {
  const file = join(workDir, `example-${index}.ts`);
  beforeAll(() => {
    // The example as a user writes it, plus an export so the test can reach its app.
    const local = code.replace(`'${PACKAGE_NAME}'`, `'${join(ROOT, 'lib', 'index')}'`);
    writeFileSync(file, `${local}\nexport const exampleApp = app;\n`);
  });

  test('type-checks against the library', () => {
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      types: ['node'],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
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
