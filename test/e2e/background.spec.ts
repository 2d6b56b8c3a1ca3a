import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Injectable,
  type INestApplicationContext,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { RowDataPacket } from 'mysql2';
import { Connection, DbModule, DbPool, WithConnection } from 'nestjs-mysql-connection';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually, sleep } from '../support/http.js';
import { overlapsOnOneConnection } from '../support/isolation.js';

interface Tick {
  n: number;
  id1: number;
  id2: number;
  seen: number;
  t0: number;
  t1: number;
}

/** A repository on the context-scoped `Connection`: no request anywhere near it. */
@Injectable()
class TickRepo {
  constructor(private readonly conn: Connection) {}

  async mark(n: number): Promise<number> {
    await this.conn.query('SET @n = ?', [n]);
    const [[row]] = await this.conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    return Number(row.id);
  }

  async read(): Promise<{ id: number; n: number }> {
    const [[row]] = await this.conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id, @n AS n');
    return { id: Number(row.id), n: Number(row.n) };
  }

  async record(tick: Tick): Promise<void> {
    await this.conn.execute('INSERT INTO ticks (n, conn) VALUES (?, ?)', [tick.n, tick.id1]);
  }
}

/**
 * What a `@Cron()`/`@Interval()` job looks like without @nestjs/schedule: a timer started at
 * bootstrap, stopped at shutdown; overlapping runs (the timer is faster than the work).
 * `@WithConnection()` gives each run's whole call tree one connection; `onModuleInit` runs a
 * set-up script the same way.
 */
@Injectable()
class Ticker implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  readonly ticks: Tick[] = [];
  private timer: NodeJS.Timeout | undefined;
  private n = 0;

  constructor(private readonly repo: TickRepo) {}

  @WithConnection()
  async onModuleInit(): Promise<void> {
    await this.repo.mark(-1); // the script's own connection, returned before the app starts
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(++this.n), 5);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  @WithConnection()
  async tick(n: number): Promise<void> {
    const id1 = await this.repo.mark(n);
    const t0 = performance.now();
    await sleep(10 + (n % 3) * 5);
    const { id: id2, n: seen } = await this.repo.read();
    const tick = { n, id1, id2, seen, t0, t1: 0 };
    await this.repo.record(tick);
    tick.t1 = performance.now();
    this.ticks.push(tick);
  }
}

/** The same job in request scope, where `Connection` cannot be had: `DbPool.withConnection()`. */
@Injectable()
class PoolTicker implements OnApplicationBootstrap, OnModuleDestroy {
  readonly ticks: Tick[] = [];
  private timer: NodeJS.Timeout | undefined;
  private n = 0;

  constructor(private readonly pool: DbPool) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(++this.n), 5);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  tick(n: number): Promise<void> {
    return this.pool.withConnection(async (conn) => {
      await conn.query('SET @n = ?', [n]);
      const [[a]] = await conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
      const t0 = performance.now();
      await sleep(10 + (n % 3) * 5);
      const [[b]] = await conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id, @n AS n');
      await conn.execute('INSERT INTO ticks (n, conn) VALUES (?, ?)', [n, a.id]);
      const tick = { n, id1: Number(a.id), id2: Number(b.id), seen: Number(b.n), t0, t1: 0 };
      tick.t1 = performance.now();
      this.ticks.push(tick);
    });
  }
}

describe.each([
  ['@WithConnection() in context scope', 'context', Ticker],
  ['DbPool.withConnection() in request scope', 'request', PoolTicker],
] as const)('a timer-driven job with no request: %s', (_label, scope, job) => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let pool: DbPool;

  beforeAll(async () => {
    db = await createTestDatabase(`cron_${scope}`);
    await db.admin.query(
      `CREATE TABLE \`${db.name}\`.ticks (n INT PRIMARY KEY, conn INT NOT NULL)`,
    );
    const moduleRef = await Test.createTestingModule({
      imports: [DbModule.forRoot({ uri: db.url, connectionLimit: 3, scope })],
      providers: scope === 'context' ? [TickRepo, Ticker] : [PoolTicker],
    }).compile();
    // A standalone application context: no HTTP server at all, as in a worker process.
    app = moduleRef;
    await app.init();
    pool = app.get(DbPool);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('gives every run one connection of its own for its whole call tree, and returns it', async () => {
    const ticker = app.get<Ticker | PoolTicker>(job);
    expect(await eventually(() => ticker.ticks.length >= 30)).toBe(true);
    await app.close(); // stops the timer, then drains the pool: runs in flight finish first
    for (const t of ticker.ticks) {
      expect(t.id2).toBe(t.id1);
      expect(t.seen).toBe(t.n);
    }
    expect(overlapsOnOneConnection(ticker.ticks)).toEqual([]);
    expect(pool.stats()).toMatchObject({ borrowed: 0, pending: 0, total: 0 });
    const [[row]] = await db.admin.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM \`${db.name}\`.ticks`,
    );
    expect(Number(row.n)).toBe(ticker.ticks.length);
    expect(await db.waitForConnections(0)).toBe(0);
  });
});
