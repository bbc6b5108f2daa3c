import { MAX_DISABLE_COMMENTS } from './limits.js';
import type { DisableRange, Point } from './types.js';

// `<!-- deepplan-disable rule -->` and `<!-- deepplan-enable rule -->` comments: the line ranges where findings of
// some rules (or all) are not reported.

/** `<!--\s*deepplan-(disable|enable)\b([^>]*?)-->`, matched in two steps so that text without `>` costs linear time. */
const DISABLE_COMMENT_OPEN = /<!--\s*deepplan-(disable|enable)\b/g;

/**
 * The disable ranges, or null when there are more comments than MAX_DISABLE_COMMENTS. Comments inside code are
 * skipped (`inCode` says whether the comment at an offset is; it is asked for each `deepplan-` comment).
 */
export function readDisableComments(
  text: string,
  from: number,
  pointAt: (offset: number) => Point,
  inCode: (offset: number) => boolean = () => false,
): DisableRange[] | null {
  const ranges: DisableRange[] = [];
  // Most plans have no comment at all: one scan for `<!--` instead of the pattern over the whole file (and its log).
  if (text.indexOf('<!--', from) === -1) return ranges;
  const open = (rules: string[] | null, fromLine: number, except?: string[]) => {
    ranges.push({ rules, ...(except ? { except } : {}), fromLine, toLine: Number.POSITIVE_INFINITY });
  };
  // The first heading of the body: a `#` comment line in the front matter is YAML, not a heading.
  const headingPattern = /^ {0,3}#{1,6}[ \t]/gm;
  headingPattern.lastIndex = from;
  const firstHeading = headingPattern.exec(text);
  const firstHeadingOffset = firstHeading ? firstHeading.index : text.length;
  let count = 0;
  let consumed = from;
  let nextGt = -1;
  DISABLE_COMMENT_OPEN.lastIndex = 0;
  for (const match of text.matchAll(DISABLE_COMMENT_OPEN)) {
    if (match.index < consumed) continue;
    const bodyStart = match.index + match[0].length;
    // The comment's text runs to the first `>`, which must be the end of `-->`. Matches only move forward, so the
    // position of that `>` is searched again only once the previous one is behind.
    if (nextGt < bodyStart) {
      nextGt = text.indexOf('>', bodyStart);
      if (nextGt === -1) break;
    }
    if (nextGt - 2 < bodyStart || text[nextGt - 1] !== '-' || text[nextGt - 2] !== '-') continue;
    consumed = nextGt + 1;
    if (inCode(match.index)) continue;
    if (++count > MAX_DISABLE_COMMENTS) return null;
    const rules = text
      .slice(bodyStart, nextGt - 2)
      .trim()
      .split(/[\s,]+/)
      .filter(Boolean);
    const at = pointAt(match.index);
    // A comment above the first heading speaks for the whole file, front matter included.
    const line = match.index < firstHeadingOffset ? 1 : at.line;
    if (match[1] === 'disable') {
      open(rules.length > 0 ? rules : null, line);
      continue;
    }
    for (const range of [...ranges]) {
      if (range.toLine !== Number.POSITIVE_INFINITY) continue;
      if (rules.length === 0) {
        range.toLine = at.line;
      } else if (range.rules === null) {
        // Enabling some rules inside a disable-all: everything else stays off.
        range.toLine = at.line;
        open(null, at.line + 1, [...(range.except ?? []), ...rules]);
      } else if (range.rules.some((rule) => rules.includes(rule))) {
        range.toLine = at.line;
        const rest = range.rules.filter((rule) => !rules.includes(rule));
        if (rest.length > 0) open(rest, at.line + 1);
      }
    }
  }
  return ranges;
}
