import { PropsValidator } from './private/validation';

/**
 * How fast a batch construct may call Purple Flea: a number of requests per second, or per minute (Purple
 * Flea's published services limit each path per client IP in fixed 60-second windows: escrow create 20 a
 * minute, trade open 30 a minute). The whole run keeps to it, shared equally by the batches in flight.
 *
 * @example
 * RateLimit.perMinute(20) // escrow create's limit on the services
 */
export class RateLimit {
  /**
   * At most `requests` Purple Flea requests a second: greater than 0, at most 1000; known at synth.
   * @param requests requests a second
   */
  public static perSecond(requests: number): RateLimit {
    checkRequests('RateLimit.perSecond()', requests);
    return new RateLimit(requests, 'second');
  }

  /**
   * At most `requests` Purple Flea requests a minute: greater than 0, at most 60,000; known at synth.
   * `RateLimit.perMinute(20)` paces at one request every 3 seconds.
   * @param requests requests a minute
   */
  public static perMinute(requests: number): RateLimit {
    checkRequests('RateLimit.perMinute()', requests);
    return new RateLimit(requests, 'minute');
  }

  /** The number of requests of the limit, per `unit`. */
  public readonly requests: number;

  /** `second` or `minute`. */
  public readonly unit: string;

  private constructor(requests: number, unit: 'second' | 'minute') {
    this.requests = requests;
    this.unit = unit;
  }

  /** The limit in requests a second (`perMinute(20)`: 1/3). */
  public get requestsPerSecond(): number {
    return this.unit === 'minute' ? this.requests / 60 : this.requests;
  }

  /** The limit as written: `20/min`, `0.3/s`. */
  public toString(): string {
    return `${this.requests}/${this.unit === 'minute' ? 'min' : 's'}`;
  }
}

/**
 * A JavaScript caller's `requests` is there and a number. Its range is the batch construct's to check, which
 * knows the limit it must fit (and that it must be known at synth).
 */
function checkRequests(factory: string, requests: unknown): void {
  const v = new PropsValidator(factory).required('requests', requests);
  v.isOfType('requests', requests, 'number');
  v.throwIfInvalid();
}
