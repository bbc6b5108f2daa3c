import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lintText } from '../src/lint/lint.js';
import { parsePlan } from '../src/plan/parse.js';
import { FakeProviders } from './support/fake-providers.js';
import { makeRepo, RESEARCH_SKILLS, runCli } from './support/fixtures.js';

const SKILLS = RESEARCH_SKILLS;
const CONFIG = 'models:\n  planner: anthropic/claude-test\n  reviewer: openai/gpt-test\nlimits:\n  timeout_ms: 3000\n  max_attempts: 2\n  retry_base_ms: 10\n';
const REQUEST = 'Research for the client deal review: what does src/intake.ts do? Success is one findings page. Read-only. Priya, the account lead, approves.';
const KEYS = { anthropic: 'sk-ant-test-0123456789', openai: 'sk-openai-test-0123456789' };

const USEFUL = {
  title: 'What src/intake.ts does, for the deal review',
  phases: [
    {
      title: 'Read the intake module',
      inputs: ['src/intake.ts'],
      outputs: ['notes/intake.md'],
      gate: 'none',
      done_when: 'notes on the intake module exist',
      verify: 'test -s notes/intake.md',
      steps: [{ kind: 'skill', text: 'source-notes src/intake.ts --out notes/intake.md' }],
    },
    {
      title: 'Compare the intake notes with the briefing',
      inputs: ['notes/intake.md'],
      outputs: ['notes/comparison.md'],
      gate: 'none',
      done_when: 'the comparison exists',
      verify: 'test -s notes/comparison.md',
      steps: [{ kind: 'skill', text: 'compare-sources notes --out notes/comparison.md' }],
    },
    {
      title: 'Write the findings page',
      inputs: ['notes/comparison.md'],
      outputs: ['out/findings.md'],
      gate: 'none',
      done_when: 'the findings page exists',
      verify: 'test -s out/findings.md',
      steps: [{ kind: 'skill', text: 'findings-report notes --out out/findings.md' }],
    },
    {
      title: 'Priya approves the findings',
      inputs: ['out/findings.md'],
      outputs: ['out/approval.md'],
      gate: 'human',
      done_when: 'Priya approved',
      verify: "grep -q '^Approved' out/approval.md",
      steps: [{ kind: 'model', text: "Record Priya's verdict in out/approval.md." }],
    },
  ],
  criteria: [
    { text: 'One findings page exists', verify: 'test -s out/findings.md' },
    { text: 'Priya approved the findings', verify: "grep -q '^Approved' out/approval.md" },
  ],
  skills_excluded: [
    { name: 'newsletter-builder', reason: 'No newsletter is part of a research question.' },
    { name: 'hubspot-sync', reason: 'Deprecated: HubSpot is no longer the system of record.' },
  ],
};
const WORKSTREAM = { kind: 'answer' as const, object: { workstream: 'consulting', confidence: 0.9, reason: 'A deal review for a client.' } };
const USELESS = {
  title: 'x',
  phases: [{ title: 'a', inputs: [], outputs: ['b'], gate: 'none', done_when: 'c', verify: '', steps: [{ kind: 'model', text: 'd' }] }],
  criteria: [{ text: 'e', verify: '' }],
  skills_excluded: [],
};

const run = runCli;

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.close();
});

