/**
 * The elements of a JSON array, read from a stream of text one element at a time: the document's own
 * top-level array (the Map's result files), or the arrays under some keys of its top-level object
 * (`notActedOn` in Prepare's report). Each element is yielded as its JSON text, so a reader holds one
 * element at a time, never the document.
 *
 * It tracks only what it needs (strings, nesting, the keys of the top-level object) and leaves every
 * element's own syntax to `JSON.parse`; a document that is not JSON fails there, or with an error here
 * when its brackets do not close.
 */

/** The longest element read (characters): a Map child's Output is at most 256 KiB, a report row much less. */
export const MAX_ELEMENT_CHARS = 16 * 1024 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

const isSpace = (code: number) => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

/**
 * Yields the text of each element of the target arrays. `keys` absent: the top-level value must be an
 * array, whose elements are yielded. `keys` given: the top-level value must be an object, and the elements
 * of the arrays under those keys are yielded, in document order (other keys are skipped).
 */
export async function* jsonArrayElements(text: AsyncIterable<string>, keys?: readonly string[]): AsyncGenerator<string> {
  // Open containers: true for an object.
  const stack: boolean[] = [];
  let inString = false;
  let escaped = false;
  /** The depth of the array whose elements are yielded, or -1 outside it. */
  let target = -1;
  /** The element being read: its text so far, and where it starts in this chunk (-1: not started). */
  let parts: string[] = [];
  let partsLength = 0;
  let start = -1;
  let reading = false;
  /** In the top-level object: expecting a key, and the last key read (its characters, unescaped naively). */
  let expectingKey = false;
  let keyStart = -1;
  let keyParts: string[] = [];
  let lastKey: string | undefined;
  let sawTop = false;

  for await (const chunk of text) {
    for (let i = 0; i < chunk.length; i++) {
      const code = chunk.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (code === BACKSLASH) escaped = true;
        else if (code === QUOTE) {
          inString = false;
          if (keyStart !== -1) {
            keyParts.push(chunk.slice(keyStart, i));
            lastKey = keyParts.join('');
            keyParts = [];
            keyStart = -1;
          }
        }
        continue;
      }
      const depth = stack.length;
      // An element of the target array begins at its first character that is not a space, a comma or the end.
      if (target !== -1 && depth === target && !reading && !isSpace(code) && code !== COMMA && code !== CLOSE_BRACKET) {
        reading = true;
        start = i;
      }
      switch (code) {
        case QUOTE:
          inString = true;
          if (keys && depth === 1 && stack[0] && expectingKey) {
            expectingKey = false;
            keyStart = i + 1;
          }
          break;
        case OPEN_BRACE:
        case OPEN_BRACKET: {
          if (depth === 0) {
            if (sawTop) throw new SyntaxError('more than one JSON value');
            sawTop = true;
            if (keys === undefined) {
              if (code !== OPEN_BRACKET) throw new SyntaxError('the document is not a JSON array');
              target = 1;
            } else {
              if (code !== OPEN_BRACE) throw new SyntaxError('the document is not a JSON object');
              expectingKey = true;
            }
          } else if (keys && depth === 1 && stack[0] && code === OPEN_BRACKET && lastKey !== undefined && keys.includes(lastKey)) {
            target = 2;
          }
          stack.push(code === OPEN_BRACE);
          break;
        }
        case CLOSE_BRACE:
        case CLOSE_BRACKET: {
          if (depth === 0 || stack[depth - 1] !== (code === CLOSE_BRACE)) throw new SyntaxError('unbalanced brackets');
          if (depth === target) {
            // The target array ends: its last element with it.
            if (reading) yield finish(chunk.slice(start, i));
            target = -1;
          }
          stack.pop();
          if (keys && stack.length === 1) lastKey = undefined;
          break;
        }
        case COMMA:
          if (depth === target && reading) yield finish(chunk.slice(start, i));
          if (keys && depth === 1) {
            expectingKey = true;
            lastKey = undefined;
          }
          break;
        case COLON:
          break;
        default:
          break;
      }
    }
    if (keyStart !== -1) {
      keyParts.push(chunk.slice(keyStart));
      keyStart = 0;
    }
    if (reading) {
      const rest = chunk.slice(start);
      parts.push(rest);
      partsLength += rest.length;
      start = 0;
      if (partsLength > MAX_ELEMENT_CHARS) throw new Error(`an element of the array is longer than ${MAX_ELEMENT_CHARS} characters`);
    }
  }
  if (inString || stack.length > 0) throw new SyntaxError('the document ends inside a value');
  if (!sawTop) throw new SyntaxError('the document is empty');

  function finish(last: string): string {
    parts.push(last);
    const element = parts.join('').trim();
    parts = [];
    partsLength = 0;
    start = -1;
    reading = false;
    return element;
  }
}
