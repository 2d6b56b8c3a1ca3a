import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { RowDataPacket } from 'mysql2';
import mysql from 'mysql2/promise';
import { AppModule } from '../../sample/src/app.module.js';
import { ensureDatabase } from '../../sample/src/ensure-database.js';
import { createTestDatabase, serverUrl, type TestDatabase } from '../support/database.js';
import { get, listen, post } from '../support/http.js';

interface Account {
  id: number;
  owner: string;
  balance: number;
}

describe('sample app (accounts and transfers)', () => {
  let db: TestDatabase;
  let app: INestApplication;
  let base: string;

  const open = async (owner: string, balance: number): Promise<Account> => {
    const r = await post(base, '/accounts', { owner, balance });
    expect(r.status).toBe(201);
    return r.body as Account;
  };

  const balancesInTable = async (ids: number[]): Promise<Map<number, number>> => {
    const [rows] = await db.admin.query<RowDataPacket[]>(
      `SELECT id, balance FROM \`${db.name}\`.accounts WHERE id IN (?) ORDER BY id`,
      [ids],
    );
    return new Map(rows.map((r) => [Number(r.id), Number(r.balance)]));
  };

  const transfersInTable = async (): Promise<number> => {
    const [rows] = await db.admin.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM \`${db.name}\`.transfers`,
    );
    return Number(rows[0].n);
  };

  beforeAll(async () => {
    db = await createTestDatabase('sampleapp');
    // Booted like sample/src/main.ts does, with the suite's database instead of MYSQL_URL.
    app = await NestFactory.create(AppModule.forRoot({ url: db.url }), {
      logger: false,
      abortOnError: false,
    });
    base = await listen(app);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('creates the schema at start and serves accounts', async () => {
    const ann = await open('ann', 100);
    expect(ann).toEqual({ id: expect.any(Number), owner: 'ann', balance: 100 });
    expect(await get(base, `/accounts/${ann.id}`)).toMatchObject({ status: 200, body: ann });
    const all = await get(base, '/accounts');
    expect(all.status).toBe(200);
    expect(all.body).toContainEqual(ann);

    expect((await get(base, '/accounts/999999')).status).toBe(404);
    expect((await get(base, '/accounts/abc')).status).toBe(400);
    expect((await post(base, '/accounts', { owner: '', balance: 1 })).status).toBe(400);
    expect((await post(base, '/accounts', { owner: 'x', balance: -1 })).status).toBe(400);
    expect((await post(base, '/accounts', { owner: 'x', balance: 1.5 })).status).toBe(400);
  });

  it('moves money between two accounts', async () => {
    const ann = await open('ann', 100);
    const bob = await open('bob', 0);
    const before = await transfersInTable();

    const r = await post(base, '/transfers', { from: ann.id, to: bob.id, amount: 30 });

    expect(r).toMatchObject({
      status: 201,
      body: { from: ann.id, to: bob.id, amount: 30, balances: { from: 70, to: 30 } },
    });
    expect(await balancesInTable([ann.id, bob.id])).toEqual(
      new Map([
        [ann.id, 70],
        [bob.id, 30],
      ]),
    );
    expect(await transfersInTable()).toBe(before + 1);
  });

  it('refuses an overdraft, an unknown account and bad input, changing nothing', async () => {
    const ann = await open('ann', 50);
    const bob = await open('bob', 10);
    const before = await transfersInTable();

    const overdraft = await post(base, '/transfers', { from: ann.id, to: bob.id, amount: 51 });
    expect(overdraft.status).toBe(409);
    expect((overdraft.body as { message: string }).message).toMatch(/insufficient funds/i);
    expect((await post(base, '/transfers', { from: ann.id, to: 999999, amount: 1 })).status).toBe(
      404,
    );
    expect((await post(base, '/transfers', { from: ann.id, to: ann.id, amount: 1 })).status).toBe(
      400,
    );
    expect((await post(base, '/transfers', { from: ann.id, to: bob.id, amount: 0 })).status).toBe(
      400,
    );
    expect((await post(base, '/transfers', { from: ann.id, to: bob.id })).status).toBe(400);

    expect(await balancesInTable([ann.id, bob.id])).toEqual(
      new Map([
        [ann.id, 50],
        [bob.id, 10],
      ]),
    );
    expect(await transfersInTable()).toBe(before);
    // Every failed transaction gave its connection back.
    expect((await get(base, '/health/db')).body).toMatchObject({ borrowed: 0, pending: 0 });
  });

  it('keeps the total through 200 concurrent transfers between 10 accounts', async () => {
    const accounts = await Promise.all(
      Array.from({ length: 10 }, (_, i) => open(`owner-${i}`, 10_000)),
    );
    const ids = accounts.map((a) => a.id);
    const before = await transfersInTable();

    // Fixed pseudo-random pairs, both directions between the same accounts included: the case
    // that deadlocks when rows are locked in request order rather than id order.
    let seed = 42;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const transfers = Array.from({ length: 200 }, () => {
      const from = next(10);
      const to = (from + 1 + next(9)) % 10;
      return { from: ids[from], to: ids[to], amount: 1 + next(20) };
    });
    const expected = new Map(ids.map((id) => [id, 10_000]));
    for (const t of transfers) {
      expected.set(t.from, expected.get(t.from)! - t.amount);
      expected.set(t.to, expected.get(t.to)! + t.amount);
    }

    const replies = await Promise.all(transfers.map((t) => post(base, '/transfers', t)));

    // A deadlock or a lock wait timeout would surface as a 500; an overdraft cannot happen.
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s !== 201)).toEqual([]);
    expect(await balancesInTable(ids)).toEqual(expected);
    const [[sum]] = await db.admin.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n, CAST(SUM(balance) AS SIGNED) AS total
         FROM \`${db.name}\`.accounts WHERE id IN (?)`,
      [ids],
    );
    expect({ n: Number(sum.n), total: Number(sum.total) }).toEqual({ n: 10, total: 100_000 });
    expect(await transfersInTable()).toBe(before + 200);
    expect((await get(base, '/health/db')).body).toMatchObject({ borrowed: 0, pending: 0 });
  });
});

describe('ensureDatabase', () => {
  it('creates a missing database, and leaves an existing one alone', async () => {
    const name = `nmc_sample_ensure_${process.pid}`;
    const admin = await mysql.createConnection(serverUrl());
    try {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await ensureDatabase(serverUrl(), name);
      await admin.query(`CREATE TABLE \`${name}\`.kept (id INT)`);
      await ensureDatabase(serverUrl(), name);
      const [rows] = await admin.query<RowDataPacket[]>(
        'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
        [name],
      );
      expect(Number(rows[0].n)).toBe(1);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    }
  });
});
