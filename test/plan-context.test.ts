import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPlannerPack, entityFolders, PACK_SHARES, PLANNER_PACK_TOKENS, skillContract, type PackInput } from '../src/pipeline/context.js';
import { discoverSkills, skillDirectories } from '../src/skills/discover.js';
import { FakeProviders } from './support/fake-providers.js';
import { makeRepo, runCli } from './support/fixtures.js';
import {
  accountAnswer,
  accountRepository,
  ACCOUNT_REQUEST,
  ACCOUNTS,
  CONTACTS,
  contactRepository,
  dealRepository,
  DEAL_REQUEST,
  DEALS,
  slug,
} from './support/plan-workloads.js';

const KEYS = { anthropic: 'sk-ant-test-0123456789', openai: 'sk-openai-test-0123456789' };
const CONFIG = 'models:\n  planner: anthropic/claude-sonnet-5\n  reviewer: openai/gpt-5.4\nlimits:\n  timeout_ms: 5000\n  max_attempts: 1\n';

function pack(root: string, request: string, extra: Partial<PackInput> = {}) {
  return buildPlannerPack({
    root,
    request,
    sources: [],
    documents: [],
    skills: discoverSkills(skillDirectories(root, [], '')),
    learnings: [],
    commands: ['node scripts/'],
    ...extra,
  });
}
const section = (built: ReturnType<typeof pack>, name: string) => built.sections.find((candidate) => candidate.name === name)!.text;

const BRIGHTLINE_REQUEST =
  'Write one outreach email per buying-committee contact at Brightline. Success is one reviewed draft per contact. Drafts only: nothing is sent. Jo, the account lead, approves.';

