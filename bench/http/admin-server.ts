import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PoolGauges } from './bench.config.js';

/**
 * A second, plain `node:http` listener for the driver's questions (CPU used, pool gauges, heap
 * after a forced GC). Kept out of the Nest app so that measuring adds no route, guard or
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
