import type { Code, Heading, Html, List, ListItem, Node as MdNode, Paragraph, Root, RootContent, Table, TableCell, TableRow, ThematicBreak } from 'mdast';
import { gfmTableFromMarkdown } from 'mdast-util-gfm-table';
import { gfmTaskListItemFromMarkdown } from 'mdast-util-gfm-task-list-item';
import MarkdownIt, { type Options } from 'markdown-it';
import type Token from 'markdown-it/lib/token.mjs';
import { gfmTable } from 'micromark-extension-gfm-table';
import { gfmTaskListItem } from 'micromark-extension-gfm-task-list-item';
import remarkParse from 'remark-parse';
import { unified, type Processor } from 'unified';
import { MAX_NESTING } from './limits.js';
import { registerMemo } from './memos.js';
import type { Point, Span } from './types.js';

// The Markdown part of a plan (everything but the front matter and the iteration log), as the block tree the plan's
// readers walk (sections.ts, phases.ts): mdast nodes with their positions, cached.
//
// The blocks come from markdown-it's block parser (CommonMark with GFM tables; docs/plan-format.md). remark
// (micromark) reads the same blocks, but a process that starts cold (every `deepplan lint` and `status`) runs its
// character-by-character tokenizer in V8's interpreter: ~15 ms for a 4 kB plan and ~40 ms for a 10 kB one, most of a
// short command's time, against ~1.5 ms for markdown-it's line-by-line block rules (docs/performance.md). The readers
// need blocks, their positions, GFM task boxes and table cells, and the text of headings; nothing inline but that.
// remark still answers the one inline question the parser asks, whether a `deepplan-` comment inside a paragraph or
// a table cell is shown in code (inCode below).

/**
 * markdown-it's CommonMark block rules with GFM tables and raw HTML blocks, and no inline pass. Its CommonMark preset
 * stops nesting at 20 levels; the parser refuses plans nested deeper than MAX_NESTING before they get here.
 */
const blocks = new MarkdownIt('commonmark', { html: true, maxNesting: 2 * MAX_NESTING } as Options).enable('table');
blocks.core.ruler.disable(['inline', 'text_join']);

/** The full inline pass, for the text of a heading that holds Markdown (`## **P1.** Title`). */
const inline = new MarkdownIt('commonmark', { html: true });

/**
 * Trees of the Markdown parts parsed last, by their text. One `deepplan run` iteration parses its plan about ten
 * times (each read and each surgical edit) while only the front matter and the log change, and neither is Markdown
 * this reads: the same part is read from the cache. A cached tree is never handed out: each parse gets its own copy
 * (see copyNode).
 */
const MARKDOWN_CACHE_SIZE = 8;
const markdownCache = new Map<string, Root>();
registerMemo(() => markdownCache.clear());

export function parseMarkdown(text: string, from: number, to: number, pointAt: (offset: number) => Point): RootContent[] {
  const source = text.slice(from, to);
  let tree = markdownCache.get(source);
  if (tree) {
    markdownCache.delete(source);
  } else {
    tree = blockTree(source);
    if (markdownCache.size >= MARKDOWN_CACHE_SIZE) markdownCache.delete(markdownCache.keys().next().value!);
  }
  markdownCache.set(source, tree);
  const base = pointAt(from);
  return tree.children.map((child) => copyNode(child, base));
}

// ---------------------------------------------------------------------------------------------------------------
// markdown-it's block tokens as mdast nodes

/** The source being turned into a tree, with its line starts (markdown-it's token maps count lines). */
interface Source {
  text: string;
  starts: number[];
}

