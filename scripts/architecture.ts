// Draws the sample app's architecture from its synthesized template, as docs/architecture.svg.
//   npm run architecture            writes docs/architecture.svg
//   npx tsx scripts/architecture.ts --print   prints the SVG (test/architecture.test.ts compares it)
// The picture is derived, never drawn by hand: a resource the sample app gains or loses changes it,
// and the test fails until it is regenerated.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnResource, Stack } from 'aws-cdk-lib';
import { SAMPLE_STACK_NAME, buildSampleApp } from '../bin/app';
import * as library from '../lib';
import { CONNECTION_ENV } from '../lib/private/contracts/connection-env';

type Json = any;

interface Resource {
  readonly logicalId: string;
  readonly type: string;
  readonly properties: Json;
  /** The top-level construct of the stack the resource belongs to (e.g. `Trader`). */
  readonly owner: string;
  /** Its path below the owner, e.g. `Handler`, or `Workflow/StateMachine`. */
  readonly localPath: string;
}

interface NodeStyle {
  readonly kind: string;
  readonly fill: string;
  readonly shape: string;
}

/** The resources drawn as nodes; everything else is counted in the caption. */
const DRAWN: { readonly [type: string]: NodeStyle } = {
  'AWS::Events::Rule': { kind: 'EventBridge rule', fill: '#f8d7e8', shape: 'box' },
  'AWS::Lambda::Function': { kind: 'Lambda', fill: '#fde2c4', shape: 'box' },
  'AWS::StepFunctions::StateMachine': { kind: 'Step Functions', fill: '#f9d0dc', shape: 'box' },
  'AWS::DynamoDB::Table': { kind: 'DynamoDB', fill: '#cfe0f7', shape: 'cylinder' },
  'AWS::S3::Bucket': { kind: 'S3 bucket', fill: '#d4edd0', shape: 'cylinder' },
  'AWS::SQS::Queue': { kind: 'SQS', fill: '#e3d7f3', shape: 'box' },
  'AWS::SNS::Topic': { kind: 'SNS', fill: '#f3e6c9', shape: 'box' },
  'AWS::CloudWatch::Dashboard': { kind: 'CloudWatch dashboard', fill: '#eeeeee', shape: 'box' },
};

/** Drawn as one node per construct ("12 alarms"), without edges: they watch nearly everything. */
const ALARM_TYPE = 'AWS::CloudWatch::Alarm';

/**
 * What lies outside the stack, drawn once, named by what the template shows of it. The connection's (the key's
 * secret, Purple Flea) are drawn beside its ledger, in the connection's box; the others together, in a box of their own.
 */
const EXTERNAL = {
  purpleFlea: { id: 'ext_purpleflea', label: 'Purple Flea API\n(HTTPS)', ofConnection: true },
  secret: { id: 'ext_secret', label: 'Secrets Manager\nAPI-key secret', ofConnection: true },
  sageMakerEvents: { id: 'ext_sagemaker_events', label: 'SageMaker\njob and package state changes', ofConnection: false },
  sageMakerApi: { id: 'ext_sagemaker_api', label: 'SageMaker API\n(InvokeEndpoint, Describe*)', ofConnection: false },
  eventBus: { id: 'ext_event_bus', label: 'EventBridge\ndefault bus', ofConnection: false },
} as const;

const CONNECTION_TYPE = 'PurpleFleaConnection';

