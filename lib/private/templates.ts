import { Token } from 'aws-cdk-lib';
import type { PropsValidator } from './validation';

/** The `{placeholder}`s a handler fills in a template, by name. */
export type Placeholders = readonly string[];

/** Matches any of `placeholders` in braces, e.g. `{jobName}` (global: for `replace`). */
export function placeholderPattern(placeholders: Placeholders): RegExp {
  return new RegExp(`\\{(?:${placeholders.join('|')})\\}`, 'g');
}

/**
 * Checks a template prop at synth: not empty, and its braces pair up around known placeholders only.
 * Records a problem for each unknown placeholder and each unbalanced brace; returns true when the
 * template is known (not a token) and valid, so that the caller may check what it renders.
 */
export function checkTemplate(v: PropsValidator, prop: string, template: string | undefined, placeholders: Placeholders): boolean {
  if (template === undefined || Token.isUnresolved(template)) return false;
  const got = `got ${JSON.stringify(template)}`;
  if (template.length === 0) {
    v.fail(`${prop} must not be empty, ${got}`);
    return false;
  }
  const allowed = placeholders.map((name) => `{${name}}`).join(', ');
  let valid = true;
  let position = 0;
  while (position < template.length) {
    const char = template[position];
    if (char === '}') {
      v.fail(`${prop} has an unbalanced "}" at position ${position}, ${got}`);
      valid = false;
      position += 1;
    } else if (char === '{') {
      const close = template.indexOf('}', position + 1);
      const nextOpen = template.indexOf('{', position + 1);
      if (close === -1 || (nextOpen !== -1 && nextOpen < close)) {
        v.fail(`${prop} has an unbalanced "{" at position ${position}, ${got}`);
        valid = false;
        position += 1;
      } else {
        const name = template.slice(position + 1, close);
        if (!placeholders.includes(name)) {
          v.fail(`${prop} uses the unknown placeholder {${name}} (allowed: ${allowed}), ${got}`);
          valid = false;
        }
        position = close + 1;
      }
    } else {
      position += 1;
    }
  }
  return valid;
}
