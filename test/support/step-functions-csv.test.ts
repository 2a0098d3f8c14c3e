import { readCsvAsStepFunctions, UndocumentedCsvError } from './step-functions-csv';

describe('the model of the Distributed Map CSV reader reads as AWS documents', () => {
  test("the documentation's example: quoted commas and newlines, doubled quotes (quoted and unquoted)", () => {
    const file =
      'a,b,c,d,e\nabc,123,"This string contains commas, a double quotation marks (""), and a newline (\n)",{""MyKey"":""MyValue""},"[1,2,3]"\n';
    expect(readCsvAsStepFunctions(file)).toEqual([
      {
        a: 'abc',
        b: '123',
        c: 'This string contains commas, a double quotation marks ("), and a newline (\n)',
        d: '{"MyKey":"MyValue"}',
        e: '[1,2,3]',
      },
    ]);
  });

  test('backslashes: doubled is one, before the delimiter escapes it, before anything else is removed', () => {
    expect(readCsvAsStepFunctions('path,size\nC:\\\\Program Files\\\\MyApp.exe,6534512\n')).toEqual([
      { path: 'C:\\Program Files\\MyApp.exe', size: '6534512' },
    ]);
    // A value that ends in a backslash, written as is, swallows the comma after it: the columns shift.
    expect(readCsvAsStepFunctions('id,amount\ntx\\,5\n')).toEqual([{ id: 'tx,5', amount: '' }]);
    expect(readCsvAsStepFunctions('id\na\\bc\n')).toEqual([{ id: 'abc' }]);
  });

  test('short rows get empty strings, extra fields are skipped; fields are strings (leading zeros, unicode)', () => {
    expect(readCsvAsStepFunctions('a,b,c\n1\n007,é😀,x,extra\n,,\n')).toEqual([
      { a: '1', b: '', c: '' },
      { a: '007', b: 'é😀', c: 'x' },
      { a: '', b: '', c: '' },
    ]);
    expect(readCsvAsStepFunctions(Buffer.from('a\n\u00e9\n', 'utf8'))).toEqual([{ a: 'é' }]);
    expect(readCsvAsStepFunctions('a,b\n')).toEqual([]);
    expect(readCsvAsStepFunctions('')).toEqual([]);
  });

  test.each([
    ['a\n"x\\y"\n', 'a backslash inside a quoted field'],
    ['a\nx\\"y\n', 'a backslash before a double quote'],
    ['a\nx"y\n', 'a lone double quote'],
    ['a\n"x"y\n', 'text after a closing quote'],
    ['a\r\nx\r\n', 'a carriage return'],
    ['a\n"x\ry"\n', 'a carriage return'],
    ['a\nx\\\n', 'a backslash before the end of a line'],
    ['a\n"x\n', 'an unclosed quoted field'],
  ])('%j: what the documentation does not say is refused, not guessed (%s)', (file, message) => {
    expect(() => readCsvAsStepFunctions(file)).toThrow(UndocumentedCsvError);
    expect(() => readCsvAsStepFunctions(file)).toThrow(message);
  });

  test('bytes that are not UTF-8 are refused', () => {
    expect(() => readCsvAsStepFunctions(Buffer.from([0x61, 0x0a, 0xff, 0x0a]))).toThrow(UndocumentedCsvError);
  });
});
