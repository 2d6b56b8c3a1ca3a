import { beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Query } from '@nestjs/common';
import type { RowDataPacket } from 'mysql2';
import { Connection, DbPool, type DbModuleOptions } from 'nestjs-mysql-connection';
import { bootApp, type BootedApp } from '../fixtures/app.js';
import { FaultController } from '../fixtures/faults.controller.js';
import { ProbeController } from '../fixtures/probe.controller.js';
import { reply, send } from '../support/client.js';
import { eventually, sleep } from '../support/http.js';
import { usePrivateServer } from '../support/private-server.js';

// Server connections killed from an admin session (R1, R2, R3 of mysql2-pool-facts): a private
// server, since the tests kill connections and change global variables.
const env = usePrivateServer('faults_kill');

/**
 * Kills the given server connections from the admin session, then, as soon as the KILL is
 * answered (same tick: mysql2 may not have read the FIN yet), runs the request's first statement.
 */
@Controller()
class RaceController {
  constructor(private readonly conn: Connection) {}

  @Get('race')
  async race(@Query('kill') kill: string) {
    const victims = kill.split(',').map(Number);
    await env.query(victims.map((id) => `KILL ${id}`).join('; '));
    const [[row]] = await this.conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    return { id: Number(row.id) };
  }
}

const BOUND = { timeoutMs: 5000 };

describe('connections killed on the server', () => {
  const boot = async (options: DbModuleOptions) => {
    const booted = await bootApp(
      { uri: env.db.url, acquireTimeout: 3000, shutdownTimeout: 1000, ...options },
      { controllers: [ProbeController, FaultController, RaceController] },
    );
    return { ...booted, pool: booted.app.get(DbPool), close: env.defer(() => booted.app.close()) };
  };
  /**
   * Opens `n` connections (rounds of n concurrent requests until the pool has that many: on a
   * busy machine requests may not overlap), lets them go idle; returns their server ids.
   */
  const warm = async (app: BootedApp & { pool: DbPool }, n: number) => {
    const ids = new Set<number>();
    for (let round = 0; round < 5 && ids.size < n; round++) {
      const replies = await Promise.all(
        Array.from({ length: n }, () => reply(app.base, '/hold/200', BOUND)),
      );
      for (const r of replies) {
        expect(r.status).toBe(200);
        ids.add((r.body as { id: number }).id);
      }
    }
    expect(await eventually(() => app.pool.stats().borrowed === 0, 2000)).toBe(true);
    return [...ids];
  };
  /** Server connections of the user now (only `app` is open outside the last two tests). */
  const serverIds = async () => (await env.processlist()).map((row) => Number(row.ID));

  let app: BootedApp & { pool: DbPool };

  beforeAll(async () => {
    app = await boot({ connectionLimit: 4 });
  });

  it('answers every request after its idle connections were killed', async () => {
    expect(await warm(app, 4)).toHaveLength(4);
    const killed = await serverIds();
    expect(killed).toHaveLength(4);
    const createdBefore = app.pool.stats().created;
    for (const id of killed) await env.query(`KILL ${id}`);
    await sleep(50);

    const replies = await Promise.all(
      Array.from({ length: 8 }, () => reply(app.base, '/id', BOUND)),
    );
    for (const r of replies) {
      expect(r.status).toBe(200);
      expect(killed).not.toContain((r.body as { id: number }).id);
    }
    const alive = await serverIds();
    expect(alive.filter((id) => killed.includes(id))).toEqual([]);
    expect(app.pool.stats()).toMatchObject({ borrowed: 0, pending: 0 });
    expect(app.pool.stats().created - createdBefore).toBeGreaterThanOrEqual(1);
  });

  it('hides a kill that lands in the same tick as the borrow (retry, or validation after idle)', async () => {
    const errors: unknown[] = [];
    for (let round = 0; round < 12; round++) {
      const used = await Promise.all([0, 1].map(() => reply(app.base, '/hold/50', BOUND)));
      for (const r of used) expect(r.status).toBe(200);
      expect(await eventually(() => app.pool.stats().borrowed === 0, 2000)).toBe(true);
      const victims = await serverIds(); // every idle connection: whichever is handed out
      // Odd rounds idle past validateAfterIdle (500 ms): the ping path; even rounds the retry path.
      if (round % 2 === 1) await sleep(600);
      const r = await reply(app.base, `/race?kill=${victims.join(',')}`, BOUND);
      if (r.status !== 200 || victims.includes((r.body as { id: number }).id)) {
        errors.push({ round, ...r });
      }
    }
    expect(errors).toEqual([]);
    expect(await eventually(() => app.pool.stats().borrowed === 0, 2000)).toBe(true);
    expect(
      app.pool.stats().destroyed.fatal + app.pool.stats().destroyed.validation,
    ).toBeGreaterThan(0);
  });

  it('fails only the statement hit by KILL QUERY and keeps its connection', async () => {
    const single = await boot({ connectionLimit: 1 });
    try {
      const before = await reply(single.base, '/id', BOUND);
      const id = (before.body as { id: number }).id;

      const slow = send(single.base, '/sleep/10000', { timeoutMs: 5000 });
      expect(
        await eventually(async () => {
          const rows = await env.processlist();
          return rows.some((row) => Number(row.ID) === id && /SLEEP/.test(row.INFO ?? ''));
        }, 3000),
      ).toBe(true);
      const killedAt = Date.now();
      await env.query(`KILL QUERY ${id}`);
      const outcome = await slow;
      expect(outcome).toMatchObject({ kind: 'reply', status: 500 });
      expect(Date.now() - killedAt).toBeLessThan(1000);

      // connectionLimit 1: the next request can only be served by the same, still healthy, one
      const after = await reply(single.base, '/id', BOUND);
      expect(after).toMatchObject({ status: 200, body: { id } });
      expect(single.pool.stats().destroyed.fatal).toBe(0);
      expect(await eventually(() => single.pool.stats().borrowed === 0, 2000)).toBe(true);
    } finally {
      await single.close();
    }
  });

  it("answers every request after the server's wait_timeout closed idle connections", async () => {
    const [{ w }] = await env.query<RowDataPacket[]>('SELECT @@GLOBAL.wait_timeout AS w');
    // New sessions (the app's, booted below) get 2 s; the admin session keeps its own value.
    await env.query('SET GLOBAL wait_timeout = 2');
    const timed = await boot({ connectionLimit: 3 });
    try {
      const ids = await warm(timed, 3);
      expect(ids).toHaveLength(3);
      // The server drops them on its own, after 2 s idle
      const gone = async () => (await serverIds()).every((id) => !ids.includes(id));
      expect(await eventually(gone, 6000)).toBe(true);
      const replies = await Promise.all(
        Array.from({ length: 6 }, () => reply(timed.base, '/id', BOUND)),
      );
      for (const r of replies) {
        expect(r.status).toBe(200);
        expect(ids).not.toContain((r.body as { id: number }).id);
      }
      // counted as lost, whether noticed while idle or at hand-out
      expect(timed.pool.stats().destroyed.fatal).toBeGreaterThanOrEqual(3);
      expect(await eventually(() => timed.pool.stats().borrowed === 0, 2000)).toBe(true);
    } finally {
      await env.query(`SET GLOBAL wait_timeout = ${Number(w)}`);
      await timed.close();
    }
  });
});
