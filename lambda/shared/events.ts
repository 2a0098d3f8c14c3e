import {
  EventBridgeClient,
  PutEventsCommand,
  PutEventsCommandInput,
  PutEventsCommandOutput,
  PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';

/** One PutEvents call: what a handler that announces an outcome needs of EventBridge (a unit test may fake it). */
export type PutEvents = (input: PutEventsCommandInput) => Promise<Pick<PutEventsCommandOutput, 'FailedEntryCount' | 'Entries'>>;

/** PutEvents through the EventBridge client. */
export function putEventsWith(client: EventBridgeClient): PutEvents {
  return (input) => client.send(new PutEventsCommand(input));
}

/** Puts one event; a failed entry is thrown as `PutEvents failed for <what>: <its error code>`. */
export async function putOneEvent(putEvents: PutEvents, entry: PutEventsRequestEntry, what: string): Promise<void> {
  const result = await putEvents({ Entries: [entry] });
  if (result.FailedEntryCount) throw new Error(`PutEvents failed for ${what}: ${result.Entries?.[0]?.ErrorCode ?? 'unknown error'}`);
}
