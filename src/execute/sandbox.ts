import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { arch } from 'node:os';
import { basename, delimiter, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { BASE_URL_VARIABLES, KEY_VARIABLES } from '../models/roles.js';
import { ENGINE_READ_ROOTS, SECRET_FILE_PATTERN, engineReadPathOf, privateFolderOf } from '../plan/protected.js';
import { isAlive } from '../plan/store.js';
import { safeText } from '../plan/text.js';

/**
 * Runs a plan's commands (run: steps, tool skills, verify commands) under bubblewrap. What a command sees is built up
 * from nothing: the system's program folders, the folders on its PATH, and the repository; not the rest of the
 * machine (home folders, other repositories, /run and its sockets). Inside it runs as an unprivileged user with no
 * capabilities, in its own PID, IPC and UTS namespaces (and network namespace unless the network is allowed), with a
 * private /tmp and HOME, an allow-listed environment, and limits on time, memory, processes, file size and output.
 *
 * The repository is read-only except the plan's scope.write folders (without a scope: its existing top-level entries);
 * whatever the engine reads (src/plan/protected.ts) is never writable, and `.env` files are hidden. docs/execution.md
 * states these promises and their limits.
 */

export interface SandboxLimits {
  /** Private writable memory (heap, stacks) of each process, MiB: RLIMIT_DATA, which leaves address-space reservations (WebAssembly's) alone. */
  memoryMb: number;
  /** Processes and threads the command may have at once. */
  processes: number;
  /** Largest file a command may write, MiB. */
  fileMb: number;
  /** Standard output and error kept together, MiB: past it the command is stopped. */
  outputMb: number;
}

export const DEFAULT_LIMITS: SandboxLimits = { memoryMb: 4096, processes: 256, fileMb: 1024, outputMb: 16 };

export interface SandboxOptions {
  /** Repository root: the command runs there. */
  root: string;
  /** scope.write globs, repository-relative; their folders become writable. null: the scope is absent. */
  writable: string[] | null;
  /** The plan file: read-only inside the sandbox even where a writable folder holds it (only the engine writes it). */
  planPath: string;
  /** Keep the API keys in the environment (an external agent command needs its own). */
  keepKeys?: boolean;
  /** More writable folders, absolute (an external agent's own state folder). */
  extraWritable?: string[];
  /** More repository-relative paths the engine reads (the configuration's skills.paths). */
  protect?: string[];
  /** Environment variables passed through besides the allow-list (the configuration's execute.env). */
  passEnv?: string[];
  /** What the engine sets for this command (DEEPPLAN_SKILL_DIR), on top of the allow-listed environment. */
  stepEnv?: Record<string, string>;
  network?: boolean;
  timeoutMs?: number;
  limits?: Partial<SandboxLimits>;
  env?: Record<string, string | undefined>;
  /** Run without bubblewrap (`--no-sandbox`): the command then has the rights of this process. */
  unsandboxed?: boolean;
  /** Written to the command's standard input (an external agent reads its prompt there). */
  input?: string;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The command was stopped because its output passed the output limit. */
  outputLimited?: boolean;
  sandboxed: boolean;
}

export class SandboxError extends Error {
  override name = 'SandboxError';
}

let available: boolean | null = null;
let bwrapFound: string | null | undefined;

/**
 * bubblewrap's absolute path, from the folders of deepplan's own PATH that are absolute. It runs outside the sandbox,
 * so it is never looked up in the command's folder: with a relative PATH entry (`.`, `node_modules/.bin`) a
 * repository could otherwise bring its own `bwrap` and run unsandboxed.
 */
function bwrapPath(): string | null {
  if (bwrapFound === undefined) {
    const folders = (process.env['PATH'] ?? '').split(delimiter).filter((folder) => isAbsolute(folder));
    bwrapFound = folders.map((folder) => join(folder, 'bwrap')).find(isExecutableFile) ?? null;
  }
  return bwrapFound;
}

/** Whether `file` is a regular file this process may run. */
export function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Whether `args` run through bubblewrap (found as bwrapPath finds it) succeed: false where there is none. */
function bwrapRuns(args: string[]): boolean {
  const bwrap = bwrapPath();
  return bwrap !== null && spawnSync(bwrap, args, { stdio: 'ignore' }).status === 0;
}

export function bubblewrapAvailable(): boolean {
  available ??= bwrapRuns(['--ro-bind', '/', '/', 'true']);
  return available;
}

let userNamespace: boolean | null = null;

/** Whether bubblewrap may put the command in a user namespace of its own (as an unprivileged user). */
function userNamespaceAvailable(): boolean {
  userNamespace ??= bwrapRuns(['--unshare-user', '--uid', '65534', '--gid', '65534', '--ro-bind', '/', '/', 'true']);
  return userNamespace;
}

/** The folder a scope.write glob allows writing in: its path up to the first glob character. */
export function writableFolder(pattern: string): string {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const part of parts) {
    if (/[*?[\]{}!]/.test(part)) break;
    fixed.push(part);
  }
  // A plain file path: its folder.
  if (fixed.length === parts.length) fixed.pop();
  return fixed.join('/');
}

