import type { Node as MdNode, RootContent } from 'mdast';
import { toString } from 'mdast-util-to-string';
import { describe, expect, it } from 'vitest';
import { inCode, parseMarkdown, remarkTree } from '../src/plan/markdown.js';
import { lineStarts, pointFinder } from '../src/plan/text.js';
import { BASES } from './corpus/bases.js';
import { DEFECTS } from './corpus/defects.js';
import { readFileSync } from 'node:fs';
import { seededDraws } from './support/random.js';

// The plan's Markdown blocks come from markdown-it (src/plan/markdown.ts: remark is ~10 times slower in a process that
// starts cold). The readers were written against remark's tree: the block tree must say what remark says about every
// block they read, on real plans and on plans changed at random. Each side is reduced to what the readers use: block
// types and nesting, where each block starts and ends, headings' text and depth, lists' kind, task boxes, and table
// cells' text.

interface Summary {
  type: string;
  start: number;
  end?: number;
  detail?: string;
  children?: Summary[];
}

function summarize(node: MdNode): Summary | null {
  const start = node.position?.start.offset ?? -1;
  const end = node.position?.end.offset ?? -1;
  const node_ = node as MdNode & { children?: MdNode[]; depth?: number; ordered?: boolean; checked?: boolean | null };
  const children = () => (node_.children ?? []).map(summarize).filter((child): child is Summary => child !== null);
  switch (node.type) {
    case 'heading':
      return { type: 'heading', start, end, detail: `${node_.depth} ${toString(node)}` };
    case 'paragraph':
    case 'html':
    case 'definition':
    case 'thematicBreak':
      return { type: node.type, start, end };
    case 'list':
      return { type: 'list', start, end, detail: String(node_.ordered), children: children() };
    case 'listItem':
      return { type: 'listItem', start, end, detail: String(node_.checked ?? null), children: children() };
    case 'table':
      return { type: 'table', start, end, children: children() };
    case 'tableRow':
      return { type: 'tableRow', start, end, children: children() };
    case 'tableCell':
      return { type: 'tableCell', start: -1, detail: cellText.get(node) };
    // Readers skip these as blocks: where they start is all that counts.
    case 'code':
    case 'blockquote':
      return { type: node.type, start: node.type === 'code' ? -1 : start };
    default:
      return null;
  }
}

/** A cell's text as the readers take it (sections.ts tableRows), set before summarizing. */
const cellText = new WeakMap<MdNode, string>();

function noteCells(text: string, node: MdNode): void {
  if (node.type === 'tableCell' && node.position) {
    const raw = text.slice(node.position.start.offset, node.position.end.offset);
    cellText.set(node, raw.replace(/^\|/, '').replace(/\|$/, '').trim().replace(/\\\|/g, '|'));
  }
  for (const child of (node as { children?: MdNode[] }).children ?? []) noteCells(text, child);
}

function blocks(text: string, nodes: readonly RootContent[]): Summary[] {
  for (const node of nodes) noteCells(text, node);
  return nodes.map(summarize).filter((summary): summary is Summary => summary !== null);
}

/** The Markdown body of a plan: what follows its front matter (the parser hands remark nothing else). */
function body(plan: string): string {
  const close = plan.indexOf('\n---\n', 4);
  return close === -1 ? plan : plan.slice(close + 5);
}

function compare(text: string): void {
  const ours = blocks(text, parseMarkdown(text, 0, text.length, pointFinder(lineStarts(text))));
  const remark = blocks(text, remarkTree(text).children);
  expect(ours).toEqual(remark);
}

const PLANS = [
  ...BASES.map((base) => base.plan),
  ...DEFECTS.map((defect) => defect.edits.reduce((text, [from, to]) => text.replace(from, to), BASES.find((base) => base.name === defect.base)!.plan)),
  ...['plans/modop-outreach.md', 'plans/nightly-backup.md', 'templates/init/example-plan.md'].map((path) => readFileSync(path, 'utf8')),
].map(body);

/** Lines a change may put in: the constructs a plan uses, and the ones next to them that change how they read. */
const SNIPPETS = [
  '',
  ' ',
  '   ',
  '    ',
  '\t',
  '- ',
  '* ',
  '+ ',
  '1. ',
  '2) ',
  '- [ ] ',
  '- [x] ',
  '- [X]',
  '[ ] ',
  '| a | b |',
  '| --- | --- |',
  '| c \\| d | e \\\\| f |',
  'a | b',
  '> ',
  '```',
  '~~~',
  '<!-- note -->',
  '# ',
  '## ',
  '### ',
  '===',
  '---',
  '***',
  '- Status: done',
  '1. run: `echo hi`',
  '  - nested',
  '+ - two markers',
  '**bold** ',
  '`code` ',
  '<div>',
  '&amp; ',
  '\\*',
  '[ref]: https://example.com',
  'text\r',
];

