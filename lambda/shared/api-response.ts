/** Above this, a ledger record keeps only the answer's ids and status (DynamoDB items are at most 400 KB). */
export const MAX_RECORDED_RESPONSE_BYTES = 64 * 1024;

/**
 * The API's answer, cut to its ids and status: a batch's output must fit Step Functions' 256 KiB
 * payload limit at 1,000 rows, and a ledger record DynamoDB's 400 KB item limit.
 */
export function compactResponse(response: { readonly [key: string]: unknown } | undefined): { [key: string]: unknown } | undefined {
  if (!response) return undefined;
  const kept: { [key: string]: unknown } = {};
  for (const [key, value] of Object.entries(response)) {
    if ((key === 'id' || key.endsWith('_id') || key === 'status') && (typeof value === 'string' || typeof value === 'number')) {
      kept[key] = typeof value === 'string' ? value.slice(0, 128) : value;
    }
  }
  return kept;
}

/** The answer as the ledger records it: whole, unless it is too large to record. */
export function recordableResponse(
  response: { readonly [key: string]: unknown } | undefined,
): { readonly [key: string]: unknown } | undefined {
  if (!response || Buffer.byteLength(JSON.stringify(response)) <= MAX_RECORDED_RESPONSE_BYTES) return response;
  return { ...compactResponse(response), _truncated: true };
}
