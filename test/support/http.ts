import type { INestApplication } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Starts the app on a free port; returns its base URL. */
export async function listen(app: INestApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

export interface Reply {
  status: number;
  body: unknown;
  ms: number;
}

/** A plain HTTP request (no agent pooling), resolving to status, parsed body and duration. */
export function get(base: string, path: string, method = 'GET', body?: unknown): Promise<Reply> {
  const started = Date.now();
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = payload
    ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
    : undefined;
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, agent: false, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => {
        let parsed: unknown = data;
        try {
          parsed = JSON.parse(data);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, ms: Date.now() - started });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** POST with a JSON body. */
export function post(base: string, path: string, body: unknown): Promise<Reply> {
  return get(base, path, 'POST', body);
}

/** Sends a request and destroys the socket after `afterMs`: a client abort. */
export function abort(base: string, path: string, afterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest(`${base}${path}`, { agent: false });
    req.on('error', () => resolve());
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.end();
    setTimeout(() => {
      req.destroy();
      resolve();
    }, afterMs);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns true or `withinMs` passes; returns the last result. */
export async function eventually(
  probe: () => boolean | Promise<boolean>,
  withinMs = 5000,
): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
}
