export * from './purpleflea-connection';
export * from './predict-to-trade';
export * from './model-output-format';
export * from './training-bonus-escrow';
export * from './bonus-tier';
export * from './batch-run-props';
export * from './batch-payout';
export * from './fraud-hold-escrow';
