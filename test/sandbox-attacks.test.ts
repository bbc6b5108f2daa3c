// The sandbox as an attacker tries it: a plan's own steps going after the engine's files, secrets, the rest of the
// machine, host sockets, and the machine's resources. Every attack here must fail.
import { execFile, execFileSync } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bubblewrapAvailable, commandEnvironment, runCommand, unixSocketFilter, type SandboxOptions } from '../src/execute/sandbox.js';
import { appendLogRow } from '../src/plan/update.js';
import { parsePlan } from '../src/plan/parse.js';
import { cliEnvironment, CLI, edit, makeRepo, SMALL_PLAN } from './support/fixtures.js';
import { SCRIPTED_PLAN, scriptedRepo } from './support/scripted.js';

const withBubblewrap = bubblewrapAvailable() ? describe : describe.skip;
if (!bubblewrapAvailable()) console.warn('sandbox attack tests skipped: bubblewrap (bwrap) is not installed (apt-get install bubblewrap)');

const CONFIG = 'models:\n  planner: anthropic/claude-sonnet-5\n';
const SECRETS = {
  ANTHROPIC_API_KEY: 'sk-ant-secret-0123456789',
  AWS_SECRET_ACCESS_KEY: 'aws-secret-4242',
  STRIPE_SECRET_KEY: 'sk_live_stripe-4242',
  DATABASE_URL: 'postgres://app:pa55word-4242@db.internal/app',
  SLACK_WEBHOOK_URL: 'https://hooks.slack.example/T000/B000/xyz-4242',
  GH_PAT: 'ghp_pat-4242',
  SESSION_COOKIE: 'cookie-4242',
};

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

/** A repository shaped like a user's: config, plans, skills, prompt and template overrides, history, state, a .env. */
function repository(writable: string[] | null, extra: Partial<SandboxOptions> = {}): SandboxOptions {
  const root = makeRepo({
    'deepplan.config.yaml': CONFIG,
    'plans/deals.md': SMALL_PLAN,
    'plans/other.md': SMALL_PLAN,
    'plans/templates/deals.yaml': 'phases: []\n',
    '.claude/skills/score-deal/SKILL.md': '---\nname: score-deal\ndescription: Scores a deal.\n---\n',
    'skills/coach/SKILL.md': '---\nname: coach\ndescription: Coaches a rep.\n---\n',
    'prompts/plan-generation.md': '---\nrole: planner\n---\nPlan.\n',
    'calibration/index.yaml': 'plans: []\n',
    '.deepplan/ledger/a.jsonl': '{}\n',
    '.github/workflows/ci.yml': 'on: push\n',
    '.env': 'STRIPE_SECRET_KEY=sk_live_from_dotenv\n',
    'deals/acme.yaml': 'name: Acme\nstage: 3\n',
    'reports/summary.md': 'old\n',
  });
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  return { root, writable, planPath: join(root, 'plans/deals.md'), timeoutMs: 10_000, env: { ...process.env, ...SECRETS }, ...extra };
}

async function run(command: string, options: SandboxOptions) {
  return runCommand(command, options);
}

