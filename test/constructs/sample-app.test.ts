import { SecretValue, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { SAMPLE_STACK_NAME, buildSampleApp } from '../../bin/app';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { BatchPayout, FraudHoldEscrow, PredictToTrade, PurpleFleaConnection, TradingPnl, TrainingBonusEscrow } from '../../lib';
import { dashboardSections } from './dashboard-body';
import { newStack, onlyResource } from './fixtures';

function sampleTemplate(context: { [key: string]: any } = {}): Template {
  const app = buildSampleApp(context);
  return Template.fromStack(app.node.findChild(SAMPLE_STACK_NAME) as Stack);
}

describe('the sample app', () => {
  test('synthesizes with no AWS account, and cdk-nag finds nothing unacknowledged', () => {
    // Synthesis fails on any cdk-nag error (see the next test).
    const assembly = buildSampleApp().synth();
    expect(Object.keys(assembly.getStackByName(SAMPLE_STACK_NAME).template.Resources)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^TraderHandler/),
        expect.stringMatching(/^TrainingBonusHandler/),
        expect.stringMatching(/^TrainingBonusReleaseHandler/),
        expect.stringMatching(/^PurpleFleaLedger/),
        expect.stringMatching(/^PayoutsWorkflowStateMachine/),
        expect.stringMatching(/^FraudHoldsWorkflowStateMachine/),
      ]),
    );
  });

  /** The library's functions (not aws-cdk-lib's bucket-notifications handler), by their service. */
  function libraryHandlers(template: Template): { [name: string]: string }[] {
    return Object.values(template.findResources('AWS::Lambda::Function'))
      .map((f: any) => f.Properties.Environment?.Variables)
      .filter((v) => v?.POWERTOOLS_SERVICE_NAME !== undefined);
  }

  test('holds the four constructs: a PredictToTrade, a TrainingBonusEscrow, a BatchPayout and a FraudHoldEscrow, sharing one connection', () => {
    const template = sampleTemplate();
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    const handlers = libraryHandlers(template);
    expect(handlers.map((v) => v.POWERTOOLS_SERVICE_NAME).sort()).toEqual([
      'batch-payout',
      'batch-payout',
      'batch-payout',
      'fraud-hold-escrow',
      'fraud-hold-escrow',
      'fraud-hold-escrow',
      'fraud-hold-release',
      'fraud-hold-review-start',
      'predict-to-trade',
      'training-bonus-escrow',
      'training-bonus-release',
    ]);
    // All in dry run by default (the batch constructs' Prepare functions move no money and have no dry run).
    expect(handlers.filter((v) => v.DRY_RUN !== undefined).map((v) => v.DRY_RUN)).toEqual([
      'true',
      'true',
      'true',
      'true',
      'true',
      'true',
      'true',
      'true',
    ]);
  });

  test('the BatchPayout runs on uploads under scores/ to the sample scores bucket, into its own output bucket', () => {
    const template = sampleTemplate();
    const stack = buildSampleApp().node.findChild(SAMPLE_STACK_NAME) as Stack;
    const scores = stack.node.findChild('Scores').node.defaultChild as s3.CfnBucket;
    const payouts = stack.node.findChild('Payouts') as BatchPayout;
    const rule = Object.values(template.findResources('AWS::Events::Rule')).find(
      (r: any) => r.Properties.EventPattern?.source?.[0] === 'aws.s3',
    ) as any;
    expect(rule.Properties.EventPattern.detail).toEqual({
      bucket: { name: [{ Ref: stack.getLogicalId(scores) }] },
      object: { key: [{ prefix: 'scores/' }] },
    });
    template.hasResourceProperties('Custom::S3BucketNotifications', { NotificationConfiguration: { EventBridgeConfiguration: {} } });
    // Scores and TransformOutput, and the two constructs' own output buckets.
    // The scores, the transform output, the hold reviews' output, and the payouts' own runs.
    template.resourceCountIs('AWS::S3::Bucket', 5);
    expect(payouts.outputBucket.node.scope).toBe(payouts);
  });

  test("the FraudHoldEscrow runs on the sample fraud model's completed transform jobs, reading the sample transform output bucket", () => {
    const ruleAndScope = (context: { [key: string]: any }) => {
      const stack = buildSampleApp(context).node.findChild(SAMPLE_STACK_NAME) as Stack;
      const template = Template.fromStack(stack).toJSON();
      const holds = stack.node.findChild('FraudHolds') as FraudHoldEscrow;
      const rule = template.Resources[stack.getLogicalId(holds.transformJobRule!.node.defaultChild as events.CfnRule)];
      const transformOutput = stack.getLogicalId(stack.node.findChild('TransformOutput').node.defaultChild as s3.CfnBucket);
      const prepareAccess = Object.entries(template.Resources).find(([id]) => id.startsWith('FraudHoldsPrepareAccess'))![1] as any;
      return {
        detail: rule.Properties.EventPattern.detail,
        transformJobs: JSON.stringify(template).match(/:transform-job\/[^"]*/g),
        reads: prepareAccess.Properties.PolicyDocument.Statement.filter((st: any) => st.Action === 's3:GetObject').map(
          (st: any) => st.Resource,
        ),
        transformOutput,
        holds,
      };
    };
    const defaults = ruleAndScope({});
    expect(defaults.detail).toEqual({ TransformJobStatus: ['Completed'], TransformJobName: [{ prefix: 'demo-fraud-model' }] });
    expect(defaults.transformJobs).toEqual([':transform-job/demo-fraud-model*']);
    expect(defaults.reads).toEqual([{ 'Fn::Join': ['', [{ 'Fn::GetAtt': [defaults.transformOutput, 'Arn'] }, '/*']] }]);
    // The run folders go to the construct's own bucket.
    expect(defaults.holds.outputBucket.node.scope).toBe(defaults.holds);
    // An empty prefix: every transform job.
    const any = ruleAndScope({ transformJobNamePrefix: '' });
    expect(any.detail).toEqual({ TransformJobStatus: ['Completed'] });
    expect(any.transformJobs).toEqual([':transform-job/*']);
  });

  test("the TrainingBonusEscrow matches the sample model's training jobs by default, and a prefix from context", () => {
    const patternAndScope = (context: { [key: string]: any }) => {
      const template = sampleTemplate(context);
      const rule = Object.values(template.findResources('AWS::Events::Rule')).find((r: any) => r.Properties.EventPattern) as any;
      const trainingJobs = JSON.stringify(template.toJSON()).match(/:training-job\/[^"]*/g);
      return { detail: rule.Properties.EventPattern.detail, trainingJobs };
    };
    expect(patternAndScope({})).toEqual({
      detail: { TrainingJobStatus: ['Completed'], TrainingJobName: [{ prefix: 'demo-direction-model' }] },
      trainingJobs: [':training-job/demo-direction-model*'],
    });
    expect(patternAndScope({ trainingJobNamePrefix: 'Churn-' })).toEqual({
      detail: { TrainingJobStatus: ['Completed'], TrainingJobName: [{ prefix: 'Churn-' }] },
      trainingJobs: [':training-job/churn-*'],
    });
    // An empty prefix: every training job.
    expect(patternAndScope({ trainingJobNamePrefix: '' })).toEqual({
      detail: { TrainingJobStatus: ['Completed'] },
      trainingJobs: [':training-job/*'],
    });
  });

  test('dryRun=false from context reaches every function that has a dry run', () => {
    const handlers = libraryHandlers(sampleTemplate({ dryRun: 'false' }));
    expect(handlers.filter((v) => v.DRY_RUN !== undefined).map((v) => v.DRY_RUN)).toEqual([
      'false',
      'false',
      'false',
      'false',
      'false',
      'false',
      'false',
      'false',
    ]);
  });

  test('runs cdk-nag at synth: an unprotected queue added to it fails synthesis', () => {
    const app = buildSampleApp();
    new sqs.Queue(app.node.findChild(SAMPLE_STACK_NAME) as Stack, 'Unprotected');
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS3/);
  });

  test('defaults: the PurpleFleaApiKey secret, the demo-direction-model endpoint, dry run', () => {
    const template = sampleTemplate();
    const text = JSON.stringify(template.toJSON());
    expect(text).toContain(':secret:PurpleFleaApiKey');
    expect(text).toContain(':endpoint/demo-direction-model');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { DRY_RUN: 'true', ENDPOINT_NAME: 'demo-direction-model' } },
    });
  });

  test('the endpoint, the secret and dry run come from context', () => {
    const template = sampleTemplate({ endpointName: 'My-Model', secretName: 'prod/purpleflea', dryRun: 'false' });
    const text = JSON.stringify(template.toJSON());
    expect(text).toContain(':secret:prod/purpleflea-??????');
    expect(text).toContain(':endpoint/my-model');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { DRY_RUN: 'false', ENDPOINT_NAME: 'My-Model' } },
    });
  });

  test('its template holds no secret value', () => {
    expect(JSON.stringify(sampleTemplate().toJSON())).not.toMatch(/pf_live/);
  });

  test('shows the four constructs on one dashboard, and outputs its name', () => {
    const stack = buildSampleApp().node.findChild(SAMPLE_STACK_NAME) as Stack;
    expect(dashboardSections(stack).map((section) => section.title)).toEqual([
      `PredictToTrade \`${SAMPLE_STACK_NAME}/Trader\``,
      `TrainingBonusEscrow \`${SAMPLE_STACK_NAME}/TrainingBonus\``,
      `BatchPayout \`${SAMPLE_STACK_NAME}/Payouts\``,
      `FraudHoldEscrow \`${SAMPLE_STACK_NAME}/FraudHolds\``,
    ]);
    const template = Template.fromStack(stack);
    const { id } = onlyResource(template, 'AWS::CloudWatch::Dashboard');
    template.hasOutput('DashboardName', { Value: { Ref: id } });
  });

  test("finding 10: no role may put ledger items; each reads and updates single records of its own construct's kinds of keys only", () => {
    const stack = buildSampleApp().node.findChild(SAMPLE_STACK_NAME) as Stack;
    const template = Template.fromStack(stack);
    // Anywhere in the template: no handler puts a ledger item, so no role may.
    expect(JSON.stringify(template.toJSON()).match(/dynamodb:PutItem/g)).toBeNull();

    // Every statement naming a DynamoDB action, in a policy of its own or inline, by the role it is on.
    const byRole: { [roleId: string]: any[] } = {};
    const collect = (roleIds: string[], document: any) => {
      for (const statement of document.Statement) {
        if (![statement.Action].flat().some((action: string) => action.startsWith('dynamodb:'))) continue;
        for (const roleId of roleIds) (byRole[roleId] ??= []).push(statement);
      }
    };
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      collect(
        policy.Properties.Roles.map((role: any) => role.Ref),
        policy.Properties.PolicyDocument,
      );
    }
    for (const [roleId, role] of Object.entries(template.findResources('AWS::IAM::Role'))) {
      for (const inline of role.Properties.Policies ?? []) collect([roleId], inline.PolicyDocument);
    }
    expect(Object.keys(template.findResources('AWS::IAM::ManagedPolicy'))).toEqual([]);

    const roleOf = (fn: lambda.IFunction) => stack.getLogicalId(fn.role!.node.defaultChild as iam.CfnRole);
    const { id: ledgerId } = onlyResource(template, 'AWS::DynamoDB::Table');
    const ledger = (action: string | string[], ...prefixes: string[]) => [
      {
        Effect: 'Allow',
        Action: action,
        Resource: { 'Fn::GetAtt': [ledgerId, 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes } },
      },
    ];
    const readWrite = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];
    const trader = stack.node.findChild('Trader') as PredictToTrade;
    const bonus = stack.node.findChild('TrainingBonus') as TrainingBonusEscrow;
    const payouts = stack.node.findChild('Payouts') as BatchPayout;
    const holds = stack.node.findChild('FraudHolds') as FraudHoldEscrow;
    expect(byRole).toEqual({
      [roleOf(trader.lambdaFunction)]: ledger(readWrite, 'v1:trade:*', 'v1:daily-notional:*'),
      [roleOf(bonus.lambdaFunction)]: ledger(readWrite, 'v1:escrow:*'),
      // The release reads its escrows' records and writes only its releases'.
      [roleOf(bonus.releaseFunction!)]: [...ledger(readWrite, 'v1:release:*'), ...ledger('dynamodb:GetItem', 'v1:escrow:*')],
      [roleOf(payouts.payFunction)]: ledger(readWrite, 'v1:payout:*'),
      [roleOf(payouts.summarizeFunction)]: ledger('dynamodb:GetItem', 'v1:payout:*'),
      [roleOf(holds.actFunction)]: ledger(readWrite, 'v1:hold:*'),
      [roleOf(holds.summarizeFunction)]: ledger('dynamodb:GetItem', 'v1:hold:*'),
      // The review releases or disputes holds, reading their records and writing only its own.
      [roleOf(holds.releaseFunction!)]: [...ledger(readWrite, 'v1:release:*', 'v1:dispute:*'), ...ledger('dynamodb:GetItem', 'v1:hold:*')],
    });
  });

  test("outputs the ledger table's name, for an operator", () => {
    const template = sampleTemplate();
    const { id } = onlyResource(template, 'AWS::DynamoDB::Table');
    template.hasOutput('LedgerTableName', {
      Description: Match.stringLikeRegexp('state UNKNOWN need an operator'),
      Value: { Ref: id },
    });
  });
});

