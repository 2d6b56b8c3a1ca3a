// Everything this package knows about HTTP servers lives here.
import type { ExecutionContext } from '@nestjs/common';
import { REQUEST_LEASES } from './db.internal-constants.js';
import { currentUnit } from './db-context.js';
import type { DbLease, LeaseOwner } from './db-lease.js';
import { DbLeaseSet } from './db-lease-set.js';
import type { UnitTransaction } from './db-transaction.js';

interface Closable {
  once(event: 'close', listener: () => void): unknown;
}
type Carrier = {
  [REQUEST_LEASES]?: DbLeaseSet;
  res?: Closable;
  method?: string;
  url?: string;
  route?: { path?: unknown };
};

/**
 * The object that identifies one unit of work in `context`: for HTTP the request object (the same
 * object Nest injects as `REQUEST`). Undefined for transports this package does not bind to.
 */
export function workOf(context: ExecutionContext): object | undefined {
  if (context.getType() === 'http') {
    const req: unknown = context.switchToHttp().getRequest();
    return typeof req === 'object' && req !== null ? req : undefined;
  }
  return undefined;
}

/**
 * The lease set of one request, created on first use. Its first lease hooks the response's
 * `close` event (Express: `req.res`), which fires when the response is sent or the client goes
 * away; that releases the request's connections even when the interceptor never runs (a guard,
 * pipe or middleware threw) or the client aborted.
 */
export function leaseSetOf(req: object, res?: object): DbLeaseSet {
  const carrier = req as Carrier;
  return (carrier[REQUEST_LEASES] ??= new DbLeaseSet(
    (set) =>
      ((res as Closable | undefined) ?? carrier.res)?.once('close', () => void set.releaseAll()),
    () => describeRequest(carrier),
  ));
}

/**
 * The owner of a REQUEST-scoped lease, decided at its first statement: the unit of work open then
 * (a microservice message or GraphQL operation opened by `DbInterceptor`, a context-scoped
 * request), else the HTTP request's own set. Deciding at creation would be too early: Nest builds
 * REQUEST-scoped providers before any interceptor runs.
 */
export class RequestOwner implements LeaseOwner {
  private target: DbLeaseSet | undefined;

  constructor(private readonly req: object) {}

  attach(lease: DbLease): boolean {
    return this.unit().attach(lease);
  }

  describe(): string {
    return this.unit().describe();
  }

  get transaction(): UnitTransaction | undefined {
    return this.unit().transaction;
  }

  private unit(): DbLeaseSet {
    return (this.target ??= currentUnit() ?? leaseSetOf(this.req));
  }
}

/** The lease set of a request if it has one; never creates it. */
export function leaseSetIfAny(req: object): DbLeaseSet | undefined {
  return (req as Carrier)[REQUEST_LEASES];
}

/** Releases the leases of a request, if it has any. */
export function releaseWork(req: object): void {
  void (req as Carrier)[REQUEST_LEASES]?.releaseAll();
}

/** `GET /orders/:id` (the route pattern when the router knows it, else the URL). */
function describeRequest(req: Carrier): string {
  const path = typeof req.route?.path === 'string' ? req.route.path : req.url;
  return `${req.method ?? 'HTTP'} ${path ?? '?'}`;
}
