// Turns the raw runs into medians, ratios against the baseline, and the verdicts on issue 5's
// targets. Every figure here is computed from the runs passed in; nothing is assumed.
import { median } from './measure.mjs';

/**
 * Medians per variant and endpoint over the rounds, ratios of medians against `baseline`, and
 * paired ratios per round (each round's runs were made minutes apart at most, under the same
 * background load, so their ratio says more about noise than two medians do).
 */
export function summarize(runs, variants, endpoints, baseline = 'a') {
  const summary = {};
  for (const v of variants) {
    summary[v.id] = {};
    for (const ep of endpoints) {
      const mine = runs.filter((r) => r.variant === v.id && r.endpoint === ep);
      if (mine.length === 0) continue;
      summary[v.id][ep] = {
        rounds: mine.length,
        rps: median(mine.map((r) => r.rps)),
        p50: median(mine.map((r) => r.p50)),
        p99: median(mine.map((r) => r.p99)),
        cpuPerRequest: median(mine.map((r) => r.cpuPerRequest)),
        rpsMin: Math.min(...mine.map((r) => r.rps)),
        rpsMax: Math.max(...mine.map((r) => r.rps)),
        errors: mine.reduce((sum, r) => sum + r.errors, 0),
        requests: mine.reduce((sum, r) => sum + r.requests, 0),
        byRound: Object.fromEntries(mine.map((r) => [r.round, r])),
      };
    }
  }
  for (const v of variants) {
    for (const ep of endpoints) {
      const s = summary[v.id][ep];
      const base = summary[baseline]?.[ep];
      if (!s || !base) continue;
      s.rpsVsBaseline = s.rps / base.rps;
      s.p99VsBaseline = s.p99 / base.p99;
    }
  }
  return summary;
}

/** Per-round ratios `metric(x) / metric(y)` for the rounds in which both ran. */
export function pairedRatios(summary, x, y, ep, metric = 'rps') {
  const a = summary[x]?.[ep]?.byRound;
  const b = summary[y]?.[ep]?.byRound;
  if (!a || !b) return [];
  return Object.keys(a)
    .filter((round) => b[round])
    .map((round) => a[round][metric] / b[round][metric]);
}

const fmtRatio = (r) => `${r.toFixed(2)}×`;
const spread = (list) =>
  list.length > 1
    ? ` (per round ${fmtRatio(Math.min(...list))}–${fmtRatio(Math.max(...list))})`
    : '';

/**
 * One comparison `x` against `y` on every endpoint: met when `test(ratio)` holds on all of them.
 * `missing` names why it could not be measured when either side has no data.
 */
function compare(summary, endpoints, { x, y, metric, test, missing }) {
  const parts = [];
  let met = true;
  let disagree = false;
  for (const ep of endpoints) {
    const sx = summary[x]?.[ep];
    const sy = summary[y]?.[ep];
    if (!sx || !sy)
      return { status: 'not measured', measured: missing ?? `no data for ${x} or ${y}` };
    const ratio = sx[metric] / sy[metric];
    const paired = pairedRatios(summary, x, y, ep, metric);
    met &&= test(ratio);
    // Rounds on both sides of the threshold: the verdict is within this machine's noise.
    disagree ||= paired.some(test) && paired.some((r) => !test(r));
    parts.push(`${ep} ${fmtRatio(ratio)}${spread(paired)}`);
  }
  return { status: met ? 'met' : 'not met', disagree, measured: parts.join('; ') };
}

/** Issue 5's targets, each with what was measured and whether it is met. */
export function evaluateTargets({ summary, endpoints, unavailable, micro, heap, heapPlanned }) {
  const eMissing = unavailable.e ? `variant (e) not available: ${unavailable.e}` : undefined;
  const rows = [
    {
      target: 'context scope (e): req/s ≥ 0.95× (a)',
      ...compare(summary, endpoints, {
        x: 'e',
        y: 'a',
        metric: 'rps',
        test: (r) => r >= 0.95,
        missing: eMissing,
      }),
    },
    {
      target: 'context scope (e): req/s > @nestjs/typeorm (c)',
      ...compare(summary, endpoints, {
        x: 'e',
        y: 'c',
        metric: 'rps',
        test: (r) => r > 1,
        missing: eMissing,
      }),
    },
    {
      target: 'context scope (e): p99 ≤ 1.1× (a)',
      ...compare(summary, endpoints, {
        x: 'e',
        y: 'a',
        metric: 'p99',
        test: (r) => r <= 1.1,
        missing: eMissing,
      }),
    },
    {
      target: 'REQUEST scope (d): req/s ≥ 1.0× hand-written (b), depth 1',
      ...compare(summary, endpoints, { x: 'd', y: 'b', metric: 'rps', test: (r) => r >= 1 }),
    },
    {
      target: 'REQUEST scope (d10): req/s ≥ 1.0× hand-written (b10), depth 10',
      ...compare(summary, endpoints, { x: 'd10', y: 'b10', metric: 'rps', test: (r) => r >= 1 }),
    },
  ];
  if (micro?.scenarios?.length) {
    const met = micro.scenarios.every((s) => s.ratioVsPromise >= 0.95);
    const rounds = micro.scenarios.flatMap((s) => s.pairedVsPromise);
    rows.push({
      target: 'pool layer: ops/s ≥ 0.95× mysql2 (micro-benchmark, vs mysql2/promise)',
      status: met ? 'met' : 'not met',
      disagree: rounds.some((r) => r >= 0.95) && rounds.some((r) => r < 0.95),
      measured: micro.scenarios
        .map((s) => `${s.name} ${fmtRatio(s.ratioVsPromise)}${spread(s.pairedVsPromise)}`)
        .join('; '),
    });
  } else {
    rows.push({
      target: 'pool layer: ops/s ≥ 0.95× mysql2 (micro-benchmark)',
      status: 'not measured',
      measured: micro?.error ?? 'the micro-benchmark did not run',
    });
  }
  for (const id of ['d', 'e']) {
    const h = heap.find((x) => x.variant === id);
    const target = `heap growth ≤ 10 MB, variant (${id})`;
    if (h?.growth !== undefined) {
      rows.push({
        target,
        status: h.growth <= 10 * 1024 * 1024 ? 'met' : 'not met',
        measured: `${mb(h.growth)} MB between ${count(h.requests1)} and ${count(h.requests2)} requests`,
      });
    } else {
      const why = !heapPlanned
        ? 'not run (opt-in: BENCH_HEAP=1)'
        : unavailable[id]
          ? `variant (${id}) not available`
          : (h?.error ?? 'no data');
      rows.push({ target, status: 'not measured', measured: why });
    }
  }
  return rows;
}

export const mb = (bytes) => (bytes / 1024 / 1024).toFixed(2);

const count = (n) => n.toLocaleString('en-US');
