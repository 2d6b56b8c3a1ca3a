// Checks that the official OpenTelemetry mysql2 instrumentation still traces the statements this
// package sends, with the built package loaded as ESM (see otel.shared.cjs).
//
// A plain Node script, not a Jest spec: the instrumentation patches mysql2 through
// require-in-the-middle when mysql2's files are require()d, and Jest's module loader (its own
// `require`, ESM mode included) bypasses that hook. Run by `npm run test:package` after the build.
// Prints one line and exits non-zero on failure.
// oxlint-disable-next-line import/no-unassigned-import
import 'reflect-metadata';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findDatabase } from '../../scripts/database.mjs';
import shared from './otel.shared.cjs';
import script from './script.cjs';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const tracing = shared.startTracing();

async function main() {
  let db;
  try {
    // Only now load Nest and the package (and, through it, mysql2), as an instrumented app's
    // main.ts does after its tracing set-up.
    const common = await import('@nestjs/common');
    const core = await import('@nestjs/core');
    const lib = await import('nestjs-mysql-connection');
    const entry = relative(ROOT, fileURLToPath(import.meta.resolve('nestjs-mysql-connection')));
    if (entry !== join('dist', 'esm', 'index.js')) throw new Error(`import resolved to ${entry}`);
    db = await findDatabase();
    const ran = await shared.runOtelProbe({ common, core, lib }, tracing, db.url);
    return `import -> ${entry}: ${ran}`;
  } finally {
    await tracing.provider.shutdown();
    await db?.stop();
  }
}

script.runScript('otel mysql2 esm', 60, main);
