import { parse } from 'csv-parse/sync';

export interface CsvWithHeader {
  /** The header row's names, trimmed. */
  readonly header: readonly string[];
  /** Every row after the header, with the line of the file it ended on (the header is line 1). */
  readonly rows: readonly { readonly line: number; readonly cells: readonly string[] }[];
}

/**
 * A CSV file with a header row, read by csv-parse (BOM, CRLF and quoted fields; blank lines skipped;
 * short rows kept). Undefined for an empty file; csv-parse's error for one that is not CSV.
 */
export function readCsvWithHeader(content: Buffer | string): CsvWithHeader | undefined {
  // With `info`, each record comes with where it ended in the file (its line, for the log).
  const records = parse(content, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true }) as unknown as {
    record: string[];
    info: { lines: number };
  }[];
  if (records.length === 0) return undefined;
  return {
    header: records[0].record.map((name) => name.trim()),
    rows: records.slice(1).map(({ record, info }) => ({ line: info.lines, cells: record })),
  };
}

/** The required columns the header lacks, in the order asked. */
export function missingColumns(header: readonly string[], required: readonly string[]): string[] {
  return required.filter((column) => !header.includes(column));
}
