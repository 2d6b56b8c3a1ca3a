import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RowDataPacket } from 'mysql2';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DbPool, type DbModuleOptions } from 'nestjs-mysql-connection';
import { DbHealthIndicator } from 'nestjs-mysql-connection/health';
import { bootApp, type BootedApp } from '../fixtures/app.js';
import { ReplicasController } from '../fixtures/replicas.controller.js';
import { eventually, get, listen, post, sleep } from '../support/http.js';
import { startProxy } from '../support/proxy.js';
import { usePrivateServer } from '../support/private-server.js';

// Real binlog replication on one machine: a private primary and a private replica of it. Both get
// the suite's database and user (same names, from the same suite name), then the replica follows
// the primary from its current binlog position, so everything created after that replicates.
const SUITE = 'replicas';
const primary = usePrivateServer(SUITE, {
  extraArgs: ['--log-bin=mysql-bin', '--server-id=1', '--binlog-format=ROW'],
});
const replica = usePrivateServer(SUITE, { extraArgs: ['--server-id=2'] });

const PRIMARY_ID = 1;
const REPLICA_ID = 2;
const ACQUIRE_TIMEOUT = 2000;
const CHECK_INTERVAL = 200;
const SHUTDOWN_TIMEOUT = 1000;

/** One line per measurement, for the notes. */
const record = (what: string, ms: number) => process.stderr.write(`[replicas] ${what}: ${ms} ms\n`);

type Body = { server: number; conn: number; n?: number };

async function startReplication(): Promise<void> {
  await primary.query(`CREATE USER 'repl'@'%' IDENTIFIED BY 'repl-pw'`);
  await primary.query(`GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'`);
  const [status] = await primary.query<RowDataPacket[]>('SHOW MASTER STATUS');
  await replica.query(
    `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=?, MASTER_USER='repl', ` +
      `MASTER_PASSWORD='repl-pw', MASTER_USE_GTID=no, MASTER_LOG_FILE=?, MASTER_LOG_POS=?`,
    [primary.server.port, status.File, Number(status.Position)],
  );
  await replica.query('START SLAVE');
  // The lag guard reads SHOW REPLICA STATUS as the app's user.
  for (const from of ['%', 'localhost']) {
    await replica.query('GRANT SLAVE MONITOR ON *.* TO ?@?', [replica.db.user, from]);
  }
  await primary.query(
    `CREATE TABLE \`${primary.db.name}\`.items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40))`,
  );
  const replicated = await eventually(async () => {
    const rows = await replica.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [replica.db.name, 'items'],
    );
    return Number(rows[0].n) === 1;
  }, 10_000);
  if (!replicated) throw new Error('replication did not start');
}

async function boot(
  options: Partial<DbModuleOptions> = {},
  scope: 'request' | 'context' = 'request',
) {
  const app = await bootApp(
    {
      uri: primary.db.url,
      replicas: [{ uri: replica.db.url }],
      replicaCheckInterval: CHECK_INTERVAL,
      connectionLimit: 4,
      acquireTimeout: ACQUIRE_TIMEOUT,
      shutdownTimeout: SHUTDOWN_TIMEOUT,
      scope,
      ...options,
    },
    { controllers: [ReplicasController] },
  );
  primary.defer(() => app.app.close());
  return app;
}

async function waitForReplica(): Promise<void> {
  const caughtUp = await eventually(async () => {
    const [row] = await replica.query<RowDataPacket[]>('SHOW SLAVE STATUS');
    return row?.Seconds_Behind_Master === 0 || row?.Seconds_Behind_Master === '0';
  }, 10_000);
  expect(caughtUp).toBe(true);
}

beforeAll(startReplication, 30_000);

describe.each(['request', 'context'] as const)('read replicas, %s scope', (scope) => {
  let app: BootedApp;

  beforeAll(async () => {
    app = await boot({}, scope);
  });

  afterAll(() => app.app.close());

  it('sends @ReadOnly() reads to the replica and everything else to the primary', async () => {
    expect((await get(app.base, '/replicas/read')).body).toMatchObject({ server: REPLICA_ID });
    expect((await get(app.base, '/replicas/plain')).body).toMatchObject({ server: PRIMARY_ID });
    expect((await get(app.base, '/replicas/in-code')).body).toEqual({
      inside: REPLICA_ID,
      after: PRIMARY_ID,
    });
    // a transaction runs on the primary, and pins the rest of the request there
    expect((await get(app.base, '/replicas/tx')).body).toEqual({
      inTx: PRIMARY_ID,
      after: PRIMARY_ID,
    });
  });

  it('reads its own writes on the primary while replication is stopped', async () => {
    await replica.query('STOP SLAVE');
    try {
      const name = `ryw-${scope}`;
      const wrote = await post(app.base, `/replicas/items/${name}`, {});
      expect(wrote.status).toBe(201);
      expect(wrote.body).toMatchObject({ server: PRIMARY_ID, n: 1 });
      // a read-only request reads the replica, which has not seen the row: routing is real
      expect((await get(app.base, `/replicas/items/${name}`)).body).toMatchObject({
        server: REPLICA_ID,
        n: 0,
      });
    } finally {
      await replica.query('START SLAVE');
    }
    await waitForReplica();
  });
});

