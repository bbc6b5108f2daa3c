import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import type { DraftPhase, PlanDraft } from '../src/pipeline/draft.js';
import { sizePhases, type SizingContext } from '../src/pipeline/sizing.js';
import { countFileOperations } from '../src/rules/phase-file-ops.js';

/** Files that exist, with their line counts. */
function disk(files: Record<string, number>): SizingContext {
  return {
    expand: (pattern) =>
      Object.keys(files)
        .filter((file) => file === pattern || picomatch(pattern)(file))
        .sort(),
    lineCount: (file) => files[file] ?? null,
  };
}

function phase(id: string, changes: Partial<DraftPhase> = {}): DraftPhase {
  return {
    id,
    title: `Phase ${id}`,
    inputs: [],
    outputs: [`out/${id.toLowerCase()}.md`],
    context: 'direct',
    dependsOn: [],
    gate: 'none',
    doneWhen: { text: 'done', verify: `test -s out/${id.toLowerCase()}.md` },
    steps: [{ kind: 'model', text: `Write out/${id.toLowerCase()}.md.` }],
    ...changes,
  };
}

function draft(phases: DraftPhase[], mapped: PlanDraft['skills']['mapped'] = []): PlanDraft {
  return {
    meta: { id: 'sizing', title: 'Sizing', workstream: 'content', deliverable: 'content', quality_bar: 'structural' },
    request: 'Size this.',
    criteria: [],
    constraints: [],
    stakeholders: [],
    clarifications: [],
    skills: { mapped, excluded: [] },
    phases,
    learnings: [],
  };
}

describe('context modes and extraction sub-phases', () => {
  const sized = (lines: number) =>
    sizePhases(
      draft([phase('P1'), phase('P2', { inputs: ['src/big.ts'], dependsOn: ['P1'] }), phase('P3', { dependsOn: ['P2'] })]),
      disk({ 'src/big.ts': lines }),
    );

  it('leaves a phase under 3,000 input lines direct (2,999)', () => {
    const { draft: result, changes } = sized(2999);
    expect(result.phases.map((p) => [p.id, p.context])).toEqual([
      ['P1', 'direct'],
      ['P2', 'direct'],
      ['P3', 'direct'],
    ]);
    expect(changes).toEqual([]);
  });

  it.each([
    [3000, 'extract_then_assemble'],
    [6000, 'extract_then_assemble'],
    [6001, 'map_reduce'],
  ] as const)('inserts an extraction sub-phase at %i lines, read with %s', (lines, mode) => {
    const { draft: result, changes } = sized(lines);
    expect(result.phases.map((p) => p.id)).toEqual(['P1', 'P2a', 'P2', 'P3']);
    const extraction = result.phases[1]!;
    expect(extraction).toMatchObject({ context: mode, inputs: ['src/big.ts'], dependsOn: ['P1'], outputs: ['notes/p2-extract.md'] });
    expect(result.phases[2]).toMatchObject({ context: 'direct', inputs: ['notes/p2-extract.md'], dependsOn: ['P2a'] });
    expect(result.phases[3]!.dependsOn).toEqual(['P2']);
    expect(changes).toEqual([
      `P2 reads ${lines.toLocaleString('en-US')} source lines: inserted P2a to extract them (${mode}); P2 now reads notes/p2-extract.md directly`,
    ]);
  });
});

