import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private PostgreSQL cluster for one test file: initdb into a temporary folder, a server on a unix socket in it
 * (no TCP port, so nothing clashes with another cluster), stopped and removed by `stop()`.
 *
 * initdb refuses to run as root, and CI runs as root: there the cluster belongs to the `postgres` user the Debian
 * package creates, and its commands run through runuser. Without PostgreSQL, `startPostgres` returns null and says
 * so on standard error, and the caller skips.
 */

export interface PostgresCluster {
  /** postgresql://… of the given database on the cluster's socket (the database need not exist yet). */
  url(database: string): string;
  stop(): void;
}

/** The folder of initdb and pg_ctl: on PATH, else the newest Debian /usr/lib/postgresql/<version>/bin. */
export function postgresBin(): string | null {
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) {
    const real = spawnSync('readlink', ['-f', onPath], { encoding: 'utf8' }).stdout.trim() || onPath;
    return join(real, '..');
  }
  const debian = '/usr/lib/postgresql';
  if (!existsSync(debian)) return null;
  const versions = readdirSync(debian)
    .filter((name) => existsSync(join(debian, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(debian, versions[0], 'bin') : null;
}

/** How the cluster's commands run: as this user, or (as root) as `postgres`. null: root without a postgres user. */
function runAs(): string[] | null {
  if (process.getuid?.() !== 0) return [];
  const user = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  return user.status === 0 ? ['runuser', '-u', 'postgres', '--'] : null;
}

export function startPostgres(label: string): PostgresCluster | null {
  const bin = postgresBin();
  const prefix = runAs();
  if (bin === null || prefix === null) {
    process.stderr.write(
      `${label}: skipped: ${bin === null ? 'PostgreSQL is not installed (apt-get install postgresql)' : 'running as root without a postgres user'}\n`,
    );
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'deepplan-pg-'));
  if (prefix.length > 0)
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })));
  const data = join(dir, 'data');
  const run = (program: string, args: string[]) => {
    const [command, ...rest] = [...prefix, join(bin, program), ...args];
    execFileSync(command!, rest, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  };
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  // No TCP, the socket in the test's own folder; fsync off: a test cluster need not survive a power cut.
  const settings = `-c listen_addresses= -c unix_socket_directories=${dir} -c fsync=off -c max_connections=60`;
  run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', settings, '-w', '-t', '30', 'start']);
  let stopped = false;
  return {
    url: (database) => `postgresql://postgres@localhost/${database}?host=${encodeURIComponent(dir)}`,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
