import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintText } from '../src/lint/lint.js';
import { parsePlan } from '../src/plan/parse.js';
import { MAX_PHASES, MIN_SUBSTANTIAL_PHASES } from '../src/rules/phase-count.js';
import { runPipeline } from '../src/pipeline/run.js';
import { fillTemplate, findEntities, groupSize, loadTemplate, Template, measureWords, measuredBy } from '../src/pipeline/templates.js';
import { makeRepo, PROJECT_ROOT, writeFile } from './support/fixtures.js';

const contact = (id: string) => `id: ${id}\nname: ${id}\ntitle: CTO\npersona: executive\ncares_about: releases slip\n`;
const contactsOf = (account: string, ids: string[]) => Object.fromEntries(ids.map((id) => [`crm/contacts/${account}/${id}.yaml`, contact(id)]));

/** A small template: a fixed phase, one per contact (with its one-phase form), one per contact with no fallback, a fixed last phase. */
const TEMPLATE = Template.parse({
  deliverable: 'content',
  title: '{request_title}',
  phases: [
    {
      title: 'Brief the {account_slug} owner',
      outputs: ['handoff/owner.md'],
      gate: 'human',
      steps: ['Write handoff/owner.md.'],
      done: { text: 'briefed', verify: 'test -s handoff/owner.md' },
    },
    {
      each: { files: 'crm/contacts/{account_slug}/*.yaml', as: 'contact', group_title: 'Draft emails {from}–{to} of {total}' },
      title: 'Draft the email to {contact}',
      inputs: ['{contact_file}'],
      outputs: ['drafts/{contact}.md'],
      steps: ['/draft-email {contact}'],
      done: { text: 'the draft to {contact} exists', verify: 'test -s drafts/{contact}.md' },
      otherwise: { title: 'Draft one email per contact', outputs: ['drafts/*.md'], steps: ['/draft-email'], done: { text: 'one draft per contact' } },
    },
    {
      each: { files: 'crm/contacts/{account_slug}/*.yaml', as: 'contact' },
      title: 'Check {contact}',
      inputs: ['drafts/{contact}.md'],
      steps: ['Check drafts/{contact}.md against {contact_file}.'],
      done: { text: '{contact} checked', verify: 'grep -q Subject drafts/{contact}.md || true' },
    },
    { title: 'Hand off', outputs: ['handoff/summary.md'], steps: ['Write handoff/summary.md for {account_slug}.'], done: { text: 'handed off' } },
  ],
  criteria: [{ text: 'Every {account_slug} contact has a draft', verify: 'test -n "$(ls drafts/)"' }],
});

