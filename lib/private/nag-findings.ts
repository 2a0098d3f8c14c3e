import { Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * The id of cdk-nag's `AwsSolutions-IAM5` finding for one wildcard resource, e.g.
 * `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:eu-west-1:123456789012:training-job/bonus-*]`,
 * so that a construct can acknowledge exactly that resource and nothing else.
 *
 * cdk-nag v3 acknowledges findings by exact id only. It names a resource by flattening its resolved
 * CloudFormation value (cdk-nag's `flattenCfnReference`): `Fn::Join` joined, `Ref` as `<Name>`,
 * `Fn::GetAtt` as `<Resource.Attribute>`. cdk-nag is a dev dependency, so this repeats that
 * flattening for the shapes `Stack.formatArn` produces; a test checks the result against cdk-nag.
 */
export function wildcardResourceFindingId(scope: IConstruct, resourceArn: string): string {
  return `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(resourceArn))}]`;
}

function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (node !== null && typeof node === 'object') {
    const value = node as { [key: string]: any };
    if (value['Fn::Join']) {
      const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (value['Fn::Sub']) return flatten(value['Fn::Sub']);
    if (value['Fn::GetAtt']) {
      const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (value['Fn::ImportValue']) return flatten(value['Fn::ImportValue']);
    if (value.Ref) return `<${flatten(value.Ref)}>`;
  }
  return JSON.stringify(node);
}
