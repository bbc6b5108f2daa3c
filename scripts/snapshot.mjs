#!/usr/bin/env node
// Builds the start-up snapshot of `lint` and `status` (docs/performance.md, "Start-up"): dist/snapshot/read.blob,
// from dist/snapshot/read.cjs (scripts/build.mjs bundles src/cli/snapshot.ts there). Run by the build, and after an
// install of the package (its postinstall), where dist/ comes built but without a snapshot, since one serves only the
// Node binary that made it.
//
// Writes, in dist/snapshot/:
//   node        a hard link to the Node that builds the snapshot (the launcher starts the snapshot with it; a link,
//               not the path, so that replacing that Node later cannot leave a snapshot no Node can load);
//   read.blob   the snapshot;
//   read.node   the dist/ folder it was built for: the launcher uses the snapshot from there only.
// The Node is this one when it is 22 or newer, else the `node` package's beside deepplan. Without one, or where a hard
// link cannot be made (another file system, a Node owned by another user), it says why in one line and leaves no
// snapshot: the launcher then runs dist/cli/main.js as before. It never fails an install or a build.
//
// Options: --dist DIR (default: dist of this package); --quiet (only failures are said).

import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const PROJECT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: options } = parseArgs({ options: { dist: { type: 'string', default: 'dist' }, quiet: { type: 'boolean', default: false } } });
const DIST = realpathOrSelf(resolve(PROJECT, options.dist));
const SNAPSHOT = join(DIST, 'snapshot');
const ENTRY = join(SNAPSHOT, 'read.cjs');
/** The plans the warm-up lints and reads: the repository's own examples, else the shipped templates' tests. */
const SAMPLES = ['plans/modop-outreach.md', 'plans/nightly-backup.md', 'templates/init/example-plan.md'].map((path) => join(PROJECT, path));

