import { contextModeFor, measureInputs } from '../rules/phase-context-mode.js';
import { isDynamicPattern } from 'tinyglobby';
import { countFileOperations, FILE_OPS_BLOCK, FILE_OPS_WARN, plannedOutputs, touchedFiles } from '../rules/phase-file-ops.js';
import { MAX_PHASES } from '../rules/phase-count.js';
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
  /**
   * Why the plan cannot be sized into one plan that pre-flight lets run (a phase still over 20 files, more than 25
   * phases), with what to do instead; null when it can.
   */
  refusal: string | null;
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
  const problems: string[] = [];
  /** Phases split into a sequence: whoever depended on the phase now depends on its last part. */
  const sequential = new Set<string>();
  let phases: DraftPhase[] = [];

  const extracted: Array<{ phase: DraftPhase; mode: ReturnType<typeof contextModeFor> }> = [];
  for (const original of draft.phases) {
    let phase = clonePhase(original, {});
    const lines = measureInputs(phase, context).lines;
    const mode = contextModeFor(lines);
    if (mode !== 'direct') {
      const id = `${phase.id}a`;
      const extract = `notes/${pathSlug(phase.id)}-extract.md`;
      const sources = phase.inputs.filter((pattern) => context.expand(pattern).length > 0);
      extracted.push({
        mode: 'direct',
        phase: {
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
        },
      });
      phase = clonePhase(phase, {
        inputs: [...phase.inputs.filter((pattern) => !sources.includes(pattern)), extract],
        dependsOn: [id],
        context: 'direct',
      });
      changes.push(
        `${phase.id} reads ${lines.toLocaleString('en-US')} source lines: inserted ${id} to extract them (${mode}); ${phase.id} now reads ${extract} directly`,
      );
    } else {
      phase.context = 'direct';
    }
    extracted.push({ phase, mode });
  }

  // Globs a phase writes, expanded against the entities known now, so the plan counts its files the same before,
  // during and after the run.
  const written: string[] = [];
  for (const entry of extracted) {
    const expanded = expandOutputs(entry.phase, context, written);
    if (expanded) {
      changes.push(
        `${entry.phase.id} writes ${expanded.glob}: one file per entity of ${expanded.from} (${expanded.outputs.length}), listed as ${expanded.example}`,
      );
      entry.phase = clonePhase(entry.phase, { outputs: [...entry.phase.outputs.filter((output) => output !== expanded.glob), ...expanded.outputs] });
    }
    written.push(...plannedOutputs([entry.phase]));
  }
  const planned = plannedOutputs(extracted.map((entry) => entry.phase));

  for (const { phase, mode } of extracted) {
    const operations = countFileOperations(
      phase,
      context,
      extracted.map((entry) => entry.phase),
    );
    if (operations > FILE_OPS_WARN) {
      const split = splitByEntity(phase, context, planned);
      if (split.parts.length > 1) {
        // A phase already given an extraction sub-phase keeps letter a for it.
        const offset = mode !== 'direct' ? 1 : 0;
        const ids = split.parts.map((_, index) => `${phase.id}${LETTERS[index + offset]}`);
        // The parts before the last are siblings (each its own entities, or its own batch of inputs): they depend on
        // what the phase depended on and may run at once (run --parallel); the last keeps the phase's Done when, which
        // checks every part's files, so it waits for all of them.
        // A step every part needs first (it names no entity, so only the first part has it) keeps them in sequence.
        const last = split.parts.length - 1;
        const dependsOn = (part: DraftPhase, index: number) =>
          index === 0 ? part.dependsOn : !split.siblings ? [ids[index - 1]!] : index < last ? part.dependsOn : ids.slice(0, last);
        split.parts.forEach((part, index) =>
          phases.push({ ...part, id: ids[index]!, title: `${phase.title} (${index + 1} of ${split.parts.length})`, dependsOn: dependsOn(part, index) }),
        );
        renamed.set(phase.id, ids);
        sequential.add(phase.id);
        const order = split.siblings ? `${ids.slice(0, -1).join(', ')} side by side, then ${ids[ids.length - 1]}` : 'in sequence';
        const into = `split ${split.how} into ${ids.join(', ')} (at most ${FILE_OPS_WARN} files each)`;
        changes.push(`${phase.id} touches ${operations} files: ${into}, ${order}; ${ids[ids.length - 1]} keeps the phase's Done when`);
        continue;
      }
      if (operations > FILE_OPS_BLOCK)
        problems.push(`${phase.id} "${phase.title}" touches ${operations} files, more than the ${FILE_OPS_BLOCK} pre-flight allows, and ${split.why}`);
      else changes.push(`${phase.id} touches ${operations} files (over ${FILE_OPS_WARN}) and stays one phase: ${split.why}`);
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
  if (phases.length > MAX_PHASES) problems.push(`the plan has ${phases.length} phases after sizing, more than the ${MAX_PHASES} one plan holds`);
  const refusal =
    problems.length === 0
      ? null
      : `the work does not fit one plan that pre-flight lets run: ${problems.join('; ')}. Plan it as a series of plans, each over a part of the entities (name the part in the request: "part 1 of 3"), or give the step a form per entity or per batch`;
  return { draft: { ...draft, phases, skills: { ...draft.skills, mapped } }, changes, refusal };
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
      const own = last
        ? phase.outputs.filter((output) => !claimed.has(output))
        : phase.outputs.filter((output) => !claimed.has(output) && !isDynamicPattern(output) && stepText(step).includes(entity(output)));
      for (const output of own) claimed.add(output);
      const id = `${phase.id}${letters[index]}`;
      const doneWhen = last
        ? phase.doneWhen
        : own.length > 0
          ? { text: `step ${index + 1} of ${phase.id} wrote ${own.join(', ')}`, verify: own.map((output) => `test -s ${output}`).join(' && ') }
          : { text: `step ${index + 1} of ${phase.id} is done (${stepText(step).slice(0, 60)})` };
      return clonePhase(phase, {
        id,
        title: `${phase.title} (step ${index + 1} of ${phase.steps.length})`,
        outputs: own,
        steps: [step],
        doneWhen,
        gate: last ? phase.gate : 'none',
      });
    });
    parts.forEach((part, index) => {
      if (index > 0) part.dependsOn = [parts[index - 1]!.id];
    });
    splits.set(phase.id, parts);
    renamed.set(
      phase.id,
      parts.map((part) => part.id),
    );
    sequential.add(phase.id);
    count += parts.length - 1;
    changes.push(
      `${phase.id} split into one sub-phase per step (${parts.map((part) => part.id).join(', ')}) to bring the substantial plan towards ${minPhases} phases`,
    );
  }
  return phases.flatMap((phase) => splits.get(phase.id) ?? [phase]);
}

