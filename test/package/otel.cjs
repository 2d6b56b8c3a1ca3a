// Checks that the official OpenTelemetry mysql2 instrumentation still traces the statements this
// package sends, with the built CommonJS twin loaded by require() (see otel.shared.cjs): the
// usual set-up of a CommonJS Nest app with tracing. Run by `npm run test:package` after the build.
// Prints one line and exits non-zero on failure.
'use strict';

// oxlint-disable-next-line import/no-unassigned-import
require('reflect-metadata');
const { join, relative } = require('node:path');
const { runOtelProbe, startTracing } = require('./otel.shared.cjs');
const { runScript } = require('./script.cjs');

const ROOT = join(__dirname, '..', '..');
const tracing = startTracing();

async function main() {
  let db;
  try {
    // Only now load Nest and the package (and, through it, mysql2).
    const m = {
      common: require('@nestjs/common'),
      core: require('@nestjs/core'),
      lib: require('nestjs-mysql-connection'),
    };
    const entry = relative(ROOT, require.resolve('nestjs-mysql-connection'));
    if (entry !== join('dist', 'cjs', 'index.js')) throw new Error(`require resolved to ${entry}`);
    const { findDatabase } = await import('../../scripts/database.mjs');
    db = await findDatabase();
    const ran = await runOtelProbe(m, tracing, db.url);
    return `require -> ${entry}: ${ran}`;
  } finally {
    await tracing.provider.shutdown();
    await db?.stop();
  }
}

runScript('otel mysql2 cjs', 60, main);