describe("the planner's context pack", () => {
  it('lists every contact of a 6-contact folder the request names by its account, with their titles', () => {
    const root = makeRepo({ ...contactRepository(), 'crm/contacts/other-account/a.yaml': 'name: A\n', 'crm/contacts/other-account/b.yaml': 'name: B\n' });
    const built = pack(root, BRIGHTLINE_REQUEST);
    const entities = section(built, 'entities');
    expect(entities).toMatch(/^### crm\/contacts\/brightline\/ \(6 files; the request names brightline\)$/m);
    for (const name of CONTACTS) expect(entities).toContain(`- ${slug(name)}.yaml (name: ${name}; title: `);
    expect(entities).toContain('title: Head of Procurement');
    // Another account's folder is not the request's.
    expect(entities).not.toContain('other-account');
  });

  it('lists all 50 accounts and all 40 deals, not a search cut', () => {
    const accounts = section(pack(makeRepo(accountRepository()), ACCOUNT_REQUEST), 'entities');
    expect(accounts).toMatch(/^### crm\/accounts\/ \(50 files; the request names crm\/accounts\/\)$/m);
    for (const account of ACCOUNTS) expect(accounts).toContain(`- ${account.slug}.yaml (name: ${account.company}`);
    const deals = section(pack(makeRepo(dealRepository()), DEAL_REQUEST), 'entities');
    for (const deal of DEALS)
      expect(deals).toContain(`- ${deal.slug}.yaml (name: ${deal.company} platform expansion; account: ${deal.company}; stage: 3; owner: ${deal.owner})`);
  });

  it('names all 200 entities within its share, and summarises a folder too large to list with the count and the naming pattern', () => {
    const many = Object.fromEntries(
      Array.from({ length: 200 }, (_, index) => [
        `content/articles/article-${String(index + 1).padStart(3, '0')}.md`,
        `# Article ${index + 1}: ${'a long working title '.repeat(4)}\n\nBody.\n`,
      ]),
    );
    const built = pack(makeRepo(many), 'Edit the 200 drafts in content/articles for the style guide.');
    const entities = section(built, 'entities');
    for (let index = 1; index <= 200; index++) expect(entities).toContain(`article-${String(index).padStart(3, '0')}.md`);
    expect(built.sections.find((candidate) => candidate.name === 'entities')!.tokens).toBeLessThanOrEqual(PACK_SHARES.entities);

    const huge = Object.fromEntries(
      Array.from({ length: 3000 }, (_, index) => [`data/subscribers/subscriber-${String(index + 1).padStart(5, '0')}.yaml`, `name: S${index}\n`]),
    );
    const summary = section(pack(makeRepo(huge), 'Segment the subscribers in data/subscribers by plan.'), 'entities');
    expect(summary).toMatch(/^### data\/subscribers\/ \(3000 files; /m);
    expect(summary).toContain('names start with "subscriber-0", .yaml files');
    expect(summary).toContain('subscriber-00001.yaml');
    expect(summary).toContain('subscriber-03000.yaml');
    expect(summary).toContain('ls data/subscribers');
  });

  it('gives each skill its contract: from metadata (arguments, reads, writes, tool, allowed-tools), else from its instructions', () => {
    const root = makeRepo(dealRepository());
    const built = pack(root, DEAL_REQUEST);
    const skills = section(built, 'skills');
    expect(skills).toContain(
      [
        '### deal-scoring',
        '- description: Scores one Stage-3 deal against the exit criteria (champion, pain, next step) and records its gaps.',
        '- tool: the step runs `node scripts/score-deal.mjs <arguments>` from the repository root (no model)',
        '- arguments: <deal-file>',
        '- reads: crm/deals/stage-3/<deal>.yaml',
        '- writes: scores/<deal>.json, scores/index.csv',
        '- allowed-tools: Read, Write',
        '- instructions (excerpt):',
        '  > Give it one deal file. It writes the score with the gaps as JSON and appends a row to the scores index.',
      ].join('\n'),
    );
    expect(skills).toContain('### hubspot-sync (DEPRECATED: exclude it)');
    expect(skills).toContain('- irreversible: what it does cannot be undone');
    // No metadata: the sentences of the body say what it reads and writes.
    const linkedin = skillContract(discoverSkills(skillDirectories(root, [], '')).skills.get('linkedin-enrichment')!);
    expect(linkedin).toMatchObject({ from: 'body', reads: ['crm/contacts/<account>/*.yaml'], writes: ['enrichment/<contact>.md'] });
    expect(section(built, 'scope')).toContain('a run: step must start with one of these prefixes): `node scripts/`');
  });

  it('shows bounded excerpts of documents with their line counts, and stays within its token budget', () => {
    const long = Array.from({ length: 4200 }, (_, index) => `Line ${index + 1} of the research corpus, with enough words to weigh something.`).join('\n');
    const skills = Object.fromEntries(
      Array.from({ length: 40 }, (_, index) => [
        `.claude/skills/skill-${index}/SKILL.md`,
        `---\nname: skill-${index}\ndescription: Skill number ${index} of the catalogue.\nmetadata:\n  reads: [in/${index}.md]\n  writes: [out/${index}.md]\n---\n\n${'Instructions that go on. '.repeat(60)}\n`,
      ]),
    );
    const root = makeRepo({ 'research/corpus.md': `${long}\n`, 'research/notes.md': 'a\nb\nc\n', ...skills });
    const built = pack(root, 'Summarise research/corpus.md.', { sources: ['research/corpus.md', 'research/notes.md'] });
    const documents = section(built, 'documents');
    // Whole lines, as many as fit 40 lines and 2,400 characters, and the excerpt says how many.
    const shown = Number(/^### research\/corpus\.md \(4200 lines; lines 1-(\d+) shown\)$/m.exec(documents)?.[1]);
    expect(shown).toBeGreaterThan(20);
    expect(shown).toBeLessThanOrEqual(40);
    expect(documents).toContain(`\nLine ${shown} of the research corpus, with enough words to weigh something.\n`);
    expect(documents).not.toContain(`Line ${shown + 1} of the research corpus`);
    expect(documents).toMatch(/^### research\/notes\.md \(3 lines\)$/m);
    expect(built.tokens).toBeLessThanOrEqual(PLANNER_PACK_TOKENS);
    // Past the skills' share, contracts lose their excerpts but every skill stays named with what it reads and writes.
    for (let index = 0; index < 40; index++) expect(section(built, 'skills')).toContain(`### skill-${index}\n`);
    expect(built.sections.find((candidate) => candidate.name === 'skills')!.tokens).toBeLessThanOrEqual(PACK_SHARES.skills);
    // With 300 skills the rest are named on one line, with how many are left out.
    const crowd = Object.fromEntries(
      Array.from({ length: 300 }, (_, index) => [
        `.claude/skills/tool-${index}/SKILL.md`,
        `---\nname: tool-${index}\ndescription: ${'A tool that does one thing well. '.repeat(4)}\n---\n\nBody.\n`,
      ]),
    );
    const crowded = pack(makeRepo(crowd), 'Tidy up.');
    expect(crowded.sections.find((candidate) => candidate.name === 'skills')!.tokens).toBeLessThanOrEqual(PACK_SHARES.skills);
    expect(section(crowded, 'skills')).toMatch(/Also installed \(names only; read their SKILL\.md\): tool-\d+, .* and \d+ more$/);
  });

  it('finds the folder a request names by path, by a source in it, or by its own name; not an unrelated one', () => {
    const root = makeRepo({ ...accountRepository(), 'notes/a.md': 'x\n', 'notes/b.md': 'y\n' });
    expect(entityFolders(root, ACCOUNT_REQUEST).map((folder) => folder.folder)).toEqual(['crm/accounts']);
    expect(entityFolders(root, 'Tidy the accounts.').map((folder) => folder.folder)).toEqual(['crm/accounts']);
    expect(entityFolders(root, 'Check crm/accounts/atlas-mining.yaml first.', ['crm/accounts/atlas-mining.yaml'])[0]!.reason).toBe(
      'the request names crm/accounts/',
    );
    expect(entityFolders(root, 'Write the launch post.')).toEqual([]);
  });
});

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.close();
});

describe('the planner prompt deepplan sends', () => {
  const planPrompt = () => {
    const request = fake.requests.find((candidate) => candidate.wire === 'anthropic' && JSON.stringify(candidate.body).includes('plan_draft'))!;
    const messages = request.body['messages'] as Array<{ content: string }>;
    return messages[0]!.content;
  };

  it("holds the mapped skills' read/write contracts and every entity of a 50-account repository; the ledger records the pack's sections", async () => {
    fake.queue(
      'anthropic',
      { kind: 'answer', object: { workstream: 'consulting', confidence: 0.9, reason: 'Account enrichment.' } },
      { kind: 'answer', object: accountAnswer() },
    );
    const root = makeRepo({ ...accountRepository(), 'deepplan.config.yaml': CONFIG });
    const result = await runCli(['plan', '--request', ACCOUNT_REQUEST, '--out', 'plans/enrichment.md', '--no-review', '--yes'], root, fake.env(KEYS));
    expect(result.code, result.stderr).toBe(0);
    const prompt = planPrompt();
    for (const account of ACCOUNTS) expect(prompt).toContain(`- ${account.slug}.yaml (name: ${account.company}`);
    expect(prompt).toContain('### account-enrichment\n');
    expect(prompt).toContain('- reads: crm/accounts/<account>.yaml, data/firmographics.csv\n- writes: enriched/<account>.yaml, enriched/index.csv');
    expect(prompt).toContain('- reads: enriched/index.csv\n- writes: reports/gaps.md');
    expect(prompt).toContain('### data/firmographics.csv (51 lines; lines 1-40 shown)');
    expect(prompt).toContain('`verify` is "" (an empty string, never null)');
    expect(prompt).toContain('"review" is a quality gate');
    expect(prompt).toMatch(/has 15 to 25 phases/);
    expect(prompt).toMatch(/tokens of a 16,000-token budget/);
    expect(result.stderr).toMatch(/context pack for the planner: \d+ of 16000 tokens \(skills \d+, entities \d+, documents \d+, scope \d+, learnings \d+\)/);

    const ledger = readdirSync(join(root, '.deepplan/runs')).flatMap((file) =>
      readFileSync(join(root, '.deepplan/runs', file), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { role: string; pack?: Record<string, number> }),
    );
    expect(ledger).toHaveLength(2);
    expect(ledger[0]!.pack).toBeUndefined();
    expect(ledger[1]!.pack).toMatchObject({ budget: 16000 });
    expect(Object.keys(ledger[1]!.pack!)).toEqual(['skills', 'entities', 'documents', 'scope', 'learnings', 'total', 'budget']);
    expect(ledger[1]!.pack!['entities']).toBeGreaterThan(500);
  }, 60_000);

  it('holds every contact of a 6-contact repository', async () => {
    fake
      .queue('anthropic', { kind: 'answer', object: { workstream: 'consulting', confidence: 0.9, reason: 'Outreach.' } })
      .always('anthropic', { kind: 'status', status: 400 });
    const root = makeRepo({ ...contactRepository(), ...accountRepository(), 'deepplan.config.yaml': CONFIG });
    await runCli(['plan', '--request', BRIGHTLINE_REQUEST, '--out', 'plans/brightline.md', '--no-review', '--yes'], root, fake.env(KEYS));
    const prompt = planPrompt();
    for (const name of CONTACTS) expect(prompt).toContain(`- ${slug(name)}.yaml (name: ${name}; title: `);
    expect(prompt).toContain('### crm/contacts/brightline/ (6 files;');
    expect(prompt).not.toContain('northwind-traders.yaml');
  }, 60_000);
});
