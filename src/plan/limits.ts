import { lineEnd } from './text.js';
import type { Diagnostic, Point } from './types.js';

// What the parser refuses to read, and the checks that measure it. Each limit keeps a hostile or broken file from
// costing more than a plan ever needs; the checks are linear passes that run before anything heavier.

/** Plans larger than this are refused unread. A 1,000-row log is about 150 kB. */
export const MAX_PLAN_BYTES = 5 * 1024 * 1024;
/**
 * The front matter is a few dozen lines; anything this large is not a plan. `yaml` checks duplicate keys pairwise,
 * so its time grows with the square of the key count (20,000 keys: several seconds).
 */
export const MAX_FRONT_MATTER_CHARS = 32 * 1024;
/** YAML aliases allowed when expanding the front matter (billion-laughs guard). */
export const MAX_YAML_ALIASES = 100;
/** Containers (block quotes, list indentation) nested deeper than this are refused before Markdown parsing. */
export const MAX_NESTING = 32;
/**
 * The Markdown part of a plan (everything but the iteration log) is small: the 16-phase example plan is 9 kB, 230
 * lines, 113 block quote and list levels, 21 emphasis and link markers and 61 `|`. These limits keep remark's parse
 * time well under a second, which the text's size alone does not: 1 MB of ordinary plan text takes seconds, and so
 * do 20,000 list items or table rows, a few thousand alternating `*_` or `]` in one paragraph (micromark matches
 * emphasis and link delimiters pairwise), 1,000 lines of `> - > - x`, or one 100 kB line of `[`.
 */
const MAX_BODY_CHARS = 64 * 1024;
const MAX_BODY_LINES = 1_000;
const MAX_LINE_CHARS = 10_000;
/** Characters whose count, not the text's length, sets remark's time, and how many of each the Markdown part may hold. */
const MAX_MARKUP: ReadonlyArray<{ what: string; chars: string; limit: number }> = [
  { what: 'emphasis and link markers (`*`, `_`, `~`, `[`, `]`)', chars: '*_~[]', limit: 2_000 },
  { what: 'table cell separators (`|`)', chars: '|', limit: 3_000 },
];
/**
 * Each MAX_MARKUP kind's characters as one expression: a native search finds them, where a loop over every character
 * of a 20 kB plan cost a process that starts cold ~1 ms.
 */
const MARKUP_PATTERNS = MAX_MARKUP.map((markup) => new RegExp(`[${markup.chars.replace(/[\\\]^-]/g, '\\$&')}]`, 'g'));

/** How many characters `pattern` (global) finds in [from, to) of `text`. */
function countIn(text: string, from: number, to: number, pattern: RegExp): number {
  let count = 0;
  pattern.lastIndex = from;
  for (let match = pattern.exec(text); match !== null && match.index < to; match = pattern.exec(text)) count++;
  return count;
}

/** Block quote and list levels summed over the lines (a line `> - x` counts 2): each line re-checks its containers. */
const MAX_CONTAINER_LEVELS = 1_000;
/**
 * The iteration log is read line by line, and an iteration reads only the rows appended since it last read the
 * plan (log-table.ts). 20,000 lines is twenty times the longest budget; a 20,000-row log is about 3 MB.
 */
export const MAX_LOG_LINES = 20_000;
/** `deepplan-disable` / `deepplan-enable` comments; each finding is checked against every range. */
export const MAX_DISABLE_COMMENTS = 200;

export function fileError(message: string, line = 1, column = 1): Diagnostic {
  return { ruleId: 'parse', severity: 'error', message, line, column };
}

export function formatMb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatKb(chars: number): string {
  return `${Math.ceil(chars / 1024)} kB`;
}

/** Lines [from, to) that a scan passes over: rows read before, which start with `|` and hold no container. */
export interface SkippedLines {
  from: number;
  to: number;
}

/** The first line from `from` on nested deeper than MAX_NESTING, if any; `skip` lines are known to be flat. */
export function deepestNesting(text: string, starts: number[], from: number, skip: SkippedLines | null): { line: number } | null {
  for (let i = 0; i < starts.length; i++) {
    if (skip && i === skip.from) {
      i = skip.to - 1;
      continue;
    }
    if (starts[i]! < from) continue;
    const { depth, indent } = containerLevels(text, starts[i]!, lineEnd(text, starts, i));
    // Each list level needs at least two columns of indentation.
    if (depth > MAX_NESTING || indent / 2 > MAX_NESTING) return { line: i + 1 };
  }
  return null;
}

/**
 * The container markers (`>`, bullets) and the indentation the line `text[start, end)` starts with, and the levels
 * they amount to. Read in place: every line of the file is measured, the log's new rows included.
 */
function containerLevels(text: string, start: number, end: number): { depth: number; indent: number; levels: number } {
  let depth = 0;
  let indent = 0;
  for (let at = start; at < end; at++) {
    const code = text.charCodeAt(at);
    if (code === 0x3e || code === 0x2d || code === 0x2a || code === 0x2b)
      depth++; // > - * +
    else if (code === 0x20) indent++;
    else if (code === 0x09) indent += 4;
    else break;
  }
  return { depth, indent, levels: Math.max(depth, Math.floor(indent / 2)) };
}

/** The Markdown part of a plan: pieces of the text that start and end at line starts. */
export interface MarkdownPieces {
  text: string;
  starts: number[];
  pieces: Array<{ from: number; to: number }>;
  pointAt: (offset: number) => Point;
}

/**
 * Why the Markdown part is too large to hand to remark, if it is: see MAX_BODY_CHARS. Everything here is one linear
 * pass.
 */
export function markdownLimit({ text, starts, pieces, pointAt }: MarkdownPieces): Diagnostic | null {
  const chars = pieces.reduce((sum, piece) => sum + piece.to - piece.from, 0);
  if (chars > MAX_BODY_CHARS) {
    return fileError(`the plan's text outside the iteration log is ${formatKb(chars)}; the limit is ${formatKb(MAX_BODY_CHARS)}`);
  }
  let lines = 0;
  let levels = 0;
  const counts = MAX_MARKUP.map(() => 0);
  for (const piece of pieces) {
    for (let i = pointAt(piece.from).line - 1; i < starts.length && starts[i]! < piece.to; i++) {
      lines++;
      const end = Math.min(i + 1 < starts.length ? starts[i + 1]! - 1 : text.length, piece.to);
      if (end - starts[i]! > MAX_LINE_CHARS) {
        return fileError(`line ${i + 1} is ${end - starts[i]!} characters long; the limit outside the iteration log is ${MAX_LINE_CHARS}`, i + 1);
      }
      levels += containerLevels(text, starts[i]!, lineEnd(text, starts, i)).levels;
    }
    MARKUP_PATTERNS.forEach((pattern, kind) => {
      counts[kind]! += countIn(text, piece.from, piece.to, pattern);
    });
  }
  const limit = (what: string, count: number, max: number) => fileError(`the plan's text outside the iteration log has ${count} ${what}; the limit is ${max}`);
  if (lines > MAX_BODY_LINES) return limit('lines', lines, MAX_BODY_LINES);
  if (levels > MAX_CONTAINER_LEVELS) return limit('block quote and list levels summed over its lines', levels, MAX_CONTAINER_LEVELS);
  for (let k = 0; k < MAX_MARKUP.length; k++) {
    if (counts[k]! > MAX_MARKUP[k]!.limit) return limit(MAX_MARKUP[k]!.what, counts[k]!, MAX_MARKUP[k]!.limit);
  }
  return null;
}
