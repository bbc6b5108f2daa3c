import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { runIteration, type IterationReport } from '../../src/execute/iteration.js';
import { lintText } from '../../src/lint/lint.js';
import { ModelRunner } from '../../src/models/runner.js';
import { scriptedRunner } from '../../src/models/scripted.js';
import type { Model } from '../../src/models/types.js';
import { parsePlan } from '../../src/plan/parse.js';
import type { Behaviour, FakeProviders, RecordedRequest } from './fake-providers.js';
import { makeRepo, skillFile } from './fixtures.js';
import { PUT_SCRIPT } from './scripted.js';

/**
 * Plans whose steps the executor model carries out, for tests that serve the model from a fake provider
 * (test/support/fake-providers.ts): executor and planner are Anthropic models, the reviewer an OpenAI one.
 */

export const KEYS = { anthropic: 'sk-ant-test-0123456789', openai: 'sk-openai-test-0123456789' };

export const MODEL_CONFIG = [
  'models:',
  '  planner: anthropic/claude-test',
  '  reviewer: openai/gpt-test',
  '  executor: anthropic/claude-test',
  'limits:',
  '  timeout_ms: 5000',
  '  max_attempts: 1',
  '  retry_base_ms: 10',
  '',
].join('\n');

/** `node scripts/fail.mjs`: always exits 1. */
export const FAIL_SCRIPT = `console.error('fail.mjs: the upstream export is not there');\nprocess.exit(1);\n`;

/** `node scripts/escape.mjs <path>`: tries to write <path> (wherever it is) and reports. */
export const ESCAPE_SCRIPT = `import { writeFileSync } from 'node:fs';
try {
  writeFileSync(process.argv[2], 'escaped\\n');
} catch (error) {
  console.error('escape.mjs: ' + error.code);
  process.exit(1);
}
console.log('wrote ' + process.argv[2]);
`;

/** A skill the executor model carries out (no metadata.run) that may only read and write files. */
export const WRITE_SUMMARY_SKILL = skillFile('write-summary', 'allowed-tools: read_file write_file\n').replace(
  '# write-summary\n',
  '# write-summary\n\nWRITE-SUMMARY HOUSE STYLE: one line per account, each starting with "- ".\n',
);

export interface ModelPlanOptions {
  /** P1's steps (the list items' text). */
  steps?: string[];
  gate?: 'none' | 'review' | 'human';
  /** P1 is already done: the run starts at P2 (the /write-summary skill step). */
  p1Done?: boolean;
  /** A skill mapped to P1 in the audit that no step of P1 invokes. */
  mapToP1?: string;
  maxIterations?: number;
  /** No scope: block (the whole repository is writable, any command allowed). */
  noScope?: boolean;
}

/**
 * Two phases: P1 model steps that write notes/week.md, P2 the /write-summary skill (run by the executor model,
 * allowed-tools read_file write_file) that writes out/summary.md.
 */
export function modelPlan(options: ModelPlanOptions = {}): string {
  const steps = options.steps ?? ['Write notes/week.md with one line per account of notes/accounts.md.'];
  const mapped = [...(options.mapToP1 ? [`| ${options.mapToP1} | P1 | Notes live in the CRM |`] : []), '| write-summary | P2 | House style for summaries |'];
  return `---
deepplan: 1
id: model-run
title: Weekly notes by the executor model
status: approved
created: 2026-11-20
workstream: content
deliverable: content
quality_bar: structural
owner: Ana, account lead
budget:
  max_iterations: ${options.maxIterations ?? 30}
  basis: formula
${options.noScope ? '' : 'scope:\n  write: [notes/**, out/**]\n  commands: [node scripts/]\n'}state:
  phase: ${options.p1Done ? 'P2' : 'P1'}
  iteration: 0
  revision: 0
  next_action: ${options.p1Done ? 'Write the summary' : 'Write the notes'}
  blockers: []
  updated: 2026-11-20T10:00:00Z
---

# Weekly notes by the executor model

## Request

Turn this week's account notes into a short summary for the team.

## Success criteria

- [ ] SC1: The notes of this week exist. verify: \`test -s notes/week.md\`
- [ ] SC2: The summary exists. verify: \`test -s out/summary.md\`

## Constraints

- Only this week's notes.

## Stakeholders

- Ana — account lead, reads the summary

## Skills

### Mapped

| Skill | Phases | Why |
| --- | --- | --- |
${mapped.join('\n')}

### Excluded

| Skill | Reason |
| --- | --- |
| hubspot-sync | HubSpot is deprecated |
| newsletter-builder | Not a newsletter |

## Phases

### P1. Write the notes
- Inputs: notes/accounts.md
- Outputs: notes/week.md
- Context: direct
- Depends on: none
- Gate: ${options.gate ?? 'none'}
- Done when: the notes exist. verify: \`test -s notes/week.md\`
- Status: ${options.p1Done ? 'done' : 'pending'}

${steps.map((step, index) => `${index + 1}. ${step}`).join('\n')}

### P2. Write the summary
- Inputs: notes/week.md
- Outputs: out/summary.md
- Context: direct
- Depends on: P1
- Done when: the summary exists. verify: \`test -s out/summary.md\`
- Status: pending

1. /write-summary notes/week.md --out out/summary.md

## Running learnings

## Iteration log

| # | When | Phase | Action | Result | Signal | Notes |
| --- | --- | --- | --- | --- | --- | --- |
`;
}

