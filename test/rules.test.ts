import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintText } from '../src/lint/lint.js';
import { RULE_IDS } from '../src/rules/catalog.js';
import { minimumBudget } from '../src/rules/budget.js';
import { contextModeFor } from '../src/rules/phase-context-mode.js';
import { createRuleContext, staticFolder } from '../src/rules/context.js';
import { discoverSkills, lazySkillIndex, skillDirectories } from '../src/skills/discover.js';
import type { Finding } from '../src/rules/rule.js';
import { SMALL_PLAN, SMALL_PLAN_SKILLS, edit, logRows, makeRepo } from './support/fixtures.js';
import { editAll } from './support/plan-text.js';

/** Lints `text` as plans/p.md of a fresh repository holding the small plan's skills and `files`. */
function lint(text: string, files: Record<string, string> = {}): Finding[] {
  const root = makeRepo({ ...SMALL_PLAN_SKILLS, ...files });
  return lintText(text, join(root, 'plans', 'p.md'));
}

function of(findings: Finding[], ruleId: string): Finding[] {
  return findings.filter((finding) => finding.ruleId === ruleId);
}

function lines(count: number): string {
  return 'x\n'.repeat(count);
}

const P1_FIELDS = `- Inputs: notes/accounts.md
- Outputs: notes/week.md
- Context: direct`;

const ROW_TIME = (minute: number) => `2026-11-20T10:${String(minute).padStart(2, '0')}:00Z`;

/** The small plan with `rows` as its log and state.iteration/revision set to match. */
function withLog(rows: Array<[string, string, string, string, string, string?]>, text = SMALL_PLAN): string {
  const withRows = `${text}${logRows(rows)}\n`;
  return edit(edit(withRows, 'iteration: 0', `iteration: ${rows.length}`), 'revision: 0', `revision: ${rows.length}`);
}

describe('the rule catalog', () => {
  it('has exactly the rule ids of PLAN_FORMAT.md section 4, then the rules that judge meaning', () => {
    expect([...RULE_IDS].sort()).toEqual(
      [
        'front-matter',
        'sections',
        'sufficiency',
        'success-criteria-verifiable',
        'skill-audit',
        'skill-drift',
        'skill-unknown',
        'phase-count',
        'phase-fields',
        'phase-context-mode',
        'phase-file-ops',
        'phase-dependencies',
        'budget',
        'review-required',
        'state-consistency',
        'iteration-log',
        'escape-hatch',
        'scope',
        'irreversible-action',
        'done-when-verifiable',
        'data-flow',
        'context-facts',
        'placeholders',
        'executor-refusals',
      ].sort(),
    );
  });

  it('finds nothing in the small valid plan', () => {
    expect(lint(SMALL_PLAN)).toEqual([]);
  });
});

describe('front-matter', () => {
  it("fails an invalid value, a missing key and an unknown format version, at the key's line", () => {
    const findings = of(lint(edit(SMALL_PLAN, 'status: approved', 'status: finished')), 'front-matter');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/^`status`: /);
    expect(findings[0]!.line).toBe(SMALL_PLAN.split('\n').indexOf('status: approved') + 1);
    expect(of(lint(edit(SMALL_PLAN, 'id: weekly-summary\n', '')), 'front-matter')[0]!.message).toBe('`id` is required');
    expect(of(lint(edit(SMALL_PLAN, 'deepplan: 1', 'deepplan: 2')), 'front-matter')[0]!.message).toMatch(/format version 2 is not supported/);
    expect(of(lint(edit(SMALL_PLAN, 'id: weekly-summary', 'id: Weekly Summary')), 'front-matter')[0]!.message).toMatch(/slug/);
  });

  it('passes a valid front matter with extra keys', () => {
    expect(of(lint(edit(SMALL_PLAN, 'owner: Ana, account lead', 'owner: Ana\ncustom_key: kept')), 'front-matter')).toEqual([]);
  });
});

describe('sections', () => {
  it('fails a missing required section and sections out of order', () => {
    expect(of(lint(edit(SMALL_PLAN, '## Running learnings\n', '')), 'sections').map((f) => f.message)).toEqual(['missing the `## Running learnings` section']);
    const moved = edit(SMALL_PLAN, "## Request\n\nSummarise this week's account notes into one page for the team.\n\n", '');
    const late = edit(moved, '## Running learnings\n', "## Request\n\nSummarise this week's notes.\n\n## Running learnings\n");
    expect(of(lint(late), 'sections')[0]!.message).toBe('`## Request` must come before `## Phases`');
  });

  it('passes extra sections between the known ones', () => {
    expect(of(lint(edit(SMALL_PLAN, '## Constraints\n', '## Background\n\nSome notes.\n\n## Constraints\n')), 'sections')).toEqual([]);
  });
});

describe('sufficiency', () => {
  it('is an error with two of criteria, constraints and stakeholders missing, a warning with one', () => {
    const noStakeholders = edit(SMALL_PLAN, '## Stakeholders\n\n- Ana — account lead, reads the summary\n\n', '');
    const one = of(lint(noStakeholders), 'sufficiency');
    expect(one).toEqual([expect.objectContaining({ severity: 'warning', message: 'the plan has no stakeholders' })]);
    const two = of(lint(edit(noStakeholders, "- Only this week's notes.\n", '- TBD\n')), 'sufficiency');
    expect(two).toEqual([expect.objectContaining({ severity: 'error' })]);
    expect(two[0]!.message).toMatch(/no constraints and no stakeholders/);
  });

  it('passes with all three present', () => {
    expect(of(lint(SMALL_PLAN), 'sufficiency')).toEqual([]);
  });
});

