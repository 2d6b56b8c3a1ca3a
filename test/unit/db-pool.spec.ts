import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { Connection } from 'nestjs-mysql-connection';
import { fakePool } from '../support/fake-driver.js';

// Fake clock: setTimeout/setInterval/Date are driven by the test; microtasks stay real.
beforeEach(() => {
  jest.useFakeTimers({ now: 0, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
});
afterEach(() => {
  jest.useRealTimers();
});

/** Lets promise chains settle without moving the clock. */
const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

/** Awaits `p` while moving the fake clock 1 ms at a time (connects take fake time). */
async function settle<T>(p: Promise<T>): Promise<T> {
  const state = { done: false };
  p.then(
    () => (state.done = true),
    () => (state.done = true),
  );
  for (let i = 0; i < 5_000 && !state.done; i++) await jest.advanceTimersByTimeAsync(1);
  return p;
}

/** Borrows a connection and holds it until `release()` is called. */
function hold(pool: ReturnType<typeof fakePool>) {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let conn: Connection | undefined;
  const done = pool.withConnection(async (c) => {
    conn = c;
    await c.query('SELECT 1');
    await held;
  });
  return { release, done, conn: () => conn };
}

describe('acquire deadline', () => {
  it('fails a waiter exactly at acquireTimeout and leaves the queue empty', async () => {
    const pool = fakePool({ connectionLimit: 1, acquireTimeout: 10_000 });
    const holder = hold(pool);
    await jest.advanceTimersByTimeAsync(5);
    let error: { code?: string; waitedMs?: number } | undefined;
    const waiting = pool
      .query('SELECT 2')
      .catch((e: { code?: string; waitedMs?: number }) => (error = e));
    await jest.advanceTimersByTimeAsync(9_999);
    expect(error).toBeUndefined();
    expect(pool.stats().pending).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    await waiting;
    expect(error).toMatchObject({ code: 'DB_ACQUIRE_TIMEOUT', waitedMs: 10_000 });
    expect(pool.stats()).toMatchObject({ pending: 0, acquireTimeouts: 1 });
    holder.release();
    await holder.done;
    expect(pool.stats()).toMatchObject({ borrowed: 0, idle: 1 });
  });

  it('counts the connect inside the deadline and returns a connection that arrives late', async () => {
    const pool = fakePool({ connectionLimit: 1, acquireTimeout: 1_000 }, { connectMs: 1_500 });
    let error: { code?: string } | undefined;
    const p = pool.query('SELECT 1').catch((e: { code?: string }) => (error = e));
    await jest.advanceTimersByTimeAsync(1_000);
    await p;
    expect(error?.code).toBe('DB_ACQUIRE_TIMEOUT');
    await jest.advanceTimersByTimeAsync(500);
    await flush();
    // the late connection is in the pool, not lost, and the permit is free again
    expect(pool.stats()).toMatchObject({ total: 1, idle: 1, borrowed: 0 });
    const [rows] = await pool.query('SELECT 1');
    expect(rows).toEqual([{ ok: 1 }]);
  });

  it('serves waiters first come, first served', async () => {
    const pool = fakePool({ connectionLimit: 1 });
    const holder = hold(pool);
    await jest.advanceTimersByTimeAsync(5);
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) =>
      pool.withConnection(async (c) => {
        order.push(n);
        await c.query('SELECT 1');
      }),
    );
    await flush();
    expect(pool.stats().pending).toBe(3);
    holder.release();
    await holder.done;
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    expect(pool.fake.created).toBe(1); // all on the one connection
  });
});

describe('max lifetime', () => {
  it('expires each connection between 97.5 % and 100 % of maxLifetime', async () => {
    const pool = fakePool({ connectionLimit: 1, maxLifetime: 60_000, validateAfterIdle: 1e9 });
    await settle(pool.query('SELECT 1'));
    const first = pool.fake.all[0];
    await jest.advanceTimersByTimeAsync(58_400); // below 97.5 %: still good
    await settle(pool.query('SELECT 1'));
    expect(pool.fake.created).toBe(1);
    await jest.advanceTimersByTimeAsync(1_600); // at 100 %: certainly expired
    await settle(pool.query('SELECT 1'));
    expect(first.destroyed).toBe(true);
    expect(pool.fake.created).toBe(2);
    expect(pool.stats().destroyed.lifetime).toBe(1);
  });

  it('never cuts a borrowed connection, and closes it when it comes back', async () => {
    const pool = fakePool({ connectionLimit: 2, maxLifetime: 60_000, validateAfterIdle: 1e9 });
    const holder = hold(pool);
    await jest.advanceTimersByTimeAsync(5);
    const conn = pool.fake.all[0];
    await jest.advanceTimersByTimeAsync(120_000); // housekeeping ran several times
    expect(conn.destroyed).toBe(false);
    await holder.conn()!.query('SELECT still_works');
    holder.release();
    await holder.done;
    expect(conn.destroyed).toBe(true);
    expect(pool.stats()).toMatchObject({ total: 0, destroyed: { lifetime: 1 } });
  });

  it('rejects a maxLifetime under 30 s', () => {
    expect(() => fakePool({ maxLifetime: 10_000 })).toThrow(/"maxLifetime".*at least 30000 ms/);
  });
});

