import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { inputCsvProblem, normalizedCsv } from '../../lambda/shared/batch/prepare-run';
import { readCsvAsStepFunctions } from '../support/step-functions-csv';

const COLUMNS = ['line', 'id', 'note'] as const;
type Row = { [column in (typeof COLUMNS)[number]]: string };

/** What the Map hands to Act (the model of its CSV reader, from the file's bytes) and what Summarize reads. */
const mapReads = (csv: string) => readCsvAsStepFunctions(Buffer.from(csv, 'utf8'));
const summarizeReads = (csv: string) => parse(Buffer.from(csv, 'utf8'), { columns: true, skip_empty_lines: true }) as Row[];

const hasLoneSurrogate = (value: string) => /\p{Surrogate}/u.test(value);

describe('input.csv: the Map reads back exactly what Prepare wrote', () => {
  test('quotes, commas, newlines, edge spaces, leading zeros and unicode round-trip, for the Map and for Summarize', () => {
    const rows: Row[] = [
      { line: '1', id: 'tx,1', note: 'say "hi"' },
      { line: '2', id: '"', note: 'two\nlines' },
      { line: '3', id: '007', note: ' padded ' },
      { line: '4', id: 'é😀\u2028', note: '' },
      { line: '5', id: '""', note: ',' },
    ];
    const csv = normalizedCsv(rows, COLUMNS);
    expect(mapReads(csv)).toEqual(rows);
    expect(summarizeReads(csv)).toEqual(rows);
  });

  test('a value with a backslash is refused, not written for the reader to shift the columns (tx\\ then 5 read as "tx,5")', () => {
    expect(inputCsvProblem('tx\\')).toBe('a backslash');
    expect(() => normalizedCsv([{ line: '1', id: 'tx\\', note: '5' }], COLUMNS)).toThrow(
      'input.csv cannot carry id "tx\\\\" (line 1): it has a backslash',
    );
  });

  test("a carriage return or a lone surrogate is refused too: the reader's handling of the one is not documented, the other is not UTF-8", () => {
    expect(inputCsvProblem('a\rb')).toBe('a carriage return');
    expect(inputCsvProblem('a\uD800')).toBe('half of a UTF-16 surrogate pair (not UTF-8)');
    expect(inputCsvProblem('😀 "x", \n 007')).toBeUndefined();
  });

  test('property: every row is read back exactly by the Map (and Summarize), or refused as a whole', () => {
    const tricky = fc.constantFrom(
      '"',
      ',',
      '\\',
      '\r',
      '\n',
      ' ',
      '\t',
      '0',
      '7',
      'a',
      'é',
      '😀',
      '\uD800',
      '\uDC00',
      '\u2028',
      '\uFEFF',
      ';',
      '|',
      "'",
    );
    const value = fc
      .array(
        fc.oneof({ weight: 3, arbitrary: tricky }, { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }) }),
        { maxLength: 10 },
      )
      .map((parts) => parts.join(''));
    const row = fc.record({ line: fc.nat().map(String), id: value, note: value });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 8 }), (rows) => {
        const unwritable = rows.flatMap((r) => [r.id, r.note]).filter((v) => /[\\\r]/.test(v) || hasLoneSurrogate(v));
        if (unwritable.length > 0) {
          expect(() => normalizedCsv(rows, COLUMNS)).toThrow('input.csv cannot carry');
          return;
        }
        const csv = normalizedCsv(rows, COLUMNS);
        expect(mapReads(csv)).toEqual(rows);
        expect(summarizeReads(csv)).toEqual(rows);
      }),
      { numRuns: 2000 },
    );
  });

  test('property: inputCsvProblem refuses exactly the values with a backslash, a carriage return or a lone surrogate', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        expect(inputCsvProblem(value) !== undefined).toBe(/[\\\r]/.test(value) || hasLoneSurrogate(value));
      }),
      { numRuns: 2000 },
    );
  });
});
