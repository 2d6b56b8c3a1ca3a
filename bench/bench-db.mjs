// The benchmark's own MySQL user and database, so that the server-side checks (sessions left
// open, statements still running) count only the app under test: other test suites share this
// server as root.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

export const BENCH_USER = 'nmc_bench';
export const BENCH_DATABASE = 'nmc_bench';

/**
 * Creates (or refreshes) the user and database from an admin URL. The password is new on every
 * run: nothing to commit, nothing that outlives the run's usefulness. Returns the bench URI and
 * an admin session for the checks.
 */
export async function prepareBenchDatabase(adminUrl) {
  const admin = await mysql.createConnection({ uri: adminUrl });
  const password = randomBytes(18).toString('base64url');
  await admin.query(`CREATE DATABASE IF NOT EXISTS \`${BENCH_DATABASE}\``);
  // Both host forms: MariaDB maps a TCP client on 127.0.0.1 to 'localhost' when name resolution
  // is on, and an anonymous ''@'localhost' account would otherwise shadow 'nmc_bench'@'%'.
  for (const host of ['%', 'localhost']) {
    await admin.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [
      BENCH_USER,
      host,
      password,
    ]);
    await admin.query('ALTER USER ?@? IDENTIFIED BY ?', [BENCH_USER, host, password]);
    await admin.query(`GRANT ALL ON \`${BENCH_DATABASE}\`.* TO ?@?`, [BENCH_USER, host]);
  }
  const url = new URL(adminUrl);
  url.username = BENCH_USER;
  url.password = password;
  url.pathname = `/${BENCH_DATABASE}`;
  const [[{ version }]] = await admin.query('SELECT VERSION() AS version');
  return { uri: url.toString(), admin, serverVersion: version };
}

/** The bench user's sessions on the server: how many, and how many are not idle ('Sleep'). */
export async function benchSessions(admin) {
  const [[row]] = await admin.query(
    `SELECT COUNT(*) AS total, COALESCE(SUM(COMMAND <> 'Sleep'), 0) AS busy
       FROM information_schema.PROCESSLIST WHERE USER = ?`,
    [BENCH_USER],
  );
  return { total: Number(row.total), busy: Number(row.busy) };
}

/** Polls until the bench user has no session left, up to `ms`; returns the last count. */
export async function waitNoSessions(admin, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const { total } = await benchSessions(admin);
    if (total === 0 || Date.now() > deadline) return total;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
