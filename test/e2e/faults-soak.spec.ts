import { beforeAll, describe, expect, it } from '@jest/globals';
import type { RowDataPacket } from 'mysql2';
import { Agent } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DbPool } from 'nestjs-mysql-connection';
import { bootApp, type BootedApp } from '../fixtures/app.js';
import { FaultController } from '../fixtures/faults.controller.js';
import { ProbeController } from '../fixtures/probe.controller.js';
import { send, type Outcome } from '../support/client.js';
import { eventually, sleep } from '../support/http.js';
import { usePrivateServer } from '../support/private-server.js';

// 20,000 mixed requests while connections are killed and the server restarts (R10 of
// mysql2-pool-facts): nothing leaks, nothing hangs, the limit holds. No proxy: on 2 cores its
// per-packet work would cost more than the rest; faults-proxy.spec.ts covers the network.
const env = usePrivateServer('faults_soak');

const REQUESTS = 20_000;
const CONCURRENCY = 50;
const LIMIT = 10;
const ACQUIRE_TIMEOUT = 2000;
// Generous: the app, its clients and the injector share one event loop, so a starved machine
// stalls all of them at once; a request of this suite never legitimately takes over ~2.5 s.
const CLIENT_TIMEOUT = 10_000;

/**
 * What each kind of request may answer, faults included. A 500 is what the handler itself sees
 * when its connection dies after its first statement, or when the one retry of a first
 * statement meets a second fault (a kill, or the server going down): counted and reported.
 */
const KINDS = {
  // one statement
  id: { path: () => '/id', method: 'GET', allowed: [200, 500, 503] },
  // one statement, then the handler throws
  throw: { path: () => '/throw', method: 'GET', allowed: [400, 500, 503] },
  // two statements: a kill during the second fails the request (500), as it must
  slow: { path: () => '/sleep/20', method: 'GET', allowed: [200, 500, 503] },
  // BEGIN, INSERT, COMMIT: a kill after BEGIN fails it (500); the row is then not committed
  insert: { path: (i: number) => `/items/${i}`, method: 'POST', allowed: [201, 500, 503] },
  // the client goes away in the middle of the second statement
  abort: { path: () => '/sleep/50', method: 'GET', allowed: [] as number[] },
} as const;
type Kind = keyof typeof KINDS;

/** 55 % quick, 15 % thrown, 10 % slow, 10 % inserts, 10 % aborted. */
function plan(i: number): Kind {
  const slot = i % 20;
  if (slot < 11) return 'id';
  if (slot < 14) return 'throw';
  if (slot < 16) return 'slow';
  if (slot < 18) return 'insert';
  return 'abort';
}

