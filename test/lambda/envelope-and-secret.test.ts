import { parseEnvelope } from '../../lambda/predict-to-trade/envelope';
import { backoffDelayMs } from '../../lambda/shared/backoff';
import { parseSecretString } from '../../lambda/shared/purpleflea-credentials';

const format = { apiKeyField: 'key', agentIdField: 'agent_id' };

describe('parseSecretString', () => {
  test('a JSON object gives the key and the agent id from the configured fields', () => {
    expect(parseSecretString('{"key":"pf_live_abc","agent_id":"agt_trader"}', format)).toEqual({
      apiKey: 'pf_live_abc',
      agentIdFromSecret: 'agt_trader',
    });
    expect(parseSecretString('{"apiKey":"k1","agent":"ag_1"}', { apiKeyField: 'apiKey', agentIdField: 'agent' })).toEqual({
      apiKey: 'k1',
      agentIdFromSecret: 'ag_1',
    });
  });

  test('any other string is the key itself', () => {
    expect(parseSecretString('pf_live_plain\n', format)).toEqual({ apiKey: 'pf_live_plain' });
    expect(parseSecretString('"quoted"', format)).toEqual({ apiKey: '"quoted"' });
  });

  test('a JSON object without the key field fails naming the field, never the value', () => {
    const secret = '{"token":"pf_live_should_not_leak"}';
    expect(() => parseSecretString(secret, format)).toThrow('without a non-empty string field "key"');
    try {
      parseSecretString(secret, format);
    } catch (error) {
      expect((error as Error).message).not.toContain('pf_live_should_not_leak');
    }
  });
});

describe('parseEnvelope', () => {
  const valid = { eventId: 'e-1', eventTime: '2026-11-28T10:00:00Z', ruleArn: 'arn:aws:events:us-east-1:1:rule/r', features: { rsi: 41 } };

  test('accepts the input transformer envelope', () => {
    const parsed = parseEnvelope(valid);
    expect(parsed).toEqual({ ok: true, envelope: { ...valid, eventTimeMs: Date.parse(valid.eventTime) } });
  });

  test.each([
    [undefined, 'the event is not an object'],
    [{ ...valid, eventId: '' }, "the event's eventId must be a non-empty string"],
    [{ ...valid, ruleArn: 42 }, "the event's ruleArn must be a non-empty string, got 42"],
    [{ ...valid, eventTime: 'yesterday' }, 'eventTime is not a timestamp: "yesterday"'],
    [{ ...valid, features: null }, 'the event has no features'],
  ])('rejects %j', (event, reason) => {
    const parsed = parseEnvelope(event);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toContain(reason);
  });
});

describe('backoffDelayMs', () => {
  test('full jitter under a doubling ceiling capped at the maximum', () => {
    expect(backoffDelayMs(0, 1000, 60_000, () => 0.999)).toBe(999);
    expect(backoffDelayMs(3, 1000, 60_000, () => 0.5)).toBe(4000);
    expect(backoffDelayMs(10, 1000, 60_000, () => 0.999)).toBe(59_940);
    expect(backoffDelayMs(10, 1000, 60_000, () => 0)).toBe(0);
  });
});

describe('parseSecretString: a broken JSON object', () => {
  test('is an error naming no value, never sent whole as the key', () => {
    const broken = '{"key":"pf_live_secret_value",}';
    expect(() => parseSecretString(broken, format)).toThrow('looks like a JSON object but does not parse');
    try {
      parseSecretString(broken, format);
    } catch (error) {
      expect((error as Error).message).not.toContain('pf_live_secret_value');
    }
  });
});

describe('parseSecretString: finding 8, the key can never become the agent id', () => {
  const KEY_VALUE = 'pf_live_must_not_leak';

  /** The error parseSecretString throws, checked to hold no value read from the secret. */
  function refusal(secret: string, fields: { apiKeyField: string; agentIdField: string }): string {
    let message: string | undefined;
    try {
      parseSecretString(secret, fields);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBeDefined();
    expect(message).not.toContain(KEY_VALUE);
    return message!;
  }

  test('finding 8: equal apiKeyField and agentIdField are refused, naming the fields and no value', () => {
    const fields = { apiKeyField: 'key', agentIdField: 'key' };
    expect(refusal(JSON.stringify({ key: KEY_VALUE }), fields)).toBe(
      'the Purple Flea API-key secret\'s fields are misconfigured: agentIdField and apiKeyField both name "key", so the key would be read as the agent id',
    );
    // A bare-string secret has no agent id field, but the configuration is just as wrong.
    expect(refusal(KEY_VALUE, fields)).toContain('agentIdField and apiKeyField both name "key"');
  });

  test('finding 8: an agent id field that holds the key itself is refused, naming the fields and no value', () => {
    const message = refusal(JSON.stringify({ key: KEY_VALUE, agent_id: `  ${KEY_VALUE} ` }), format);
    expect(message).toBe(
      'the Purple Flea API-key secret\'s field "agent_id" holds the same value as its field "key" (the API key): it is not read as the agent id',
    );
  });
});
