import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { globSync, isDynamicPattern } from 'tinyglobby';
import { ConfigError, findRepoRoot, loadConfig, type Config } from '../config/config.js';
import { parsePlan } from '../plan/parse.js';
import { toPosix } from '../plan/text.js';
import { checkPlanPath, pathExists, PlanFileError, readPlanFileSync } from '../plan/store.js';
import type { Plan, Severity } from '../plan/types.js';
import { PARSE_RULE_ID, RULE_IDS, RULES } from '../rules/catalog.js';
import { createRuleContext } from '../rules/context.js';
import { forgetWordPatterns } from '../rules/done-when-verifiable.js';
import { forgetFileMatchers } from '../rules/phase-file-ops.js';
import { forgetPlanPaths } from '../rules/plan-paths.js';
import type { Finding, RuleContext } from '../rules/rule.js';
import { lintInPool, type FileResult } from './pool.js';

export type { FileResult };

export interface LintSummary {
  errors: number;
  warnings: number;
}

export interface LintRun {
  files: FileResult[];
  summary: LintSummary;
}

/** Arguments that cannot be linted (no such file, a glob matching nothing): the run fails with exit 2. */
export class LintUsageError extends Error {
  override name = 'LintUsageError';
}

const severityOverrides = new WeakMap<Config, Map<string, Severity | 'off' | 'default'>>();

function ruleSettings(config: Config): Map<string, Severity | 'off' | 'default'> {
  const cached = severityOverrides.get(config);
  if (cached) return cached;
  const settings = new Map<string, Severity | 'off' | 'default'>();
  for (const [id, setting] of Object.entries(config.rules ?? {})) {
    if (!RULE_IDS.includes(id)) {
      throw new ConfigError(`deepplan.config.yaml: rules.${id}: no such rule (rules: ${RULE_IDS.join(', ')})`);
    }
    settings.set(id, setting === 'warn' ? 'warning' : setting === 'on' ? 'default' : setting);
  }
  severityOverrides.set(config, settings);
  return settings;
}

/** Runs every rule over one parsed plan. A rule that throws becomes an error finding, never a crash. */
export function lintPlan(plan: Plan, context: RuleContext): Finding[] {
  const settings = ruleSettings(context.config);
  // Problems found while reading follow the configuration of their rule too; `parse` (the file cannot be read) cannot be turned off.
  const findings: Finding[] = [];
  for (const diagnostic of plan.diagnostics) {
    const setting = diagnostic.ruleId === PARSE_RULE_ID ? 'default' : (settings.get(diagnostic.ruleId) ?? 'default');
    if (setting === 'off') continue;
    findings.push({ ...diagnostic, severity: setting === 'default' ? diagnostic.severity : setting });
  }
  if (plan.diagnostics.some((diagnostic) => diagnostic.ruleId === PARSE_RULE_ID)) return findings;
  for (const rule of RULES) {
    const setting = settings.get(rule.id) ?? 'default';
    if (setting === 'off') continue;
    const report = (message: string, where: { line?: number; column?: number; severity?: Severity; fix?: string } = {}) => {
      findings.push({
        ruleId: rule.id,
        severity: setting === 'default' ? (where.severity ?? rule.severity) : setting,
        // One line: a field value that wraps in the plan must not break the text and github reporters.
        message: message.replace(/\s*[\r\n]+\s*/g, ' '),
        line: where.line ?? 1,
        column: where.column ?? 1,
        ...(where.fix ? { fix: where.fix.replace(/\s*[\r\n]+\s*/g, ' ') } : {}),
      });
    };
    try {
      rule.check(plan, context, report);
    } catch (error) {
      report(`internal error in rule ${rule.id}: ${error instanceof Error ? error.message : String(error)}`, { severity: 'error' });
    }
  }
  return findings
    .filter((finding) => finding.ruleId === PARSE_RULE_ID || !isDisabled(plan, finding))
    .sort((a, b) => a.line - b.line || a.column - b.column || a.ruleId.localeCompare(b.ruleId));
}

function isDisabled(plan: Plan, finding: Finding): boolean {
  return plan.disabled.some(
    (range) =>
      finding.line >= range.fromLine &&
      finding.line <= range.toLine &&
      (range.rules === null ? !(range.except ?? []).includes(finding.ruleId) : range.rules.includes(finding.ruleId)),
  );
}

const contexts = new Map<string, RuleContext>();

/**
 * Empties what linting remembers across plans in this process: the rule contexts of the repositories linted (their
 * configuration, skills and file listings) and the rules' caches of the plans' paths, globs and words. The start-up
 * snapshot calls it after its warm-up, so the heap every start restores holds nothing of the warm-up's plans.
 */
export function forgetLinted(): void {
  contexts.clear();
  forgetPlanPaths();
  forgetWordPatterns();
  forgetFileMatchers();
}

/** The rule context of the repository a file belongs to, shared by every file of that repository in this process. */
export function contextFor(file: string): RuleContext {
  return contextForRoot(findRepoRoot(dirname(resolve(file))));
}

/** The rule context of a repository root (cached like contextFor). */
export function contextForRoot(root: string): RuleContext {
  let context = contexts.get(root);
  if (!context) {
    const config = loadConfig(root);
    ruleSettings(config); // an unknown rule id or setting fails the run here, before any file is read
    context = createRuleContext(root, config);
    contexts.set(root, context);
  }
  return context;
}

/** Lints plan text as if it were the file at `path` (used by tests, the pipeline and the reviewer). */
export function lintText(text: string, path: string): Finding[] {
  return lintPlan(parsePlan(text, { path }), contextFor(path));
}