withBubblewrap('what the engine reads is read-only to every command', () => {
  for (const writable of [null, ['reports/**', 'deals/*.yaml']]) {
    const label = writable === null ? 'without scope.write' : 'with scope.write';

    it(`${label}: the config, plans, skills, prompts, templates, history, state and workflows cannot be changed or created`, async () => {
      const options = repository(writable);
      const attacks = [
        // The key-theft path: point the next model call at a listener of the step's own.
        "printf 'providers:\\n  anthropic:\\n    base_url: http://127.0.0.1:9/\\n' >> deepplan.config.yaml",
        "printf 'execute:\\n  network: true\\n' >> deepplan.config.yaml",
        'rm -f deepplan.config.yaml',
        'echo "models: {}" > deepplan.config.yml',
        'echo forged >> plans/other.md',
        'echo forged > plans/new.md',
        'echo "phases: [evil]" > plans/templates/deals.yaml',
        'echo forged >> .claude/skills/score-deal/SKILL.md',
        'mkdir -p .claude/skills/evil && echo x > .claude/skills/evil/SKILL.md',
        'mkdir -p .agents/skills/evil && echo x > .agents/skills/evil/SKILL.md',
        'echo forged >> skills/coach/SKILL.md',
        'echo forged > prompts/plan-generation.md',
        'echo forged > calibration/index.yaml',
        'echo forged > .deepplan/ledger/b.jsonl',
        'echo forged > .github/workflows/evil.yml',
        'echo x > .git/hooks-pre-commit',
        'echo forged > new-top-level-file.md',
      ];
      for (const attack of attacks) {
        const result = await run(attack, options);
        expect(result.code, `${label}: ${attack}`).not.toBe(0);
      }
      const read = (path: string) => readFileSync(join(options.root, path), 'utf8');
      expect(read('deepplan.config.yaml')).toBe(CONFIG);
      expect(read('plans/other.md')).toBe(SMALL_PLAN);
      expect(read('plans/deals.md')).toBe(SMALL_PLAN);
      expect(read('plans/templates/deals.yaml')).toBe('phases: []\n');
      expect(read('.claude/skills/score-deal/SKILL.md')).not.toContain('forged');
      expect(read('skills/coach/SKILL.md')).not.toContain('forged');
      for (const created of [
        'deepplan.config.yml',
        'plans/new.md',
        '.claude/skills/evil',
        '.agents',
        '.deepplan/ledger/b.jsonl',
        '.github/workflows/evil.yml',
        'new-top-level-file.md',
      ]) {
        expect(existsSync(join(options.root, created)), `${label}: ${created}`).toBe(false);
      }
    });
  }

  it('without scope.write, existing top-level folders stay writable', async () => {
    const options = repository(null);
    expect((await run('echo new > reports/summary.md && echo x > deals/beta.yaml', options)).code).toBe(0);
    expect(readFileSync(join(options.root, 'reports/summary.md'), 'utf8')).toBe('new\n');
  });

  it('a scope.write over something the engine reads is refused before anything runs', async () => {
    const options = repository(['reports/**']);
    for (const scope of [
      'plans/**',
      '.claude/skills/**',
      'skills/*',
      'prompts/*.md',
      'calibration/index.yaml',
      '.github/workflows/*',
      'deepplan.config.yaml',
    ]) {
      expect(() => runCommand('true', { ...options, writable: [scope] }), scope).toThrow(/deepplan reads|never write/);
    }
  });

  it('a skills folder the configuration names is read-only too', async () => {
    const options = repository(['tools/**'], { protect: ['tools/skills'] });
    mkdirSync(join(options.root, 'tools/skills/sync'), { recursive: true });
    writeFileSync(join(options.root, 'tools/skills/sync/SKILL.md'), 'ok\n');
    expect((await run('echo x > tools/out.txt', options)).code).toBe(0);
    expect((await run('echo forged > tools/skills/sync/SKILL.md', options)).code).not.toBe(0);
    expect(readFileSync(join(options.root, 'tools/skills/sync/SKILL.md'), 'utf8')).toBe('ok\n');
  });
});

