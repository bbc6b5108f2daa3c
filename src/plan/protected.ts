/**
 * What the engine reads, and so what no command of a plan may write, whatever its scope says.
 *
 * A step that could rewrite deepplan.config.yaml could point the next model call (and its API key) at a server of its
 * own, or turn the network on for the next step; one that could rewrite a plan, a skill, a prompt, a template or the
 * calibration history could change what the next iteration does. git's folder is here because its hooks and config run
 * outside any sandbox, `.github/` because its workflows run in CI with the repository's secrets, `node_modules/`
 * because the engine and the tools load code from it.
 *
 * The sandbox binds every one of these read-only (and refuses a scope.write that would make one writable); the scope
 * rule reports such a scope in CI. Paths are repository-relative, POSIX.
 */

/** Folders no command may write: git's own, the dependencies, and deepplan's state. */
export const PRIVATE_FOLDERS = ['.git', 'node_modules', '.deepplan'] as const;

/** Every top-level entry of a repository that the engine (or a host that runs code from it) reads. */
export const ENGINE_READ_ROOTS = [
  ...PRIVATE_FOLDERS,
  'deepplan.config.yaml',
  'deepplan.config.yml',
  // Plans and the offline planner's template overrides (plans/templates/), review reports, prompt overrides, the
  // calibration history.
  'plans',
  'reviews',
  'prompts',
  'calibration',
  // Skill folders (and agent hosts' own settings, whose hooks run outside the sandbox).
  '.claude',
  '.agents',
  '.codex',
  'skills',
  // CI workflows run with the repository's secrets.
  '.github',
] as const;

/** Files a step never reads: they hold secrets for the processes that need them, not for a plan's commands. */
export const SECRET_FILE_PATTERN = /^\.env(\..+)?$/;

function firstSegment(pattern: string): string {
  return pattern.replace(/^\.\//, '').split(/[\\/]/)[0] ?? '';
}

/** The private folder (of PRIVATE_FOLDERS) a repository-relative path or glob lies in, or null. */
export function privateFolderOf(pattern: string): string | null {
  const first = firstSegment(pattern);
  return (PRIVATE_FOLDERS as readonly string[]).includes(first) ? first : null;
}

/**
 * The engine-read path a repository-relative path or glob lies in, or null. `extra` adds repository-relative paths
 * the configuration names (skills.paths).
 */
export function engineReadPathOf(pattern: string, extra: readonly string[] = []): string | null {
  const clean = pattern.replace(/^\.\//, '');
  const first = firstSegment(clean);
  if ((ENGINE_READ_ROOTS as readonly string[]).includes(first)) return first;
  for (const path of extra) {
    const root = path.replace(/^\.\//, '').replace(/\/+$/, '');
    if (root !== '' && (clean === root || clean.startsWith(`${root}/`))) return root;
  }
  return null;
}

/** Repository-relative skill folders named in the configuration (absolute ones lie outside the repository). */
export function configuredReadPaths(skillPaths: readonly string[] | undefined): string[] {
  return (skillPaths ?? []).filter((path) => !path.startsWith('/') && !path.startsWith('~') && !path.split('/').includes('..'));
}
