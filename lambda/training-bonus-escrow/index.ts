// Placeholder while the handler is written; replaced in the same session.
export const handler = async (): Promise<void> => {
  throw new Error('not implemented');
};