withBubblewrap('what a command can see', () => {
  it('gets an allow-listed environment: no key, token, password or webhook, whatever its name', async () => {
    const options = repository(['reports/**']);
    const result = await run('env', options);
    expect(result.code).toBe(0);
    for (const value of Object.values(SECRETS)) expect(result.stdout).not.toContain(value);
    const names = result.stdout
      .split('\n')
      .map((line) => line.split('=')[0] ?? '')
      .filter(Boolean);
    for (const name of names)
      expect(
        ['PATH', 'HOME', 'LANG', 'LANGUAGE', 'TERM', 'TZ', 'COLORTERM', 'NO_COLOR', 'FORCE_COLOR', 'PWD', 'SHLVL', 'OLDPWD', '_'].includes(name) ||
          name.startsWith('LC_'),
        name,
      ).toBe(true);
  });

  it('passes what the configuration names, and nothing else', async () => {
    const options = repository(['reports/**'], { passEnv: ['DEALS_REGION'], env: { ...process.env, ...SECRETS, DEALS_REGION: 'emea' } });
    const result = await run('echo "[$DEALS_REGION][$STRIPE_SECRET_KEY]"', options);
    expect(result.stdout.trim()).toBe('[emea][]');
  });

  it('reads a .env file in the repository as empty', async () => {
    const options = repository(['reports/**']);
    const result = await run('cat .env; echo "[end]"', options);
    expect(result.stdout).not.toContain('sk_live_from_dotenv');
    expect(result.stdout.trim()).toBe('[end]');
  });

  it('cannot read /etc/shadow, the home folder or another repository on the machine', async () => {
    const options = repository(['reports/**']);
    const other = mkdtempSync(join('/var/tmp', 'deepplan-other-repo-'));
    writeFileSync(join(other, 'secret.md'), 'other-repo-secret\n');
    const inHome = join(homedir(), `.deepplan-attack-${process.pid}`);
    writeFileSync(inHome, 'home-secret\n');
    cleanups.push(
      () => rmSync(other, { recursive: true, force: true }),
      () => rmSync(inHome, { force: true }),
    );
    for (const target of ['/etc/shadow', '/etc/gshadow', join(other, 'secret.md'), inHome]) {
      const result = await run(`cat ${target}`, options);
      expect(result.code, target).not.toBe(0);
      expect(result.stdout, target).toBe('');
    }
    // A repository beside this one under the same temporary folder is not there either.
    const sibling = makeRepo({ 'crm/secret.yaml': 'token: sibling-secret\n' });
    cleanups.push(() => rmSync(sibling, { recursive: true, force: true }));
    expect((await run(`cat ${join(sibling, 'crm/secret.yaml')}`, options)).stdout).toBe('');
  });

  it('runs as an unprivileged user that sees no process of the host', async () => {
    const options = repository(['reports/**']);
    const result = await run('id -u; ls /proc | grep -c "^[0-9]"', options);
    const [uid, processes] = result.stdout.trim().split('\n').map(Number);
    expect(uid).not.toBe(0);
    expect(processes).toBeLessThan(10);
  });

  it('cannot reach a Unix socket on the host with the network off', async () => {
    const options = repository(['reports/**']);
    const socketInRepo = join(options.root, 'reports', 'daemon.sock');
    const servers: Server[] = [];
    let connections = 0;
    for (const path of [socketInRepo]) {
      const server = createServer((socket) => {
        connections++;
        socket.end('secret-from-daemon\n');
      });
      await new Promise<void>((resolve) => server.listen(path, resolve));
      servers.push(server);
    }
    const client = `node -e "require('net').connect(process.argv[1]).on('data', d => process.stdout.write(String(d))).on('error', e => { console.log('refused ' + e.code); })" ${socketInRepo}`;
    const result = await run(client, options);
    expect(result.stdout).not.toContain('secret-from-daemon');
    expect(result.stdout).toContain('refused');
    expect(connections).toBe(0);
    for (const server of servers) server.close();
  });

  it('the socket filter is a program the kernel accepts for this processor', () => {
    const filter = unixSocketFilter();
    if (filter === null) return;
    expect(filter.length % 8).toBe(0);
    expect(unixSocketFilter('mips')).toBeNull();
  });
});