export function architectureDot(): string {
  const app = buildSampleApp();
  const stack = app.node.findChild(SAMPLE_STACK_NAME) as Stack;
  const template = app.synth().getStackByName(SAMPLE_STACK_NAME).template;
  const resources = resourcesOf(stack, template.Resources);
  const byId = new Map(resources.map((r) => [r.logicalId, r]));
  // The library's constructs are drawn as boxes around their resources; the sample's own buckets are not.
  const libraryClasses: unknown[] = Object.values(library);
  const libraryConstructs = new Map(
    stack.node.children
      .filter((child) => libraryClasses.includes(child.constructor))
      .map((child) => [child.node.id, child.constructor.name]),
  );

  const drawn = resources.filter((r) => isDrawn(r));
  const drawnIds = new Set(drawn.map((r) => r.logicalId));
  const edges = new Set<string>();
  const externalUsed = new Set<string>();
  const edge = (from: string, to: string, attributes = '') => {
    if (from !== to) edges.add(`  ${quote(from)} -> ${quote(to)}${attributes ? ` [${attributes}]` : ''};`);
  };
  // Every money-moving function reaches the connection (its ledger, its key, Purple Flea): one edge per construct,
  // from the construct's box to the connection's, instead of three per function.
  const connectionOwner = [...libraryConstructs].find(([, type]) => type === CONNECTION_TYPE)?.[0];
  const connectionNode = drawn.find((r) => r.owner === connectionOwner)?.logicalId;
  const connectionUsers = new Map<string, string>();
  const usesConnection = (resource: Resource) => {
    if (!connectionUsers.has(resource.owner)) connectionUsers.set(resource.owner, resource.logicalId);
  };

  for (const resource of resources) {
    const props = resource.properties;
    switch (resource.type) {
      case 'AWS::Events::Rule':
        for (const target of props.Targets ?? []) {
          for (const id of refsIn(target.Arn)) if (drawnIds.has(id)) edge(resource.logicalId, id);
          for (const id of refsIn(target.DeadLetterConfig)) edge(resource.logicalId, id, 'style=dashed, label="undelivered"');
        }
        // A bucket named in the pattern sends its Object Created events here.
        for (const id of refsIn(props.EventPattern)) if (drawnIds.has(id)) edge(id, resource.logicalId, 'label="Object Created"');
        if (props.EventPattern?.source?.includes('aws.sagemaker')) {
          externalUsed.add(EXTERNAL.sageMakerEvents.id);
          edge(EXTERNAL.sageMakerEvents.id, resource.logicalId, 'label="Completed"');
        }
        break;
      case 'AWS::Lambda::EventInvokeConfig':
        for (const fn of refsIn(props.FunctionName)) {
          for (const id of refsIn(props.DestinationConfig)) edge(fn, id, 'style=dashed, label="on failure"');
        }
        break;
      case 'AWS::Lambda::Function':
      case 'AWS::StepFunctions::StateMachine': {
        if (!drawnIds.has(resource.logicalId)) break;
        const reached = new Set([
          ...refsIn(props.Environment),
          ...refsIn(props.DefinitionString),
          ...refsIn(policiesOf(resource, resources)),
        ]);
        for (const id of [...reached].sort()) {
          // Rules are drawn from their side; a dead-letter queue by its "on failure" edge; the ledger by the construct's.
          const type = drawnIds.has(id) ? byId.get(id)!.type : undefined;
          if (id === connectionNode) usesConnection(resource);
          else if (type !== undefined && type !== 'AWS::Events::Rule' && type !== 'AWS::SQS::Queue') edge(resource.logicalId, id);
        }
        for (const external of externalsOf(resource, resources)) {
          externalUsed.add(external.id);
          if (external.ofConnection && connectionNode !== undefined) usesConnection(resource);
          else edge(resource.logicalId, external.id);
        }
        break;
      }
    }
  }

  for (const [owner, from] of [...connectionUsers].sort()) {
    edge(from, connectionNode!, `ltail=${quote(`cluster_${owner}`)}, lhead=${quote(`cluster_${connectionOwner}`)}, color="#7a4fbf"`);
  }

  const externalLine = (external: { id: string; label: string }) =>
    `${quote(external.id)} [label=${quote(external.label)}, shape=box, style="dashed,rounded"];`;
  const lines = [
    'digraph architecture {',
    '  graph [rankdir=LR, compound=true, fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=0.6, labelloc=b, labeljust=l,',
    `         label=${quote(caption(resources, drawn))}];`,
    '  node [fontname="Helvetica", fontsize=10, style="filled,rounded", color="#555555"];',
    '  edge [fontname="Helvetica", fontsize=8, color="#555555", arrowsize=0.6];',
  ];
  const outside = Object.values(EXTERNAL).filter((external) => externalUsed.has(external.id) && !(external.ofConnection && connectionNode));
  if (outside.length > 0) {
    lines.push(
      '  subgraph "cluster_outside" {',
      '    label="Outside the stack"; style="dashed,rounded"; color="#999999"; fontcolor="#555555";',
      ...outside.map((external) => `    ${externalLine(external)}`),
      '  }',
    );
  }
  const owners = [...new Set(resources.map((r) => r.owner))].sort();
  for (const owner of owners) {
    const members = drawn.filter((r) => r.owner === owner);
    const alarms = resources.filter((r) => r.owner === owner && r.type === ALARM_TYPE).length;
    if (members.length === 0 && alarms === 0) continue;
    const typeName = libraryConstructs.get(owner);
    const body = members.map((r) => `    ${nodeLine(r)}`);
    // The connection's box holds what it stands for outside the stack: the key's secret and Purple Flea.
    if (owner === connectionOwner) {
      for (const external of Object.values(EXTERNAL))
        if (external.ofConnection && externalUsed.has(external.id)) body.push(`    ${externalLine(external)}`);
    }
    if (alarms > 0)
      body.push(`    ${quote(`alarms_${owner}`)} [label=${quote(`${alarms} CloudWatch alarms`)}, shape=note, fillcolor="#ffffff"];`);
    if (typeName !== undefined) {
      lines.push(
        `  subgraph ${quote(`cluster_${owner}`)} {`,
        `    label=${quote(`${owner} (${typeName})`)}; style="rounded"; color="#7a4fbf"; fontcolor="#4b2a86";`,
        ...body,
        '  }',
      );
    } else {
      lines.push(...body.map((line) => line.slice(2)));
    }
  }
  lines.push(...[...edges].sort(), '}');
  return `${lines.join('\n')}\n`;
}

