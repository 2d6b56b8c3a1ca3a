import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * What happens to connections the proxy accepts from now on:
 * - `pass`: forwarded (after `latency`, if any);
 * - `blackhole`: accepted and held open, nothing forwarded either way (a half-open or NAT-dropped
 *   path: the client sees neither data nor FIN, so its connect or handshake times out).
 */
export type NewConnections = 'pass' | 'blackhole';

/** One client socket and the upstream socket it is paired with. */
interface Pair {
  client: Socket;
  upstream: Socket | undefined;
  /** Forwards nothing any more, and keeps the server's side open when the client goes away. */
  dead: boolean;
  toServer: Lane;
  toClient: Lane;
}

/** Delivers chunks in order, each no earlier than `latency` ms after it arrived. */
interface Lane {
  queue: { due: number; chunk: Buffer }[];
  timer: NodeJS.Timeout | undefined;
}

export interface TcpProxy {
  /** The port the proxy listens on (kept across `refuse()`/`resume()`). */
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  /** Pairs currently open (black-holed ones included). */
  readonly openPairs: number;
  /**
   * Client sockets (the app's side) still open: a black-holed pair keeps its server side open
   * after the client went away, so this is the count of what the app has not closed.
   */
  readonly openClients: number;
  /** Forward everything (with no latency) from now on; black-holed pairs stay dead. */
  pass(): void;
  /**
   * Stop forwarding on every open pair, in both directions, keeping both sockets open, as a
   * network that silently drops packets would. `newConnections` says what happens to connections
   * made afterwards (default `blackhole`). Black-holed pairs never forward again, even after
   * `pass()`: the bytes dropped meanwhile cannot be replayed.
   */
  blackhole(options?: { newConnections?: NewConnections }): void;
  /** RST on both sides of every open pair (`resetAndDestroy()`); new connections still pass. */
  reset(): void;
  /** FIN on both sides of every open pair; new connections still pass. */
  close(): void;
  /** Delay every chunk, both ways, on every pair (current and new) by `ms`. `0` turns it off. */
  latency(ms: number): void;
  /** Stop listening: new connections are refused (ECONNREFUSED). Open pairs are untouched. */
  refuse(): Promise<void>;
  /** Listen again on the same port after `refuse()`. */
  resume(): Promise<void>;
  /** Destroy the black-holed pairs (both sides), e.g. to clean up after a test. */
  dropDead(): void;
  /** Stop listening and destroy every socket. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts an in-process TCP proxy on 127.0.0.1 (free port) in front of `target`, with the fault
 * modes of mysql2-pool-facts R5: pass, blackhole, reset (RST), close (FIN), latency, refuse.
 * It tracks every socket it owns; `stop()` closes them all.
 */
export async function startProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let newConnections: NewConnections = 'pass';
  let delay = 0;
  let stopped = false;

  const forward = (pair: Pair, lane: Lane, to: () => Socket | undefined, chunk: Buffer) => {
    if (pair.dead) return;
    if (delay === 0 && lane.queue.length === 0) {
      to()?.write(chunk);
      return;
    }
    lane.queue.push({ due: Date.now() + delay, chunk });
    pump(pair, lane, to);
  };
  const pump = (pair: Pair, lane: Lane, to: () => Socket | undefined) => {
    if (lane.timer || lane.queue.length === 0) return;
    lane.timer = setTimeout(
      () => {
        lane.timer = undefined;
        while (lane.queue.length > 0 && lane.queue[0].due <= Date.now()) {
          const { chunk } = lane.queue.shift()!;
          if (!pair.dead) to()?.write(chunk);
        }
        pump(pair, lane, to);
      },
      Math.max(0, lane.queue[0].due - Date.now()),
    );
  };
  const lane = (): Lane => ({ queue: [], timer: undefined });
  const clearLanes = (pair: Pair) => {
    for (const l of [pair.toServer, pair.toClient]) {
      clearTimeout(l.timer);
      l.timer = undefined;
      l.queue.length = 0;
    }
  };
  const destroyPair = (pair: Pair) => {
    clearLanes(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
    pairs.delete(pair);
  };

  const onConnection = (client: Socket) => {
    const pair: Pair = {
      client,
      upstream: undefined,
      dead: newConnections === 'blackhole',
      toServer: lane(),
      toClient: lane(),
    };
    pairs.add(pair);
    client.on('error', () => {});
    if (pair.dead) {
      // Held open and silent until the client gives up (or the proxy stops).
      client.on('close', () => destroyPair(pair));
      return;
    }
    const upstream = connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.on('error', () => {});
    client.on('data', (chunk: Buffer) => forward(pair, pair.toServer, () => pair.upstream, chunk));
    upstream.on('data', (chunk: Buffer) => forward(pair, pair.toClient, () => pair.client, chunk));
    // A FIN or RST from one side is passed on, unless the pair is dead: then the other side must
    // not learn anything (the server's end of a half-open connection stays open).
    client.on('close', () => {
      if (pair.dead) {
        if (pair.upstream?.destroyed !== false) pairs.delete(pair);
        return;
      }
      destroyPair(pair);
    });
    upstream.on('close', () => {
      if (pair.dead) return;
      destroyPair(pair);
    });
  };

  // refuse() closes the listening server; resume() listens again with a new one on the same port.
  let server: Server | undefined;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const next = createServer(onConnection);
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        next.off('error', reject);
        next.on('error', () => {});
        server = next;
        resolve((next.address() as AddressInfo).port);
      });
    });
  const unlisten = () => {
    const current = server;
    server = undefined;
    // close() stops accepting at once; its callback would wait for open pairs, which we keep.
    current?.close();
  };
  const port = await listen(0);

  return {
    port,
    via(url: string) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    get openPairs() {
      return pairs.size;
    },
    get openClients() {
      return [...pairs].filter((p) => !p.client.destroyed).length;
    },
    pass() {
      newConnections = 'pass';
      delay = 0;
    },
    blackhole(options = {}) {
      newConnections = options.newConnections ?? 'blackhole';
      for (const pair of pairs) {
        pair.dead = true;
        clearLanes(pair);
      }
    },
    reset() {
      for (const pair of pairs) {
        clearLanes(pair);
        pair.client.resetAndDestroy();
        pair.upstream?.resetAndDestroy();
        pairs.delete(pair);
      }
    },
    close() {
      for (const pair of pairs) {
        clearLanes(pair);
        pair.client.end();
        pair.upstream?.end();
        pairs.delete(pair);
        // Both ends have been told; do not wait for the peers' own FIN to free the sockets.
        setTimeout(() => {
          pair.client.destroy();
          pair.upstream?.destroy();
        }, 1000).unref();
      }
    },
    latency(ms: number) {
      delay = ms;
    },
    async refuse() {
      unlisten();
    },
    async resume() {
      if (server || stopped) return;
      await listen(port);
    },
    dropDead() {
      for (const pair of pairs) if (pair.dead) destroyPair(pair);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      unlisten();
      for (const pair of pairs) destroyPair(pair);
    },
  };
}
