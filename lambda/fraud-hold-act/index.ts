// Placeholder while the handler is written.
export const handler = async (): Promise<void> => {
  throw new Error('not implemented');
};
