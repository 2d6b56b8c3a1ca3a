import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { DbPool, type DbModuleOptions } from 'nestjs-mysql-connection';
import { bootApp, type BootedApp } from '../fixtures/app.js';
import { FaultController } from '../fixtures/faults.controller.js';
import { ProbeController } from '../fixtures/probe.controller.js';
import { reply, send } from '../support/client.js';
import { eventually, sleep } from '../support/http.js';
import { usePrivateServer } from '../support/private-server.js';
import { startProxy, type TcpProxy } from '../support/proxy.js';

// The network between the app and the server misbehaves (R5 of mysql2-pool-facts): the app talks
// to a private server through an in-process TCP proxy.
const env = usePrivateServer('faults_proxy');

const ACQUIRE_TIMEOUT = 2500;
const VALIDATION_TIMEOUT = 500;
const STATEMENT_TIMEOUT = 1000;
const BOUND = { timeoutMs: ACQUIRE_TIMEOUT + 3000 };

type App = BootedApp & { pool: DbPool };
type Id = { id: number };

describe('network faults between the app and the server', () => {
  let proxy: TcpProxy;
  let app: App;

  const boot = async (options: DbModuleOptions): Promise<App> => {
    const booted = await bootApp(
      {
        uri: proxy.via(env.db.url),
        acquireTimeout: ACQUIRE_TIMEOUT,
        validationTimeout: VALIDATION_TIMEOUT,
        shutdownTimeout: 1000,
        connectTimeout: 1000,
        ...options,
      },
      // forceCloseConnections: a request hung on a dead socket must not hold up app.close()
      {
        controllers: [ProbeController, FaultController],
        appOptions: { forceCloseConnections: true },
      },
    );
    env.defer(() => booted.app.close());
    return { ...booted, pool: booted.app.get(DbPool) };
  };
  /** `n` connections through the proxy, idle; their server ids. */
  const warm = async (n: number) => {
    const replies = await Promise.all(
      Array.from({ length: n }, () => reply(app.base, '/hold/50', BOUND)),
    );
    for (const r of replies) expect(r.status).toBe(200);
    expect(await eventually(() => app.pool.stats().borrowed === 0, 2000)).toBe(true);
    return [...new Set(replies.map((r) => (r.body as Id).id))];
  };

  beforeAll(async () => {
    proxy = await startProxy({ host: env.db.host, port: env.db.port });
    env.defer(() => proxy.stop());
    app = await boot({ connectionLimit: 3 });
  });

  afterEach(async () => {
    // every test leaves the path healthy for the next
    proxy.pass();
    proxy.dropDead();
    await proxy.resume();
  });

  it('answers every request after the network reset (RST) or closed (FIN) idle connections', async () => {
    for (const fault of ['reset', 'close'] as const) {
      const ids = await warm(3);
      proxy[fault]();
      await sleep(20);
      const replies = await Promise.all(
        Array.from({ length: 6 }, () => reply(app.base, '/id', BOUND)),
      );
      for (const r of replies) {
        expect(r.status).toBe(200);
        expect(ids).not.toContain((r.body as Id).id);
      }
    }
    // the first test of the file: every connection lost so far was lost here, 3 per fault
    expect(app.pool.stats().destroyed.fatal).toBeGreaterThanOrEqual(6);
  });

  it('answers fast 503s while connections are refused, and serves again once they are not', async () => {
    await warm(1);
    proxy.reset(); // no idle connection left: every request needs a new one
    await proxy.refuse();
    const refused = await Promise.all(
      Array.from({ length: 5 }, () => reply(app.base, '/id', BOUND)),
    );
    for (const r of refused) {
      expect(r).toMatchObject({ status: 503, body: { code: 'DB_CONNECT' } });
      expect(r.ms).toBeLessThan(ACQUIRE_TIMEOUT / 3);
    }
    await proxy.resume();
    const resumedAt = Date.now();
    expect((await reply(app.base, '/id', BOUND)).status).toBe(200);
    process.stderr.write(
      `[faults] recovery: proxy refuse -> resume to first 200: ${Date.now() - resumedAt} ms\n`,
    );
  });

  it('serves requests through a slow network (latency), and validates idle connections in time', async () => {
    const [id] = await warm(1);
    proxy.latency(100);
    await sleep(600); // past validateAfterIdle: the next hand-out pings first
    const r = await reply(app.base, '/id', BOUND);
    // one round trip for the ping, one for the statement, each 2 x 100 ms
    expect(r.status).toBe(200);
    expect(r.ms).toBeGreaterThanOrEqual(2 * 2 * 100 - 20);
    expect(r.body).toEqual({ id }); // a slow ping is not a dead connection
  });

  it('replaces an idle connection that was black-holed, when new connections get through', async () => {
    const ids = await warm(3);
    proxy.blackhole({ newConnections: 'pass' });
    await sleep(600); // past validateAfterIdle (500 ms)

    const r = await reply(app.base, '/id', BOUND);
    expect(r.status).toBe(200);
    expect(ids).not.toContain((r.body as Id).id);
    // every dead one costs one validationTimeout, all within the one acquire deadline
    expect(r.ms).toBeLessThan(ACQUIRE_TIMEOUT + 500);
    expect(app.pool.stats().destroyed.validation).toBeGreaterThanOrEqual(1);
    process.stderr.write(`[faults] recovery: black-holed idle connection to 200: ${r.ms} ms\n`);
  });

  it('fails by the acquire deadline when the black hole swallows new connections too', async () => {
    await warm(2);
    proxy.blackhole({ newConnections: 'blackhole' });
    await sleep(600);

    const replies = await Promise.all(
      Array.from({ length: 3 }, () => reply(app.base, '/id', BOUND)),
    );
    for (const r of replies) {
      expect(r.status).toBe(503);
      expect(['DB_ACQUIRE_TIMEOUT', 'DB_CONNECT']).toContain((r.body as { code: string }).code);
      expect(r.ms).toBeLessThan(ACQUIRE_TIMEOUT + 500);
    }
    expect(await eventually(() => app.pool.stats().borrowed === 0, 2000)).toBe(true);

    proxy.pass();
    proxy.dropDead();
    const healed = await reply(app.base, '/id', BOUND);
    expect(healed.status).toBe(200);
  });

  it('fails a statement black-holed mid-flight within statementTimeout, kills it, and does not starve the pool', async () => {
    // connectionLimit 1: the next request can only be served if the dead connection was let go
    const single = await boot({ connectionLimit: 1, statementTimeout: STATEMENT_TIMEOUT });
    const stuck = send(single.base, '/sleep/20000', BOUND);
    expect(
      await eventually(
        async () => (await env.processlist()).some((row) => /SLEEP/.test(row.INFO ?? '')),
        2000,
      ),
    ).toBe(true);
    proxy.blackhole({ newConnections: 'pass' });

    const failed = await stuck;
    expect(failed).toMatchObject({ kind: 'reply', status: 503 });
    expect((failed as { body: unknown }).body).toMatchObject({ code: 'DB_STATEMENT_TIMEOUT' });
    // measured from the request's start: its first statement plus the timed-out one
    expect(failed.ms).toBeLessThan(STATEMENT_TIMEOUT + 700);

    const next = await reply(single.base, '/id', BOUND);
    expect(next.status).toBe(200);
    expect(next.ms).toBeLessThan(1000);
    expect(single.pool.stats().destroyed.timeout).toBe(1);

    // the server-side statement was killed (KILL QUERY), not left running its 20 s: the black
    // hole keeps the server's end of the old connection open, so only a kill can end it
    expect(
      await eventually(
        async () => !(await env.processlist()).some((row) => /SLEEP/.test(row.INFO ?? '')),
        1500,
      ),
    ).toBe(true);
    expect(await eventually(() => single.pool.stats().borrowed === 0, 2000)).toBe(true);
  });

  it('closes within shutdownTimeout while a connection is still connecting into a black hole', async () => {
    // A proxy of its own, to count only this app's sockets; mysql2's default connectTimeout
    // (10 s), which is what its end() would otherwise wait for.
    const own = await startProxy({ host: env.db.host, port: env.db.port });
    env.defer(() => own.stop());
    const booted = await bootApp(
      { uri: own.via(env.db.url), acquireTimeout: ACQUIRE_TIMEOUT, shutdownTimeout: 1000 },
      { controllers: [FaultController], appOptions: { forceCloseConnections: true } },
    );
    const undo = env.defer(() => booted.app.close());
    own.blackhole({ newConnections: 'blackhole' });
    await sleep(600); // past validateAfterIdle: the idle connection is pinged (and found dead)
    const failed = await reply(booted.base, '/id', BOUND);
    expect(failed.status).toBe(503);
    expect(own.openClients).toBe(1); // the connect that is still waiting for a handshake

    const started = Date.now();
    await undo();
    const closeMs = Date.now() - started;
    expect(closeMs).toBeLessThan(1000 + 1000);
    expect(await eventually(() => own.openClients === 0, 2000)).toBe(true);
  });
});
