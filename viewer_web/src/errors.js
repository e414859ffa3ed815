// Errors the viewer shows to a person: one readable line, never a blank canvas.

export class ViewerError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ViewerError';
  }
}

/** A one-line message for anything thrown (ViewerError, reader errors, WebGL failures, bugs). */
export function describeError(err) {
  if (err == null) return 'unknown error';
  if (typeof err === 'string') return err;
  const msg = err.message || String(err);
  return msg.split('\n')[0];
}
