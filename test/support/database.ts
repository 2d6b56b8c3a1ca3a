import mysql, { type Connection as AdminConnection, type RowDataPacket } from 'mysql2/promise';

/** The server the suite runs against (set by global-setup from the shared finder). */
export function serverUrl(): string {
  const url = process.env.MYSQL_URL;
  if (!url)
    throw new Error(
      'MYSQL_URL is not set: run the tests with `npm test` (global-setup finds a server).',
    );
  return url;
}

export interface TestDatabase {
  /** Database name, own to the suite. */
  name: string;
  /** The dedicated user the library connects as. */
  user: string;
  password: string;
  /** URL for the library: the dedicated user, the suite's database. */
  url: string;
  /** Where the server is. */
  host: string;
  port: number;
  /** An admin connection (not counted as the library's). */
  admin: AdminConnection;
  /** Server connections of the dedicated user right now, from the processlist. */
  connections(): Promise<number>;
  /** Samples `connections()` until stopped; resolves to the highest count seen. */
  watchConnections(everyMs?: number): { stop(): Promise<number> };
  /** Polls until `connections()` equals `n` (or the time is up); returns the last count. */
  waitForConnections(n: number, withinMs?: number): Promise<number>;
  drop(): Promise<void>;
}

/**
 * A database and a dedicated user of its own for one suite, so suites never see each other's
 * tables and the library's server connections can be counted from the processlist.
 */
export async function createTestDatabase(
  suite: string,
  baseUrl = serverUrl(),
): Promise<TestDatabase> {
  const id = `${suite}_${process.pid}`.replace(/[^a-zA-Z0-9_]/g, '_').slice(0, 60);
  const name = `nmc_${id}`;
  const user = `u_${id}`.slice(0, 80);
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const admin = await mysql.createConnection({ uri: baseUrl, multipleStatements: true });
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\`; CREATE DATABASE \`${name}\``);
  for (const from of ['%', 'localhost']) {
    await admin.query(`DROP USER IF EXISTS ?@?`, [user, from]);
    await admin.query(`CREATE USER ?@? IDENTIFIED BY ?`, [user, from, password]);
    await admin.query(`GRANT ALL ON \`${name}\`.* TO ?@?`, [user, from]);
  }
  const base = new URL(baseUrl);
  const host = base.hostname;
  const port = Number(base.port || 3306);
  const url = `mysql://${user}:${password}@${host}:${port}/${name}`;
  const connections = async () => {
    const [rows] = await admin.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?',
      [user],
    );
    return Number(rows[0].n);
  };
  return {
    name,
    user,
    password,
    url,
    host,
    port,
    admin,
    connections,
    watchConnections(everyMs = 10) {
      const state = { max: 0, running: true };
      const loop = (async () => {
        while (state.running) {
          state.max = Math.max(state.max, await connections());
          await new Promise((r) => setTimeout(r, everyMs));
        }
      })();
      return {
        async stop() {
          state.running = false;
          await loop;
          return state.max;
        },
      };
    },
    async waitForConnections(n, withinMs = 5000) {
      const deadline = Date.now() + withinMs;
      let last = await connections();
      while (last !== n && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
        last = await connections();
      }
      return last;
    },
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      for (const from of ['%', 'localhost'])
        await admin.query(`DROP USER IF EXISTS ?@?`, [user, from]);
      await admin.end();
    },
  };
}