/** What a command's environment may hold, whatever this process has: the rest (keys, tokens, passwords in URLs) stays out. */
const ALLOWED_ENV = ['PATH', 'LANG', 'LANGUAGE', 'TERM', 'TZ', 'COLORTERM', 'NO_COLOR', 'FORCE_COLOR'];
const isLocale = (name: string) => name.startsWith('LC_');

/**
 * The environment a command gets: an allow-list (PATH, HOME, LANG and LC_*, TERM, TZ), the names `pass` adds (the
 * configuration's execute.env), and what the engine sets for the step (`own`). With `keepKeys`, the provider API keys
 * too (an external agent command calls its own model).
 */
export function commandEnvironment(
  env: Record<string, string | undefined>,
  options: { pass?: string[]; own?: Record<string, string | undefined>; keepKeys?: boolean; home?: string } = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  const allowed = new Set([...ALLOWED_ENV, ...(options.pass ?? [])]);
  if (options.keepKeys) for (const name of [...Object.values(KEY_VARIABLES).flat(), ...Object.values(BASE_URL_VARIABLES)]) allowed.add(name);
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (allowed.has(name) || isLocale(name))) out[name] = value;
  }
  const home = options.home ?? env['HOME'];
  if (home !== undefined) out['HOME'] = home;
  for (const [name, value] of Object.entries(options.own ?? {})) if (value !== undefined) out[name] = value;
  return out;
}

/** System folders every command may read: programs, libraries and /etc (less what only root may read). */
const SYSTEM_FOLDERS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc'];

let hiddenInEtc: { path: string; folder: boolean }[] | null = null;

/** Entries of /etc that others may not read (shadow, gshadow, ssh host keys, sudoers, ssl/private): hidden. */
function unreadableInEtc(): { path: string; folder: boolean }[] {
  if (hiddenInEtc) return hiddenInEtc;
  const hidden: { path: string; folder: boolean }[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries) {
      const path = join(dir, name);
      let stats;
      try {
        stats = lstatSync(path);
      } catch {
        continue;
      }
      if (stats.isSymbolicLink()) continue;
      if ((stats.mode & 0o004) === 0) hidden.push({ path, folder: stats.isDirectory() });
      else if (stats.isDirectory() && depth < 3) walk(path, depth + 1);
    }
  };
  walk('/etc', 0);
  hiddenInEtc = hidden;
  return hidden;
}

