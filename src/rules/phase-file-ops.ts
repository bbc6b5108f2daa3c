import picomatch from 'picomatch';
import { isDynamic } from './context.js';
import { registerMemo } from '../plan/memos.js';
import type { Phase } from '../plan/types.js';
import type { Rule, RuleContext } from './rule.js';

export const FILE_OPS_WARN = 10;
export const FILE_OPS_BLOCK = 20;

const matchers = new Map<string, (file: string) => boolean>();
registerMemo(() => matchers.clear());
function matcher(pattern: string): (file: string) => boolean {
  let match = matchers.get(pattern);
  if (!match) {
    match = picomatch(pattern.replace(/^\.\//, ''), { dot: false });
    matchers.set(pattern, match);
  }
  return match;
}

/**
 * The files a plan says it will write: every output of every phase that is a path, not a glob. A glob of another
 * phase (`drafts/*.html` read by the phase that sends them) matches these as well as what is on disk, so it counts
 * the same before the run has written them, while it runs and after.
 */
export function plannedOutputs(phases: ReadonlyArray<Pick<Phase, 'outputs'>>): string[] {
  return [
    ...new Set(
      phases
        .flatMap((phase) => phase.outputs)
        .filter((output) => !isDynamic(output))
        .map((output) => output.replace(/^\.\//, '')),
    ),
  ];
}

/**
 * The distinct files some paths or globs name: what each matches on disk, plus, for a glob, the files the plan will
 * write that it matches (`planned`); a pattern that matches neither stands for one file.
 */
export function touchedFiles(patterns: string[], context: Pick<RuleContext, 'expand'>, planned: readonly string[] = []): Set<string> {
  const files = new Set<string>();
  for (const pattern of patterns) {
    const matched = [...context.expand(pattern)];
    if (planned.length > 0 && isDynamic(pattern)) {
      const match = matcher(pattern);
      for (const file of planned) if (match(file)) matched.push(file);
    }
    if (matched.length === 0) files.add(`\0${pattern}`);
    for (const file of matched) files.add(file);
  }
  return files;
}

/**
 * Distinct files matched by a phase's Inputs and Outputs (PLAN_FORMAT.md 2.3). With the plan's phases, a glob also
 * counts the files the plan will write that it matches (plannedOutputs), so lint, the planner's sizing and the
 * executor's pre-flight count the same number whether or not the run has written them yet.
 */
export function countFileOperations(
  phase: Pick<Phase, 'inputs' | 'outputs'>,
  context: Pick<RuleContext, 'expand'>,
  phases?: ReadonlyArray<Pick<Phase, 'outputs'>>,
): number {
  return touchedFiles([...phase.inputs, ...phase.outputs], context, phases ? plannedOutputs(phases) : []).size;
}

export const phaseFileOps: Rule = {
  id: 'phase-file-ops',
  severity: 'warning',
  description: 'A phase touches at most 10 files (more: split it by entity); more than 20 is an error the executor blocks on.',
  check(plan, context, report) {
    const planned = plannedOutputs(plan.phases);
    for (const phase of plan.phases) {
      if (phase.malformedHeading) continue;
      const count = touchedFiles([...phase.inputs, ...phase.outputs], context, planned).size;
      const line = phase.heading.start.line;
      if (count > FILE_OPS_BLOCK) {
        report(`${phase.id} touches ${count} files; more than ${FILE_OPS_BLOCK} is blocked by pre-flight (split it by entity)`, {
          line,
          severity: 'error',
        });
      } else if (count > FILE_OPS_WARN) {
        report(`${phase.id} touches ${count} files; more than ${FILE_OPS_WARN} should be split by entity`, { line });
      }
    }
  },
};
