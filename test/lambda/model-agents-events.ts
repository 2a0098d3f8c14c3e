/**
 * What the ModelAgents handler tests share: a training job's Completed event, and a way to run the bundled handler that
 * keeps every result and error, for the tests that search all of them for an agent's or the domains account's key.
 */
import { FAKE_ACCOUNT_ID, FAKE_REGION } from '../support/fake-aws';
import { lambdaContext } from './handler-harness';

export type ModelAgentsHandler = (event: unknown, context: unknown) => Promise<{ status: string; [key: string]: any }>;

/** A training job of the fake account, its ARN as SageMaker writes it (lower case), and its Completed event. */
export function completedTrainingJob(name: string) {
  const arn = `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:training-job/${name.toLowerCase()}`;
  return {
    name,
    arn,
    event: {
      'detail-type': 'SageMaker Training Job State Change',
      'source': 'aws.sagemaker',
      'detail': { TrainingJobName: name, TrainingJobArn: arn, TrainingJobStatus: 'Completed' },
    },
  };
}

/** Runs a handler, pushing its result (as JSON) or its error (with its stack) onto the lists, for the search for keys. */
export function keepingEverything(results: string[], errors: string[]) {
  return async function run(handler: ModelAgentsHandler, event: unknown): Promise<{ status: string; [key: string]: any }> {
    try {
      const result = await handler(event, lambdaContext());
      results.push(JSON.stringify(result));
      return result;
    } catch (error) {
      errors.push(`${(error as Error).name}: ${(error as Error).message}\n${(error as Error).stack}`);
      throw error;
    }
  };
}
