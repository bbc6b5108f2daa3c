import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TITLE, mermaidBlock, mermaidText, phaseEdges, planToMermaid } from '../src/graph/mermaid.js';
import { parsePlan } from '../src/plan/parse.js';
import { edit, makeRepo, PROJECT_ROOT, runCli, SMALL_PLAN } from './support/fixtures.js';
import { editAll } from './support/plan-text.js';

const graphOf = (text: string) => planToMermaid(parsePlan(text));
const lines = (graph: string) => graph.trimEnd().split('\n');
const nodeLine = (graph: string, node: string) => lines(graph).find((line) => line.startsWith(`    ${node}[`) || line.startsWith(`    ${node}{`));
const edgesOf = (graph: string) =>
  lines(graph)
    .filter((line) => / (-->|-\.->) /.test(line))
    .map((line) => line.trim());

/** Mermaid's own decoding of `#<code>;` entities, to check that escaping keeps the text. */
const decode = (label: string) => label.replace(/#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));

/** The small plan with its three phases set to these statuses. */
function withStatuses(...statuses: string[]): string {
  let index = 0;
  return editAll(SMALL_PLAN, /- Status: pending/, () => `- Status: ${statuses[index++] ?? 'pending'}`);
}

const HOSTILE = 'Say "hi" [x] {y} (z) #1 <b>b</b> a|b; c: $x$ `c` %% & -->';

describe('planToMermaid', () => {
  const graph = graphOf(SMALL_PLAN);

  it('draws one node per phase with its id and title, its gate as the shape and its skills as a label line', () => {
    expect(lines(graph)[0]).toBe('flowchart TD');
    expect(nodeLine(graph, 'P1')).toBe('    P1["P1. Fetch the notes<br/>/fetch-notes"]');
    expect(nodeLine(graph, 'P2')).toBe('    P2["P2. Write the summary<br/>/write-summary"]');
    // P3 has a human gate: a hexagon, and says so.
    expect(nodeLine(graph, 'P3')).toBe('    P3{{"P3. Publish the page<br/>human gate<br/>/publish-page"}}');
    const review = graphOf(edit(SMALL_PLAN, '- Gate: human', '- Gate: review'));
    expect(nodeLine(review, 'P3')).toBe('    P3[["P3. Publish the page<br/>review gate<br/>/publish-page"]]');
    const none = graphOf(edit(SMALL_PLAN, '- Gate: human', '- Gate: none'));
    expect(nodeLine(none, 'P3')).toBe('    P3["P3. Publish the page<br/>/publish-page"]');
  });

  it('lists each skill a phase invokes once, in step order, and none for a phase of run and model steps', () => {
    const plan = edit(
      SMALL_PLAN,
      '1. /write-summary notes/week.md --out out/summary.md',
      '1. /write-summary a\n2. /fetch-notes b\n3. /write-summary c\n4. Read it again.',
    );
    expect(nodeLine(graphOf(plan), 'P2')).toBe('    P2["P2. Write the summary<br/>/write-summary, /fetch-notes"]');
    const scripted = edit(SMALL_PLAN, '1. /fetch-notes --week current --out notes/week.md', '1. run: `node scripts/fetch.mjs`');
    expect(nodeLine(graphOf(scripted), 'P1')).toBe('    P1["P1. Fetch the notes"]');
  });

  it('draws an arrow from each dependency, and a dotted one where a phase without Depends on follows the phase above', () => {
    expect(edgesOf(graph)).toEqual(['P1 --> P2', 'P2 --> P3']);
    const implicit = editAll(SMALL_PLAN, /- Depends on: .*\n/, '');
    expect(edgesOf(graphOf(implicit))).toEqual(['P1 -.-> P2', 'P2 -.-> P3']);
    // P3 waits for P1 only; P2 has none, so it follows P1 in the document.
    const mixed = edit(edit(SMALL_PLAN, '- Depends on: P1', '- Depends on: none'), '- Depends on: P2', '- Depends on: P1');
    expect(edgesOf(graphOf(mixed))).toEqual(['P1 -.-> P2', 'P1 --> P3']);
    // Two dependencies, both drawn, in the order written.
    const two = edit(SMALL_PLAN, '- Depends on: P2', '- Depends on: P2, P1');
    expect(edgesOf(graphOf(two))).toEqual(['P1 --> P2', 'P2 --> P3', 'P1 --> P3']);
  });

  it('leaves out dependencies on unknown phases and on the phase itself, and draws no order arrow that would make a cycle', () => {
    const broken = edit(edit(SMALL_PLAN, '- Depends on: P1', '- Depends on: P1, P9, P2'), '- Depends on: P2', '- Depends on: P3');
    // P3 names only itself: it has no real dependency, so it follows P2 in the document.
    expect(edgesOf(graphOf(broken))).toEqual(['P1 --> P2', 'P2 -.-> P3']);
    // P1 waits for P2, and P2 has no Depends on: an order arrow P1 -.-> P2 would draw a cycle the plan does not have.
    const backwards = edit(edit(SMALL_PLAN, '- Depends on: none', '- Depends on: P2'), '- Depends on: P1', '- Depends on: none');
    expect(phaseEdges(parsePlan(backwards)).map((edge) => `${edge.from}>${edge.to}:${edge.kind}`)).toEqual(['P2>P1:dependency', 'P2>P3:dependency']);
  });

  it('gives every status its class, with a colour for each, and treats a missing or unknown status as pending', () => {
    for (const status of ['done', 'active', 'blocked', 'pending']) {
      expect(graph).toMatch(new RegExp(`^    classDef ${status} fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6},color:#[0-9a-f]{6}`, 'm'));
    }
    expect(lines(graph).filter((line) => line.trim().startsWith('class '))).toEqual(['    class P1,P2,P3 pending']);
    const mixed = graphOf(withStatuses('done', 'active', 'blocked'));
    expect(lines(mixed).filter((line) => line.trim().startsWith('class '))).toEqual(['    class P1 done', '    class P2 active', '    class P3 blocked']);
    const odd = graphOf(edit(withStatuses('done', 'paused'), /- Status: pending\n/, ''));
    expect(lines(odd).filter((line) => line.trim().startsWith('class '))).toEqual(['    class P1 done', '    class P2,P3 pending']);
  });

  it('escapes a hostile title so it stays one quoted label, and the entities decode back to the title', () => {
    const text = edit(SMALL_PLAN, '### P2. Write the summary', `### P2. ${HOSTILE}`);
    const title = `P2. ${parsePlan(text).phases[1]!.title}`;
    expect(title.length).toBeLessThanOrEqual(MAX_TITLE);
    const hostile = graphOf(text);
    const line = nodeLine(hostile, 'P2')!;
    const match = /^ {4}P2\["([^"]*)"\]$/.exec(line);
    expect(match, line).not.toBeNull();
    const label = match![1]!.split('<br/>')[0]!;
    // Nothing that could end the label, open a shape, start HTML, KaTeX, a Markdown string or a comment is left raw.
    expect(label.replace(/#\d+;/g, '')).not.toMatch(/["[\]{}()<>|#;:$`%&]/);
    expect(decode(label)).toBe(title);
    // The rest of the chart is intact: the edges and classes are still there.
    expect(edgesOf(hostile)).toEqual(['P1 --> P2', 'P2 --> P3']);
    expect(hostile).toMatch(/^ {4}class P1,P2,P3 pending$/m);
  });

  it('cuts a very long title, keeps letters of other scripts, and folds whitespace', () => {
    const long = 'Draft '.repeat(30).trim();
    const shown = mermaidText(`P2. ${long}`);
    expect(Array.from(shown)).toHaveLength(MAX_TITLE);
    expect(shown.endsWith('…')).toBe(true);
    expect(`P2. ${long}`.startsWith(shown.slice(0, -1))).toBe(true);
    expect(mermaidText('Café  naïve\t日本 🚀')).toBe('Café naïve 日本 🚀');
    // A cut never splits an entity or a character made of two UTF-16 units.
    const cut = mermaidText('🚀'.repeat(100), 10);
    expect(cut).toBe(`${'🚀'.repeat(9)}…`);
    expect(mermaidText('"'.repeat(100), 5)).toBe('#34;#34;#34;#34;…');
  });

  it('gives a malformed heading or a duplicate id a neutral node id, so no title is ever outside quotes', () => {
    const plan = edit(edit(SMALL_PLAN, '### P2. Write the summary', '### Write "the" summary --> P9'), '### P3. Publish the page', '### P1. Publish the page');
    const graph = graphOf(plan);
    expect(nodeLine(graph, 'phase2')).toBe('    phase2["Write #34;the#34; summary --#62; P9<br/>/write-summary"]');
    expect(nodeLine(graph, 'phase3')).toBe('    phase3{{"P1. Publish the page<br/>human gate<br/>/publish-page"}}');
    for (const line of lines(graph).slice(1)) expect(line).toMatch(/^ {4}(%%|classDef |class |[A-Za-z0-9]+(\[|\{\{|\[\[| -->| -\.->))/);
  });

  it('is deterministic: the same plan gives the same bytes', () => {
    const text = readFileSync(join(PROJECT_ROOT, 'plans/modop-outreach.md'), 'utf8');
    const first = planToMermaid(parsePlan(text));
    expect(planToMermaid(parsePlan(text))).toBe(first);
    expect(planToMermaid(parsePlan(text, { path: 'elsewhere/plan.md' }))).toBe(first);
    expect(mermaidBlock(parsePlan(text))).toBe(`\`\`\`mermaid\n${first}\`\`\`\n`);
  });

  it('draws a plan with no phases as one placeholder node', () => {
    const empty = graphOf(SMALL_PLAN.slice(0, SMALL_PLAN.indexOf('### P1.')) + '## Running learnings\n\n## Iteration log\n');
    expect(lines(empty)).toContain('    empty["no phases"]');
    expect(edgesOf(empty)).toEqual([]);
  });
});

/**
 * Mermaid's own parser, when it is installed: `mermaid` needs a DOM for DOMPurify, which `happy-dom` provides under
 * Node (npm install --no-save mermaid happy-dom). Without them only the structural tests above run.
 */
type MermaidApi = { parse(text: string): Promise<{ diagramType: string }> };
async function loadMermaid(): Promise<MermaidApi | null> {
  const load = (name: string) => import(name) as Promise<Record<string, unknown>>;
  try {
    const { Window } = (await load('happy-dom')) as { Window: new () => object };
    (globalThis as Record<string, unknown>)['window'] = new Window();
    return ((await load('mermaid')) as { default: MermaidApi }).default;
  } catch {
    delete (globalThis as Record<string, unknown>)['window'];
    return null;
  }
}
const mermaid = await loadMermaid();
if (!mermaid)
  process.stderr.write(
    'graph.test.ts: mermaid and happy-dom are not installed, so the Mermaid parser check is skipped (npm install --no-save mermaid happy-dom)\n',
  );

describe.skipIf(!mermaid)('Mermaid parses the output', () => {
  beforeAll(() => expect(mermaid).not.toBeNull());
  afterAll(() => {
    delete (globalThis as Record<string, unknown>)['window'];
  });

  const plans: Record<string, string> = {
    'the small plan': SMALL_PLAN,
    'every status and gate': edit(withStatuses('done', 'active', 'blocked'), '- Gate: human', '- Gate: review'),
    'a hostile title': edit(SMALL_PLAN, '### P2. Write the summary', `### P2. ${HOSTILE}`),
    'a malformed heading': edit(SMALL_PLAN, '### P2. Write the summary', '### Write "the" summary --> P9'),
    'no dependencies': editAll(SMALL_PLAN, /- Depends on: .*\n/, ''),
    'the outreach example': readFileSync(join(PROJECT_ROOT, 'plans/modop-outreach.md'), 'utf8'),
    'the backup example': readFileSync(join(PROJECT_ROOT, 'plans/nightly-backup.md'), 'utf8'),
  };
  for (const [name, text] of Object.entries(plans)) {
    it(`accepts ${name}`, async () => {
      await expect(mermaid!.parse(graphOf(text))).resolves.toMatchObject({ diagramType: 'flowchart-v2' });
    });
  }

  it('rejects a label with a raw quote (the check can fail)', async () => {
    const broken = edit(graphOf(SMALL_PLAN), 'P2. Write the summary', 'P2. Write "the" summary');
    await expect(mermaid!.parse(broken)).rejects.toThrow(/Parse error/);
  });
});

describe('deepplan graph', () => {
  it('prints the bare flowchart, or a ```mermaid block with --format md, and leaves the plan as it was', async () => {
    const root = makeRepo({ 'plans/p.md': SMALL_PLAN });
    const bare = await runCli(['graph', 'plans/p.md'], root);
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stdout).toBe(graphOf(SMALL_PLAN));
    const md = await runCli(['graph', 'plans/p.md', '--format', 'md'], root);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toBe(`\`\`\`mermaid\n${graphOf(SMALL_PLAN)}\`\`\`\n`);
    expect(readFileSync(join(root, 'plans/p.md'), 'utf8')).toBe(SMALL_PLAN);
  });

  it('explains bad input in one line: exit 2 for a missing file, a directory or a bad format; exit 1 for a file that is no plan', async () => {
    const root = makeRepo({
      'plans/bad.md': '\u0000binary',
      'plans/empty.md': SMALL_PLAN.slice(0, SMALL_PLAN.indexOf('## Phases')),
      'notes.md': '# Just notes\n',
    });
    const cases: Array<[string[], number, RegExp]> = [
      [['graph', 'plans/none.md'], 2, /^deepplan: plans\/none\.md: no such file$/],
      [['graph', 'plans'], 2, /^deepplan: plans is a directory; give a plan file$/],
      [['graph', 'plans/bad.md'], 1, /^deepplan: plans\/bad\.md: line 1: file is binary/],
      [['graph', 'plans/empty.md'], 1, /^deepplan: plans\/empty\.md: the plan has no phases/],
      [['graph', 'notes.md'], 1, /^deepplan: notes\.md: line 1: .*front matter/],
      [['graph', 'plans/empty.md', '--format', 'svg'], 2, /argument 'svg' is invalid/],
    ];
    for (const [args, code, message] of cases) {
      const result = await runCli(args, root);
      expect(result.code, args.join(' ')).toBe(code);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')[0]).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('has examples in --help that say GitHub renders the md form', async () => {
    const help = await runCli(['graph', '--help'], PROJECT_ROOT);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/\$ deepplan graph plans\/\S+\.md --format md/);
    expect(help.stdout).toMatch(/GitHub renders it/);
  });
});
