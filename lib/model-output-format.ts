import { MODEL_OUTPUT_DEFAULTS } from './private/defaults';

/** Where a JSON model output holds the direction and the confidence. */
export interface JsonModelOutputOptions {
  /**
   * The field holding the direction: `long`, `short` or `hold`.
   * @default 'direction'
   */
  readonly directionField?: string;
  /**
   * The field holding the confidence, a number in [0, 1].
   * @default 'confidence'
   */
  readonly confidenceField?: string;
}

/** Where a CSV model output (one row) holds the direction and the confidence. */
export interface CsvModelOutputOptions {
  /**
   * Zero-based column of the direction: `long`, `short` or `hold`.
   * @default 0
   */
  readonly directionColumn?: number;
  /**
   * Zero-based column of the confidence, a number in [0, 1].
   * @default 1
   */
  readonly confidenceColumn?: number;
}

/** The shape of what the SageMaker endpoint answers: a JSON object or a CSV row. */
export class ModelOutputFormat {
  /**
   * The endpoint answers a JSON object, e.g. `{"direction": "long", "confidence": 0.72}`.
   */
  public static json(options: JsonModelOutputOptions = {}): ModelOutputFormat {
    return new ModelOutputFormat(
      'JSON',
      options.directionField ?? MODEL_OUTPUT_DEFAULTS.directionField,
      options.confidenceField ?? MODEL_OUTPUT_DEFAULTS.confidenceField,
    );
  }

  /**
   * The endpoint answers a CSV row, e.g. `long,0.72`.
   */
  public static csv(options: CsvModelOutputOptions = {}): ModelOutputFormat {
    return new ModelOutputFormat(
      'CSV',
      undefined,
      undefined,
      options.directionColumn ?? MODEL_OUTPUT_DEFAULTS.directionColumn,
      options.confidenceColumn ?? MODEL_OUTPUT_DEFAULTS.confidenceColumn,
    );
  }

  /** `JSON` or `CSV`. */
  public readonly formatName: string;
  /** JSON only: the direction's field. */
  public readonly directionField?: string;
  /** JSON only: the confidence's field. */
  public readonly confidenceField?: string;
  /** CSV only: the direction's zero-based column. */
  public readonly directionColumn?: number;
  /** CSV only: the confidence's zero-based column. */
  public readonly confidenceColumn?: number;

  private constructor(
    formatName: string,
    directionField?: string,
    confidenceField?: string,
    directionColumn?: number,
    confidenceColumn?: number,
  ) {
    this.formatName = formatName;
    this.directionField = directionField;
    this.confidenceField = confidenceField;
    this.directionColumn = directionColumn;
    this.confidenceColumn = confidenceColumn;
  }
}