function blockTree(text: string): Root {
  const source: Source = { text, starts: markdownLineStarts(text) };
  const tokens = blocks.parse(text, {});
  const root: Root = { type: 'root', children: [] };
  const stack: Container[] = [];
  const add = (node: MdNode) => {
    const parent = stack.length > 0 ? stack[stack.length - 1]!.node : root;
    parent.children.push(node);
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    switch (token.type) {
      case 'heading_open':
        add(heading(source, token, tokens[i + 1]!, stack));
        i += 2;
        break;
      case 'paragraph_open': {
        const parent = stack.length > 0 ? stack[stack.length - 1]! : null;
        add(paragraph(source, token, stack, parent?.open.type === 'list_item_open' && (parent.node as ListItem).children.length === 0 ? parent : null));
        i += 2;
        break;
      }
      case 'bullet_list_open':
      case 'ordered_list_open': {
        const list: List = { type: 'list', ordered: token.type === 'ordered_list_open', spread: false, children: [] };
        add(list);
        stack.push({ node: list, open: token });
        break;
      }
      case 'list_item_open': {
        const item: ListItem = { type: 'listItem', spread: false, checked: null, children: [] };
        item.position = { start: pointAt(source, contentStart(source, token.map![0], stack)), end: pointAt(source, 0) };
        add(item);
        stack.push({ node: item, open: token });
        break;
      }
      case 'blockquote_open': {
        const quote = { type: 'blockquote', children: [] as MdNode[] } as MdNode & { children: MdNode[] };
        quote.position = { start: pointAt(source, contentStart(source, token.map![0], stack)), end: pointAt(source, 0) };
        add(quote);
        stack.push({ node: quote, open: token });
        break;
      }
      case 'bullet_list_close':
      case 'ordered_list_close':
      case 'list_item_close':
      case 'blockquote_close': {
        const { node, open } = stack.pop()!;
        closeContainer(source, node as MdNode & { children: MdNode[] }, open);
        break;
      }
      case 'table_open': {
        const end = tokens.findIndex((candidate, index) => index > i && candidate.type === 'table_close');
        add(table(source, tokens.slice(i, end + 1), stack));
        i = end;
        break;
      }
      case 'fence':
      case 'code_block':
        add(leaf<Code>(source, { type: 'code', lang: token.info.trim().split(/\s+/)[0] || null, meta: null, value: token.content }, token, stack));
        break;
      case 'html_block':
        add(leaf<Html>(source, { type: 'html', value: token.content.replace(/\n$/, '') }, token, stack));
        break;
      case 'hr':
        add(leaf<ThematicBreak>(source, { type: 'thematicBreak' }, token, stack));
        break;
      default:
        break;
    }
  }
  addDefinitions(source, tokens, root);
  return root;
}

/**
 * Link reference definitions (`[id]: url`): markdown-it takes them in without a token, remark gives each a
 * `definition` node. The readers see them only as blocks that are not the ones they look for (a definition between a
 * phase heading and its field list hides the fields), so each run of lines no block of the top level covers, but for
 * blank ones, becomes one `definition` node there.
 */
function addDefinitions(source: Source, tokens: Token[], root: Root): void {
  const covered = new Uint8Array(source.starts.length);
  for (const token of tokens) if (token.level === 0 && token.map) covered.fill(1, token.map[0], token.map[1]);
  const definitions: MdNode[] = [];
  for (let line = 0; line < source.starts.length; line++) {
    if (covered[line] || firstContent(source, line) === lineEndOf(source, line)) continue;
    let last = line;
    while (last + 1 < source.starts.length && !covered[last + 1] && firstContent(source, last + 1) < lineEndOf(source, last + 1)) last++;
    definitions.push({
      type: 'definition',
      position: { start: pointAt(source, firstContent(source, line)), end: pointAt(source, lineEndOf(source, last)) },
    } as MdNode);
    line = last;
  }
  if (definitions.length === 0) return;
  root.children = [...root.children, ...(definitions as RootContent[])].sort((a, b) => startOffset(a) - startOffset(b));
}

/** An open list, list item or block quote, and the token that opened it. */
interface Container {
  node: { children: MdNode[] };
  open: Token;
}

/**
 * Where the content of line `line` starts inside the open `containers`: after the `>` of each block quote, after the
 * marker of each list item that starts on this line (`+ - x` opens two), then after spaces and tabs.
 */
function contentStart(source: Source, line: number, containers: readonly Container[]): number {
  const end = lineEndOf(source, line);
  const text = source.text;
  let at = source.starts[line]!;
  const skipBlanks = () => {
    while (at < end && (text.charCodeAt(at) === 0x20 || text.charCodeAt(at) === 0x09)) at++;
  };
  for (const { open } of containers) {
    if (open.type === 'blockquote_open') {
      skipBlanks();
      if (text.charCodeAt(at) === 0x3e) at += text.charCodeAt(at + 1) === 0x20 ? 2 : 1;
    } else if (open.type === 'list_item_open' && open.map![0] === line) {
      skipBlanks();
      at = afterMarker(source, at, end);
    }
  }
  skipBlanks();
  return at;
}

