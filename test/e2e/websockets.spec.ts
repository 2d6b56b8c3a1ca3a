import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, UseInterceptors, type INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { RowDataPacket } from 'mysql2';
import { Connection, DbInterceptor, DbModule, DbPool, type DbScope } from 'nestjs-mysql-connection';
import { WebSocket } from 'ws';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually, listen, sleep } from '../support/http.js';
import { overlapsOnOneConnection, type IsolationRow } from '../support/isolation.js';

const LIMIT = 5;
type Row = IsolationRow & { id2: number; tag: string };

/** The probe both gateways run, on whichever `Connection` they are given. */
async function probe(conn: Connection, tag: string): Promise<Row> {
  await conn.query('SET @tag = ?', [tag]);
  const [[a]] = await conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
  const t0 = performance.now();
  await sleep(Math.floor(Math.random() * 10));
  const [[b]] = await conn.execute<RowDataPacket[]>('SELECT CONNECTION_ID() AS id, @tag AS tag');
  return { id1: Number(a.id), id2: Number(b.id), tag: b.tag as string, t0, t1: performance.now() };
}

/** Context scope: a singleton service on the context-scoped `Connection`. */
@Injectable()
class TagService {
  constructor(private readonly conn: Connection) {}

  run(tag: string): Promise<Row> {
    return probe(this.conn, tag);
  }
}

/**
 * Pattern 1 (context scope): the gateway (a singleton, as gateways must be) injects services on
 * `Connection`; `DbInterceptor` on the gateway gives each message a unit of work of its own. On
 * the gateway itself: Nest 11 does not apply global (`APP_INTERCEPTOR`) interceptors to gateways.
 */
@UseInterceptors(DbInterceptor)
@WebSocketGateway({ path: '/ws' })
class ContextGateway {
  constructor(private readonly tags: TagService) {}

  @SubscribeMessage('probe')
  async onProbe(@MessageBody() tag: string) {
    return { event: 'probe', data: await this.tags.run(tag) };
  }
}

/** Pattern 2 (any scope): the gateway injects `DbPool` and borrows per message. */
@WebSocketGateway({ path: '/ws' })
class PoolGateway {
  constructor(private readonly pool: DbPool) {}

  @SubscribeMessage('probe')
  async onProbe(@MessageBody() tag: string) {
    return { event: 'probe', data: await this.pool.withConnection((conn) => probe(conn, tag)) };
  }
}

const CASES: [string, DbScope, object[]][] = [
  ['context scope + @UseInterceptors(DbInterceptor)', 'context', [ContextGateway, TagService]],
  ['DbPool.withConnection() in request scope', 'request', [PoolGateway]],
];

describe.each(CASES)('WebSocket gateway (ws): %s', (_label, scope, providers) => {
  let db: TestDatabase;
  let app: INestApplication;
  let url: string;
  let pool: DbPool;

  beforeAll(async () => {
    db = await createTestDatabase(`ws_${scope}`);
    const moduleRef = await Test.createTestingModule({
      imports: [
        // No global interceptor (context scope's default): the context gateway brings its own.
        DbModule.forRoot({ uri: db.url, connectionLimit: LIMIT, scope }),
      ],
      providers: providers as never[],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useWebSocketAdapter(new WsAdapter(app));
    url = `${(await listen(app)).replace('http', 'ws')}/ws`;
    pool = app.get(DbPool);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('gives each of 60 concurrent messages (3 sockets) a connection of its own, returned after', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const ws = new WebSocket(url);
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
        return ws;
      }),
    );
    const replies = new Map<string, Row>();
    const done = new Promise<void>((resolve) => {
      for (const ws of sockets) {
        ws.on('message', (raw: Buffer) => {
          const { data } = JSON.parse(raw.toString()) as { data: Row };
          replies.set(data.tag, data);
          if (replies.size === 60) resolve();
        });
      }
    });
    for (let i = 0; i < 60; i++) {
      sockets[i % 3].send(JSON.stringify({ event: 'probe', data: `w${i}` }));
    }
    await done;
    for (const ws of sockets) ws.close();
    for (let i = 0; i < 60; i++) expect(replies.get(`w${i}`)?.id2).toBe(replies.get(`w${i}`)?.id1);
    expect(overlapsOnOneConnection([...replies.values()])).toEqual([]);
    expect(await eventually(() => pool.stats().borrowed === 0)).toBe(true);
    expect(await db.connections()).toBeLessThanOrEqual(LIMIT);
  });
});
