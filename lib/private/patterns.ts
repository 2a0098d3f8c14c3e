/** SageMaker's rule for endpoint, variant and training job names. */
export const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
/** Why a name failed {@link SAGEMAKER_NAME}, for validation messages. */
export const SAGEMAKER_NAME_RULE = "must follow SageMaker's naming rule ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$";

/**
 * True for a non-empty start of a valid SageMaker name: the name itself is valid, or it becomes valid
 * with one more character (a prefix may end in `-`, as in `bonus-`). Appending one alphanumeric
 * character is the shortest completion of any prefix, so if it does not help, nothing does.
 */
export function isSageMakerNamePrefix(prefix: string): boolean {
  return prefix.length > 0 && (SAGEMAKER_NAME.test(prefix) || SAGEMAKER_NAME.test(`${prefix}a`));
}

/** A Purple Flea agent id (the API's rule). */
export const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
/** Why an agent id failed {@link AGENT_ID}, for validation messages. */
export const AGENT_ID_RULE = 'must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$';
