/**
 * The event every release of an escrow the library created puts on its construct's bus, whichever construct released
 * it (TrainingBonusEscrow on a model's approval, FraudHoldEscrow on a cleared review): one contract, so consumers match
 * one source and detail type.
 */
export const ESCROW_RELEASED_EVENT = {
  source: 'purpleflea.sagemaker',
  detailType: 'Purple Flea Escrow Released',
} as const;