describe('success-criteria-verifiable', () => {
  it('warns about a criterion without verify and fails unnumbered, duplicated, unchecked-box and malformed ones', () => {
    const noVerify = of(
      lint(edit(SMALL_PLAN, 'The page is published. verify: `test -s out/published.txt`', 'The page is published.')),
      'success-criteria-verifiable',
    );
    expect(noVerify).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/^SC3 has no `verify:`/) })]);
    expect(of(lint(edit(SMALL_PLAN, '- [ ] SC3: The page', '- [ ] The page')), 'success-criteria-verifiable')[0]!.message).toMatch(/is not numbered/);
    expect(of(lint(edit(SMALL_PLAN, '- [ ] SC3:', '- [ ] SC2:')), 'success-criteria-verifiable')[0]!.message).toMatch(/SC2 is used twice/);
    expect(of(lint(edit(SMALL_PLAN, '- [ ] SC3:', '- SC3:')), 'success-criteria-verifiable')[0]!.message).toMatch(/not a task-list item/);
    expect(
      of(
        lint(edit(SMALL_PLAN, 'verify: `test -s out/published.txt`\n\n## Constraints', 'verify: test -s out/published.txt\n\n## Constraints')),
        'success-criteria-verifiable',
      )[0],
    ).toMatchObject({
      severity: 'error',
      message: 'SC3 has `verify:` without one backticked command',
    });
  });
});

describe('skill-audit', () => {
  it('fails fewer than 3 mapped or 2 excluded skills, missing reasons and unknown phases', () => {
    const twoMapped = edit(SMALL_PLAN, '| publish-page | P3 | The team reads the wiki |\n', '');
    expect(of(lint(twoMapped), 'skill-audit').map((f) => f.message)).toContain('the skill audit maps 2 skill(s); at least 3 are needed');
    expect(of(lint(edit(SMALL_PLAN, '| newsletter-builder | Not a newsletter |\n', '')), 'skill-audit')[0]!.message).toMatch(/excludes 1 skill/);
    expect(of(lint(edit(SMALL_PLAN, '| newsletter-builder | Not a newsletter |', '| newsletter-builder |  |')), 'skill-audit')[0]!.message).toBe(
      'skill newsletter-builder is excluded without a reason',
    );
    expect(of(lint(edit(SMALL_PLAN, '| publish-page | P3 |', '| publish-page | P3, P9 |')), 'skill-audit')[0]!.message).toBe(
      'skill publish-page is mapped to P9, which is not a phase of this plan',
    );
    expect(of(lint(edit(SMALL_PLAN, '### Excluded\n', '### Left out\n')), 'skill-audit')[0]!.message).toMatch(/no `### Excluded` table/);
  });
});

describe('skill-drift', () => {
  it('fails a mapped skill that its phase never invokes, naming the phase', () => {
    const findings = of(lint(edit(SMALL_PLAN, '1. /publish-page out/summary.md\n2. run:', '1. run:')), 'skill-drift');
    expect(findings).toEqual([expect.objectContaining({ message: 'skill publish-page is mapped to P3 but no step of P3 invokes /publish-page' })]);
    expect(findings[0]!.line).toBe(SMALL_PLAN.split('\n').indexOf('### P3. Publish the page') + 1);
  });

  it('fails a step that invokes a skill the audit does not map to its phase', () => {
    const findings = of(
      lint(
        edit(
          SMALL_PLAN,
          '1. /fetch-notes --week current --out notes/week.md\n',
          '1. /fetch-notes --week current --out notes/week.md\n2. /write-summary early\n',
        ),
      ),
      'skill-drift',
    );
    expect(findings.map((f) => f.message)).toEqual(['P1.2 invokes /write-summary, which the skill audit does not map to P1']);
  });

  it('passes when mapping and invocations agree', () => {
    expect(of(lint(SMALL_PLAN), 'skill-drift')).toEqual([]);
  });
});

