import { Duration, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * A construct's one dead-letter queue (`<scope>/DeadLetterQueue`), for the rule target's failed
 * deliveries and the function's failed async invocations: SQS-encrypted, TLS only, 14 days. It has no
 * dead-letter queue of its own (cdk-nag's SQS3), which it acknowledges: it is the dead-letter queue.
 */
export function newDeadLetterQueue(scope: Construct): sqs.Queue {
  const queue = new sqs.Queue(scope, 'DeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      "This queue is the dead-letter queue of the rule target and of the function's failed async invocations; " +
      'its messages are inspected by an operator (it has a depth alarm), not consumed.',
  });
  return queue;
}
