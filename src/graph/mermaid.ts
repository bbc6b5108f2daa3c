import type { Phase, Plan } from '../plan/types.js';

/**
 * A plan's phases as a Mermaid `flowchart`, the form GitHub renders in Markdown: one node per phase, arrows from the
 * phases it depends on, its gate as the node's shape, the skills its steps invoke, its status as a colour. A pure
 * function of the parsed plan: the same plan gives the same bytes.
 */

export const PHASE_STATUSES = ['done', 'active', 'blocked', 'pending'] as const;
export type PhaseStatus = (typeof PHASE_STATUSES)[number];

/** Longest title (in characters) a node shows; longer titles end in `…`. */
export const MAX_TITLE = 60;
/** Longest skills line a node shows. */
const MAX_SKILLS = 60;

/**
 * Explicit fills, strokes and text colours (GitHub's Primer palette) so a node reads the same on the light and the
 * dark theme: white text on the saturated fills, dark text on the pale pending fill, which stays light on a dark page.
 */
const CLASS_STYLES: Record<PhaseStatus, string> = {
  done: 'fill:#1f883d,stroke:#116329,color:#ffffff',
  active: 'fill:#0969da,stroke:#0550ae,color:#ffffff,stroke-width:3px',
  blocked: 'fill:#cf222e,stroke:#82071e,color:#ffffff,stroke-width:3px',
  pending: 'fill:#eaeef2,stroke:#6e7781,color:#1f2328,stroke-dasharray:4 3',
};

/**
 * Characters a label keeps as they are. Everything else of ASCII becomes a `#<code>;` entity: quotes and brackets
 * would end the label, `#` starts an entity, `<` would be HTML, `|` ends an edge label, `:` and `;` trip Mermaid's
 * `style…:#…;` rewriting, `$` starts KaTeX, a backtick a Markdown string, `%` a comment or directive.
 * Letters of other scripts and emoji pass through.
 */
const SAFE = /[A-Za-z0-9 .,/_\-'+*!?@^=~]/;

/** Text for a quoted Mermaid label: whitespace folded, cut to `max` characters, every risky character an entity. */
export function mermaidText(text: string, max = MAX_TITLE): string {
  const folded = Array.from(text.replace(/[\s\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim());
  const shown = folded.length > max ? [...folded.slice(0, max - 1), '…'] : folded;
  return shown.map((char) => (char.charCodeAt(0) < 0x80 && !SAFE.test(char) ? `#${char.charCodeAt(0)};` : char)).join('');
}

export function statusClass(status: string | null): PhaseStatus {
  return (PHASE_STATUSES as readonly string[]).includes(status ?? '') ? (status as PhaseStatus) : 'pending';
}

/** The distinct skills a phase's `/skill` steps invoke, in step order. */
export function phaseSkills(phase: Phase): string[] {
  const skills: string[] = [];
  for (const step of phase.steps) if (step.kind === 'skill' && step.skill && !skills.includes(step.skill)) skills.push(step.skill);
  return skills;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** `dependency`: a `Depends on` entry. `order`: no dependency is written, so the phase follows the one above it. */
  kind: 'dependency' | 'order';
}

/**
 * The edges between phases (by phase id). `Depends on` entries that name no phase of the plan, or the phase itself,
 * are left out (the phase-dependencies rule reports them). A phase without dependencies follows the phase above it,
 * as the engine runs phases in document order, unless that phase already waits for it (which would draw a cycle
 * the plan does not have).
 */
export function phaseEdges(plan: Plan): GraphEdge[] {
  const byId = new Map<string, Phase>();
  for (const phase of plan.phases) if (!byId.has(phase.id)) byId.set(phase.id, phase);
  const dependencies = (phase: Phase) => phase.dependsOn.filter((id, index, all) => id !== phase.id && byId.has(id) && all.indexOf(id) === index);
  const waitsFor = (from: Phase, target: string): boolean => {
    const seen = new Set<string>();
    const stack = [from.id];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (id === target) return true;
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...dependencies(byId.get(id)!));
    }
    return false;
  };
  const edges: GraphEdge[] = [];
  plan.phases.forEach((phase, index) => {
    if (byId.get(phase.id) !== phase) return;
    const explicit = dependencies(phase);
    for (const id of explicit) edges.push({ from: id, to: phase.id, kind: 'dependency' });
    const previous = plan.phases[index - 1];
    if (explicit.length === 0 && previous && byId.get(previous.id) === previous && previous.id !== phase.id && !waitsFor(previous, phase.id)) {
      edges.push({ from: previous.id, to: phase.id, kind: 'order' });
    }
  });
  return edges;
}

export interface MermaidOptions {
  /** `TD` top-down (the default) or `LR` left to right. */
  direction?: 'TD' | 'LR';
}

/** The flowchart text (no Markdown fence), ending in a newline. */
export function planToMermaid(plan: Plan, options: MermaidOptions = {}): string {
  const lines = [`flowchart ${options.direction ?? 'TD'}`];
  if (plan.meta.id && /^[a-z0-9][a-z0-9-]{0,63}$/.test(plan.meta.id)) lines.push(`    %% deepplan graph of ${plan.meta.id}`);
  lines.push('    %% hexagon: human gate; double-edged box: review gate; dotted arrow: follows in document order (no Depends on)');

  // Node ids: the phase id when it is a well-formed one seen first; anything else (a malformed heading, a duplicate)
  // gets a neutral id, so no title ever reaches Mermaid outside a quoted label.
  const nodeOf = new Map<string, string>();
  const nodes: Array<{ phase: Phase; node: string }> = [];
  plan.phases.forEach((phase, index) => {
    const wellFormed = /^P\d+[a-z]?$/i.test(phase.id) && !phase.malformedHeading && !nodeOf.has(phase.id);
    const node = wellFormed ? phase.id : `phase${index + 1}`;
    if (!nodeOf.has(phase.id)) nodeOf.set(phase.id, node);
    nodes.push({ phase, node });
  });

  if (nodes.length === 0) lines.push('    empty["no phases"]');
  for (const { phase, node } of nodes) {
    const label = [mermaidText(phase.malformedHeading ? phase.title : `${phase.id}. ${phase.title}`)];
    if (phase.gate === 'human' || phase.gate === 'review') label.push(`${phase.gate} gate`);
    const skills = phaseSkills(phase);
    if (skills.length > 0) label.push(mermaidText(skills.map((skill) => `/${skill}`).join(', '), MAX_SKILLS));
    const text = `"${label.join('<br/>')}"`;
    const shape = phase.gate === 'human' ? `{{${text}}}` : phase.gate === 'review' ? `[[${text}]]` : `[${text}]`;
    lines.push(`    ${node}${shape}`);
  }

  for (const edge of phaseEdges(plan)) {
    lines.push(`    ${nodeOf.get(edge.from)} ${edge.kind === 'dependency' ? '-->' : '-.->'} ${nodeOf.get(edge.to)}`);
  }

  for (const status of PHASE_STATUSES) lines.push(`    classDef ${status} ${CLASS_STYLES[status]}`);
  for (const status of PHASE_STATUSES) {
    const members = nodes.filter(({ phase }) => statusClass(phase.status) === status).map(({ node }) => node);
    if (members.length > 0) lines.push(`    class ${members.join(',')} ${status}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The flowchart in a ```mermaid fence, for Markdown (GitHub renders it as a picture). */
export function mermaidBlock(plan: Plan, options: MermaidOptions = {}): string {
  return `\`\`\`mermaid\n${planToMermaid(plan, options)}\`\`\`\n`;
}
