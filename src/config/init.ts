import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_FILE } from './config.js';

/**
 * What `deepplan init` writes (src/cli/init-command.ts says what happened to each file): deepplan.config.yaml, the
 * example plan, a CI workflow and .deepplan/ in .gitignore, from the package's templates.
 */

/** The files `deepplan init` writes come from here (shipped with the package: "files" in package.json). */
export const INIT_TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'templates', 'init');

export const EXAMPLE_PLAN = 'plans/example.md';
export const WORKFLOW_FILE = '.github/workflows/deepplan.yml';
export const MATRIX_WORKFLOW_FILE = '.github/workflows/deepplan-matrix.yml';

/** Which workflow `deepplan init --workflow <kind>` writes: the pull-request lint and review, or the phase matrix. */
export const WORKFLOW_KINDS = ['pr', 'matrix'] as const;
export type WorkflowKind = (typeof WORKFLOW_KINDS)[number];
export const IGNORED_FOLDER = '.deepplan/';

/** A file init cannot write for a reason the user must fix (a missing template, a folder in the way). */
export class InitError extends Error {
  override name = 'InitError';
}

function template(name: string): string {
  try {
    return readFileSync(join(INIT_TEMPLATES, name), 'utf8');
  } catch (error) {
    throw new InitError(`the package's template ${name} is missing (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); reinstall deepplan`);
  }
}

/**
 * The pull-request workflow, as `deepplan init` writes it and docs/ci.md shows it: one source, the template, with
 * the action pinned to `version` of deepplan and pushes to `branch` linted.
 */
export function renderWorkflow(options: { version: string; branch?: string }): string {
  return template('deepplan-workflow.yml')
    .replaceAll('__VERSION__', options.version)
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
export function currentBranch(root: string): string {
  try {
    const head = readFileSync(join(root, '.git', 'HEAD'), 'utf8').trim();
    const match = /^ref: refs\/heads\/(.+)$/.exec(head);
    if (match && /^[\w./-]+$/.test(match[1]!)) return match[1]!;
  } catch {
    // .git is a file (a worktree) or unreadable: the usual default.
  }
  return 'main';
}

/** The files init writes for a workflow kind, each with how to render it; .gitignore is handled by ensureIgnored. */
export function initFiles(root: string, kind: WorkflowKind, version: string): Array<[string, () => string]> {
  return [
    [CONFIG_FILE, renderConfig],
    [EXAMPLE_PLAN, () => renderExamplePlan()],
    kind === 'matrix' ? [MATRIX_WORKFLOW_FILE, () => renderMatrixWorkflow()] : [WORKFLOW_FILE, () => renderWorkflow({ version, branch: currentBranch(root) })],
  ];
}

export type Outcome = 'written' | 'skipped' | 'updated';

/** Writes `text` to `path` unless it exists (then only with `force`). `wx` makes "it exists" and "write" one step. */
export function writeNew(root: string, path: string, text: string, force: boolean): Outcome {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  const existed = existsSync(full);
  if (existed && !force) return 'skipped';
  if (existed && statSync(full).isDirectory()) throw new InitError(`${path} is a folder; move it away to let deepplan init write the file`);
  writeFileSync(full, text, { flag: force ? 'w' : 'wx' });
  return existed ? 'updated' : 'written';
}

/** Whether a .gitignore line already ignores the .deepplan folder at the root (or anywhere). */
function ignoresDeepplan(text: string): boolean {
  return text.split(/\r?\n/).some((line) => /^\/?\.deepplan(\/|\/\*\*?)?\s*$/.test(line.trim()));
}

/** Adds .deepplan/ to the root's .gitignore once (creating the file if need be); it is only ever appended to. */
export function ensureIgnored(root: string): { outcome: Outcome; note: string } {
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