describe('deepplan plan with a planner model', () => {
  it("plans from the planner's structured answer, built from the prompt with the request and the skills", async () => {
    fake.queue('anthropic', WORKSTREAM, { kind: 'answer', object: USEFUL });
    const root = makeRepo({ ...SKILLS, 'deepplan.config.yaml': CONFIG, 'src/intake.ts': 'export const x = 1;\n' });
    const result = await run(['plan', '--request', REQUEST, '--out', 'plans/p.md', '--no-review'], root, fake.env(KEYS));
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code).toBe(0);
    expect(fake.count('anthropic')).toBe(2);
    expect(JSON.stringify(fake.requests[0]!.body)).toContain('Classify this request into one workstream');
    expect(result.stderr).toMatch(/workstream\s+consulting \(confidence 0\.90 by anthropic\/claude-test: A deal review for a client\.\)/);
    const sent = JSON.stringify(fake.requests[1]!.body);
    expect(fake.requests[1]!.structured).toBe(true);
    expect(sent).toContain('what does src/intake.ts do?');
    expect(sent).toContain('### source-notes\\n- description: Reads a source file');
    // The consulting context pack is part of the prompt.
    expect(sent).toContain('Consulting work is client-facing');
    const text = readFileSync(join(root, 'plans/p.md'), 'utf8');
    const plan = parsePlan(text);
    expect(plan.phases.map((phase) => phase.title)).toEqual(USEFUL.phases.map((phase) => phase.title));
    expect(plan.phases[3]!.gate).toBe('human');
    expect(lintText(text, join(root, 'plans/p.md')).filter((finding) => finding.severity === 'error')).toEqual([]);
    expect(result.stderr).toMatch(/generation\s+4 phases from the planner \(anthropic\/claude-test\)/);
  });

  it("uses a prompt from the repository's prompts folder over the shipped one, by name", async () => {
    fake.queue('anthropic', WORKSTREAM, { kind: 'answer', object: USEFUL });
    const custom = '---\nrole: planner\nschema: plan_draft\nversion: 7\n---\nOUR HOUSE PROMPT for: {request}\n';
    const root = makeRepo({ ...SKILLS, 'deepplan.config.yaml': CONFIG, 'src/intake.ts': 'export const x = 1;\n', 'prompts/plan-generation.md': custom });
    const result = await run(['plan', '--request', REQUEST, '--out', 'plans/p.md', '--no-review'], root, fake.env(KEYS));
    expect(result.code).toBe(0);
    expect(JSON.stringify(fake.requests[1]!.body)).toContain('OUR HOUSE PROMPT for: Research for the client deal review');
    expect(JSON.stringify(fake.requests[1]!.body)).not.toContain('You are the planner of deepplan');
  });

  it('sends a schema-valid but useless answer back once, and uses the repaired one', async () => {
    fake.queue('anthropic', WORKSTREAM, { kind: 'answer', object: USELESS }, { kind: 'answer', object: USEFUL });
    const root = makeRepo({ ...SKILLS, 'deepplan.config.yaml': CONFIG, 'src/intake.ts': 'export const x = 1;\n' });
    const result = await run(['plan', '--request', REQUEST, '--out', 'plans/p.md', '--no-review'], root, fake.env(KEYS));
    expect(result.code).toBe(0);
    expect(fake.count('anthropic')).toBe(3);
    expect(JSON.stringify(fake.requests[2]!.body)).toMatch(/That plan cannot be used: the plan has 1 phase\(s\); a plan has at least 3/);
    expect(parsePlan(readFileSync(join(root, 'plans/p.md'), 'utf8')).phases).toHaveLength(4);
  });

  it('falls back to the offline template after two useless answers, and still writes a plan that lints', async () => {
    fake.queue('anthropic', WORKSTREAM).always('anthropic', { kind: 'answer', object: USELESS });
    const root = makeRepo({ ...SKILLS, 'deepplan.config.yaml': CONFIG, 'src/intake.ts': 'export const x = 1;\n' });
    const result = await run(['plan', '--request', REQUEST, '--out', 'plans/p.md', '--no-review'], root, fake.env(KEYS));
    expect(result.code).toBe(0);
    expect(fake.count('anthropic')).toBe(3);
    expect(result.stderr).toMatch(/the planner's answer was not usable twice; planning from the offline research template instead/);
    const text = readFileSync(join(root, 'plans/p.md'), 'utf8');
    expect(lintText(text, join(root, 'plans/p.md')).filter((finding) => finding.severity === 'error')).toEqual([]);
    expect(text).not.toMatch(/### P\d+\. a$/m);
  });

  it('stops with one line, and writes nothing, when the planner keeps failing', async () => {
    fake.always('anthropic', { kind: 'status', status: 500 });
    const root = makeRepo({ ...SKILLS, 'deepplan.config.yaml': CONFIG, 'src/intake.ts': 'export const x = 1;\n' });
    const result = await run(['plan', '--request', REQUEST, '--out', 'plans/p.md', '--no-review'], root, fake.env(KEYS));
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toBe(
      'deepplan: planner (anthropic/claude-test): HTTP 500 after 2 attempts; the provider is failing; retry later or configure a fallback model',
    );
  });

  it('refuses a call that could pass --max-cost before sending it', async () => {
    const root = makeRepo({
      ...SKILLS,
      'deepplan.config.yaml': `${CONFIG}prices:\n  anthropic/claude-test: {input: 3, output: 15}\n`,
      'src/intake.ts': 'export const x = 1;\n',
    });
    const result = await run(['plan', '--request', REQUEST, '--out', 'plans/p.md', '--max-cost', '0.001'], root, fake.env(KEYS));
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(
      /^deepplan: planner \(anthropic\/claude-test\): this call could bring the run to \$0\.\d+, over --max-cost \$0\.00/,
    );
    expect(fake.count()).toBe(0);
    const bad = await run(['plan', '--request', REQUEST, '--max-cost', 'lots'], root, {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/give a cost in US dollars/);
  });

  it("records the planner's answers to a cassette and replays them with no network", async () => {
    fake.queue('anthropic', WORKSTREAM, { kind: 'answer', object: USEFUL });
    const root = makeRepo({ ...SKILLS, 'deepplan.config.yaml': CONFIG, 'src/intake.ts': 'export const x = 1;\n' });
    const recorded = await run(['plan', '--request', REQUEST, '--out', 'plans/a.md', '--no-review'], root, {
      ...fake.env(KEYS),
      DEEPPLAN_RECORD: 'cassette.json',
    });
    expect(recorded.code).toBe(0);
    await fake.close();
    const replayConfig = CONFIG.replace('planner: anthropic/claude-test', 'planner: replay/cassette.json');
    const replayRoot = root;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(replayRoot, 'deepplan.config.yaml'), replayConfig);
    const replayed = await run(['plan', '--request', REQUEST, '--out', 'plans/b.md', '--no-review'], replayRoot, {});
    expect(replayed.code).toBe(0);
    const phases = (file: string) => parsePlan(readFileSync(join(root, file), 'utf8')).phases.map((phase) => phase.title);
    expect(phases('plans/b.md')).toEqual(phases('plans/a.md'));
    fake = await new FakeProviders().start();
  });
});
