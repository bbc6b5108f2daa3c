import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_FILE, findRepoRoot } from '../config/config.js';
import { EXIT, packageVersion, UserError } from './exit.js';
import { toPosix } from '../plan/text.js';

/** The files `deepplan init` writes come from here (shipped with the package: "files" in package.json). */
export const INIT_TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'templates', 'init');

export const EXAMPLE_PLAN = 'plans/example.md';
export const WORKFLOW_FILE = '.github/workflows/deepplan.yml';
export const MATRIX_WORKFLOW_FILE = '.github/workflows/deepplan-matrix.yml';

/** Which workflow `deepplan init --workflow <kind>` writes: the pull-request lint and review, or the phase matrix. */
export const WORKFLOW_KINDS = ['pr', 'matrix'] as const;
export type WorkflowKind = (typeof WORKFLOW_KINDS)[number];
export const IGNORED_FOLDER = '.deepplan/';

function template(name: string): string {
  try {
    return readFileSync(join(INIT_TEMPLATES, name), 'utf8');
  } catch (error) {
    throw new UserError(
      `the package's template ${name} is missing (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); reinstall deepplan`,
      EXIT.failed,
    );
  }
}

/**
 * The pull-request workflow, as `deepplan init` writes it and docs/ci.md shows it: one source, the template, with
 * the action pinned to this version of deepplan and pushes to `branch` linted.
 */
export function renderWorkflow(options: { version?: string; branch?: string } = {}): string {
  return template('deepplan-workflow.yml')
    .replaceAll('__VERSION__', options.version ?? packageVersion())
    .replaceAll('__BRANCH__', options.branch ?? 'main');
}

/**
 * The matrix workflow (docs/scale-out.md): the ready phases of `plan` as parallel jobs, at most `parallel` at once,
 * then one job merges their row records into the plan and commits.
 */
export function renderMatrixWorkflow(options: { plan?: string; parallel?: number } = {}): string {
  return template('workflows/deepplan-matrix.yml')
    .replaceAll('__PLAN__', options.plan ?? EXAMPLE_PLAN)
    .replaceAll('__PARALLEL__', String(options.parallel ?? 4));
}

/** The example plan, created today. */
export function renderExamplePlan(today = new Date()): string {
  return template('example-plan.md').replaceAll('__DATE__', today.toISOString().slice(0, 10));
}

export function renderConfig(): string {
  return template(CONFIG_FILE);
}

/** The branch HEAD names (read from .git/HEAD, so a repository without commits has one too); else main. */
function currentBranch(root: string): string {
  try {
    const head = readFileSync(join(root, '.git', 'HEAD'), 'utf8').trim();
    const match = /^ref: refs\/heads\/(.+)$/.exec(head);
    if (match && /^[\w./-]+$/.test(match[1]!)) return match[1]!;
  } catch {
    // .git is a file (a worktree) or unreadable: the usual default.
  }
  return 'main';
}

type Outcome = 'written' | 'skipped' | 'updated';

/** Writes `text` to `path` unless it exists (then only with `force`). `wx` makes "it exists" and "write" one step. */
function writeNew(root: string, path: string, text: string, force: boolean): Outcome {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  const existed = existsSync(full);
  if (existed && !force) return 'skipped';
  if (existed && statSync(full).isDirectory()) throw new UserError(`${path} is a folder; move it away to let deepplan init write the file`, EXIT.failed);
  writeFileSync(full, text, { flag: force ? 'w' : 'wx' });
  return existed ? 'updated' : 'written';
}

/** Whether a .gitignore line already ignores the .deepplan folder at the root (or anywhere). */
function ignoresDeepplan(text: string): boolean {
  return text.split(/\r?\n/).some((line) => /^\/?\.deepplan(\/|\/\*\*?)?\s*$/.test(line.trim()));
}

function ensureIgnored(root: string): { outcome: Outcome; note: string } {
  const path = join(root, '.gitignore');
  if (!existsSync(path)) {
    writeFileSync(path, `# deepplan's run ledgers and locks\n${IGNORED_FOLDER}\n`, { flag: 'wx' });
    return { outcome: 'written', note: `ignores ${IGNORED_FOLDER}` };
  }
  const text = readFileSync(path, 'utf8');
  if (ignoresDeepplan(text)) return { outcome: 'skipped', note: `already ignores ${IGNORED_FOLDER}` };
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const separator = text.length === 0 || text.endsWith('\n') ? '' : eol;
  writeFileSync(path, `${text}${separator}${IGNORED_FOLDER}${eol}`);
  return { outcome: 'updated', note: `${IGNORED_FOLDER} added` };
}

/**
 * `deepplan init`: sets deepplan up in the repository around the working directory (its root, found as the other
 * commands find it). Outside a git repository it works in the current folder and says so. An existing file is
 * never overwritten without `force`; .gitignore is only ever appended to.
 */
export async function runInitCommand(options: { force?: boolean; workflow?: string }): Promise<number> {
  const kind = options.workflow ?? 'pr';
  if (!(WORKFLOW_KINDS as readonly string[]).includes(kind)) throw new UserError(`--workflow must be one of ${WORKFLOW_KINDS.join(', ')}, not ${kind}`);
  const cwd = process.cwd();
  const root = findRepoRoot(cwd);
  const force = options.force === true;
  const say = (line: string) => process.stdout.write(`${line}\n`);
  if (!existsSync(join(root, '.git'))) {
    say(`note: ${root} is not inside a git repository; writing there anyway (run git init to use the CI workflow)`);
  }
  const files: Array<[string, () => string]> = [
    [CONFIG_FILE, renderConfig],
    [EXAMPLE_PLAN, () => renderExamplePlan()],
    kind === 'matrix' ? [MATRIX_WORKFLOW_FILE, () => renderMatrixWorkflow()] : [WORKFLOW_FILE, () => renderWorkflow({ branch: currentBranch(root) })],
  ];
  const shown = (path: string) => toPosix(relative(cwd, join(root, path))) || path;
  let current = CONFIG_FILE;
  try {
    for (const [path, render] of files) {
      current = path;
      const outcome = writeNew(root, path, render(), force);
      say(`${outcome.padEnd(8)} ${shown(path)}${outcome === 'skipped' ? ' (exists; --force overwrites it)' : ''}`);
    }
    current = '.gitignore';
    const ignored = ensureIgnored(root);
    say(`${ignored.outcome.padEnd(8)} ${shown('.gitignore')} (${ignored.note})`);
  } catch (error) {
    if (error instanceof UserError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`cannot write ${shown(current)}: ${code ?? (error as Error).message}`, EXIT.failed);
  }
  say(
    [
      '',
      'next:',
      `  deepplan lint                       check ${shown(EXAMPLE_PLAN)} (and every plan under plans/)`,
      '  deepplan plan --request "..."       plan real work into plans/',
      kind === 'matrix'
        ? `  commit; then run the workflow "deepplan matrix" (Actions tab) with a plan; it takes one wave of ready phases per run (docs/scale-out.md)`
        : '  commit; for review comments on pull requests add ANTHROPIC_API_KEY, OPENAI_API_KEY or GEMINI_API_KEY as repository secrets',
    ].join('\n'),
  );
  return EXIT.ok;
}