describe('lag guard', () => {
  it('takes a replica that stopped replicating out of rotation and back after START SLAVE', async () => {
    const app = await boot({ maxReplicationLag: 5 });
    const pool = app.app.get(DbPool);
    const server = async () => ((await get(app.base, '/replicas/read')).body as Body).server;
    expect(await eventually(async () => (await server()) === REPLICA_ID, 3000)).toBe(true);

    await replica.query('STOP SLAVE SQL_THREAD');
    let started = Date.now();
    expect(await eventually(async () => (await server()) === PRIMARY_ID, 5000)).toBe(true);
    record('replica leaves rotation after STOP SLAVE SQL_THREAD', Date.now() - started);
    expect(pool.replicaStatus()).toEqual([
      expect.objectContaining({ name: 'default/replica-0', usable: false, lagSeconds: null }),
    ]);
    const health = new DbHealthIndicator(new HealthIndicatorService(), app.app.get(ModuleRef));
    expect(await health.replicaCheck('replicas')).toEqual({
      replicas: expect.objectContaining({
        status: 'down',
        replicas: [expect.objectContaining({ usable: false })],
      }),
    });

    await replica.query('START SLAVE');
    started = Date.now();
    expect(await eventually(async () => (await server()) === REPLICA_ID, 10_000)).toBe(true);
    record('replica rejoins rotation after START SLAVE', Date.now() - started);
    expect(pool.replicaStatus()[0]).toMatchObject({ usable: true, lagSeconds: 0 });
    expect(await health.replicaCheck('replicas')).toMatchObject({ replicas: { status: 'up' } });
    await app.app.close();
  });
});

describe('replica server down', () => {
  it('reads fall back to the primary (or 503) without hanging, and return once it is back', async () => {
    const fallback = await boot();
    const failing = await boot({ replicaFallback: 'fail' });
    expect((await get(fallback.base, '/replicas/read')).body).toMatchObject({
      server: REPLICA_ID,
    });
    expect((await get(failing.base, '/replicas/read')).body).toMatchObject({ server: REPLICA_ID });

    await replica.server.kill('SIGTERM');
    const down = await get(fallback.base, '/replicas/read');
    expect(down.body).toMatchObject({ server: PRIMARY_ID });
    expect(down.ms).toBeLessThan(ACQUIRE_TIMEOUT);
    record('read with the replica down (fallback to primary)', down.ms);
    expect(
      await eventually(
        async () => (await get(failing.base, '/replicas/read')).status === 503,
        3000,
      ),
    ).toBe(true);
    const refused = await get(failing.base, '/replicas/read');
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: 'DB_REPLICA_UNAVAILABLE' });
    expect(refused.ms).toBeLessThan(ACQUIRE_TIMEOUT);

    await replica.server.start();
    const started = Date.now();
    for (const app of [fallback, failing]) {
      const back = await eventually(
        async () => ((await get(app.base, '/replicas/read')).body as Body).server === REPLICA_ID,
        5000,
      );
      expect(back).toBe(true);
    }
    record('replica back in rotation after restart', Date.now() - started);
    await Promise.all([fallback.app.close(), failing.app.close()]);
  });
});

describe('replica black-holed (packets dropped, no error, no FIN)', () => {
  it('a read that gets no replica connection in time falls back to the primary, and the replica leaves rotation', async () => {
    const proxy = await startProxy({ host: replica.db.host, port: replica.db.port });
    replica.defer(() => proxy.stop());
    const app = await boot({
      replicas: [{ uri: proxy.via(replica.db.url) }],
      // Rare checks: the read itself, not the periodic check, must notice the dead path.
      replicaCheckInterval: 60_000,
      validateAfterIdle: 100,
      validationTimeout: 200,
    });
    expect((await get(app.base, '/replicas/read')).body).toMatchObject({ server: REPLICA_ID });

    proxy.blackhole({ newConnections: 'blackhole' });
    await sleep(150); // past validateAfterIdle: the idle replica connection is pinged, and dies
    const first = await get(app.base, '/replicas/read');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ server: PRIMARY_ID });
    expect(first.ms).toBeLessThan(ACQUIRE_TIMEOUT + 1500);
    record('first read with the replica black-holed (fallback to primary)', first.ms);
    expect(app.app.get(DbPool).replicaStatus()[0]).toMatchObject({ usable: false });
    const next = await get(app.base, '/replicas/read');
    expect(next.body).toMatchObject({ server: PRIMARY_ID });
    expect(next.ms).toBeLessThan(500);
    // A replica connection still connecting into the black hole must not hold up shutdown
    // (mysql2's end() would wait for its connectTimeout, 10 s): destroyed after shutdownTimeout.
    const closing = Date.now();
    await app.app.close();
    const closeMs = Date.now() - closing;
    record('close with a replica connection stuck in the black hole', closeMs);
    expect(closeMs).toBeLessThan(SHUTDOWN_TIMEOUT + 1000);
    expect(await eventually(() => proxy.openClients === 0, 2000)).toBe(true);
    // The black hole kept the replica's end of the first connection open: close it, so the
    // next tests count only their own sessions.
    proxy.dropDead();
  });
});