describe('skill-unknown', () => {
  it('warns about a skill that is not installed and names an invalid one', () => {
    const { ['.claude/skills/publish-page/SKILL.md']: _removed, ...others } = SMALL_PLAN_SKILLS;
    const root = makeRepo(others);
    const missing = of(lintText(SMALL_PLAN, join(root, 'plans', 'p.md')), 'skill-unknown');
    // The plan is approved: a mapped skill the executor cannot load stops the run.
    expect(missing).toEqual([
      expect.objectContaining({
        severity: 'error',
        message: expect.stringMatching(/^skill publish-page is not installed .*; the plan is approved and the executor cannot run it$/),
      }),
    ]);
    const draft = of(lintText(edit(SMALL_PLAN, 'status: approved', 'status: draft'), join(root, 'plans', 'p.md')), 'skill-unknown');
    expect(draft).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/^skill publish-page is not installed \(/) })]);
    const invalid = makeRepo({ ...others, '.claude/skills/publish-page/SKILL.md': '---\nname: publish-page\n---\n' });
    expect(of(lintText(SMALL_PLAN, join(invalid, 'plans', 'p.md')), 'skill-unknown')[0]!.message).toMatch(
      /installed but invalid: SKILL.md front matter: description/,
    );
  });

  it('finds skills in configured paths', () => {
    const moved = Object.fromEntries(Object.entries(SMALL_PLAN_SKILLS).map(([path, text]) => [path.replace('.claude/skills', 'team/skills'), text]));
    const root = makeRepo({ ...moved, 'deepplan.config.yaml': 'skills:\n  paths: [team/skills]\n' });
    expect(of(lintText(SMALL_PLAN, join(root, 'plans', 'p.md')), 'skill-unknown')).toEqual([]);
  });

  it('looks a skill up by name as the whole index finds it, reading only the folders of that name', () => {
    const skill = (name: string, extra = '') => `---\nname: ${name}\ndescription: Does ${name}.\n${extra}---\nBody of ${name}.\n`;
    const root = makeRepo({
      '.claude/skills/alpha/SKILL.md': skill('alpha'),
      '.claude/skills/broken/SKILL.md': '---\nname: broken\n---\n',
      '.claude/skills/misnamed/SKILL.md': skill('other'),
      '.claude/skills/notes.md': 'not a skill folder',
      '.claude/skills/empty/README.md': 'no SKILL.md',
      // The same name in a later folder: the first folder's copy wins; a later valid copy stands in for an invalid one.
      'skills/alpha/SKILL.md': skill('alpha', 'metadata:\n  run: node later.mjs\n'),
      'skills/broken/SKILL.md': skill('broken'),
    });
    const directories = skillDirectories(root, [], join(root, 'no-home'));
    const names = ['alpha', 'broken', 'misnamed', 'other', 'notes.md', 'empty', 'missing', '../skills/alpha'];
    const lazy = lazySkillIndex(directories);
    const whole = discoverSkills(directories);
    for (const name of names) {
      expect([name, lazy.skills.has(name), lazy.skills.get(name)]).toEqual([name, whole.skills.has(name), whole.skills.get(name)]);
    }
    expect(lazy.skills.get('alpha')?.run).toBeNull();
    expect(lazy.skills.get('broken')?.dir).toBe(join(root, 'skills', 'broken'));
    // Every other use reads the whole index.
    const fresh = lazySkillIndex(directories);
    expect(fresh.skills.size).toBe(whole.skills.size);
    expect([...fresh.skills]).toEqual([...whole.skills]);
    expect(fresh.invalid).toEqual(whole.invalid);
    expect(lazySkillIndex(directories).invalid.map((invalid) => invalid.dir)).toEqual([
      join(root, '.claude', 'skills', 'broken'),
      join(root, '.claude', 'skills', 'misnamed'),
    ]);
  });
});

describe('phase-count', () => {
  const phase = (n: number, dependsOn: string) =>
    `### P${n}. Step ${n}\n- Outputs: out/p${n}.md\n- Depends on: ${dependsOn}\n- Done when: done. verify: \`test -s out/p${n}.md\`\n\n1. Write out/p${n}.md.\n\n`;

  function withPhases(count: number): string {
    const extra = Array.from({ length: count - 3 }, (_, i) => phase(i + 4, `P${i + 3}`)).join('');
    return edit(edit(SMALL_PLAN, '## Running learnings', `${extra}## Running learnings`), 'max_iterations: 15', 'max_iterations: 80');
  }

  it('warns when an adversarial plan has fewer than 15 phases or any plan more than 25', () => {
    const adversarial = of(
      lint(edit(edit(SMALL_PLAN, 'quality_bar: structural', 'quality_bar: adversarial'), 'status: approved', 'status: draft')),
      'phase-count',
    );
    expect(adversarial).toEqual([
      expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/has 3 phases; an adversarial plan should have 15 to 25/) }),
    ]);
    expect(of(lint(edit(withPhases(12), 'status: approved', 'status: draft')), 'phase-count')[0]!.message).toMatch(/12 phases; a plan of 10 or more phases/);
    expect(of(lint(edit(withPhases(26), 'status: approved', 'status: draft')), 'phase-count')[0]!.message).toMatch(/26 phases; more than 25/);
  });

  it('passes 15 to 25 phases for a substantial plan and few phases for a small one', () => {
    expect(of(lint(edit(withPhases(15), 'status: approved', 'status: draft')), 'phase-count')).toEqual([]);
    expect(of(lint(edit(withPhases(25), 'status: approved', 'status: draft')), 'phase-count')).toEqual([]);
    expect(of(lint(SMALL_PLAN), 'phase-count')).toEqual([]);
  });
});

