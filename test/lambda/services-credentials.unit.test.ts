/**
 * The services profile's keys: the trading key is read from its secret (the connection's, or a second one) as
 * two required fields, and a missing or bad field is an error that names the field and the secret, never a value.
 */
import { parseSecretString, TRADING_KEY_READING } from '../../lambda/shared/purpleflea-credentials';

const tradingFields = { apiKeyField: 'trading_key', agentIdField: 'trading_agent_id' };
const SECRET_VALUES = ['sk_live_casino_value', 'sk_trade_secret_value', 'ag_0123456789ab'];

/** The error `read` throws, checked to quote none of the secret's values. */
function errorOf(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    const message = (error as Error).message;
    for (const value of SECRET_VALUES) expect(message).not.toContain(value);
    return message;
  }
  throw new Error('expected an error');
}

describe('the trading key, read from its secret', () => {
  test("from the connection's secret: its own two fields beside the casino key", () => {
    const secret = JSON.stringify({
      key: 'sk_live_casino_value',
      agent_id: 'ag_aaaaaaaaaaaa',
      trading_key: 'sk_trade_secret_value',
      trading_agent_id: 'ag_0123456789ab',
    });
    expect(parseSecretString(secret, tradingFields, TRADING_KEY_READING)).toEqual({
      apiKey: 'sk_trade_secret_value',
      agentIdFromSecret: 'ag_0123456789ab',
    });
  });

  test('a missing trading key field is an error naming the field', () => {
    const secret = JSON.stringify({ key: 'sk_live_casino_value', agent_id: 'ag_aaaaaaaaaaaa', trading_agent_id: 'ag_0123456789ab' });
    expect(errorOf(() => parseSecretString(secret, tradingFields, TRADING_KEY_READING))).toBe(
      'the Purple Flea trading-key secret is a JSON object without a non-empty string field "trading_key"',
    );
  });

  test('a missing or invalid trading agent id field is an error naming the field, never the value', () => {
    const without = JSON.stringify({ trading_key: 'sk_trade_secret_value' });
    expect(errorOf(() => parseSecretString(without, tradingFields, TRADING_KEY_READING))).toBe(
      'the Purple Flea trading-key secret is a JSON object without a non-empty string field "trading_agent_id"',
    );
    const invalid = JSON.stringify({ trading_key: 'sk_trade_secret_value', trading_agent_id: 'not an id sk_live_casino_value' });
    expect(errorOf(() => parseSecretString(invalid, tradingFields, TRADING_KEY_READING))).toContain(
      'the Purple Flea trading-key secret\'s field "trading_agent_id" does not hold a valid agent id',
    );
  });

  test('a plain string cannot hold the trading key: it is an error, never sent as the key', () => {
    expect(errorOf(() => parseSecretString('sk_trade_secret_value', tradingFields, TRADING_KEY_READING))).toBe(
      'the Purple Flea trading-key secret must be a JSON object with the fields "trading_key" and "trading_agent_id"',
    );
  });

  test('the agent id field holding the key itself is refused, as for the connection key', () => {
    const same = JSON.stringify({ trading_key: 'sk_trade_secret_value', trading_agent_id: 'sk_trade_secret_value' });
    expect(errorOf(() => parseSecretString(same, tradingFields, TRADING_KEY_READING))).toContain(
      'holds the same value as its field "trading_key"',
    );
  });

  test("the connection's key is read as before: a plain string is the key, the agent id optional", () => {
    expect(parseSecretString('sk_live_casino_value', { apiKeyField: 'key', agentIdField: 'agent_id' })).toEqual({
      apiKey: 'sk_live_casino_value',
    });
    expect(parseSecretString('{"key":"k"}', { apiKeyField: 'key', agentIdField: 'agent_id' })).toEqual({
      apiKey: 'k',
      agentIdFromSecret: undefined,
    });
  });
});
