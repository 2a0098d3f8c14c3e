import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

/** One metric of a widget as CloudWatch reads it. */
export interface DashboardMetric {
  readonly namespace: string;
  readonly metricName: string;
  /** A reference to a resource is its logical id; a `Fn::GetAtt` is `<logical id>.<attribute>`. */
  readonly dimensions: { [name: string]: string };
  readonly stat?: string;
  /** In seconds (aws-cdk-lib leaves out the default, 300). */
  readonly period: number;
  readonly label?: string;
}

export interface DashboardWidget {
  readonly type: string;
  readonly title?: string;
  readonly markdown?: string;
  readonly view?: string;
  readonly setPeriodToTimeRange?: boolean;
  readonly width: number;
  readonly height: number;
  readonly metrics: DashboardMetric[];
}

/** One construct's widgets: those from its title (`### <kind> \`<path>\``) to the next title. */
export interface DashboardSection {
  readonly title: string;
  readonly widgets: DashboardWidget[];
}

/**
 * The widgets of the stack's one dashboard, its body rendered as CloudWatch gets it: references become
 * logical ids, `AWS::Region` the stack's region.
 */
export function dashboardWidgets(stack: Stack): DashboardWidget[] {
  const dashboards = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'));
  if (dashboards.length !== 1) throw new Error(`expected one dashboard, found ${dashboards.length}`);
  const body = dashboards[0].Properties.DashboardBody;
  const parts: unknown[] = typeof body === 'string' ? [body] : body['Fn::Join'][1];
  const text = parts
    .map((part: any) => {
      if (typeof part === 'string') return part;
      if (part.Ref === 'AWS::Region') return stack.region;
      if (part.Ref !== undefined) return part.Ref;
      if (part['Fn::GetAtt'] !== undefined) return part['Fn::GetAtt'].join('.');
      throw new Error(`cannot render ${JSON.stringify(part)} in a dashboard body`);
    })
    .join('');
  return JSON.parse(text).widgets.map((widget: any) => ({
    type: widget.type,
    title: widget.properties.title,
    markdown: widget.properties.markdown,
    view: widget.properties.view,
    setPeriodToTimeRange: widget.properties.setPeriodToTimeRange,
    width: widget.width,
    height: widget.height,
    metrics: (widget.properties.metrics ?? []).map(parseMetric),
  }));
}

export function dashboardSections(stack: Stack): DashboardSection[] {
  const sections: DashboardSection[] = [];
  for (const widget of dashboardWidgets(stack)) {
    if (widget.type === 'text' && widget.markdown?.startsWith('### ')) {
      sections.push({ title: widget.markdown.slice(4), widgets: [] });
    } else {
      if (sections.length === 0) throw new Error(`a widget before any section title: ${JSON.stringify(widget)}`);
      sections[sections.length - 1].widgets.push(widget);
    }
  }
  return sections;
}

/** `[namespace, name, dimension, value, ..., options?]`, as aws-cdk-lib writes a widget's metric. */
function parseMetric(entry: unknown[]): DashboardMetric {
  const options = typeof entry[entry.length - 1] === 'object' ? (entry[entry.length - 1] as any) : {};
  const names = entry.filter((item) => typeof item === 'string') as string[];
  if (names.some((name) => name === '...')) throw new Error(`a metric in shorthand: ${JSON.stringify(entry)}`);
  const [namespace, metricName, ...pairs] = names;
  const dimensions: { [name: string]: string } = {};
  for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i]] = pairs[i + 1];
  return { namespace, metricName, dimensions, stat: options.stat, period: options.period ?? 300, label: options.label };
}
