/**
 * The keys (agent ids, transaction ids) that appear on more than one row of a source read twice, in
 * memory that does not grow with the source: every row of such a key is INVALID, and its reason names
 * the key's lines.
 *
 * Why two passes: the first row of a key is only known to be a repeat when a later row repeats it, and
 * by then it has been read; keeping every key seen would grow with the file (about 100 bytes a row). So
 * the first pass ({@link see}) keeps a Bloom filter of fixed size of the keys seen, and the exact lines
 * of each key the filter says it has seen before: the repeated keys, plus the filter's false positives
 * (at 2^28 bits and 7 probes: none expected in 1M distinct keys, about 50 in 10M, 2,000 in 17M, the largest
 * file a run takes; 70,000 in 30M). The second
 * pass ({@link repeatsOf}), in the same order, meets each of those keys' first row first, and completes
 * its lines: a false positive then has one line, and is no repeat. Memory: the filter, and the lines
 * of the keys that do repeat (at most {@link LISTED_LINES} kept each, with their count).
 */

/** The lines a reason names, at most; past them, it says how many there are in all. */
export const LISTED_LINES = 20;

/** The filter's size: 2^28 bits (32 MiB), whatever the source's size. */
export const FILTER_BITS_LOG2 = 28;
const PROBES = 7;

interface Suspect {
  /** The first LISTED_LINES lines, in file order. */
  lines: number[];
  count: number;
  /** The second pass has met its first row. */
  complete: boolean;
}

export class RepeatedKeys {
  private readonly filter: Uint32Array;
  private readonly mask: number;
  private readonly suspects = new Map<string, Suspect>();

  /** `bitsLog2`: a smaller filter for a source known to be small (one held in memory). */
  constructor(bitsLog2: number = FILTER_BITS_LOG2) {
    const bits = 2 ** Math.max(10, Math.min(FILTER_BITS_LOG2, bitsLog2));
    this.filter = new Uint32Array(bits / 32);
    this.mask = bits - 1;
  }

  /** A filter of about 32 bits a row for `rows` rows (within the fixed maximum). */
  static forRows(rows: number): RepeatedKeys {
    return new RepeatedKeys(Math.ceil(Math.log2(Math.max(1, rows) * 32)));
  }

  /** Keys kept exactly after the first pass: the repeated ones and the filter's false positives. */
  get suspectCount(): number {
    return this.suspects.size;
  }

  /** First pass: a row of `key` at `line`, in file order. */
  see(key: string, line: number): void {
    const suspect = this.suspects.get(key);
    if (suspect) {
      suspect.count += 1;
      if (suspect.lines.length < LISTED_LINES) suspect.lines.push(line);
      return;
    }
    if (this.testAndSet(key)) this.suspects.set(key, { lines: [line], count: 1, complete: false });
  }

  /**
   * Second pass, in the same order as the first: the lines of `key` (the first LISTED_LINES, and how many
   * in all) when it appears on more than one row, else undefined.
   */
  repeatsOf(key: string, line: number): { readonly lines: readonly number[]; readonly count: number } | undefined {
    const suspect = this.suspects.get(key);
    if (!suspect) return undefined;
    if (!suspect.complete) {
      // Its first row: the first pass kept its lines from the second row on (or from this one, when the
      // filter already answered yes for it).
      if (suspect.lines[0] !== line) {
        suspect.lines.unshift(line);
        suspect.count += 1;
        if (suspect.lines.length > LISTED_LINES) suspect.lines.length = LISTED_LINES;
      }
      suspect.complete = true;
    }
    return suspect.count > 1 ? suspect : undefined;
  }

  /** Sets the key's bits; true when all were set already (the key was seen, or a false positive). */
  private testAndSet(key: string): boolean {
    const h1 = hash32(key, 0x9747b28c);
    // Odd, so that the probes of one key are distinct.
    const h2 = hash32(key, 0x85ebca6b) | 1;
    let seen = true;
    for (let probe = 0; probe < PROBES; probe++) {
      const bit = (h1 + Math.imul(probe, h2)) & this.mask;
      const word = bit >>> 5;
      const flag = 1 << (bit & 31);
      if ((this.filter[word] & flag) === 0) {
        seen = false;
        this.filter[word] |= flag;
      }
    }
    return seen;
  }
}

/** `lines 2, 5, 9`; past LISTED_LINES lines, `lines 2, 5, … 40 and 30 more`. */
export function linesText(repeats: { readonly lines: readonly number[]; readonly count: number }): string {
  const listed = repeats.lines.join(', ');
  return repeats.count > repeats.lines.length ? `lines ${listed} and ${repeats.count - repeats.lines.length} more` : `lines ${listed}`;
}

/** FNV-1a over the UTF-16 code units, then murmur3's finalizer (so that similar keys spread over the filter). */
function hash32(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
