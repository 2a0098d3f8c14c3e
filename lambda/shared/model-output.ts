import { parse as parseCsv } from 'csv-parse/sync';
import { parseDecimal } from './decimal';

export const DIRECTIONS = ['long', 'short', 'hold'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export interface Prediction {
  readonly direction: Direction;
  readonly confidence: number;
}

export type ModelOutputFormat =
  | { readonly kind: 'JSON'; readonly directionField: string; readonly confidenceField: string }
  | { readonly kind: 'CSV'; readonly directionColumn: number; readonly confidenceColumn: number };

export type ParsedPrediction = { readonly ok: true; readonly prediction: Prediction } | { readonly ok: false; readonly reason: string };

const MAX_SHOWN = 80;

/**
 * Reads a direction and a confidence from an endpoint's answer. Anything else (a missing field,
 * NaN, a confidence outside [0, 1], an unknown direction, a body that is not the declared format)
 * is a reason naming the field and the value, never an exception.
 */
export function parseModelOutput(body: string, format: ModelOutputFormat): ParsedPrediction {
  if (format.kind === 'JSON') {
    let document: unknown;
    try {
      document = JSON.parse(body);
    } catch {
      return { ok: false, reason: `model output is not JSON: ${show(body)}` };
    }
    // Many containers answer with a one-element list of predictions.
    if (Array.isArray(document) && document.length === 1) document = document[0];
    if (document === null || typeof document !== 'object' || Array.isArray(document)) {
      return { ok: false, reason: `model output is not a JSON object: ${show(body)}` };
    }
    return validatePrediction(
      { name: `field "${format.directionField}"`, value: readPath(document, format.directionField) },
      { name: `field "${format.confidenceField}"`, value: readPath(document, format.confidenceField) },
    );
  }
  let rows: string[][];
  try {
    rows = parseCsv(body, { relax_column_count: true, skip_empty_lines: true, trim: true, to_line: 1 });
  } catch (error) {
    return { ok: false, reason: `model output is not CSV (${(error as Error).message}): ${show(body)}` };
  }
  const row = rows[0] ?? [];
  return validatePrediction(
    { name: `column ${format.directionColumn}`, value: row[format.directionColumn] },
    { name: `column ${format.confidenceColumn}`, value: row[format.confidenceColumn] },
  );
}

function validatePrediction(
  direction: { readonly name: string; readonly value: unknown },
  confidence: { readonly name: string; readonly value: unknown },
): ParsedPrediction {
  if (direction.value === undefined || direction.value === null || direction.value === '') {
    return { ok: false, reason: `direction ${direction.name} is missing` };
  }
  const normalized = typeof direction.value === 'string' ? direction.value.trim().toLowerCase() : undefined;
  if (!normalized || !(DIRECTIONS as readonly string[]).includes(normalized)) {
    return { ok: false, reason: `direction ${direction.name} must be one of ${DIRECTIONS.join(', ')}, got ${show(direction.value)}` };
  }
  if (confidence.value === undefined || confidence.value === null || confidence.value === '') {
    return { ok: false, reason: `confidence ${confidence.name} is missing` };
  }
  const number = toNumber(confidence.value);
  if (number === undefined || number < 0 || number > 1) {
    return { ok: false, reason: `confidence ${confidence.name} must be a number between 0 and 1, got ${show(confidence.value)}` };
  }
  return { ok: true, prediction: { direction: normalized as Direction, confidence: number } };
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return parseDecimal(value);
  return undefined;
}

/** A dotted path (`prediction.direction`); a field whose own name contains dots is matched whole first. */
function readPath(document: object, path: string): unknown {
  const record = document as { [key: string]: unknown };
  if (path in record) return record[path];
  let current: unknown = document;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as { [key: string]: unknown })[part];
  }
  return current;
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}
