import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { globSync } from 'tinyglobby';
import { readPlanFile } from '../plan/store.js';
import type { Phase } from '../plan/types.js';

/**
 * The working copies of `run --parallel` (runners/waves.ts) on disk: where a plan's copies live, how a copy is made,
 * which files a phase declares, and the sweep of the folders no plan needs any more.
 */

/** The folder of a plan's working copies: the same for every run of the plan, so a killed run's copies are found. */
export function wavesHome(planPath: string): string {
  return join(tmpdir(), 'deepplan-waves', createHash('sha256').update(resolve(planPath)).digest('hex').slice(0, 16));
}

/** The file in a plan's waves folder that names the plan, so that a run of any plan can tell whether it is still needed. */
export const PLAN_NAME = 'plan.path';

/** The files a phase declares as Outputs that exist in the copy (globs expanded there). */
export function declaredOutputs(root: string, phase: Phase | undefined): string[] {
  if (!phase) return [];
  const patterns = phase.outputs.map((output) => output.replace(/^`|`$/g, '')).filter((output) => output !== '' && !output.startsWith('/'));
  return patterns.length === 0 ? [] : globSync(patterns, { cwd: root, onlyFiles: true, dot: true });
}

/** The names in a folder; none when it is not there (another run may remove a folder it no longer needs). */
export function listed(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Removes the waves folders of other plans that are no longer needed: their plan file is gone (a repository removed)
 * or complete. Nothing in them is a person's: what a copy's phase changed was copied back at every merge. Folders
 * that do not name their plan (PLAN_NAME) are left alone.
 */
export async function sweepOtherHomes(own: string): Promise<void> {
  const parent = dirname(own);
  for (const name of listed(parent)) {
    const home = join(parent, name);
    if (home === own) continue;
    let planPath: string;
    try {
      planPath = readFileSync(join(home, PLAN_NAME), 'utf8');
    } catch {
      continue;
    }
    const gone = !existsSync(planPath);
    if (gone || (await readPlanFile(planPath).catch(() => null))?.meta.status === 'complete') rmSync(home, { recursive: true, force: true });
  }
}

/** A fresh working copy of the repository: everything but .git, lock folders and the copies' own folder. */
export function makeCopy(root: string, to: string, home: string): void {
  rmSync(to, { recursive: true, force: true });
  rmSync(`${to}.json`, { force: true });
  mkdirSync(dirname(to), { recursive: true });
  const skip = (path: string) => {
    const inside = relative(root, path);
    return inside === '.git' || inside.startsWith(`.git${sep}`) || path.endsWith('.lock') || path === home || path.startsWith(`${home}${sep}`);
  };
  cpSync(root, to, { recursive: true, filter: (path) => !skip(path) });
}