describe('findEntities', () => {
  it('takes the folder the request names (whole words of its slug, the longest name first) and lists its files in order', () => {
    const root = makeRepo({
      ...contactsOf('mod-op', ['lena-ortiz', 'derick-schaefer']),
      ...contactsOf('op', ['x']),
      ...contactsOf('modern', ['y']),
      'crm/contacts/mod-op/notes.txt': 'not a contact',
    });
    const match = findEntities('crm/contacts/{account_slug}/*.yaml', {}, root, 'Run an outreach for Mod Op: one email each.');
    expect(match.values).toEqual({ account_slug: 'mod-op' });
    expect(match.pattern).toBe('crm/contacts/mod-op/*.yaml');
    expect(match.entities).toEqual([
      { name: 'derick-schaefer', file: 'crm/contacts/mod-op/derick-schaefer.yaml' },
      { name: 'lena-ortiz', file: 'crm/contacts/mod-op/lena-ortiz.yaml' },
    ]);
    // "modern" is not named by "Mod Op", and "op" loses to the longer "mod-op"; a request naming only "Op" gets "op".
    expect(findEntities('crm/contacts/{account_slug}/*.yaml', {}, root, 'Outreach to Op').entities.map((entity) => entity.name)).toEqual(['x']);
  });

  it('leaves out files whose names are not plain words: they would reach a shell through the step arguments', () => {
    const root = makeRepo({ ...contactsOf('mod-op', ['ana-silva', 'x$(touch pwned)', 'a b', 'tom;rm']) });
    const match = findEntities('crm/contacts/{account_slug}/*.yaml', {}, root, 'Run an outreach for Mod Op');
    expect(match.entities.map((entity) => entity.name)).toEqual(['ana-silva']);
    expect(match.skipped.sort()).toEqual(
      ['crm/contacts/mod-op/a b.yaml', 'crm/contacts/mod-op/tom;rm.yaml', 'crm/contacts/mod-op/x$(touch pwned).yaml'].sort(),
    );
    const filled = fillTemplate(TEMPLATE, { request_title: 'Mod Op' }, [], { root, request: 'Run an outreach for Mod Op' });
    expect(filled.phases.flatMap((phase) => phase.steps).some((step) => step.kind === 'skill' && /[$;\s]/.test(step.args))).toBe(false);
    expect(filled.notes).toContain(
      'left out 3 file(s) whose names are not plain words (letters, digits, . _ -): crm/contacts/mod-op/a b.yaml, crm/contacts/mod-op/tom;rm.yaml, crm/contacts/mod-op/x$(touch pwned).yaml',
    );
  });

  it('finds nothing when the request names no folder, the folder does not exist, or a value given names an empty one', () => {
    const root = makeRepo({ ...contactsOf('mod-op', ['a']) });
    expect(findEntities('crm/contacts/{account_slug}/*.yaml', {}, root, 'Run an outreach for Acme').entities).toEqual([]);
    expect(findEntities('crm/people/{account_slug}/*.yaml', {}, root, 'Run an outreach for Mod Op').entities).toEqual([]);
    expect(findEntities('crm/contacts/{account_slug}/*.yaml', { account_slug: 'acme' }, root, 'Run an outreach for Mod Op').entities).toEqual([]);
  });
});

