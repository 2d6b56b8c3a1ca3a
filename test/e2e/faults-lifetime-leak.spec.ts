import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import type { RowDataPacket } from 'mysql2';
import { DbConfigError, DbPool, type DbModuleOptions } from 'nestjs-mysql-connection';
import { bootApp, type BootedApp } from '../fixtures/app.js';
import { FaultController } from '../fixtures/faults.controller.js';
import { reply } from '../support/client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually, sleep } from '../support/http.js';

// Neither test harms the server, so both use the shared one (no private server to start).

/** A pool whose clock can be moved forward: lifetimes pass without waiting 30 s. */
class ClockPool extends DbPool {
  skew = 0;
  protected override now(): number {
    return super.now() + this.skew;
  }
}

const MAX_LIFETIME = 30_000; // the shortest accepted
const PAST_LIFETIME = MAX_LIFETIME + 1_000;

describe('maxLifetime', () => {
  let db: TestDatabase;
  const pools: DbPool[] = [];
  const pool = (options: DbModuleOptions = {}) => {
    const p = new ClockPool({
      uri: db.url,
      name: 'lifetime',
      connectionLimit: 2,
      maxLifetime: MAX_LIFETIME,
      ...options,
    });
    pools.push(p);
    return p;
  };
  const threadOf = (p: DbPool) =>
    p.withConnection(async (conn) => {
      await conn.query('SELECT 1');
      return conn.threadId!;
    });
  const serverIds = async () => {
    const [rows] = await db.admin.query<RowDataPacket[]>(
      'SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?',
      [db.user],
    );
    return rows.map((row) => Number(row.ID));
  };

  beforeAll(async () => {
    db = await createTestDatabase('faults_life');
  });

  afterEach(async () => {
    for (const p of pools.splice(0)) await p.close();
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('refuses a maxLifetime under 30 s', () => {
    expect(() => new DbPool({ uri: 'mysql://u@127.0.0.1/d', maxLifetime: 1000 })).toThrow(
      DbConfigError,
    );
    expect(() => new DbPool({ uri: 'mysql://u@127.0.0.1/d', maxLifetime: 1000 })).toThrow(
      /maxLifetime/,
    );
  });

  it('never hands out a connection older than maxLifetime', async () => {
    const p = pool();
    const first = await threadOf(p);
    expect(await threadOf(p)).toBe(first); // reused while young

    p.skew += PAST_LIFETIME;
    const second = await threadOf(p);
    expect(second).not.toBe(first);
    expect(await eventually(async () => !(await serverIds()).includes(first), 2000)).toBe(true);
    expect(p.stats().destroyed.lifetime).toBe(1);
    expect(await threadOf(p)).toBe(second); // the new one is young
  });

  it('never cuts a connection in use past maxLifetime, and replaces it when it comes back', async () => {
    const p = pool();
    // two idle connections
    const [a, b] = await Promise.all(
      [0, 1].map(() =>
        p.withConnection(async (conn) => {
          await conn.query('SELECT SLEEP(0.05)');
          return conn.threadId!;
        }),
      ),
    );
    expect(a).not.toBe(b);

    const until = { released: false };
    const seen = new Set<number>();
    let statements = 0;
    let taken!: () => void;
    const tookIt = new Promise<void>((resolve) => (taken = resolve));
    const held = p.withConnection(async (conn) => {
      await conn.query('SELECT 1');
      taken();
      while (!until.released) {
        const [[row]] = await conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
        seen.add(Number(row.id));
        statements++;
        await sleep(100);
      }
      return conn.threadId!;
    });
    await tookIt;
    p.skew += PAST_LIFETIME; // both connections are now too old: one idle, one in use

    // Housekeeping closes the idle one on its own schedule: wait until it evidently has run...
    const idleClosed = await eventually(async () => (await serverIds()).length === 1, 12_000);
    const survivors = await serverIds();
    until.released = true;
    const inUse = await held;
    expect(idleClosed).toBe(true);
    expect(survivors).toEqual([inUse]);
    // ...while the one in use kept working, on the same server connection, the whole time
    expect(statements).toBeGreaterThan(3);
    expect([...seen]).toEqual([inUse]);
    // once back it is closed, and the next borrower gets a new one
    expect(await eventually(async () => (await serverIds()).length === 0, 2000)).toBe(true);
    const next = await threadOf(p);
    expect([a, b]).not.toContain(next);
    expect(p.stats().destroyed.lifetime).toBe(2);
  });
});

/** A Nest logger that keeps what it is given. */
class CaptureLogger implements LoggerService {
  readonly entries: { level: string; text: string; context: unknown }[] = [];
  log(message: unknown, ...rest: unknown[]) {
    this.push('log', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.push('warn', message, rest);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.push('error', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.push('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]) {
    this.push('verbose', message, rest);
  }
  private push(level: string, message: unknown, rest: unknown[]) {
    // Nest passes the context last; a stack, when given, before it.
    const text = [message, ...rest.slice(0, -1)].map(String).join('\n');
    this.entries.push({ level, text, context: rest.at(-1) });
  }
}

describe('leak detection', () => {
  let db: TestDatabase;
  let booted: BootedApp;
  let pool: DbPool;
  const capture = new CaptureLogger();

  beforeAll(async () => {
    db = await createTestDatabase('faults_leak');
    booted = await bootApp(
      { uri: db.url, connectionLimit: 2, leakDetectionThreshold: 300 },
      { controllers: [FaultController], appOptions: { logger: capture } },
    );
    pool = booted.app.get(DbPool);
  });

  afterAll(async () => {
    await booted?.app.close();
    await db?.drop();
  });

  const fromModule = () => capture.entries.filter((e) => e.context === 'DbModule');

  it('warns once, with the route and where the connection was taken, then says it came back', async () => {
    // a request that returns its connection in time says nothing
    expect((await reply(booted.base, '/id', { timeoutMs: 3000 })).status).toBe(200);
    await sleep(400);
    expect(fromModule()).toEqual([]);

    const held = await reply(booted.base, '/hold/700', { timeoutMs: 3000 });
    expect(held.status).toBe(200);
    await sleep(400); // long enough for a second (wrong) warning and for the release line

    const warnings = fromModule().filter((e) => e.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].text).toContain('GET /hold');
    expect(warnings[0].text).toMatch(/\n\s+at /); // a stack trace...
    expect(warnings[0].text).toContain('holdFor'); // ...that names the handler
    const after = fromModule().slice(fromModule().indexOf(warnings[0]) + 1);
    expect(after).toHaveLength(1);
    expect(after[0].text).toContain('GET /hold');
    expect(after[0].text).toMatch(/came back|released|unleaked/i);
    expect(pool.stats().leaks).toBe(1);
    expect(pool.stats().borrowed).toBe(0);
  });
});