describe('phase-fields', () => {
  it('fails a missing Done when, bad values, a malformed heading, duplicate ids and missing steps', () => {
    const messages = (text: string) => of(lint(text), 'phase-fields').map((f) => f.message);
    expect(messages(edit(SMALL_PLAN, '- Done when: the page is published. verify: `test -s out/published.txt`\n', ''))).toEqual([
      'P3 has no `Done when` field',
    ]);
    expect(messages(edit(SMALL_PLAN, '- Gate: human', '- Gate: manager'))).toEqual(['P3 Gate "manager" is not one of none, human, review']);
    expect(messages(edit(SMALL_PLAN, '- Outputs: out/published.txt\n- Context: direct', '- Outputs: out/published.txt\n- Context: skim'))).toEqual([
      'P3 Context "skim" is not one of direct, extract_then_assemble, map_reduce',
    ]);
    expect(messages(edit(SMALL_PLAN, '### P3. Publish the page', '### Publish the page'))[0]).toMatch(/is not of the form/);
    expect(messages(edit(SMALL_PLAN, '### P3. Publish the page', '### P2. Publish the page'))).toContain(
      `phase id P2 is used twice (first on line ${SMALL_PLAN.split('\n').indexOf('### P2. Write the summary') + 1})`,
    );
    expect(messages(edit(SMALL_PLAN, '1. /publish-page out/summary.md\n2. run: `node scripts/record-url.mjs out/published.txt`\n', ''))).toEqual([
      'P3 has no steps (an ordered list after the fields)',
    ]);
    expect(messages(edit(SMALL_PLAN, 'run: `node scripts/record-url.mjs out/published.txt`', 'run: node scripts/record-url.mjs'))).toEqual([
      'P3.2 is a `run:` step without one backticked command',
    ]);
  });
});

describe('phase-context-mode', () => {
  const withContext = (mode: string) => edit(SMALL_PLAN, P1_FIELDS, edit(P1_FIELDS, 'Context: direct', `Context: ${mode}`));

  it('maps line counts to modes at the boundaries 2,999 / 3,000 / 6,000 / 6,001', () => {
    expect([2999, 3000, 6000, 6001].map(contextModeFor)).toEqual(['direct', 'extract_then_assemble', 'extract_then_assemble', 'map_reduce']);
  });

  it('fails a context mode too small for the inputs and passes the right one', () => {
    expect(of(lint(SMALL_PLAN, { 'notes/accounts.md': lines(2999) }), 'phase-context-mode')).toEqual([]);
    expect(of(lint(SMALL_PLAN, { 'notes/accounts.md': lines(3000) }), 'phase-context-mode').map((f) => f.message)).toEqual([
      'P1 reads 3,000 input lines with Context `direct`; that size needs `extract_then_assemble`',
    ]);
    expect(of(lint(withContext('extract_then_assemble'), { 'notes/accounts.md': lines(6000) }), 'phase-context-mode')).toEqual([]);
    expect(of(lint(withContext('extract_then_assemble'), { 'notes/accounts.md': lines(6001) }), 'phase-context-mode')[0]!.message).toMatch(
      /needs `map_reduce`/,
    );
    expect(of(lint(withContext('map_reduce'), { 'notes/accounts.md': lines(6001) }), 'phase-context-mode')).toEqual([]);
  });

  it('warns about a larger mode than the inputs need, and counts globbed inputs together', () => {
    expect(of(lint(withContext('map_reduce'), { 'notes/accounts.md': lines(10) }), 'phase-context-mode')).toEqual([
      expect.objectContaining({ severity: 'warning' }),
    ]);
    const globbed = edit(SMALL_PLAN, '- Inputs: notes/accounts.md', '- Inputs: notes/*.md');
    expect(of(lint(globbed, { 'notes/a.md': lines(1600), 'notes/b.md': lines(1600) }), 'phase-context-mode')[0]!.message).toMatch(/3,200 input lines/);
  });

  it('expands a glob under an existing folder and answers one under a missing folder without walking', () => {
    expect(['ops/archive/*.gz', './ops/*/x.md', 'ops/{a,b}/x', '**/*.md', 'a/b/**', 'x.md', '.github/w/*.yml'].map(staticFolder)).toEqual([
      'ops/archive',
      'ops',
      'ops',
      '',
      'a/b',
      '',
      '.github/w',
    ]);
    const root = makeRepo({ 'ops/archive/a.gz': 'a', 'ops/archive/b.gz': 'b', 'ops/other/c.gz': 'c' });
    const context = createRuleContext(root, {});
    expect(context.expand('ops/archive/*.gz')).toEqual(['ops/archive/a.gz', 'ops/archive/b.gz']);
    expect(context.expand('ops/*/c.gz')).toEqual(['ops/other/c.gz']);
    expect(context.expand('ops/missing/*.gz')).toEqual([]);
    expect(context.expand('ops/archive/a.gz/*')).toEqual([]);
  });

  it('counts a file a step reads that Inputs leave out: a 5,000-line file cannot escape the check', () => {
    const reads = edit(
      SMALL_PLAN,
      '1. /write-summary notes/week.md --out out/summary.md',
      '1. /write-summary notes/week.md --out out/summary.md\n2. Check the summary against research/interviews.md.',
    );
    expect(of(lint(reads, { 'research/interviews.md': lines(5000) }), 'phase-context-mode').map((f) => f.message)).toEqual([
      'P2 reads 5,000 input lines with Context `direct`; that size needs `extract_then_assemble`',
    ]);
    expect(of(lint(reads, { 'research/interviews.md': lines(100) }), 'phase-context-mode')).toEqual([]);
  });
});