/** Where each line starts, a line ending being `\n`, `\r\n` or a `\r` alone (CommonMark's, markdown-it's and remark's). */
function markdownLineStarts(text: string): number[] {
  const starts = [0];
  for (const match of text.matchAll(/\r\n?|\n/g)) starts.push(match.index + match[0].length);
  return starts;
}

/** Where line `line` (0-based) of the source ends, before its line break (and a `\r`). */
function lineEndOf(source: Source, line: number): number {
  const next = source.starts[line + 1];
  let end = next === undefined ? source.text.length : next - 1;
  if (end > source.starts[line]! && source.text.charCodeAt(end - 1) === 0x0d) end--;
  return end;
}

/** The first character of line `line` that is not a space or a tab (its end when there is none). */
function firstContent(source: Source, line: number): number {
  const end = lineEndOf(source, line);
  let at = source.starts[line]!;
  while (at < end && (source.text.charCodeAt(at) === 0x20 || source.text.charCodeAt(at) === 0x09)) at++;
  return at;
}

/** The end of the last line of [first, end) that holds more than spaces and tabs: where a block's content ends. */
function lastContentEnd(source: Source, first: number, end: number): number {
  for (let line = Math.min(end, source.starts.length) - 1; line > first; line--) {
    if (firstContent(source, line) < lineEndOf(source, line)) return lineEndOf(source, line);
  }
  return lineEndOf(source, first);
}

function pointAt(source: Source, offset: number): { line: number; column: number; offset: number } {
  let low = 0;
  let high = source.starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (source.starts[mid]! <= offset) low = mid;
    else high = mid - 1;
  }
  return { line: low + 1, column: offset - source.starts[low]! + 1, offset };
}

/** A leaf block spanning its token's lines: from its first character to the end of its last line with content. */
function leaf<T extends MdNode>(source: Source, node: T, token: Token, containers: readonly Container[]): T {
  const [first, end] = token.map!;
  node.position = { start: pointAt(source, contentStart(source, first, containers)), end: pointAt(source, lastContentEnd(source, first, end)) };
  return node;
}

function heading(source: Source, open: Token, content: Token, containers: readonly Container[]): Heading {
  const [first, end] = open.map!;
  const node: Heading = {
    type: 'heading',
    depth: Number(open.tag.slice(1)) as Heading['depth'],
    children: [{ type: 'text', value: inlineText(content.content) }],
  };
  node.position = { start: pointAt(source, contentStart(source, first, containers)), end: pointAt(source, lineEndOf(source, end - 1)) };
  return node;
}