withBubblewrap('limits on a command', () => {
  it('caps the processes a command may have at once, and a fork bomb ends', async () => {
    const options = repository(['reports/**'], { limits: { processes: 32 }, timeoutMs: 8_000 });
    // Only builtins besides sleep: each line is one more process started; the shell stops at the first refused fork.
    const result = await run('i=0; while [ $i -lt 100 ]; do sleep 3 & i=$((i+1)); echo $i; done', options);
    const started = result.stdout.trim().split('\n').map(Number);
    expect(started.length).toBeGreaterThan(5);
    expect(started.length).toBeLessThan(32);
    expect(result.stderr).toMatch(/fork/i);
    const bombStarted = Date.now();
    const bomb = await run('bomb() { bomb | bomb & }; bomb; sleep 2', { ...options, timeoutMs: 4_000 });
    expect(Date.now() - bombStarted).toBeLessThan(10_000);
    expect(bomb.sandboxed).toBe(true);
    // The machine is still fine: a plain command runs at once.
    expect(execFileSync('sh', ['-c', 'echo alive']).toString()).toBe('alive\n');
  });

  it('caps the memory of a process', async () => {
    const options = repository(['reports/**'], { limits: { memoryMb: 256 } });
    const result = await run('x=$(head -c 400000000 /dev/zero | tr "\\0" a); echo got ${#x}', options);
    expect(result.code).not.toBe(0);
    expect(result.stdout).not.toContain('got 400000000');
  });

  it('stops a command whose output passes the limit (1 GB of output ends at the limit)', async () => {
    const options = repository(['reports/**'], { limits: { outputMb: 4 } });
    const started = Date.now();
    const result = await run('head -c 1000000000 /dev/zero', options);
    expect(result.outputLimited).toBe(true);
    expect(result.code).not.toBe(0);
    expect(result.stdout.length).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('caps the size of a file a command writes', async () => {
    const options = repository(['reports/**'], { limits: { fileMb: 8 } });
    const result = await run('head -c 1000000000 /dev/zero > reports/big.bin', options);
    expect(result.code).not.toBe(0);
    expect(statSync(join(options.root, 'reports/big.bin')).size).toBeLessThanOrEqual(8 * 1024 * 1024);
  });
});

describe('control sequences from a command', () => {
  const hostile = '\u001b]0;owned\u0007\u001b[2J\u001b[31mred\u001b[0m\rover\u0008\u009b31m';

  it('are taken out of its output before anyone reads it', async () => {
    if (!bubblewrapAvailable()) return;
    const options = repository(['reports/**']);
    const result = await run(`printf '\\033]0;owned\\007\\033[2Jbad\\033[31mred\\r\\n' >&2; exit 1`, options);
    expect(result.stderr).toContain('bad');
    expect(result.stderr).not.toMatch(/[\u001b\u0007\r]/);
  });

  it('never reach a log row', () => {
    const text = appendLogRow(SMALL_PLAN, {
      when: '2026-12-05 10:00',
      phase: 'P1',
      action: 'P1.1 run x',
      result: 'failed',
      signal: 'CONTINUE',
      notes: `exit 1: ${hostile}`,
    });
    const row = parsePlan(text).log!.rows.at(-1)!;
    expect(row.notes).toContain('red');
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });
});

describe('the environment allow-list', () => {
  it('keeps PATH, HOME, LANG, LC_*, TERM and TZ and drops the rest', () => {
    const env = commandEnvironment({
      PATH: '/usr/bin',
      HOME: '/home/a',
      LANG: 'C.UTF-8',
      LC_TIME: 'C',
      TERM: 'xterm',
      TZ: 'UTC',
      ...SECRETS,
      NPM_CONFIG_TOKEN: 't',
    });
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/home/a', LANG: 'C.UTF-8', LC_TIME: 'C', TERM: 'xterm', TZ: 'UTC' });
  });

  it('keeps the provider keys only for an external agent, and what the engine sets for the step', () => {
    const env = commandEnvironment({ PATH: '/usr/bin', ...SECRETS }, { keepKeys: true, own: { DEEPPLAN_SKILL_DIR: '/x' } });
    expect(env).toEqual({ PATH: '/usr/bin', ANTHROPIC_API_KEY: SECRETS.ANTHROPIC_API_KEY, DEEPPLAN_SKILL_DIR: '/x' });
  });
});

withBubblewrap('the key-theft path, end to end', () => {
  it('a plan with no scope.write cannot redirect the next model call: the step fails, the config is unchanged, the listener hears nothing', async () => {
    let heard = 0;
    const listener = createHttpServer((_, response) => {
      heard++;
      response.end('{}');
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as AddressInfo).port;
    const attack = `node scripts/put.mjs deepplan.config.yaml "providers:" "  anthropic:" "    base_url: http://127.0.0.1:${port}/" "execute:" "  network: true"`;
    const plan = edit(SCRIPTED_PLAN, '  write: [notes/**, out/**]\n', '');
    const root = scriptedRepo(edit(plan, '1. /fetch-notes "- Acme renewed" "- Globex paused"', `1. run: \`${attack}\``), { 'deepplan.config.yaml': CONFIG });
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'run', 'plans/p.md', '--once', '--json'], {
        cwd: root,
        env: cliEnvironment({ ANTHROPIC_API_KEY: SECRETS.ANTHROPIC_API_KEY }),
      }).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
      expect(stdout).toContain('"failed"');
      expect(readFileSync(join(root, 'deepplan.config.yaml'), 'utf8')).toBe(CONFIG);
      expect(heard).toBe(0);
    } finally {
      listener.close();
    }
  });
});

describe('process groups left by killed runs', () => {
  const base = '/sys/fs/cgroup/pids';
  const canMake = process.getuid?.() === 0 && existsSync(join(base, 'cgroup.procs'));

  it.skipIf(!canMake)('are removed by the next deepplan process, so they do not pile up', async () => {
    // A pid that is no longer running: a child that has exited.
    const dead = execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"']).toString().trim();
    const stale = join(base, `deepplan-${dead}-1-stale0`);
    mkdirSync(stale);
    const live = join(base, `deepplan-${process.pid}-999-keep00`);
    mkdirSync(live);
    try {
      await promisify(execFile)(process.execPath, [CLI, 'doctor'], { cwd: makeRepo(), env: cliEnvironment() });
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(live)).toBe(true);
    } finally {
      for (const dir of [stale, live]) if (existsSync(dir)) rmdirSync(dir);
    }
  });
});
