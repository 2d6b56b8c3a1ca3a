// A fake mysql2 pool for unit tests of the pool's arithmetic (deadlines, lifetime, idle policy,
// hand-off order) under a fake clock. Never used for claims about the database.
import { EventEmitter } from 'node:events';
import type { Pool, PoolOptions } from 'mysql2';
import { DbPool, type DbModuleOptions } from 'nestjs-mysql-connection';

export interface FakeKnobs {
  /** ms a new connection takes to connect. */
  connectMs: number;
  /** Fail connects with this error code. */
  failConnect?: string;
  /** Pings of these thread ids fail; `hang` never answers. */
  pingFails: Set<number>;
  pingHangs: Set<number>;
  /** Killed server-side, not noticed yet: statements fail as fatal, pings fail. */
  dead: Set<number>;
}

export class FakeConnection extends EventEmitter {
  state = 'authenticated';
  destroyed = false;
  released = 0;
  resets = 0;

  constructor(
    readonly threadId: number,
    private readonly pool: FakePool,
  ) {
    super();
  }

  // mysql2's (sql, values, cb) and (sql, cb) call shapes.
  query(
    _sql: unknown,
    values: unknown,
    cb?: (err: unknown, rows: unknown, fields: unknown) => void,
  ) {
    const done = cb ?? (values as (err: unknown, rows: unknown, fields: unknown) => void);
    if (this.pool.knobs.dead.has(this.threadId)) {
      const lost = Object.assign(new Error('Connection lost'), {
        code: 'PROTOCOL_CONNECTION_LOST',
        fatal: true,
      });
      queueMicrotask(() => done(lost, undefined, undefined));
      return;
    }
    queueMicrotask(() => done(null, [{ ok: 1 }], []));
  }

  execute(
    sql: unknown,
    values: unknown,
    cb: (err: unknown, rows: unknown, fields: unknown) => void,
  ) {
    this.query(sql, values, cb);
  }

  reset(cb: (err: unknown) => void) {
    this.resets++;
    queueMicrotask(() => cb(null));
  }

  ping(cb: (err: unknown) => void) {
    const { pingFails, pingHangs, dead } = this.pool.knobs;
    if (pingHangs.has(this.threadId)) return;
    const fails = pingFails.has(this.threadId) || dead.has(this.threadId);
    queueMicrotask(() => cb(fails ? new Error('ping failed') : null));
  }

  release() {
    this.released++;
    this.pool.free.push(this);
  }

  destroy() {
    this.destroyed = true;
    this.state = 'disconnected';
    this.pool.drop(this);
  }
}

export class FakePool extends EventEmitter {
  readonly all: FakeConnection[] = [];
  readonly free: FakeConnection[] = [];
  created = 0;

  constructor(readonly knobs: FakeKnobs) {
    super();
  }

  getConnection(cb: (err: unknown, conn?: FakeConnection) => void) {
    const conn = this.free.pop();
    if (conn) {
      queueMicrotask(() => cb(null, conn));
      return;
    }
    const fresh = new FakeConnection(++this.created, this);
    this.all.push(fresh);
    setTimeout(() => {
      if (this.knobs.failConnect) {
        this.drop(fresh);
        cb(Object.assign(new Error('connect failed'), { code: this.knobs.failConnect }));
        return;
      }
      this.emit('connection', fresh);
      cb(null, fresh);
    }, this.knobs.connectMs);
  }

  drop(conn: FakeConnection) {
    this.all.splice(this.all.indexOf(conn), 1);
    const i = this.free.indexOf(conn);
    if (i >= 0) this.free.splice(i, 1);
  }

  end(cb: () => void) {
    queueMicrotask(cb);
  }
}

/** A DbPool over a FakePool; Jest's fake clock drives its timers and `Date.now()`. */
export class FakeDbPool extends DbPool {
  static nextKnobs: FakeKnobs;
  fake!: FakePool;

  constructor(options: DbModuleOptions, knobs: Partial<FakeKnobs> = {}) {
    FakeDbPool.nextKnobs = {
      connectMs: 5,
      pingFails: new Set(),
      pingHangs: new Set(),
      dead: new Set(),
      ...knobs,
    };
    super({ host: 'fake', user: 'fake', ...options });
  }

  protected override createDriverPool(_config: PoolOptions): Pool {
    const fake = new FakePool(FakeDbPool.nextKnobs);
    // Runs inside super(): class fields are not set yet, so keep it on a static and copy later.
    FakeDbPool.lastFake = fake;
    return fake as unknown as Pool;
  }

  static lastFake: FakePool;
}

/** Builds a FakeDbPool and exposes its fake driver pool. */
export function fakePool(options: DbModuleOptions, knobs: Partial<FakeKnobs> = {}) {
  const pool = new FakeDbPool(options, knobs);
  pool.fake = FakeDbPool.lastFake;
  return pool;
}
