import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Query } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { DbModule, DbPool, type Connection } from 'nestjs-mysql-connection';
import { DbHealthIndicator } from 'nestjs-mysql-connection/health';
import type { INestApplication } from '@nestjs/common';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually, get, listen, type Reply } from '../support/http.js';

/**
 * A TCP forwarder in front of the server: `pass` forwards, `refuse` drops every connection (open
 * ones too), `blackhole` accepts and never answers (a dead path: only a deadline ends the wait).
 */
function gate(target: { host: string; port: number }) {
  let mode: 'pass' | 'refuse' | 'blackhole' = 'pass';
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (mode === 'refuse') return client.destroy();
    if (mode === 'blackhole') return;
    const upstream = connect(target.port, target.host);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return {
    server,
    set(next: typeof mode) {
      mode = next;
      for (const s of sockets) s.destroy();
    },
    async close() {
      this.set('refuse');
      await new Promise((r) => server.close(r));
    },
  };
}

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: DbHealthIndicator,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.db.pingCheck('database')]);
  }

  @Get('edge')
  @HealthCheck()
  edge(@Query('timeout') timeout?: string) {
    return this.health.check([
      () => this.db.pingCheck('edge', { connectionName: 'edge', timeout: Number(timeout ?? 1000) }),
    ]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.db.poolCheck('pool', { connectionName: 'edge', maxPendingRatio: 1 }),
    ]);
  }

  @Get('unknown')
  @HealthCheck()
  unknown() {
    return this.health.check([() => this.db.pingCheck('nope', { connectionName: 'nope' })]);
  }
}

describe('DbHealthIndicator (@nestjs/terminus)', () => {
  let db: TestDatabase;
  let app: INestApplication;
  let base: string;
  let edge: ReturnType<typeof gate>;
  let edgePool: DbPool;

  beforeAll(async () => {
    db = await createTestDatabase('health');
    edge = gate(db);
    await new Promise<void>((r) => edge.server.listen(0, '127.0.0.1', r));
    const edgeUrl = new URL(db.url);
    edgeUrl.port = String((edge.server.address() as AddressInfo).port);
    const moduleRef = await Test.createTestingModule({
      imports: [
        DbModule.forRoot({ uri: db.url }),
        // Behind the gate; cutting it closes the pool's idle connections, so the next check
        // must open a new one through it.
        DbModule.forRoot({
          name: 'edge',
          uri: edgeUrl.toString(),
          connectionLimit: 2,
          acquireTimeout: 5000,
        }),
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: [HealthController],
      providers: [DbHealthIndicator],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    base = await listen(app);
    edgePool = app.get<DbPool>('DB:POOL(edge)');
  });

  afterAll(async () => {
    edge?.set('pass');
    await app?.close();
    await edge?.close();
    await db?.drop();
  });

  type Body = { status: string; info?: object; error?: object; details: Record<string, unknown> };
  const body = (r: Reply) => r.body as Body;

  it('is up when the database answers, on a connection it returns at once', async () => {
    const r = await get(base, '/health/live');
    expect(r.status).toBe(200);
    expect(body(r).details.database).toMatchObject({
      status: 'up',
      connection: 'default',
      responseTimeMs: expect.any(Number),
    });
    const pool = app.get(DbPool);
    expect(pool.stats()).toMatchObject({ borrowed: 0, total: 1 });
    expect(await db.connections()).toBe(pool.stats().total + edgePool.stats().total);
  });

  it('is down with the reason when the server cannot be reached', async () => {
    edge.set('refuse');
    const r = await get(base, '/health/edge?timeout=3000');
    expect(r.status).toBe(503);
    const details = body(r).details.edge as { status: string; message: string };
    expect(details.status).toBe('down');
    expect(details.message).toMatch(/could not open a connection|Connection lost|ECONNRESET/);
    expect(JSON.stringify(r.body)).not.toContain(db.password);
    edge.set('pass');
    expect((await get(base, '/health/edge')).status).toBe(200);
  });

  it('never waits longer than its timeout when nothing answers', async () => {
    edge.set('blackhole');
    const r = await get(base, '/health/edge?timeout=300');
    expect(r.status).toBe(503);
    expect(body(r).details.edge).toEqual({
      status: 'down',
      connection: 'edge',
      message: 'Connection "edge" did not answer a ping within 300 ms (timeout).',
    });
    expect(r.ms).toBeGreaterThanOrEqual(290);
    expect(r.ms).toBeLessThan(300 + 400);
    edge.set('pass');
    // the abandoned ping gets its own deadline (acquireTimeout) and leaves nothing borrowed
    expect(await eventually(() => edgePool.stats().borrowed === 0, 6000)).toBe(true);
    expect((await get(base, '/health/edge')).status).toBe(200);
  });

  it('reports an unknown connection name as down, naming it', async () => {
    const r = await get(base, '/health/unknown');
    expect(r.status).toBe(503);
    expect(body(r).details.nope).toMatchObject({
      status: 'down',
      message: expect.stringContaining('No connection "nope" is registered'),
    });
  });

  it('reports a saturated pool as down (readiness), and up again once it drains', async () => {
    expect(body(await get(base, '/health/ready')).details.pool).toMatchObject({
      status: 'up',
      limit: 2,
      pending: 0,
    });
    // Both connections held, three callers waiting: 3 / 2 > maxPendingRatio 1.
    let releaseAll!: () => void;
    const held = new Promise<void>((r) => (releaseAll = r));
    const hold = (conn: Connection) => conn.query('SELECT 1').then(() => held);
    const work = Array.from({ length: 5 }, () => edgePool.withConnection(hold));
    expect(await eventually(() => edgePool.stats().borrowed === 2)).toBe(true);
    expect(edgePool.stats().pending).toBe(3);
    const r = await get(base, '/health/ready');
    expect(r.status).toBe(503);
    expect(body(r).details.pool).toMatchObject({
      status: 'down',
      borrowed: 2,
      pending: 3,
      limit: 2,
      message: expect.stringContaining('saturated'),
    });
    releaseAll();
    await Promise.all(work);
    expect((await get(base, '/health/ready')).status).toBe(200);
  });
});
