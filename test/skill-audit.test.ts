import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DraftPhase } from '../src/pipeline/draft.js';
import { fillTemplate, loadTemplate } from '../src/pipeline/templates.js';
import { auditSkills } from '../src/skills/audit.js';
import { discoverSkills } from '../src/skills/discover.js';
import { PROJECT_ROOT, makeRepo, skillFile } from './support/fixtures.js';

const EXAMPLES = discoverSkills([join(PROJECT_ROOT, 'examples/.claude/skills')]);

function phase(id: string, title: string, steps: DraftPhase['steps']): DraftPhase {
  return { id, title, inputs: [], outputs: [], context: 'direct', dependsOn: [], gate: 'none', doneWhen: { text: 'done' }, steps };
}

const OUTREACH = [
  phase('P1', 'Refresh the account briefing', [{ kind: 'model', text: 'Update briefings/mod-op.md from the call notes.' }]),
  phase('P2', 'Map the buying committee', [{ kind: 'model', text: 'List the contacts and their personas.' }]),
  phase('P3', 'Draft one email per persona', [{ kind: 'skill', skill: 'generate-outreach-email', args: 'derick-schaefer' }]),
  phase('P4', 'Create the Gmail drafts with labels', [{ kind: 'model', text: 'Create labelled drafts.' }]),
];
const REQUEST = 'Run an outreach for Mod Op: refresh the account briefing, map the buying committee, one email per person, Gmail drafts.';