describe('idle policy', () => {
  it('closes idle connections past idleTimeout down to minIdle, and keeps minIdle open', async () => {
    const pool = fakePool({ connectionLimit: 5, minIdle: 1, idleTimeout: 60_000, maxLifetime: 0 });
    const holders = [hold(pool), hold(pool), hold(pool)];
    await jest.advanceTimersByTimeAsync(5);
    holders.forEach((h) => h.release());
    await Promise.all(holders.map((h) => h.done));
    expect(pool.stats().idle).toBe(3);
    await jest.advanceTimersByTimeAsync(59_000);
    expect(pool.stats().idle).toBe(3);
    await jest.advanceTimersByTimeAsync(31_000); // past idleTimeout plus one housekeeping period
    expect(pool.stats()).toMatchObject({ total: 1, idle: 1, destroyed: { idle: 2 } });
    await jest.advanceTimersByTimeAsync(600_000);
    expect(pool.stats().total).toBe(1); // the floor holds
  });

  it('opens connections in the background up to minIdle', async () => {
    const pool = fakePool({ connectionLimit: 5, minIdle: 2 });
    expect(pool.stats().total).toBe(0);
    await jest.advanceTimersByTimeAsync(30_010); // one housekeeping period plus the connects
    expect(pool.stats()).toMatchObject({ total: 2, idle: 2, borrowed: 0 });
  });
});

describe('validation before hand-out', () => {
  it('pings only connections idle past validateAfterIdle, and replaces a dead one', async () => {
    const pool = fakePool(
      { connectionLimit: 2, validateAfterIdle: 500 },
      { pingFails: new Set([1]) },
    );
    await settle(pool.query('SELECT 1')); // creates connection 1
    await jest.advanceTimersByTimeAsync(100);
    await settle(pool.query('SELECT 1')); // idle 100 ms: no ping, so its death goes unseen
    expect(pool.fake.created).toBe(1);
    await jest.advanceTimersByTimeAsync(600);
    await settle(pool.query('SELECT 1')); // idle 600 ms: pinged, found dead, replaced
    expect(pool.fake.created).toBe(2);
    expect(pool.stats().destroyed.validation).toBe(1);
  });

  it('gives a hung ping validationTimeout, then takes another connection', async () => {
    const pool = fakePool(
      { connectionLimit: 2, validateAfterIdle: 500, validationTimeout: 300 },
      { pingHangs: new Set([1]) },
    );
    await settle(pool.query('SELECT 1'));
    await jest.advanceTimersByTimeAsync(1_000);
    const p = pool.query('SELECT 1');
    await jest.advanceTimersByTimeAsync(299);
    expect(pool.fake.created).toBe(1);
    await jest.advanceTimersByTimeAsync(10);
    await settle(p);
    expect(pool.fake.created).toBe(2);
    expect(pool.stats().destroyed.validation).toBe(1);
  });
});

describe('after a dead connection', () => {
  it('re-runs a first statement once, on a connection checked first (a kill often takes several)', async () => {
    const pool = fakePool({ connectionLimit: 3, validateAfterIdle: 500 });
    const holders = [hold(pool), hold(pool)];
    await jest.advanceTimersByTimeAsync(10);
    holders.forEach((h) => h.release());
    await Promise.all(holders.map((h) => h.done));
    // both idle connections are killed on the server, neither noticed yet, both used 0 ms ago
    pool.fake.all.forEach((c) => pool.fake.knobs.dead.add(c.threadId));
    const [rows] = await settle(pool.query('SELECT 1'));
    expect(rows).toEqual([{ ok: 1 }]);
    // the first dead one failed the statement; the second was pinged instead of trusted
    expect(pool.stats().destroyed).toMatchObject({ fatal: 1, validation: 1 });
    expect(pool.fake.created).toBe(3);
  });
});

describe('stats under contention', () => {
  it('counts hand-offs to waiters (which mysql2 emits no event for)', async () => {
    const pool = fakePool({ connectionLimit: 2 });
    const work = Array.from({ length: 50 }, () => pool.query('SELECT 1'));
    await jest.advanceTimersByTimeAsync(10);
    await Promise.all(work);
    const s = pool.stats();
    expect(s).toMatchObject({ total: 2, idle: 2, borrowed: 0, pending: 0, created: 2 });
    // SELECT 1 leaves no state: nothing to reset (a dirty session is reset: see hygiene e2e)
    expect(pool.fake.all.reduce((n, c) => n + c.resets, 0)).toBe(0);
  });
});