/** An output's entity is its file name without the extension: drafts/derick-schaefer.md → derick-schaefer. */
const entityOf = (path: string) => (path.split('/').pop() ?? path).replace(/\.[a-z0-9]+$/i, '');
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const tokenOf = (name: string) => new RegExp(`(^|[^A-Za-z0-9_-])${escape(name)}($|[^A-Za-z0-9_-])`);
const folderOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf('/')));

/**
 * A glob output whose file name has one `*` (`drafts/*.md`) in a phase that reads one file per entity
 * (`crm/contacts/acme/*.yaml`, on disk or written by an earlier phase): the files it will write, one per entity.
 */
function expandOutputs(
  phase: DraftPhase,
  context: SizingContext,
  written: string[],
): { glob: string; outputs: string[]; from: string; example: string } | null {
  for (const glob of phase.outputs) {
    const name = glob.split('/').pop() ?? '';
    if (!isDynamicPattern(glob) || isDynamicPattern(folderOf(glob)) || name.split('*').length !== 2 || /[?[\]{}()!+@]/.test(name)) continue;
    let best: { pattern: string; files: string[] } | null = null;
    for (const input of phase.inputs) {
      if (!isDynamicPattern(input)) continue;
      const files = touchedFiles([input], { expand: context.expand }, written);
      const real = [...files].filter((file) => !file.startsWith('\0') && folderOf(file) !== folderOf(glob));
      if (real.length >= 2 && (!best || real.length > best.files.length)) best = { pattern: input, files: real };
    }
    if (!best) continue;
    const names = [...new Set(best.files.map(entityOf))].filter((entity) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(entity)).sort();
    if (names.length < 2) continue;
    const outputs = names.map((entity) => glob.replace('*', entity));
    return { glob, outputs, from: best.pattern, example: glob.replace('*', `<${names.length} names>`) };
  }
  return null;
}

/**
 * Splits a phase that touches more than 10 files into parts of at most 10: side by side, then the last (`siblings`),
 * or in sequence when a step that names no entity comes first.
 * - One output per entity: each part writes a group of entities and reads their own input files (an input whose
 *   file name is the entity's) plus the shared inputs; a step that names entities goes to the part that has them; a
 *   step that names none runs in the first part when it comes before them, in the last when after, and a model step
 *   that is the phase's only kind of step is given each part's entities to work on. A scripted step that names no
 *   entity in between (or is the whole phase) cannot be divided: the phase stays whole.
 * - Many inputs and few outputs (a phase that reads every entity's file): model steps only; each part notes what the
 *   phase needs from a batch of the inputs, and the phase then reads the notes.
 * Earlier parts check each of their own files (`test -s` per path, never a glob); the last keeps the phase's own
 * Done when and gate, so nothing of the phase's check is lost.
 */
