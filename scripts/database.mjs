// Finds a MySQL/MariaDB server for the tests and the sample app, in this order:
//   1. MYSQL_URL, if set;
//   2. root without password on 127.0.0.1:3306;
//   3. a private mariadbd/mysqld from PATH, on a free port with a temporary datadir.
// Also starts private servers for tests that stop, kill or cut the server.
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

const run = promisify(execFile);
const LOCAL_URL = 'mysql://root@127.0.0.1:3306/';
const SBIN = ['/usr/sbin', '/usr/local/sbin', '/usr/local/mysql/bin'];

/** `mysql://user:***@host:port/db`: a URL fit for a log line. */
export function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable MYSQL_URL)';
  }
}

async function reachable(url) {
  let conn;
  try {
    conn = await mysql.createConnection({ uri: url, connectTimeout: 3000 });
    await conn.query('SELECT 1');
    return null;
  } catch (err) {
    return err.code ?? err.message;
  } finally {
    await conn?.end().catch(() => {});
  }
}

function which(names) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...SBIN];
  for (const name of names) {
    for (const dir of dirs) {
      const file = join(dir, name);
      if (dir && existsSync(file)) return file;
    }
  }
  return null;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a private server: temporary datadir, free port, root without password.
 * Returns { url, port, pid, stop(), kill(signal), start() } — start() restarts it on the same
 * port and datadir after stop()/kill().
 */
export async function startPrivateServer({ extraArgs = [], log = () => {} } = {}) {
  const server = which(['mariadbd', 'mysqld']);
  if (!server) throw new Error(missingServerMessage());
  const datadir = mkdtempSync(join(tmpdir(), 'nmc-db-'));
  const isMaria =
    server.endsWith('mariadbd') || (await run(server, ['--version'])).stdout.includes('MariaDB');
  if (isMaria) {
    const installer = which(['mariadb-install-db', 'mysql_install_db']);
    if (!installer)
      throw new Error('Found ' + server + ' but not mariadb-install-db to create a datadir.');
    await run(installer, [
      '--no-defaults',
      `--datadir=${datadir}`,
      '--user=root',
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ]);
  } else {
    await run(server, [
      '--no-defaults',
      '--initialize-insecure',
      `--datadir=${datadir}`,
      '--user=root',
    ]);
  }
  const port = await freePort();
  const args = [
    '--no-defaults',
    `--datadir=${datadir}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${join(datadir, 'mysqld.sock')}`,
    `--pid-file=${join(datadir, 'mysqld.pid')}`,
    '--user=root',
    '--skip-log-bin',
    '--innodb-buffer-pool-size=32M',
    '--max-connections=200',
    ...extraArgs,
  ];
  const url = `mysql://root@127.0.0.1:${port}/`;
  let child;
  const handle = {
    url,
    port,
    datadir,
    get pid() {
      return child?.pid;
    },
    async start() {
      child = spawn(server, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.exited = exited;
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`${server} exited: ${stderr}`);
        if ((await reachable(url)) === null) break;
        if (Date.now() > deadline)
          throw new Error(`${server} did not answer within 60 s: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      log(`private ${isMaria ? 'MariaDB' : 'MySQL'} server on ${url} (pid ${child.pid})`);
    },
    /** Sends a signal and waits for the process to exit. */
    async kill(signal = 'SIGTERM') {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await child.exited;
    },
    async stop() {
      await handle.kill('SIGTERM');
      rmSync(datadir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}

function missingServerMessage() {
  return [
    'No MySQL/MariaDB server could be found or started.',
    '  - MYSQL_URL is not set;',
    '  - nothing answers on 127.0.0.1:3306 as root without a password;',
    '  - neither mariadbd nor mysqld is on PATH.',
    'Fix one of these: set MYSQL_URL=mysql://user:password@host:3306/, start a local server,',
    'or install one (Debian/Ubuntu: apt-get install mariadb-server).',
  ].join('\n');
}

/**
 * The database to use, found as described at the top of this file.
 * Returns { url, source, stop() }; stop() only stops a server this function started.
 */
export async function findDatabase({ log = () => {} } = {}) {
  const fromEnv = process.env.MYSQL_URL;
  if (fromEnv) {
    const error = await reachable(fromEnv);
    if (error) {
      throw new Error(
        `MYSQL_URL is set (${redact(fromEnv)}) but the server does not answer: ${error}`,
      );
    }
    log(`using MYSQL_URL ${redact(fromEnv)}`);
    return { url: fromEnv, source: 'MYSQL_URL', stop: async () => {} };
  }
  const localError = await reachable(LOCAL_URL);
  if (localError === null) {
    log(`using the local server ${LOCAL_URL}`);
    return { url: LOCAL_URL, source: 'local', stop: async () => {} };
  }
  if (!which(['mariadbd', 'mysqld'])) throw new Error(missingServerMessage());
  log(`127.0.0.1:3306 not usable (${localError}); starting a private server`);
  const server = await startPrivateServer({ log });
  return { url: server.url, source: 'private', stop: () => server.stop() };
}
