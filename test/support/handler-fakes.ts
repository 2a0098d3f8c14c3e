import type { Context } from 'aws-lambda';

/**
 * Everything a handler writes (Powertools logs, errors on stderr, EMF metrics on stdout), kept off the
 * console and readable by the test.
 */
export function captureOutput() {
  const chunks: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(capture),
    jest.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
  return {
    text: () => chunks.join(''),
    records(): { [key: string]: any }[] {
      return chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim().startsWith('{'))
        .map((line) => JSON.parse(line));
    },
    /** Sum of one EMF metric over everything published so far. */
    metric(name: string): number {
      return (
        this.records()
          .filter((record) => record._aws?.CloudWatchMetrics)
          // Powertools puts several values of one metric in one record as a list.
          .reduce((sum, record) => sum + [record[name]].flat().reduce((a: number, v: unknown) => a + (typeof v === 'number' ? v : 0), 0), 0)
      );
    },
    clear: () => chunks.splice(0),
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}

/** A Lambda context whose remaining time is always `remainingMs`: with a fixed clock, the deadline is fixed too. */
export function fixedContext(remainingMs = 30_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'unit-test-function',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:unit-test-function',
    memoryLimitInMB: '256',
    awsRequestId: 'req-unit',
    logGroupName: '/aws/lambda/unit-test-function',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
