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
// 3. The start-up snapshot of `lint` and `status`: src/cli/snapshot.ts and the program bundled into one CommonJS file,
//    dist/snapshot/read.cjs (Node builds snapshots from one script that requires only Node's own modules), from which
//    scripts/snapshot.mjs makes dist/snapshot/read.blob. The bin, dist/cli/deepplan, is a small shell launcher
//    (src/cli/deepplan.sh) that starts those two commands from the snapshot and every other from cli/main.js.
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

import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
 * fdir (inside tinyglobby) looks for picomatch at run time with a require() of its own; inside the bundle that loads a
 * second copy from node_modules, file by file, and in the snapshot a require() cannot be made at all. Hand it the
 * bundled picomatch instead, and drop its require().
 */
const fdirPicomatch = {
  name: 'fdir-picomatch',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]fdir[\\/]dist[\\/]index\.mjs$/ }, async ({ path }) => {
      const text = await readFile(path, 'utf8');
      const lookup = /__require\.resolve\("picomatch"\);\s*pm = __require\("picomatch"\);/;
      const importing = 'import { createRequire } from "module";';
      const making = /var __require = \/\* @__PURE__ \*\/ createRequire\(import\.meta\.url\);/;
      if (!lookup.test(text) || !text.includes(importing) || !making.test(text)) return undefined;
      const contents = text.replace(importing, 'import __bundledPicomatch from "picomatch";').replace(making, '').replace(lookup, 'pm = __bundledPicomatch;');
      return { contents, loader: 'js' };
    });
  },
};

/**
 * The snapshot's bundle holds what `lint` and `status` run and nothing else: the program imports each command's module
 * when the command runs, and the launcher sends no other command here, so the others become a module that says so.
 */
const onlyReadCommands = {
  name: 'only-read-commands',
  setup(builder) {
    builder.onResolve({ filter: /^\.\/[a-z-]+-command\.js$/ }, ({ path }) =>
      /^\.\/(lint|status)-command\.js$/.test(path) ? undefined : { path, namespace: 'not-in-snapshot' },
    );
    builder.onLoad({ filter: /.*/, namespace: 'not-in-snapshot' }, ({ path }) => ({
      contents: `throw new Error(${JSON.stringify(`${path.slice(2, -3)} is not in the start-up snapshot; run it with node dist/cli/main.js`)});`,
      loader: 'js',
    }));
  },
};

/**
 * Node's own modules that must not be loaded while the snapshot is built: a snapshot that holds node:crypto aborts the
 * process when a worker thread (lint of 80 plans and more) loads it again, and Node does not vouch for
 * node:child_process in snapshots. In the snapshot's bundle each becomes a stand-in whose functions load the real
 * module on first call, at run time. A function the sources import that is not listed here fails the build.
 */
const LAZY_BUILTINS = {
  crypto: ['createHash', 'randomBytes', 'randomUUID'],
  child_process: ['execFile', 'execFileSync', 'spawn', 'spawnSync'],
};
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(builder) {
    const filter = new RegExp(`^(node:)?(${Object.keys(LAZY_BUILTINS).join('|')})$`);
    builder.onResolve({ filter }, ({ path }) => ({ path: path.replace(/^node:/, ''), namespace: 'lazy-builtin' }));
    builder.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, ({ path }) => ({
      contents: [
        `const real = () => process.getBuiltinModule('node:${path}');`,
        ...LAZY_BUILTINS[path].map((name) => `export function ${name}(...args) { return real().${name}(...args); }`),
        `export default { ${LAZY_BUILTINS[path].join(', ')} };`,
      ].join('\n'),
      loader: 'js',
    }));
  },
};

/**
 * Packages that build large tables lint and status rarely read: in the snapshot's bundle each is a stand-in that loads
 * the real module (bundled, run on first use) at run time, so the heap every start restores does not hold the tables.
 * - decode-named-character-reference holds the 2,125 HTML entity names (a 0.1 MB dictionary and 4,000 strings); a
 *   plan reads it only where its Markdown has a reference such as `&amp;`.
 * - linkify-it: markdown-it makes one in its constructor, which composes its link patterns from Unicode classes
 *   (0.63 MB of pattern text in the heap); the plans' parsers never turn linkify on, so nothing asks it anything.
 * - fastest-levenshtein allocates a 256 kB table as it loads; only a misspelt configuration key asks it (config.ts).
 * - entities: markdown-it decodes a reference such as `&amp;` in a fence's info or a link's destination with it; its
 *   module builds the HTML encoding map (2,100 entries) and the decoding tree as it loads.
 */
