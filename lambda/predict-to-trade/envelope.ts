/**
 * The one shape the rule's input transformer hands the handler, for a schedule and for an event
 * pattern alike: `{eventId, eventTime, ruleArn, features}`.
 */
export interface TradeEnvelope {
  readonly eventId: string;
  readonly eventTime: string;
  readonly eventTimeMs: number;
  readonly ruleArn: string;
  readonly features: unknown;
}

export type ParsedEnvelope = { readonly ok: true; readonly envelope: TradeEnvelope } | { readonly ok: false; readonly reason: string };

export function parseEnvelope(event: unknown): ParsedEnvelope {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    return { ok: false, reason: 'the event is not an object {eventId, eventTime, ruleArn, features}' };
  }
  const { eventId, eventTime, ruleArn, features } = event as { [key: string]: unknown };
  for (const [name, value] of Object.entries({ eventId, eventTime, ruleArn })) {
    if (typeof value !== 'string' || value.trim() === '') {
      return { ok: false, reason: `the event's ${name} must be a non-empty string, got ${JSON.stringify(value) ?? 'nothing'}` };
    }
  }
  const eventTimeMs = Date.parse(eventTime as string);
  if (Number.isNaN(eventTimeMs)) return { ok: false, reason: `the event's eventTime is not a timestamp: ${JSON.stringify(eventTime)}` };
  if (features === undefined || features === null) return { ok: false, reason: 'the event has no features for the model' };
  return {
    ok: true,
    envelope: { eventId: eventId as string, eventTime: eventTime as string, eventTimeMs, ruleArn: ruleArn as string, features },
  };
}
