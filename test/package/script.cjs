// What every script of `npm run test:package` shares: a plain HTTP client and the way a script
// reports (one line, `<label>: ok (...)` or `<label>: FAILED: ...` with a non-zero exit, and a
// watchdog so that a hang fails instead of stalling CI).
'use strict';

const { request } = require('node:http');

/**
 * GET `url`, or POST `body` as JSON; no keep-alive, so no socket outlives the script's apps.
 * Resolves to `{ status, body }`, the body as text.
 */
function http(url, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent: false,
        method: body ? 'POST' : 'GET',
        headers: body ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

/**
 * Runs `main` and prints `<label>: ok (<what main resolved to>)`; on a rejection, when no result
 * came within `seconds`, or when the process ends before main settled, prints why and exits with 1.
 */
function runScript(label, seconds, main) {
  let settled = false;
  // Failed unless main resolves: a main that never settles and leaves nothing pending would
  // otherwise end the process with 0.
  process.exitCode = 1;
  process.on('exit', () => {
    if (!settled) console.error(`${label}: FAILED: ended without a result`);
  });
  setTimeout(() => {
    console.error(`${label}: FAILED: no result within ${seconds} s`);
    process.exit(1);
  }, seconds * 1000).unref();
  main().then(
    (result) => {
      settled = true;
      process.exitCode = 0;
      console.log(`${label}: ok (${result})`);
    },
    (err) => {
      settled = true;
      console.error(`${label}: FAILED: ${err?.stack ?? err}`);
      process.exit(1);
    },
  );
}

module.exports = { http, runScript };
