import { Agent, request as httpRequest } from 'node:http';

/** How a bounded request ended. */
export type Outcome =
  /** The server answered. */
  | { kind: 'reply'; status: number; body: unknown; ms: number }
  /** No answer within the bound: the request was given up (a hang). */
  | { kind: 'timeout'; ms: number }
  /** We cut the request on purpose (`abortAfterMs`). */
  | { kind: 'aborted'; ms: number }
  /** The connection failed without an answer. */
  | { kind: 'error'; code: string; ms: number };

export interface BoundedRequest {
  method?: string;
  /** Give up (and record a `timeout`) after this long. */
  timeoutMs: number;
  /** Destroy the request after this long: a client abort. */
  abortAfterMs?: number;
  /** Reuse sockets through this agent (for load); default a fresh socket per request. */
  agent?: Agent;
}

/**
 * An HTTP request that always settles, within `timeoutMs`, and never rejects: fault tests must
 * see a hang as a result, not as a test stuck until Jest's own timeout.
 */
export function send(base: string, path: string, options: BoundedRequest): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      clearTimeout(abort);
      resolve(outcome);
    };
    const req = httpRequest(
      `${base}${path}`,
      { method: options.method ?? 'GET', agent: options.agent ?? false },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (data += chunk));
        res.on('end', () => {
          let body: unknown = data;
          try {
            body = JSON.parse(data);
          } catch {
            /* not JSON */
          }
          settle({ kind: 'reply', status: res.statusCode ?? 0, body, ms: Date.now() - started });
        });
        res.on('error', () => undefined);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      settle({ kind: 'error', code: err.code ?? err.message, ms: Date.now() - started }),
    );
    const timeout = setTimeout(() => {
      settle({ kind: 'timeout', ms: Date.now() - started });
      req.destroy();
    }, options.timeoutMs);
    const abort =
      options.abortAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            settle({ kind: 'aborted', ms: Date.now() - started });
            req.destroy();
          }, options.abortAfterMs);
    req.end();
  });
}

/** `send()` that expects an answer: resolves to it, or rejects naming what happened instead. */
export async function reply(
  base: string,
  path: string,
  options: BoundedRequest,
): Promise<{ status: number; body: unknown; ms: number }> {
  const outcome = await send(base, path, options);
  if (outcome.kind !== 'reply') {
    throw new Error(`${options.method ?? 'GET'} ${path}: no reply (${JSON.stringify(outcome)})`);
  }
  return outcome;
}
