// Where the direction and the confidence are by default; also fills the half of the handler's
// settings that a model output format does not use (the contract requires all four).
export const DEFAULT_DIRECTION_FIELD = 'direction';
export const DEFAULT_CONFIDENCE_FIELD = 'confidence';
export const DEFAULT_DIRECTION_COLUMN = 0;
export const DEFAULT_CONFIDENCE_COLUMN = 1;