describe('the API key never leaves its secret', () => {
  test('a secret created in the stack: only the secret resource holds the value', () => {
    const stack = newStack();
    const secret = new secretsmanager.Secret(stack, 'ApiKey', {
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ key: 'pf_live_DO_NOT_LEAK', agent_id: 'agt_1' })),
    });
    const connection = new PurpleFleaConnection(stack, 'PurpleFlea', { apiKeySecret: secret });
    new PredictToTrade(stack, 'Trader', { connection, endpointName: 'demo-direction-model' });

    const resources = Template.fromStack(stack).toJSON().Resources as { [id: string]: any };
    const holding = Object.entries(resources)
      .filter(([, r]) => JSON.stringify(r).includes('pf_live_DO_NOT_LEAK'))
      .map(([, r]) => r.Type);
    expect(holding).toEqual(['AWS::SecretsManager::Secret']);
  });
});

describe('the sample app on the services profile (-c api=services)', () => {
  /** The library's functions that reach Purple Flea or the ledger (they have the connection's variables), by logical id. */
  function connectedFunctions(template: Template): { [id: string]: { [name: string]: any } } {
    return Object.fromEntries(
      Object.entries(template.findResources('AWS::Lambda::Function'))
        .map(([id, f]: [string, any]) => [id, f.Properties.Environment?.Variables] as const)
        .filter(([, variables]) => variables?.PF_SECRET_ARN !== undefined),
    );
  }
  const resourceLines = (template: Template) =>
    Object.entries(template.toJSON().Resources as { [id: string]: { Type: string } })
      .map(([id, r]) => `${id} ${r.Type}`)
      .sort();

  test('synthesizes with no AWS account, cdk-nag finds nothing unacknowledged, and has the same resources as on the gateway, and ModelAgents and TradingPnl', () => {
    // Synthesis fails on any cdk-nag error.
    const assembly = buildSampleApp({ api: 'services' }).synth();
    expect(assembly.getStackByName(SAMPLE_STACK_NAME).template.Resources).toBeDefined();
    // ModelAgents and TradingPnl speak only the services: the gateway documents no registration and no P&L route.
    const withoutModelAgents = resourceLines(sampleTemplate({ api: 'services' })).filter(
      (line) => !line.startsWith('ModelAgents') && !line.startsWith('TradingPnl'),
    );
    expect(withoutModelAgents).toEqual(resourceLines(sampleTemplate()));
    expect(
      resourceLines(sampleTemplate({ api: 'services' })).filter(
        (line) => line.startsWith('ModelAgents') && line.endsWith(' AWS::Lambda::Function'),
      ),
    ).toHaveLength(1);
    expect(
      resourceLines(sampleTemplate({ api: 'services' })).filter(
        (line) => line.startsWith('TradingPnl') && line.endsWith(' AWS::Lambda::Function'),
      ),
    ).toHaveLength(1);
    expect(resourceLines(sampleTemplate({ api: 'gateway' }))).toEqual(resourceLines(sampleTemplate()));
  });

  test("the payouts resolve rows naming a model version through ModelAgents' registry on the services profile only", () => {
    const resolving = (template: Template) =>
      Object.entries(template.findResources('AWS::Lambda::Function'))
        .filter(([, f]: [string, any]) => f.Properties.Environment?.Variables?.AGENTS_FROM_REGISTRY === 'true')
        .map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))
        .sort();
    // Prepare takes a model version's ARN as an agent id; Pay resolves each row; Summarize finds the key of a row the Map
    // did not settle.
    expect(resolving(sampleTemplate({ api: 'services' }))).toEqual(['PayoutsPay', 'PayoutsPrepare', 'PayoutsSummarize']);
    expect(resolving(sampleTemplate())).toEqual([]);
  });

  test('every function that reaches Purple Flea or the ledger speaks the services profile; by default, the gateway as before', () => {
    const services = connectedFunctions(sampleTemplate({ api: 'services' }));
    // The gateway's eight, ModelAgents and TradingPnl.
    expect(Object.keys(services)).toHaveLength(10);
    for (const variables of Object.values(services)) {
      expect(variables).toMatchObject({
        PF_API_PROFILE: 'services',
        PF_ESCROW_URL: 'https://escrow.purpleflea.com',
        PF_CASINO_URL: 'https://casino.purpleflea.com/api/v1',
        PF_TRADING_URL: 'https://trading.purpleflea.com/v1',
        PF_FAUCET_URL: 'https://faucet.purpleflea.com',
      });
      expect(variables).not.toHaveProperty('PF_BASE_URL');
    }
    const gateway = connectedFunctions(sampleTemplate());
    expect(Object.keys(gateway).sort()).toEqual(
      Object.keys(services)
        .filter((id) => !id.startsWith('ModelAgents') && !id.startsWith('TradingPnl'))
        .sort(),
    );
    for (const variables of Object.values(gateway)) {
      expect(variables.PF_BASE_URL).toBe('https://api.purpleflea.com');
      expect(
        Object.keys(variables).filter((name) =>
          /^(PF_API_PROFILE|PF_ESCROW_URL|PF_TRADING_|COIN$|LEVERAGE$|ESCROW_TIMEOUT_HOURS$)/.test(name),
        ),
      ).toEqual([]);
    }
    // -c api=gateway is the default.
    expect(sampleTemplate({ api: 'gateway' }).toJSON()).toEqual(sampleTemplate().toJSON());
  });

  test("the trader trades BTC at leverage 1; bonuses go to each model's agent (or -c sellerAgentId) and time out after 30 days, holds after 7", () => {
    const variablesOf = (context: { [key: string]: any }, service: string) =>
      Object.values(sampleTemplate(context).findResources('AWS::Lambda::Function'))
        .map((f: any) => f.Properties.Environment?.Variables)
        .filter((v) => v?.POWERTOOLS_SERVICE_NAME === service && v.PF_SECRET_ARN !== undefined);
    expect(variablesOf({ api: 'services' }, 'predict-to-trade')).toEqual([
      expect.objectContaining({
        COIN: 'BTC',
        LEVERAGE: '1',
        PF_TRADING_KEY_FIELD: 'trading_key',
        PF_TRADING_AGENT_ID_FIELD: 'trading_agent_id',
      }),
    ]);
    expect(variablesOf({ api: 'services' }, 'training-bonus-escrow')).toEqual([
      expect.objectContaining({ SELLER_FROM_REGISTRY: 'true', ESCROW_TIMEOUT_HOURS: '720' }),
    ]);
    expect(variablesOf({ api: 'services', sellerAgentId: 'ag_0123456789ab' }, 'training-bonus-escrow')).toEqual([
      expect.objectContaining({ SELLER_TEMPLATE: 'ag_0123456789ab' }),
    ]);
    // The Act function holds; Summarize only reads the ledger.
    expect(variablesOf({ api: 'services' }, 'fraud-hold-escrow').map((v) => v.ESCROW_TIMEOUT_HOURS)).toEqual(['168', undefined]);
  });

  test('-c tradingSecretName: the trading key in a secret of its own, which only the trader and TradingPnl (reads only) may read', () => {
    const stack = buildSampleApp({ api: 'services', tradingSecretName: 'prod/purpleflea-trading' }).node.findChild(
      SAMPLE_STACK_NAME,
    ) as Stack;
    const template = Template.fromStack(stack);
    const trader = stack.node.findChild('Trader') as PredictToTrade;
    const traderRole = stack.getLogicalId(trader.lambdaFunction.role!.node.defaultChild as iam.CfnRole);
    const pnl = stack.node.findChild('TradingPnl') as TradingPnl;
    const pnlRole = stack.getLogicalId(pnl.lambdaFunction.role!.node.defaultChild as iam.CfnRole);
    const readers = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p: any) => JSON.stringify(p.Properties.PolicyDocument).includes(':secret:prod/purpleflea-trading'))
      .flatMap((p: any) => p.Properties.Roles.map((r: any) => r.Ref));
    expect(readers.sort()).toEqual([traderRole, pnlRole].sort());
    // Told where it is: the trader and TradingPnl.
    expect(JSON.stringify(template.toJSON()).match(/secret:prod\/purpleflea-trading"/g)).toHaveLength(2);
  });

  test('an unknown api is refused, naming it', () => {
    expect(() => buildSampleApp({ api: 'service' })).toThrow('The sample app\'s context api must be gateway or services, got "service"');
  });
});
