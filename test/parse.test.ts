import { describe, expect, it } from 'vitest';
import { decodePlan, parsePlan } from '../src/plan/parse.js';
import { SMALL_PLAN, edit } from './support/fixtures.js';

describe('parsePlan', () => {
  it('reads the front matter, sections, criteria, skills, phases and steps with their lines', () => {
    const plan = parsePlan(SMALL_PLAN);
    expect(plan.diagnostics).toEqual([]);
    expect(plan.meta.id).toBe('weekly-summary');
    expect(plan.meta.state?.phase).toBe('P1');
    expect(plan.sections.map((section) => section.key)).toEqual([
      'request',
      'success criteria',
      'constraints',
      'stakeholders',
      'skills',
      'phases',
      'running learnings',
      'iteration log',
    ]);
    expect(plan.criteria?.map((criterion) => [criterion.id, criterion.checked, criterion.verify])).toEqual([
      ['SC1', false, 'test -s notes/week.md'],
      ['SC2', false, `test "$(grep -c '^- ' out/summary.md)" -ge 3`],
      ['SC3', false, 'test -s out/published.txt'],
    ]);
    expect(plan.skills?.mapped?.map((skill) => [skill.name, skill.phases])).toEqual([
      ['fetch-notes', ['P1']],
      ['write-summary', ['P2']],
      ['publish-page', ['P3']],
    ]);
    expect(plan.skills?.excluded?.map((skill) => skill.name)).toEqual(['hubspot-sync', 'newsletter-builder']);
    const p3 = plan.phases[2]!;
    expect(p3.id).toBe('P3');
    expect(p3.gate).toBe('human');
    expect(p3.dependsOn).toEqual(['P2']);
    expect(p3.steps.map((step) => [step.kind, step.skill, step.command])).toEqual([
      ['skill', 'publish-page', null],
      ['run', null, 'node scripts/record-url.mjs out/published.txt'],
    ]);
    const lines = SMALL_PLAN.split('\n');
    expect(lines[p3.heading.start.line - 1]).toBe('### P3. Publish the page');
    expect(lines[p3.steps[1]!.line - 1]).toContain('run: `node scripts/record-url.mjs');
    expect(plan.log?.rows).toEqual([]);
    expect(plan.learnings).toEqual([]);
  });

  it("reads a skill step's arguments without the backticks of their code spans (the writer's; a shell would run them)", () => {
    const args = (step: string) => parsePlan(edit(SMALL_PLAN, '1. /write-summary notes/week.md --out out/summary.md', `1. ${step}`)).phases[1]!.steps[0]!;
    expect(args('/write-summary `ana-silva`')).toMatchObject({ kind: 'skill', skill: 'write-summary', args: 'ana-silva' });
    expect(args('/write-summary --for `ana_silva` --out `` out/a`b.md ``').args).toBe('--for ana_silva --out out/a`b.md');
    expect(args('/write-summary notes/week.md --out out/summary.md').args).toBe('notes/week.md --out out/summary.md');
  });

  it('reads log rows line by line, with escaped pipes', () => {
    const text = `${SMALL_PLAN}| 1 | 2026-11-20T10:02:11Z | P1 | P1.1 /fetch-notes a \\| b | ok | CONTINUE | note |\n`;
    const plan = parsePlan(text);
    expect(plan.log?.rows).toHaveLength(1);
    expect(plan.log?.rows[0]).toMatchObject({ number: 1, phase: 'P1', action: 'P1.1 /fetch-notes a | b', result: 'ok', signal: 'CONTINUE' });
    expect(plan.log?.rows[0]!.line).toBe(text.split('\n').length - 1);
  });

  it('keeps working with CRLF line endings and a BOM', () => {
    const plan = parsePlan(`\uFEFF${SMALL_PLAN.replace(/\n/g, '\r\n')}`);
    expect(plan.diagnostics).toEqual([]);
    expect(plan.bom).toBe(true);
    expect(plan.eol).toBe('\r\n');
    expect(plan.phases).toHaveLength(3);
    expect(plan.phases[0]!.status).toBe('pending');
  });

  it('turns broken YAML into a front-matter diagnostic instead of throwing', () => {
    const plan = parsePlan(edit(SMALL_PLAN, 'title: Weekly account summary', 'title: [unclosed'));
    expect(plan.diagnostics[0]).toMatchObject({ ruleId: 'front-matter', severity: 'error' });
    expect(plan.diagnostics[0]!.line).toBeGreaterThan(1);
  });

  it('refuses YAML alias bombs', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`,
      ),
    ].join('\n');
    const started = performance.now();
    const plan = parsePlan(`---\n${bomb}\n---\n\n## Request\n`);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(plan.diagnostics.some((diagnostic) => diagnostic.ruleId === 'front-matter' && /alias/i.test(diagnostic.message))).toBe(true);
  });

  it('refuses deep nesting before Markdown parsing', () => {
    const plan = parsePlan(`${SMALL_PLAN}\n${'>'.repeat(5000)} deep\n`);
    expect(plan.diagnostics[0]).toMatchObject({ ruleId: 'parse' });
    expect(plan.diagnostics[0]!.message).toMatch(/nested/);
  });

  it('finds the first invalid UTF-8 byte and refuses binary content', () => {
    const bytes = Buffer.concat([Buffer.from('---\nid: x\n'), Buffer.from([0xc3, 0x28]), Buffer.from('\n---\n')]);
    const decoded = decodePlan(bytes);
    expect('error' in decoded && decoded.error.message).toMatch(/not valid UTF-8 \(first bad byte at offset 10\)/);
    expect('error' in decoded && decoded.error.line).toBe(3);
    const binary = decodePlan(Buffer.from([1, 2, 0, 3]));
    expect('error' in binary && binary.error.message).toMatch(/binary/);
    expect(decodePlan(Buffer.from(SMALL_PLAN))).toEqual({ text: SMALL_PLAN, bytes: Buffer.from(SMALL_PLAN) });
  });

  it('ignores a `## Iteration log` heading inside fenced code', () => {
    const text = edit(SMALL_PLAN, '## Running learnings\n', '## Running learnings\n\n```md\n## Iteration log\n| # |\n```\n');
    const plan = parsePlan(text);
    expect(plan.log?.headingLine).toBe(text.split('\n').lastIndexOf('## Iteration log') + 1);
    expect(text.split('\n').indexOf('## Iteration log')).toBeLessThan(plan.log!.headingLine - 1);
    expect(plan.log?.header?.length).toBe(7);
  });
});