describe('fillTemplate with each: {files, as}', () => {
  it('repeats a phase once per entity with {contact}, {contact_file} and the resolved {account_slug} filled everywhere', () => {
    const root = makeRepo(contactsOf('mod-op', ['derick-schaefer', 'ana-silva', 'tom-achebe']));
    const filled = fillTemplate(TEMPLATE, { request_title: 'Mod Op outreach' }, [], { root, request: 'Run an outreach for Mod Op' });
    expect(filled.phases.map((phase) => `${phase.id} ${phase.title}`)).toEqual([
      'P1 Brief the mod-op owner',
      'P2 Draft the email to ana-silva',
      'P3 Draft the email to derick-schaefer',
      'P4 Draft the email to tom-achebe',
      'P5 Check ana-silva',
      'P6 Check derick-schaefer',
      'P7 Check tom-achebe',
      'P8 Hand off',
    ]);
    const draft = filled.phases[2]!;
    expect(draft.inputs).toEqual(['crm/contacts/mod-op/derick-schaefer.yaml']);
    expect(draft.outputs).toEqual(['drafts/derick-schaefer.md']);
    expect(draft.steps).toEqual([{ kind: 'skill', skill: 'draft-email', args: 'derick-schaefer' }]);
    expect(draft.doneWhen).toEqual({ text: 'the draft to derick-schaefer exists', verify: 'test -s drafts/derick-schaefer.md' });
    // Per-entity phases are siblings: each draft depends on the shared brief only, each check on its own draft,
    // and the closing phase on every check (deepplan run --parallel runs siblings at once).
    expect(filled.phases.map((phase) => phase.dependsOn)).toEqual([[], ['P1'], ['P1'], ['P1'], ['P2'], ['P3'], ['P4'], ['P5', 'P6', 'P7']]);
    expect(filled.phases[4]!.steps).toEqual([{ kind: 'model', text: 'Check drafts/ana-silva.md against crm/contacts/mod-op/ana-silva.yaml.' }]);
    expect(filled.phases[7]!.steps).toEqual([{ kind: 'model', text: 'Write handoff/summary.md for mod-op.' }]);
    expect(filled.criteria[0]!.text).toBe('Every mod-op contact has a draft');
    expect(filled.notes).toEqual(['3 contact(s) in crm/contacts/mod-op/*.yaml: one phase per contact']);
  });

  it('with no entity, takes the one-phase `otherwise` form, leaves out a phase that has none, and says so', () => {
    const root = makeRepo(contactsOf('mod-op', ['a', 'b']));
    // A template that names the account outside its entity phases cannot be filled for an account the repository lacks.
    expect(() => fillTemplate(TEMPLATE, { request_title: 'Acme outreach' }, [], { root, request: 'Run an outreach for Acme', name: 'outreach' })).toThrow(
      /^the outreach template cannot be filled from this request and repository: it needs \{account_slug\}: the name of a folder in crm\/contacts\/, which the request does not name; say it in the request$/,
    );
    // A request for every account names the folder above them: the template plans one, and the message says which.
    const many = makeRepo({
      ...contactsOf('acct-001', ['a']),
      ...contactsOf('acct-002', ['b']),
      ...contactsOf('acct-003', ['c']),
      ...contactsOf('acct-004', ['d']),
    });
    expect(() =>
      fillTemplate(TEMPLATE, { request_title: 'Outreach' }, [], {
        root: many,
        request: 'Run an outreach for the 4 accounts in crm/contacts/',
        name: 'outreach',
      }),
    ).toThrow(
      'it needs {account_slug}: the name of one of the 4 folders in crm/contacts/ (acct-001, acct-002, acct-003, \u2026), which the request does not name; the template plans one at a time; say it in the request',
    );
    const generic = Template.parse(
      JSON.parse(
        JSON.stringify(TEMPLATE)
          .replaceAll('Brief the {account_slug} owner', 'Brief the owner')
          .replaceAll(' for {account_slug}', '')
          .replaceAll('Every {account_slug} contact', 'Every contact'),
      ),
    );
    for (const options of [{ root, request: 'Run an outreach for Acme' }, {}]) {
      const filled = fillTemplate(generic, { request_title: 'Acme outreach' }, [], options);
      expect(filled.phases.map((phase) => phase.title)).toEqual(['Brief the owner', 'Draft one email per contact', 'Hand off']);
      expect(filled.phases[1]!).toMatchObject({
        id: 'P2',
        outputs: ['drafts/*.md'],
        steps: [{ kind: 'skill', skill: 'draft-email', args: '' }],
        dependsOn: ['P1'],
      });
      expect(filled.notes.some((note) => note.startsWith('no contact found in') && note.endsWith('"Draft one email per contact" is one phase'))).toBe(true);
      expect(filled.notes.some((note) => note.endsWith('"contact" phases left out'))).toBe(true);
    }
  });

  /** A phase read once per source the request names, into notes/<source>.md. */
  const READ_SOURCE = {
    each: 'source',
    title: 'Read {source}',
    inputs: ['{source}'],
    outputs: ['notes/{source_slug}.md'],
    steps: ['Read {source}.'],
    done: { text: 'read' },
  };

  it('keeps each: source working beside the entities', () => {
    const template = Template.parse({ ...TEMPLATE, phases: [READ_SOURCE, TEMPLATE.phases[1]] });
    const root = makeRepo(contactsOf('mod-op', ['a']));
    const filled = fillTemplate(template, {}, ['docs/a.md', 'src/b.ts'], { root, request: 'Mod Op' });
    expect(filled.phases.map((phase) => phase.title)).toEqual(['Read docs/a.md', 'Read src/b.ts', 'Draft the email to a']);
    expect(filled.phases[1]!.outputs).toEqual(['notes/src-b.md']);
  });

  it('gives the notes of every source to the phase that asks for {source_notes}, and none without sources', () => {
    const template = Template.parse({
      ...TEMPLATE,
      criteria: [{ text: 'The brief is written', verify: 'test -s brief.md' }],
      phases: [
        READ_SOURCE,
        {
          title: 'Write the brief',
          inputs: ['crm/accounts.md', '{source_notes}'],
          outputs: ['brief.md'],
          steps: ['Write brief.md{drawing_on_notes}: who the accounts are.'],
          done: { text: 'written' },
        },
      ],
    });
    const root = makeRepo({ 'crm/accounts.md': 'a\n', 'docs/a.md': 'a\n', 'src/b.ts': 'b\n' });
    const fill = (sources: string[]) => fillTemplate(template, {}, sources, { root, request: 'the brief' }).phases;
    const phases = fill(['docs/a.md', 'src/b.ts']);
    const both = phases.at(-1)!;
    expect(both.inputs).toEqual(['crm/accounts.md', 'notes/docs-a.md', 'notes/src-b.md']);
    expect(both.steps).toEqual([{ kind: 'model', text: 'Write brief.md, drawing on notes/docs-a.md and notes/src-b.md: who the accounts are.' }]);
    // It runs after both readings (directly or through the one it depends on).
    const before = (id: string): string[] => phases.find((phase) => phase.id === id)!.dependsOn.flatMap((dependency) => [dependency, ...before(dependency)]);
    expect(new Set(before(both.id))).toEqual(new Set(['P1', 'P2']));
    const brief = (sources: string[]) => fill(sources).at(-1)!;
    const none = brief([]);
    expect(none.inputs).toEqual(['crm/accounts.md']);
    expect(none.steps).toEqual([{ kind: 'model', text: 'Write brief.md: who the accounts are.' }]);
  });

  it('groups the entities so the plan stays within the phase cap, every entity in exactly one group, in order', () => {
    const ids = Array.from({ length: 30 }, (_, index) => `c${String(index + 1).padStart(2, '0')}`);
    const root = makeRepo(contactsOf('mod-op', ids));
    const filled = fillTemplate(TEMPLATE, {}, [], { root, request: 'Outreach for Mod Op' });
    expect(filled.phases.length).toBeLessThanOrEqual(MAX_PHASES);
    // 2 fixed phases leave 23: two each-phases of 30 contacts fit 23 at 3 a phase (10 + 10), not at 2 (15 + 15).
    expect(filled.phases).toHaveLength(22);
    const drafts = filled.phases.filter((phase) => phase.title.startsWith('Draft emails'));
    expect(drafts.map((phase) => phase.title).slice(0, 2)).toEqual(['Draft emails 1–3 of 30', 'Draft emails 4–6 of 30']);
    expect(drafts.at(-1)!.title).toBe('Draft emails 28–30 of 30');
    expect(drafts.flatMap((phase) => phase.steps.map((step) => (step.kind === 'skill' ? step.args : '')))).toEqual(ids);
    expect(drafts[0]!).toMatchObject({
      inputs: ['crm/contacts/mod-op/c01.yaml', 'crm/contacts/mod-op/c02.yaml', 'crm/contacts/mod-op/c03.yaml'],
      outputs: ['drafts/c01.md', 'drafts/c02.md', 'drafts/c03.md'],
      doneWhen: { text: 'the draft to c01, c02 and c03 exists', verify: 'test -s drafts/c01.md && test -s drafts/c02.md && test -s drafts/c03.md' },
    });
    // No group_title: the title names the range; a verify with || is bracketed so each contact's check still holds.
    const checks = filled.phases.filter((phase) => phase.title.startsWith('Check'));
    expect(checks[0]!.title).toBe('Check contacts 1–3 of 30');
    expect(checks[0]!.doneWhen.verify).toBe(
      '(grep -q Subject drafts/c01.md || true) && (grep -q Subject drafts/c02.md || true) && (grep -q Subject drafts/c03.md || true)',
    );
    expect(filled.phases.map((phase) => phase.id)).toEqual(filled.phases.map((_, index) => `P${index + 1}`));
    expect(filled.notes).toEqual(['30 contact(s) in crm/contacts/mod-op/*.yaml: 3 to a phase, to stay within 25 phases of at most 10 files']);
    // A smaller cap groups more, up to what a phase of at most 10 files holds; past that, the series advice.
    expect(fillTemplate(TEMPLATE, {}, [], { root, request: 'Outreach for Mod Op', maxPhases: 14 }).phases.length).toBeLessThanOrEqual(14);
    expect(() => fillTemplate(TEMPLATE, {}, [], { root, request: 'Outreach for Mod Op', maxPhases: 8 })).toThrow(
      /plan them as a series of 2 plans of at most 15/,
    );
  });

  it('groupSize: under per-phase caps (the file-operation limit), null when nothing fits', () => {
    expect(groupSize([30, 30], 23, [5, 5])).toBe(3);
    expect(groupSize([30, 30], 11, [5, 5])).toBeNull();
    expect(groupSize([30], 6, [5])).toBe(5);
  });

  it('a request over what one plan holds is refused with the series to plan, and each part plans its slice', () => {
    const ids = Array.from({ length: 200 }, (_, index) => `c${String(index + 1).padStart(3, '0')}`);
    const root = makeRepo(contactsOf('mod-op', ids));
    expect(() => fillTemplate(TEMPLATE, {}, [], { root, request: 'Outreach for Mod Op' })).toThrow(
      /^200 contact\(s\) in crm\/contacts\/mod-op\/\*\.yaml: more than one plan holds \(25 phases, each touching at most 10 files\); plan them as a series of \d+ plans/,
    );
    const first = fillTemplate(TEMPLATE, {}, [], { root, request: 'Outreach for Mod Op (part 1 of 5)' });
    const last = fillTemplate(TEMPLATE, {}, [], { root, request: 'Outreach for Mod Op (part 5 of 5)' });
    expect(first.phases[0]!.title).toBe('Brief the mod-op owner');
    expect(first.phases.at(-1)!.title).not.toBe('Hand off');
    expect(last.phases.at(-1)!.title).toBe('Hand off');
    expect(first.phases.length).toBeLessThanOrEqual(MAX_PHASES);
    expect(first.criteria.at(-1)!.text).toBe('Part 1 of 5: the contacts 1–40 of 200 are done');
  });

  it('groupSize: the smallest group that fits, one per entity when all fit, all in one when nothing fits', () => {
    expect(groupSize([6, 6], 12)).toBe(1);
    expect(groupSize([6, 6], 11)).toBe(2);
    expect(groupSize([30, 30], 18)).toBe(4);
    expect(groupSize([30], 1)).toBe(30);
    expect(groupSize([30], 0)).toBe(30);
    expect(groupSize([], 5)).toBe(1);
  });

  it('refuses `otherwise` on a phase without each: {files, as}, naming the template and the field', () => {
    const root = makeRepo({
      'plans/templates/outreach.yaml':
        'deliverable: content\ntitle: t\nphases:\n  - title: a\n    steps: [x]\n    done: {text: d}\n    otherwise: {title: b, steps: [y], done: {text: e}}\ncriteria: [{text: c}]\n',
    });
    expect(() => loadTemplate('outreach', root)).toThrow(
      /template .*outreach\.yaml: phases\.0\.otherwise: `otherwise` belongs to a phase with `each: \{files, as\}`/,
    );
    const outside = makeRepo({
      'plans/templates/outreach.yaml':
        'deliverable: content\ntitle: t\nphases:\n  - each: {files: "../crm/*.yaml", as: contact}\n    title: a\n    steps: [x]\n    done: {text: d}\ncriteria: [{text: c}]\n',
    });
    expect(() => loadTemplate('outreach', outside)).toThrow(/template .*outreach\.yaml: phases\.0\.each/);
  });
});

