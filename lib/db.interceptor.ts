import {
  ConflictException,
  Injectable,
  Optional,
  ServiceUnavailableException,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import {
  catchError,
  defer,
  finalize,
  lastValueFrom,
  mergeMap,
  throwError,
  toArray,
  type Observable,
} from 'rxjs';
import { TRANSACTIONAL_METADATA } from './db.internal-constants.js';
import { isSilent } from './db.logger.js';
import { TX_LEFT_OPEN, TX_TWO_CONNECTIONS, TX_UNKNOWN_CONNECTION } from './db.messages.js';
import { currentUnit, runInUnit } from './db-context.js';
import {
  leaseSetIfAny,
  leaseSetOf,
  operationRequestOf,
  releaseWork,
  workOf,
} from './db-http.adapter.js';
import { DbLeaseSet } from './db-lease-set.js';
import { runUnit, type ResolvedTransactionOptions } from './db-transaction.js';
import { transactionalOf } from './db-transactional.decorator.js';
import { getPoolToken } from './db.utils.js';
import { DbTransactionError } from './errors/index.js';

// Matched by code, not instanceof: a CommonJS and an ESM copy of this package may both be loaded.
const UNAVAILABLE = new Set([
  'DB_ACQUIRE_TIMEOUT',
  'DB_POOL_CLOSED',
  'DB_QUEUE_FULL',
  'DB_CONNECT',
  'DB_STATEMENT_TIMEOUT',
  'DB_REPLICA_UNAVAILABLE',
]);

// Lock conflicts that were not (or no longer) retried: the client may simply try again.
const CONFLICT = new Set([
  'DB_DEADLOCK',
  'DB_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
]);

/**
 * Returns the request's connections to their pools when the handler completes, errors or is
 * unsubscribed (a transaction still open is rolled back by the clean-up, and a warning logged
 * once per route), runs `@Transactional()` handlers in a transaction, and answers "no
 * connection to be had" as HTTP 503 and a lock conflict (deadlock, lock wait timeout) as HTTP 409.
 * Registered globally by `DbModule.forRoot()` unless `registerInterceptor: false`.
 * @publicApi
 */
@Injectable()
export class DbInterceptor implements NestInterceptor {
  private readonly reflector: Reflector;
  /** Handlers already warned about: the left-open warning is logged once per route. */
  private readonly warned = new WeakSet<object>();
  /** `@Transactional()` options per controller and handler, resolved and checked once. */
  private readonly units = new WeakMap<
    object,
    WeakMap<object, ResolvedTransactionOptions | null>
  >();

  // Optional so that `new DbInterceptor()` (useGlobalInterceptors) keeps working.
  constructor(
    @Optional() reflector?: Reflector,
    @Optional() private readonly moduleRef?: ModuleRef,
  ) {
    this.reflector = reflector ?? new Reflector();
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const work = workOf(context);
    if (!work) return inUnitOfWork(next, operationRequestOf(context));
    let options: ResolvedTransactionOptions | undefined;
    try {
      options = this.transactionalOptions(context);
    } catch (err) {
      return throwError(() => err).pipe(finalize(() => releaseWork(work)));
    }
    if (!options) {
      return next.handle().pipe(
        catchError((err: unknown) => {
          throw toHttpError(err);
        }),
        finalize(() => {
          this.warnIfLeftOpen(context, work);
          releaseWork(work);
        }),
      );
    }
    const set = leaseSetOf(work);
    if (set.transaction) {
      // An outer DbInterceptor (the global one) runs this unit; @Transactional() attached this one.
      if (set.transaction.pool === options.connection) return next.handle();
      const route = routeOf(context);
      return throwError(
        () =>
          new DbTransactionError(
            TX_TWO_CONNECTIONS(route, set.transaction!.pool, options.connection),
          ),
      );
    }
    const unit = options;
    // Each attempt subscribes to the handler anew, which runs it (and the interceptors after
    // this one) again; its values are held until the commit has succeeded.
    return defer(() => runUnit(set, unit, () => lastValueFrom(next.handle().pipe(toArray())))).pipe(
      mergeMap((values) => values),
      catchError((err: unknown) => {
        throw toHttpError(err);
      }),
      finalize(() => releaseWork(work)),
    );
  }

  private transactionalOptions(context: ExecutionContext): ResolvedTransactionOptions | undefined {
    const controller = context.getClass();
    const handler = context.getHandler();
    let byHandler = this.units.get(controller);
    if (!byHandler) this.units.set(controller, (byHandler = new WeakMap()));
    const known = byHandler.get(handler);
    if (known !== undefined) return known ?? undefined;
    const route = routeOf(context);
    const options = transactionalOf(
      this.reflector.get<ResolvedTransactionOptions | undefined>(
        TRANSACTIONAL_METADATA,
        controller,
      ),
      this.reflector.get<ResolvedTransactionOptions | undefined>(TRANSACTIONAL_METADATA, handler),
      route,
    );
    if (options && this.moduleRef && !this.hasPool(options.connection)) {
      throw new DbTransactionError(TX_UNKNOWN_CONNECTION(route, options.connection));
    }
    byHandler.set(handler, options ?? null);
    return options;
  }

  private hasPool(name: string): boolean {
    try {
      this.moduleRef!.get(getPoolToken(name), { strict: false });
      return true;
    } catch {
      return false;
    }
  }

  /** A handler that began a transaction itself and returned (or threw) without ending it. */
  private warnIfLeftOpen(context: ExecutionContext, work: object): void {
    const set = leaseSetIfAny(work);
    if (!set || set.released) return;
    // Connections registered with `logger: false` are not reported.
    const open = set.attached.filter(
      (lease) => lease.tx.reportLeftOpen() && !isSilent(lease.logger),
    );
    const handler = context.getHandler();
    if (open.length === 0 || this.warned.has(handler)) return;
    this.warned.add(handler);
    const names = open.map((lease) => `"${lease.poolName}"`).join(', ');
    open[0].logger.warn(TX_LEFT_OPEN(`${set.describe()} (${routeOf(context)})`, names));
  }
}

/**
 * Outside HTTP (microservice messages, GraphQL subscriptions, ...) the handler runs in a unit of
 * work of its own, opened here, whose connections go back when it ends. Inside an open unit (a
 * context-scoped HTTP request) it joins that one; a GraphQL operation over HTTP joins its
 * request's. `next.handle()` is called inside the unit on
 * purpose: Nest binds the handler to the async context current at that call.
 */
function inUnitOfWork(next: CallHandler, httpRequest: object | undefined): Observable<unknown> {
  if (currentUnit()) return next.handle();
  // A GraphQL operation over HTTP: the request's unit, returned when its response closes.
  if (httpRequest) return runInUnit(leaseSetOf(httpRequest), () => next.handle());
  const unit = new DbLeaseSet();
  return runInUnit(unit, () => next.handle()).pipe(finalize(() => void unit.releaseAll()));
}

function routeOf(context: ExecutionContext): string {
  return `${context.getClass().name}.${context.getHandler().name}`;
}

function toHttpError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (!(err instanceof Error) || typeof code !== 'string') return err;
  if (CONFLICT.has(code)) {
    // A raw driver error (a handler's own transaction) gets a message of ours: its text is the
    // server's, and its code is the stable part.
    const stable =
      code === 'ER_LOCK_DEADLOCK'
        ? 'DB_DEADLOCK'
        : code === 'ER_LOCK_WAIT_TIMEOUT'
          ? 'DB_LOCK_WAIT_TIMEOUT'
          : code;
    const message = code.startsWith('DB_') ? err.message : CONFLICT_MESSAGE;
    return new ConflictException(
      { statusCode: 409, error: 'Conflict', code: stable, message },
      { cause: err },
    );
  }
  if (!UNAVAILABLE.has(code)) return err;
  // A connect error's message names host and user: fine for logs, not for a response body.
  const message = code === 'DB_CONNECT' ? 'The database is unavailable.' : err.message;
  return new ServiceUnavailableException(
    { statusCode: 503, error: 'Service Unavailable', code, message },
    { cause: err },
  );
}

const CONFLICT_MESSAGE =
  'The transaction was rolled back because of a conflicting concurrent transaction; ' +
  'retrying the request may succeed.';