export async function architectureSvg(): Promise<string> {
  // An ES module only: imported when drawing, not when the DOT text alone is wanted.
  const { Graphviz } = await import('@hpcc-js/wasm-graphviz');
  const graphviz = await Graphviz.load();
  return graphviz.dot(architectureDot(), 'svg');
}

function resourcesOf(stack: Stack, templateResources: { [id: string]: Json }): Resource[] {
  const pathOf = new Map<string, string>();
  for (const child of stack.node.findAll()) {
    if (CfnResource.isCfnResource(child)) pathOf.set(stack.resolve(child.logicalId), child.node.path);
  }
  return Object.entries(templateResources)
    .map(([logicalId, resource]) => {
      const path = (pathOf.get(logicalId) ?? `${stack.node.path}/${logicalId}`).split('/').slice(1);
      return {
        logicalId,
        type: resource.Type as string,
        properties: resource.Properties ?? {},
        owner: path[0],
        localPath: path
          .slice(1)
          .filter((part) => part !== 'Resource')
          .join('/'),
      };
    })
    .sort((a, b) => a.logicalId.localeCompare(b.logicalId));
}

/** aws-cdk-lib's own singleton helpers (the bucket-notifications function) are not part of the picture. */
function isDrawn(resource: Resource): boolean {
  if (!(resource.type in DRAWN)) return false;
  if (resource.type === 'AWS::Lambda::Function')
    return (
      resource.properties.Environment?.Variables?.[CONNECTION_ENV.baseUrl] !== undefined ||
      resource.properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME !== undefined
    );
  return true;
}

function nodeLine(resource: Resource): string {
  const style = DRAWN[resource.type];
  const name = resource.localPath || resource.owner;
  return `${quote(resource.logicalId)} [label=${quote(`${style.kind}\n${name}${detailOf(resource)}`)}, shape=${style.shape}, fillcolor=${quote(style.fill)}];`;
}

