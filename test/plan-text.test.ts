import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintText } from '../src/lint/lint.js';
import { makeRepo, SMALL_PLAN, SMALL_PLAN_SKILLS } from './support/fixtures.js';
import { edit, editAll, edits, logRows, planText, SMALL_PLAN_SPEC, skillMd } from './support/plan-text.js';

/** The plan-text builder of the tests: it writes the PLAN_FORMAT layout, and its edits fail when their text is absent. */

describe('the plan-text builder', () => {
  it('writes the small plan exactly as it is typed in the fixtures, which lints clean', () => {
    expect(planText(SMALL_PLAN_SPEC)).toBe(SMALL_PLAN);
    const root = makeRepo(SMALL_PLAN_SKILLS);
    expect(lintText(planText(SMALL_PLAN_SPEC), join(root, 'plans', 'summary.md'))).toEqual([]);
  });

  it('appends learnings and log rows at the end', () => {
    const rows = logRows([['2026-11-20T10:01:00Z', 'P1', 'P1.1 /fetch-notes', 'ok', 'CONTINUE']]);
    const text = planText({ ...SMALL_PLAN_SPEC, learnings: ['Ana wants accounts in order'], log: rows });
    expect(
      text.endsWith(
        `## Running learnings\n\n- Ana wants accounts in order\n\n## Iteration log\n\n| # | When | Phase | Action | Result | Signal | Notes |\n| --- | --- | --- | --- | --- | --- | --- |\n${rows}\n`,
      ),
    ).toBe(true);
  });

  it('writes a SKILL.md with metadata in JSON values, or as the caller writes them', () => {
    expect(skillMd({ name: 'a', description: 'Does a.', metadata: { reads: ['x/*.md'], irreversible: true }, body: 'Body.' })).toBe(
      '---\nname: a\ndescription: "Does a."\nmetadata:\n  reads: ["x/*.md"]\n  irreversible: true\n---\n\n# a\n\nBody.\n',
    );
    expect(skillMd({ name: 'b', description: 'Does b.', metadata: { run: 'sh scripts/b.sh' }, value: String })).toBe(
      '---\nname: b\ndescription: "Does b."\nmetadata:\n  run: sh scripts/b.sh\n---\n\n# b\n',
    );
  });
});

describe('edits that fail loudly', () => {
  it('edit replaces exactly one occurrence, and throws when the text is absent or there twice', () => {
    expect(edit(SMALL_PLAN, 'status: approved', 'status: draft')).toContain('status: draft');
    expect(() => edit(SMALL_PLAN, 'status: aproved', 'status: draft')).toThrow(/expected exactly one "status: aproved"/);
    expect(() => edit(SMALL_PLAN, '- Status: pending', '- Status: done')).toThrow(/expected exactly one/);
    expect(() => edit(SMALL_PLAN, /^status: nope$/m, '')).toThrow(/expected \/\^status: nope\$\/m/);
    // A string is replaced as it is: `$&` stays `$&`.
    expect(edit('a b', 'b', '$&$&')).toBe('a $&$&');
  });

  it('editAll replaces every occurrence and throws when there is none', () => {
    expect(editAll(SMALL_PLAN, '- Status: pending', '- Status: done').match(/- Status: done/g)).toHaveLength(3);
    expect(editAll(SMALL_PLAN, /- Depends on: .*\n/, '')).not.toContain('- Depends on:');
    let count = 0;
    expect(editAll('x x x', 'x', () => String(++count))).toBe('1 2 3');
    expect(() => editAll(SMALL_PLAN, '- Status: paused', '')).toThrow(/expected "- Status: paused"/);
    expect(() => editAll(SMALL_PLAN, /Gate: review/, '')).toThrow(/expected \/Gate: review\//);
  });

  it('edits applies a chain in order and throws at the first change that finds nothing', () => {
    expect(
      edits(SMALL_PLAN, [
        ['iteration: 0', 'iteration: 1'],
        ['revision: 0', 'revision: 1'],
      ]),
    ).toMatch(/iteration: 1\n {2}revision: 1\n/);
    // A chain of .replace() would go on silently with the first change undone.
    expect(() =>
      edits(SMALL_PLAN, [
        ['status: approved', 'status: draft'],
        ['status: approved', 'status: complete'],
      ]),
    ).toThrow(/status: approved/);
  });
});
