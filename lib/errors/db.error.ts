/**
 * Base class of every error this package throws. `code` is stable across versions: match on it,
 * not on the message.
 * @publicApi
 */
export class DbError extends Error {
  /**
   * The HTTP status Nest's default exception filter answers with when this error reaches it
   * (a guard, a pipe, a handler without `DbInterceptor`); unset means 500. Set together with
   * `status` and `expose`, the shape of the `http-errors` package that Nest recognises.
   */
  statusCode?: number;
  /** Same as `statusCode` (`http-errors` shape). */
  status?: number;
  /** Whether the message may be sent to the client (`http-errors` shape). */
  expose?: boolean;

  constructor(
    /** Stable machine-readable code, e.g. `DB_ACQUIRE_TIMEOUT`. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** Marks the error as an HTTP answer (`status`), its message shown unless `expose` is false. */
  protected answerWith(status: number, expose = true): void {
    this.statusCode = status;
    this.status = status;
    this.expose = expose;
  }
}
