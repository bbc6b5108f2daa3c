#!/usr/bin/env node
// The entry point stays free of imports so that an old Node fails here with one clear line (or hands over to the
// project's own Node) instead of with a syntax error deep inside a dependency.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MINIMUM_MAJOR = 22;
const major = Number(process.versions.node.split('.')[0]);

if (major < MINIMUM_MAJOR) {
  const here = dirname(fileURLToPath(import.meta.url));
  const bundled = join(here, '..', '..', 'node_modules', 'node', 'bin', 'node');
  if (existsSync(bundled) && !process.env['DEEPPLAN_REEXEC']) {
    const result = spawnSync(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, DEEPPLAN_REEXEC: '1' },
    });
    process.exit(result.status ?? 1);
  }
  process.stderr.write(`deepplan: needs Node ${MINIMUM_MAJOR} or newer (this is ${process.version}); install a current Node and try again\n`);
  process.exit(2);
}

// A reader that stops early (`deepplan lint | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const { main } = await import('./program.js');
process.exitCode = await main(process.argv.slice(2));
