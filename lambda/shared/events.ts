import { EventBridgeClient, PutEventsCommand, PutEventsCommandInput, PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';

/** One PutEvents call: what a handler that announces an outcome needs of EventBridge (a unit test may fake it). */
export type PutEvents = (input: PutEventsCommandInput) => Promise<Pick<PutEventsCommandOutput, 'FailedEntryCount' | 'Entries'>>;

/** PutEvents through the EventBridge client. */
export function putEventsWith(client: EventBridgeClient): PutEvents {
  return (input) => client.send(new PutEventsCommand(input));
}
