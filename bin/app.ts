// The sample app: `npx cdk synth` works on a fresh clone with no AWS account. Names come from context:
//   npx cdk synth -c endpointName=my-model -c secretName=MyPurpleFleaKey -c dryRun=false
//   npx cdk synth -c trainingJobNamePrefix=my-model-   (an empty prefix, -c trainingJobNamePrefix=, matches every training job)
//   npx cdk synth -c transformJobNamePrefix=my-fraud-  (an empty prefix, -c transformJobNamePrefix=, matches every transform job)
//   npx cdk synth -c api=services   (Purple Flea's published services instead of the gateway, the default: -c api=gateway)
//     -c sellerAgentId=ag_...          the bonuses' seller on the services profile (an ag_ id of the casino registry),
//                                      in place of each model's own agent (ModelAgents)
//     -c tradingSecretName=MyTradingKey a second secret for the trading key (else it is in the API-key secret)
//   npx cdk synth -c modelPackageGroupName=my-models  (the bonuses are released when a package of this group is approved)
//   npx cdk synth -c flowDefinitionName=my-review     (the A2I flow definition that reviews fraud holds)
import { App, CfnOutput, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  BatchPayout,
  FraudHoldEscrow,
  PredictToTrade,
  PurpleFleaApi,
  PurpleFleaConnection,
  PurpleFleaDashboard,
  TrainingBonusEscrow,
  EscrowRelease,
  HoldReview,
  ConfirmedFraudAction,
  ModelAgents,
  TradingPnl,
} from '../lib';

export const SAMPLE_STACK_NAME = 'PurpleFleaSageMakerSample';

