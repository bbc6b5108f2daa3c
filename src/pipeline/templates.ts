import { parse } from 'yaml';
import { z } from 'zod';
import { pathSlug, type DraftCriterion, type DraftPhase } from './draft.js';
import { fillPlaceholders as fill, readOverridable } from './prompts.js';

/**
 * Offline plan templates (plans/templates/<name>.yaml): phases with `{placeholders}`; a phase with `each: source`
 * repeats once per source file named in the request. A `prompts`-style override: a repository's own
 * plans/templates/<name>.yaml wins over the shipped one.
 */

const TemplatePhase = z.object({
  each: z.literal('source').optional(),
  title: z.string(),
  inputs: z.array(z.string()).default([]),
  outputs: z.array(z.string()).default([]),
  gate: z.enum(['none', 'human', 'review']).default('none'),
  steps: z.array(z.string()).min(1),
  done: z.object({ text: z.string(), verify: z.string().optional() }),
  /**
   * Words a skill serving this phase would use in its name or description ("newsletter", "render", "html"): the
   * offline skill audit matches skills on them as well as on the title and steps. Not written into the plan.
   */
  hints: z.array(z.string()).default([]),
});

export const Template = z.object({
  deliverable: z.enum(['infrastructure', 'content', 'research', 'analytics']),
  title: z.string(),
  phases: z.array(TemplatePhase).min(1),
  criteria: z.array(z.object({ text: z.string(), verify: z.string().optional() })).min(1),
  scope: z.object({ write: z.array(z.string()), commands: z.array(z.string()).optional() }).optional(),
});
export type Template = z.infer<typeof Template>;

export function loadTemplate(name: string, root: string | null): Template {
  const found = readOverridable(`plans/templates/${name}.yaml`, root);
  if (!found) throw new Error(`no plan template named ${name}`);
  const result = Template.safeParse(parse(found.text));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`template ${found.source}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return result.data;
}

/** The template's phases and criteria for these sources, numbered P1, P2, … in order, each depending on the one before. */
export function fillTemplate(template: Template, values: Record<string, string>, sources: string[]): { phases: DraftPhase[]; criteria: DraftCriterion[]; title: string } {
  const phases: DraftPhase[] = [];
  for (const entry of template.phases) {
    const rounds = entry.each === 'source' ? sources.map((source) => ({ ...values, source, source_slug: pathSlug(source) })) : [values];
    for (const round of rounds) {
      const id = `P${phases.length + 1}`;
      phases.push({
        id,
        title: fill(entry.title, round),
        inputs: entry.inputs.map((input) => fill(input, round)),
        outputs: entry.outputs.map((output) => fill(output, round)),
        context: 'direct',
        dependsOn: phases.length > 0 ? [phases[phases.length - 1]!.id] : [],
        gate: entry.gate,
        ...(entry.hints.length > 0 ? { hints: entry.hints.map((hint) => fill(hint, round)) } : {}),
        doneWhen: { text: fill(entry.done.text, round), ...(entry.done.verify ? { verify: fill(entry.done.verify, round) } : {}) },
        steps: entry.steps.map((step) => {
          const text = fill(step, round);
          const run = /^run:\s*`(.+)`$/.exec(text);
          if (run) return { kind: 'run' as const, command: run[1]! };
          // `/skill-name args`: a skill step (a repository's template can name its own skills).
          const skill = /^\/([a-z0-9][a-z0-9-]*)(?:\s+(.*))?$/.exec(text);
          if (skill) return { kind: 'skill' as const, skill: skill[1]!, args: skill[2] ?? '' };
          return { kind: 'model' as const, text };
        }),
      });
    }
  }
  const criteria = template.criteria.map((criterion, index) => ({
    id: `SC${index + 1}`,
    text: fill(criterion.text, values),
    ...(criterion.verify ? { verify: fill(criterion.verify, values) } : {}),
  }));
  return { phases, criteria, title: fill(template.title, values) };
}
