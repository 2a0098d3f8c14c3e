import fc from 'fast-check';
import { JsonNumber, parseJsonKeepingNumbers } from '../../lambda/shared/exact-json';

/** The value with every JsonNumber as the number JSON.parse makes of it. */
const asParsed = (value: unknown): unknown => {
  if (value instanceof JsonNumber) return value.value;
  if (Array.isArray(value)) return value.map(asParsed);
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: unknown } = {};
    for (const [key, inner] of Object.entries(value))
      Object.defineProperty(out, key, { value: asParsed(inner), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
};

describe('parseJsonKeepingNumbers', () => {
  test('numbers keep their literal: ids beyond 2^53 stay distinct', () => {
    const parsed = parseJsonKeepingNumbers('{"a":9007199254740993,"b":[9007199254740992,-0.5e-3],"c":{"d":1E400}}') as any;
    expect(parsed.a).toEqual(new JsonNumber('9007199254740993'));
    expect(parsed.b.map((n: JsonNumber) => n.literal)).toEqual(['9007199254740992', '-0.5e-3']);
    expect(parsed.c.d.literal).toBe('1E400');
    expect(parsed.c.d.value).toBe(Infinity);
  });

  test('strings with escapes, whitespace, "__proto__" as an own key, duplicate keys (the last wins), as JSON.parse', () => {
    const text =
      ' { "s" : "a\\"b\\\\\\u00e9\\n" , "__proto__" : 1 , "k": 1, "k": "two", "e": [ ], "o": { } , "t": true, "f": false, "n": null } ';
    expect(asParsed(parseJsonKeepingNumbers(text))).toStrictEqual(JSON.parse(text));
    expect(Object.getPrototypeOf(parseJsonKeepingNumbers('{"__proto__":{"x":1}}'))).toBe(Object.prototype);
  });

  test('text that is not JSON throws as JSON.parse does', () => {
    for (const text of ['{"a":', '[1,]', '01', '"x', 'NaN', '{"a":1}x']) expect(() => parseJsonKeepingNumbers(text)).toThrow(SyntaxError);
  });

  test('property: the same values as JSON.parse, numbers aside; every literal reads back as JSON.parse reads it', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 2), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        expect(asParsed(parseJsonKeepingNumbers(text))).toStrictEqual(JSON.parse(text));
      }),
      { numRuns: 1000 },
    );
  });
});
