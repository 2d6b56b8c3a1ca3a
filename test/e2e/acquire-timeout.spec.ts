import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DbPool, type DbScope } from 'nestjs-mysql-connection';
import { bootApp, type BootedApp } from '../fixtures/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually, get } from '../support/http.js';

describe.each<DbScope>(['request', 'context'])('acquire timeout (%s scope)', (scope) => {
  let db: TestDatabase;
  let booted: BootedApp;
  let pool: DbPool;

  beforeAll(async () => {
    db = await createTestDatabase(`acquire_${scope}`);
    booted = await bootApp({ uri: db.url, connectionLimit: 2, acquireTimeout: 300, scope });
    pool = booted.app.get(DbPool);
  });

  afterAll(async () => {
    await booted?.app.close();
    await db?.drop();
  });

  it('answers waiters past the deadline with 503 naming the pool and its limit', async () => {
    const watch = db.watchConnections(10);
    const replies = await Promise.all(
      Array.from({ length: 6 }, () => get(booted.base, '/slow/2000')),
    );
    const maxSeen = await watch.stop();

    const ok = replies.filter((r) => r.status === 200);
    const unavailable = replies.filter((r) => r.status === 503);
    expect(ok).toHaveLength(2);
    expect(unavailable).toHaveLength(4);
    for (const r of unavailable) {
      // quickly: at the deadline (300 ms), not after the 2 s statements; the margin is for a
      // loaded CI machine running the whole suite in parallel
      expect(r.ms).toBeLessThan(1500);
      const body = r.body as { message: string; code?: string };
      // DbInterceptor (registered by default in request scope) adds the stable code; without it
      // Nest's own filter answers from the error's http-errors shape: same status and message.
      expect(body.code).toBe(scope === 'request' ? 'DB_ACQUIRE_TIMEOUT' : undefined);
      expect(body.message).toMatch(/^Timed out after \d+ ms waiting for a connection/);
      expect(body.message).toContain('pool "default"');
      expect(body.message).toContain('connectionLimit 2');
      expect(body.message).not.toContain(db.password);
    }
    expect(maxSeen).toBeLessThanOrEqual(2);
    expect(await eventually(() => pool.stats().borrowed === 0)).toBe(true);
    expect(pool.stats().pending).toBe(0);

    // and the pool works afterwards
    const after = await get(booted.base, '/ok');
    expect(after.status).toBe(200);
  });

  it('returns a connection that arrives after its waiter gave up', async () => {
    // A deadline shorter than a connect: the first caller gives up while its connection is being
    // made; the connection must still come back to the pool.
    const pool2 = new DbPool({ uri: db.url, name: 'late', connectionLimit: 1, acquireTimeout: 1 });
    await expect(pool2.query('SELECT 1')).rejects.toMatchObject({ code: 'DB_ACQUIRE_TIMEOUT' });
    expect(await eventually(() => pool2.stats().borrowed === 0 && pool2.stats().total === 1)).toBe(
      true,
    );
    await pool2.close();
  });
});
