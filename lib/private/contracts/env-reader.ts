/**
 * Reading and writing handler environment variables, shared by the constructs (which write them)
 * and the handlers (which read them at cold start). Every reader fails loudly with the variable's name.
 */
export type Environment = { readonly [name: string]: string | undefined };

export class EnvironmentReader {
  constructor(
    private readonly env: Environment,
    private readonly handlerName: string,
  ) {}

  string(name: string): string {
    const value = this.env[name];
    if (value === undefined || value === '') {
      throw new Error(`${this.handlerName}: environment variable ${name} is missing`);
    }
    return value;
  }

  optionalString(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  number(name: string): number {
    return this.parseNumber(name, this.string(name));
  }

  optionalNumber(name: string): number | undefined {
    const raw = this.optionalString(name);
    return raw === undefined ? undefined : this.parseNumber(name, raw);
  }

  boolean(name: string): boolean {
    const raw = this.string(name);
    if (raw !== 'true' && raw !== 'false') {
      throw new Error(`${this.handlerName}: environment variable ${name} must be "true" or "false", got "${raw}"`);
    }
    return raw === 'true';
  }

  /** A switch written only when on: true when "true", undefined when absent (or empty or "false"). */
  flag(name: string): true | undefined {
    return this.optionalString(name) === undefined ? undefined : this.boolean(name) || undefined;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const raw = this.string(name);
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new Error(`${this.handlerName}: environment variable ${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
    }
    return raw as T;
  }

  /** One of `allowed`, or undefined when the variable is absent or empty. */
  optionalOneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    return this.optionalString(name) === undefined ? undefined : this.oneOf(name, allowed);
  }

  /** A variable that must not be set, `because` names why (e.g. another variable's value). */
  absent(name: string, because: string): void {
    if (this.optionalString(name) !== undefined) {
      throw new Error(`${this.handlerName}: environment variable ${name} must not be set: ${because}`);
    }
  }

  private parseNumber(name: string, raw: string): number {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) {
      throw new Error(`${this.handlerName}: environment variable ${name} must be a finite number, got "${raw}"`);
    }
    return value;
  }
}

/**
 * How a writer puts a number setting into its variable. The constructs pass one that keeps a CDK number
 * token (Lazy.number, a CfnParameter's valueAsNumber) a string in the template (numberInTemplate, in
 * lib/private/handler-environment.ts): alone in a variable, a token's `toString()` resolves back to a
 * number, which Lambda refuses. The handlers' tests write plain numbers.
 */
export type WriteNumber = (value: number) => string;

/** A number as the readers parse it: its decimal text. */
export const decimalText: WriteNumber = (value) => value.toString();

/** Drops undefined values so that optional settings are absent, not empty, in the template. */
export function compactEnvironment(env: { [name: string]: string | undefined }): { [name: string]: string } {
  const out: { [name: string]: string } = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined) out[name] = value;
  }
  return out;
}
