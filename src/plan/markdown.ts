import type { Node as MdNode, Root, RootContent } from 'mdast';
import { gfmTableFromMarkdown } from 'mdast-util-gfm-table';
import { gfmTaskListItemFromMarkdown } from 'mdast-util-gfm-task-list-item';
import { gfmTable } from 'micromark-extension-gfm-table';
import { gfmTaskListItem } from 'micromark-extension-gfm-task-list-item';
import remarkParse from 'remark-parse';
import { unified, type Processor } from 'unified';
import type { Point, Span } from './types.js';

// The Markdown part of a plan (everything but the front matter and the iteration log) as remark reads it, cached.

// The front matter is cut off before remark sees the text (it is read with `yaml` directly): remark-frontmatter
// would only hand back the same raw text, and it costs a third of the parse time on a typical plan.
const markdown = unified().use(remarkParse).use(gfmTablesAndTaskLists);

/**
 * The two GFM extensions the format uses (PLAN_FORMAT.md: "CommonMark with GFM tables and task lists"), without
 * remark-gfm's autolink literals, footnotes and strikethrough, which plans do not need and which cost a quarter of
 * the Markdown parse time.
 */
function gfmTablesAndTaskLists(this: Processor): void {
  const data = this.data();
  (data.micromarkExtensions ??= []).push(gfmTable(), gfmTaskListItem());
  (data.fromMarkdownExtensions ??= []).push(gfmTableFromMarkdown(), gfmTaskListItemFromMarkdown());
}

/**
 * Trees of the Markdown parts parsed last, by their text. One `deepplan run` iteration parses its plan about ten
 * times (each read and each surgical edit) while only the front matter and the log change, and neither is Markdown
 * that remark reads: without the cache remark is most of an iteration's parsing, and it grows with the running
 * learnings. A cached tree is never handed out: each parse gets its own copy (see copyNode).
 */
const MARKDOWN_CACHE_SIZE = 8;
const markdownCache = new Map<string, Root>();

export function parseMarkdown(text: string, from: number, to: number, pointAt: (offset: number) => Point): RootContent[] {
  const source = text.slice(from, to);
  let tree = markdownCache.get(source);
  if (tree) {
    markdownCache.delete(source);
  } else {
    tree = markdown.parse(source) as Root;
    if (markdownCache.size >= MARKDOWN_CACHE_SIZE) markdownCache.delete(markdownCache.keys().next().value!);
  }
  markdownCache.set(source, tree);
  const base = pointAt(from);
  return tree.children.map((child) => copyNode(child, base));
}

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