/** Builds the sample app without synthesizing it, so that a test can inspect it. */
export function buildSampleApp(context: { [key: string]: any } = {}): App {
  const app = new App({ context });
  const secretName: string = app.node.tryGetContext('secretName') ?? 'PurpleFleaApiKey';
  const endpointName: string = app.node.tryGetContext('endpointName') ?? 'demo-direction-model';
  // Deploying the sample places no real order, escrow or payout unless asked to: `-c dryRun=false`.
  const dryRun = String(app.node.tryGetContext('dryRun') ?? 'true') !== 'false';
  // Bonuses only for the sample model's training jobs, unless asked otherwise.
  const trainingJobNamePrefix = String(app.node.tryGetContext('trainingJobNamePrefix') ?? 'demo-direction-model');
  const modelPackageGroupName = String(app.node.tryGetContext('modelPackageGroupName') ?? 'demo-direction-models');
  // The Amazon A2I flow definition that reviews fraud holds (created outside this app: it names a work team).
  const flowDefinitionName = String(app.node.tryGetContext('flowDefinitionName') ?? 'demo-hold-review');
  // Fraud holds only for the sample fraud model's Batch Transform jobs, unless asked otherwise.
  const transformJobNamePrefix = String(app.node.tryGetContext('transformJobNamePrefix') ?? 'demo-fraud-model');
  // Which Purple Flea API: the gateway (the default) or the published services, the same constructs on either.
  const apiName = String(app.node.tryGetContext('api') ?? 'gateway');
  if (apiName !== 'gateway' && apiName !== 'services') {
    throw new Error(`The sample app's context api must be gateway or services, got ${JSON.stringify(apiName)}`);
  }
  const services = apiName === 'services';
  const tradingSecretName: string | undefined = app.node.tryGetContext('tradingSecretName');
  const sellerAgentId: string | undefined = app.node.tryGetContext('sellerAgentId');

  const stack = new Stack(app, SAMPLE_STACK_NAME, {
    description: 'Purple Flea SageMaker constructs: sample stack (PredictToTrade, TrainingBonusEscrow, BatchPayout, FraudHoldEscrow)',
  });

  const connection = new PurpleFleaConnection(stack, 'PurpleFlea', {
    // Imported by name, with no lookup: synth needs no AWS account, and the value never enters the template.
    apiKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'ApiKey', secretName),
    api: services ? PurpleFleaApi.services() : PurpleFleaApi.gateway(),
    // The services profile's trading key: in the API-key secret (trading_key, trading_agent_id), or in a secret of its own.
    tradingKeySecret:
      services && tradingSecretName !== undefined
        ? secretsmanager.Secret.fromSecretNameV2(stack, 'TradingKey', tradingSecretName)
        : undefined,
  });
  new CfnOutput(stack, 'LedgerTableName', {
    description: 'The action ledger: one record per money-moving action; records in state UNKNOWN need an operator.',
    value: connection.ledgerTable.tableName,
  });

  const trader = new PredictToTrade(stack, 'Trader', {
    connection,
    endpointName,
    dryRun,
  });

  // The services profile only: one Purple Flea agent per model version of the sample model (its key in a secret of
  // its own, its $1 from the faucet). The gateway documents no registration.
  const modelAgents = services
    ? new ModelAgents(stack, 'ModelAgents', {
        connection,
        trainingJobNamePrefix: trainingJobNamePrefix === '' ? undefined : trainingJobNamePrefix,
        registerTrainingJobs: true,
        modelPackageGroupName,
        dryRun,
      })
    : undefined;

  const trainingBonus = new TrainingBonusEscrow(stack, 'TrainingBonus', {
    connection,
    trainingJobNamePrefix: trainingJobNamePrefix === '' ? undefined : trainingJobNamePrefix,
    // The services' escrow takes only ag_ ids of the casino registry: the gateway's seller template cannot work there.
    // There, each bonus goes to the agent ModelAgents registered for the job's model, unless -c sellerAgentId names one.
    sellerAgentId: services ? sellerAgentId : undefined,
    sellerFrom: services && sellerAgentId === undefined ? modelAgents : undefined,
    // The bonus is released when the model trained by the job is approved in the Model Registry.
    release: EscrowRelease.onModelApproval({ modelPackageGroupName }),
    dryRun,
  });

  // Upload a scores CSV (agent_id,score) under scores/ to pay each agent; the run folders go to the
  // construct's own output bucket.
  const scores = new s3.Bucket(stack, 'Scores', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    versioned: true,
  });
  Validations.of(scores).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'Sample bucket for scores files: uploads are what start the payout runs, each recorded by its execution.',
  });
  const payouts = new BatchPayout(stack, 'Payouts', {
    connection,
    sourceBucket: scores,
    sourcePrefix: 'scores/',
    // On the services profile a row's agent_id may name a model version (its training job's ARN): paid to its agent.
    agentsFrom: modelAgents,
    dryRun,
  });

  // Point the fraud model's Batch Transform jobs (JSON Lines, joined with their input) at this bucket: each
  // completed job's flagged transactions get their funds held in escrow until review clears them.
  const transformOutput = new s3.Bucket(stack, 'TransformOutput', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    versioned: true,
  });
  Validations.of(transformOutput).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'Sample bucket for Batch Transform output: written by the transform jobs, each of which starts a recorded hold run.',
  });
  // Where the human review's flow definition writes the reviewers' answers.
  const reviewOutput = new s3.Bucket(stack, 'HoldReviews', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  });
  Validations.of(reviewOutput).acknowledge({
    id: 'AwsSolutions-S1',
    reason: "Sample bucket for the A2I flow definition's output: each review is recorded by its human loop and the ledger.",
  });
  const fraudHolds = new FraudHoldEscrow(stack, 'FraudHolds', {
    connection,
    transformJobTrigger: true,
    transformJobNamePrefix: transformJobNamePrefix === '' ? undefined : transformJobNamePrefix,
    transformOutputBucket: transformOutput,
    // Each hold placed goes to human review (Amazon A2I); a reviewer's "clear" releases it, "fraud" disputes it.
    review: HoldReview.augmentedAi({
      flowDefinition: stack.formatArn({ service: 'sagemaker', resource: 'flow-definition', resourceName: flowDefinitionName }),
      humanLoopOutputBucket: reviewOutput,
      humanLoopOutputPrefix: 'hold-reviews',
    }),
    onConfirmedFraud: ConfirmedFraudAction.DISPUTE,
    dryRun,
  });

  // The services profile only: the trading agent's P&L and open positions as CloudWatch metrics, every 15 minutes,
  // with an alarm on a day's loss over 500 USDC. The gateway documents no P&L route.
  const tradingPnl = services ? new TradingPnl(stack, 'TradingPnl', { connection, dailyLossAlarmUsdc: 500 }) : undefined;

  // What each construct did with money: actions by outcome, USDC moved, latencies, errors, dead letters.
  const monitored = [trader, trainingBonus, payouts, fraudHolds, ...(modelAgents ? [modelAgents] : [])];
  const dashboard = new PurpleFleaDashboard(stack, 'Dashboard', { monitored });
  if (tradingPnl) dashboard.addTradingPnl(tradingPnl);
  new CfnOutput(stack, 'DashboardName', {
    description: 'The CloudWatch dashboard of the sample stack.',
    value: dashboard.dashboardName,
  });

  // cdk-nag's AWS Solutions checks run at synth; the constructs acknowledge what they cannot avoid.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

if (require.main === module) {
  buildSampleApp().synth();
}