export async function lintFile(file: string, cwd: string): Promise<FileResult> {
  const absolute = resolve(cwd, file);
  const context = contextFor(absolute);
  let findings: Finding[];
  try {
    findings = lintPlan(readPlanFileSync(absolute, { root: context.root }), context);
  } catch (error) {
    findings = [{ ruleId: PARSE_RULE_ID, severity: 'error', message: (error as Error).message, line: 1, column: 1 }];
  }
  return { path: toDisplayPath(cwd, absolute), repoPath: toPosix(relative(context.root, absolute)), findings };
}

function toDisplayPath(cwd: string, absolute: string): string {
  const shown = relative(cwd, absolute);
  return toPosix(shown.startsWith('..') || isAbsolute(shown) ? absolute : shown);
}

export const DEFAULT_PATTERN = 'plans/**/*.md';
const IGNORED = ['**/node_modules/**', '**/.git/**', '**/plans/templates/**'];

/**
 * Files named by the command line: files as they are, directories as their Markdown files, globs expanded. A path
 * that exists is taken as it is, before any glob expansion (`plans/x-(v2).md`, `plans/[draft].md`). A named path
 * must be a regular file or a folder inside its repository (never a device, a FIFO, a socket, or a symlink out of
 * the repository). A glob or a folder yields regular files only and follows no symlink; each file is checked again
 * when it is read (lintFile).
 */
export function expandTargets(targets: string[], cwd: string): string[] {
  const files: string[] = [];
  for (const target of targets) {
    const absolute = resolve(cwd, target);
    if (!pathExists(absolute)) {
      if (!isDynamicPattern(target)) throw new LintUsageError(`no such file or directory: ${target}`);
      // Symlinked folders are not followed: a link to / must not send the walk over the whole machine.
      const matched = globSync(target, { cwd, onlyFiles: true, ignore: IGNORED, absolute: true, followSymbolicLinks: false });
      if (matched.length === 0) throw new LintUsageError(`no files match ${target}`);
      files.push(...matched.sort());
      continue;
    }
    let real: string;
    try {
      // A folder is the root of its own search (`lint .` at the top of a repository); a file, its folder.
      real = checkPlanPath(absolute, { shown: target, root: findRepoRoot(isFolder(absolute) ? absolute : dirname(absolute)), folders: true });
    } catch (error) {
      if (error instanceof PlanFileError) throw new LintUsageError(error.message);
      throw error;
    }
    if (statSync(real).isDirectory()) {
      const matched = globSync('**/*.md', { cwd: absolute, onlyFiles: true, ignore: IGNORED, absolute: true, followSymbolicLinks: false });
      if (matched.length === 0) throw new LintUsageError(`no plan files (*.md) in the folder ${target}`);
      files.push(...matched.sort());
    } else {
      files.push(absolute);
    }
  }
  return [...new Set(files)];
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function summarize(files: FileResult[]): LintSummary {
  let errors = 0;
  let warnings = 0;
  for (const file of files) {
    for (const finding of file.findings) {
      if (finding.severity === 'error') errors++;
      else warnings++;
    }
  }
  return { errors, warnings };
}

export interface LintFilesOptions {
  /**
   * Threads to lint on, this one included. Default: the `DEEPPLAN_LINT_WORKERS` environment variable, else one less
   * than os.availableParallelism() (at least 1). 1 is the sequential run.
   */
  threads?: number;
  /** Fewer files than this are linted on this thread alone; starting a worker costs ~0.2 s of loading. */
  parallelThreshold?: number;
}

/**
 * From this many files on, a second thread pays. A worker spends ~0.2 s loading the parser and warming up, and a plan
 * takes 10 to 40 ms to parse and check; measured on 2 cores shared with other work (whole runs on 300-row plans,
 * 2 threads against 1, median of 11): 30 files 1.20x the time, 50 files 1.08x, 80 files 0.91x, 120 files 0.92x,
 * 300 files 0.78x.
 */
export const PARALLEL_THRESHOLD = 80;
/** Each thread past the first gets this many files or more: a third core is used from 120 files on, and so on. */
const FILES_PER_THREAD = 40;

export async function lintFiles(files: string[], cwd: string, options: LintFilesOptions = {}): Promise<LintRun> {
  const requested = options.threads ?? threadsFromEnvironment();
  const threads =
    files.length >= (options.parallelThreshold ?? PARALLEL_THRESHOLD) ? Math.min(requested, Math.max(2, Math.floor(files.length / FILES_PER_THREAD))) : 1;
  let results: FileResult[];
  if (threads > 1) {
    results = (await lintInPool(files, cwd, lintFile, { threads })).files;
  } else {
    results = [];
    for (const file of files) results.push(await lintFile(file, cwd));
  }
  return { files: results, summary: summarize(results) };
}

/**
 * One core is left to V8's own threads (garbage collection, compilation) and the rest of the machine: a lint thread
 * reads its files synchronously and never waits, so two threads on two cores fight for them. Measured on 2 cores,
 * whole runs on 300-row plans, median of 4 to 8: 300 plans on 2 threads took 1.30 × the time of one thread, 600
 * plans 1.33 ×. `DEEPPLAN_LINT_WORKERS` sets the count.
 */
function threadsFromEnvironment(): number {
  const setting = Number.parseInt(process.env['DEEPPLAN_LINT_WORKERS'] ?? '', 10);
  return Number.isInteger(setting) && setting >= 1 ? setting : Math.max(1, availableParallelism() - 1);
}
