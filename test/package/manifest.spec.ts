// Guards the package as npm would publish it: the manifest, the exports map, what each export
// path resolves to after a real build, and the imports of lib/ against the declared dependencies.
//
// The build runs in a private staging copy (lib, manifest, tsconfigs, build script; node_modules
// linked), never in ./dist: scripts/build.mjs starts with `rm -rf dist`, so building in place
// would race `npm run test:package` or a sample run on the same checkout, and a clean clone has
// no dist at all.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NAME = 'nestjs-mysql-connection';

interface Conditions {
  types?: string;
  default?: string;
  [condition: string]: unknown;
}

interface Manifest {
  name: string;
  type?: string;
  main?: string;
  types?: string;
  files?: string[];
  exports: Record<string, string | Record<string, Conditions>>;
  typesVersions?: Record<string, Record<string, string[]>>;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
const rootExport = manifest.exports['.'] as Record<string, Conditions>;
const healthExport = manifest.exports['./health'] as Record<string, Conditions>;

/** Optional peers: loaded only by the entry point named here, never by the main one. */
const OPTIONAL_PEERS: Record<string, { entry: string; subpath: string }> = {
  '@nestjs/terminus': { entry: 'lib/health.ts', subpath: './health' },
};

/** `./dist/esm/index.js` → `dist/esm/index.js`, the form `npm pack` lists. */
const packPath = (p: string) => p.replace(/^\.\//, '');

function libFiles(dir = join(ROOT, 'lib')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = join(dir, entry.name);
    if (entry.isDirectory()) return libFiles(file);
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}

/** Every module specifier of lib/ (static, dynamic, `export … from`, `require`), per file. */
function libImports(): { file: string; specifier: string }[] {
  return libFiles().flatMap((file) =>
    ts
      .preProcessFile(readFileSync(file, 'utf8'), true, true)
      .importedFiles.map(({ fileName }) => ({ file: relative(ROOT, file), specifier: fileName })),
  );
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** `Symbol(…)` calls in the code of lib/ (comments and strings do not count; `Symbol.for` is fine). */
function symbolCalls(): string[] {
  const found: string[] = [];
  for (const file of libFiles()) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isIdentifier(node.expression) &&
        node.expression.text === 'Symbol'
      ) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
        found.push(`${relative(ROOT, file)}:${line + 1}: ${node.getText(source)}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

describe('package.json', () => {
  it('is ESM-canonical and publishes only dist', () => {
    expect(manifest.name).toBe(NAME);
    expect(manifest.type).toBe('module');
    expect(manifest.files).toEqual(['dist']);
  });

  it('routes import to the ESM build and require to the CommonJS twin, types first', () => {
    expect(Object.keys(manifest.exports).toSorted()).toEqual(['.', './health', './package.json']);
    expect(manifest.exports['./package.json']).toBe('./package.json');
    for (const entry of [rootExport, healthExport]) {
      // No `module-sync`: Jest resolves it too and would hand a Jest-CJS user on Node < 24.9 the
      // ESM build, which it cannot require.
      expect(Object.keys(entry)).toEqual(['import', 'require']);
      for (const condition of ['import', 'require'] as const) {
        // TypeScript takes the first matching condition, so `types` must precede `default`.
        expect(Object.keys(entry[condition])).toEqual(['types', 'default']);
      }
      expect(entry.import.default).toMatch(/^\.\/dist\/esm\/.+\.js$/);
      expect(entry.import.types).toMatch(/^\.\/dist\/esm\/.+\.d\.ts$/);
      expect(entry.require.default).toMatch(/^\.\/dist\/cjs\/.+\.js$/);
      expect(entry.require.types).toMatch(/^\.\/dist\/cjs\/.+\.d\.ts$/);
    }
    // TypeScript with `moduleResolution: node` (a Nest 11 CommonJS app's default) ignores
    // "exports": typesVersions lets it find the subpath's types.
    expect(manifest.typesVersions).toEqual({ '*': { health: [healthExport.require.types] } });
  });

  it('declares @nestjs/terminus as an optional peer (only the ./health entry loads it)', () => {
    for (const peer of Object.keys(OPTIONAL_PEERS)) {
      expect(manifest.peerDependencies?.[peer]).toBe('^11.0.0 || ^12.0.0');
      expect(manifest.peerDependenciesMeta?.[peer]).toEqual({ optional: true });
    }
    expect(Object.keys(manifest.peerDependenciesMeta ?? {})).toEqual(Object.keys(OPTIONAL_PEERS));
  });

  it('accepts Nest 11 and 12 as peers, next to rxjs 7 and reflect-metadata', () => {
    const peers = manifest.peerDependencies ?? {};
    expect(peers['@nestjs/common']).toBe('^11.0.0 || ^12.0.0');
    expect(peers['@nestjs/core']).toBe('^11.0.0 || ^12.0.0');
    expect(peers.rxjs).toMatch(/^\^7\.\d+\.\d+$/);
    expect(peers['reflect-metadata']).toMatch(/\^0\.2\.\d+/);
  });

  it('depends on mysql2 ^3.22 or later within 3.x, and never on Nest itself', () => {
    const deps = manifest.dependencies ?? {};
    const [, minor] = /^\^3\.(\d+)\.\d+$/.exec(deps.mysql2 ?? '') ?? [];
    expect({ mysql2: deps.mysql2, minorAtLeast22: Number(minor) >= 22 }).toEqual({
      mysql2: expect.stringMatching(/^\^3\./),
      minorAtLeast22: true,
    });
    // A second copy of @nestjs/* in the user's tree breaks DI: Nest is a peer only.
    expect(Object.keys(deps).filter((d) => d.startsWith('@nestjs/'))).toEqual([]);
  });

  it('requires a Node with unflagged require(esm)', () => {
    expect(manifest.engines?.node).toBe('^20.19.0 || ^22.12.0 || >=24.0.0');
  });
});

describe('lib/ sources', () => {
  const imports = libImports();

  it('import only declared packages and node: builtins', () => {
    const declared = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ]);
    const undeclared = imports
      .filter(({ specifier }) => !specifier.startsWith('.'))
      .filter(({ specifier }) => !(specifier.startsWith('node:') && isBuiltin(specifier)))
      .filter(({ specifier }) => !declared.has(packageOf(specifier)))
      .map(({ file, specifier }) => `${file}: '${specifier}'`);
    expect(imports.length).toBeGreaterThan(0);
    expect(undeclared).toEqual([]);
  });

  /** The lib/ files an entry point loads, following relative imports (`./x.js` → `x.ts`). */
  function reachable(entry: string): Set<string> {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const { file: from, specifier } of imports) {
        if (from !== file || !specifier.startsWith('.')) continue;
        visit(join(dirname(from), specifier).replace(/\.js$/, '.ts'));
      }
    };
    visit(entry);
    return seen;
  }

  it('keep optional peers out of the main entry point, and load each from its own', () => {
    const fromMain = reachable('lib/index.ts');
    const leaked = imports
      .filter(({ file, specifier }) => fromMain.has(file) && packageOf(specifier) in OPTIONAL_PEERS)
      .map(({ file, specifier }) => `${file}: '${specifier}'`);
    expect(fromMain.size).toBeGreaterThan(10);
    expect(leaked).toEqual([]);
    for (const [peer, { entry }] of Object.entries(OPTIONAL_PEERS)) {
      const fromEntry = reachable(entry);
      expect(imports.some((i) => fromEntry.has(i.file) && packageOf(i.specifier) === peer)).toBe(
        true,
      );
    }
  });

  it('never import a @nestjs/* subpath (Nest 12 exports do not resolve them)', () => {
    const deep = imports
      .filter(({ specifier }) => /^@nestjs\/[^/]+\//.test(specifier))
      .map(({ file, specifier }) => `${file}: '${specifier}'`);
    expect(deep).toEqual([]);
  });

  it('create no Symbol() tokens (they differ between the ESM and the CommonJS copy)', () => {
    expect(symbolCalls()).toEqual([]);
  });
});

describe('the built package', () => {
  let staging: string;
  let pkgDir: string;
  let consumer: string;
  let published: Set<string>;

  /** Runs a script in a consumer project that has the package in its node_modules. */
  async function inConsumer(args: string[]): Promise<unknown> {
    const { stdout } = await run(process.execPath, args, { cwd: consumer });
    return JSON.parse(stdout) as unknown;
  }

  beforeAll(async () => {
    staging = realpathSync(mkdtempSync(join(tmpdir(), 'nmc-manifest-')));
    pkgDir = join(staging, NAME);
    mkdirSync(pkgDir);
    for (const entry of readdirSync(ROOT)) {
      if (entry === 'package.json' || /^tsconfig.*\.json$/.test(entry)) {
        cpSync(join(ROOT, entry), join(pkgDir, entry));
      }
    }
    cpSync(join(ROOT, 'lib'), join(pkgDir, 'lib'), { recursive: true });
    cpSync(join(ROOT, 'scripts'), join(pkgDir, 'scripts'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(pkgDir, 'node_modules'), 'dir');
    try {
      await run(process.execPath, [join(pkgDir, 'scripts', 'build.mjs')], { cwd: pkgDir });
    } catch (err) {
      const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
      throw new Error(`npm run build failed:\n${stdout}${stderr}`, { cause: err });
    }
    // What `npm publish` would ship, so an export path outside "files" fails too.
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: pkgDir,
    });
    const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[];
    published = new Set(pack.files.map((f) => f.path.split(sep).join('/')));
    consumer = join(staging, 'consumer');
    mkdirSync(join(consumer, 'node_modules'), { recursive: true });
    symlinkSync(pkgDir, join(consumer, 'node_modules', NAME), 'dir');
  }, 180_000);

  afterAll(() => {
    if (staging) rmSync(staging, { recursive: true, force: true });
  });

  it('publishes every path the manifest points to', () => {
    const targets = [rootExport, healthExport]
      .flatMap((e) => [e.import.types, e.import.default, e.require.types, e.require.default])
      .concat([manifest.main, manifest.types])
      .filter((p): p is string => typeof p === 'string');
    expect(targets.filter((p) => !published.has(packPath(p)))).toEqual([]);
    expect(published.has('dist/cjs/package.json')).toBe(true);
  });

  it('marks the CommonJS twin as CommonJS', () => {
    const marker = JSON.parse(readFileSync(join(pkgDir, 'dist', 'cjs', 'package.json'), 'utf8'));
    expect(marker).toEqual({ type: 'commonjs' });
  });

  it('require() resolves to the CommonJS entry and loads it without require(esm)', async () => {
    const out = (await inConsumer([
      '-e',
      `const m = require(${JSON.stringify(NAME)});
       const resolved = require.resolve(${JSON.stringify(NAME)});
       console.log(JSON.stringify({
         resolved,
         esmLoaded: Object.keys(require.cache).some((f) => f.includes('/dist/esm/')),
         exports: Object.keys(m).sort(),
       }));`,
    ])) as { resolved: string; esmLoaded: boolean; exports: string[] };
    expect(out.resolved).toBe(join(pkgDir, packPath(rootExport.require.default!)));
    expect(out.esmLoaded).toBe(false);
    expect(out.exports).toEqual(expect.arrayContaining(['Connection', 'DbModule', 'DbPool']));
  });

  it('loads @nestjs/terminus only through ./health, from both entry points', async () => {
    const out = (await inConsumer([
      '-e',
      `const loaded = () => Object.keys(require.cache).some((f) => f.includes('/@nestjs/terminus/'));
       require(${JSON.stringify(NAME)});
       const afterMain = loaded();
       const health = require(${JSON.stringify(`${NAME}/health`)});
       console.log(JSON.stringify({
         afterMain,
         resolved: require.resolve(${JSON.stringify(`${NAME}/health`)}),
         exports: Object.keys(health).sort(),
       }));`,
    ])) as { afterMain: boolean; resolved: string; exports: string[] };
    expect(out.afterMain).toBe(false);
    expect(out.resolved).toBe(join(pkgDir, packPath(healthExport.require.default!)));
    expect(out.exports).toEqual(['DB_HEALTH_DEFAULTS', 'DbHealthIndicator']);
    const esm = (await inConsumer([
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(`${NAME}/health`)});
       console.log(JSON.stringify({
         resolved: import.meta.resolve(${JSON.stringify(`${NAME}/health`)}),
         exports: Object.keys(m).sort(),
       }));`,
    ])) as { resolved: string; exports: string[] };
    expect(esm.resolved).toBe(
      pathToFileURL(join(pkgDir, packPath(healthExport.import.default!))).href,
    );
    expect(esm.exports).toEqual(['DB_HEALTH_DEFAULTS', 'DbHealthIndicator']);
  });

  it('import() resolves to the ESM entry, with the same exports as the twin', async () => {
    const out = (await inConsumer([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       const m = await import(${JSON.stringify(NAME)});
       const cjs = createRequire(import.meta.url)(${JSON.stringify(NAME)});
       console.log(JSON.stringify({
         resolved: import.meta.resolve(${JSON.stringify(NAME)}),
         exports: Object.keys(m).filter((k) => k !== 'default').sort(),
         cjsExports: Object.keys(cjs).sort(),
       }));`,
    ])) as { resolved: string; exports: string[]; cjsExports: string[] };
    expect(out.resolved).toBe(
      pathToFileURL(join(pkgDir, packPath(rootExport.import.default!))).href,
    );
    expect(out.exports).toEqual(expect.arrayContaining(['Connection', 'DbModule', 'DbPool']));
    expect(out.exports).toEqual(out.cjsExports);
  });
});
