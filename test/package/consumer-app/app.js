// A user's CDK app in plain JavaScript, run with node (no TypeScript, no bundler), against the packed
// library as npm installed it (test/package/consumer-app.test.ts copies it into a temporary folder).
//   node app.js <outdir>    synthesizes into <outdir> and prints {<stack name>: [constructs used]}
//   node app.js <outdir> --cdk-nag
//                           the same with cdk-nag's AwsSolutionsChecks as the app's validation plugin, as a user adds
//                           it (synth fails on a finding); first prints {"cdkNagFindings": [<rule> <construct path>]}
//
// Every construct of the library's assembly is used, so a construct added later is used too:
//   RequiredPropsOnly   each construct with only its required props
//   ExistingResources   each construct again, on an existing secret (by ARN), ledger table and bucket (by name), and
//                       the escrows released (a bonus on model approval, a hold on an A2I review)
//   ServicesProfile     each construct again, on Purple Flea's published services (a trading key secret of its own), with
//                       the props where the profiles differ, and the escrows released (on a lifecycle stage, on the
//                       user's own review events, confirmed fraud disputed)
'use strict';
const { readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { App, Duration, Stack, Validations } = require('aws-cdk-lib');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');
const s3 = require('aws-cdk-lib/aws-s3');
const secretsmanager = require('aws-cdk-lib/aws-secretsmanager');

const LIBRARY = 'purpleflea-sagemaker-constructs';
const library = require(LIBRARY);
const assembly = JSON.parse(readFileSync(join(dirname(require.resolve(`${LIBRARY}/package.json`)), '.jsii'), 'utf8'));

const CONNECTION = `${LIBRARY}.PurpleFleaConnection`;

/** Constructs that speak only Purple Flea's published services (the gateway documents no agent registration). */
const SERVICES_ONLY = ['ModelAgents', 'TradingPnl'];

/** Values of required string props, by name: each must pass the construct's validation. */
const REQUIRED_STRINGS = {
  endpointName: 'demo-direction-model',
};

/** A construct takes (scope: Construct, id: string, props). */
const constructTypes = Object.values(assembly.types).filter((type) => {
  const [scope, id] = (type.initializer && type.initializer.parameters) || [];
  return type.kind === 'class' && !type.abstract && scope && scope.type.fqn === 'constructs.Construct' && id && id.type.primitive === 'string';
});

/** A struct's properties, its inherited ones included. */
function propertiesOf(fqn) {
  const struct = assembly.types[fqn];
  if (!struct) return [];
  return [...(struct.interfaces || []).flatMap(propertiesOf), ...(struct.properties || [])];
}

function propsTypeOf(type) {
  const props = type.initializer.parameters[2];
  return props ? props.type.fqn : undefined;
}

/**
 * Builds the constructs of one stack. `resources` gives the value of each required prop by type;
 * `existing` gives optional props, by name, that bring an existing resource.
 */
function useEveryConstruct(stack, resources, existing, options = {}) {
  const used = [];
  let connection;

  function propsFor(type) {
    const props = {};
    const names = new Set();
    for (const property of propertiesOf(propsTypeOf(type))) {
      names.add(property.name);
      if (property.optional) continue;
      props[property.name] = requiredValue(type, property);
    }
    for (const [name, value] of Object.entries(existing)) {
      if (names.has(name)) props[name] = typeof value === 'function' ? value(type) : value;
    }
    return props;
  }

  function requiredValue(type, property) {
    const fqn = property.type.fqn;
    if (fqn === CONNECTION) return getConnection();
    if (fqn && resources[fqn]) return resources[fqn];
    if (property.type.primitive === 'string' && property.name in REQUIRED_STRINGS) return REQUIRED_STRINGS[property.name];
    throw new Error(
      `${type.name}: no value for its required prop ${property.name} (${JSON.stringify(property.type)}); add one to test/package/consumer-app/app.js`,
    );
  }

  const built = [];
  function build(type) {
    const construct = new library[type.name](stack, type.name, propsFor(type));
    used.push(type.name);
    built.push(construct);
    return construct;
  }

  function getConnection() {
    if (!connection) connection = build(assembly.types[CONNECTION]);
    return connection;
  }

  getConnection();
  for (const type of constructTypes) {
    if (type.fqn === CONNECTION) continue;
    if (SERVICES_ONLY.includes(type.name) && !options.services) continue;
    build(type);
  }
  // A dashboard must show something (it fails synthesis otherwise): it shows every construct that can be
  // monitored (IMonitoredMoneyAction), added through its method rather than an optional prop.
  for (const construct of built.filter((c) => typeof c.addMonitored === 'function')) {
    for (const monitored of built.filter((c) => typeof c.monitoring === 'function')) construct.addMonitored(monitored);
  }
  return used;
}

const app = new App({ outdir: process.argv[2] });
const cdkNag = process.argv[3] === '--cdk-nag' ? require('cdk-nag') : undefined;
if (cdkNag) Validations.of(app).addPlugins(new cdkNag.AwsSolutionsChecks());
const report = {};

const minimal = new Stack(app, 'RequiredPropsOnly');
report[minimal.stackName] = useEveryConstruct(
  minimal,
  { 'aws-cdk-lib.aws_secretsmanager.ISecret': secretsmanager.Secret.fromSecretNameV2(minimal, 'ApiKey', 'PurpleFleaApiKey') },
  {},
);

const existing = new Stack(app, 'ExistingResources');
report[existing.stackName] = useEveryConstruct(
  existing,
  {
    'aws-cdk-lib.aws_secretsmanager.ISecret': secretsmanager.Secret.fromSecretCompleteArn(
      existing,
      'ApiKey',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ExistingPurpleFleaKey-AbCdEf',
    ),
  },
  {
    ledgerTable: dynamodb.Table.fromTableName(existing, 'Ledger', 'existing-purpleflea-ledger'),
    sourceBucket: s3.Bucket.fromBucketName(existing, 'Scores', 'existing-model-output'),
    // One folder of the bucket per construct, so that each upload starts one construct's run.
    sourcePrefix: (type) => `${type.name.toLowerCase()}/`,
    release: library.EscrowRelease.onModelApproval({ modelPackageGroupName: 'churn-models' }),
    review: library.HoldReview.augmentedAi({
      flowDefinition: 'arn:aws:sagemaker:eu-west-1:123456789012:flow-definition/hold-review',
      humanLoopOutputBucket: s3.Bucket.fromBucketName(existing, 'Reviews', 'existing-hold-reviews'),
    }),
  },
);

const services = new Stack(app, 'ServicesProfile');
report[services.stackName] = useEveryConstruct(
  services,
  { 'aws-cdk-lib.aws_secretsmanager.ISecret': secretsmanager.Secret.fromSecretNameV2(services, 'ApiKey', 'PurpleFleaCasinoKey') },
  {
    api: library.PurpleFleaApi.services(),
    tradingKeySecret: secretsmanager.Secret.fromSecretNameV2(services, 'TradingKey', 'PurpleFleaTradingKey'),
    tradingKeyField: 'key',
    tradingAgentIdField: 'agent_id',
    leverage: 2,
    // The escrow service takes only ag_ ids of the casino registry: the gateway's default seller template cannot work there.
    sellerAgentId: 'ag_0123456789ab',
    escrowTimeout: Duration.days(3),
    release: library.EscrowRelease.onLifecycleStage({ stage: 'Production', modelPackageGroupNamePrefix: 'churn-' }),
    review: library.HoldReview.events(),
    onConfirmedFraud: library.ConfirmedFraudAction.DISPUTE,
    registerTrainingJobs: true,
  },
  { services: true },
);

app.synth();
if (cdkNag) {
  // What the plugin found, unacknowledged, listed (synth has already failed if there was any).
  const findings = app.node.children
    .filter((child) => child instanceof Stack)
    .flatMap((stack) => new cdkNag.AwsSolutionsChecks().validateScope(stack).violations)
    .flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
  console.log(JSON.stringify({ cdkNagFindings: findings }));
}
console.log(JSON.stringify(report));