function isUnder(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * The folders on PATH (and where the tools they hold live) that are not system folders, bound read-only: each as
 * [source, destination], so a PATH entry reached through a link (a node_modules linked from elsewhere) is found at the
 * path PATH names as well as at its real place.
 */
function toolFolders(path: string | undefined, root: string): [string, string][] {
  const binds = new Map<string, string>();
  const add = (dir: string) => {
    let real: string;
    try {
      real = realpathSync(dir);
      if (!statSync(real).isDirectory()) return;
    } catch {
      return;
    }
    for (const destination of new Set([real, resolve(dir)])) {
      if (destination === '/' || isUnder(destination, root) || SYSTEM_FOLDERS.some((system) => isUnder(destination, system))) continue;
      binds.set(destination, real);
    }
  };
  for (const dir of (path ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    // node_modules/.bin holds links into the packages beside it.
    add(basename(dir) === '.bin' && basename(dirname(dir)) === 'node_modules' ? dirname(dir) : dir);
  }
  // The Node that runs deepplan (a tool skill's `node scripts/x.mjs` may find it on PATH through a link).
  add(dirname(dirname(process.execPath)));
  // Nested destinations are covered by their parents.
  const destinations = [...binds.keys()].sort();
  return destinations
    .filter(
      (destination, index) =>
        !destinations
          .slice(0, index)
          .some((other) => isUnder(destination, other) && binds.get(other) !== undefined && isUnder(binds.get(destination)!, binds.get(other)!)),
    )
    .map((destination) => [binds.get(destination)!, destination]);
}

/**
 * A seccomp filter (classic BPF) that refuses socket(AF_UNIX, …) with EACCES: with the network off, a command must
 * not reach a daemon on the host through a Unix socket either (a socket file in the repository, an abstract one).
 * Calls of another architecture's ABI (x32, 32-bit) are refused too, since their numbers differ. null on a processor
 * this filter does not know.
 */
export function unixSocketFilter(processor = arch()): Buffer | null {
  const known: Record<string, { audit: number; socket: number; x32: boolean }> = {
    x64: { audit: 0xc000003e, socket: 41, x32: true },
    arm64: { audit: 0xc00000b7, socket: 198, x32: false },
  };
  const target = known[processor];
  if (!target) return null;
  const LD_ABS_W = 0x20;
  const JEQ = 0x15;
  const JGE = 0x35;
  const RET = 0x06;
  const ALLOW = 0x7fff0000;
  const DENY = 0x00050000 | 13; // SECCOMP_RET_ERRNO | EACCES
  // [code, jt, jf, k]; jumps count instructions after the current one.
  const program: [number, number, number, number][] = [
    [LD_ABS_W, 0, 0, 4], // arch
    [JEQ, 1, 0, target.audit],
    [RET, 0, 0, DENY],
    [LD_ABS_W, 0, 0, 0], // syscall number
    ...(target.x32 ? [[JGE, 4, 0, 0x40000000] as [number, number, number, number]] : []),
    [JEQ, 0, 2, target.socket],
    [LD_ABS_W, 0, 0, 16], // args[0], low half: the address family
    [JEQ, 1, 0, 1], // AF_UNIX
    [RET, 0, 0, ALLOW],
    [RET, 0, 0, DENY],
  ];
  // With the x32 check, its jump lands on the DENY at the end.
  const buffer = Buffer.alloc(program.length * 8);
  program.forEach(([code, jt, jf, k], index) => {
    buffer.writeUInt16LE(code, index * 8);
    buffer.writeUInt8(jt, index * 8 + 2);
    buffer.writeUInt8(jf, index * 8 + 3);
    buffer.writeUInt32LE(k >>> 0, index * 8 + 4);
  });
  return buffer;
}

/**
 * Removes folders the engine made for a command, deepest first, each only while it is empty: a scope.write folder
 * that did not exist is made so it can be bound writable, and must not stay behind when the command put nothing in
 * it (a Done when such as `test ! -e drafts` would never pass). rmdir refuses a folder that holds anything, so what
 * the command wrote is never touched.
 */
export function removeEmptyFolders(created: string[]): void {
  for (const folder of [...created].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(folder);
    } catch {
      // Not empty (the command wrote there, or another folder made for it is inside), or already gone: it stays.
    }
  }
}

/**
 * The bubblewrap arguments for a command (without the command itself). A scope.write folder that does not exist is
 * made (bubblewrap binds only what exists); each folder made is added to `created`, for removeEmptyFolders after
 * the command.
 */
export function sandboxArguments(options: SandboxOptions, created: string[] = []): string[] {
  const root = realpathSync(options.root);
  const args = ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--die-with-parent', '--new-session'];
  if (userNamespaceAvailable()) args.push('--unshare-user', '--uid', '65534', '--gid', '65534');
  if (!options.network) args.push('--unshare-net');
  for (const folder of SYSTEM_FOLDERS) {
    let stats;
    try {
      stats = lstatSync(folder);
    } catch {
      continue;
    }
    if (stats.isSymbolicLink()) args.push('--symlink', realpathSync(folder), folder);
    else if (stats.isDirectory()) args.push('--ro-bind', folder, folder);
  }
  for (const { path, folder } of unreadableInEtc()) args.push(...(folder ? ['--tmpfs', path] : ['--ro-bind', '/dev/null', path]));
  if (options.network) {
    // Name resolution through systemd-resolved's stub (resolv.conf links there).
    for (const folder of ['/run/systemd/resolve']) if (existsSync(folder)) args.push('--ro-bind', folder, folder);
  }
  args.push('--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', '--dir', '/tmp/home');
  for (const [source, destination] of toolFolders(options.env?.['PATH'] ?? process.env['PATH'], root)) args.push('--ro-bind', source, destination);

  const protect = options.protect ?? [];
  const readOnlyAfter: string[] = [];
  args.push('--ro-bind', root, root);
  const topLevel = readdirSync(root);
  if (options.writable === null) {
    // No scope: the existing top-level entries are writable, except what the engine reads; the repository's own
    // folder is not, so nothing new appears at its top (a config file, a skills folder).
    for (const name of topLevel) {
      if (engineReadPathOf(name, protect) !== null || SECRET_FILE_PATTERN.test(name)) continue;
      const path = join(root, name);
      // A link out of the repository does not become writable (binding it would mount over its target).
      if (lstatSync(path).isSymbolicLink()) continue;
      args.push('--bind', path, path);
    }
  }
  for (const pattern of options.writable ?? []) {
    if (isAbsolute(pattern) || pattern.split('/').includes('..')) throw new SandboxError(`scope.write "${pattern}" leaves the repository`);
    const privateFolder = privateFolderOf(pattern);
    if (privateFolder) throw new SandboxError(`scope.write "${pattern}" is in ${privateFolder}/, which commands never write`);
    const folder = writableFolder(pattern);
    const engineRead = engineReadPathOf(pattern, protect) ?? engineReadPathOf(folder, protect);
    if (engineRead) throw new SandboxError(`scope.write "${pattern}" covers ${engineRead}, which deepplan reads; commands never write it (docs/execution.md)`);
    if (folder === '') throw new SandboxError(`scope.write "${pattern}" would make the whole repository writable; name a folder`);
    const path = join(root, folder);
    const first = mkdirSync(path, { recursive: true });
    // The folders just made: `path` and its parents up to the first one mkdir made.
    if (first !== undefined) for (let made = path; made.length >= first.length; made = dirname(made)) created.push(made);
    const real = realpathSync(path);
    // A folder that is a symlink out of the repository does not become writable.
    if (relative(root, real).startsWith('..')) throw new SandboxError(`scope.write "${pattern}" resolves outside the repository (${real})`);
    for (const extra of protect) {
      if (isUnder(join(root, extra), real) && !existsSync(join(root, extra))) {
        throw new SandboxError(`scope.write "${pattern}" holds ${extra}, a skills folder deepplan reads; create it first or narrow the scope`);
      }
    }
    args.push('--bind', real, real);
  }
  for (const folder of options.extraWritable ?? []) {
    mkdirSync(folder, { recursive: true });
    const real = realpathSync(folder);
    args.push('--bind', real, real);
  }
  // Whatever the scope, what the engine reads stays read-only: bound last, over any writable folder that holds it.
  for (const name of [...ENGINE_READ_ROOTS, ...protect]) readOnlyAfter.push(join(root, name));
  for (const path of readOnlyAfter) if (existsSync(path)) args.push('--ro-bind', path, path);
  // Secrets kept in the repository for other processes (.env files) read as empty.
  for (const name of topLevel) {
    if (SECRET_FILE_PATTERN.test(name) && lstatSync(join(root, name)).isFile()) args.push('--ro-bind', '/dev/null', join(root, name));
  }
  // The engine is the only writer of the plan: a command that could rewrite it could forge ticks and log rows. Plans
  // beside it are read-only too.
  const plan = realpathSync(resolve(options.planPath));
  for (const name of readdirSync(dirname(plan))) {
    const path = join(dirname(plan), name);
    if (name.endsWith('.md') && path !== plan && lstatSync(path).isFile()) args.push('--ro-bind', path, path);
  }
  args.push('--ro-bind', plan, plan, '--chdir', root);
  // The sandbox's own root (where nothing is bound) is read-only too: no folder appears there either.
  args.push('--remount-ro', '/');
  return args;
}

export const NO_BUBBLEWRAP =
  'bubblewrap (bwrap) is not installed, so commands cannot run sandboxed; install it (Debian: apt-get install bubblewrap) or pass --no-sandbox to run them with your own rights';

const MIB = 1024 * 1024;

function resolvedLimits(limits: Partial<SandboxLimits> | undefined): SandboxLimits {
  return { ...DEFAULT_LIMITS, ...Object.fromEntries(Object.entries(limits ?? {}).filter(([, value]) => value !== undefined)) };
}

/**
 * The process-count limit. RLIMIT_NPROC binds every user but root (whose processes the kernel never counts against
 * it), so for root a pids cgroup of its own holds the command where the machine lets this process make one.
 */
interface ProcessGroup {
  /** Written into by the wrapper before bubblewrap starts, so every process of the command is inside. */
  procs: string;
  release(): void;
}

let cgroupCounter = 0;
const swept = new Set<string>();

/**
 * Removes the groups of deepplan processes that died without removing their own (killed mid-command): they are empty
 * once their commands are gone, and would otherwise pile up. Once per base folder and process.
 */
function sweepDeadGroups(base: string): void {
  if (swept.has(base)) return;
  swept.add(base);
  let entries: string[];
  try {
    entries = readdirSync(base);
  } catch {
    return;
  }
  for (const name of entries) {
    const owner = /^deepplan-(\d+)-/.exec(name);
    if (!owner || isAlive(Number(owner[1]))) continue;
    try {
      rmdirSync(join(base, name));
    } catch {
      // Not empty yet, or gone already: the next sweep tries again.
    }
  }
}

/** What Atomics.wait sleeps on (nothing ever wakes it: it returns at its time-out). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

function pidsCgroup(limits: SandboxLimits): ProcessGroup | null {
  if (process.getuid?.() !== 0) return null;
  const candidates = ['/sys/fs/cgroup/pids', '/sys/fs/cgroup'];
  for (const base of candidates) {
    try {
      if (!existsSync(join(base, 'cgroup.procs'))) continue;
      if (base === '/sys/fs/cgroup' && !existsSync(join(base, 'cgroup.controllers'))) continue;
      sweepDeadGroups(base);
      // The random part keeps a reused pid from meeting a group its earlier owner left behind.
      const dir = join(base, `deepplan-${process.pid}-${++cgroupCounter}-${Math.random().toString(36).slice(2, 8)}`);
      mkdirSync(dir);
      try {
        writeFileSync(join(dir, 'pids.max'), String(limits.processes));
      } catch {
        rmdirSync(dir);
        continue;
      }
      return {
        procs: join(dir, 'cgroup.procs'),
        release() {
          // The command's processes died with bubblewrap's PID namespace; the group is empty once the kernel has
          // reaped them, most often at once, sometimes a few milliseconds later: waits of 1, 2, 4 ... ms (a second
          // in all), not a fixed 50 ms, which one command in ten or more paid. A group still busy after that is left
          // to the sweep of a later run (sweepDeadGroups).
          for (let wait = 1; wait <= 512; wait *= 2) {
            try {
              rmdirSync(dir);
              return;
            } catch {
              Atomics.wait(PAUSE, 0, 0, wait);
            }
          }
        },
      };
    } catch {
      continue;
    }
  }
  return null;
}

/** The command line that sets the limits inside the sandbox (prlimit from util-linux), or none where it is missing. */
function limitPrefix(limits: SandboxLimits, countProcesses: boolean): string[] {
  if (!existsSync('/usr/bin/prlimit')) return [];
  return [
    '/usr/bin/prlimit',
    `--data=${limits.memoryMb * MIB}`,
    `--fsize=${limits.fileMb * MIB}`,
    ...(countProcesses ? [`--nproc=${limits.processes}`] : []),
    '--',
  ];
}

const SETPRIV = '/usr/bin/setpriv';
let setprivWorks: boolean | undefined;

function knowsPdeathsig(): boolean {
  try {
    return readFileSync(SETPRIV).includes('pdeathsig');
  } catch {
    return false;
  }
}

/**
 * The command line that makes a command die with the run that started it (setpriv from util-linux, where it is
 * present and new enough). A run killed outright (SIGKILL, the OOM killer) cleans nothing up, and its command would
 * run on, unwatched and past its time limit. bubblewrap's --die-with-parent does not close that gap: its parent-death
 * signal is asked for only once bubblewrap runs, its start clears one asked for before, and the sandbox's first
 * process asks for its own only after it began. Measured with a run killed 0-4 ms after it started its command: more
 * than half of the sandboxed commands and every unsandboxed one ran on.
 *
 * So a shell watches the command: setpriv asks for SIGTERM to it when the run dies before anything else runs; the shell
 * traps it, kills every process of the command's pids cgroup (`procs`, where there is one: it holds the sandbox's
 * processes whatever their session or namespace, and a process forked meanwhile on the next pass), then the command's
 * process group (runCommand starts it detached), bubblewrap included. A run that died before the shell began is not
 * its parent any more: the command does not start (exit 125). The command's standard input is passed on explicitly (a
 * command started with `&` reads /dev/null). Without a cgroup (deepplan not run as root) a run killed in the
 * millisecond bubblewrap starts its sandbox can still leave that sandbox running.
 */
function diesWithRun(file: string, args: string[], procs = ''): [string, string[]] {
  // Asked once a process: a setpriv older than util-linux 2.33 has no --pdeathsig, and would fail every command. Its
  // option table names the options it knows: reading it takes 0.1 ms, running it to ask 3-4 ms. The watching shell is
  // /bin/sh, never one found on PATH: it runs outside the sandbox.
  setprivWorks ??= knowsPdeathsig();
  if (!setprivWorks) return [file, args];
  const killGroup =
    'if [ -n "$cg" ]; then for i in 1 2 3 4 5 6 7 8 9 10; do p=$(cat "$cg" 2>/dev/null) && [ -n "$p" ] || break; kill -KILL $p 2>/dev/null; done; fi';
  const watch = `cg=$1; shift; trap '${killGroup}; kill -KILL 0' TERM; [ "$PPID" = "$0" ] || exit 125; exec 9<&0; "$@" <&9 9<&- & wait $!`;
  return [SETPRIV, ['--pdeathsig', 'TERM', '--', '/bin/sh', '-c', watch, String(process.pid), procs, file, ...args]];
}

export function runCommand(command: string, options: SandboxOptions): Promise<CommandResult> {
  const sandboxed = !options.unsandboxed;
  if (sandboxed && !bubblewrapAvailable()) throw new SandboxError(NO_BUBBLEWRAP);
  const limits = resolvedLimits(options.limits);
  const source = options.env ?? process.env;
  const shared = { pass: options.passEnv ?? [], keepKeys: options.keepKeys ?? false, own: options.stepEnv ?? {} };
  // Inside the sandbox HOME is a private folder (the real one is not there), except for an external agent, whose
  // own state folders the configuration binds.
  const env = commandEnvironment(source, sandboxed && !options.keepKeys ? { ...shared, home: '/tmp/home' } : shared);
  let file: string;
  let args: string[];
  let group: ProcessGroup | null = null;
  let filter: Buffer | null = null;
  const created: string[] = [];
  if (sandboxed) {
    let bwrapArgs: string[];
    try {
      bwrapArgs = sandboxArguments(options, created);
    } catch (error) {
      removeEmptyFolders(created);
      throw error;
    }
    filter = options.network ? null : unixSocketFilter();
    if (filter) bwrapArgs.unshift('--seccomp', '3');
    group = pidsCgroup(limits);
    // RLIMIT_NPROC counts a user's processes in its user namespace: only there is it the command's own count.
    const countProcesses = group === null && process.getuid?.() !== 0 && userNamespaceAvailable();
    const inner = [...limitPrefix(limits, countProcesses), '/bin/sh', '-c', command];
    const bwrap = bwrapPath()!;
    if (group) {
      file = '/bin/sh';
      args = ['-c', 'echo $$ > "$0" && exec "$@"', group.procs, bwrap, ...bwrapArgs, ...inner];
    } else {
      file = bwrap;
      args = [...bwrapArgs, ...inner];
    }
  } else {
    file = 'sh';
    args = ['-c', command];
  }
  [file, args] = diesWithRun(file, args, group?.procs ?? '');
  return new Promise((resolvePromise) => {
    const stdio: ('ignore' | 'pipe')[] = [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'];
    if (filter) stdio.push('pipe');
    const child = spawn(file, args, { cwd: options.root, env, detached: true, stdio });
    if (filter) {
      const pipe = child.stdio[3] as NodeJS.WritableStream | null;
      pipe?.on('error', () => {});
      pipe?.end(filter);
    }
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {});
      child.stdin.end(options.input);
    }
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    let outputLimited = false;
    const stop = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      if (outputLimited) return;
      size += chunk.length;
      if (size > limits.outputMb * MIB) {
        outputLimited = true;
        stop();
        return;
      }
      into.push(chunk);
    };
    child.stdout!.on('data', collect(stdout));
    child.stderr!.on('data', collect(stderr));
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs ?? 120_000);
    const finish = (code: number | null, extra = '') => {
      clearTimeout(timer);
      group?.release();
      removeEmptyFolders(created);
      const text = (chunks: Buffer[]) => safeText(Buffer.concat(chunks).toString('utf8'));
      const limitNote = outputLimited ? `\noutput limit reached: more than ${limits.outputMb} MiB of output; the command was stopped` : '';
      resolvePromise({
        code: outputLimited && code === 0 ? null : code,
        stdout: text(stdout),
        stderr: `${text(stderr)}${extra}${limitNote}`,
        timedOut,
        outputLimited,
        sandboxed,
      });
    };
    child.on('close', (code) => finish(code));
    child.on('error', (error) => finish(null, error.message));
  });
}

export interface SandboxCapabilities {
  bubblewrap: boolean;
  /** Commands run as uid 65534 in a user namespace of their own. */
  unprivileged: boolean;
  /** How the process count is bounded: a pids cgroup, RLIMIT_NPROC, or only by the time limit. */
  processLimit: 'cgroup' | 'rlimit' | 'none';
  /** Memory and file-size limits (prlimit). */
  resourceLimits: boolean;
  /** Unix sockets refused by a seccomp filter with the network off. */
  socketFilter: boolean;
}

/** What this machine lets the sandbox do (deepplan doctor shows it). */
export function sandboxCapabilities(): SandboxCapabilities {
  const bubblewrap = bubblewrapAvailable();
  const group = bubblewrap ? pidsCgroup(DEFAULT_LIMITS) : null;
  group?.release();
  const unprivileged = bubblewrap && userNamespaceAvailable();
  const resourceLimits = existsSync('/usr/bin/prlimit');
  return {
    bubblewrap,
    unprivileged,
    processLimit: group ? 'cgroup' : resourceLimits && unprivileged && process.getuid?.() !== 0 ? 'rlimit' : 'none',
    resourceLimits,
    socketFilter: unixSocketFilter() !== null,
  };
}
