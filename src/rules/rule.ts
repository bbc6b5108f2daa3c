import type { Config } from '../config/config.js';
import type { Plan, Severity } from '../plan/types.js';
import type { SkillIndex } from '../skills/discover.js';

export interface Finding {
  ruleId: string;
  severity: Severity;
  message: string;
  line: number;
  column: number;
  /** What to change, and where, to resolve the finding ("invoke /x in P3, or drop P3 from x's row"); optional. */
  fix?: string;
}

/** What a rule may look up besides the plan: the disk, resolved from the repository root. */
export interface RuleContext {
  /** Absolute path of the repository root. */
  root: string;
  config: Config;
  skills(): SkillIndex;
  /** Repository-relative files a path or glob names. */
  expand(pattern: string): string[];
  /**
   * The files directly in `folder` (repository-relative, ending in `/`, or '' for the root) whose names end in
   * `extension`: what `expand(folder + '*' + extension)` lists there, without its files of subfolders.
   */
  filesIn(folder: string, extension: string): string[];
  /** The size in bytes of a repository-relative file; null when it is no file. */
  size(file: string): number | null;
  /** Lines in a repository-relative file; null when it does not exist or is not readable text. */
  lineCount(file: string): number | null;
  /** The text of a repository-relative file of at most 1 MB; null when it does not exist, is larger or is not text. */
  readText(file: string): string | null;
}

export type Report = (message: string, where?: { line?: number; column?: number; severity?: Severity; fix?: string }) => void;

export interface Rule {
  id: string;
  /** The severity of its findings unless a finding says otherwise or the configuration overrides it. */
  severity: Severity;
  description: string;
  /** Rules that read the front matter do not run when it cannot be read. */
  needsFrontMatter?: boolean;
  check(plan: Plan, context: RuleContext, report: Report): void;
}

export function docsUrl(ruleId: string): string {
  return `docs/rules.md#${ruleId}`;
}

/** The phases that count as a substantial plan: 15 to 25 phases, review before approval. */
export function isSubstantial(plan: Plan): boolean {
  return plan.meta.quality_bar === 'adversarial' || plan.phases.length >= 10;
}

/** Line of a front-matter value, for findings about it; the opening `---` when it cannot be found. */
export function frontMatterLine(plan: Plan, path: Array<string | number>): number {
  const fm = plan.frontMatter;
  if (!fm?.doc) return 1;
  for (let depth = path.length; depth > 0; depth--) {
    const node = fm.doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return plan.pointAt(fm.contentStart + node.range[0]).line;
  }
  return 2;
}