/** One line that says what the resource does, when the template says it plainly. */
function detailOf(resource: Resource): string {
  const props = resource.properties;
  if (resource.type === 'AWS::Events::Rule') {
    if (props.ScheduleExpression) return `\n${props.ScheduleExpression}`;
    const detailType = props.EventPattern?.['detail-type']?.[0];
    return detailType ? `\n${detailType}` : '';
  }
  if (resource.type === 'AWS::DynamoDB::Table') return '\naction ledger';
  if (resource.type === 'AWS::SQS::Queue' && /DeadLetter/.test(resource.localPath)) return '\n(dead letters)';
  return '';
}

/** The IAM policies attached to the resource's role: what it may reach. */
function policiesOf(resource: Resource, resources: Resource[]): Json[] {
  const roleIds = refsIn(resource.properties.Role ?? resource.properties.RoleArn);
  return resources
    .filter((r) => r.type === 'AWS::IAM::Policy' && refsIn(r.properties.Roles).some((id) => roleIds.includes(id)))
    .map((r) => r.properties.PolicyDocument);
}

/** Outside the stack: what the function's environment and policies name. */
function externalsOf(resource: Resource, resources: Resource[]): { readonly id: string; readonly ofConnection: boolean }[] {
  const variables = resource.properties.Environment?.Variables ?? {};
  const actions = new Set<string>(
    policiesOf(resource, resources).flatMap((document) => document.Statement.flatMap((statement: Json) => [statement.Action].flat())),
  );
  const found: { readonly id: string; readonly ofConnection: boolean }[] = [];
  if (variables[CONNECTION_ENV.baseUrl] !== undefined) found.push(EXTERNAL.purpleFlea);
  if (variables[CONNECTION_ENV.secretArn] !== undefined) found.push(EXTERNAL.secret);
  if ([...actions].some((action) => /^sagemaker:(InvokeEndpoint|Describe)/.test(action))) found.push(EXTERNAL.sageMakerApi);
  if (actions.has('events:PutEvents')) found.push(EXTERNAL.eventBus);
  return found;
}

/** The logical ids a template fragment refers to (Ref, Fn::GetAtt, and ${Id} inside Fn::Sub). */
function refsIn(value: Json): string[] {
  const found = new Set<string>();
  const walk = (node: Json): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    if (typeof node.Ref === 'string' && !node.Ref.startsWith('AWS::')) found.add(node.Ref);
    if (Array.isArray(node['Fn::GetAtt'])) found.add(node['Fn::GetAtt'][0]);
    if (node['Fn::Sub'] !== undefined) {
      const text = [node['Fn::Sub']].flat()[0];
      for (const match of String(text).matchAll(/\$\{([A-Za-z0-9]+)(\.[A-Za-z]+)?\}/g)) found.add(match[1]);
    }
    Object.values(node).forEach(walk);
  };
  walk(value);
  return [...found];
}

function caption(resources: Resource[], drawn: Resource[]): string {
  const notDrawn = new Map<string, number>();
  const drawnIds = new Set(drawn.map((r) => r.logicalId));
  for (const r of resources) {
    if (drawnIds.has(r.logicalId) || r.type === ALARM_TYPE) continue;
    notDrawn.set(r.type, (notDrawn.get(r.type) ?? 0) + 1);
  }
  const list = [...notDrawn.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([type, count]) => `${count} ${type}`);
  // Four types a line, each line left-justified (Graphviz's \\l).
  const rows = [];
  for (let i = 0; i < list.length; i += 4) rows.push(list.slice(i, i + 4).join(', '));
  return [
    `${SAMPLE_STACK_NAME}: ${resources.length} resources, drawn from its synthesized template by scripts/architecture.ts.`,
    'Not drawn:',
    ...rows,
  ]
    .map((row) => `${row}\\l`)
    .join('');
}

function quote(text: string): string {
  return `"${text.replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

if (require.main === module) {
  void architectureSvg().then((svg) => {
    if (process.argv.includes('--print')) {
      process.stdout.write(svg);
    } else {
      const file = join(__dirname, '..', 'docs', 'architecture.svg');
      writeFileSync(file, svg);
      console.log(`wrote ${file}`);
    }
  });
}
