/** Where the sample's data lives. */
export interface SampleSettings {
  /** The server, as a mysql2 URL; its path, if any, is ignored in favour of `database`. */
  url: string;
  /** The database the app owns; created at start if missing. */
  database: string;
  /** Most server connections the app opens. */
  connectionLimit: number;
  /** Read replicas of `url` (mysql2 URLs; their path is replaced by `database` too). */
  replicaUrls: string[];
}

export const DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306/';
export const DEFAULT_DATABASE = 'sample';
export const DEFAULT_PORT = 3000;

/**
 * Settings from the environment: `MYSQL_URL` (default `mysql://root@127.0.0.1:3306/`); the
 * database is the URL's path, `sample` when it has none; `MYSQL_REPLICA_URLS`, comma-separated,
 * read replicas (none by default). Anything in `overrides` wins.
 */
export function resolveSettings(
  overrides: Partial<SampleSettings> = {},
  env: NodeJS.ProcessEnv = process.env,
): SampleSettings {
  const url = overrides.url ?? env.MYSQL_URL ?? DEFAULT_MYSQL_URL;
  return {
    url,
    database: overrides.database ?? databaseOf(url) ?? DEFAULT_DATABASE,
    connectionLimit: overrides.connectionLimit ?? 10,
    replicaUrls:
      overrides.replicaUrls ??
      (env.MYSQL_REPLICA_URLS ?? '')
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
  };
}

/** `PORT`, default 3000; 0 picks a free port. */
export function portFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.PORT ?? String(DEFAULT_PORT);
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a port number (0-65535), got "${raw}".`);
  }
  return port;
}

/** The URL pointing at `database` instead of whatever its path said. */
export function withDatabase(url: string, database: string | undefined): string {
  const u = parseUrl(url);
  u.pathname = database ? `/${encodeURIComponent(database)}` : '/';
  return u.toString();
}

/** `host:port as user "name"`: where the app connects, fit for a log line (no password). */
export function describeServer(url: string): string {
  const u = parseUrl(url);
  return `${u.hostname}:${u.port || 3306} as user "${decodeURIComponent(u.username)}"`;
}

function databaseOf(url: string): string | undefined {
  const path = parseUrl(url).pathname.slice(1);
  return path ? decodeURIComponent(path) : undefined;
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    // Never echo the value: it may carry a password.
    throw new Error('MYSQL_URL is not a URL; expected mysql://user:password@host:3306/database');
  }
}
