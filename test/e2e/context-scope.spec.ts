import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, Injectable, Post } from '@nestjs/common';
import type { RowDataPacket } from 'mysql2';
import { Connection, DbPool, WithConnection } from 'nestjs-mysql-connection';
import { ADAPTERS, bootApp, type BootedApp } from '../fixtures/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually, get } from '../support/http.js';

let instances = 0;

/** A plain singleton: in context scope, injecting Connection does not make it request-scoped. */
@Injectable()
class Repo {
  constructor(private readonly conn: Connection) {
    instances++;
  }

  async whoAmI(): Promise<{ id: number; v: string | null }> {
    const [[row]] = await this.conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id, @v AS v');
    return { id: Number(row.id), v: row.v as string | null };
  }

  async mark(v: string): Promise<void> {
    await this.conn.query('SET @v = ?', [v]);
  }
}

/** Background work: no request; @WithConnection() gives the call tree one connection. */
@Injectable()
class NightlyJob {
  constructor(private readonly repo: Repo) {}

  @WithConnection()
  async run(tag: string) {
    await this.repo.mark(tag);
    await new Promise((r) => setTimeout(r, 20));
    const a = await this.repo.whoAmI();
    const b = await this.nested();
    return { a, b };
  }

  private async nested() {
    await Promise.resolve();
    return this.repo.whoAmI();
  }
}

@Controller('ctx')
class ContextController {
  constructor(
    private readonly repo: Repo,
    private readonly job: NightlyJob,
    private readonly conn: Connection,
  ) {}

  /** The unit must survive the adapter's body parsing (stream events, not the request's call). */
  @Post('body')
  async body(@Body() body: { tag: string; pad: string }) {
    await this.repo.mark(body.tag);
    return { ...(await this.repo.whoAmI()), padLength: body.pad.length };
  }

  @Get('join')
  async join() {
    await this.repo.mark('request');
    const before = this.conn.threadId;
    const inner = await this.job.run('from-request'); // joins the request's unit of work
    return { before, inner };
  }
}

describe.each(ADAPTERS)('context scope specifics (%s)', (adapter) => {
  let db: TestDatabase;
  let booted: BootedApp;
  let pool: DbPool;

  beforeAll(async () => {
    db = await createTestDatabase(`ctxscope_${adapter}`);
    instances = 0;
    booted = await bootApp(
      { uri: db.url, scope: 'context', connectionLimit: 5 },
      { controllers: [ContextController], providers: [Repo, NightlyJob], adapter },
    );
    pool = booted.app.get(DbPool);
  });

  afterAll(async () => {
    await booted?.app.close();
    await db?.drop();
  });

  it('keeps the injectors of Connection singletons', async () => {
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => get(booted.base, '/ctx/join')),
    );
    for (const r of replies) expect(r.status).toBe(200);
    expect(instances).toBe(1);
  });

  it('keeps the unit of work across the parsing of a large request body', async () => {
    const pad = 'x'.repeat(90 * 1024); // several socket chunks, under both adapters' body limit
    const replies = await Promise.all(
      ['a', 'b', 'c'].map(async (tag) => {
        const res = await fetch(`${booted.base}/ctx/body`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ tag, pad }),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      }),
    );
    expect(replies.map((r) => [r.status, r.body.v, r.body.padLength])).toEqual([
      [201, 'a', pad.length],
      [201, 'b', pad.length],
      [201, 'c', pad.length],
    ]);
    expect(await eventually(() => pool.stats().borrowed === 0)).toBe(true);
  });

  it('gives a @WithConnection() call tree one connection, and each concurrent run its own', async () => {
    const job = booted.app.get(NightlyJob);
    const [x, y] = await Promise.all([job.run('x'), job.run('y')]);
    expect(x.a.id).toBe(x.b.id);
    expect(y.a.id).toBe(y.b.id);
    expect(x.a.id).not.toBe(y.a.id);
    expect([x.a.v, x.b.v, y.a.v, y.b.v]).toEqual(['x', 'x', 'y', 'y']);
    expect(await eventually(() => pool.stats().borrowed === 0)).toBe(true);
  });

  it('lets a @WithConnection() method called inside a request join the request', async () => {
    const r = await get(booted.base, '/ctx/join');
    const body = r.body as { before: number; inner: { a: { id: number; v: string } } };
    expect(body.inner.a.id).toBe(body.before);
    expect(body.inner.a.v).toBe('from-request');
  });

  it('refuses use outside any unit of work, pointing to withConnection/@WithConnection', async () => {
    const repo = booted.app.get(Repo);
    await expect(repo.whoAmI()).rejects.toMatchObject({
      code: 'DB_NO_CONTEXT',
      message: expect.stringMatching(/DbPool\.withConnection\(fn\).*@WithConnection\(\)/s),
    });
    expect(booted.app.get(Connection).threadId).toBeNull();
  });
});
