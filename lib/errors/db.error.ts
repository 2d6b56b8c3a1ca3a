/**
 * Base class of every error this package throws. `code` is stable across versions: match on it,
 * not on the message.
 * @publicApi
 */
export class DbError extends Error {
  constructor(
    /** Stable machine-readable code, e.g. `DB_ACQUIRE_TIMEOUT`. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