describe('the outreach templates', () => {
  const REQUEST = 'Run an outreach for Mod Op: one email per person on the buying committee. Drafts only; nothing is sent. Michael, the CEO, approves.';

  it("the example's own template plans one drafting and one rendering phase per Mod Op contact, lint-clean within 15 to 25 phases", async () => {
    const root = makeRepo();
    cpSync(join(PROJECT_ROOT, 'examples/outreach'), root, { recursive: true });
    const outcome = await runPipeline({ request: REQUEST, root, out: join(root, 'plans/modop.md'), today: '2026-11-20', now: '2026-11-20T10:00:00Z' });
    if (outcome.kind !== 'plan') throw new Error('expected a plan');
    const plan = parsePlan(outcome.text);
    expect(plan.phases.length).toBeGreaterThanOrEqual(MIN_SUBSTANTIAL_PHASES);
    expect(plan.phases.length).toBeLessThanOrEqual(MAX_PHASES);
    expect(lintText(outcome.text, join(root, 'plans/modop.md'))).toEqual([]);
    const contacts = ['ana-silva', 'derick-schaefer', 'kim-larsen', 'lena-ortiz', 'raj-mehta', 'tom-achebe'];
    for (const id of contacts) {
      const draft = plan.phases.find((phase) => phase.title === `Draft the email to ${id}`)!;
      // The tool skill gets the contact as its argument (scripts/draft-email.mjs <contact>).
      expect(outcome.draft.phases.find((phase) => phase.id === draft.id)!.steps).toEqual([{ kind: 'skill', skill: 'generate-outreach-email', args: id }]);
      expect(draft.doneWhen!.verify).toBe(`test -s drafts/${id}.md`);
      const render = plan.phases.find((phase) => phase.title === `Render the email to ${id} as HTML with the signature`)!;
      expect(outcome.draft.phases.find((phase) => phase.id === render.id)!.steps).toEqual([{ kind: 'skill', skill: 'render-html-email', args: id }]);
      expect(render.doneWhen!.verify).toBe(`node scripts/check.mjs drafts ${id}`);
    }
    // The gates stay: the deal owner's go-ahead first, the angle's review before any draft.
    expect(plan.phases[0]!.gate).toBe('human');
    const review = plan.phases.findIndex((phase) => phase.gate === 'review');
    expect(review).toBeGreaterThan(0);
    expect(review).toBeLessThan(plan.phases.findIndex((phase) => phase.title.startsWith('Draft the email')));
    rmSync(root, { recursive: true, force: true });
  });

  it('the shipped template plans per contact in a repository with a CRM export, and keeps both human gates', () => {
    const root = makeRepo(contactsOf('mod-op', ['a', 'b', 'c', 'd', 'e', 'f']));
    const filled = fillTemplate(loadTemplate('outreach', null), { request_title: 'Mod Op' }, [], { root, request: REQUEST });
    expect(filled.phases.length).toBeGreaterThanOrEqual(MIN_SUBSTANTIAL_PHASES);
    expect(filled.phases.length).toBeLessThanOrEqual(MAX_PHASES);
    expect(filled.phases.filter((phase) => /^Draft the email to [a-f]$/.test(phase.title))).toHaveLength(6);
    expect(filled.phases.filter((phase) => /^Render the email to [a-f] as HTML/.test(phase.title))).toHaveLength(6);
    expect(filled.phases[0]!.gate).toBe('human');
    expect(filled.phases.at(-1)!.gate).toBe('human');
    expect(filled.phases.some((phase) => phase.gate === 'review')).toBe(true);
  });

  it('a Mod Op outreach with 14 contacts is grouped through the whole pipeline, sizing included, and stays within 25 phases', async () => {
    const root = makeRepo();
    cpSync(join(PROJECT_ROOT, 'examples/outreach'), root, { recursive: true });
    for (let index = 1; index <= 8; index++) writeFile(root, `crm/contacts/mod-op/extra-${index}.yaml`, contact(`extra-${index}`));
    const outcome = await runPipeline({ request: REQUEST, root, out: join(root, 'plans/modop.md'), today: '2026-11-20', now: '2026-11-20T10:00:00Z' });
    if (outcome.kind !== 'plan') throw new Error('expected a plan');
    const plan = parsePlan(outcome.text);
    // One phase per contact would be 7 + 2 × 14 = 35; two to a phase: 7 + 2 × 7 = 21.
    expect(plan.phases).toHaveLength(21);
    expect(plan.phases.filter((phase) => /^Draft emails \d+–\d+ of 14$/.test(phase.title))).toHaveLength(7);
    expect(plan.phases.filter((phase) => /^Render emails \d+–\d+ of 14 as HTML$/.test(phase.title))).toHaveLength(7);
    // Mapping the committee reads all 14 contact files, and creating the mail drafts reads the 14 HTML drafts the plan
    // will write (counted before they exist, as pre-flight will count them): warnings, not errors, for scripted steps.
    const findings = lintText(outcome.text, join(root, 'plans/modop.md'));
    expect(findings.map((finding) => `${finding.ruleId}: ${finding.message}`)).toEqual([
      'phase-file-ops: P3 touches 15 files; more than 10 should be split by entity',
      'phase-file-ops: P19 touches 15 files; more than 10 should be split by entity',
    ]);
    rmSync(root, { recursive: true, force: true });
  });
});