describe('splitting by entity', () => {
  const people = (count: number) => Array.from({ length: count }, (_, i) => `drafts/person-${i + 1}.md`);
  const writer = (count: number, inputs: string[] = ['briefing.md']) =>
    phase('P2', {
      inputs,
      outputs: people(count - inputs.length),
      steps: people(count - inputs.length).map((file) => ({
        kind: 'skill' as const,
        skill: 'write-email',
        args: file.replace('drafts/', '').replace('.md', ''),
      })),
      dependsOn: ['P1'],
    });

  it.each([10, 11, 20, 21])('keeps every phase within 10 file operations (%i before)', (operations) => {
    const context = disk({ 'briefing.md': 100 });
    const before = draft([phase('P1'), writer(operations), phase('P3', { dependsOn: ['P2'] })], [{ name: 'write-email', phases: ['P2'], why: 'house voice' }]);
    expect(countFileOperations(before.phases[1]!, context)).toBe(operations);
    const sized = sizePhases(before, context);
    const { draft: result, changes } = sized;
    const parts = result.phases.filter((p) => p.id.startsWith('P2'));
    if (operations <= 10) {
      expect(parts.map((p) => p.id)).toEqual(['P2']);
      expect(changes).toEqual([]);
      return;
    }
    expect(parts.length).toBe(Math.ceil((operations - 1) / 9));
    for (const part of parts) {
      expect(countFileOperations(part, context)).toBeLessThanOrEqual(10);
      // Each part writes only its own people, and its steps are the ones for those people.
      expect(part.steps.map((step) => (step.kind === 'skill' ? `drafts/${step.args}.md` : ''))).toEqual(part.outputs);
    }
    expect(parts.flatMap((p) => p.outputs)).toEqual(before.phases[1]!.outputs);
    // The parts before the last are siblings (each depends on what the phase depended on, and may run at once); the
    // last waits for all of them and keeps the phase's own Done when; the phase after waits for the last.
    for (const part of parts.slice(0, -1)) expect(part.dependsOn).toEqual(before.phases[1]!.dependsOn);
    expect(parts.at(-1)!.dependsOn).toEqual(parts.slice(0, -1).map((part) => part.id));
    expect(result.phases.at(-1)!.dependsOn).toEqual([parts.at(-1)!.id]);
    expect(parts.at(-1)!.doneWhen).toEqual(before.phases[1]!.doneWhen);
    // Earlier parts check each of their files by path: never `test -s` over a glob or several files at once.
    for (const part of parts.slice(0, -1)) expect(part.doneWhen.verify).toBe(part.outputs.map((output) => `test -s ${output}`).join(' && '));
    expect(result.skills.mapped[0]!.phases).toEqual(parts.map((p) => p.id));
    expect(changes).toEqual([
      `P2 touches ${operations} files: split by entity into ${parts.map((p) => p.id).join(', ')} (at most 10 files each), ${parts
        .slice(0, -1)
        .map((p) => p.id)
        .join(', ')} side by side, then ${parts.at(-1)!.id}; ${parts.at(-1)!.id} keeps the phase's Done when`,
    ]);
    expect(sized.refusal).toBeNull();
  });
});

describe('substantial plans', () => {
  const threeSteps = (id: string, dependsOn: string[]) =>
    phase(id, {
      dependsOn,
      outputs: [`out/${id.toLowerCase()}-a.md`, `out/${id.toLowerCase()}-b.md`],
      gate: 'human',
      steps: [
        { kind: 'model', text: `Write out/${id.toLowerCase()}-a.md.` },
        { kind: 'model', text: `Write out/${id.toLowerCase()}-b.md.` },
        { kind: 'model', text: 'Check both files.' },
      ],
    });

  it('splits the biggest phases into one sub-phase per step until the plan has 15 phases', () => {
    const phases = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7'].map((id, index) => threeSteps(id, index === 0 ? [] : [`P${index}`]));
    const { draft: result, changes } = sizePhases(draft(phases), disk({}), { minPhases: 15 });
    expect(result.phases.length).toBeGreaterThanOrEqual(15);
    expect(result.phases.length).toBeLessThanOrEqual(25);
    const p1 = result.phases.filter((p) => p.id.startsWith('P1'));
    expect(p1.map((p) => p.id)).toEqual(['P1a', 'P1b', 'P1c']);
    expect(p1.map((p) => p.outputs)).toEqual([['out/p1-a.md'], ['out/p1-b.md'], []]);
    expect(p1.map((p) => p.gate)).toEqual(['none', 'none', 'human']);
    expect(p1[0]!.doneWhen).toEqual({ text: 'step 1 of P1 wrote out/p1-a.md', verify: 'test -s out/p1-a.md' });
    expect(p1[2]!.doneWhen).toEqual(phases[0]!.doneWhen);
    expect(p1[1]!.dependsOn).toEqual(['P1a']);
    // The phase after a split phase waits for its last part.
    expect(result.phases.find((p) => p.id === 'P2a' || p.id === 'P2')!.dependsOn).toEqual(['P1c']);
    expect(changes[0]).toBe('P1 split into one sub-phase per step (P1a, P1b, P1c) to bring the substantial plan towards 15 phases');
  });

  it('says so when the phases have no steps left to split', () => {
    const { draft: result, changes } = sizePhases(draft([phase('P1'), phase('P2', { dependsOn: ['P1'] })]), disk({}), { minPhases: 15 });
    expect(result.phases).toHaveLength(2);
    expect(changes).toEqual(['2 phases after sizing; a substantial plan should have 15 to 25 (no phase has steps left to split)']);
  });
});

