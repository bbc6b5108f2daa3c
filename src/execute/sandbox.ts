import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { KEY_VARIABLES } from '../models/roles.js';
import { PRIVATE_FOLDERS, privateFolderOf } from '../rules/context.js';

/**
 * Runs a plan's commands (run: steps, tool skills, verify commands) under bubblewrap: the file system read-only
 * except the plan's scope.write folders (the whole repository without a scope), but never the plan file itself nor
 * the private folders (.git, node_modules, .deepplan); a private /tmp, no network unless allowed, a time limit, and
 * the API keys taken out of the environment.
 */

export interface SandboxOptions {
  /** Repository root: the command runs there. */
  root: string;
  /** scope.write globs, repository-relative; their folders become writable. null: the whole repository (scope absent). */
  writable: string[] | null;
  /** The plan file: read-only inside the sandbox even where a writable folder holds it (only the engine writes it). */
  planPath: string;
  /** Keep the API keys in the environment (an external agent command needs its own). */
  keepKeys?: boolean;
  /** More writable folders, absolute (an external agent's own state folder). */
  extraWritable?: string[];
  network?: boolean;
  timeoutMs?: number;
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
  sandboxed: boolean;
}

export class SandboxError extends Error {
  override name = 'SandboxError';
}

let available: boolean | null = null;

export function bubblewrapAvailable(): boolean {
  available ??= spawnSync('bwrap', ['--ro-bind', '/', '/', 'true'], { stdio: 'ignore' }).status === 0;
  return available;
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

/** The environment a command gets: this one without the API keys (and without recording into cassettes). */
export function commandEnvironment(env: Record<string, string | undefined>): Record<string, string> {
  const secret = new Set([...Object.values(KEY_VARIABLES).flat(), 'DEEPPLAN_RECORD']);
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && !secret.has(entry[0]) && !/_API_KEY$|_TOKEN$|_SECRET$/.test(entry[0])));
}

function definedEntries(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export function sandboxArguments(options: SandboxOptions): string[] {
  const root = realpathSync(options.root);
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', '--unshare-pid', '--die-with-parent', '--new-session'];
  if (!options.network) args.push('--unshare-net');
  // The private /tmp would hide a repository that lives under /tmp: put it back, read-only, before the writable binds.
  args.push('--ro-bind', root, root);
  if (options.writable === null) args.push('--bind', root, root);
  for (const pattern of options.writable ?? []) {
    if (isAbsolute(pattern) || pattern.split('/').includes('..')) throw new SandboxError(`scope.write "${pattern}" leaves the repository`);
    const privateFolder = privateFolderOf(pattern);
    if (privateFolder) throw new SandboxError(`scope.write "${pattern}" is in ${privateFolder}/, which commands never write`);
    const folder = writableFolder(pattern);
    if (folder === '') throw new SandboxError(`scope.write "${pattern}" would make the whole repository writable; name a folder`);
    const path = join(root, folder);
    mkdirSync(path, { recursive: true });
    const real = realpathSync(path);
    // A folder that is a symlink out of the repository does not become writable.
    if (relative(root, real).startsWith('..')) throw new SandboxError(`scope.write "${pattern}" resolves outside the repository (${real})`);
    args.push('--bind', real, real);
  }
  for (const folder of options.extraWritable ?? []) {
    mkdirSync(folder, { recursive: true });
    const real = realpathSync(folder);
    args.push('--bind', real, real);
  }
  // Whatever the scope, git's own folder (its hooks run outside any sandbox), the dependencies and deepplan's state
  // stay read-only: bound last, over any writable folder that holds them.
  for (const folder of PRIVATE_FOLDERS) {
    const path = join(root, folder);
    if (existsSync(path)) args.push('--ro-bind', path, path);
  }
  // The engine is the only writer of the plan: a command that could rewrite it could forge ticks and log rows.
  const plan = realpathSync(resolve(options.planPath));
  args.push('--ro-bind', plan, plan, '--chdir', root);
  return args;
}

export const NO_BUBBLEWRAP =
  'bubblewrap (bwrap) is not installed, so commands cannot run sandboxed; install it (Debian: apt-get install bubblewrap) or pass --no-sandbox to run them with your own rights';

export function runCommand(command: string, options: SandboxOptions): Promise<CommandResult> {
  const sandboxed = !options.unsandboxed;
  if (sandboxed && !bubblewrapAvailable()) throw new SandboxError(NO_BUBBLEWRAP);
  const env = options.keepKeys ? definedEntries(options.env ?? process.env) : commandEnvironment(options.env ?? process.env);
  const [file, args] = sandboxed ? ['bwrap', [...sandboxArguments(options), 'sh', '-c', command]] : ['sh', ['-c', command]];
  return new Promise((resolvePromise) => {
    const child = spawn(file, args as string[], { cwd: options.root, env, detached: true, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {});
      child.stdin.end(options.input);
    }
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const limit = 1024 * 1024;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (stdout.length < limit) stdout += chunk.toString('utf8');
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < limit) stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeoutMs ?? 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr, timedOut, sandboxed });
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      resolvePromise({ code: null, stdout, stderr: `${stderr}${error.message}`, timedOut, sandboxed });
    });
  });
}

