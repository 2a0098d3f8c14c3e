import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IConstruct } from 'constructs';
import { wildcardResourceFindingId } from './nag-findings';

/** Statements whose resources must end in a wildcard, and why. */
export interface WildcardStatement {
  readonly actions: string[];
  readonly resources: string[];
  /** IAM conditions, e.g. `{StringLike: {'s3:prefix': ['scores/*']}}` to scope a ListBucket. */
  readonly conditions?: { [operator: string]: any };
  /** Why these resources cannot be named exactly: the reason of each resource's acknowledgment. */
  readonly reason: string;
}

export interface WildcardPolicyProps {
  readonly role: iam.IRole;
  readonly statements: WildcardStatement[];
  /** What must not run before the policy is in place (the function, the state machine). */
  readonly dependent: IConstruct;
}

/**
 * A policy of its own (`<scope>/<id>`) for statements whose resources end in a wildcard (objects under a
 * prefix, jobs whose names are known only when they run). Each wildcard resource is acknowledged on this
 * policy alone, by the id of cdk-nag's finding for exactly that resource, so the acknowledgment cannot
 * hide a wildcard that a user adds to the role.
 */
export function newWildcardPolicy(scope: Construct, id: string, props: WildcardPolicyProps): iam.Policy {
  const policy = new iam.Policy(scope, id, {
    roles: [props.role],
    statements: props.statements.map(({ actions, resources, conditions }) => new iam.PolicyStatement({ actions, resources, conditions })),
  });
  props.dependent.node.addDependency(policy);

  const reasons = new Map<string, string[]>();
  for (const { resources, reason } of props.statements) {
    for (const resource of resources) {
      const findingId = wildcardResourceFindingId(policy, resource);
      if (!findingId.includes('*')) continue;
      reasons.set(findingId, [...(reasons.get(findingId) ?? []), reason]);
    }
  }
  for (const [findingId, why] of reasons) {
    Validations.of(policy).acknowledge({ id: findingId, reason: why.join(' ') });
  }
  return policy;
}
