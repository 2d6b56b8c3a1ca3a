import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import type { INestApplication } from '@nestjs/common';
import {
  Args,
  Field,
  Float,
  GraphQLModule,
  Int,
  ObjectType,
  Parent,
  Query,
  ResolveField,
  Resolver,
} from '@nestjs/graphql';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { RowDataPacket } from 'mysql2';
import { Connection, DbModule, DbPool, type DbScope } from 'nestjs-mysql-connection';
import { ADAPTERS } from '../fixtures/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually, listen, sleep } from '../support/http.js';
import { overlapsOnOneConnection } from '../support/isolation.js';

const LIMIT = 5;

@ObjectType()
class Probe {
  @Field(() => Int) id1!: number;
  @Field(() => Int) id2!: number;
  @Field(() => String, { nullable: true }) tag!: string | null;
  @Field(() => Float) t0!: number;
  @Field(() => Float) t1!: number;
}

@Resolver(() => Probe)
class ProbeResolver {
  constructor(private readonly conn: Connection) {}

  private async id(): Promise<number> {
    const [[row]] = await this.conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    return Number(row.id);
  }

  @Query(() => Probe)
  async probe(@Args('tag') tag: string): Promise<Probe> {
    await this.conn.query('SET @tag = ?', [tag]);
    const id1 = await this.id();
    const t0 = performance.now();
    await sleep(Math.floor(Math.random() * 10));
    const [[row]] = await this.conn.execute<RowDataPacket[]>(
      'SELECT CONNECTION_ID() AS id, @tag AS tag',
    );
    return { id1, id2: Number(row.id), tag: row.tag as string | null, t0, t1: 0 };
  }

  /** A second root field of the same operation: it must see the same session. */
  @Query(() => String, { nullable: true })
  async sameSession(): Promise<string | null> {
    await sleep(5);
    const [[row]] = await this.conn.query<RowDataPacket[]>('SELECT @tag AS tag');
    return row.tag as string | null;
  }

  @Query(() => Int)
  async failing(): Promise<number> {
    await this.id();
    throw new Error('resolver failed after its first query');
  }

  /** A field resolver, run after `probe` has returned: still the operation's connection. */
  @ResolveField(() => Int)
  async fieldId(@Parent() probe: Probe): Promise<number> {
    const id = await this.id();
    probe.t1 = performance.now();
    return id;
  }
}

const SCOPES: DbScope[] = ['request', 'context'];
const CASES = SCOPES.flatMap((scope) => ADAPTERS.map((adapter) => [scope, adapter] as const));

describe.each(CASES)('GraphQL (Apollo) in %s scope on %s', (scope, adapter) => {
  let db: TestDatabase;
  let app: INestApplication;
  let base: string;
  let pool: DbPool;

  beforeAll(async () => {
    db = await createTestDatabase(`gql_${scope}_${adapter}`);
    const moduleRef = await Test.createTestingModule({
      imports: [
        // Context scope needs no interceptor: the HTTP request's unit covers every resolver.
        DbModule.forRoot({ uri: db.url, connectionLimit: LIMIT, scope }),
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          autoSchemaFile: true,
          includeStacktraceInErrorResponses: false,
        }),
      ],
      providers: [ProbeResolver],
    }).compile();
    app =
      adapter === 'fastify'
        ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
        : moduleRef.createNestApplication({ logger: false });
    base = await listen(app);
    pool = app.get(DbPool);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  async function gql<T>(query: string, variables: object = {}): Promise<T> {
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
    if (body.errors) throw new Error(body.errors.map((e) => e.message).join('; '));
    return body.data!;
  }

  it('gives each of 50 concurrent operations one connection for all its resolvers, then returns it', async () => {
    type Data = { probe: Probe & { fieldId: number }; sameSession: string };
    const watch = db.watchConnections();
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        gql<Data>(
          'query($tag: String!) { probe(tag: $tag) { id1 id2 tag t0 t1 fieldId } sameSession }',
          { tag: `g${i}` },
        ),
      ),
    );
    const maxSeen = await watch.stop();
    replies.forEach((r, i) => {
      expect(r.probe.id2).toBe(r.probe.id1);
      expect(r.probe.fieldId).toBe(r.probe.id1);
      expect(r.probe.tag).toBe(`g${i}`);
      expect(r.sameSession).toBe(`g${i}`);
    });
    expect(overlapsOnOneConnection(replies.map((r) => r.probe))).toEqual([]);
    expect(maxSeen).toBeLessThanOrEqual(LIMIT);
    expect(await eventually(() => pool.stats().borrowed === 0)).toBe(true);
    expect(await db.connections()).toBe(pool.stats().total);
  });

  it('returns the connection of an operation whose resolver throws', async () => {
    await expect(gql('{ failing }')).rejects.toThrow('resolver failed after its first query');
    expect(await eventually(() => pool.stats().borrowed === 0)).toBe(true);
  });
});
