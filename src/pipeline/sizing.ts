import { contextModeFor, measureInputs } from '../rules/phase-context-mode.js';
import { countFileOperations, FILE_OPS_WARN, touchedFiles } from '../rules/phase-file-ops.js';
import type { DraftPhase, DraftStep, PlanDraft } from './draft.js';
import { pathSlug, stepText } from './draft.js';

/** What sizing may look up on disk: repository-relative files and their line counts. */
export interface SizingContext {
  expand(pattern: string): string[];
  lineCount(file: string): number | null;
}

export interface SizingResult {
  draft: PlanDraft;
  /** One line per change, for the person reading the pipeline's output. */
  changes: string[];
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

function clonePhase(phase: DraftPhase, changes: Partial<DraftPhase>): DraftPhase {
  return { ...phase, inputs: [...phase.inputs], outputs: [...phase.outputs], dependsOn: [...phase.dependsOn], steps: [...phase.steps], ...changes };
}



/**
 * Sizing, in plain code: each phase's context mode from its inputs' line counts; a phase whose inputs reach 3,000
 * lines first gets an extraction sub-phase (`P4a`) that reads them in extract_then_assemble or map_reduce mode and
 * writes a short extract the phase then reads directly; a phase touching more than 10 files is split by entity
 * (its outputs) into sub-phases. Dependencies and the skill mapping follow the new phases.
 */
export interface SizingOptions {
  /** A substantial plan (quality bar adversarial, or 10+ phases) should have at least this many phases: 15. */
  minPhases?: number;
}

export function sizePhases(draft: PlanDraft, context: SizingContext, options: SizingOptions = {}): SizingResult {
  const changes: string[] = [];
  const renamed = new Map<string, string[]>();
  /** Phases split into a sequence: whoever depended on the phase now depends on its last part. */
  const sequential = new Set<string>();
  let phases: DraftPhase[] = [];

  for (const original of draft.phases) {
    let phase = clonePhase(original, {});
    const lines = measureInputs(phase, context).lines;
    const mode = contextModeFor(lines);
    if (mode !== 'direct') {
      const id = `${phase.id}a`;
      const extract = `notes/${pathSlug(phase.id)}-extract.md`;
      const sources = phase.inputs.filter((pattern) => context.expand(pattern).length > 0);
      phases.push({
        id,
        title: `Extract what ${phase.id} needs from its ${lines.toLocaleString('en-US')} source lines`,
        inputs: sources,
        outputs: [extract],
        context: mode,
        dependsOn: phase.dependsOn,
        gate: 'none',
        doneWhen: { text: 'the extract exists and names its sources', verify: `test -s ${extract}` },
        steps: [
          {
            kind: 'model',
            text:
              mode === 'map_reduce'
                ? `Read ${sources.join(', ')} in chunks of at most 2,000 lines; note what "${phase.title}" needs from each chunk, with line references, then merge the notes into ${extract}.`
                : `Extract from ${sources.join(', ')} what "${phase.title}" needs, with line references, into ${extract}; then assemble it into one summary.`,
          },
        ],
      });
      phase = clonePhase(phase, {
        inputs: [...phase.inputs.filter((pattern) => !sources.includes(pattern)), extract],
        dependsOn: [id],
        context: 'direct',
      });
      changes.push(`${phase.id} reads ${lines.toLocaleString('en-US')} source lines: inserted ${id} to extract them (${mode}); ${phase.id} now reads ${extract} directly`);
    } else {
      phase.context = 'direct';
    }

    const operations = countFileOperations(phase, context);
    if (operations > FILE_OPS_WARN && phase.outputs.length > 1) {
      const parts = splitByEntity(phase, context);
      if (parts.length > 1) {
        // A phase already given an extraction sub-phase keeps letter a for it.
        const offset = mode !== 'direct' ? 1 : 0;
        const ids = parts.map((_, index) => `${phase.id}${LETTERS[index + offset]}`);
        parts.forEach((part, index) => phases.push({ ...part, id: ids[index]!, title: `${phase.title} (${index + 1} of ${parts.length})` }));
        renamed.set(phase.id, ids);
        changes.push(`${phase.id} touches ${operations} files: split by entity into ${ids.join(', ')} (at most ${FILE_OPS_WARN} files each)`);
        continue;
      }
    }
    phases.push(phase);
  }

  if (options.minPhases !== undefined && phases.length < options.minPhases) {
    phases = splitBySteps(phases, options.minPhases, renamed, sequential, changes);
    if (phases.length < options.minPhases) {
      changes.push(`${phases.length} phases after sizing; a substantial plan should have ${options.minPhases} to 25 (no phase has steps left to split)`);
    }
  }

  // Phases that depended on a split phase now depend on all of its parts (on its last part, for a sequence).
  for (const phase of phases) {
    phase.dependsOn = [
      ...new Set(
        phase.dependsOn.flatMap((id) => {
          const parts = renamed.get(id);
          if (!parts || parts.includes(phase.id)) return [id];
          return sequential.has(id) ? [parts[parts.length - 1]!] : parts;
        }),
      ),
    ];
  }
  // A skill mapped to a split phase is mapped to the parts whose steps invoke it.
  const mapped = draft.skills.mapped.map((skill) => ({
    ...skill,
    phases: [
      ...new Set(
        skill.phases.flatMap((id) => {
          const parts = renamed.get(id);
          if (!parts) return [id];
          return parts.filter((part) => phases.find((phase) => phase.id === part)?.steps.some((step) => step.kind === 'skill' && step.skill === skill.name));
        }),
      ),
    ],
  }));
  return { draft: { ...draft, phases, skills: { ...draft.skills, mapped } }, changes };
}

/**
 * Raises a substantial plan towards `minPhases` by giving each step of its biggest phases a sub-phase of its own
 * (`P5` with three steps becomes `P5a`, `P5b`, `P5c`, in sequence). A step keeps the outputs it names; the last part
 * keeps the rest and the phase's own `Done when`. Phases that already are sub-phases are left alone.
 */
function splitBySteps(phases: DraftPhase[], minPhases: number, renamed: Map<string, string[]>, sequential: Set<string>, changes: string[]): DraftPhase[] {
  const candidates = phases
    .filter((phase) => /^P\d+$/.test(phase.id) && phase.steps.length > 1)
    .sort((a, b) => b.steps.length - a.steps.length || a.id.localeCompare(b.id, undefined, { numeric: true }));
  let count = phases.length;
  const splits = new Map<string, DraftPhase[]>();
  const entity = (output: string) => (output.split('/').pop() ?? output).replace(/\.[a-z0-9]+$/i, '');
  for (const phase of candidates) {
    if (count >= minPhases) break;
    // Letters already used by sub-phases sizing inserted before (the extraction sub-phase is `a`).
    const taken = new Set(phases.filter((other) => other.id.startsWith(phase.id) && other.id !== phase.id).map((other) => other.id.slice(phase.id.length)));
    const letters = [...LETTERS].filter((letter) => !taken.has(letter)).slice(0, phase.steps.length);
    if (letters.length < phase.steps.length) continue;
    const claimed = new Set<string>();
    const parts = phase.steps.map((step, index) => {
      const last = index === phase.steps.length - 1;
      const own = last ? phase.outputs.filter((output) => !claimed.has(output)) : phase.outputs.filter((output) => !claimed.has(output) && stepText(step).includes(entity(output)));
      for (const output of own) claimed.add(output);
      const id = `${phase.id}${letters[index]}`;
      const doneWhen = last
        ? phase.doneWhen
        : own.length > 0
          ? { text: `step ${index + 1} of ${phase.id} wrote ${own.join(', ')}`, verify: own.map((output) => `test -s ${output}`).join(' && ') }
          : { text: `step ${index + 1} of ${phase.id} is done (${stepText(step).slice(0, 60)})` };
      return clonePhase(phase, { id, title: `${phase.title} (step ${index + 1} of ${phase.steps.length})`, outputs: own, steps: [step], doneWhen, gate: last ? phase.gate : 'none' });
    });
    parts.forEach((part, index) => {
      if (index > 0) part.dependsOn = [parts[index - 1]!.id];
    });
    splits.set(phase.id, parts);
    renamed.set(phase.id, parts.map((part) => part.id));
    sequential.add(phase.id);
    count += parts.length - 1;
    changes.push(`${phase.id} split into one sub-phase per step (${parts.map((part) => part.id).join(', ')}) to bring the substantial plan towards ${minPhases} phases`);
  }
  return phases.flatMap((phase) => splits.get(phase.id) ?? [phase]);
}

/**
 * Splits a phase's outputs into groups whose file operations stay within the limit. Each group keeps the inputs,
 * and the steps that name one of its outputs (by path or by name); steps that name no output go to every group.
 */
function splitByEntity(phase: DraftPhase, context: SizingContext): DraftPhase[] {
  const room = FILE_OPS_WARN - touchedFiles(phase.inputs, context).size;
  if (room < 1) return [phase];
  const groups: string[][] = [];
  for (const output of phase.outputs) {
    const last = groups[groups.length - 1];
    if (!last || last.length >= room) groups.push([output]);
    else last.push(output);
  }
  // An output's entity is its file name without the extension: drafts/derick-schaefer.md → derick-schaefer.
  const entity = (output: string) => (output.split('/').pop() ?? output).replace(/\.[a-z0-9]+$/i, '');
  const token = (name: string) => new RegExp(`(^|[^A-Za-z0-9_-])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_-])`);
  const names = (step: DraftStep, outputs: string[]) => outputs.some((output) => token(entity(output)).test(stepText(step)));
  return groups.map((outputs) => {
    const steps = phase.steps.filter((step) => names(step, outputs) || !names(step, phase.outputs));
    const verify = outputs.length === 1 ? `test -s ${outputs[0]}` : `test "$(ls ${outputs.join(' ')} | wc -l)" -eq ${outputs.length}`;
    return clonePhase(phase, {
      outputs,
      steps: steps.length > 0 ? steps : phase.steps,
      doneWhen: { text: `${outputs.length} of the phase's outputs exist`, verify },
    });
  });
}
