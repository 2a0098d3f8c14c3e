/**
 * A JSON number as written in the text. `JSON.parse` turns every number into a double, so that the ids
 * 9007199254740993 and 9007199254740992 become one; this keeps the literal, for fields that are
 * identities rather than quantities (a transaction id, an agent id). `value` is what `JSON.parse` gives.
 */
export class JsonNumber {
  constructor(readonly literal: string) {}

  get value(): number {
    return Number(this.literal);
  }

  /** Shown in messages as the number it is. */
  toJSON(): number {
    return this.value;
  }
}

/** A whole number written as digits, with no leading zero, `-0`, fraction or exponent: its literal is the id. */
export const WHOLE_NUMBER_LITERAL = /^(0|-?[1-9][0-9]*)$/;

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

/**
 * Parses JSON text as `JSON.parse` does (the same values, the same errors: it is checked by `JSON.parse`
 * first), except that every number is a `JsonNumber` holding its literal. Node 20 has no
 * `JSON.parse` reviver `context.source`, hence this small reader of text already known to be JSON.
 */
export function parseJsonKeepingNumbers(text: string): unknown {
  JSON.parse(text);
  let at = 0;
  const match = (pattern: RegExp): string => {
    pattern.lastIndex = at;
    const found = pattern.exec(text);
    if (!found) throw new SyntaxError(`unexpected JSON at position ${at}`);
    at += found[0].length;
    return found[0];
  };
  const skipWhitespace = () => match(WHITESPACE);
  // A string, from its opening quote to its closing one (the text is JSON: there is one), decoded by JSON.parse.
  const string = (): string => {
    let end = at + 1;
    for (let c = text.charCodeAt(end); c !== 0x22; c = text.charCodeAt(end)) end += c === 0x5c ? 2 : 1;
    const literal = text.slice(at, end + 1);
    at = end + 1;
    return JSON.parse(literal) as string;
  };
  const value = (): unknown => {
    skipWhitespace();
    const c = text[at];
    if (c === '{') {
      at++;
      // Defined, not assigned: a "__proto__" key is an own property, as with JSON.parse.
      const object: { [key: string]: unknown } = {};
      skipWhitespace();
      if (text[at] === '}') {
        at++;
        return object;
      }
      for (;;) {
        skipWhitespace();
        const key = string();
        skipWhitespace();
        at++; // ':'
        Object.defineProperty(object, key, { value: value(), enumerable: true, writable: true, configurable: true });
        skipWhitespace();
        if (text[at++] === '}') return object; // else ','
      }
    }
    if (c === '[') {
      at++;
      const array: unknown[] = [];
      skipWhitespace();
      if (text[at] === ']') {
        at++;
        return array;
      }
      for (;;) {
        array.push(value());
        skipWhitespace();
        if (text[at++] === ']') return array; // else ','
      }
    }
    if (c === '"') return string();
    if (text.startsWith('true', at)) return ((at += 4), true);
    if (text.startsWith('false', at)) return ((at += 5), false);
    if (text.startsWith('null', at)) return ((at += 4), null);
    return new JsonNumber(match(NUMBER));
  };
  return value();
}
