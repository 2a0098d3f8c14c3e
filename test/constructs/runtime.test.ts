/**
 * The handlers' runtime (issue 16, item 2): by default the newest Node.js runtime the app's aws-cdk-lib names,
 * which is what cdk-nag's AwsSolutions-L1 takes as the latest, chosen at synth; a `runtime` prop on every
 * construct with functions overrides it, and a runtime the bundles cannot run on is a clear error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Stack } from 'aws-cdk-lib';
import { EscrowRelease, HoldReview, ModelAgents, PurpleFleaApi, TradingPnl } from '../../lib';
import { HANDLER_BUNDLE_NODE_MAJOR, defaultHandlerRuntime } from '../../lib/private/handler-function';
import { newBatchPayout, newBonusEscrow, newConnection, newFraudHoldEscrow, newStack, newTrader } from './fixtures';

const js = (value: unknown): any => value;

/** Each construct that has functions, with every optional function turned on, given `runtime` (or not). */
const BUILDERS: { [name: string]: (runtime?: lambda.Runtime) => Stack } = {
  PredictToTrade: (runtime) => newTrader({ runtime }).stack,
  TrainingBonusEscrow: (runtime) =>
    newBonusEscrow({ runtime, release: EscrowRelease.onModelApproval({ modelPackageGroupName: 'churn-models' }) }).stack,
  BatchPayout: (runtime) => newBatchPayout({ runtime }).stack,
  FraudHoldEscrow: (runtime) => newFraudHoldEscrow({ runtime, review: HoldReview.events() }).stack,
  TradingPnl: (runtime) => {
    const stack = newStack();
    new TradingPnl(stack, 'Pnl', { connection: newConnection(stack, { api: PurpleFleaApi.services() }), runtime });
    return stack;
  },
  ModelAgents: (runtime) => {
    const stack = newStack();
    new ModelAgents(stack, 'Agents', { connection: newConnection(stack, { api: PurpleFleaApi.services() }), runtime });
    return stack;
  },
};

function runtimesOf(stack: Stack): string[] {
  return Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).map((f: any) => f.Properties.Runtime);
}

/** cdk-nag's AwsSolutions-L1 reference: the last of the family's runtimes in `Runtime.ALL`, by version. */
function cdkNagLatestNode(): string {
  return lambda.Runtime.ALL.map((r) => r.name)
    .filter((name) => name.startsWith('nodejs'))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' }))
    .pop()!;
}

describe('the default runtime', () => {
  test("is the newest NODEJS_<n>_X of the project's aws-cdk-lib, which is cdk-nag's latest Node.js runtime", () => {
    expect(defaultHandlerRuntime()).toBe(lambda.Runtime.NODEJS_24_X);
    expect(defaultHandlerRuntime().name).toBe(cdkNagLatestNode());
  });

  test('follows a newer aws-cdk-lib: a NODEJS_<n>_X it adds (as 2.278 adds NODEJS_26_X) is chosen, at synth', () => {
    const runtime = new lambda.Runtime('nodejs26.x', lambda.RuntimeFamily.NODEJS, { supportsInlineCode: true });
    Object.defineProperty(lambda.Runtime, 'NODEJS_26_X', { value: runtime, configurable: true });
    try {
      expect(defaultHandlerRuntime()).toBe(runtime);
      expect(runtimesOf(BUILDERS.PredictToTrade())).toEqual(['nodejs26.x']);
    } finally {
      delete (lambda.Runtime as any).NODEJS_26_X;
      lambda.Runtime.ALL.splice(lambda.Runtime.ALL.indexOf(runtime), 1);
    }
    expect(defaultHandlerRuntime()).toBe(lambda.Runtime.NODEJS_24_X);
  });

  test('never a variable runtime, one of another family, or one whose name is not its member name', () => {
    const odd = {
      NODEJS_97_X: new lambda.Runtime('nodejs97.x', lambda.RuntimeFamily.NODEJS, { isVariable: true }),
      NODEJS_96_X: new lambda.Runtime('python96.x', lambda.RuntimeFamily.PYTHON),
      NODEJS_95_X: new lambda.Runtime('nodejs94.x', lambda.RuntimeFamily.NODEJS),
    };
    for (const [name, value] of Object.entries(odd)) Object.defineProperty(lambda.Runtime, name, { value, configurable: true });
    try {
      expect(defaultHandlerRuntime()).toBe(lambda.Runtime.NODEJS_24_X);
    } finally {
      for (const [name, value] of Object.entries(odd)) {
        delete (lambda.Runtime as any)[name];
        lambda.Runtime.ALL.splice(lambda.Runtime.ALL.indexOf(value), 1);
      }
    }
  });

  test.each(Object.keys(BUILDERS))('%s: every function runs on it', (name) => {
    const runtimes = runtimesOf(BUILDERS[name]());
    expect(runtimes.length).toBeGreaterThan(0);
    expect(new Set(runtimes)).toEqual(new Set([defaultHandlerRuntime().name]));
  });

  test('the handler bundles are built for the oldest runtime allowed', () => {
    const script = readFileSync(join(__dirname, '..', '..', 'scripts', 'build-handlers.mjs'), 'utf8');
    expect(script).toContain(`target: 'node${HANDLER_BUNDLE_NODE_MAJOR}'`);
  });
});

describe('the runtime prop', () => {
  test.each(Object.keys(BUILDERS))('%s: every function runs on the runtime given', (name) => {
    const runtimes = runtimesOf(BUILDERS[name](lambda.Runtime.NODEJS_22_X));
    expect(runtimes.length).toBeGreaterThan(0);
    expect(new Set(runtimes)).toEqual(new Set(['nodejs22.x']));
  });

  test.each(Object.keys(BUILDERS))('%s: a runtime that is not Node.js, or older than the bundles, is an error naming the prop', (name) => {
    expect(() => BUILDERS[name](lambda.Runtime.PYTHON_3_12)).toThrow(
      'runtime must be a Node.js runtime (the handlers are JavaScript bundles), got python3.12',
    );
    expect(() => BUILDERS[name](lambda.Runtime.NODEJS_20_X)).toThrow(
      'runtime must be Node.js 22 or newer (the handler bundles are built for node22), got nodejs20.x',
    );
  });

  test('a JavaScript caller: a string, or a runtime in functionOptions, is named', () => {
    expect(() => newTrader({ runtime: js('nodejs22.x') })).toThrow(
      `PredictToTrade 'Trader': runtime must be a lambda.Runtime (e.g. lambda.Runtime.NODEJS_22_X), got "nodejs22.x"`,
    );
    expect(() => newBatchPayout({ functionOptions: js({ runtime: lambda.Runtime.NODEJS_22_X }) })).toThrow(
      'functionOptions.runtime cannot be set: use the runtime prop',
    );
  });

  test('NODEJS_LATEST is accepted', () => {
    expect(runtimesOf(newTrader({ runtime: lambda.Runtime.NODEJS_LATEST }).stack)).toEqual([lambda.Runtime.NODEJS_LATEST.name]);
  });
});