describe('a request that forbids an action', () => {
  it('leaves the phase that does it out, with the criteria that check it, and says why', () => {
    const content = loadTemplate('content', null);
    const allowed = fillTemplate(content, { request_title: 'AI in agency operations' }, [], { request: 'Write a blog post on AI in agency operations.' });
    expect(allowed.phases.map((phase) => phase.title)).toContain('Publish the piece');
    const forbidden = fillTemplate(content, { request_title: 'AI in agency operations' }, [], {
      request: 'Write a blog post on AI in agency operations. Drafts only; nothing is published.',
    });
    expect(forbidden.phases.map((phase) => phase.title)).not.toContain('Publish the piece');
    expect(forbidden.phases).toHaveLength(allowed.phases.length - 1);
    expect(forbidden.criteria.some((criterion) => /published/.test(criterion.verify ?? ''))).toBe(false);
    expect(forbidden.notes).toContain('"Publish the piece" left out: the request says "nothing is published."');
  });
});

describe("the request's own success sentences", () => {
  const criteria = [
    { text: 'Every deal in crm/deals/stage-3 has a score (40 of them)', verify: 'test "$(grep -c : review/scores.md)" -ge 40' },
    { text: 'Every rep has coaching notes on their weakest deals', verify: 'test -s coaching/notes.md' },
    { text: 'The Denver pages pass the audit', verify: "grep -q '^Result: pass' seo/audit-denver.md" },
  ];

  it('read plurals, verb endings and hyphenated words as the criteria do', () => {
    expect(measureWords('Denver passes the seo-audit.')).toEqual(new Set(['denver', 'pass', 'seo', 'audit']));
    expect(measureWords('The Denver pages pass the audit')).toEqual(new Set(['denver', 'page', 'pass', 'audit']));
    expect(measureWords('enriched accounts, boxes and addresses')).toEqual(new Set(['enrich', 'account', 'box', 'address']));
  });

  it('are checked by every criterion they join, or by the one that measures them whole, or by none', () => {
    expect(measuredBy('Every Stage 3 deal has a score and every rep has coaching notes.', criteria)).toBe(`${criteria[0]!.verify} && ${criteria[1]!.verify}`);
    expect(measuredBy('Denver passes the seo-audit.', criteria)).toBe(criteria[2]!.verify);
    // One measure no criterion checks: the sentence is judged, not given half a check.
    expect(measuredBy('Every deal has a score and the forecast is filed.', criteria)).toBeNull();
    expect(measuredBy('74 ready-to-edit articles of 1,200 words or more', criteria)).toBeNull();
  });
});
