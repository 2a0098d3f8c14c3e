import { Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/**
 * A name as SageMaker writes it in ARNs: in lower case (IAM compares ARNs case-sensitively). A token
 * cannot be lower-cased at synth and is used as it is.
 */
export function sageMakerNameInArn(name: string): string {
  return Token.isUnresolved(name) ? name : name.toLowerCase();
}

/** `arn:<partition>:sagemaker:<region>:<account>:<resource>/<resourceName>` in the scope's stack. */
export function sageMakerArn(scope: Construct, resource: string, resourceName: string): string {
  return Stack.of(scope).formatArn({ service: 'sagemaker', resource, resourceName });
}
