#!/usr/bin/env node
// `npm run build`: builds dist/ with esbuild in two layers (docs/performance.md, "Start-up").
//
// 1. The module tree: every file of src/ compiled on its own to dist/<same path>.js, as tsc would emit it. Scripts
//    and tests import single modules from it (dist/plan/store.js, dist/lint/pool.js, ...).
// 2. The CLI: one bundled ESM file per entry point, written over the tree's copy of the same path, sharing code
//    through chunks in dist/chunks/. The entries are what Node starts as a file of its own (the lint worker thread),
//    what the launcher cli/main.js loads (cli/program.js) and what the program loads with import() (each command),
//    so `deepplan lint` loads the launcher, the program, the lint command and the chunks it needs, nothing else.
//    The launcher itself (the bin) is the tree's cli/main.js: it imports nothing but the program, and an old Node
//    must be able to parse it to print its one line or hand over to the project's Node.
//
// Every output file sits one folder below dist/, like the sources one folder below src/: a module that finds a file
// of the package with new URL('../../<file>', import.meta.url) finds it from a chunk too.
//
// Packages are bundled (one parsed file instead of hundreds of resolved ones starts faster), except those that only
// commands with a terminal screen or a model load: Ink and React, the model SDKs and the durable runner stay external,
// imported from node_modules when (and only when) such a command runs. dist/build-meta.json is esbuild's metafile:
// which sources went into which chunk (test/main-start.test.ts reads it).
//
// Options: --analyze (print each bundled file's size by source and package); --out DIR (a folder of the project's
// top level instead of dist/, e.g. to compare two builds; files are found from it as from dist/).

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { analyzeMetafile, build } from 'esbuild';

const PROJECT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(PROJECT, 'src');
const { values: options } = parseArgs({ options: { analyze: { type: 'boolean', default: false }, out: { type: 'string', default: 'dist' } } });
if (!/^[\w.-]+$/.test(options.out)) {
  process.stderr.write("build: --out must name a folder of the project's top level (its files find the package from one level below it)\n");
  process.exit(2);
}
const DIST = join(PROJECT, options.out);
const TARGET = 'node22';

/** Loaded only by commands that draw screens or call models; their tests find them by their node_modules path. */
const EXTERNAL = ['ink', 'ink-*', 'react', 'react/*', 'react-devtools-core', '@anthropic-ai/sdk', 'openai', 'openai/*', '@google/genai', '@dbos-inc/*'];

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The bundle's entries: the worker thread, the program and each command it imports. */
function entryPoints(all) {
  const name = (path) => relative(SRC, path).replace(/\.tsx?$/, '');
  const entries = all.filter((path) => /^(cli\/(program|[a-z-]+-command)|lint\/worker)$/.test(name(path)));
  return Object.fromEntries(entries.map((path) => [name(path), path]));
}

/**
 * fdir (inside tinyglobby) looks for picomatch at run time with require(); inside the bundle that loads a second copy
 * from node_modules, file by file. Hand it the bundled one instead.
 */
const fdirPicomatch = {
  name: 'fdir-picomatch',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]fdir[\\/]dist[\\/]index\.mjs$/ }, async ({ path }) => {
      const text = await readFile(path, 'utf8');
      const lookup = /__require\.resolve\("picomatch"\);\s*pm = __require\("picomatch"\);/;
      if (!lookup.test(text)) return undefined;
      return { contents: `import __bundledPicomatch from "picomatch";\n${text.replace(lookup, 'pm = __bundledPicomatch;')}`, loader: 'js' };
    });
  },
};

const started = performance.now();
mkdirSync(DIST, { recursive: true });
const all = sources(SRC);
const common = {
  absWorkingDir: PROJECT,
  platform: 'node',
  format: 'esm',
  target: TARGET,
  jsx: 'automatic',
  sourcemap: 'linked',
  logLevel: 'warning',
  charset: 'utf8',
};

/** esbuild has printed the errors already (logLevel): end with one line, not a stack. */
function built(promise) {
  return promise.catch(() => {
    process.stderr.write('build: esbuild failed (errors above)\n');
    process.exit(1);
  });
}

await built(build({ ...common, entryPoints: all, outdir: DIST, outbase: SRC, bundle: false }));

const result = await built(
  build({
    ...common,
    entryPoints: entryPoints(all),
    outdir: DIST,
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    external: EXTERNAL,
    metafile: true,
    plugins: [fdirPicomatch],
    // CommonJS packages inside the bundle call require() for Node's own modules; write-file-atomic reads __filename.
    banner: {
      js: [
        "import { createRequire as __deepplanRequire } from 'node:module';",
        "import { fileURLToPath as __deepplanPath } from 'node:url';",
        'const require = __deepplanRequire(import.meta.url);',
        'const __filename = __deepplanPath(import.meta.url);',
        "const __dirname = __deepplanPath(new URL('.', import.meta.url));",
      ].join(' '),
    },
  }),
);
writeFileSync(join(DIST, 'build-meta.json'), JSON.stringify(result.metafile));
// Chunks of earlier builds go once nothing refers to them; dist/ itself is not emptied first, so a CLI another
// process is running from keeps its files while this build writes.
const written = new Set(Object.keys(result.metafile.outputs).map((path) => join(PROJECT, path)));
for (const name of readdirSync(join(DIST, 'chunks'))) if (!written.has(join(DIST, 'chunks', name))) rmSync(join(DIST, 'chunks', name), { force: true });
if (options.analyze) process.stdout.write(await analyzeMetafile(result.metafile));
if (process.env.npm_config_loglevel !== 'silent') {
  const chunks = Object.keys(result.metafile.outputs).filter((path) => path.endsWith('.js')).length;
  process.stderr.write(`build: ${options.out}/ in ${Math.round(performance.now() - started)} ms (${all.length} modules, ${chunks} bundled files)\n`);
}
