import fc from 'fast-check';
import { ModelOutputFormat, parseModelOutput } from '../../lambda/shared/model-output';

const json: ModelOutputFormat = { kind: 'JSON', directionField: 'direction', confidenceField: 'confidence' };
const csv: ModelOutputFormat = { kind: 'CSV', directionColumn: 0, confidenceColumn: 1 };

describe('parseModelOutput, JSON', () => {
  test.each([
    ['{"direction":"long","confidence":0.73}', 'long', 0.73],
    ['{"direction":"SHORT","confidence":"0.9"}', 'short', 0.9],
    ['[{"direction":"hold","confidence":0}]', 'hold', 0],
    ['{"direction":"long","confidence":1,"extra":{"a":1}}', 'long', 1],
  ])('%s reads as %s %d', (body, direction, confidence) => {
    expect(parseModelOutput(body, json)).toEqual({ ok: true, prediction: { direction, confidence } });
  });

  test('configurable and dotted field names', () => {
    const format: ModelOutputFormat = { kind: 'JSON', directionField: 'prediction.side', confidenceField: 'p' };
    expect(parseModelOutput('{"prediction":{"side":"short"},"p":0.61}', format)).toEqual({
      ok: true,
      prediction: { direction: 'short', confidence: 0.61 },
    });
  });

  test.each([
    ['{"confidence":0.8}', 'direction field "direction" is missing'],
    ['{"direction":"long"}', 'confidence field "confidence" is missing'],
    ['{"direction":"buy","confidence":0.8}', 'direction field "direction" must be one of long, short, hold, got "buy"'],
    ['{"direction":"long","confidence":1.5}', 'confidence field "confidence" must be a number between 0 and 1, got 1.5'],
    ['{"direction":"long","confidence":"NaN"}', 'got "NaN"'],
    ['{"direction":"long","confidence":-0.1}', 'got -0.1'],
    ['{"direction":"long","confidence":true}', 'got true'],
    ['{"direction":7,"confidence":0.9}', 'got 7'],
    ['{"direction":"long","confidence":NaN}', 'model output is not JSON'],
    ['<html>502 Bad Gateway</html>', 'model output is not JSON: "<html>502 Bad Gateway</html>"'],
    ['[1,2]', 'model output is not a JSON object'],
    ['null', 'model output is not a JSON object'],
  ])('%s is invalid: %s', (body, reason) => {
    const result = parseModelOutput(body, json);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });
});

describe('parseModelOutput, CSV', () => {
  test('reads the configured columns of the first line', () => {
    expect(parseModelOutput('long,0.73\n', csv)).toEqual({ ok: true, prediction: { direction: 'long', confidence: 0.73 } });
    const swapped: ModelOutputFormat = { kind: 'CSV', directionColumn: 2, confidenceColumn: 0 };
    expect(parseModelOutput('0.66,ignored,"short"\r\nhold,0.1', swapped)).toEqual({
      ok: true,
      prediction: { direction: 'short', confidence: 0.66 },
    });
  });

  test.each([
    ['long\n', 'confidence column 1 is missing'],
    ['', 'direction column 0 is missing'],
    ['long,abc', 'confidence column 1 must be a number between 0 and 1, got "abc"'],
    ['sell,0.9', 'direction column 0 must be one of long, short, hold, got "sell"'],
    ['long,"unterminated', 'model output is not CSV'],
  ])('%j is invalid: %s', (body, reason) => {
    const result = parseModelOutput(body, csv);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });
});

describe('parseModelOutput properties', () => {
  test('a valid prediction always parses back to itself, in JSON and in CSV', () => {
    fc.assert(
      fc.property(fc.constantFrom('long', 'short', 'hold'), fc.double({ min: 0, max: 1, noNaN: true }), (direction, confidence) => {
        const expected = { ok: true, prediction: { direction, confidence } };
        expect(parseModelOutput(JSON.stringify({ direction, confidence }), json)).toEqual(expected);
        expect(parseModelOutput(`${direction},${confidence}`, csv)).toEqual(expected);
      }),
    );
  });

  test('any body never throws, and what parses is within the rules', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (body) => {
        for (const format of [json, csv]) {
          const result = parseModelOutput(body, format);
          if (result.ok) {
            expect(['long', 'short', 'hold']).toContain(result.prediction.direction);
            expect(result.prediction.confidence).toBeGreaterThanOrEqual(0);
            expect(result.prediction.confidence).toBeLessThanOrEqual(1);
          } else {
            expect(result.reason.length).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  test('a confidence outside [0, 1] is never accepted', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double({ min: 1, minExcluded: true }), fc.double({ max: 0, maxExcluded: true })), (confidence) => {
        fc.pre(Number.isFinite(confidence) && (confidence < 0 || confidence > 1)); // -0 is not below 0
        expect(parseModelOutput(JSON.stringify({ direction: 'long', confidence }), json).ok).toBe(false);
      }),
    );
  });
});
