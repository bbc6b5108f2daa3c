import type { Phase, Plan } from '../plan/types.js';
import { cleanPattern, editDistance, holdsMaterial, isGlob, overlapIndex, overlapPlaces, overlaps, pathsIn } from './plan-paths.js';
import type { Rule, RuleContext } from './rule.js';

/**
 * Files flow from phase to phase: what a phase reads (its Inputs, and the files its steps name) exists in the
 * repository or is written by an earlier phase. Reading a file that only a later phase writes is an error; so is a
 * file nothing provides, when the repository holds the plan's material (a plan linted away from its material, such
 * as an example checked in without its data, is not judged on missing files).
 */

/** Text right before a path that makes it something the step writes, not reads. */
const WRITES_BEFORE =
  /(?:--out(?:put)?|--report|--dest(?:ination)?|--to|--write|-o|>>?)\s*=?\s*["']?$|\b(?:write|writes|writing|save|saves|into|to|create|creates|append|appends|record|records|update|updates|fill|fills|add|adds|produce|produces|render|renders|export|exports)\s+(?:\w+\s+){0,2}["'`]?$/i;

function describe(phases: Phase[]): string {
  const ids = phases.map((phase) => phase.id);
  return ids.length === 1 ? ids[0]! : `${ids.slice(0, -1).join(', ')} and ${ids.at(-1)}`;
}

/** What the repository holds that the author may have meant by a missing path: another extension, a near name. */
function nearMatch(path: string, context: Pick<RuleContext, 'expand'>): string | null {
  const slash = path.lastIndexOf('/');
  const folder = slash === -1 ? '' : path.slice(0, slash + 1);
  const name = path.slice(slash + 1);
  if (isGlob(name)) {
    if (isGlob(folder)) return null;
    const held = context.expand(`${folder}*`);
    if (held.length === 0) return null;
    const extensions = [...new Set(held.map((file) => /\.[^./]+$/.exec(file)?.[0] ?? ''))].filter(Boolean);
    return `${folder} holds ${extensions.length > 0 ? extensions.join(', ') : ''} files such as ${held[0]}`.replace(/holds\s+files/, 'holds files');
  }
  const stem = name.replace(/\.[^.]+$/, '');
  if (isGlob(folder)) return null;
  const siblings = context.expand(`${folder}*`);
  const sameStem = siblings.find((file) => file.slice(folder.length).replace(/\.[^.]+$/, '') === stem);
  if (sameStem) return `${sameStem} exists`;
  let best: { file: string; distance: number } | null = null;
  for (const file of siblings) {
    const distance = editDistance(file.slice(folder.length), name, 2);
    if (distance <= 2 && (best === null || distance < best.distance)) best = { file, distance };
  }
  if (best) return `${best.file} exists`;
  // A typo in a folder name: the same file name in a sibling folder with a near name.
  if (folder !== '') {
    const parts = folder.slice(0, -1).split('/');
    const last = parts.pop()!;
    const parent = parts.length > 0 ? `${parts.join('/')}/` : '';
    for (const file of context.expand(`${parent}*/${name}`)) {
      const other = file.slice(parent.length).split('/')[0]!;
      if (editDistance(other, last, 2) <= 2) return `${file} exists`;
    }
  }
  return null;
}

/** An earlier phase's output with the same name but another extension (`notes/week.txt` for `notes/week.md`). */
function nearOutput(path: string, earlier: Phase[]): string | null {
  if (isGlob(path)) return null;
  const stem = path.replace(/\.[^./]+$/, '');
  for (const phase of earlier) {
    for (const output of phase.outputs) {
      const clean = cleanPattern(output);
      if (!isGlob(clean) && clean !== path && clean.replace(/\.[^./]+$/, '') === stem) return `${phase.id} writes ${clean}`;
    }
  }
  return null;
}

function readsOfStep(phase: Phase): Array<{ path: string; ref: string; line: number }> {
  const reads: Array<{ path: string; ref: string; line: number }> = [];
  for (const step of phase.steps) {
    const text = step.kind === 'run' ? (step.command ?? '') : step.kind === 'skill' ? step.args : step.text;
    // The script a run: step starts is the command, not material it reads (a missing one fails at its first run).
    const program = step.kind === 'run' ? /^(?:(?:node|python3?|bash|sh|deno\s+run|bun|tsx|ruby|npx)\s+)?(\S+)/.exec(text)?.[1] : undefined;
    for (const { path, index } of pathsIn(text)) {
      if (path === program) continue;
      if (WRITES_BEFORE.test(text.slice(Math.max(0, index - 40), index))) continue;
      reads.push({ path, ref: `${phase.id}.${step.index}`, line: step.line });
    }
  }
  return reads;
}

export const dataFlow: Rule = {
  id: 'data-flow',
  severity: 'error',
  description: 'Every file a phase reads exists in the repository or is written by an earlier phase; an output nothing uses is reported.',
  check(plan, context, report) {
    const material = holdsMaterial(plan, context);
    const phases = plan.phases;
    // The phases whose Outputs overlap a pattern, from all outputs gathered once (not every output of every phase per read).
    const writing = overlapPlaces(phases.flatMap((phase, at) => phase.outputs.map((output) => ({ pattern: cleanPattern(output), at }))));
    const writers = (pattern: string) => {
      const places = writing(pattern);
      return phases.filter((_, at) => places.has(at));
    };
    phases.forEach((phase, index) => {
      if (phase.malformedHeading || phase.status === 'done') return;
      const inputLine = phase.fields.get('inputs')?.line ?? phase.heading.start.line;
      const checked = new Set<string>();
      const check = (path: string, ref: string, line: number, isInput: boolean) => {
        const pattern = cleanPattern(path);
        if (checked.has(pattern)) return;
        checked.add(pattern);
        if (!isInput && phase.outputs.some((output) => overlaps(cleanPattern(output), pattern))) return;
        if (!isInput && phase.inputs.some((input) => overlaps(cleanPattern(input), pattern))) return;
        if (pattern.split('/').includes('..') || pattern.startsWith('/')) return;
        if (context.expand(pattern).length > 0) return;
        const by = writers(pattern);
        const earlier = by.filter((writer) => phases.indexOf(writer) < index);
        if (earlier.length > 0) return;
        const later = by.filter((writer) => phases.indexOf(writer) > index);
        if (later.length > 0) {
          report(
            `${ref} reads ${pattern}, which only ${describe(later)} write${later.length === 1 ? 's' : ''}, later; the file does not exist when ${phase.id} runs`,
            {
              line,
              fix: `move ${phase.id} after ${describe(later)} (and add it to Depends on), or read a file an earlier phase writes`,
            },
          );
          return;
        }
        if (!material) return;
        const near = nearMatch(pattern, context) ?? nearOutput(pattern, phases.slice(0, index));
        const what = isGlob(pattern) ? 'matches no file' : 'no such file';
        report(`${ref} reads ${pattern}: ${what}${near ? `; ${near}` : ', and no earlier phase writes it'}`, {
          line,
          fix: near ? `correct the path in ${ref} (${near})` : `add the file to the repository, or a phase before ${phase.id} that writes it`,
        });
      };
      for (const input of phase.inputs) check(input, phase.id, inputLine, true);
      for (const read of readsOfStep(phase)) check(read.path, read.ref, read.line, false);
    });
    reportUnusedOutputs(plan, report);
  },
};

/** Outputs no later phase reads and no criterion or verify names: a low note (the last phase's outputs are the deliverable). */
function reportUnusedOutputs(plan: Plan, report: Parameters<Rule['check']>[2]): void {
  const phases = plan.phases;
  const criteria = (plan.criteria ?? []).map((criterion) => `${criterion.text} ${criterion.verify ?? ''}`);
  const criteriaPaths = criteria.flatMap((text) => pathsIn(text).map((entry) => entry.path));
  // Folders other phases or the criteria read or check: an output there is part of what they use (a checksum file
  // beside the archives a verify command checks as a folder).
  const folderOf = (path: string) => path.slice(0, path.lastIndexOf('/') + 1);
  const readTexts = [...criteria, ...phases.flatMap((phase) => [...phase.inputs, ...phase.steps.map((step) => step.text), phase.doneWhen?.verify ?? ''])];
  const stepPaths = phases.map((phase) =>
    [...phase.steps.map((step) => step.text), phase.doneWhen?.verify ?? ''].flatMap((text) => pathsIn(text).map((entry) => entry.path)),
  );
  // Each phase's inputs, step paths and texts gathered once, not again for every output of every phase.
  const inputsRead = overlapIndex(phases.flatMap((phase, at) => phase.inputs.map((input) => ({ pattern: cleanPattern(input), at }))));
  const stepsRead = overlapIndex(stepPaths.flatMap((paths, at) => paths.map((path) => ({ pattern: path, at }))));
  const criteriaRead = overlapIndex(criteriaPaths.map((path) => ({ pattern: path, at: -1 })));
  // Each phase's step texts, and the criteria, as one text each: a path has no line break, so it lies in the joined
  // text exactly when it lies in one of its parts (one search per phase, not one per step, for every output).
  const stepTextLists = phases.map((phase) => [...phase.steps.map((step) => step.text), phase.doneWhen?.verify ?? '']);
  const stepTexts = stepTextLists.map((texts) => texts.join('\n'));
  const criteriaText = criteria.join('\n');
  const inStepsElsewhere = (pattern: string, index: number) =>
    pattern.includes('\n')
      ? stepTextLists.some((texts, at) => at !== index && texts.some((text) => text.includes(pattern)))
      : stepTexts.some((text, at) => at !== index && text.includes(pattern));
  const inCriteria = (pattern: string) => (pattern.includes('\n') ? criteria.some((text) => text.includes(pattern)) : criteriaText.includes(pattern));
  const allReadText = readTexts.join('\n');
  phases.forEach((phase, index) => {
    if (phase.malformedHeading || phase.status === 'done' || index === phases.length - 1) return;
    for (const output of phase.outputs) {
      const pattern = cleanPattern(output);
      const outputFolder = folderOf(pattern);
      const folder = outputFolder.replace(/\/$/, '');
      const used =
        inputsRead(pattern, index) ||
        stepsRead(pattern, index) ||
        inStepsElsewhere(pattern, index) ||
        criteriaRead(pattern, -2) ||
        inCriteria(pattern) ||
        (outputFolder !== '' &&
          allReadText.includes(folder) &&
          readTexts.some((text) => text.includes(folder) && phases[index]!.outputs.every((own) => !text.includes(own))));
      if (used) continue;
      report(`${phase.id} writes ${pattern}, which no later phase reads and no success criterion checks`, {
        line: phase.fields.get('outputs')?.line ?? phase.heading.start.line,
        severity: 'warning',
        fix: `read ${pattern} in the phase that needs it, check it in a success criterion, or drop it from ${phase.id}'s Outputs`,
      });
    }
  });
}
