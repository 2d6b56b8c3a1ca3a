// Issue 5 benchmark driver (`npm run bench`, which builds first). For each round, for each
// variant (interleaved, order rotated per round): start the variant's server, warm it up, load
// it with autocannon from another process, and check that no connection leaked; then run the
// pool micro-benchmark (bench/pool.mjs) and, with BENCH_HEAP=1, the heap check; then write
// docs/benchmarks.md and docs/benchmarks.svg from what was measured.
// `node bench/run.mjs --render` only re-renders the docs from the last run's raw results.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { findDatabase } from '../scripts/database.mjs';
import { benchSessions, prepareBenchDatabase, waitNoSessions } from './bench-db.mjs';
import { renderChart } from './chart.mjs';
import { ROOT, autocannon, envInt, rotate } from './measure.mjs';
import { renderMarkdown } from './report.mjs';
import {
  BUILD,
  VARIANTS,
  prepareBuild,
  startServer,
  stopServer,
  variantsFromEnv,
} from './servers.mjs';
import { evaluateTargets, summarize } from './summary.mjs';

const HEAP_VARIANTS = ['d', 'e'];
const ENDPOINTS = ['/one', '/three'];
const RESULTS = join(BUILD, 'results.json');

const quick = process.env.BENCH_QUICK === '1';
const settings = {
  quick,
  rounds: envInt('BENCH_ROUNDS', quick ? 2 : 4),
  seconds: envInt('BENCH_SECONDS', quick ? 2 : 5),
  warmup: envInt('BENCH_WARMUP', quick ? 1 : 2),
  connections: envInt('BENCH_CONNECTIONS', 50),
  poolSize: envInt('BENCH_POOL_SIZE', 10),
  heap: process.env.BENCH_HEAP === '1',
  heapRequests: quick ? [2_000, 20_000] : [20_000, 200_000],
};
const log = (message) => console.error(`[bench] ${message}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const COMPARED = VARIANTS.filter((v) => !v.profileOnly);

function describeMachine(snapshotHash) {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const version = (pkg) =>
    JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  let commit = 'unknown';
  let dirty = [];
  try {
    commit = git('rev-parse', '--short', 'HEAD').trim();
    // Porcelain lines are "XY path"; X may be a space, so no trim() before slicing.
    dirty = git('status', '--porcelain', '--', 'lib')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3));
  } catch {
    // Not a git checkout: the snapshot hash still identifies the code.
  }
  return {
    cpuModel: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    nproc: os.availableParallelism(),
    memoryGiB: (os.totalmem() / 1024 ** 3).toFixed(1),
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    versions: Object.fromEntries(
      [
        'mysql2',
        '@nestjs/core',
        '@nestjs/platform-express',
        'express',
        'typeorm',
        '@nestjs/typeorm',
        'autocannon',
      ].map((p) => [p, version(p)]),
    ),
    library: { commit, dirty, hash: snapshotHash },
    loadBefore: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / '),
  };
}

/** Polls the pool gauges until nothing is borrowed or pending (at most 2 s): the idle state. */
async function idleGauges(server) {
  const deadline = Date.now() + 2_000;
  for (;;) {
    const { pool } = await server.admin('/stats');
    if ((pool.borrowed === 0 && pool.pending === 0) || Date.now() > deadline) return pool;
    await sleep(50);
  }
}

async function measureVariant(variant, round, ctx) {
  const server = await startServer(variant, ctx.benchUri, { poolSize: settings.poolSize });
  if (server.unavailable) {
    await server.exited;
    return { unavailable: server.unavailable };
  }
  try {
    // Every endpoint is warmed up before any is measured, so that neither is measured on code the
    // JIT has not seen yet; the order alternates so that neither is always measured first.
    const endpoints = round % 2 ? ENDPOINTS.toReversed() : ENDPOINTS;
    for (const endpoint of endpoints) {
      const url = server.base + endpoint;
      await autocannon({ url, connections: settings.connections, duration: settings.warmup });
    }
    for (const endpoint of endpoints) {
      const url = server.base + endpoint;
      const before = await server.admin('/stats');
      const load = await autocannon({
        url,
        connections: settings.connections,
        duration: settings.seconds,
      });
      const after = await server.admin('/stats');
      const cpu = after.cpu.user + after.cpu.system - (before.cpu.user + before.cpu.system);
      const pool = await idleGauges(server);
      const sessions = await benchSessions(ctx.admin);
      ctx.runs.push({
        variant: variant.id,
        endpoint,
        round,
        ...load,
        cpuPerRequest: cpu / Math.max(1, load.requests),
        borrowedAfter: pool.borrowed,
        pendingAfter: pool.pending,
        sessions: sessions.total,
        busySessions: sessions.busy,
      });
      log(
        `round ${round + 1} (${variant.id}) ${endpoint}: ${load.rps.toFixed(0)} req/s, p50 ${load.p50} ms, ` +
          `p99 ${load.p99} ms, errors ${load.errors}, borrowed ${pool.borrowed}, sessions ${sessions.total}`,
      );
    }
  } finally {
    const sessionsLeft = await stopServer(server, ctx.admin);
    ctx.exits.push({ variant: variant.id, round, sessionsLeft });
  }
  return {};
}

/** Heap used after N1 and N2 requests, each after forced full GCs (variants d and e). */
async function measureHeap(variant, ctx) {
  const server = await startServer(variant, ctx.benchUri, {
    poolSize: settings.poolSize,
    exposeGc: true,
  });
  if (server.unavailable) {
    await server.exited;
    return { variant: variant.id, error: `not available: ${server.unavailable}` };
  }
  try {
    const [n1, n2] = settings.heapRequests;
    const url = `${server.base}/one`;
    const { heapUsed: h0 } = await server.admin('/gc');
    const first = await autocannon({ url, connections: settings.connections, amount: n1 });
    const { heapUsed: h1 } = await server.admin('/gc');
    const second = await autocannon({ url, connections: settings.connections, amount: n2 - n1 });
    const { heapUsed: h2 } = await server.admin('/gc');
    const pool = await idleGauges(server);
    log(`heap (${variant.id}): ${h0} → ${h1} → ${h2} bytes`);
    return {
      variant: variant.id,
      h0,
      h1,
      h2,
      growth: h2 - h1,
      requests1: first.requests,
      requests2: first.requests + second.requests,
      errors: first.errors + second.errors,
      borrowedAfter: pool.borrowed,
    };
  } finally {
    await stopServer(server, ctx.admin);
  }
}

/** bench/pool.mjs in its own process (with --expose-gc), on the same snapshot of the package. */
async function runMicro(ctx, libraryEntry) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', join(ROOT, 'bench', 'pool.mjs'), '--json'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        BENCH_DB_URI: ctx.benchUri,
        BENCH_LIBRARY: pathToFileURL(libraryEntry).href,
      },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return JSON.parse(stdout.trim().split('\n').pop());
}

function commandLine() {
  const vars = Object.keys(process.env)
    .filter((k) => k.startsWith('BENCH_') && !['BENCH_DB_URI', 'BENCH_LIBRARY'].includes(k))
    .toSorted()
    .map((k) => `${k}=${process.env[k]}`);
  const cmd = process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : 'node bench/run.mjs';
  return [...vars, cmd].join(' ');
}

async function main() {
  const started = Date.now();
  const variants = variantsFromEnv('BENCH_VARIANTS', COMPARED);
  log(`compiling bench/http and snapshotting dist/`);
  const snapshot = prepareBuild();
  const machine = describeMachine(snapshot.hash);
  const db = await findDatabase({ log });
  const { uri: benchUri, admin, serverVersion } = await prepareBenchDatabase(db.url);
  machine.serverVersion = serverVersion;
  const ctx = {
    benchUri,
    admin,
    runs: [],
    exits: [],
    failures: [],
    unavailable: {},
    heap: [],
    micro: undefined,
  };
  try {
    if ((await waitNoSessions(admin, 5_000)) > 0) {
      throw new Error('the bench user still has sessions open (another run in progress?)');
    }
    for (let round = 0; round < settings.rounds; round++) {
      for (const variant of rotate(variants, round)) {
        if (ctx.unavailable[variant.id]) continue;
        try {
          const { unavailable } = await measureVariant(variant, round, ctx);
          if (unavailable) {
            ctx.unavailable[variant.id] = unavailable;
            log(`(${variant.id}) not available: ${unavailable}`);
          }
        } catch (err) {
          ctx.failures.push({
            variant: variant.id,
            round: round + 1,
            message: err.message.split('\n')[0],
          });
          log(`(${variant.id}) round ${round + 1} failed: ${err.stack}`);
        }
      }
    }
    log('pool micro-benchmark');
    try {
      ctx.micro = await runMicro(ctx, snapshot.entry);
    } catch (err) {
      ctx.micro = { error: err.message.split('\n')[0] };
      log(`micro-benchmark failed: ${err.stack}\n${err.stderr ?? ''}`);
    }
    if (settings.heap) {
      for (const variant of variants.filter((v) => HEAP_VARIANTS.includes(v.id))) {
        try {
          ctx.heap.push(await measureHeap(variant, ctx));
        } catch (err) {
          ctx.heap.push({ variant: variant.id, error: err.message.split('\n')[0] });
        }
      }
    }
  } finally {
    await admin.end();
    await db.stop();
  }
  machine.loadAfter = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
  const raw = {
    runs: ctx.runs,
    exits: ctx.exits,
    failures: ctx.failures,
    unavailable: ctx.unavailable,
    heap: ctx.heap,
    micro: ctx.micro,
    settings,
    variants,
    endpoints: ENDPOINTS,
    machine,
    startedAt: new Date(started).toISOString().replace(/\.\d+Z$/, 'Z'),
    minutes: ((Date.now() - started) / 60_000).toFixed(1),
    command: commandLine(),
  };
  // Saved before rendering: the raw runs survive a rendering bug (`node bench/run.mjs --render`).
  writeFileSync(RESULTS, JSON.stringify(raw, null, 2));
  writeDocs(raw);
}

/** Medians, ratios and verdicts from the raw runs, then docs/benchmarks.md and .svg. */
function writeDocs(raw) {
  const { settings: s, variants, endpoints, machine } = raw;
  const summary = summarize(raw.runs, variants, endpoints);
  const targets = evaluateTargets({
    summary,
    endpoints,
    unavailable: raw.unavailable,
    micro: raw.micro,
    heap: raw.heap,
    heapPlanned: s.heap,
  });
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  writeFileSync(join(ROOT, 'docs', 'benchmarks.md'), renderMarkdown({ ...raw, summary, targets }));
  writeFileSync(
    join(ROOT, 'docs', 'benchmarks.svg'),
    renderChart({
      summary,
      variants,
      endpoints,
      subtitle:
        `${raw.startedAt}: medians of ${s.rounds} round(s) × ${s.seconds} s, ` +
        `${s.connections} connections, connectionLimit ${s.poolSize}, ` +
        `${machine.nproc} cores (shared, noisy)${s.quick ? ', QUICK MODE' : ''}`,
    }),
  );
  log(`wrote docs/benchmarks.md and docs/benchmarks.svg (raw runs: .tmp/bench/results.json)`);
  for (const t of targets) log(`${t.status.padEnd(12)} ${t.target}: ${t.measured}`);
}

const run = process.argv.includes('--render')
  ? async () => writeDocs(JSON.parse(readFileSync(RESULTS, 'utf8')))
  : main;

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
