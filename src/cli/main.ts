#!/usr/bin/env node
// The launcher: the one file an old Node must be able to run, so that it fails here with one clear line (or hands over
// to the project's own Node) instead of with a syntax error deep inside a dependency. It imports nothing statically:
// what it needs comes with import() once the version is known, and the program (a bundle, docs/performance.md) after
// Node's compile cache is on, so that later starts reuse the compiled code of every module the command loads.

const MINIMUM_MAJOR = 22;
const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
const major = Number(process.versions.node.split('.')[0]);

if (major < MINIMUM_MAJOR) await handOver();

// Off with NODE_DISABLE_COMPILE_CACHE=1; NODE_COMPILE_CACHE=<dir> moves it from Node's default (the OS temp folder).
process.getBuiltinModule?.('node:module')?.enableCompileCache?.();

if (process.env['DEEPPLAN_REEXEC'] && typeof process.send === 'function') ownedByLauncher();

// A reader that stops early (`deepplan lint | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const { main } = await import('./program.js');
process.exitCode = await main(process.argv.slice(2));

/**
 * On a Node older than MINIMUM_MAJOR: run the command on the `node` package's Node if there is one (it then owns the
 * run: the signals this launcher gets reach it, and an IPC channel ties its life to this launcher's, closing however
 * the launcher ends, SIGKILL included; see ownedByLauncher below), else say which Node is needed. Never returns.
 */
async function handOver(): Promise<never> {
  const { spawn } = await import('node:child_process');
  const { constants } = await import('node:os');
  const { fileURLToPath } = await import('node:url');
  const bundled = process.env['DEEPPLAN_REEXEC'] ? null : await installedNode(fileURLToPath(import.meta.url));
  if (bundled) {
    const child = spawn(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, DEEPPLAN_REEXEC: '1' },
    });
    for (const name of FORWARDED) {
      process.on(name, () => {
        // Ctrl-C in a terminal reaches both processes; over the channel the child can tell a repeat from a second press.
        if (name === 'SIGINT' && child.connected) child.send({ deepplan: 'signal', name });
        else child.kill(name);
      });
    }
    child.on('error', (error) => {
      process.stderr.write(`deepplan: cannot start ${bundled}: ${error.message}\n`);
      process.exit(2);
    });
    child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 1)));
    return new Promise<never>(() => {});
  }
  process.stderr.write(
    `deepplan: needs Node ${MINIMUM_MAJOR} or newer (this is ${process.version}); install a current Node, or add one to this project with npm install --save-dev node@24\n`,
  );
  process.exit(2);
}

/**
 * The `node` package's Node, found the way Node finds a package: in node_modules of deepplan's own folder (a clone, or
 * a nested install), then of each folder above it (installed into a project beside `node@24`, it is deepplan's sibling).
 */
async function installedNode(launcher: string): Promise<string | null> {
  const { existsSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  let dir = join(dirname(launcher), '..', '..');
  for (;;) {
    const candidate = join(dir, 'node_modules', 'node', 'bin', 'node');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * Launched by an older Node: die at once when the launcher goes (its end of the channel closes, even on SIGKILL), so
 * no iteration runs on after it; and take a SIGINT it forwards unless the terminal already delivered the same one.
 */
function ownedByLauncher(): void {
  delete process.env['DEEPPLAN_REEXEC'];
  let lastInterrupt = 0;
  // Seeing SIGINT adds a listener, which would stop a command without its own handler from ending on Ctrl-C: only
  // watch once a command installed one (deepplan run does), and then alongside it.
  process.on('newListener', function watch(event: string | symbol) {
    if (event !== 'SIGINT') return;
    process.removeListener('newListener', watch);
    process.prependListener('SIGINT', () => (lastInterrupt = Date.now()));
  });
  process.on('disconnect', () => process.exit(129));
  process.on('message', (message: { deepplan?: string; name?: string }) => {
    if (message?.deepplan !== 'signal' || message.name !== 'SIGINT') return;
    // Both deliveries of one Ctrl-C arrive within moments; wait for the terminal's before deciding this one is new.
    setTimeout(() => {
      if (Date.now() - lastInterrupt > 1000) process.kill(process.pid, 'SIGINT');
    }, 150).unref();
  });
  // The channel must not keep a finished command alive.
  process.channel?.unref();
}