export function modelRepo(plan: string = modelPlan(), extra: Record<string, string> = {}, config = MODEL_CONFIG): string {
  return makeRepo({
    'plans/p.md': plan,
    'deepplan.config.yaml': config,
    'notes/accounts.md': '# Accounts\n\n- Acme\n- Globex\n- Initech\n',
    'scripts/put.mjs': PUT_SCRIPT,
    'scripts/fail.mjs': FAIL_SCRIPT,
    'scripts/escape.mjs': ESCAPE_SCRIPT,
    '.claude/skills/write-summary/SKILL.md': WRITE_SUMMARY_SKILL,
    '.claude/skills/fetch-notes/SKILL.md': skillFile('fetch-notes'),
    '.claude/skills/hubspot-sync/SKILL.md': skillFile('hubspot-sync'),
    '.claude/skills/newsletter-builder/SKILL.md': skillFile('newsletter-builder'),
    ...extra,
  });
}

export interface ToolCall {
  tool: 'read_file' | 'write_file' | 'list_files' | 'search_text' | 'run_command';
  path?: string | null;
  content?: string | null;
  pattern?: string | null;
  command?: string | null;
  step_done?: boolean;
  summary?: string;
  learning?: string | null;
}

/** The executor model's answer (ModelActionSchema: every field present, unused ones null) as a fake-server behaviour. */
export function toolCall(call: ToolCall, usage: { inputTokens?: number; outputTokens?: number } = {}): Behaviour {
  return {
    kind: 'answer',
    ...usage,
    object: {
      tool: call.tool,
      path: call.path ?? null,
      content: call.content ?? null,
      pattern: call.pattern ?? null,
      command: call.command ?? null,
      step_done: call.step_done ?? false,
      summary: call.summary ?? `${call.tool} for the step`,
      learning: call.learning ?? null,
    },
  };
}

/** The user prompt of a recorded request (Anthropic messages or OpenAI Responses input). */
export function promptOf(request: RecordedRequest): string {
  const messages = (request.body['messages'] ?? request.body['input']) as Array<{ content: unknown }> | undefined;
  const content = messages?.[0]?.content;
  return typeof content === 'string' ? content : JSON.stringify(content ?? '');
}

export function systemOf(request: RecordedRequest): string {
  const system = request.body['system'] ?? request.body['instructions'];
  return typeof system === 'string' ? system : JSON.stringify(system ?? '');
}

export const SANDBOX = !process.env['DEEPPLAN_TEST_NO_SANDBOX'];

/**
 * One iteration in this process, the executor (and reviewer) answered by the fake server, or by an in-process
 * model (ScriptedModel) where the test is about the engine rather than the providers' wire formats.
 */
export function iterate(root: string, fake: FakeProviders | Model | null, options: { maxCostUsd?: number } = {}): Promise<IterationReport> {
  const config = loadConfig(root);
  const runner = { config, root, maxCostUsd: options.maxCostUsd ?? null, notice: () => {} };
  const models = fake && 'generate' in fake ? scriptedRunner(fake, runner) : new ModelRunner({ ...runner, env: fake ? fake.env(KEYS) : {} });
  return runIteration({ planPath: join(root, 'plans/p.md'), root, config, models, sandbox: SANDBOX, maxCostUsd: options.maxCostUsd ?? null });
}

export function planText(root: string): string {
  return readFileSync(join(root, 'plans/p.md'), 'utf8');
}

export function readPlan(root: string) {
  return parsePlan(planText(root));
}

/** Errors of the rules every plan the engine wrote must pass. */
export function stateErrors(root: string) {
  return lintText(planText(root), join(root, 'plans/p.md')).filter(
    (finding) => finding.severity === 'error' && (finding.ruleId === 'state-consistency' || finding.ruleId === 'iteration-log'),
  );
}