function splitByEntity(phase: DraftPhase, context: SizingContext, planned: string[]): { parts: DraftPhase[]; how: string; why: string; siblings?: boolean } {
  const entityOutputs = phase.outputs.filter((output) => !isDynamicPattern(output));
  const names = new Set(entityOutputs.map(entityOf));
  const steps = phase.steps.map((step) => ({ step, named: [...names].filter((entity) => tokenOf(entity).test(stepText(step))) }));
  const scripted = (step: DraftStep) => step.kind !== 'model';
  if (entityOutputs.length >= 2 && names.size === entityOutputs.length) {
    const naming = steps.map((entry, index) => (entry.named.length > 0 ? index : -1)).filter((index) => index >= 0);
    const firstNamed = naming[0] ?? -1;
    const lastNamed = naming[naming.length - 1] ?? -1;
    const stuck = steps.find(
      (entry, index) => entry.named.length === 0 && scripted(entry.step) && (naming.length === 0 || (index > firstNamed && index < lastNamed)),
    );
    if (stuck) return { parts: [phase], how: '', why: `its scripted step ${stepText(stuck.step)} names no single entity, so it cannot be divided among parts` };
    // Inputs that belong to one entity go with it; the others every part reads.
    const inputFiles = phase.inputs.flatMap((pattern): Array<{ pattern: string; file: string | null }> => {
      const files = [...touchedFiles([pattern], { expand: context.expand }, planned)].filter((file) => !file.startsWith('\0'));
      return files.length > 0 && files.some((file) => names.has(entityOf(file))) ? files.map((file) => ({ pattern, file })) : [{ pattern, file: null }];
    });
    const own = (entity: string) => inputFiles.filter((entry) => entry.file !== null && entityOf(entry.file) === entity).map((entry) => entry.file!);
    const shared = [
      ...new Set(inputFiles.filter((entry) => entry.file === null || !names.has(entityOf(entry.file))).map((entry) => entry.file ?? entry.pattern)),
    ];
    const sharedCount = touchedFiles(shared, { expand: context.expand }, planned).size;
    const room = FILE_OPS_WARN - sharedCount;
    const groups: string[][] = [];
    let used = 0;
    for (const output of entityOutputs) {
      const cost = 1 + own(entityOf(output)).length;
      const last = groups[groups.length - 1];
      if (!last || used + cost > room) {
        groups.push([output]);
        used = cost;
      } else {
        last.push(output);
        used += cost;
      }
    }
    if (room < 2 || groups.length < 2) return { parts: [phase], how: '', why: `its shared inputs alone touch ${sharedCount} files` };
    const parts = groups.map((outputs, index) => {
      const entities = outputs.map(entityOf);
      const first = index === 0;
      const last = index === groups.length - 1;
      const partSteps: DraftStep[] = [];
      steps.forEach((entry, position) => {
        if (entry.named.length > 0) {
          if (entry.named.some((entity) => entities.includes(entity))) partSteps.push(entry.step);
        } else if (naming.length === 0) {
          partSteps.push({ kind: 'model', text: `For ${listOf(entities)} only (${outputs.join(', ')}): ${stepText(entry.step)}` });
        } else if ((position < firstNamed && first) || (position > lastNamed && last)) {
          partSteps.push(entry.step);
        }
      });
      return clonePhase(phase, {
        inputs: [...shared, ...entities.flatMap(own)],
        outputs,
        steps: partSteps,
        gate: last ? phase.gate : 'none',
        doneWhen: last
          ? phase.doneWhen
          : {
              text: `${outputs.length} of the phase's files are written: ${listOf(entities)}`,
              verify: outputs.map((output) => `test -s ${output}`).join(' && '),
            },
      });
    });
    // Parts are independent unless a step that names no entity comes first (only the first part runs it).
    return { parts, how: 'by entity', why: '', siblings: firstNamed <= 0 };
  }

  // A phase that reads many files into a few outputs: batches of its inputs, noted by a model, then the phase itself.
  if (phase.steps.some(scripted)) {
    const step = phase.steps.find(scripted)!;
    return { parts: [phase], how: '', why: `it reads its inputs in a scripted step (${stepText(step)}), which cannot be divided into batches` };
  }
  const reads = [...touchedFiles(phase.inputs, { expand: context.expand }, planned)];
  const batchable = reads.filter((file) => !file.startsWith('\0'));
  const keep = phase.inputs.filter((pattern) => touchedFiles([pattern], { expand: context.expand }, planned).size <= 1);
  const spread = batchable.filter((file) => !keep.includes(file));
  const batch = FILE_OPS_WARN - 1;
  const count = Math.ceil(spread.length / batch);
  if (count < 2 || count + keep.length + phase.outputs.length > FILE_OPS_WARN)
    return { parts: [phase], how: '', why: `its ${spread.length} input files need ${count} batch notes, too many for one phase to read` };
  const notes = Array.from({ length: count }, (_, index) => `notes/${pathSlug(phase.id)}-part-${index + 1}.md`);
  const parts: DraftPhase[] = notes.map((note, index) => {
    const files = spread.slice(index * batch, (index + 1) * batch);
    return clonePhase(phase, {
      inputs: files,
      outputs: [note],
      gate: 'none',
      steps: [{ kind: 'model', text: `Note what "${phase.title}" needs from ${files.join(', ')}, with file references, in ${note}.` }],
      doneWhen: { text: `the notes on batch ${index + 1} of ${count} exist`, verify: `test -s ${note}` },
    });
  });
  parts.push(clonePhase(phase, { inputs: [...keep, ...notes] }));
  return { parts, how: `into ${count} batches of its inputs and the phase itself`, why: '', siblings: true };
}

/** `a`, `a and b`, `a, b and c`. */
function listOf(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
