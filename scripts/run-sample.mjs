// Runs the sample app (sample/) against whatever database scripts/database.mjs finds, after
// `npm run build` has built the library it imports by package name (see `npm run start:sample`).
// Stops a private server it had to start however the app ends.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findDatabase, redact } from './database.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (message) => process.stderr.write(`[sample] ${message}\n`);

// A Ctrl-C in a terminal reaches npm, this script and the app at once, and npm forwards it again:
// signals closer together than this are one keypress. A later one means "stop now".
const SAME_KEYPRESS_MS = 1000;

let child;
let db;
let firstSignalAt = 0;
let interrupted;

function onSignal(signal) {
  const now = Date.now();
  if (!interrupted) {
    interrupted = signal;
    firstSignalAt = now;
    // The app drains its pool and exits by itself (enableShutdownHooks).
    child?.kill(signal);
    return;
  }
  if (child && now - firstSignalAt > SAME_KEYPRESS_MS) {
    log('second interrupt: killing the app');
    child.kill('SIGKILL');
  }
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

/** Resolves to the exit code of a child process (128 + n when killed by signal n). */
function exitOf(proc) {
  return new Promise((resolve) => {
    proc.once('error', (err) => {
      log(`could not run ${proc.spawnfile}: ${err.message}`);
      resolve(1);
    });
    proc.once('exit', (code, signal) => resolve(code ?? 128 + (constants.signals[signal] ?? 0)));
  });
}

async function finish(code) {
  await db
    ?.stop()
    .catch((err) => log(`could not stop the private database server: ${err.message}`));
  process.exit(code);
}

try {
  db = await findDatabase({ log });
} catch (err) {
  log(`cannot run the sample app:\n${err.message}`);
  process.exit(1);
}
if (interrupted) await finish(0);

// The sample's own tsconfig resolves 'nestjs-mysql-connection' through package.json "exports"
// to dist/, exactly as an application depending on the package would.
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const compiled = await exitOf(
  spawn(process.execPath, [tsc, '-p', 'sample/tsconfig.json'], { cwd: root, stdio: 'inherit' }),
);
if (interrupted) await finish(0);
if (compiled !== 0) {
  log('the sample app does not compile (errors above)');
  await finish(1);
}

log(`starting the sample app against ${redact(db.url)} (${db.source})`);
child = spawn(process.execPath, ['--enable-source-maps', join(root, 'dist-sample', 'main.js')], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, MYSQL_URL: db.url },
});
await finish(await exitOf(child));
