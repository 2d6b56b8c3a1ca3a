import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DbPool, type DbScope } from 'nestjs-mysql-connection';
import { ADAPTERS, bootApp, type HttpPlatform } from '../fixtures/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually, get, sleep } from '../support/http.js';

const SCOPES: DbScope[] = ['request', 'context'];
const CASES = SCOPES.flatMap((scope) => ADAPTERS.map((adapter) => [scope, adapter] as const));

describe.each<readonly [DbScope, HttpPlatform]>(CASES)(
  'shutdown (%s scope, %s)',
  (scope, adapter) => {
    let db: TestDatabase;

    beforeAll(async () => {
      db = await createTestDatabase(`shutdown_${scope}_${adapter}`);
    });

    afterAll(async () => {
      await db?.drop();
    });

    it('lets requests in flight finish, refuses new work with 503, then closes every connection', async () => {
      const { app, base } = await bootApp({ uri: db.url, connectionLimit: 10, scope }, { adapter });
      const pool = app.get(DbPool);
      const inFlight = Array.from({ length: 5 }, () => get(base, '/slow/800'));
      expect(await eventually(() => pool.stats().borrowed === 5)).toBe(true);

      const closing = app.close();
      await sleep(50);
      // The HTTP server is still accepting while the pool drains: new work is refused.
      const late = await get(base, '/ok');
      expect(late.status).toBe(503);
      expect((late.body as { message: string }).message).toBe(
        'Pool "default" is shutting down and accepts no new work.',
      );

      const replies = await Promise.all(inFlight);
      for (const r of replies) expect(r.status).toBe(200); // both statements around the sleep ran
      await closing;
      expect(await db.waitForConnections(0, 3000)).toBe(0);
    });

    it('still resolves within shutdownTimeout when a connection is held forever', async () => {
      // forceCloseConnections: Nest drops the sockets of requests that never end once the pool has
      // drained; without it Nest's own server.close() waits for them, whatever this module does.
      const { app, base } = await bootApp(
        { uri: db.url, shutdownTimeout: 500, scope },
        { appOptions: { forceCloseConnections: true }, adapter },
      );
      const pool = app.get(DbPool);
      void get(base, '/hold').catch(() => undefined);
      // background work (a cron job, say) that never lets go of its connection
      void pool
        .withConnection(async (conn) => {
          await conn.query('SELECT 1');
          await new Promise(() => {});
        })
        .catch(() => undefined);
      expect(await eventually(() => pool.stats().borrowed === 2)).toBe(true);

      const started = Date.now();
      await app.close();
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(450);
      expect(took).toBeLessThan(500 + 1500);
      expect(await db.waitForConnections(0, 3000)).toBe(0);
    });
  },
);