describe('glob outputs at 6 and 14 entities', () => {
  const contacts = (count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`crm/contacts/acme/c${String(i + 1).padStart(2, '0')}.yaml`, 5]));
  const drafting = (steps: DraftPhase['steps']) =>
    phase('P2', {
      inputs: ['crm/contacts/acme/*.yaml', 'briefing.md'],
      outputs: ['drafts/*.md'],
      steps,
      dependsOn: ['P1'],
      doneWhen: { text: 'one draft per contact', verify: 'test "$(ls drafts/*.md | wc -l)" -eq 14' },
    });

  it('6 contacts: the glob output is listed per contact, and every part counts the same before and after the run', () => {
    const context = disk({ ...contacts(6), 'briefing.md': 20 });
    const {
      draft: result,
      changes,
      refusal,
    } = sizePhases(draft([phase('P1'), drafting([{ kind: 'model', text: 'Write one draft per contact in drafts/.' }])]), context);
    const parts = result.phases.filter((p) => p.id.startsWith('P2'));
    expect(parts.flatMap((part) => part.outputs)).toEqual(Array.from({ length: 6 }, (_, i) => `drafts/c0${i + 1}.md`));
    expect(changes[0]).toBe('P2 writes drafts/*.md: one file per entity of crm/contacts/acme/*.yaml (6), listed as drafts/<6 names>.md');
    // Before the run nothing is written; after it the six drafts exist: the same count both times, within 10.
    const after = disk({ ...contacts(6), 'briefing.md': 20, ...Object.fromEntries(parts.flatMap((part) => part.outputs).map((output) => [output, 3])) });
    for (const part of parts) {
      expect(countFileOperations(part, context, result.phases)).toBe(countFileOperations(part, after, result.phases));
      expect(countFileOperations(part, after, result.phases)).toBeLessThanOrEqual(10);
    }
    // A later phase reading the drafts by glob counts them before they exist.
    expect(countFileOperations(phase('P3', { inputs: ['drafts/*.md'], outputs: ['out.md'] }), context, result.phases)).toBe(7);
    expect(refusal).toBeNull();
  });

  it('14 contacts with one model step: parts get the step for their own contacts, the last keeps the real Done when', () => {
    const context = disk({ ...contacts(14), 'briefing.md': 20 });
    const { draft: result, refusal } = sizePhases(
      draft([phase('P1'), drafting([{ kind: 'model', text: 'Write one draft per contact in drafts/.' }])]),
      context,
    );
    const parts = result.phases.filter((p) => p.id.startsWith('P2'));
    expect(parts.length).toBeGreaterThan(1);
    expect(refusal).toBeNull();
    for (const part of parts) {
      expect(countFileOperations(part, context, result.phases)).toBeLessThanOrEqual(10);
      expect(part.steps).toHaveLength(1);
      const names = part.outputs.map((output) => output.slice('drafts/'.length, -'.md'.length));
      expect(part.steps[0]).toMatchObject({ kind: 'model' });
      for (const name of names) expect((part.steps[0] as { text: string }).text).toContain(name);
      // Each part reads its own contacts' files, not all fourteen.
      expect(part.inputs.filter((input) => input.startsWith('crm/'))).toEqual(names.map((name) => `crm/contacts/acme/${name}.yaml`));
    }
    for (const part of parts.slice(0, -1)) expect(part.doneWhen.verify ?? '').not.toMatch(/\*/);
    expect(parts.at(-1)!.doneWhen).toEqual({ text: 'one draft per contact', verify: 'test "$(ls drafts/*.md | wc -l)" -eq 14' });
    expect(parts.flatMap((part) => part.outputs)).toHaveLength(14);
  });

  it('14 contacts with one scripted step that names no contact: not copied into parts; refused with advice past 20 files', () => {
    const step = [{ kind: 'skill' as const, skill: 'draft-all', args: '' }];
    const fourteen = sizePhases(draft([phase('P1'), drafting(step)]), disk({ ...contacts(14), 'briefing.md': 20 }));
    expect(fourteen.draft.phases.map((p) => p.id)).toEqual(['P1', 'P2']);
    expect(fourteen.refusal).toMatch(
      /^the work does not fit one plan that pre-flight lets run: P2 "Phase P2" touches 29 files, more than the 20 pre-flight allows, and its scripted step \/draft-all names no single entity/,
    );
    expect(fourteen.refusal).toMatch(/series of plans/);
    const six = sizePhases(draft([phase('P1'), drafting(step)]), disk({ ...contacts(6), 'briefing.md': 20 }));
    expect(six.refusal).toBeNull();
    expect(six.changes).toContain(
      'P2 touches 13 files (over 10) and stays one phase: its scripted step /draft-all names no single entity, so it cannot be divided among parts',
    );
  });
});
