// Everything this package knows about HTTP servers lives here. Express and Fastify differ in two
// ways that matter:
// - the request object: Express hands everyone the same `IncomingMessage` (extended); Fastify
//   hands guards, interceptors and `REQUEST` a `FastifyRequest` wrapping the raw `IncomingMessage`
//   (`.raw`), and Nest middleware the raw one. Leases are kept on the raw request, which all see.
// - the response: Express links it from the request (`req.res`); Fastify does not (the
//   `FastifyReply` is only handed to hooks and middleware), so a middleware records it.
// The raw `ServerResponse`'s `close` event is the safety net: it fires when the response has been
// sent or the client went away. (The request's own `close` fires once its body is read, Node 16+.)
import { Injectable, type ExecutionContext, type NestMiddleware } from '@nestjs/common';
import { REQUEST_LEASES, REQUEST_RESPONSE } from './db.internal-constants.js';
import { currentUnit } from './db-context.js';
import type { DbLease, LeaseOwner } from './db-lease.js';
import { DbLeaseSet } from './db-lease-set.js';
import type { UnitTransaction } from './db-transaction.js';

interface Closable {
  once(event: 'close', listener: () => void): unknown;
}
type Carrier = {
  [REQUEST_LEASES]?: DbLeaseSet;
  [REQUEST_RESPONSE]?: Closable;
  res?: Closable;
  method?: string;
  url?: string;
  originalUrl?: string;
  route?: { path?: unknown };
  /** Fastify: the `IncomingMessage` under a `FastifyRequest` (or the `ServerResponse` under a reply). */
  raw?: unknown;
  routeOptions?: { url?: unknown };
};

/** The raw Node object under a Fastify request or reply; Express's objects are raw already. */
function rawOf(obj: object): Carrier {
  const raw = (obj as Carrier).raw;
  return typeof raw === 'object' && raw !== null ? (raw as Carrier) : (obj as Carrier);
}

/**
 * The raw request a request-like object stands for. Besides the adapters' own objects, a GraphQL
 * context over HTTP (Nest injects it as `REQUEST` in resolvers) holds the HTTP request as `req`:
 * the operation's unit of work is that request's.
 */
function requestOf(obj: object): Carrier {
  const inner = (obj as { req?: unknown }).req;
  return rawOf(typeof inner === 'object' && inner !== null ? inner : obj);
}

/**
 * The HTTP request under a GraphQL operation sent over HTTP (Apollo: `context.req`; Mercurius:
 * `context.reply.request`), if any. All the operation's resolvers (root fields, and the field
 * resolvers that run after their parent returned) share that request's unit of work, returned
 * when the response closes: releasing when one resolver ends would cut off the next.
 */
export function operationRequestOf(context: ExecutionContext): object | undefined {
  if (context.getType<string>() !== 'graphql') return undefined;
  const gql = context.getArgByIndex<{ req?: unknown; reply?: { request?: unknown } } | undefined>(
    2,
  );
  const req = gql?.req ?? gql?.reply?.request;
  return typeof req === 'object' && req !== null ? req : undefined;
}

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
 * The lease set of one request, created on first use, whichever of the request's objects it is
 * given (Express request, `FastifyRequest`, raw `IncomingMessage`). Its first lease hooks the
 * response's `close` event, which fires when the response is sent or the client goes away; that
 * releases the request's connections even when the interceptor never runs (a guard, pipe or
 * middleware threw) or the client aborted.
 */
export function leaseSetOf(req: object, res?: object): DbLeaseSet {
  const carrier = requestOf(req);
  return (carrier[REQUEST_LEASES] ??= new DbLeaseSet(
    (set) => responseOf(carrier, res)?.once('close', () => void set.releaseAll()),
    () => describeRequest(req as Carrier, carrier),
  ));
}

function responseOf(carrier: Carrier, res: object | undefined): Closable | undefined {
  if (res) return rawOf(res) as unknown as Closable;
  return carrier[REQUEST_RESPONSE] ?? carrier.res;
}

/**
 * Whether requests of this HTTP adapter need `bindResponse()` (a middleware) for the safety net:
 * true unless the request links its response itself (Express's `req.res`). `type` is
 * `HttpAdapterHost.httpAdapter.getType()`.
 */
export function needsResponseBinding(type: string | undefined): boolean {
  return type !== undefined && type !== 'express';
}

/**
 * Records the response of a raw request, for adapters whose request does not link it (Fastify).
 * Called from a Nest middleware, which receives the raw request and response on every adapter.
 */
export function bindResponse(req: object, res: object): void {
  const carrier = requestOf(req);
  carrier[REQUEST_RESPONSE] ??= rawOf(res) as unknown as Closable;
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

  get readOnly(): boolean {
    return this.unit().readOnly;
  }

  private unit(): DbLeaseSet {
    return (this.target ??= currentUnit() ?? leaseSetOf(this.req));
  }
}

/** The lease set of a request if it has one; never creates it. */
export function leaseSetIfAny(req: object): DbLeaseSet | undefined {
  return requestOf(req)[REQUEST_LEASES];
}

/** Releases the leases of a request, if it has any. */
export function releaseWork(req: object): void {
  void requestOf(req)[REQUEST_LEASES]?.releaseAll();
}

/** `GET /orders/:id` (the route pattern when the router knows it, else the URL). */
function describeRequest(req: Carrier, raw: Carrier): string {
  const pattern = req.route?.path ?? req.routeOptions?.url;
  const path = typeof pattern === 'string' ? pattern : (raw.originalUrl ?? raw.url);
  return `${raw.method ?? 'HTTP'} ${path ?? '?'}`;
}

/**
 * Request scope on adapters whose request does not link its response (Fastify): records the
 * response for the safety net. Applied to every route by `DbModule` there. @internal
 */
@Injectable()
export class DbResponseMiddleware implements NestMiddleware {
  use(req: object, res: object, next: (error?: unknown) => void): void {
    bindResponse(req, res);
    next();
  }
}
