/**
 * A model of the Distributed Map's CSV ItemReader (`InputType: CSV`, `CSVHeaderLocation: FIRST_ROW`,
 * `CSVDelimiter: COMMA`), built from AWS's documented rules ("How Step Functions parses input CSV files",
 * https://docs.aws.amazon.com/step-functions/latest/dg/example-csv-parse-dist-map.html):
 *
 * - a comma separates fields, a newline separates records; every field is a string;
 * - a field enclosed in double quotes may hold commas and newlines; a doubled double quote is one
 *   double quote (the documentation's own example doubles them in an unquoted field too);
 * - a backslash escapes a backslash or the delimiter (`\\` is `\`, `\,` is `,`); a backslash followed by
 *   any other character is silently removed;
 * - a row with fewer fields than the header gets empty strings for the missing ones; extra fields are skipped.
 *
 * Where the documentation leaves the reading open, the model does not guess: it throws
 * `UndocumentedCsvError`. That covers `\"` ("only works in pairs"), a backslash inside a quoted field,
 * a lone double quote inside an unquoted field, text after a closing quote, a carriage return anywhere
 * (is it a newline? is CRLF inside quotes kept?), a backslash before a newline or at the end, and bytes
 * that are not UTF-8. So a writer tested against this model relies only on what AWS documents.
 *
 * A newline at the very end of the file ends the last record (it does not start an empty one).
 */
export class UndocumentedCsvError extends Error {
  override readonly name = 'UndocumentedCsvError';
}

/** The items the Map would iterate over: one object per record after the header, keyed by the header's names. */
export function readCsvAsStepFunctions(content: Buffer | string): { [column: string]: string }[] {
  const records = readRecords(typeof content === 'string' ? content : decodeUtf8(content));
  if (records.length === 0) return [];
  const [header, ...rows] = records;
  return rows.map((fields) => Object.fromEntries(header.map((name, index) => [name, fields[index] ?? ''])));
}

function decodeUtf8(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new UndocumentedCsvError('the file is not UTF-8');
  }
}

function readRecords(text: string): string[][] {
  const records: string[][] = [];
  let fields: string[] = [];
  let i = 0;
  const at = (where: number) => `at character ${where}`;
  if (text === '') return records;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      // A quoted field: up to the quote that is not doubled.
      i++;
      for (;;) {
        if (i >= text.length) throw new UndocumentedCsvError(`an unclosed quoted field ${at(i)}`);
        const c = text[i];
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (c === '\\') throw new UndocumentedCsvError(`a backslash inside a quoted field ${at(i)}`);
        if (c === '\r') throw new UndocumentedCsvError(`a carriage return ${at(i)}`);
        field += c;
        i++;
      }
      if (i < text.length && text[i] !== ',' && text[i] !== '\n') throw new UndocumentedCsvError(`text after a closing quote ${at(i)}`);
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\n') {
        const c = text[i];
        if (c === '\r') throw new UndocumentedCsvError(`a carriage return ${at(i)}`);
        if (c === '"') {
          if (text[i + 1] !== '"') throw new UndocumentedCsvError(`a lone double quote in an unquoted field ${at(i)}`);
          field += '"';
          i += 2;
          continue;
        }
        if (c === '\\') {
          const next = text[i + 1];
          if (next === undefined || next === '\n' || next === '\r')
            throw new UndocumentedCsvError(`a backslash before the end of a line ${at(i)}`);
          if (next === '"') throw new UndocumentedCsvError(`a backslash before a double quote ${at(i)}`);
          // `\\` and `\,` keep the character; before anything else the backslash is removed.
          field += next;
          i += 2;
          continue;
        }
        field += c;
        i++;
      }
    }
    fields.push(field);
    if (i >= text.length) {
      records.push(fields);
      return records;
    }
    if (text[i] === ',') {
      i++;
      continue;
    }
    // A newline: the record ends; at the very end of the file, so does the file.
    i++;
    records.push(fields);
    fields = [];
    if (i >= text.length) return records;
  }
}
