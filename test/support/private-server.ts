import { afterAll, beforeAll } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import mysql, { type Connection as AdminConnection, type RowDataPacket } from 'mysql2/promise';
import { createTestDatabase, type TestDatabase } from './database.js';

/** A mariadbd of the suite's own (see `startPrivateServer` in scripts/database.mjs). */
export interface PrivateServer {
  /** `mysql://root@127.0.0.1:<port>/`. */
  readonly url: string;
  readonly port: number;
  readonly datadir: string;
  /** The running process's id; undefined before the first start. */
  readonly pid: number | undefined;
  /** Starts it again (same port, same datadir) after `kill()`; resolves once it answers. */
  start(): Promise<void>;
  /** Sends `signal` (default SIGTERM) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it and removes its datadir. */
  stop(): Promise<void>;
}

type StartPrivateServer = (options: {
  extraArgs?: string[];
  log?: (message: string) => void;
}) => Promise<PrivateServer>;

/** One row of `information_schema.PROCESSLIST`. */
export interface ProcessRow {
  ID: number;
  COMMAND: string;
  TIME: number;
  STATE: string | null;
  INFO: string | null;
}

export interface PrivateEnv {
  server: PrivateServer;
  /** The suite's database and dedicated user, on the private server. */
  db: TestDatabase;
  /**
   * A statement as root, on an admin connection that is reopened after the server restarted or
   * killed it (unlike `db.admin`, which dies with the server).
   */
  query<T extends RowDataPacket[]>(sql: string, values?: unknown[]): Promise<T>;
  /** The dedicated user's server connections (the library's), from the processlist. */
  processlist(): Promise<ProcessRow[]>;
  /**
   * How many of them are open, not counting threads the server is still tearing down after a
   * `KILL` (COMMAND 'Killed'): the library has rightly forgotten those already.
   */
  appConnections(): Promise<number>;
  /** Samples `appConnections()` until stopped (a down server is skipped); the highest count. */
  watch(everyMs?: number): { stop(): Promise<{ max: number; samples: number }> };
  /**
   * Registers clean-up (close an app, stop a proxy) run before the server stops, last first,
   * whatever happened. The returned function runs it early (and only once).
   */
  defer(fn: () => unknown): () => Promise<void>;
}

const DEFER_BOUND_MS = 15_000;
// A computed specifier: scripts/ is plain JavaScript, without declarations for the compiler.
const SCRIPTS = '../../scripts/database.mjs';

/**
 * Starts a private mariadbd for this test file in `beforeAll` and tears everything down in
 * `afterAll`: deferred clean-up, the suite's connections, then the server (by its pid), even when
 * a test or the set-up failed. A watchdog kills the server should the Jest worker die first.
 */
export function usePrivateServer(
  suite: string,
  options: { extraArgs?: string[] } = {},
): PrivateEnv {
  let server: PrivateServer | undefined;
  let db: TestDatabase | undefined;
  let watchdog: ChildProcess | undefined;
  let admin: Promise<AdminConnection> | undefined;
  const deferred: { run: () => Promise<void> }[] = [];
  const killOnExit = () => {
    if (server?.pid) {
      try {
        process.kill(server.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };

  const connectAdmin = (): Promise<AdminConnection> => {
    const opening = mysql
      .createConnection({ uri: env.server.url, multipleStatements: true })
      .then((conn) => {
        // Without a listener, a server restart would crash the worker with an 'error' event.
        conn.on('error', () => {
          if (admin === opening) admin = undefined;
        });
        return conn;
      });
    opening.catch(() => {
      if (admin === opening) admin = undefined;
    });
    return opening;
  };

  const query = async <T extends RowDataPacket[]>(sql: string, values?: unknown[]) => {
    for (let attempt = 1; ; attempt++) {
      const current = (admin ??= connectAdmin());
      try {
        const [rows] = await (await current).query<T>(sql, values);
        return rows;
      } catch (err) {
        const fatal = (err as { fatal?: boolean }).fatal === true;
        if (admin === current && fatal) admin = undefined;
        if (!fatal || attempt === 2) throw err;
      }
    }
  };

  const processlist = () =>
    query<(ProcessRow & RowDataPacket)[]>(
      'SELECT ID, COMMAND, TIME, STATE, INFO FROM information_schema.PROCESSLIST WHERE USER = ?',
      [env.db.user],
    );

  const env: PrivateEnv = {
    get server() {
      if (!server) throw new Error(`usePrivateServer(${suite}): the server is not started`);
      return server;
    },
    get db() {
      if (!db) throw new Error(`usePrivateServer(${suite}): the database is not created`);
      return db;
    },
    query,
    processlist,
    async appConnections() {
      return (await processlist()).filter((row) => row.COMMAND !== 'Killed').length;
    },
    watch(everyMs = 20) {
      const state = { max: 0, samples: 0, running: true };
      const loop = (async () => {
        while (state.running) {
          try {
            state.max = Math.max(state.max, await env.appConnections());
            state.samples++;
          } catch {
            /* the server is down or restarting */
          }
          await new Promise((r) => setTimeout(r, everyMs));
        }
      })();
      return {
        async stop() {
          state.running = false;
          await loop;
          return { max: state.max, samples: state.samples };
        },
      };
    },
    defer(fn) {
      let done: Promise<void> | undefined;
      const entry = {
        run: () =>
          (done ??= (async () => {
            let timer: NodeJS.Timeout | undefined;
            try {
              await Promise.race([
                fn(),
                new Promise((resolve) => (timer = setTimeout(resolve, DEFER_BOUND_MS))),
              ]);
            } catch (err) {
              process.stderr.write(`[${suite}] clean-up failed: ${String(err)}\n`);
            } finally {
              clearTimeout(timer);
            }
          })()),
      };
      deferred.push(entry);
      return () => entry.run();
    },
  };

  beforeAll(async () => {
    const { startPrivateServer } = (await import(SCRIPTS)) as {
      startPrivateServer: StartPrivateServer;
    };
    process.on('exit', killOnExit);
    server = await startPrivateServer({ extraArgs: options.extraArgs });
    // Kills the server (by the pid file, which follows restarts) should this worker die without
    // running afterAll; it exits by itself once stop() removes the datadir or kills it.
    watchdog = spawn(
      'sh',
      [
        '-c',
        `while kill -0 ${process.pid} 2>/dev/null && [ -d "$1" ]; do sleep 1; done; ` +
          `[ -d "$1" ] || exit 0; kill -9 "$(cat "$1/mysqld.pid")" 2>/dev/null; rm -rf "$1"`,
        'watchdog',
        server.datadir,
      ],
      { detached: true, stdio: 'ignore' },
    );
    watchdog.unref();
    db = await createTestDatabase(suite, server.url);
    db.admin.on('error', () => {});
  }, 60_000);

  afterAll(async () => {
    for (const entry of deferred.toReversed()) await entry.run();
    // destroy, not end(): the server and its datadir go next, nothing needs a clean QUIT
    db?.admin.destroy();
    const open = admin;
    admin = undefined;
    await open?.then((conn) => conn.destroy()).catch(() => {});
    try {
      await server?.stop();
    } finally {
      watchdog?.kill();
      process.off('exit', killOnExit);
    }
  }, 60_000);

  return env;
}
