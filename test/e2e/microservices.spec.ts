import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Injectable, type INestMicroservice } from '@nestjs/common';
import {
  ClientProxyFactory,
  MessagePattern,
  Payload,
  RpcException,
  Transport,
  type ClientProxy,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { RowDataPacket } from 'mysql2';
import { Connection, DbModule, DbPool, type DbScope } from 'nestjs-mysql-connection';
import { createServer, type AddressInfo } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually, sleep } from '../support/http.js';
import { overlapsOnOneConnection } from '../support/isolation.js';

const LIMIT = 5;

/** A service the handler calls: REQUEST scope bubbles into it, context scope leaves it a singleton. */
@Injectable()
class TagRepo {
  constructor(private readonly conn: Connection) {}

  async tag(tag: string): Promise<number> {
    await this.conn.query('SET @tag = ?', [tag]);
    const [[row]] = await this.conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    return Number(row.id);
  }

  async read(): Promise<{ id: number; tag: string | null }> {
    const [[row]] = await this.conn.execute<RowDataPacket[]>(
      'SELECT CONNECTION_ID() AS id, @tag AS tag',
    );
    return { id: Number(row.id), tag: row.tag as string | null };
  }
}

@Controller()
class MessagesController {
  constructor(
    private readonly repo: TagRepo,
    private readonly conn: Connection,
  ) {}

  @MessagePattern('isolation')
  async isolation(@Payload() tag: string) {
    const id1 = await this.repo.tag(tag);
    const t0 = performance.now(); // from here on the connection is this message's
    await sleep(Math.floor(Math.random() * 10));
    const { id: id2, tag: read } = await this.repo.read();
    return { id1, id2, tag: read, threadId: this.conn.threadId, t0, t1: performance.now() };
  }

  @MessagePattern('fail')
  async fail() {
    await this.repo.tag('failing');
    throw new RpcException('handler failed after its first query');
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

// In context scope DbInterceptor is opt-in (HTTP needs none); message handlers need it to get a
// unit of work, so the test registers it the way the README tells users to.
describe.each<DbScope>(['request', 'context'])('microservice (TCP) in %s scope', (scope) => {
  let db: TestDatabase;
  let app: INestMicroservice;
  let client: ClientProxy;
  let pool: DbPool;

  beforeAll(async () => {
    db = await createTestDatabase(`micro_${scope}`);
    const port = await freePort();
    const moduleRef = await Test.createTestingModule({
      imports: [
        DbModule.forRoot({ uri: db.url, connectionLimit: LIMIT, scope, registerInterceptor: true }),
      ],
      controllers: [MessagesController],
      providers: [TagRepo],
    }).compile();
    app = moduleRef.createNestMicroservice({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
      logger: false,
    });
    await app.listen();
    pool = app.get(DbPool);
    client = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
    });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
    await db?.drop();
  });

  it('gives each of 100 concurrent messages one server connection of its own, then returns it', async () => {
    type Reply = {
      id1: number;
      id2: number;
      tag: string;
      threadId: number;
      t0: number;
      t1: number;
    };
    const watch = db.watchConnections();
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        firstValueFrom(client.send<Reply>('isolation', `m${i}`)),
      ),
    );
    const maxSeen = await watch.stop();
    replies.forEach((r, i) => {
      expect(r.id1).toBe(r.id2);
      expect(r.threadId).toBe(r.id1);
      expect(r.tag).toBe(`m${i}`);
    });
    // Messages whose handlers overlapped in time never shared a server connection.
    expect(overlapsOnOneConnection(replies)).toEqual([]);
    expect(maxSeen).toBeLessThanOrEqual(LIMIT);
    expect(await eventually(() => pool.stats().borrowed === 0)).toBe(true);
    expect(pool.stats().pending).toBe(0);
  });

  it('returns the connection of a handler that throws', async () => {
    await expect(firstValueFrom(client.send('fail', {}))).rejects.toMatchObject({
      message: 'handler failed after its first query',
    });
    expect(await eventually(() => pool.stats().borrowed === 0)).toBe(true);
    expect(await db.connections()).toBe(pool.stats().total);
  });
});
