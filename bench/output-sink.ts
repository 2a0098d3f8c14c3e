/**
 * The handler's output goes to a sink while measuring (Powertools Logger and EMF write through
 * console to process.stdout/stderr): logging still costs what it costs, nothing reaches the terminal.
 */

/** What was discarded so far. */
export const sink = { bytes: 0 };
let restoreOutput: (() => void) | undefined;

export function silenceOutput(): void {
  if (restoreOutput) return;
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const discard = ((chunk: string | Uint8Array) => {
    sink.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = discard;
  process.stderr.write = discard;
  restoreOutput = () => {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    restoreOutput = undefined;
  };
}

export function unsilenceOutput(): void {
  restoreOutput?.();
}
