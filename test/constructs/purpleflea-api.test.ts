import { CfnParameter } from 'aws-cdk-lib';
import { PurpleFleaApi, PurpleFleaApiProfile, ServicesApiOptions } from '../../lib';
import { PURPLEFLEA_API_DEFAULTS } from '../../lib/private/defaults';
import { newStack } from './fixtures';

describe('PurpleFleaApi.gateway()', () => {
  test("defaults to the gateway of the hand-written pattern: today's behaviour", () => {
    const api = PurpleFleaApi.gateway();
    expect({ ...api }).toEqual({
      profile: PurpleFleaApiProfile.GATEWAY,
      baseUrl: 'https://api.purpleflea.com',
      escrowUrl: undefined,
      casinoUrl: undefined,
      tradingUrl: undefined,
      faucetUrl: undefined,
      domainsUrl: undefined,
    });
    expect(api.baseUrl).toBe(PURPLEFLEA_API_DEFAULTS.baseUrl);
  });

  test('takes a base URL, without its trailing slashes', () => {
    expect(PurpleFleaApi.gateway({ baseUrl: 'https://gateway.example.com/v1//' }).baseUrl).toBe('https://gateway.example.com/v1');
  });

  test.each([
    'http://api.purpleflea.com',
    'http://localhost.example.com',
    'ftp://127.0.0.1',
    'https://user:pw@api.purpleflea.com',
    'not a url',
  ])('refuses the base URL %s, naming the factory, the option and the value', (baseUrl) => {
    expect(() => PurpleFleaApi.gateway({ baseUrl })).toThrow(
      `PurpleFleaApi.gateway(): baseUrl must be an https URL without credentials (plain http only to loopback: 127.0.0.0/8, localhost, [::1]), got ${JSON.stringify(baseUrl)}`,
    );
  });
});

describe('PurpleFleaApi.services()', () => {
  test('defaults to the public hosts of the published services (purpleflea-services.md §0)', () => {
    const api = PurpleFleaApi.services();
    expect({ ...api }).toEqual({
      profile: PurpleFleaApiProfile.SERVICES,
      baseUrl: undefined,
      escrowUrl: 'https://escrow.purpleflea.com',
      casinoUrl: 'https://casino.purpleflea.com/api/v1',
      tradingUrl: 'https://trading.purpleflea.com/v1',
      faucetUrl: 'https://faucet.purpleflea.com',
      domainsUrl: 'https://domains.purpleflea.com/v1',
    });
    const { baseUrl: _gatewayOnly, ...servicesDefaults } = PURPLEFLEA_API_DEFAULTS;
    expect({
      escrowUrl: api.escrowUrl,
      casinoUrl: api.casinoUrl,
      tradingUrl: api.tradingUrl,
      faucetUrl: api.faucetUrl,
      domainsUrl: api.domainsUrl,
    }).toEqual(servicesDefaults);
  });

  test('takes each URL, https or loopback http (a local sandbox, one port per service), without trailing slashes', () => {
    const api = PurpleFleaApi.services({
      escrowUrl: 'http://127.0.0.1:4001/',
      casinoUrl: 'http://localhost:4002/api/v1/',
      tradingUrl: 'http://[::1]:4003/v1',
      faucetUrl: 'https://faucet.example.com//',
      domainsUrl: 'http://127.0.0.1:4005/v1/',
    });
    expect({ ...api }).toEqual({
      profile: PurpleFleaApiProfile.SERVICES,
      baseUrl: undefined,
      escrowUrl: 'http://127.0.0.1:4001',
      casinoUrl: 'http://localhost:4002/api/v1',
      tradingUrl: 'http://[::1]:4003/v1',
      faucetUrl: 'https://faucet.example.com',
      domainsUrl: 'http://127.0.0.1:4005/v1',
    });
  });

  test.each<[keyof ServicesApiOptions, string]>([
    ['escrowUrl', 'http://escrow.purpleflea.com'],
    ['casinoUrl', 'http://10.0.0.1/api/v1'],
    ['tradingUrl', 'http://127.0.0.1.nip.io/v1'],
    ['faucetUrl', 'https://user:pw@faucet.purpleflea.com'],
    ['domainsUrl', 'http://domains.purpleflea.com/v1'],
  ])('refuses %s %s: https, or plain http to loopback only', (option, url) => {
    expect(() => PurpleFleaApi.services({ [option]: url })).toThrow(
      `PurpleFleaApi.services(): ${option} must be an https URL without credentials (plain http only to loopback: 127.0.0.0/8, localhost, [::1]), got ${JSON.stringify(url)}`,
    );
  });

  test('reports every invalid URL in one error', () => {
    expect(() => PurpleFleaApi.services({ escrowUrl: 'http://escrow.example.com', faucetUrl: 'nope' })).toThrow(
      /^PurpleFleaApi.services\(\) has 2 invalid props:\n {2}- escrowUrl must be .*, got "http:\/\/escrow.example.com"\n {2}- faucetUrl must be .*, got "nope"$/,
    );
  });

  test('a URL that is a CDK token is not checked, and is used as it is', () => {
    const stack = newStack();
    const escrowUrl = new CfnParameter(stack, 'EscrowUrl').valueAsString;
    const api = PurpleFleaApi.services({ escrowUrl });
    expect(api.escrowUrl).toBe(escrowUrl);
    expect(stack.resolve(api.escrowUrl)).toEqual({ Ref: 'EscrowUrl' });
    expect(stack.resolve(PurpleFleaApi.gateway({ baseUrl: escrowUrl }).baseUrl)).toEqual({ Ref: 'EscrowUrl' });
  });
});
