import picomatch from 'picomatch';
import { isInsideRepository, privateFolderOf } from './context.js';
import { frontMatterLine, type Rule } from './rule.js';
import { quoteSkillArguments, ScopeError } from '../execute/scope.js';

export const scope: Rule = {
  id: 'scope',
  severity: 'error',
  description: 'Paths stay inside the repository; outputs fall under scope.write; run: steps start with an allowed scope.commands prefix; skill arguments hold no shell operators.',
  check(plan, _context, report) {
    const write = plan.meta.scope?.write;
    const commands = plan.meta.scope?.commands;
    for (const [index, pattern] of (write ?? []).entries()) {
      if (!isInsideRepository(pattern)) {
        report(`scope.write "${pattern}" leaves the repository; use paths relative to its root without ".."`, {
          line: frontMatterLine(plan, ['scope', 'write', index]),
        });
      } else if (privateFolderOf(pattern)) {
        report(`scope.write "${pattern}" is in ${privateFolderOf(pattern)}/, which commands never write; name a folder of the work`, {
          line: frontMatterLine(plan, ['scope', 'write', index]),
        });
      }
    }
    const inScope = write ? picomatch(write.filter((pattern) => isInsideRepository(pattern) && !privateFolderOf(pattern)), { dot: true }) : null;
    for (const phase of plan.phases) {
      for (const [key, patterns] of [
        ['inputs', phase.inputs],
        ['outputs', phase.outputs],
      ] as const) {
        const line = phase.fields.get(key)?.line ?? phase.heading.start.line;
        for (const pattern of patterns) {
          if (!isInsideRepository(pattern)) {
            report(`${phase.id} ${key === 'inputs' ? 'reads' : 'writes'} "${pattern}", outside the repository`, { line });
          } else if (key === 'outputs' && inScope && !inScope(pattern.replace(/^\.\//, ''))) {
            report(`${phase.id} writes "${pattern}", which scope.write does not allow`, { line });
          }
        }
      }
      // A tool skill's arguments go after its command in one shell line: operators there would chain commands.
      for (const step of phase.steps) {
        if (step.kind !== 'skill' || step.args === '') continue;
        try {
          quoteSkillArguments(step.args);
        } catch (error) {
          if (!(error instanceof ScopeError)) throw error;
          report(`${phase.id}.${step.index} /${step.skill}: ${error.message}`, { line: step.line });
        }
      }
      if (!commands) continue;
      for (const step of phase.steps) {
        if (step.kind !== 'run' || step.command === null) continue;
        const command = step.command.trim();
        if (!commands.some((prefix) => command.startsWith(prefix))) {
          report(`${phase.id}.${step.index} runs \`${command}\`, which starts with no prefix in scope.commands`, { line: step.line });
        }
      }
    }
  },
};