describe('phase-file-ops', () => {
  const outputs = (count: number) => Array.from({ length: count }, (_, i) => `out/file-${i}.md`).join(', ');
  const withOutputs = (count: number) => edit(SMALL_PLAN, '- Outputs: out/summary.md', `- Outputs: ${outputs(count)}`);

  it('warns over 10 files and fails over 20, counting inputs and outputs', () => {
    // P2 reads notes/week.md: with 9 outputs that is 10 files, with 10 it is 11.
    expect(of(lint(withOutputs(9)), 'phase-file-ops')).toEqual([]);
    expect(of(lint(withOutputs(10)), 'phase-file-ops')).toEqual([
      expect.objectContaining({ severity: 'warning', message: 'P2 touches 11 files; more than 10 should be split by entity' }),
    ]);
    expect(of(lint(withOutputs(19)), 'phase-file-ops')[0]!.severity).toBe('warning');
    expect(of(lint(withOutputs(20)), 'phase-file-ops')).toEqual([
      expect.objectContaining({ severity: 'error', message: expect.stringMatching(/^P2 touches 21 files; more than 20 is blocked/) }),
    ]);
  });

  it('expands globs against the repository', () => {
    const files = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`data/row-${i}.csv`, 'a\n']));
    const text = edit(SMALL_PLAN, '- Inputs: notes/accounts.md', '- Inputs: data/*.csv');
    expect(of(lint(text, files), 'phase-file-ops')[0]!.message).toMatch(/^P1 touches 26 files/);
  });
});

describe('phase-dependencies', () => {
  it('fails unknown ids, self-dependencies and cycles', () => {
    expect(of(lint(edit(SMALL_PLAN, '- Depends on: P2', '- Depends on: P2, P7')), 'phase-dependencies').map((f) => f.message)).toEqual([
      'P3 depends on P7, which is not a phase of this plan',
    ]);
    expect(of(lint(edit(SMALL_PLAN, '- Depends on: P2', '- Depends on: P3')), 'phase-dependencies').map((f) => f.message)).toEqual(['P3 depends on itself']);
    const cycle = of(lint(edit(SMALL_PLAN, '- Depends on: none', '- Depends on: P3')), 'phase-dependencies');
    expect(cycle).toHaveLength(1);
    expect(cycle[0]!.message).toMatch(/^dependency cycle: P\d → P\d → P\d → P\d$/);
  });

  it('passes a plan whose dependencies form a chain', () => {
    expect(of(lint(SMALL_PLAN), 'phase-dependencies')).toEqual([]);
  });
});

describe('budget', () => {
  it('computes the formula in exact arithmetic', () => {
    expect(minimumBudget(16, 6)).toBe(45);
    expect(minimumBudget(3, 3)).toBe(14);
    // (2 × 17 + 3 / 3 + 5) × 1.15 = 46 exactly; float arithmetic gives 46.00000000000001 and ceil would say 47.
    expect(minimumBudget(17, 3)).toBe(46);
  });

  it('fails a budget below the formula and shows the arithmetic', () => {
    expect(of(lint(edit(SMALL_PLAN, 'max_iterations: 15', 'max_iterations: 14')), 'budget')).toEqual([]);
    const findings = of(lint(edit(SMALL_PLAN, 'max_iterations: 15', 'max_iterations: 13')), 'budget');
    expect(findings.map((f) => f.message)).toEqual([
      'budget.max_iterations is 13; 3 phases and 3 criteria need at least ceil((2 × 3 + 3 / 3 + 5) × 1.15) = 14',
    ]);
    expect(findings[0]!.line).toBe(SMALL_PLAN.split('\n').indexOf('  max_iterations: 15') + 1);
  });
});

