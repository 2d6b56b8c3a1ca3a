import { createServer, type Server, type ServerResponse } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import type { PoolGauges } from './bench.config.js';

/** bench/profile.mjs: V8's sampling CPU profiler over exactly the measured window. */
let profiler: Session | undefined;

async function profile(action: 'start' | 'stop', res: ServerResponse): Promise<void> {
  if (action === 'start') {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    // 200 µs between samples: a few thousand per second, enough to see a 5 µs/request difference.
    await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
    await profiler.post('Profiler.start');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"started":true}');
    return;
  }
  if (!profiler) {
    res.writeHead(409).end('the profiler was not started');
    return;
  }
  const { profile: result } = await profiler.post('Profiler.stop');
  profiler.disconnect();
  profiler = undefined;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
}

/**
 * A second, plain `node:http` listener for the driver's questions (CPU used, pool gauges, heap
 * after a forced GC, a CPU profile). Kept out of the Nest app so that measuring adds no route, guard or
 * interceptor to the app being measured, and so it answers even while the app is saturated.
 */
export async function startAdminServer(gauges: () => PoolGauges): Promise<Server> {
  const server = createServer((req, res) => {
    let body: unknown;
    if (req.url === '/stats') {
      body = { cpu: process.cpuUsage(), memory: process.memoryUsage(), pool: gauges() };
    } else if (req.url === '/gc') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) {
        res.writeHead(501).end('start the server with --expose-gc');
        return;
      }
      // Twice: the first full GC can leave objects that only the second one finds unreachable
      // (weak references and finalizers cleared by the first).
      gc();
      gc();
      body = { heapUsed: process.memoryUsage().heapUsed };
    } else if (req.url === '/profile/start' || req.url === '/profile/stop') {
      profile(req.url === '/profile/start' ? 'start' : 'stop', res).catch((err: unknown) =>
        res.writeHead(500).end(String(err)),
      );
      return;
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return server;
}

export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}
