// What the benchmark drivers share (bench/run.mjs, bench/profile.mjs): the variants, the build of
// the benchmark apps against a snapshot of dist/, and starting and stopping one variant's server.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitNoSessions } from './bench-db.mjs';
import { ROOT } from './measure.mjs';

export const BUILD = join(ROOT, '.tmp', 'bench');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The variants, one entry each; `app` and `depth` are main.ts's arguments. `profileOnly` ones
 * serve bench/profile.mjs's attribution and are not part of issue 5's comparison. (e) needs a build that
 * accepts `scope: 'context'`; until then its server says so and the report marks it unavailable.
 */
export const VARIANTS = [
  {
    id: 'a',
    app: 'raw',
    depth: 1,
    label: 'mysql2 pool, singleton service',
    description:
      'Singleton service using a `mysql2/promise` pool directly: `getConnection()`, `query()`, `release()` in the handler. The baseline.',
  },
  {
    id: 'b',
    app: 'naive',
    depth: 1,
    label: 'hand-written REQUEST scope',
    description:
      'A hand-written REQUEST-scoped provider that borrows lazily from a `mysql2/promise` pool, released by a global interceptor (what a user writes without a library: no deadline, no clean-up).',
  },
  {
    id: 'b10',
    app: 'naive',
    depth: 10,
    label: 'hand-written REQUEST scope, 10 services',
    description:
      '(b) behind a chain of 10 REQUEST-scoped services, each injecting the next, the last injecting the connection.',
  },
  {
    id: 'c',
    app: 'typeorm',
    depth: 1,
    label: '@nestjs/typeorm DataSource.query',
    description:
      '`@nestjs/typeorm` with a singleton service calling `DataSource.query()` (mysql2 underneath).',
  },
  {
    id: 'd',
    app: 'request',
    depth: 1,
    label: 'this package, REQUEST scope',
    description:
      "This package, `DbModule.forRoot()` with today's REQUEST-scoped `Connection` injected into a service.",
  },
  {
    id: 'd10',
    app: 'request',
    depth: 10,
    label: 'this package, REQUEST scope, 10 services',
    description:
      '(d) behind a chain of 10 services, each injecting the next, the last injecting `Connection`.',
  },
  {
    id: 'e',
    app: 'context',
    depth: 1,
    label: "this package, scope: 'context'",
    description:
      "This package, `DbModule.forRoot({ scope: 'context' })`: a singleton `Connection` bound per request through AsyncLocalStorage.",
  },
  {
    id: 'f',
    app: 'als',
    depth: 1,
    label: 'mysql2 pool + AsyncLocalStorage middleware, no library',
    description:
      '(a) plus an AsyncLocalStorage context opened per request by a Nest middleware on every route and read by the service: what any context scope costs, without this package. Profile only (`npm run bench:profile`).',
    profileOnly: true,
  },
];

/**
 * The variants named in the environment variable `name` (ids, comma-separated) among
 * `candidates`, in the candidates' order; `fallback` (ids) when it is unset or empty. An unknown
 * id is an error, not a silent skip.
 */
export function variantsFromEnv(name, candidates, fallback = candidates.map((v) => v.id)) {
  const named = (process.env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const ids = named.length ? named : fallback;
  const unknown = ids.filter((id) => !candidates.some((v) => v.id === id));
  if (unknown.length) {
    throw new Error(
      `${name}: unknown ${unknown.join(', ')}; known: ${candidates.map((v) => v.id).join(', ')}.`,
    );
  }
  return candidates.filter((v) => ids.includes(v.id));
}

/**
 * Compiles bench/http and copies the built package next to it. The servers import the copy,
 * so a `npm run build` by someone else during the run (it empties dist/) cannot change or break
 * what is being measured half-way.
 */
export function prepareBuild() {
  const dist = join(ROOT, 'dist', 'esm');
  if (!existsSync(join(dist, 'index.js'))) {
    throw new Error(
      'dist/esm/index.js is missing: run `npm run build` first (`npm run bench` does).',
    );
  }
  rmSync(BUILD, { recursive: true, force: true });
  const snapshot = join(BUILD, 'node_modules', 'nestjs-mysql-connection');
  cpSync(dist, snapshot, { recursive: true });
  writeFileSync(
    join(snapshot, 'package.json'),
    JSON.stringify({ name: 'nestjs-mysql-connection', type: 'module', exports: './index.js' }),
  );
  // Its own scope: without it Node would resolve the package name to dist/ by self-reference.
  writeFileSync(join(BUILD, 'package.json'), JSON.stringify({ type: 'module' }));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'bench', 'tsconfig.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  const hash = createHash('sha256');
  for (const file of readdirSync(snapshot, { recursive: true })
    .filter((f) => f.endsWith('.js'))
    .toSorted()) {
    hash.update(file).update(readFileSync(join(snapshot, file)));
  }
  return { entry: join(snapshot, 'index.js'), hash: `sha256:${hash.digest('hex').slice(0, 12)}` };
}

/** Starts one variant's server; resolves once it prints READY or UNAVAILABLE. */
export function startServer(variant, benchUri, { poolSize, exposeGc = false }) {
  const args = [
    ...(exposeGc ? ['--expose-gc'] : []),
    join(BUILD, 'http', 'main.js'),
    variant.app,
    String(variant.depth),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, BENCH_DB_URI: benchUri, BENCH_POOL_SIZE: String(poolSize) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let output = '';
  // Keep reading for the whole life of the process: a full pipe would block the server.
  const keep = (chunk) => (output = (output + chunk).slice(-8000));
  child.stderr.on('data', keep);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`(${variant.id}) not ready within 60 s:\n${output}`));
    }, 60_000);
    let line = '';
    child.stdout.on('data', (chunk) => {
      keep(chunk);
      line += chunk;
      const ready = /BENCH_(READY|UNAVAILABLE) (.+)\n/.exec(line);
      if (!ready) return;
      line = '';
      clearTimeout(timer);
      const info = JSON.parse(ready[2]);
      if (ready[1] === 'UNAVAILABLE') {
        resolve({ unavailable: info.reason, exited });
        return;
      }
      const base = `http://127.0.0.1:${info.port}`;
      const admin = async (path) =>
        (await fetch(`http://127.0.0.1:${info.adminPort}${path}`)).json();
      resolve({ child, base, admin, exited, output: () => output });
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(`(${variant.id}) exited (${code ?? signal}) before it was ready:\n${output}`),
      );
    });
  });
}

/** SIGTERM (the app closes its pool), then how many bench sessions the server still shows. */
export async function stopServer(server, admin) {
  server.child.kill('SIGTERM');
  const timeout = sleep(20_000).then(() => 'timeout');
  if ((await Promise.race([server.exited, timeout])) === 'timeout') {
    server.child.kill('SIGKILL');
    await server.exited;
    throw new Error('did not exit within 20 s of SIGTERM');
  }
  return waitNoSessions(admin, 5_000);
}
