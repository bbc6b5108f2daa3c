import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CONFIG_FILE, findRepoRoot } from '../config/config.js';
import {
  EXAMPLE_PLAN,
  ensureIgnored,
  InitError,
  initFiles,
  renderWorkflow as renderWorkflowOf,
  WORKFLOW_KINDS,
  type WorkflowKind,
  writeNew,
} from '../config/init.js';
import { toPosix } from '../plan/text.js';
import { EXIT, packageVersion, UserError } from './exit.js';

/** The pull-request workflow as init writes it, pinned to this version of deepplan (docs/ci.md shows the same). */
export function renderWorkflow(options: { version?: string; branch?: string } = {}): string {
  return renderWorkflowOf({ ...options, version: options.version ?? packageVersion() });
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
  const say = (line: string) => process.stdout.write(`${line}\n`);
  if (!existsSync(join(root, '.git'))) {
    say(`note: ${root} is not inside a git repository; writing there anyway (run git init to use the CI workflow)`);
  }
  const shown = (path: string) => toPosix(relative(cwd, join(root, path))) || path;
  let current = CONFIG_FILE;
  try {
    for (const [path, render] of initFiles(root, kind as WorkflowKind, packageVersion())) {
      current = path;
      const outcome = writeNew(root, path, render(), options.force === true);
      say(`${outcome.padEnd(8)} ${shown(path)}${outcome === 'skipped' ? ' (exists; --force overwrites it)' : ''}`);
    }
    current = '.gitignore';
    const ignored = ensureIgnored(root);
    say(`${ignored.outcome.padEnd(8)} ${shown('.gitignore')} (${ignored.note})`);
  } catch (error) {
    if (error instanceof InitError) throw new UserError(error.message, EXIT.failed);
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
