// Renders docs/benchmarks.md from one run's results. Numbers are formatted here, never written.
import { mb } from './summary.mjs';

const int = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
const ms = (v) => (Number.isFinite(v) ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : '–');
const ratio = (v) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '–');
const STATUS = { met: '**met**', 'not met': '**not met**', 'not measured': 'not measured' };

/** A Markdown table; `align` has one letter per column, `l` or `r` (default: text, then numbers). */
function table(head, rows, align = 'l' + 'r'.repeat(head.length - 1)) {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (align[i] === 'r' ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function httpTable(ctx, ep) {
  const rows = ctx.variants.map((v) => {
    const s = ctx.summary[v.id]?.[ep];
    if (!s) return [`(${v.id}) ${v.label}`, 'n/a', '', '', '', '', '', '', ''];
    return [
      `(${v.id}) ${v.label}`,
      int(s.rps),
      ms(s.p50),
      ms(s.p99),
      int(s.cpuPerRequest),
      String(s.errors),
      ratio(s.rpsVsBaseline),
      ratio(s.p99VsBaseline),
      `${int(s.rpsMin)}–${int(s.rpsMax)}`,
    ];
  });
  return table(
    [
      'variant',
      'req/s',
      'p50 ms',
      'p99 ms',
      'server CPU µs/req',
      'errors',
      'req/s vs (a)',
      'p99 vs (a)',
      'req/s over rounds',
    ],
    rows,
  );
}

function hygieneTable(ctx) {
  const rows = ctx.variants.map((v) => {
    const mine = ctx.runs.filter((r) => r.variant === v.id);
    const exits = ctx.exits.filter((x) => x.variant === v.id);
    if (mine.length === 0) return [`(${v.id})`, 'n/a', '', '', '', ''];
    const max = (list, key) => Math.max(...list.map((x) => x[key]));
    return [
      `(${v.id})`,
      String(max(mine, 'borrowedAfter')),
      String(max(mine, 'pendingAfter')),
      `${max(mine, 'sessions')} (limit ${ctx.settings.poolSize})`,
      String(max(mine, 'busySessions')),
      exits.length ? String(max(exits, 'sessionsLeft')) : '–',
    ];
  });
  return table(
    [
      'variant',
      'borrowed, idle',
      'pending, idle',
      'server sessions, idle',
      'server sessions not in Sleep',
      'sessions left after exit',
    ],
    rows,
  );
}

function microSection(micro) {
  if (!micro?.scenarios)
    return `Not measured: ${micro?.error ?? 'the micro-benchmark did not run'}.`;
  const { settings } = micro;
  const parts = [
    `\`${micro.sql}\` borrowed, run and returned by ${settings.workers} concurrent workers in one ` +
      `process, ${settings.rounds} interleaved rounds of ${settings.seconds} s per variant (order rotated ` +
      `per round), each variant on a pool of its own with the same \`connectionLimit\`. ` +
      `Allocation: bytes allocated on the JS heap per operation, median of ` +
      `${settings.allocRounds ?? settings.rounds} passes of ${int(settings.allocOps)} operations, i.e. heap growth plus what every GC in between reclaimed (\`v8.GCProfiler\`); it ` +
      `counts the whole process's JS allocations (mysql2's parsing included, equal for all), not ` +
      `native buffers and not retained memory.` +
      (micro.gcExposed ? '' : ' (Run without --expose-gc: no GC before each allocation pass.)'),
  ];
  for (const s of micro.scenarios) {
    parts.push(`\n**${s.name}**: ${settings.workers} workers, \`connectionLimit\` ${s.limit}\n`);
    parts.push(
      table(
        [
          'variant',
          'ops/s (median)',
          'ops/s over rounds',
          'bytes allocated / op',
          'this package vs it',
          'borrowed after',
        ],
        Object.entries(s.variants).map(([name, v]) => [
          v.label,
          int(v.opsMedian),
          `${int(Math.min(...v.opsRounds))}–${int(Math.max(...v.opsRounds))}`,
          int(v.bytesMedian),
          name === 'library' ? '' : ratio(s.variants.library.opsMedian / v.opsMedian),
          String(s.leaks[name].borrowed),
        ]),
      ),
    );
  }
  return parts.join('\n');
}

function heapSection(ctx) {
  if (!ctx.settings.heap) {
    return 'Not run: opt-in with `BENCH_HEAP=1` (it sends hundreds of thousands of requests).';
  }
  if (ctx.heap.length === 0) return 'No variant could be measured.';
  const [n1, n2] = ctx.settings.heapRequests;
  return [
    `Server started with \`--expose-gc\`; \`GET /one\` with ${ctx.settings.connections} connections; ` +
      `heap used after two forced full GCs, after ${int(n1)} and after ${int(n2)} requests. Growth ` +
      `between the two is what would keep growing in production.\n`,
    table(
      [
        'variant',
        'heap after start',
        `after ~${int(n1)} req`,
        `after ~${int(n2)} req`,
        'growth',
        'errors',
        'borrowed after',
      ],
      ctx.heap.map((h) =>
        h.error
          ? [`(${h.variant})`, h.error, '', '', '', '', '']
          : [
              `(${h.variant})`,
              `${mb(h.h0)} MB`,
              `${mb(h.h1)} MB`,
              `${mb(h.h2)} MB`,
              `${mb(h.growth)} MB`,
              String(h.errors),
              String(h.borrowedAfter),
            ],
      ),
    ),
  ].join('\n');
}

/** A few file names in full, the rest counted: enough to know the build was not a commit. */
function listFiles(files, shown = 6) {
  const names = files.slice(0, shown).map((f) => `\`${f}\``);
  if (files.length > shown) names.push(`${files.length - shown} more`);
  return names.join(', ');
}

export function renderMarkdown(ctx) {
  const { machine, settings } = ctx;
  const lib = machine.library;
  const lines = [
    '# Benchmarks',
    '',
    '<!-- Generated by bench/run.mjs; do not edit by hand: run `npm run bench` again. -->',
    '',
    `Issue 5, parts 1 and 2: what a request costs through this package, next to the other ways a Nest ` +
      `application reaches MySQL, and the pool layer alone next to mysql2. Run on ${ctx.startedAt} ` +
      `(${ctx.minutes} min). Every figure below was measured by that run.`,
    '',
    '## How to read it',
    '',
    `- The machine is shared and was busy with other work (load average ${machine.loadBefore} before, ` +
      `${machine.loadAfter} after, on ${machine.nproc} cores), and load generator, server and ` +
      `database share those cores. Absolute numbers are therefore low and noisy; compare ratios. ` +
      `Each figure is the **median over ${settings.rounds} round(s)**; the "over rounds" columns show ` +
      `the spread, and the targets show the per-round ratios (runs minutes apart, same noise).`,
    `- One server process per variant and round, started by the driver, on a free loopback port. ` +
      `Rounds interleave the variants, in an order rotated each round, so slow drift in the ` +
      `background load spreads over all of them.`,
    `- Every variant uses \`connectionLimit\` ${settings.poolSize} against the same database with ` +
      `${settings.connections} HTTP connections, so requests also wait for connections: ` +
      `mysql2's queue in (a)–(c), this package's FIFO in (d)–(e). ${settings.poolSize} is this ` +
      `package's default and plenty for ${machine.nproc} cores; an uncontended pool would measure ` +
      `nothing of the pool.`,
    `- \`GET /one\` runs \`SELECT 1 AS n\`; \`GET /three\` runs it three times in a row on the ` +
      `request's connection ((c): \`DataSource.query()\` borrows per statement, TypeORM's model).`,
    `- Server CPU per request: \`process.cpuUsage()\` of the server over the measured window, divided ` +
      `by the requests answered. Latency is autocannon's, in whole ms.`,
    '',
    '## Variants',
    '',
    table(
      ['id', 'what the app does'],
      ctx.variants.map((v) => [
        `(${v.id})`,
        v.description +
          (ctx.unavailable[v.id] ? ` **Not available:** ${ctx.unavailable[v.id]}.` : ''),
      ]),
      'll',
    ),
    '',
    '## Machine and versions',
    '',
    table(
      ['', ''],
      [
        ['CPU', `${machine.cpuModel}, ${machine.nproc} cores (\`nproc\`)`],
        ['Memory', `${machine.memoryGiB} GiB`],
        ['OS', machine.os],
        ['Node.js', machine.node],
        ['mysql2', machine.versions.mysql2],
        [
          'Nest',
          `@nestjs/core ${machine.versions['@nestjs/core']}, @nestjs/platform-express ${machine.versions['@nestjs/platform-express']}, express ${machine.versions.express}`,
        ],
        [
          'TypeORM',
          `typeorm ${machine.versions.typeorm}, @nestjs/typeorm ${machine.versions['@nestjs/typeorm']}`,
        ],
        ['autocannon', machine.versions.autocannon],
        ['Database', `${machine.serverVersion}, same host, over loopback TCP`],
        [
          'This package',
          `dist/ built from commit ${lib.commit}` +
            (lib.dirty.length
              ? ` **plus uncommitted changes** in ${listFiles(lib.dirty)}`
              : ' (lib/ clean)') +
            `; snapshot ${lib.hash}`,
        ],
      ],
      'll',
    ),
    '',
    '## Command',
    '',
    '```sh',
    ctx.command,
    '```',
    '',
    `Settings: ${settings.rounds} round(s) × ${settings.seconds} s per variant and endpoint, after a ` +
      `${settings.warmup} s warm-up of each endpoint in the same server process, ` +
      `${settings.connections} connections, \`connectionLimit\` ` +
      `${settings.poolSize}` +
      (settings.quick
        ? '; **quick mode** (`BENCH_QUICK=1`): a smoke test, not a measurement'
        : '') +
      '. Environment overrides: `BENCH_ROUNDS`, `BENCH_SECONDS`, `BENCH_WARMUP`, `BENCH_CONNECTIONS`, ' +
      '`BENCH_POOL_SIZE`, `BENCH_VARIANTS` (e.g. `a,d,e`), `BENCH_HEAP=1`, `BENCH_QUICK=1`.',
    '',
    '## HTTP: medians',
    '',
    '![Requests per second and p99 latency per variant](benchmarks.svg)',
    '',
  ];
  for (const ep of ctx.endpoints) lines.push(`### GET ${ep}`, '', httpTable(ctx, ep), '');
  lines.push(
    '## Connections after each run',
    '',
    `After each load, once the server is idle: the pool's own gauges (this package's \`stats()\`; ` +
      `mysql2's private queues for the others, as mysql2 has no metrics API), and the bench user's ` +
      `sessions in \`information_schema.PROCESSLIST\` seen from an admin session. After SIGTERM, the ` +
      `sessions the server still shows for the bench user once the process has exited (max over ` +
      `rounds; 0 everywhere means nothing leaked or stayed open).`,
    '',
    hygieneTable(ctx),
    '',
    '## Pool layer alone (no HTTP)',
    '',
    microSection(ctx.micro),
    '',
    '## Heap (variants d and e)',
    '',
    heapSection(ctx),
    '',
    '## Targets of issue 5',
    '',
    table(
      ['target', 'measured (ratio of medians)', 'status'],
      ctx.targets.map((t) => [
        t.target,
        t.measured,
        STATUS[t.status] + (t.disagree ? ' (rounds disagree: within noise)' : ''),
      ]),
      'lll',
    ),
    '',
    'What limits a target that is not met: `npm run bench:profile` attributes each variant’s CPU ' +
      'per request to this package, Nest, Express, AsyncLocalStorage, mysql2 and the garbage ' +
      'collector ([profile.md](profile.md)).',
    '',
  );
  if (ctx.failures.length) {
    lines.push('## Failures during the run', '');
    for (const f of ctx.failures) lines.push(`- (${f.variant}) round ${f.round}: ${f.message}`);
    lines.push('');
  }
  return lines.join('\n');
}
