/**
 * The rules that judge meaning (irreversible-action, done-when-verifiable, data-flow, context-facts, placeholders,
 * executor-refusals) on the small plan: what each must not report (negations, hand-offs, subsets, plans linted
 * away from their material) as much as what it must.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintText } from '../src/lint/lint.js';
import { cannotFail } from '../src/rules/done-when-verifiable.js';
import { actionInText } from '../src/rules/irreversible-action.js';
import { placeholderIn } from '../src/rules/placeholders.js';
import type { Finding } from '../src/rules/rule.js';
import { SMALL_PLAN, SMALL_PLAN_SKILLS, edit, makeRepo, skillFile } from './support/fixtures.js';

function lint(text: string, files: Record<string, string> = {}): Finding[] {
  const root = makeRepo({ ...SMALL_PLAN_SKILLS, ...files });
  return lintText(text, join(root, 'plans', 'p.md'));
}

const of = (findings: Finding[], ruleId: string) => findings.filter((finding) => finding.ruleId === ruleId);
const messages = (findings: Finding[], ruleId: string) => of(findings, ruleId).map((finding) => `${finding.severity}: ${finding.message}`);

const P2_STEP = '1. /write-summary notes/week.md --out out/summary.md\n';
const withP2Step = (step: string, plan = SMALL_PLAN) => edit(plan, P2_STEP, `${P2_STEP}2. ${step}\n`);
const ungated = edit(SMALL_PLAN, '- Gate: human\n', '');

describe('irreversible-action', () => {
  it('reads the action of a step from its words, not from negations, infinitives or quoted arguments', () => {
    expect(actionInText('Publish the piece')?.kind).toBe('publish');
    expect(actionInText('After the approver says yes, send it to the list')?.kind).toBe('send');
    expect(actionInText('Post the scores of all regions to #sales-leads')?.kind).toBe('post');
    expect(actionInText('Merge the duplicate accounts in the CRM')?.kind).toBe('merge');
    for (const text of [
      'Do not send the drafts',
      'Never publish before Friday',
      'Leave the drafts for the deal owner to send',
      'Write the blog post',
      'Merge the notes into one file',
      'Record "Michael sends the drafts" as the next step',
      'Write the post-mortem',
    ]) {
      expect(actionInText(text), text).toBeNull();
    }
  });

  it('wants a human gate on the phase or a phase it depends on; a review gate is not one', () => {
    expect(messages(lint(ungated), 'irreversible-action')).toEqual([
      'error: P3.1 publishes (/publish-page) with no human gate at or before it; add `Gate: human` to P3 or to a phase it depends on',
    ]);
    expect(of(lint(edit(ungated, '- Depends on: P1\n', '- Depends on: P1\n- Gate: human\n')), 'irreversible-action')).toEqual([]);
    expect(of(lint(edit(ungated, '- Depends on: P1\n', '- Depends on: P1\n- Gate: review\n')), 'irreversible-action')).toHaveLength(1);
  });

  it('takes a skill at its SKILL.md word, both ways', () => {
    const declared = { '.claude/skills/write-summary/SKILL.md': skillFile('write-summary', 'metadata:\n  irreversible: true\n') };
    expect(messages(lint(SMALL_PLAN, declared), 'irreversible-action')).toEqual([
      'error: P2.1 sends (/write-summary, which its SKILL.md declares irreversible) with no human gate at or before it; add `Gate: human` to P2 or to a phase it depends on',
    ]);
    const reversible = { '.claude/skills/publish-page/SKILL.md': skillFile('publish-page', 'metadata:\n  irreversible: false\n') };
    // P3's title still says "Publish": the words count even when the skill does not.
    expect(messages(lint(ungated, reversible), 'irreversible-action')).toEqual([
      'error: P3 publishes ("Publish the page") with no human gate at or before it; add `Gate: human` to P3 or to a phase it depends on',
    ]);
  });

  it('reports an action a constraint or the request forbids, once, gate or not', () => {
    const drafts = edit(SMALL_PLAN, "- Only this week's notes.", "- Only this week's notes.\n- Drafts only; nothing is sent.");
    expect(messages(lint(withP2Step('run: `node scripts/mail.mjs out/summary.md --send`', drafts)), 'irreversible-action')).toEqual([
      'error: P2.2 sends (`node scripts/mail.mjs out/summary.md --send`), which the constraint "Drafts only; nothing is sent." forbids',
    ]);
    const request = edit(SMALL_PLAN, 'into one page for the team.', 'into one page for the team. Nothing is published.');
    expect(messages(lint(request), 'irreversible-action')).toEqual([
      'error: P3.1 publishes (/publish-page), which the constraint "Nothing is published." forbids',
    ]);
    // A hand-off to the plan's own people is not the sending "nothing is sent" is about.
    expect(of(lint(withP2Step('Send the summary to Ana for a first read.', drafts)), 'irreversible-action')).toHaveLength(1);
    expect(messages(lint(withP2Step('Send the summary to Ana for a first read.', drafts)), 'irreversible-action')[0]).toMatch(/no human gate/);
  });

  it('holds "do not change X" and "X is read-only" against steps that change X, not steps that read it', () => {
    const readOnly = edit(SMALL_PLAN, "- Only this week's notes.", '- The accounts file is read-only.');
    expect(of(lint(withP2Step('Read the accounts file for the owner names.', readOnly)), 'irreversible-action')).toEqual([]);
    expect(messages(lint(withP2Step('Update the accounts file with the new owners.', readOnly)), 'irreversible-action')).toEqual([
      'error: P2.2 changes accounts ("Update the accounts file with the new owners."), which the constraint "The accounts file is read-only." forbids',
    ]);
  });
});

describe('done-when-verifiable', () => {
  it('knows the verify commands that cannot fail, and leaves real checks alone', () => {
    for (const command of [
      'true',
      ':',
      'exit 0',
      'echo done',
      "printf 'ok'",
      'grep -q x out/a.md || true',
      'ls drafts',
      'ls -la out/',
      'node check.mjs; true',
    ]) {
      expect(cannotFail(command), command).not.toBeNull();
    }
    for (const command of [
      'test -s out/summary.md',
      'ls drafts/*.html',
      'ls out/summary.md',
      "grep -q '^Approved' handoff/owner.md",
      'node scripts/check.mjs drafts',
      'test -z "$(git status --porcelain)"',
    ]) {
      expect(cannotFail(command), command).toBeNull();
    }
  });

  it('accepts a Done when in plain checkable words without a verify, and reports vague or empty ones', () => {
    const done = (text: string) => lint(edit(SMALL_PLAN, '- Done when: one line per account. verify: `test -s out/summary.md`', `- Done when: ${text}`));
    expect(of(done('the summary has one line per account of notes/week.md'), 'done-when-verifiable')).toEqual([]);
    expect(messages(done('done'), 'done-when-verifiable')).toEqual([
      'error: P2 Done when "done" names nothing to check; add a verify command or say what must be true',
    ]);
    expect(messages(done('the summary is written as appropriate'), 'done-when-verifiable')[0]).toMatch(/is vague \("as appropriate"\)/);
  });
});

describe('data-flow', () => {
  const material = { 'notes/accounts.md': 'Alder\nBirch\n' };

  it('accepts inputs the repository holds or an earlier phase writes, globs included', () => {
    const globbed = edit(SMALL_PLAN, '- Inputs: out/summary.md', '- Inputs: out/*.md');
    expect(of(lint(globbed, material), 'data-flow')).toEqual([]);
  });

  it('names the file meant: another extension in the repository, or an earlier output', () => {
    const wrong = edit(SMALL_PLAN, '- Inputs: notes/week.md', '- Inputs: notes/week.txt');
    expect(messages(lint(wrong, material), 'data-flow')).toEqual(['error: P2 reads notes/week.txt: no such file; P1 writes notes/week.md']);
  });

  it("does not judge missing files when the repository holds none of the plan's material, but still reports a later writer", () => {
    const wrong = edit(SMALL_PLAN, '- Inputs: notes/week.md', '- Inputs: notes/week.txt');
    expect(of(lint(wrong), 'data-flow')).toEqual([]);
    const late = edit(SMALL_PLAN, '- Inputs: notes/accounts.md', '- Inputs: notes/accounts.md, out/published.txt');
    expect(messages(lint(late), 'data-flow')).toEqual(['error: P1 reads out/published.txt, which only P3 writes, later; the file does not exist when P1 runs']);
  });

  it('reads the paths a step names, except what it writes and the script it runs', () => {
    expect(messages(lint(withP2Step('Compare with last week in notes/last-week.md.'), material), 'data-flow')).toEqual([
      'error: P2.2 reads notes/last-week.md: no such file, and no earlier phase writes it',
    ]);
    expect(of(lint(withP2Step('Write out/extra.md with the totals.'), material), 'data-flow')).toEqual([]);
  });

  it('notes an output nothing uses, as a warning', () => {
    const extra = edit(SMALL_PLAN, '- Outputs: notes/week.md', '- Outputs: notes/week.md, tmp/raw.json');
    expect(messages(lint(extra, material), 'data-flow')).toEqual([
      'warning: P1 writes tmp/raw.json, which no later phase reads and no success criterion checks',
    ]);
  });
});

describe('context-facts', () => {
  const contacts = Object.fromEntries(
    ['ana-silva', 'kim-larsen', 'raj-mehta'].map((id, index) => [
      `crm/contacts/${id}.yaml`,
      `name: ${['Ana Silva', 'Kim Larsen', 'Raj Mehta'][index]}\ntitle: ${['CTO', 'VP Marketing', 'head of delivery'][index]}\n`,
    ]),
  );
  const reading = edit(SMALL_PLAN, '- Inputs: notes/accounts.md', '- Inputs: crm/contacts/*.yaml');

  it('compares counts about the entities, and leaves bounds, labels and subsets alone', () => {
    const claim = (text: string) => of(lint(withP2Step(text, reading), contacts), 'context-facts');
    expect(claim('Write one line per contact, three in all.')).toEqual([]);
    expect(claim('Write at least 2 lines for each of the top 2 contacts.')).toEqual([]);
    expect(claim('Write the 5 key points of the week.')).toEqual([]);
    expect(messages(lint(withP2Step('Write one line for each of the four contacts.', reading), contacts), 'context-facts')).toEqual([
      'error: P2.2 counts four contacts, but crm/contacts/ holds 3 contacts',
    ]);
  });

  it('compares titles with the records the plan reads, by full name or a unique first name', () => {
    expect(of(lint(withP2Step('Address the summary to Ana Silva, CTO.', reading), contacts), 'context-facts')).toEqual([]);
    expect(messages(lint(withP2Step('Address the summary to Kim, the CMO.', reading), contacts), 'context-facts')).toEqual([
      'error: P2.2 calls Kim Larsen CMO, but per crm/contacts/kim-larsen.yaml Kim Larsen is vp marketing',
    ]);
    // A record the plan does not read is not a source.
    expect(of(lint(withP2Step('Address the summary to Kim, the CMO.'), contacts), 'context-facts')).toEqual([]);
  });
});

describe('placeholders', () => {
  it('finds template variables and markers, not shell variables, counts or globs', () => {
    for (const text of ['Dear {contact},', 'Hi {{ first_name }}', 'Lorem ipsum dolor', 'due in XX days', 'owner: ???', 'TODO: pick one', '<insert link>'])
      expect(placeholderIn(text), text).not.toBeNull();
    for (const text of ['echo ${HOME}', "grep -E 'a{2,}'", 'drafts/{a,b}.md', 'Todo list app', 'XXL shirts']) expect(placeholderIn(text), text).toBeNull();
  });

  it('is an error once the plan is in review or later, a warning in a draft', () => {
    const plan = withP2Step('Add a line for {owner}.');
    expect(of(lint(plan), 'placeholders').map((finding) => finding.severity)).toEqual(['error']);
    expect(of(lint(edit(plan, 'status: approved', 'status: draft')), 'placeholders').map((finding) => finding.severity)).toEqual(['warning']);
  });
});

describe('executor-refusals', () => {
  it('refuses what the executor refuses, and says an excluded skill is excluded', () => {
    const plan = withP2Step('run: `node scripts/sum.mjs ../other/notes.md`');
    expect(messages(lint(plan), 'executor-refusals')).toEqual([
      'error: P2.2: "node scripts/sum.mjs ../other/notes.md" names a path with ..; name it from the repository root; the executor refuses it',
    ]);
    const excluded = withP2Step('/newsletter-builder out/summary.md');
    expect(messages(lint(excluded), 'executor-refusals')).toEqual([
      'error: P2.2 invokes /newsletter-builder, which the skill audit EXCLUDES (Not a newsletter); the executor will not run it',
    ]);
    expect(of(lint(excluded), 'skill-drift')).toEqual([]);
    expect(messages(lint(edit(SMALL_PLAN, 'write: [notes/**, out/**]', 'write: [notes/**, out/**, deepplan.config.yaml]')), 'executor-refusals')).toEqual([
      'error: scope.write "deepplan.config.yaml" covers deepplan.config.yaml, which the engine reads (plans, skills, prompts, configuration); steps may never write it',
    ]);
  });
});

describe('state and audit additions', () => {
  it('reports state.phase on a done phase while another is open, and an excluded skill whose reason is "-"', () => {
    const done = edit(
      SMALL_PLAN,
      '- Done when: the notes are fetched. verify: `test -s notes/week.md`\n- Status: pending',
      '- Done when: the notes are fetched. verify: `test -s notes/week.md`\n- Status: done',
    );
    expect(messages(lint(done), 'state-consistency')).toEqual(['error: state.phase is P1, which is done; the current phase is P2']);
    expect(messages(lint(edit(SMALL_PLAN, '| newsletter-builder | Not a newsletter |', '| newsletter-builder | - |')), 'skill-audit')).toEqual([
      'error: skill newsletter-builder is excluded without a reason',
    ]);
  });
});
