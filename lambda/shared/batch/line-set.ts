/**
 * A set of source lines, one bit each, in pages of 65,536 lines allocated as they are used: what
 * Summarize remembers of a row between its passes (1M lines fit in 128 KiB). A line that is not a
 * safe integer from 0 up is never in the set.
 */
const PAGE_BITS = 16;
const PAGE_LINES = 2 ** PAGE_BITS;

export class LineSet {
  private readonly pages = new Map<number, Uint32Array>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(line: number): boolean {
    if (!LineSet.valid(line)) return false;
    const page = this.pages.get(Math.floor(line / PAGE_LINES));
    const bit = line % PAGE_LINES;
    return page !== undefined && (page[bit >>> 5] & (1 << (bit & 31))) !== 0;
  }

  /** Adds the line; false when it was there already (or cannot be). */
  add(line: number): boolean {
    if (!LineSet.valid(line)) return false;
    const index = Math.floor(line / PAGE_LINES);
    let page = this.pages.get(index);
    if (!page) {
      page = new Uint32Array(PAGE_LINES / 32);
      this.pages.set(index, page);
    }
    const bit = line % PAGE_LINES;
    const flag = 1 << (bit & 31);
    if ((page[bit >>> 5] & flag) !== 0) return false;
    page[bit >>> 5] |= flag;
    this.count += 1;
    return true;
  }

  /** Removes the line; false when it was not there. */
  delete(line: number): boolean {
    if (!this.has(line)) return false;
    const bit = line % PAGE_LINES;
    this.pages.get(Math.floor(line / PAGE_LINES))![bit >>> 5] &= ~(1 << (bit & 31));
    this.count -= 1;
    return true;
  }

  private static valid(line: number): boolean {
    return Number.isSafeInteger(line) && line >= 0;
  }
}
