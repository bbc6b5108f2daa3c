import { configuredReadPaths, engineReadPathOf, privateFolderOf } from '../plan/protected.js';
import { chainRefusal, parentPathRefusal, wholeRepositoryRefusal } from '../plan/scope-policy.js';
import { isInsideRepository } from './context.js';
import { frontMatterLine, type Rule } from './rule.js';

/**
 * What the executor refuses at its first iteration, found in CI instead: a run: step that chains commands or names
 * a path with `..`, a scope.write that covers the whole repository or a path the engine reads, and a step that
 * invokes a skill the audit excludes. (Prefixes outside scope.commands and skill arguments with shell syntax are the
 * `scope` rule's; a skill that is not installed is `skill-unknown`'s, an error once the plan is approved.)
 */

export const executorRefusals: Rule = {
  id: 'executor-refusals',
  severity: 'error',
  description: 'No step or scope the executor refuses: chained commands, `..` paths, a whole-repository or engine-read scope.write, an excluded skill invoked.',
  check(plan, context, report) {
    const write = plan.meta.scope?.write;
    const extra = configuredReadPaths(context.config.skills?.paths);
    for (const [index, pattern] of (write ?? []).entries()) {
      const line = frontMatterLine(plan, ['scope', 'write', index]);
      if (!isInsideRepository(pattern) || privateFolderOf(pattern)) continue;
      const whole = wholeRepositoryRefusal(pattern);
      if (whole) {
        report(`${whole}, the files the engine reads included; the executor refuses it: name the folders the work writes (e.g. drafts/**)`, {
          line,
          fix: `replace "${pattern}" in scope.write with the folders the phases' Outputs name`,
        });
        continue;
      }
      const engine = engineReadPathOf(pattern, extra);
      if (engine) {
        report(`scope.write "${pattern}" covers ${engine}, which the engine reads (plans, skills, prompts, configuration); steps may never write it`, {
          line,
          fix: `drop "${pattern}" from scope.write and write the work's files in a folder of their own`,
        });
      }
    }
    const excluded = new Map((plan.skills?.excluded ?? []).filter((skill) => skill.name).map((skill) => [skill.name, skill.reason]));
    const mapped = new Set((plan.skills?.mapped ?? []).map((skill) => skill.name));
    for (const phase of plan.phases) {
      if (phase.status === 'done') continue;
      for (const step of phase.steps) {
        const ref = `${phase.id}.${step.index}`;
        if (step.kind === 'run' && step.command) {
          const refusal = chainRefusal(step.command) ?? parentPathRefusal(step.command);
          if (refusal) {
            report(`${ref}: ${refusal}; the executor refuses it`, {
              line: step.line,
              fix: `split ${ref} into one run: step per command, each with paths from the repository root`,
            });
          }
        }
        if (step.kind === 'skill' && step.skill && excluded.has(step.skill) && !mapped.has(step.skill)) {
          const reason = excluded.get(step.skill)!.trim();
          report(
            `${ref} invokes /${step.skill}, which the skill audit EXCLUDES (${reason && reason !== '-' ? reason : 'no reason given'}); the executor will not run it`,
            {
              line: step.line,
              fix: `replace /${step.skill} in ${ref} with a mapped skill, or move ${step.skill} from Excluded to Mapped for ${phase.id} if the reason no longer holds`,
            },
          );
        }
      }
    }
  },
};
