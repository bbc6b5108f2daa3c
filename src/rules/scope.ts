import picomatch from 'picomatch';
import { isInsideRepository, privateFolderOf } from './context.js';
import { frontMatterLine, type Rule } from './rule.js';
import { quoteSkillArguments, ScopeError, startsWithPrefix } from '../plan/scope-policy.js';

/**
 * Arguments quoteSkillArguments passes without parsing them: words of letters, digits, `_`, `.`, `/` and `-` between
 * spaces (no quote, operator, variable or glob for the shell parser to find, nothing its quoting escapes) with no
 * `..` segment. Most steps' arguments are such paths and names; only the others are parsed.
 */
export function plainArguments(args: string): boolean {
  return /^ *[\w./-]+(?: +[\w./-]+)* *$/.test(args) && !/(?:^|[ /])\.\.(?=$|[ /])/.test(args);
}

/** The folder glob that would allow a path (`drafts/a.md` → `drafts/**`). */
function folderGlob(pattern: string): string {
  const clean = pattern.replace(/^\.\//, '');
  const slash = clean.search(/\/[^/]*$/);
  const folder = slash === -1 ? '' : clean.slice(0, slash).replace(/\/?[^/]*[*?[{].*$/, '');
  return folder ? `${folder}/**` : `"${clean}"`;
}

export const scope: Rule = {
  id: 'scope',
  severity: 'error',
  description:
    'Paths stay inside the repository; outputs fall under scope.write; run: steps start with an allowed scope.commands prefix; skill arguments hold no shell operators.',
  check(plan, _context, report) {
    const write = plan.meta.scope?.write;
    const commands = plan.meta.scope?.commands;
    if (plan.frontMatter?.data && !write && plan.phases.length > 0) {
      report(
        `the plan has no scope.write: its steps may write only inside the repository's existing top-level folders and files, except the ones the engine reads (plans, skills, prompts, calibration, configuration, .git), and cannot create new ones`,
        {
          line: frontMatterLine(plan, plan.meta.scope ? ['scope'] : ['state']),
          severity: 'warning',
          fix: 'add scope.write with the folders the phases write (e.g. scope: {write: [drafts/**, out/**]})',
        },
      );
    }
    for (const [index, pattern] of (write ?? []).entries()) {
      if (!isInsideRepository(pattern)) {
        report(`scope.write "${pattern}" leaves the repository; use paths relative to its root without ".."`, {
          line: frontMatterLine(plan, ['scope', 'write', index]),
          fix: `replace "${pattern}" in scope.write with the folders the phases write, relative to the repository root (drafts/**, out/**)`,
        });
      } else if (privateFolderOf(pattern)) {
        report(`scope.write "${pattern}" is in ${privateFolderOf(pattern)}/, which commands never write; name a folder of the work`, {
          line: frontMatterLine(plan, ['scope', 'write', index]),
          fix: `replace "${pattern}" in scope.write with a folder of the work outside ${privateFolderOf(pattern)}/`,
        });
      }
    }
    const inScope = write
      ? picomatch(
          write.filter((pattern) => isInsideRepository(pattern) && !privateFolderOf(pattern)),
          { dot: true },
        )
      : null;
    for (const phase of plan.phases) {
      for (const [key, patterns] of [
        ['inputs', phase.inputs],
        ['outputs', phase.outputs],
      ] as const) {
        const line = phase.fields.get(key)?.line ?? phase.heading.start.line;
        for (const pattern of patterns) {
          if (!isInsideRepository(pattern)) {
            report(`${phase.id} ${key === 'inputs' ? 'reads' : 'writes'} "${pattern}", outside the repository`, {
              line,
              fix: `change "${pattern}" in ${phase.id}'s ${key === 'inputs' ? 'Inputs' : 'Outputs'} (line ${line}) to a path inside the repository, relative to its root`,
            });
          } else if (key === 'outputs' && inScope && !inScope(pattern.replace(/^\.\//, ''))) {
            report(`${phase.id} writes "${pattern}", which scope.write does not allow`, {
              line,
              fix: `add ${folderGlob(pattern)} to scope.write, or make ${phase.id} write under ${(write ?? []).join(', ') || 'a folder scope.write allows'}`,
            });
          }
        }
      }
      // A tool skill's arguments go after its command in one shell line: operators there would chain commands.
      for (const step of phase.steps) {
        if (step.kind !== 'skill' || step.args === '' || plainArguments(step.args)) continue;
        try {
          quoteSkillArguments(step.args);
        } catch (error) {
          if (!(error instanceof ScopeError)) throw error;
          report(`${phase.id}.${step.index} /${step.skill}: ${error.message}`, {
            line: step.line,
            fix: `give /${step.skill} in ${phase.id}.${step.index} (line ${step.line}) plain arguments: no shell operators and no ".."; chain the work as separate steps`,
          });
        }
      }
      if (!commands) continue;
      for (const step of phase.steps) {
        if (step.kind !== 'run' || step.command === null) continue;
        const command = step.command.trim();
        if (!commands.some((prefix) => startsWithPrefix(command, prefix))) {
          report(`${phase.id}.${step.index} runs \`${command}\`, which starts with no prefix in scope.commands`, {
            line: step.line,
            fix: `start ${phase.id}.${step.index} (line ${step.line}) with one of ${commands.join(', ')}, or add its command's prefix to scope.commands`,
          });
        }
      }
    }
  },
};