describe('the skill audit', () => {
  it('maps invoked skills, finds the best skill for the other phases, and adds their steps so nothing drifts', () => {
    const audit = auditSkills(REQUEST, OUTREACH, EXAMPLES);
    expect(audit.shortfall).toBeNull();
    expect(Object.fromEntries(audit.skills.mapped.map((skill) => [skill.name, skill.phases]))).toEqual({
      'generate-outreach-email': ['P3'],
      'account-briefing': ['P1'],
      'buying-committee': ['P2'],
      'gmail-drafts': ['P4'],
    });
    // Drift-free: every mapped skill is invoked by a step of each phase it is mapped to, and nothing else is invoked.
    for (const skill of audit.skills.mapped) {
      for (const id of skill.phases) {
        expect(audit.phases.find((p) => p.id === id)!.steps.some((step) => step.kind === 'skill' && step.skill === skill.name)).toBe(true);
      }
    }
    expect(audit.notes).toContain('mapped account-briefing to P1 (best match for "Refresh the account briefing") and made it the step that does that work');
    // The skill takes over the step that did that work (kept, so excluding the skill by hand restores it): no bare extra step.
    expect(audit.phases[0]!.steps).toEqual([
      { kind: 'skill', skill: 'account-briefing', args: '', replaced: 'Update briefings/mod-op.md from the call notes.' },
    ]);
    // The input is not changed.
    expect(OUTREACH[0]!.steps).toHaveLength(1);
  });

  it('excludes every other skill with a reason, the related ones first', () => {
    const { skills } = auditSkills(REQUEST, OUTREACH, EXAMPLES);
    expect(skills.excluded.length).toBe(EXAMPLES.skills.size - skills.mapped.length);
    for (const skill of skills.excluded) expect(skill.reason.length).toBeGreaterThan(20);
    const related = skills.excluded.findIndex((skill) => skill.reason.startsWith('related'));
    const unrelated = skills.excluded.findIndex((skill) => skill.reason.startsWith('nothing'));
    expect(related).toBeGreaterThanOrEqual(0);
    expect(related).toBeLessThan(unrelated);
    expect(skills.excluded.find((skill) => skill.name === 'newsletter-builder')!.reason).toMatch(/^nothing in the request calls for it \(Builds a newsletter/);
  });

  it("matches skills on a template phase's hints too, and never maps a skill to a phase that does not write what it writes", () => {
    const { phases } = fillTemplate(loadTemplate('content', null), { request_title: 'Q4 newsletter' }, []);
    const request = 'Write a newsletter for our customers about the Q4 release';
    // The skills of the outreach example repository: one newsletter skill, the rest for outreach.
    const skills = discoverSkills([join(PROJECT_ROOT, 'examples/outreach/.claude/skills')]);
    const audit = auditSkills(request, phases, skills);
    const mapped = Object.fromEntries(audit.skills.mapped.map((skill) => [skill.name, skill.phases]));
    const id = (title: string) => phases.find((phase) => phase.title === title)!.id;
    expect(mapped['newsletter-builder']).toEqual([id('Write the draft')]);
    // render-html-email writes drafts/<contact>.html: publishing the piece is not its work, whatever the words say.
    expect(mapped['render-html-email']).toBeUndefined();
    expect(audit.skills.excluded.find((skill) => skill.name === 'render-html-email')!.reason).toMatch(/^no phase writes what it writes \(drafts\/\*\.html\)/);
    // Too few content skills: the shortfall says which phases found none, why, and how to map one by hand.
    expect(audit.shortfall).toMatch(/at least 3 must be mapped\. No skill was found for P1 "Agree the brief" \(writes content\/brief\.md\)/);
    expect(audit.shortfall).toMatch(/no installed skill declares that it writes those files \(metadata\.writes in its SKILL\.md\) or describes that work/);
    expect(audit.shortfall).toMatch(/deprecated, never mapped: hubspot-sync/);
    expect(audit.shortfall).toMatch(/skills: \{map: \[<skill>\]\} .*skills: \{map: \{<skill>: P3\}\}/);
    expect(audit.shortfall).not.toMatch(/install or write more skills/);
  });

  it('maps a skill by the files it writes to every phase that writes them, with each entity as its argument', () => {
    const root = makeRepo({
      '.claude/skills/score-deal/SKILL.md':
        '---\nname: score-deal\ndescription: Scores one deal.\nargument-hint: "<deal-file>"\nmetadata:\n  reads: [deals/<deal>.yaml]\n  writes: [scores/<deal>.md]\n---\n\n# score-deal\n',
      '.claude/skills/old-scorer/SKILL.md':
        '---\nname: old-scorer\ndescription: Scores one deal.\nmetadata:\n  deprecated: true\n  writes: [scores/<deal>.md]\n---\n\n# old-scorer\n',
      '.claude/skills/summary/SKILL.md':
        '---\nname: summary\ndescription: Sums up the scores.\n---\n\n# summary\n\nReads scores/*.md. Writes review/summary.md.\n',
    });
    const index = discoverSkills([join(root, '.claude/skills')]);
    const work = (id: string, deal: string): DraftPhase => ({
      ...phase(id, `Score ${deal}`, [{ kind: 'model', text: `Score deals/${deal}.yaml into scores/${deal}.md.` }]),
      inputs: [`deals/${deal}.yaml`],
      outputs: [`scores/${deal}.md`],
    });
    const sum = { ...phase('P3', 'Write the review', [{ kind: 'model', text: 'Sum the scores up in review/summary.md.' }]), outputs: ['review/summary.md'] };
    const audit = auditSkills('Score the deals', [work('P1', 'acme'), work('P2', 'globex'), sum], index);
    expect(audit.skills.mapped.find((skill) => skill.name === 'score-deal')).toEqual({
      name: 'score-deal',
      phases: ['P1', 'P2'],
      why: 'Scores one deal (writes scores/*.md)',
    });
    expect(audit.phases[0]!.steps).toEqual([
      { kind: 'skill', skill: 'score-deal', args: 'deals/acme.yaml', replaced: 'Score deals/acme.yaml into scores/acme.md.' },
    ]);
    expect(audit.phases[1]!.steps[0]).toMatchObject({ skill: 'score-deal', args: 'deals/globex.yaml' });
    // A contract read from the instructions' own sentences counts too.
    expect(audit.skills.mapped.find((skill) => skill.name === 'summary')!.phases).toEqual(['P3']);
    expect(audit.skills.excluded.find((skill) => skill.name === 'old-scorer')!.reason).toMatch(/^deprecated by its SKILL\.md metadata/);
  });

  it('never maps a skill whose description says it is deprecated', () => {
    const root = makeRepo({
      '.claude/skills/crm-sync/SKILL.md': skillFile('crm-sync').replace(
        'The crm-sync skill, for tests.',
        'Deprecated, syncs the account briefing to the old CRM.',
      ),
    });
    const index = discoverSkills([join(root, '.claude/skills'), join(PROJECT_ROOT, 'examples/.claude/skills')]);
    const audit = auditSkills(REQUEST, OUTREACH, index);
    expect(audit.skills.mapped.map((skill) => skill.name)).not.toContain('crm-sync');
    expect(audit.skills.excluded.find((skill) => skill.name === 'crm-sync')!.reason).toMatch(/^deprecated by its own description/);
  });

  it('reports a shortfall instead of padding the audit when too few skills are installed', () => {
    const root = makeRepo({
      '.claude/skills/account-briefing/SKILL.md': skillFile('account-briefing'),
      '.claude/skills/broken/SKILL.md': '---\nname: broken\n---\n',
    });
    const index = discoverSkills([join(root, '.claude/skills')]);
    const audit = auditSkills(REQUEST, OUTREACH, index);
    expect(audit.shortfall).toMatch(
      /^2 skill\(s\) fit the phases \(generate-outreach-email → P3; account-briefing → P1\); at least 3 must be mapped\. No skill was found for P2 "Map the buying committee", P4 "Create the Gmail drafts with labels"/,
    );
    expect(audit.shortfall).toMatch(/0 skill\(s\) left to exclude; at least 2 must be excluded/);
    expect(audit.notes).toContain('P3 invokes /generate-outreach-email, which is not installed');
    expect(audit.notes.some((note) => note.startsWith('skipped an invalid skill in') && note.includes('description'))).toBe(true);
  });
});
