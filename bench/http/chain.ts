import { Controller, Get, Inject, Injectable, type Type } from '@nestjs/common';

/** The one statement every endpoint runs: the cheapest round trip, so the layers show. */
export const SELECT_ONE = 'SELECT 1 AS n';

export type Row = Record<string, unknown>;

/** What the controller calls; each variant implements it at the end of its chain. */
export interface Repo {
  /** `GET /one`: one statement. */
  one(): Promise<Row>;
  /** `GET /three`: three statements, one after the other, as a handler that reads then reads again. */
  three(): Promise<Row[]>;
}

/** Three dependent statements through `run`, the same for every variant. */
export async function threeOn(run: (sql: string) => Promise<Row[]>): Promise<Row[]> {
  const a = await run(SELECT_ONE);
  const b = await run(SELECT_ONE);
  const c = await run(SELECT_ONE);
  return [a[0], b[0], c[0]];
}

/**
 * `depth` services, each injecting the next, the last being `leaf` (the one that injects the
 * connection). Depth 1 is the leaf alone. Built in a loop rather than written out ten times: Nest
 * sees ten distinct classes either way, which is all the depth-10 variants are about (the cost of
 * instantiating a REQUEST-scoped graph per request).
 */
export function makeChain(
  depth: number,
  leaf: Type<Repo>,
): { head: Type<Repo>; providers: Type[] } {
  const providers: Type[] = [leaf];
  let head = leaf;
  for (let i = 1; i < depth; i++) {
    head = makeLink(head, depth - i);
    providers.push(head);
  }
  return { head, providers };
}

function makeLink(inner: Type<Repo>, index: number): Type<Repo> {
  @Injectable()
  class Link implements Repo {
    constructor(@Inject(inner) private readonly next: Repo) {}

    one(): Promise<Row> {
      return this.next.one();
    }

    three(): Promise<Row[]> {
      return this.next.three();
    }
  }
  // Only for readable DI error messages and profiles.
  Object.defineProperty(Link, 'name', { value: `Link${index}` });
  return Link;
}

/** The controller of every variant: `GET /one` and `GET /three` through `head`. */
export function makeController(head: Type<Repo>): Type {
  @Controller()
  class BenchController {
    constructor(@Inject(head) private readonly repo: Repo) {}

    @Get('one')
    one(): Promise<Row> {
      return this.repo.one();
    }

    @Get('three')
    three(): Promise<Row[]> {
      return this.repo.three();
    }
  }
  return BenchController;
}