describe('soak under faults', () => {
  let booted: BootedApp;
  let pool: DbPool;

  beforeAll(async () => {
    await env.query(
      `CREATE TABLE \`${env.db.name}\`.items (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)`,
    );
    booted = await bootApp(
      {
        uri: env.db.url,
        connectionLimit: LIMIT,
        acquireTimeout: ACQUIRE_TIMEOUT,
        shutdownTimeout: 1000,
      },
      {
        controllers: [ProbeController, FaultController],
        appOptions: { forceCloseConnections: true },
      },
    );
    env.defer(() => booted.app.close());
    pool = booted.app.get(DbPool);
  });

  it(`answers ${REQUESTS} requests while connections are killed and the server restarts`, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const results: { kind: Kind; outcome: Outcome; at: number }[] = [];
    // what the injector did and when (ms from the start), to explain any unexpected outcome
    const timeline: string[] = [];
    const faults = { kills: 0, restarts: 0 };
    const recovery: { down: number; firstOk: number }[] = [];
    const progress = { next: 0, done: 0 };

    const watch = env.watch(50);
    const started = Date.now();
    const cpuAtStart = process.cpuUsage();
    const loopDelay = monitorEventLoopDelay({ resolution: 20 });
    loopDelay.enable();
    const clients = Array.from({ length: CONCURRENCY }, async (_, c) => {
      for (let i = progress.next++; i < REQUESTS; i = progress.next++) {
        const kind = plan(i);
        const spec = KINDS[kind];
        const at = Date.now() - started;
        const outcome = await send(booted.base, spec.path(i), {
          method: spec.method,
          timeoutMs: CLIENT_TIMEOUT,
          agent,
          abortAfterMs: kind === 'abort' ? 5 + ((i + c) % 30) : undefined,
        });
        results.push({ kind, outcome, at });
        progress.done++;
        // a client that is told "unavailable" backs off a little, as real ones do, so an outage
        // does not turn most of the run into instant 503s
        if (outcome.kind === 'reply' && outcome.status === 503) await sleep(50);
      }
    });

    // The fault injector: every ~300 ms kill one or two of the library's connections; one server
    // restart (down for ~200 ms) half-way through.
    const injector = (async () => {
      let restarted = false;
      while (progress.done < REQUESTS) {
        await sleep(300);
        if (!restarted && progress.done > REQUESTS * 0.5) {
          restarted = true;
          const downAt = Date.now();
          timeline.push(`${downAt - started} restart: SIGTERM`);
          await env.server.kill('SIGTERM');
          timeline.push(`${Date.now() - started} restart: down`);
          await sleep(200);
          await env.server.start();
          const upAt = Date.now();
          timeline.push(`${upAt - started} restart: up`);
          const seen = results.length;
          const ok = await eventually(
            () =>
              results
                .slice(seen)
                .some((r) => r.outcome.kind === 'reply' && r.outcome.status === 200),
            5000,
          );
          if (ok) recovery.push({ down: upAt - downAt, firstOk: Date.now() - upAt });
          faults.restarts++;
        } else {
          const ids = (await env.processlist().catch(() => []))
            .filter((row) => row.COMMAND !== 'Killed')
            .map((row) => Number(row.ID));
          const victims = ids.toSorted(() => Math.random() - 0.5).slice(0, 1 + (faults.kills % 2));
          for (const id of victims) {
            await env.query(`KILL ${id}`).catch(() => undefined); // it may have just gone
            timeline.push(`${Date.now() - started} KILL ${id}`);
            faults.kills++;
          }
        }
      }
    })();

    await Promise.all(clients);
    await injector;
    const elapsed = Date.now() - started;
    const cpu = process.cpuUsage(cpuAtStart);
    loopDelay.disable();
    agent.destroy();

    // nothing leaked: every connection is back, and the server has no more than the pool knows
    expect(await eventually(() => pool.stats().borrowed === 0, 3000)).toBe(true);
    const { max: maxSeen, samples } = await watch.stop();
    const stats = pool.stats();
    const onServer = await env.appConnections();

    // every request was answered (or cut by us), each kind only with the statuses it may give
    const tally = new Map<string, number>();
    const unexpected: unknown[] = [];
    // The longest any answer may take: the acquire deadline, a 50 ms statement and the retry's
    // round trips, plus the longest stall of this process's event loop (a busy machine).
    const stall = Math.round(loopDelay.max / 1e6);
    const bound = ACQUIRE_TIMEOUT + 1000 + stall;
    let slowest = 0;
    for (const { kind, outcome, at } of results) {
      const label =
        outcome.kind === 'reply' ? `${kind} ${outcome.status}` : `${kind} ${outcome.kind}`;
      tally.set(label, (tally.get(label) ?? 0) + 1);
      if (outcome.kind === 'reply') slowest = Math.max(slowest, outcome.ms);
      const fine =
        kind === 'abort'
          ? outcome.kind === 'aborted' || outcome.kind === 'reply'
          : outcome.kind === 'reply' &&
            outcome.ms <= bound &&
            (KINDS[kind].allowed as readonly number[]).includes(outcome.status);
      if (!fine && unexpected.length < 10) {
        const near = timeline.filter((line) => Math.abs(Number(line.split(' ')[0]) - at) < 6000);
        unexpected.push({ kind, at, outcome, near });
      }
    }
    const [{ n }] = await env.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM \`${env.db.name}\`.items`,
    );
    const rows = Number(n);
    const count = (label: string) => tally.get(label) ?? 0;

    process.stderr.write(
      `[faults] soak: ${results.length} requests in ${elapsed} ms ` +
        `(${Math.round((results.length * 1000) / elapsed)}/s), concurrency ${CONCURRENCY}, ` +
        `limit ${LIMIT}; test process CPU ${Math.round((cpu.user + cpu.system) / 1000)} ms, ` +
        `event-loop delay p99 ${Math.round(loopDelay.percentile(99) / 1e6)} ms ` +
        `max ${stall} ms; slowest answer ${slowest} ms; ` +
        `faults ${JSON.stringify(faults)}\n` +
        `[faults] soak: outcomes ${JSON.stringify(Object.fromEntries([...tally].toSorted()))}\n` +
        `[faults] soak: processlist max ${maxSeen} over ${samples} samples, at end ${onServer}; ` +
        `rows ${rows}; stats ${JSON.stringify(stats)}\n`,
    );
    for (const { down, firstOk } of recovery) {
      process.stderr.write(
        `[faults] recovery: soak restart, SIGTERM to server answering again: ${down} ms\n` +
          `[faults] recovery: soak restart, server answering to first 200: ${firstOk} ms\n`,
      );
    }

    expect(results).toHaveLength(REQUESTS);
    expect(unexpected).toEqual([]);
    expect(faults.restarts).toBe(1);
    expect(faults.kills).toBeGreaterThan(5);
    // the faults did show...
    expect(count('id 503') + count('slow 500') + count('insert 500')).toBeGreaterThan(0);
    // ...but a one-statement request fails with a 500 only if the retry of its statement meets
    // a second fault: rare (without the retry, ~1 % of them do: ~130 in this run)
    expect(count('id 500') + count('throw 500')).toBeLessThanOrEqual(10);
    expect(recovery).toHaveLength(1);

    expect(stats).toMatchObject({ borrowed: 0, pending: 0 });
    expect(samples).toBeGreaterThan(20);
    expect(maxSeen).toBeLessThanOrEqual(LIMIT);
    expect(onServer).toBeLessThanOrEqual(stats.total);
    expect(stats.total).toBeLessThanOrEqual(LIMIT);
    // the counters add up: every connection made is open or was closed for a reason
    const destroyed = Object.values(stats.destroyed).reduce((a, b) => a + b, 0);
    expect(stats.created - destroyed).toBe(stats.total);

    // table contents: every 201 committed a row; a 500 may or may not have (COMMIT sent, reply lost)
    expect(rows).toBeGreaterThanOrEqual(count('insert 201'));
    expect(rows).toBeLessThanOrEqual(count('insert 201') + count('insert 500'));
  }, 180_000);
});