/** A seeded generator (the same changes every run). */
const random = seededDraws;

function changed(text: string, next: (below: number) => number): string {
  const lines = text.split('\n');
  for (let count = 1 + next(4); count > 0; count--) {
    const at = next(lines.length);
    const snippet = SNIPPETS[next(SNIPPETS.length)]!;
    const line = lines[at] ?? '';
    switch (next(5)) {
      case 0:
        lines.splice(at, 1);
        break;
      case 1:
        lines.splice(at, 0, snippet);
        break;
      case 2:
        lines[at] = snippet + line;
        break;
      case 3:
        lines[at] = line + snippet;
        break;
      default:
        lines[at] = snippet + line.trimStart();
    }
  }
  return lines.join('\n');
}

describe('the block tree of a plan', () => {
  it('is remark’s, block for block, on the corpus plans', () => {
    expect(PLANS.length).toBeGreaterThanOrEqual(80);
    for (const text of PLANS) compare(text);
  });

  // DEEPPLAN_BLOCK_ROUNDS and DEEPPLAN_BLOCK_SEED run a longer or another sweep by hand.
  const rounds = Number(process.env.DEEPPLAN_BLOCK_ROUNDS ?? 300);
  it(`is remark’s on ${rounds} plans changed at random (lists, task boxes, tables, quotes, code, HTML, definitions)`, () => {
    const next = random(Number(process.env.DEEPPLAN_BLOCK_SEED ?? 20261205));
    for (let round = 0; round < rounds; round++) {
      const text = changed(PLANS[next(PLANS.length)]!, next);
      expect(() => compare(text), text).not.toThrow();
    }
  });

  it('is remark’s for blocks nested as deep as a plan may nest them', () => {
    compare(`${'> '.repeat(30)}quoted\n`);
    compare(Array.from({ length: 30 }, (_, depth) => `${'  '.repeat(depth)}- level ${depth}`).join('\n'));
  });

  it('says whether a comment is shown in code as remark reads the whole file', () => {
    const text = [
      '<!-- deepplan-disable a -->',
      '',
      'Text with `<!-- deepplan-disable b -->` in a code span, and <!-- deepplan-disable c --> outside one.',
      '',
      '```',
      '<!-- deepplan-disable d -->',
      '```',
      '',
      '- item `<!-- deepplan-disable e -->`',
      '',
      '| A | B |',
      '| --- | --- |',
      '| `<!-- deepplan-disable f -->` | <!-- deepplan-disable g --> |',
      '',
    ].join('\n');
    const nodes = parseMarkdown(text, 0, text.length, pointFinder(lineStarts(text)));
    const spans: Array<[number, number]> = [];
    const walk = (node: MdNode) => {
      if ((node.type === 'code' || node.type === 'inlineCode') && node.position) spans.push([node.position.start.offset!, node.position.end.offset!]);
      for (const child of (node as { children?: MdNode[] }).children ?? []) walk(child);
    };
    walk(remarkTree(text));
    const verdicts = [...text.matchAll(/<!-- deepplan-disable (\w)/g)].map((match) => [match[1], inCode(text, nodes, match.index)]);
    expect(verdicts).toEqual(
      [...text.matchAll(/<!-- deepplan-disable (\w)/g)].map((match) => [match[1], spans.some(([start, end]) => match.index >= start && match.index < end)]),
    );
    expect(verdicts.filter(([, code]) => code).map(([letter]) => letter)).toEqual(['b', 'd', 'e', 'f']);
  });

  it('reads what the readers depend on', () => {
    const text = '## Success criteria\n\n- [ ] SC1: one\n- [x]  two\n- [ ]\n\n| Skill | Why |\n| --- | --- |\n| a \\| b | c |\n| d \\\\| e |\n';
    const [heading, list, table] = parseMarkdown(text, 0, text.length, pointFinder(lineStarts(text))) as Array<MdNode & { children: MdNode[] }>;
    expect(toString(heading!)).toBe('Success criteria');
    const items = list!.children as Array<MdNode & { checked: boolean | null; children: MdNode[] }>;
    expect(items.map((item) => item.checked)).toEqual([false, true, null]);
    // A task item's paragraph starts after its box and one space.
    expect(text.slice(items[1]!.children[0]!.position!.start.offset, items[1]!.children[0]!.position!.end.offset)).toBe(' two');
    const rows = table!.children as Array<MdNode & { children: MdNode[] }>;
    expect(rows.map((row) => row.children.length)).toEqual([2, 2, 2]);
  });
});
