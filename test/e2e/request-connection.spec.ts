import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RowDataPacket } from 'mysql2';
import { DbPool, type DbScope } from 'nestjs-mysql-connection';
import { ADAPTERS, bootApp, type BootedApp, type HttpPlatform } from '../fixtures/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { abort, eventually, get, sleep } from '../support/http.js';

const LIMIT = 10;
const SCOPES: DbScope[] = ['request', 'context'];
const CASES = SCOPES.flatMap((scope) => ADAPTERS.map((adapter) => [scope, adapter] as const));

describe.each<readonly [DbScope, HttpPlatform]>(CASES)(
  'Connection in %s scope (%s)',
  (scope, adapter) => {
    let db: TestDatabase;
    let booted: BootedApp;
    let pool: DbPool;

    beforeAll(async () => {
      db = await createTestDatabase(`conn_${scope}_${adapter}`);
      await db.admin.query(
        `CREATE TABLE \`${db.name}\`.items (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)`,
      );
      booted = await bootApp({ uri: db.url, connectionLimit: LIMIT, scope }, { adapter });
      pool = booted.app.get(DbPool);
    });

    afterAll(async () => {
      await booted?.app.close();
      await db?.drop();
    });

    const borrowedBackToZero = () => eventually(() => pool.stats().borrowed === 0, 5000);

    it('gives each of 200 concurrent requests one server connection of its own', async () => {
      const watch = db.watchConnections();
      const replies = await Promise.all(
        Array.from({ length: 200 }, (_, i) => get(booted.base, `/isolation/t${i}`)),
      );
      const maxSeen = await watch.stop();

      type Row = {
        id1: number;
        id2: number;
        tag: string;
        threadId: number;
        t0: number;
        t1: number;
      };
      const rows = replies.map((r) => {
        expect(r.status).toBe(200);
        return r.body as Row;
      });
      rows.forEach((row, i) => {
        expect(row.id1).toBe(row.id2); // one connection for the whole request
        expect(row.threadId).toBe(row.id1);
        expect(row.tag).toBe(`t${i}`); // its own session variable, nobody else's
      });
      // No two requests whose lifetimes overlap ran on the same server connection.
      const byId = new Map<number, Row[]>();
      for (const row of rows) byId.set(row.id1, [...(byId.get(row.id1) ?? []), row]);
      for (const group of byId.values()) {
        group.sort((a, b) => a.t0 - b.t0);
        for (let i = 1; i < group.length; i++)
          expect(group[i].t0).toBeGreaterThanOrEqual(group[i - 1].t1);
      }
      expect(byId.size).toBeLessThanOrEqual(LIMIT);
      expect(maxSeen).toBeLessThanOrEqual(LIMIT);
      expect(await borrowedBackToZero()).toBe(true);
    });

    it('takes no connection for a request that injects Connection but never queries', async () => {
      const before = await db.connections();
      const inFlight = Array.from({ length: 20 }, () => get(booted.base, '/lazy'));
      await sleep(150); // all 20 handlers are now inside their 300 ms wait
      expect(pool.stats().borrowed).toBe(0);
      expect(await db.connections()).toBe(before);
      const replies = await Promise.all(inFlight);
      for (const r of replies) expect(r).toMatchObject({ status: 200, body: { threadId: null } });
      expect(await db.connections()).toBe(before);
    });

    it('returns the connection on success, on a thrown error, on a failing guard and on a client abort', async () => {
      expect((await get(booted.base, '/ok')).status).toBe(200);
      expect(await borrowedBackToZero()).toBe(true);

      expect((await get(booted.base, '/throw')).status).toBe(400);
      expect(await borrowedBackToZero()).toBe(true);

      // The guard takes the connection and throws: the interceptor never runs, so only the
      // response-close safety net can return it.
      expect((await get(booted.base, '/guarded')).status).toBe(403);
      expect(await borrowedBackToZero()).toBe(true);

      // The client goes away while the handler sleeps on its connection.
      await abort(booted.base, '/slow/400', 100);
      expect(pool.stats().borrowed).toBe(1);
      expect(await borrowedBackToZero()).toBe(true);
    });

    it('stays within connectionLimit and leaks nothing over 500 mixed requests', async () => {
      const watch = db.watchConnections(5);
      const paths = ['/ok', '/throw', '/guarded', '/isolation/x', '/lazy', 'abort'];
      const statuses = new Map<string, number[]>();
      for (let batch = 0; batch < 10; batch++) {
        await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const path = paths[(batch * 50 + i) % paths.length];
            if (path === 'abort') return abort(booted.base, '/slow/200', 20 + (i % 5) * 20);
            const r = await get(booted.base, path);
            statuses.set(path, [...(statuses.get(path) ?? []), r.status]);
          }),
        );
      }
      expect(await borrowedBackToZero()).toBe(true);
      const maxSeen = await watch.stop();
      expect(maxSeen).toBeLessThanOrEqual(LIMIT);
      expect(new Set(statuses.get('/ok'))).toEqual(new Set([200]));
      expect(new Set(statuses.get('/throw'))).toEqual(new Set([400]));
      expect(new Set(statuses.get('/guarded'))).toEqual(new Set([403]));
      expect(new Set(statuses.get('/isolation/x'))).toEqual(new Set([200]));
      expect(pool.stats()).toMatchObject({ borrowed: 0, pending: 0 });
      expect(await db.connections()).toBe(pool.stats().total);
    });

    it('rolls back a transaction the handler threw out of, or left open', async () => {
      expect((await get(booted.base, '/tx/throw/1', 'POST')).status).toBe(400);
      expect((await get(booted.base, '/tx/open/2', 'POST')).status).toBe(201);
      expect(await borrowedBackToZero()).toBe(true);
      const [rows] = await db.admin.query<RowDataPacket[]>(
        `SELECT COUNT(*) AS n FROM \`${db.name}\`.items`,
      );
      expect(Number(rows[0].n)).toBe(0);
      // and no lock is left behind: another session can write the table at once
      await db.admin.query('SET SESSION innodb_lock_wait_timeout = 1');
      await db.admin.query(`INSERT INTO \`${db.name}\`.items (v) VALUES (3)`);
      await db.admin.query(`DELETE FROM \`${db.name}\`.items`);
    });

    it('refuses a connection handle used after its request ended', async () => {
      let kept: import('nestjs-mysql-connection').Connection | undefined;
      await pool.withConnection(async (conn) => {
        kept = conn;
        await conn.query('SELECT 1');
      });
      await expect(kept!.query('SELECT 1')).rejects.toMatchObject({
        code: 'DB_CONNECTION_RELEASED',
      });
      expect(pool.stats().borrowed).toBe(0);
    });
  },
);

describe.each<DbScope>(SCOPES)('session hygiene (%s scope)', (scope) => {
  let db: TestDatabase;
  let booted: BootedApp;

  beforeAll(async () => {
    db = await createTestDatabase(`hygiene_${scope}`);
    booted = await bootApp({ uri: db.url, connectionLimit: 1, scope });
  });

  afterAll(async () => {
    await booted?.app.close();
    await db?.drop();
  });

  it("does not pass one request's variables and session settings to the next borrower", async () => {
    const dirty = await get(booted.base, '/session/dirty');
    expect(dirty.status).toBe(200);
    const read = await get(booted.base, '/session/read');
    expect(read.status).toBe(200);
    const row = read.body as Record<string, unknown>;
    // connectionLimit 1: the same server connection, so only the clean-up can explain the result
    expect(row.id).toBe((dirty.body as { threadId: number }).threadId);
    expect(row.leak).toBeNull();
    expect(row.mode).toBe(row.globalMode);
    expect(row.iso).toBe(row.globalIso);
  });
});