describe('replica pool full (load, not failure)', () => {
  it('answers a read that waited acquireTimeout with 503 and keeps the replica in rotation', async () => {
    await waitForReplica();
    const app = await boot({ connectionLimit: 1, acquireTimeout: 500 });
    const holding = get(app.base, '/replicas/hold/2000');
    await sleep(200); // the replica's only connection is taken
    const waited = await get(app.base, '/replicas/read');
    expect(waited.status).toBe(503);
    expect(waited.body).toMatchObject({ code: 'DB_ACQUIRE_TIMEOUT' });
    expect(app.app.get(DbPool).replicaStatus()[0]).toMatchObject({ usable: true });
    expect((await holding).body).toMatchObject({ server: REPLICA_ID });
    expect((await get(app.base, '/replicas/read')).body).toMatchObject({ server: REPLICA_ID });
    await app.app.close();
  });
});

describe('isolation and release with replicas', () => {
  it('returns every connection on both servers after a burst of concurrent mixed requests', async () => {
    await waitForReplica();
    const app = await boot();
    const pool = app.app.get(DbPool);
    const requests = Array.from({ length: 40 }, (_, i) => {
      switch (i % 4) {
        case 0:
          return get(app.base, '/replicas/hold/50');
        case 1:
          return post(app.base, `/replicas/items/burst-${i}`, {});
        case 2:
          return get(app.base, '/replicas/plain');
        default:
          return get(app.base, '/replicas/in-code');
      }
    });
    const replies = await Promise.all(requests);
    for (const r of replies) expect(r.status).toBeLessThan(300);
    // concurrent read-only requests each had a replica connection of their own
    const held = replies.filter((_, i) => i % 4 === 0).map((r) => r.body as Body);
    for (const b of held) expect(b.server).toBe(REPLICA_ID);
    expect(
      await eventually(
        () => pool.stats().borrowed === 0 && pool.replicaStatus()[0].borrowed === 0,
        3000,
      ),
    ).toBe(true);
    await app.app.close();
    // (the replica's db.admin died with its restart: count through the reopening admin)
    const none = async () =>
      (await primary.appConnections()) === 0 && (await replica.appConnections()) === 0;
    expect(await eventually(none, 5000)).toBe(true);
  });
});

describe('sample app with MYSQL_REPLICA_URLS', () => {
  it('lists accounts (GET /accounts, @ReadOnly()) from the replica', async () => {
    await waitForReplica();
    const { NestFactory } = await import('@nestjs/core');
    const { AppModule } = await import('../../sample/src/app.module.js');
    const { resolveSettings } = await import('../../sample/src/settings.js');
    const settings = resolveSettings(
      { url: primary.db.url },
      { MYSQL_REPLICA_URLS: ` ${replica.db.url} ,` },
    );
    expect(settings.replicaUrls).toEqual([replica.db.url]);
    const app = await NestFactory.create(AppModule.forRoot(settings), {
      logger: false,
      abortOnError: false,
    });
    primary.defer(() => app.close());
    const base = await listen(app);
    const owners = async () =>
      ((await get(base, '/accounts')).body as { owner: string }[]).map((a) => a.owner);
    // the schema the sample created on the primary has reached the replica
    expect(await eventually(async () => (await get(base, '/accounts')).status === 200, 5000)).toBe(
      true,
    );

    await replica.query('STOP SLAVE');
    try {
      expect((await post(base, '/accounts', { owner: 'ada', balance: 1 })).status).toBe(201);
      expect(await owners()).not.toContain('ada'); // the replica has not seen it yet
    } finally {
      await replica.query('START SLAVE');
    }
    expect(await eventually(async () => (await owners()).includes('ada'), 5000)).toBe(true);
    await app.close();
  });
});