/** Markdown that inline parsing would change: escapes, code, emphasis, links, HTML, entities, line breaks. */
const INLINE_MARKUP = /[\\`*_[\]<>&!\n]/;

/** The text of inline Markdown, as mdast-util-to-string reads it: what the reader sees, without the markup. */
function inlineText(content: string): string {
  if (!INLINE_MARKUP.test(content)) return content;
  const parsed = inline.parseInline(content, {})[0]?.children ?? [];
  return parsed.map(tokenText).join('');
}

function tokenText(token: Token): string {
  switch (token.type) {
    case 'text':
    case 'text_special':
    case 'code_inline':
    case 'html_inline':
      return token.content;
    case 'softbreak':
      return '\n';
    case 'image':
      return (token.children ?? []).map(tokenText).join('');
    default:
      return '';
  }
}

/** A GFM task box at the start of a list item's first paragraph: `[ ]`, `[x]` or `[X]`, then white space and text. */
const TASK_BOX = /^\[([ xX])\](?=[ \t\r\n])/;

/**
 * A paragraph; `item` is the list item it is the first block of. Such a paragraph starts after the item's marker
 * (CommonMark: the spaces after it, or one when there are five or more), and after a GFM task box, which sets the
 * item's `checked` (remark reads it so: mdast-util-gfm-task-list-item).
 */
function paragraph(source: Source, open: Token, containers: readonly Container[], item: Container | null): Paragraph {
  const [first, end] = open.map!;
  let start = contentStart(source, first, containers);
  if (item && item.open.map![0] === first) {
    const rest = source.text.slice(start, lastContentEnd(source, first, end) + 1);
    const box = TASK_BOX.exec(rest);
    if (box && rest.slice(box[0].length).trim() !== '') {
      (item.node as ListItem).checked = box[1] !== ' ';
      // The text starts one character after the box, or, when only white space follows it on its line, on the next line.
      const after = start + box[0].length;
      start = source.text.slice(after, lineEndOf(source, first)).trim() === '' ? source.starts[first + 1]! : after + 1;
    }
  }
  const node: Paragraph = { type: 'paragraph', children: [] };
  node.position = { start: pointAt(source, start), end: pointAt(source, lastContentEnd(source, first, end)) };
  return node;
}

const MARKER = /^(?:[-*+]|\d{1,9}[.)])/;

/**
 * Where the content of a list item whose marker is at `markerStart` starts (on a line that ends at `end`): after the
 * marker and the spaces after it, or one of them when there are five or more (CommonMark: the rest is indented code).
 */
function afterMarker(source: Source, markerStart: number, end: number): number {
  const marker = MARKER.exec(source.text.slice(markerStart, Math.min(end, markerStart + 11)));
  if (!marker) return markerStart;
  const at = markerStart + marker[0].length;
  let spaces = 0;
  while (at + spaces < end && (source.text.charCodeAt(at + spaces) === 0x20 || source.text.charCodeAt(at + spaces) === 0x09)) spaces++;
  return spaces >= 5 ? at + 1 : at + spaces;
}

/** A list, list item or block quote closes: it ends where its last block does. */
function closeContainer(source: Source, node: MdNode & { children: MdNode[] }, open: Token): void {
  const last = node.children[node.children.length - 1];
  const [first, end] = open.map!;
  if (node.type === 'list') {
    const firstItem = node.children[0];
    node.position = { start: { ...firstItem!.position!.start }, end: { ...last!.position!.end } };
    return;
  }
  const endOffset = last?.position ? last.position.end.offset! : lastContentEnd(source, first, end);
  node.position = { start: node.position!.start, end: pointAt(source, Math.max(endOffset, node.position!.start.offset!)) };
}

/** A GFM table: its header row and body rows (the delimiter row is no row), each row's cells as the source has them. */
function table(source: Source, tokens: Token[], containers: readonly Container[]): Table {
  const rows: TableRow[] = tokens.filter((token) => token.type === 'tr_open').map((token) => tableRow(source, token.map![0], containers));
  const node: Table = { type: 'table', align: [], children: rows };
  // The delimiter row is no row, but it is the table's: a table of a header alone ends after it.
  const [first, end] = tokens[0]!.map!;
  node.position = { start: { ...rows[0]!.position!.start }, end: pointAt(source, lastContentEnd(source, first, end)) };
  return node;
}

/**
 * A table row's cells, from pipe to pipe as GFM splits them: a backslash escapes the next character when it is a pipe
 * or a backslash, and nothing else (not code) keeps a pipe in a cell. Each cell spans its leading pipe, the last one
 * its closing pipe too (as remark reads them; the readers strip both).
 */
function tableRow(source: Source, line: number, containers: readonly Container[]): TableRow {
  const start = contentStart(source, line, containers);
  const lineEnd = lineEndOf(source, line);
  let end = lineEnd;
  while (end > start && (source.text.charCodeAt(end - 1) === 0x20 || source.text.charCodeAt(end - 1) === 0x09)) end--;
  const text = source.text;
  const dividers: number[] = [];
  for (let at = start; at < end; at++) {
    const code = text.charCodeAt(at);
    if (code === 0x5c && (text.charCodeAt(at + 1) === 0x7c || text.charCodeAt(at + 1) === 0x5c)) at++;
    else if (code === 0x7c) dividers.push(at);
  }
  const cells: TableCell[] = [];
  // A trailing pipe closes the last cell; a leading one opens the first.
  if (dividers.length > 0 && dividers[dividers.length - 1] === end - 1 && end - 1 > start) dividers.pop();
  let from = start;
  for (const divider of dividers) {
    if (divider > from || (divider === start && divider !== from)) cells.push(cell(source, from, divider));
    from = divider;
  }
  // The last cell and the row run to the end of the line, white space after the closing pipe included (as in remark).
  cells.push(cell(source, from, lineEnd));
  const node: TableRow = { type: 'tableRow', children: cells };
  node.position = { start: pointAt(source, start), end: pointAt(source, lineEnd) };
  return node;
}

function cell(source: Source, from: number, to: number): TableCell {
  const node: TableCell = { type: 'tableCell', children: [] };
  node.position = { start: pointAt(source, from), end: pointAt(source, to) };
  return node;
}

// ---------------------------------------------------------------------------------------------------------------
// Where inline code lies: remark's reading

/**
 * remark with the two GFM extensions the format uses, for the one inline question: where code spans are. Only a
 * `deepplan-` comment inside a paragraph or a cell asks it (disable-comments.ts: a comment shown in code is text).
 */
const remark = unified().use(remarkParse).use(gfmTablesAndTaskLists);

function gfmTablesAndTaskLists(this: Processor): void {
  const data = this.data();
  (data.micromarkExtensions ??= []).push(gfmTable(), gfmTaskListItem());
  (data.fromMarkdownExtensions ??= []).push(gfmTableFromMarkdown(), gfmTaskListItemFromMarkdown());
}

/** remark's tree of `source` (the reference the block tree is tested against: test/markdown-blocks.test.ts). */
export function remarkTree(source: string): Root {
  return remark.parse(source) as Root;
}

/** Blocks whose text is inline Markdown, where a code span may hold a comment. */
const INLINE_BLOCKS = new Set(['paragraph', 'heading', 'tableCell', 'definition']);

/**
 * Whether offset `at` of `text` lies in code, going by the file's blocks (`nodes`, parseMarkdown's): in a code block
 * yes, in an HTML block or between blocks no, and in a block of inline text when remark reads a code span of that
 * block's text there (code spans never cross a block's edge). Most comments are HTML blocks of their own: remark,
 * cold in a process that starts from the snapshot, is needed only for a comment inside a paragraph or a cell.
 */
export function inCode(text: string, nodes: readonly MdNode[], at: number): boolean {
  const block = nodes.find((node) => node.position !== undefined && startOffset(node) <= at && at < Math.max(endOffset(node), startOffset(node) + 1));
  if (!block) return false;
  if (block.type === 'code') return true;
  if (INLINE_BLOCKS.has(block.type)) {
    const from = startOffset(block);
    let found = false;
    const walk = (node: MdNode) => {
      if (node.type === 'inlineCode' && node.position) {
        if (from + node.position.start.offset! <= at && at < from + node.position.end.offset!) found = true;
        return;
      }
      for (const child of (node as { children?: MdNode[] }).children ?? []) walk(child);
    };
    walk(remarkTree(text.slice(from, endOffset(block))));
    return found;
  }
  const children = (block as { children?: MdNode[] }).children;
  return children ? inCode(text, children, at) : false;
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * A copy of `node` and its descendants with every position moved by `base` (where the part starts in the file): new
 * node, position and children objects, so the plan's readers never share or change the cached tree. A plain
 * recursive walk (unist-util-visit costs 15 times as much here).
 */
function copyNode<T extends MdNode>(node: T, base: Point): T {
  const copy = { ...node };
  const position = node.position;
  if (position) copy.position = { start: shift(position.start, base), end: shift(position.end, base) };
  const children = (node as { children?: MdNode[] }).children;
  if (children) (copy as { children?: MdNode[] }).children = children.map((child) => copyNode(child, base));
  return copy;
}

function shift(point: { line: number; column: number; offset?: number }, base: Point) {
  return { line: point.line + base.line - 1, column: point.column, offset: (point.offset ?? 0) + base.offset };
}

export function startOffset(node: MdNode): number {
  return node.position?.start.offset ?? 0;
}

export function endOffset(node: MdNode): number {
  return node.position?.end.offset ?? 0;
}

export function spanOf(pointAt: (offset: number) => Point, start: number, end: number): Span {
  return { start: pointAt(start), end: pointAt(end) };
}

export function pointOf(node: MdNode): Point {
  const start = node.position?.start;
  return { line: start?.line ?? 1, column: start?.column ?? 1, offset: start?.offset ?? 0 };
}