describe('review-required', () => {
  const adversarial = edit(SMALL_PLAN, 'quality_bar: structural', 'quality_bar: adversarial');
  const reviewed = (verdict: string) => edit(adversarial, 'scope:', `review:\n  verdict: ${verdict}\n  rounds: 2\n  reviewer: openai/gpt-5.4\nscope:`);

  it('fails an approved adversarial plan without an APPROVED review', () => {
    expect(of(lint(adversarial), 'review-required')[0]!.message).toMatch(/status is approved but the plan \(quality bar adversarial\) has no `review:` block/);
    expect(of(lint(reviewed('REVISE')), 'review-required')[0]!.message).toMatch(/review verdict is REVISE/);
  });

  it('passes with an APPROVED review, or while the plan is a draft', () => {
    expect(of(lint(reviewed('APPROVED')), 'review-required')).toEqual([]);
    expect(of(lint(edit(adversarial, 'status: approved', 'status: draft')), 'review-required')).toEqual([]);
  });

  it("fails a reviewer from the planner's provider unless the configuration allows it", () => {
    const config = 'models:\n  planner: openai/gpt-5.4\n';
    expect(of(lint(reviewed('APPROVED'), { 'deepplan.config.yaml': config }), 'review-required')[0]!.message).toMatch(/from the planner's provider/);
    expect(of(lint(reviewed('APPROVED'), { 'deepplan.config.yaml': `${config}allow_same_provider: true\n` }), 'review-required')).toEqual([]);
  });
});

describe('state-consistency', () => {
  it('fails an iteration count out of step with the log, an unknown phase, stray blockers and a premature complete', () => {
    expect(of(lint(edit(edit(SMALL_PLAN, 'iteration: 0', 'iteration: 1'), 'revision: 0', 'revision: 1')), 'state-consistency').map((f) => f.message)).toEqual([
      'state.iteration is 1 but the iteration log has 0 row(s)',
    ]);
    expect(of(lint(edit(SMALL_PLAN, 'phase: P1', 'phase: P9')), 'state-consistency')[0]!.message).toBe('state.phase is P9, which is not a phase of this plan');
    const blocked = edit(withLog([[ROW_TIME(1), 'P1', 'P1.1 /fetch-notes', 'ok', 'CONTINUE']]), 'blockers: []', 'blockers: [waiting for Ana]');
    expect(of(lint(blocked), 'state-consistency')[0]!.message).toBe('state.blockers is not empty but the last iteration signalled CONTINUE');
    const complete = of(lint(edit(SMALL_PLAN, 'status: approved', 'status: complete')), 'state-consistency').map((f) => f.message);
    expect(complete).toEqual([
      'status is complete but phase(s) P1, P2, P3 are not done',
      'status is complete but success criteria SC1, SC2, SC3 are not ticked',
    ]);
    expect(of(lint(editAll(SMALL_PLAN, 'Status: pending', 'Status: active')), 'state-consistency')[0]!.message).toMatch(/^3 phases are active/);
  });

  it('passes a log and state in step, with blockers while blocked', () => {
    const text = edit(
      withLog([
        [ROW_TIME(1), 'P1', 'P1.1 /fetch-notes', 'ok', 'CONTINUE'],
        [ROW_TIME(2), 'P3', 'P3 gate', 'blocked', 'BLOCKED_NEED_HUMAN', 'waiting for Ana'],
      ]),
      'blockers: []',
      'blockers: [Ana approves the page]',
    );
    expect(of(lint(text), 'state-consistency')).toEqual([]);
    expect(of(lint(edit(text, 'blockers: [Ana approves the page]', 'blockers: []')), 'state-consistency')[0]!.message).toMatch(
      /BLOCKED_NEED_HUMAN but state.blockers is empty/,
    );
  });
});

describe('iteration-log', () => {
  it('fails gaps, bad times, time going backwards, bad values, foreign actions and rows after TASK_COMPLETE', () => {
    const messages = (rows: Array<[string, string, string, string, string, string?]>) => of(lint(withLog(rows)), 'iteration-log').map((f) => f.message);
    expect(
      messages([
        [ROW_TIME(1), 'P1', 'P1.1 /fetch-notes', 'ok', 'CONTINUE'],
        ['2026-11-20 10:05', 'P1', 'P1.1 /fetch-notes', 'ok', 'CONTINUE'],
      ]),
    ).toEqual(['log row 2: When "2026-11-20 10:05" is not an ISO 8601 UTC time (2026-11-20T10:02:11Z)']);
    expect(
      messages([
        [ROW_TIME(5), 'P1', 'P1.1 /fetch-notes', 'ok', 'CONTINUE'],
        [ROW_TIME(1), 'P1', 'P1.1 /fetch-notes', 'ok', 'CONTINUE'],
      ]),
    ).toEqual(['log row 2 is earlier than the row above']);
    expect(messages([[ROW_TIME(1), 'P1', 'P2.1 /write-summary', 'done', 'GO']])).toEqual([
      'log row 1: Action P2.1 does not belong to phase P1',
      'log row 1: Result "done" is not one of ok, no-change, failed, blocked',
      'log row 1: Signal "GO" is not one of CONTINUE, TASK_COMPLETE, BLOCKED_NEED_HUMAN',
    ]);
    expect(messages([[ROW_TIME(1), 'P1', 'fetched the notes', 'ok', 'CONTINUE']])).toEqual([
      'log row 1: Action must start with a step reference (P3.2, P1 approve, P6 gate)',
    ]);
    expect(
      messages([
        [ROW_TIME(1), 'P3', 'P3.2 run node scripts/record-url.mjs', 'ok', 'TASK_COMPLETE'],
        [ROW_TIME(2), 'P3', 'P3.2 run again', 'ok', 'CONTINUE'],
      ]),
    ).toEqual(['log row 2 follows TASK_COMPLETE on row 1']);
    const gap = edit(withLog([[ROW_TIME(1), 'P1', 'P1.1 /fetch-notes', 'ok', 'CONTINUE']]), '| 1 | 2026', '| 2 | 2026');
    expect(of(lint(gap), 'iteration-log')[0]!.message).toBe('log row 1 is numbered "2"; rows count from 1 without gaps');
  });

  it('fails a wrong header, a missing delimiter row and rows with the wrong cell count', () => {
    const header = edit(SMALL_PLAN, '| # | When | Phase | Action | Result | Signal | Notes |', '| # | Time | Phase | Action | Result | Signal | Notes |');
    expect(of(lint(header), 'iteration-log')[0]!.message).toMatch(/header must be/);
    const delimiter = edit(SMALL_PLAN, '| --- | --- | --- | --- | --- | --- | --- |\n', '');
    expect(of(lint(delimiter), 'iteration-log')[0]!.message).toMatch(/no delimiter row/);
    const short = `${edit(edit(SMALL_PLAN, 'iteration: 0', 'iteration: 1'), 'revision: 0', 'revision: 1')}| 1 | ${ROW_TIME(1)} | P1 | P1.1 x | ok |\n`;
    expect(of(lint(short), 'iteration-log').map((f) => f.message)).toContain('log row has 5 cells; the header has 7');
  });

  it('passes a well-formed log', () => {
    expect(
      of(
        lint(
          withLog([
            [ROW_TIME(1), 'P1', 'P1.1 /fetch-notes', 'ok', 'CONTINUE'],
            [ROW_TIME(1), 'P1', 'P1 approve', 'ok', 'CONTINUE'],
          ]),
        ),
        'iteration-log',
      ),
    ).toEqual([]);
  });
});

describe('escape-hatch', () => {
  const failing: [string, string, string, string, string] = [ROW_TIME(1), 'P1', 'P1.1 /fetch-notes', 'failed', 'CONTINUE'];

  it('fails a fourth try of an action that failed three times', () => {
    const rows = [failing, failing, failing, failing].map((row, i) => [ROW_TIME(i), ...row.slice(1)] as typeof failing);
    const messages = of(lint(withLog(rows)), 'escape-hatch').map((f) => f.message);
    expect(messages[0]).toBe('log row 4 tries "P1.1 /fetch-notes" again after it failed 3 times; the executor must try an alternative or stop');
  });

  it('fails five iterations without progress unless the fifth is BLOCKED_NEED_HUMAN', () => {
    const stall = (signal: string) =>
      Array.from(
        { length: 5 },
        (_, i) => [ROW_TIME(i), 'P1', `P1.1 /fetch-notes try ${i}`, 'no-change', i === 4 ? signal : 'CONTINUE'] as [string, string, string, string, string],
      );
    expect(of(lint(withLog(stall('CONTINUE'))), 'escape-hatch')[0]!.message).toMatch(/^log rows 1 to 5 made no progress/);
    const blocked = edit(withLog(stall('BLOCKED_NEED_HUMAN')), 'blockers: []', 'blockers: [no progress]');
    expect(of(lint(blocked), 'escape-hatch')).toEqual([]);
  });

  it('fails a log longer than the budget and a spent budget that did not stop', () => {
    const rows = Array.from(
      { length: 15 },
      (_, i) => [ROW_TIME(i), 'P1', `P1.1 /fetch-notes page ${i}`, 'ok', 'CONTINUE'] as [string, string, string, string, string],
    );
    expect(of(lint(withLog(rows)), 'escape-hatch').map((f) => f.message)).toEqual([
      'the budget of 15 iterations is spent but the last row signalled CONTINUE; it must be BLOCKED_NEED_HUMAN with a summary',
    ]);
    expect(of(lint(edit(withLog(rows), 'max_iterations: 15', 'max_iterations: 14')), 'escape-hatch').map((f) => f.message)).toContain(
      'the log has 15 iterations; the budget allows 14',
    );
  });
});

describe('scope', () => {
  it('fails outputs outside scope.write, paths leaving the repository and commands without an allowed prefix', () => {
    const messages = (text: string) => of(lint(text), 'scope').map((f) => f.message);
    expect(messages(edit(SMALL_PLAN, '- Outputs: out/published.txt', '- Outputs: public/published.txt'))).toEqual([
      'P3 writes "public/published.txt", which scope.write does not allow',
    ]);
    expect(messages(edit(SMALL_PLAN, '- Inputs: notes/accounts.md', '- Inputs: ../secrets.md'))).toEqual(['P1 reads "../secrets.md", outside the repository']);
    expect(messages(edit(SMALL_PLAN, 'write: [notes/**, out/**]', 'write: [notes/**, out/**, /etc/**]'))).toEqual([
      'scope.write "/etc/**" leaves the repository; use paths relative to its root without ".."',
    ]);
    expect(messages(edit(SMALL_PLAN, 'write: [notes/**, out/**]', 'write: [notes/**, out/**, .git/hooks/*, ./node_modules/x/**]'))).toEqual([
      'scope.write ".git/hooks/*" is in .git/, which commands never write; name a folder of the work',
      'scope.write "./node_modules/x/**" is in node_modules/, which commands never write; name a folder of the work',
    ]);
    expect(messages(edit(SMALL_PLAN, 'run: `node scripts/record-url.mjs out/published.txt`', 'run: `curl -X POST example.invalid`'))).toEqual([
      'P3.2 runs `curl -X POST example.invalid`, which starts with no prefix in scope.commands',
    ]);
    expect(messages(edit(SMALL_PLAN, '1. /write-summary notes/week.md --out out/summary.md', '1. /write-summary notes/week.md; rm -rf out'))).toEqual([
      'P2.1 /write-summary: the arguments "notes/week.md; rm -rf out" hold shell syntax (;); give the skill plain arguments, quoted where they hold spaces or symbols',
    ]);
  });

  it('passes paths and commands inside the scope, and anything inside the repository without a scope', () => {
    expect(of(lint(SMALL_PLAN), 'scope')).toEqual([]);
    const unscoped = edit(SMALL_PLAN, 'scope:\n  write: [notes/**, out/**]\n  commands: [node scripts/]\n', '');
    // Without scope.write, the only finding is the note that says where steps may write.
    expect(of(lint(edit(unscoped, 'run: `node scripts/record-url.mjs out/published.txt`', 'run: `make publish`')), 'scope')).toEqual([
      expect.objectContaining({
        severity: 'warning',
        message: expect.stringMatching(/^the plan has no scope\.write: its steps may write only inside the repository's existing top-level folders/),
      }),
    ]);
  });
});

describe('configuration and inline comments', () => {
  it('turns a rule off or changes its severity from deepplan.config.yaml', () => {
    const broken = edit(SMALL_PLAN, 'max_iterations: 15', 'max_iterations: 3');
    expect(of(lint(broken, { 'deepplan.config.yaml': 'rules:\n  budget: off\n' }), 'budget')).toEqual([]);
    expect(of(lint(broken, { 'deepplan.config.yaml': 'rules:\n  budget: warning\n' }), 'budget')[0]!.severity).toBe('warning');
  });

  it('disables rules from a comment on, and for the whole file above the first heading', () => {
    const broken = edit(SMALL_PLAN, 'max_iterations: 15', 'max_iterations: 3');
    expect(of(lint(edit(broken, '# Weekly account summary', '<!-- deepplan-disable budget -->\n\n# Weekly account summary')), 'budget')).toEqual([]);
    const drift = edit(
      SMALL_PLAN,
      '1. /fetch-notes --week current --out notes/week.md\n',
      '1. /fetch-notes --week current --out notes/week.md\n2. /write-summary early\n',
    );
    const local = edit(drift, '### P1. Fetch the notes', '<!-- deepplan-disable skill-drift -->\n\n### P1. Fetch the notes');
    expect(of(lint(local), 'skill-drift')).toEqual([]);
    const reenabled = edit(local, '### P2. Write the summary', '<!-- deepplan-enable skill-drift -->\n\n### P2. Write the summary');
    expect(
      of(lint(edit(reenabled, '1. /publish-page out/summary.md\n', '1. /publish-page out/summary.md\n2. /fetch-notes again\n')), 'skill-drift').map(
        (f) => f.message,
      ),
    ).toEqual(['P3.2 invokes /fetch-notes, which the skill audit does not map to P3']);
    // A comment below the first heading does not reach back into the front matter.
    expect(of(lint(edit(broken, '## Request', '<!-- deepplan-disable budget -->\n\n## Request')), 'budget')).toHaveLength(1);
  });

  it('does not count a disable comment shown inside code (a fenced example, inline code)', () => {
    const drift = edit(
      SMALL_PLAN,
      '1. /fetch-notes --week current --out notes/week.md\n',
      '1. /fetch-notes --week current --out notes/week.md\n2. /write-summary early\n',
    );
    const comment = '<!-- deepplan-disable skill-drift -->';
    for (const shown of [`\`\`\`markdown\n${comment}\n\`\`\``, `~~~~\n${comment}\n~~~~`, `To silence it, write \`${comment}\` above the phase.`]) {
      const text = edit(drift, '### P1. Fetch the notes', `${shown}\n\n### P1. Fetch the notes`);
      expect(of(lint(text), 'skill-drift'), shown).toHaveLength(1);
    }
    // The same comment outside code does disable.
    expect(of(lint(edit(drift, '### P1. Fetch the notes', `${comment}\n\n### P1. Fetch the notes`)), 'skill-drift')).toEqual([]);
  });
});

describe('inline comments, finer points', () => {
  const broken = edit(edit(SMALL_PLAN, 'max_iterations: 15', 'max_iterations: 3'), '- Gate: human', '- Gate: manager');

  it('enables one rule of a disabled list and keeps the others off', () => {
    const text = edit(
      edit(broken, '## Request', '<!-- deepplan-disable budget, phase-fields -->\n\n## Request'),
      '### P3. Publish the page',
      '<!-- deepplan-enable budget -->\n\n### P3. Publish the page',
    );
    const findings = lint(text);
    expect(of(findings, 'phase-fields')).toEqual([]);
    expect(of(findings, 'budget')).toHaveLength(1); // in the front matter, above the disable comment
  });

  it('enables one rule inside a disable-all', () => {
    const text = edit(
      edit(broken, '## Request', '<!-- deepplan-disable -->\n\n## Request'),
      '### P3. Publish the page',
      '<!-- deepplan-enable phase-fields -->\n\n### P3. Publish the page',
    );
    expect(of(lint(text), 'phase-fields')).toHaveLength(1);
    const withSkillDrift = edit(text, '1. /publish-page out/summary.md\n', '1. /publish-page out/summary.md\n2. /fetch-notes again\n');
    expect(of(lint(withSkillDrift), 'skill-drift')).toEqual([]);
  });

  it('applies the configuration to front-matter problems found while reading', () => {
    const yaml = edit(SMALL_PLAN, 'title: Weekly account summary', 'title: [unclosed');
    expect(of(lint(yaml), 'front-matter')[0]!.severity).toBe('error');
    expect(of(lint(yaml, { 'deepplan.config.yaml': 'rules:\n  front-matter: warning\n' }), 'front-matter')[0]!.severity).toBe('warning');
  });
});

describe('messages', () => {
  it('are one line even when a field value wraps in the plan', () => {
    const wrapped = edit(SMALL_PLAN, '- Outputs: out/published.txt', '- Outputs: out/published.txt,\n  public/page\n  index.html');
    const findings = of(lint(wrapped), 'scope');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toBe('P3 writes "public/page index.html", which scope.write does not allow');
  });
});