/** A stand-in whose functions `names` call the package's own, loaded on the first call. */
const lazyFunctions = (names) => (path) =>
  ['let real;', ...names.map((name) => `export function ${name}(...args) { real ??= require(${JSON.stringify(path)}); return real.${name}(...args); }`)].join(
    '\n',
  );
const LAZY_PACKAGES = {
  'decode-named-character-reference': lazyFunctions(['decodeNamedCharacterReference']),
  'fastest-levenshtein': lazyFunctions(['closest', 'distance']),
  entities: lazyFunctions(['decodeHTML', 'decodeHTMLStrict']),
  // An object that makes the real instance on its first use, for a class the code only ever constructs.
  'linkify-it': (path) =>
    [
      'let Real;',
      'export default function LinkifyIt(...args) {',
      '  let real;',
      `  const instance = () => (real ??= new (Real ??= require(${JSON.stringify(path)}))(...args));`,
      '  return new Proxy({}, {',
      "    get: (_, key) => { const value = instance()[key]; return typeof value === 'function' ? value.bind(instance()) : value; },",
      '    set: (_, key, value) => { instance()[key] = value; return true; },',
      '    has: (_, key) => key in instance(),',
      '  });',
      '}',
    ].join('\n'),
};
const lazyPackages = {
  name: 'lazy-packages',
  setup(builder) {
    const filter = new RegExp(`^(${Object.keys(LAZY_PACKAGES).join('|')})$`);
    // The stand-in's own require() of the package resolves as usual.
    builder.onResolve({ filter }, ({ path, namespace }) => (namespace === 'lazy-package' ? undefined : { path, namespace: 'lazy-package' }));
    builder.onLoad({ filter: /.*/, namespace: 'lazy-package' }, ({ path }) => ({ contents: LAZY_PACKAGES[path](path), loader: 'js', resolveDir: PROJECT }));
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

mkdirSync(join(DIST, 'snapshot'), { recursive: true });
await built(
  build({
    ...common,
    entryPoints: [join(SRC, 'cli', 'snapshot.ts')],
    outfile: join(DIST, 'snapshot', 'read.cjs'),
    format: 'cjs',
    bundle: true,
    minifyWhitespace: true,
    // ASCII (non-ASCII characters of strings written as \u escapes): V8 keeps a source with one character above 0xFF as
    // two bytes a character, so a UTF-8 bundle doubled the 0.75 MB of source every start restores from the snapshot.
    // esbuild cannot escape inside a regular expression literal: those characters are escaped below.
    charset: 'ascii',
    external: EXTERNAL,
    plugins: [onlyReadCommands, fdirPicomatch, lazyBuiltins, lazyPackages],
    // The bundle sits one folder below dist/ like every other file, so the package's files are found from it alike.
    define: { 'import.meta.url': '__deepplanModuleUrl' },
    banner: { js: "var __deepplanModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  }),
);
// The characters esbuild leaves above ASCII are in regular expression literals (markdown-it's /ẞ/ and /…/): a \u escape
// means the same there (a character outside the BMP becomes its two halves, as a pattern without the u flag reads it).
const snapshotCode = readFileSync(join(DIST, 'snapshot', 'read.cjs'), 'utf8').replace(
  /[^\x00-\x7f]/g,
  (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
);
writeFileSync(join(DIST, 'snapshot', 'read.cjs'), snapshotCode);
// Code restored from a snapshot cannot import(): esbuild keeps import() of Node's own modules, so none may be left.
const imported = /[^\w$.]import\(\s*["'`]([^"'`]+)/.exec(snapshotCode);
if (imported) {
  process.stderr.write(
    `build: the snapshot's code imports ${imported[1]} with import(), which fails once restored from a snapshot; use process.getBuiltinModule()\n`,
  );
  process.exit(1);
}
copyFileSync(join(SRC, 'cli', 'deepplan.sh'), join(DIST, 'cli', 'deepplan'));
chmodSync(join(DIST, 'cli', 'deepplan'), 0o755);
// Its own process: it exits, and it picks the Node to build the snapshot with.
const snapshot = spawnSync(process.execPath, [join(PROJECT, 'scripts', 'snapshot.mjs'), '--dist', options.out, '--quiet'], { stdio: 'inherit' });
if (snapshot.status !== 0) process.stderr.write('build: the start-up snapshot was not made (see above)\n');
if (options.analyze) process.stdout.write(await analyzeMetafile(result.metafile));
if (process.env.npm_config_loglevel !== 'silent') {
  const chunks = Object.keys(result.metafile.outputs).filter((path) => path.endsWith('.js')).length;
  process.stderr.write(`build: ${options.out}/ in ${Math.round(performance.now() - started)} ms (${all.length} modules, ${chunks} bundled files)\n`);
}
