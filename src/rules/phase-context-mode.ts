import { formatCount } from '../plan/text.js';
import type { Plan, Phase } from '../plan/types.js';
import picomatch from 'picomatch';
import { pathsIn, stepText } from './plan-paths.js';
import type { Rule, RuleContext } from './rule.js';

export const DIRECT_MAX_LINES = 2999;
export const EXTRACT_MAX_LINES = 6000;

/** The context mode the format requires for a phase whose inputs total `lines` lines. */
export function contextModeFor(lines: number): 'direct' | 'extract_then_assemble' | 'map_reduce' {
  if (lines <= DIRECT_MAX_LINES) return 'direct';
  if (lines <= EXTRACT_MAX_LINES) return 'extract_then_assemble';
  return 'map_reduce';
}

const RANK = { direct: 0, extract_then_assemble: 1, map_reduce: 2 } as const;

/** Total lines of a phase's existing inputs, and whether every input pattern matched a file. */
export function measureInputs(
  phase: Pick<Phase, 'inputs'>,
  context: Pick<RuleContext, 'expand' | 'lineCount'>,
): { lines: number; complete: boolean; files: number } {
  const files = new Set<string>();
  let complete = true;
  for (const pattern of phase.inputs) {
    const matched = context.expand(pattern);
    if (matched.length === 0) complete = false;
    for (const file of matched) files.add(file);
  }
  let lines = 0;
  for (const file of files) lines += context.lineCount(file) ?? 0;
  return { lines, complete, files: files.size };
}

/**
 * Whether a phase's existing inputs hold at most DIRECT_MAX_LINES bytes: then they hold at most as many lines (a line
 * is one byte at least), `direct` is their mode, and a phase that declares it has nothing to report without a file
 * read (a per-entity phase reads a few small records; their sizes come from the stats that found them).
 */
function fitsDirect(inputs: string[], context: Pick<RuleContext, 'expand' | 'size'>): boolean {
  const files = new Set<string>();
  for (const pattern of inputs) for (const file of context.expand(pattern)) files.add(file);
  let bytes = 0;
  for (const file of files) {
    bytes += context.size(file) ?? 0;
    if (bytes > DIRECT_MAX_LINES) return false;
  }
  return true;
}

/**
 * Files a phase's steps name that exist and that no phase lists (in Inputs or Outputs): a step that reads a 5,000-line
 * file must not escape the context mode by leaving it out of Inputs. A file another phase lists is judged there (an
 * assembling phase names the source its extraction phase read). `listed` matches what some phase lists.
 */
function unlistedReads(phase: Phase, listed: (path: string) => boolean, context: Pick<RuleContext, 'expand'>): string[] {
  const found = new Set<string>();
  for (const { path } of pathsIn(stepText(phase))) {
    if (/[*?[\]{}]/.test(path) || listed(path)) continue;
    for (const file of context.expand(path)) if (!listed(file)) found.add(file);
  }
  return [...found];
}

/** A matcher of every path some phase of the plan lists as an input or an output (compiled once a plan). */
function listedByPlan(plan: Plan): (path: string) => boolean {
  const patterns = plan.phases.flatMap((phase) => [...phase.inputs, ...phase.outputs]);
  // Most are plain paths: a set answers them; only globs need picomatch (compiling is the costly part).
  const literal = new Set(patterns.filter((pattern) => !/[*?[\]{}!]/.test(pattern)).map((pattern) => pattern.replace(/^\.\//, '')));
  const globs = patterns.filter((pattern) => /[*?[\]{}!]/.test(pattern));
  const glob = globs.length > 0 ? picomatch(globs, { dot: true }) : () => false;
  return (path) => literal.has(path) || glob(path);
}

export const phaseContextMode: Rule = {
  id: 'phase-context-mode',
  severity: 'error',
  description: "A phase's Context matches its inputs' size: under 3,000 lines direct, to 6,000 extract_then_assemble, above map_reduce.",
  check(plan: Plan, context, report) {
    let listed: ((path: string) => boolean) | null = null;
    for (const phase of plan.phases) {
      if (phase.malformedHeading) continue;
      // Only steps that name an existing path need the plan's matcher.
      const named = pathsIn(stepText(phase));
      const unlisted = named.length === 0 ? [] : unlistedReads(phase, (listed ??= listedByPlan(plan)), context);
      if (phase.inputs.length === 0 && unlisted.length === 0) continue;
      const inputs = [...phase.inputs, ...unlisted];
      if (phase.context === 'direct' && fitsDirect(inputs, context)) continue;
      const measured = measureInputs({ inputs }, context);
      if (measured.files === 0) continue;
      const required = contextModeFor(measured.lines);
      const line = phase.fields.get('context')?.line ?? phase.heading.start.line;
      const declared = phase.context as keyof typeof RANK | null;
      const size = `${formatCount(measured.lines)} input lines`;
      if (declared === null) {
        report(`${phase.id} has no Context field; its ${size} call for \`${required}\``, { line, fix: `add "- Context: ${required}" to ${phase.id}'s fields` });
        continue;
      }
      if (!(declared in RANK)) continue;
      if (RANK[declared] < RANK[required]) {
        report(`${phase.id} reads ${size} with Context \`${declared}\`; that size needs \`${required}\``, {
          line,
          fix: `set ${phase.id}'s Context to ${required} (line ${line}), or split its inputs across phases`,
        });
      } else if (RANK[declared] > RANK[required] && measured.complete) {
        report(`${phase.id} reads only ${size}; Context \`${required}\` is enough (declared \`${declared}\`)`, {
          line,
          fix: `set ${phase.id}'s Context to ${required} (line ${line})`,
          severity: 'warning',
        });
      }
    }
  },
};
