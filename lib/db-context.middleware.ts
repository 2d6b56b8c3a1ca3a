import { Injectable, type NestMiddleware } from '@nestjs/common';
import { currentUnit, runInUnit } from './db-context.js';
import { leaseSetOf } from './db-http.adapter.js';

/**
 * Context scope, HTTP: opens the request's unit of work before guards, interceptors, pipes and
 * the handler run, so a context-scoped `Connection` works in all of them. Applied to every route
 * by `DbModule` when a connection uses `scope: 'context'`. @internal
 */
@Injectable()
export class DbContextMiddleware implements NestMiddleware {
  use(req: object, res: object, next: (error?: unknown) => void): void {
    // Several context-scoped connections each apply this middleware: the first one opens the unit.
    if (currentUnit()) return next();
    runInUnit(leaseSetOf(req, res), next);
  }
}
