import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import { parse as parseStream, Options } from 'csv-parse';
import { parse } from 'csv-parse/sync';

export interface CsvWithHeader {
  /** The header row's names, trimmed. */
  readonly header: readonly string[];
  /** Every row after the header, with the line of the file it ended on (the header is line 1). */
  readonly rows: readonly CsvRow[];
}

export interface CsvRow {
  readonly line: number;
  readonly cells: readonly string[];
}

/** The longest record read (characters): a longer one fails the file, which is then not read as rows. */
export const MAX_CSV_RECORD_CHARS = 1024 * 1024;

/** One reading of a CSV file with a header, in memory or streamed: BOM, CRLF and quoted fields; blank lines skipped; short rows kept. */
const CSV_OPTIONS: Options = {
  bom: true,
  info: true,
  relax_column_count: true,
  skip_empty_lines: true,
  max_record_size: MAX_CSV_RECORD_CHARS,
};

type Record = { record: string[]; info: { lines: number } };

/**
 * A CSV file with a header row, read by csv-parse (BOM, CRLF and quoted fields; blank lines skipped;
 * short rows kept). Undefined for an empty file; csv-parse's error for one that is not CSV.
 */
export function readCsvWithHeader(content: Buffer | string): CsvWithHeader | undefined {
  // With `info`, each record comes with where it ended in the file (its line, for the log).
  const records = parse(content, CSV_OPTIONS) as unknown as Record[];
  if (records.length === 0) return undefined;
  return {
    header: headerOf(records[0]),
    rows: records.slice(1).map(({ record, info }) => ({ line: info.lines, cells: record })),
  };
}

/**
 * The same reading of a CSV stream, row by row: `onHeader` gets the header (trimmed) before the first row
 * is yielded (it may throw to refuse the file), and is not called for an empty file. csv-parse's error
 * (a `CsvError`) for a stream that is not CSV; the stream's own error when it fails.
 */
export async function* streamCsvWithHeader(body: Readable, onHeader: (header: readonly string[]) => void): AsyncGenerator<CsvRow> {
  const parser = parseStream(CSV_OPTIONS);
  // Errors of the body reach the parser, and so this iteration.
  pipeline(body, parser, () => undefined);
  let header = true;
  for await (const record of parser as AsyncIterable<Record>) {
    if (header) {
      onHeader(headerOf(record));
      header = false;
      continue;
    }
    yield { line: record.info.lines, cells: record.record };
  }
}

function headerOf(record: Record): string[] {
  return record.record.map((name) => name.trim());
}

/** The required columns the header lacks, in the order asked. */
export function missingColumns(header: readonly string[], required: readonly string[]): string[] {
  return required.filter((column) => !header.includes(column));
}
