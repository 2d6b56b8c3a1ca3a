import {
  Injectable,
  ServiceUnavailableException,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { catchError, finalize, type Observable } from 'rxjs';
import { releaseWork, workOf } from './db-http.adapter.js';

// Matched by code, not instanceof: a CommonJS and an ESM copy of this package may both be loaded.
const UNAVAILABLE = new Set([
  'DB_ACQUIRE_TIMEOUT',
  'DB_POOL_CLOSED',
  'DB_QUEUE_FULL',
  'DB_CONNECT',
  'DB_STATEMENT_TIMEOUT',
]);

/**
 * Returns the request's connections to their pools when the handler completes, errors or is
 * unsubscribed (a transaction still open is rolled back by the clean-up), and answers "no
 * connection to be had" as HTTP 503. Registered globally by `DbModule.forRoot()` unless
 * `registerInterceptor: false`.
 * @publicApi
 */
@Injectable()
export class DbInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const work = workOf(context);
    if (!work) return next.handle();
    return next.handle().pipe(
      catchError((err: unknown) => {
        throw toHttpError(err);
      }),
      finalize(() => releaseWork(work)),
    );
  }
}

function toHttpError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (!(err instanceof Error) || typeof code !== 'string' || !UNAVAILABLE.has(code)) return err;
  // A connect error's message names host and user: fine for logs, not for a response body.
  const message = code === 'DB_CONNECT' ? 'The database is unavailable.' : err.message;
  return new ServiceUnavailableException(
    { statusCode: 503, error: 'Service Unavailable', code, message },
    { cause: err },
  );
}