function realpathOrSelf(path) {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function sameFile(a, b) {
  try {
    const [first, second] = [statSync(a), statSync(b)];
    return first.ino === second.ino && first.dev === second.dev;
  } catch {
    return false;
  }
}

function say(line) {
  if (!options.quiet) process.stderr.write(`snapshot: ${line}\n`);
}

/**
 * Removes the snapshot and what a build left, so a failed build leaves none the launcher would use. (A build that
 * succeeds replaces the files by renaming new ones over them: a command started meanwhile finds the old or the new
 * snapshot, never none, and each is whole: its code is all in the blob.)
 */
function clear() {
  for (const name of ['read.node', 'read.blob', 'node']) rmSync(join(SNAPSHOT, name), { force: true });
  for (const name of readdirSync(SNAPSHOT)) if (name.endsWith(`.${process.pid}.partial`)) rmSync(join(SNAPSHOT, name), { force: true });
}

/** The Node to build with: this one from 22 on, else the `node` package's beside deepplan (as cli/main.ts finds it). */
function builder() {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  for (let dir = PROJECT; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', 'node', 'bin', 'node');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/**
 * Whether the bytes of `blob` from `start` to its end are Node's code cache of its own modules as Node writes it: a
 * count, then per module its id (an 8-byte length and the characters) and its cache (an 8-byte length and the bytes).
 */
function isCodeCache(blob, start) {
  if (start + 8 > blob.length) return false;
  const count = blob.readBigUInt64LE(start);
  if (count < 10n || count > 10_000n) return false;
  let at = start + 8;
  for (let entry = 0n; entry < count; entry++) {
    if (at + 8 > blob.length) return false;
    const idLength = Number(blob.readBigUInt64LE(at));
    if (idLength < 1 || idLength > 200 || at + 8 + idLength > blob.length) return false;
    if (!/^[\w/:.-]+$/.test(blob.toString('latin1', at + 8, at + 8 + idLength))) return false;
    at += 8 + idLength;
    if (at + 8 > blob.length) return false;
    const dataLength = blob.readBigUInt64LE(at);
    if (dataLength > BigInt(blob.length - at - 8)) return false;
    at += 8 + Number(dataLength);
  }
  return at === blob.length;
}

/**
 * Drops the code cache of Node's own modules from the blob, ~3.7 MB of its ~10. Node writes it last in the blob
 * (after V8's heap) and reads and copies all of it at every start, ~5 % of a lint; it only speeds up compiling Node's
 * modules that the heap does not hold yet, and lint and status load almost none (the warm-up loaded them). The
 * functions the warm-up compiled are in V8's heap, not in this cache (Node's `withoutCodeCache` would drop both).
 * An empty list takes its place; a blob laid out otherwise (another Node) is left as it is.
 */
function dropCodeCache(file) {
  if (endianness() !== 'LE') return;
  const blob = readFileSync(file);
  for (let start = blob.length - 16; start >= 0; start--) {
    // A count of modules under 2^32 has four zero bytes on top: most offsets are passed over on that alone.
    if (blob.readUInt32LE(start + 4) !== 0 || !isCodeCache(blob, start)) continue;
    writeFileSync(file, Buffer.concat([blob.subarray(0, start), Buffer.alloc(8)]));
    return;
  }
}

function skip(reason) {
  clear();
  process.stderr.write(`snapshot: no start-up snapshot (${reason}); lint and status start the usual way\n`);
  process.exit(0);
}

if (!existsSync(ENTRY)) {
  say(`nothing to do: ${ENTRY} is not built yet`);
  process.exit(0);
}
mkdirSync(SNAPSHOT, { recursive: true });
const node = builder();
if (!node) skip('no Node 22 or newer to build it with');
const nodeCopy = join(SNAPSHOT, `node.${process.pid}.partial`);
try {
  rmSync(nodeCopy, { force: true });
  linkSync(realpathSync(node), nodeCopy);
} catch (error) {
  skip(`cannot link ${node} into ${SNAPSHOT}: ${error.code ?? error.message}`);
}
const started = performance.now();
const partial = join(SNAPSHOT, `read.blob.${process.pid}.partial`);
const samples = SAMPLES.filter((path) => existsSync(path));
const built = spawnSync(nodeCopy, ['--snapshot-blob', partial, '--build-snapshot', ENTRY, ...samples], {
  encoding: 'utf8',
  // The warm-up must not see the builder's settings or skills (HOME: a folder with none).
  env: { PATH: process.env.PATH ?? '', HOME: SNAPSHOT, NODE_DISABLE_COMPILE_CACHE: '1' },
  timeout: 120_000,
});
// Node warns that it has not verified some of its own modules for snapshots; the warm-up's failures are ours.
const failure = (built.stderr ?? '').split('\n').find((line) => line.startsWith('snapshot:') || /Error/.test(line));
if (built.status !== 0 || failure || !existsSync(partial)) {
  rmSync(partial, { force: true });
  skip(failure ?? built.error?.message ?? `the build exited with ${built.status ?? built.signal}`);
}
dropCodeCache(partial);
// A snapshot Node builds may still fail when it starts (a module that holds state Node cannot restore): try it on a
// sample plan before the launcher may use it, and compare with the same command run the usual way.
const check = samples[0] ? ['lint', '--format', 'json', samples[0]] : ['status', '--help'];
// With the launcher's flags for one plan (src/cli/deepplan.sh): the heap keeps the hash seed it was built with.
const fromSnapshot = spawnSync(nodeCopy, ['--no-regexp-tier-up', '--max-opt=0', '--no-rehash-snapshot', '--snapshot-blob', partial, ...check], {
  encoding: 'utf8',
  cwd: PROJECT,
  timeout: 60_000,
});
const usual = spawnSync(nodeCopy, [join(DIST, 'cli', 'main.js'), ...check], { encoding: 'utf8', cwd: PROJECT, timeout: 60_000 });
if (fromSnapshot.status !== usual.status || fromSnapshot.stdout !== usual.stdout || fromSnapshot.stderr !== usual.stderr) {
  rmSync(partial, { force: true });
  const line = (fromSnapshot.stderr || fromSnapshot.stdout || '').split('\n').find((text) => text.trim() !== '') ?? `exit ${fromSnapshot.status}`;
  skip(`it does not start like the program: \`deepplan ${check.join(' ')}\` gave exit ${fromSnapshot.status} (${line.trim()}) instead of exit ${usual.status}`);
}
const version = spawnSync(nodeCopy, ['--version'], { encoding: 'utf8' }).stdout.trim();
// The launcher checks read.node last: it is written last, the Node and the blob are in place by then.
// rename() of one hard link over another of the same file does nothing (POSIX): then the link in place is the Node.
if (sameFile(nodeCopy, join(SNAPSHOT, 'node'))) rmSync(nodeCopy);
else renameSync(nodeCopy, join(SNAPSHOT, 'node'));
renameSync(partial, join(SNAPSHOT, 'read.blob'));
writeFileSync(join(SNAPSHOT, `read.node.${process.pid}.partial`), `${DIST}\n`);
renameSync(join(SNAPSHOT, `read.node.${process.pid}.partial`), join(SNAPSHOT, 'read.node'));
say(`dist/snapshot/read.blob for Node ${version} in ${Math.round(performance.now() - started)} ms`);
