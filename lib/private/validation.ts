import { Duration, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/**
 * Collects every problem with a construct's props, then throws one Error naming each prop, its value
 * and why, e.g. `PredictToTrade 'Trader': confidenceThreshold must be between 0 and 1, got 1.5`.
 *
 * Values that are CDK tokens (a CfnParameter, another construct's attribute) are not known until
 * deployment, so the checks that need a value skip them.
 */
export class PropsValidator {
  private readonly problems: string[] = [];

  /**
   * @param constructName what the props are of: a construct's name, or a factory's (`PurpleFleaApi.services()`)
   * @param id the construct's id; a factory has none
   */
  constructor(
    private readonly constructName: string,
    private readonly id?: string,
  ) {}

  /**
   * A prop the construct cannot do without: `<prop> is required` when it is missing. TypeScript and jsii
   * catch that at compile time; a JavaScript caller finds out here, before anything reads it.
   */
  public required(prop: string, value: unknown): this {
    if (value === undefined || value === null) this.problems.push(`${prop} is required`);
    return this;
  }

  /**
   * Records `<prop> <why>, got <value>` unless `ok`. A token value is never checked; nor is a missing one
   * (null too, which the constructors read as left out; `required` reports a missing required prop).
   */
  public check(prop: string, value: unknown, ok: (value: any) => boolean, why: string): this {
    if (value === undefined || value === null || isToken(value)) return this;
    if (!ok(value)) this.problems.push(`${prop} ${why}, got ${describe(value)}`);
    return this;
  }

  /**
   * A string, for which `ok` holds (when given). A value of another type is reported as such
   * (`must be a string, got 5 (a number)`), never handed to `ok`.
   */
  public string(prop: string, value: string | undefined): this;
  public string(prop: string, value: string | undefined, ok: (value: string) => boolean, why: string): this;
  public string(prop: string, value: string | undefined, ok?: (value: string) => boolean, why?: string): this {
    if (!this.isOfType(prop, value, 'string') || ok === undefined) return this;
    return this.check(prop, value, ok, why!);
  }

  /** A finite number in [min, max] (bounds optional); `integer` also requires a whole number. */
  public number(prop: string, value: number | undefined, range: NumberRange = {}): this {
    if (!this.isOfType(prop, value, 'number')) return this;
    return this.check(prop, value, (v: number) => isInRange(v, range), describeRange(range));
  }

  /** A string matching `pattern`. */
  public matches(prop: string, value: string | undefined, pattern: RegExp, why: string): this {
    return this.string(prop, value, (v: string) => pattern.test(v), why);
  }

  /** A duration in [min, max]. */
  public duration(prop: string, value: Duration | undefined, min: Duration, max: Duration): this {
    if (!this.isDuration(prop, value) || value.isUnresolved()) return this;
    const seconds = value.toSeconds({ integral: false });
    if (seconds < min.toSeconds() || seconds > max.toSeconds()) {
      this.problems.push(`${prop} must be between ${min.toHumanString()} and ${max.toHumanString()}, got ${value.toHumanString()}`);
    }
    return this;
  }

  /**
   * True for a `Duration`; records `must be a Duration` for a value of another type (a JavaScript caller's
   * `30` for `Duration.seconds(30)`); false for a missing one.
   */
  public isDuration(prop: string, value: unknown): value is Duration {
    if (value === undefined || value === null) return false;
    if (value instanceof Duration) return true;
    this.problems.push(`${prop} must be a Duration (e.g. Duration.minutes(5)), got ${describeWithType(value)}`);
    return false;
  }

  /** An object of the kind `is` recognizes, named by `what` (`a PurpleFleaConnection`). */
  public instance(prop: string, value: unknown, is: (value: unknown) => boolean, what: string): this {
    if (value === undefined || value === null || is(value)) return this;
    this.problems.push(`${prop} must be ${what}, got ${describeWithType(value)}`);
    return this;
  }

  /** A list (a JavaScript array) of `items`, a plural (`bonus tiers`). */
  public list(prop: string, value: unknown, items: string): this {
    return this.instance(prop, value, Array.isArray, `a list of ${items}`);
  }

  /** True when the value is given, known at synth and of `type`; records a value of another type. */
  public isOfType(prop: string, value: unknown, type: 'string' | 'number'): boolean {
    if (value === undefined || value === null || isToken(value)) return false;
    if (typeof value === type) return true;
    this.problems.push(`${prop} must be a ${type}, got ${describeWithType(value)}`);
    return false;
  }

  /** Two props that cannot be given together. */
  public notBoth(propA: string, a: unknown, propB: string, b: unknown, why?: string): this {
    if (a !== undefined && b !== undefined) {
      this.problems.push(`${propA} and ${propB} cannot both be given${why ? `: ${why}` : ''}`);
    }
    return this;
  }

  /**
   * Two props whose values must differ (e.g. two fields of one JSON object), reported as
   * `<propA> <why>, got <propA> <a> and <propB> <b>`. Tokens are never compared: two props given the
   * same token may still differ once deployed, and two different tokens may resolve to the same value.
   */
  public different(propA: string, a: unknown, propB: string, b: unknown, why: string): this {
    if (a === undefined || b === undefined || isToken(a) || isToken(b)) return this;
    if (a === b) this.problems.push(`${propA} ${why}, got ${propA} ${describe(a)} and ${propB} ${describe(b)}`);
    return this;
  }

  /** A prop the construct sets itself and will not take from the user. */
  public notAllowed(prop: string, value: unknown, why: string): this {
    if (value !== undefined) this.problems.push(`${prop} cannot be set: ${why}`);
    return this;
  }

  /** A problem found by the caller's own logic. */
  public fail(problem: string): this {
    this.problems.push(problem);
    return this;
  }

  /** Throws one Error listing every problem, if there were any. */
  public throwIfInvalid(): void {
    if (this.problems.length === 0) return;
    const where = this.id === undefined ? this.constructName : `${this.constructName} '${this.id}'`;
    if (this.problems.length === 1) {
      throw new Error(`${where}: ${this.problems[0]}`);
    }
    throw new Error(`${where} has ${this.problems.length} invalid props:\n${this.problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * The props a constructor was given, or none: a JavaScript caller may leave out the whole props object, and
 * is then told each required prop, as for `{}`.
 */
export function givenProps<T extends object>(props: T | undefined): T {
  return props ?? ({} as T);
}

export interface NumberRange {
  readonly min?: number;
  readonly max?: number;
  /** The value must be strictly greater than `min`. */
  readonly minExclusive?: boolean;
  readonly integer?: boolean;
}

/** True for a finite number (not a token) in the range. */
export function isInRange(value: unknown, { min, max, minExclusive, integer }: NumberRange): boolean {
  return (
    typeof value === 'number' &&
    !isToken(value) &&
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    (min === undefined || (minExclusive ? value > min : value >= min)) &&
    (max === undefined || value <= max)
  );
}

/** True for a value that is (or contains) an unresolved CDK token. */
export function isToken(value: unknown): boolean {
  if (value instanceof Duration) return value.isUnresolved();
  return Token.isUnresolved(value);
}

function describeRange({ min, max, minExclusive, integer }: NumberRange): string {
  const kind = integer ? 'an integer' : 'a number';
  if (min !== undefined && max !== undefined) {
    if (minExclusive) return `must be ${kind} greater than ${min} and at most ${max}`;
    return integer ? `must be an integer between ${min} and ${max}` : `must be between ${min} and ${max}`;
  }
  if (min !== undefined) return minExclusive ? `must be ${kind} greater than ${min}` : `must be ${kind} of at least ${min}`;
  if (max !== undefined) return `must be ${kind} of at most ${max}`;
  return integer ? 'must be an integer' : 'must be a finite number';
}

/** The value, and its JavaScript type when that is the problem: `"50" (a string)`. */
function describeWithType(value: unknown): string {
  const type = Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  return `${describe(value)} (${type})`;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Duration) return value.toHumanString();
  // By its path: as JSON, a construct is its whole tree.
  if (Construct.isConstruct(value)) return value.node.path;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
