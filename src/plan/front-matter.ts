import { isMap, parseDocument } from 'yaml';
import { formatKb, MAX_FRONT_MATTER_CHARS, MAX_YAML_ALIASES } from './limits.js';
import { PlanMetaSchema, type PlanMeta } from './schema.js';
import { endOfLine, lineText, yamlErrorMessage } from './text.js';
import type { Diagnostic, FrontMatter, Plan } from './types.js';

const FENCE_LINE = /^---[ \t]*\r?$/;
const FENCE_END_LINE = /^(---|\.\.\.)[ \t]*\r?$/;

export type FrontMatterLocation = { contentStart: number; contentEnd: number; close: number } | 'missing' | 'unclosed';

/**
 * Where the front matter's YAML lies: between the opening `---` line and the closing `---` (or `...`) line. Without
 * `starts`, the lines are found up to the closing line only (a surgical edit of the front matter calls this on a
 * file that is mostly iteration log).
 */
export function locateFrontMatter(text: string, starts?: number[]): FrontMatterLocation {
  if (!starts) {
    const firstBreak = text.indexOf('\n');
    if (firstBreak === -1 || !FENCE_LINE.test(text.slice(0, firstBreak))) return 'missing';
    for (let lineStart = firstBreak + 1, close = 1; ; close++) {
      const lineBreak = text.indexOf('\n', lineStart);
      if (FENCE_END_LINE.test(text.slice(lineStart, lineBreak === -1 ? text.length : lineBreak)))
        return { contentStart: firstBreak + 1, contentEnd: lineStart, close };
      if (lineBreak === -1) return 'unclosed';
      lineStart = lineBreak + 1;
    }
  }
  if (!FENCE_LINE.test(lineText(text, starts, 0)) || starts.length < 2) return 'missing';
  for (let i = 1; i < starts.length; i++) {
    if (FENCE_END_LINE.test(lineText(text, starts, i))) return { contentStart: starts[1]!, contentEnd: starts[i]!, close: i };
  }
  return 'unclosed';
}

/** Where the Markdown body starts: after the front matter's closing line, or at 0 without a closed front matter. */
export function bodyStartOf(text: string, located: FrontMatterLocation): number {
  return typeof located === 'string' ? 0 : endOfLine(text, located.contentEnd);
}

function frontMatterError(message: string, line = 1, column = 1): Diagnostic {
  return { ruleId: 'front-matter', severity: 'error', message, line, column };
}

/** Reads the front matter `located` found into plan.frontMatter and plan.meta; what cannot be read becomes diagnostics. */
export function readFrontMatter(plan: Plan, located: FrontMatterLocation): void {
  const { text } = plan;
  if (located === 'missing' || located === 'unclosed') {
    plan.diagnostics.push(
      frontMatterError(
        located === 'missing' ? 'the file does not start with YAML front matter (a `---` line)' : 'the front matter is not closed by a `---` line',
      ),
    );
    return;
  }
  const { contentStart, contentEnd } = located;
  if (contentEnd - contentStart > MAX_FRONT_MATTER_CHARS) {
    plan.diagnostics.push(frontMatterError(`the front matter is ${formatKb(contentEnd - contentStart)}; the limit is ${formatKb(MAX_FRONT_MATTER_CHARS)}`));
    return;
  }
  const frontMatter: FrontMatter = { contentStart, contentEnd, line: 1, doc: null, data: null };
  plan.frontMatter = frontMatter;
  const source = text.slice(contentStart, contentEnd);
  const doc = parseDocument(source, { uniqueKeys: true, prettyErrors: false, keepSourceTokens: false });
  if (doc.errors.length > 0) {
    for (const error of doc.errors.slice(0, 5)) {
      const at = plan.pointAt(contentStart + Math.max(0, error.pos[0]));
      plan.diagnostics.push(frontMatterError(`YAML: ${yamlErrorMessage(error)}`, at.line, at.column));
    }
    return;
  }
  frontMatter.doc = doc;
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    plan.diagnostics.push(frontMatterError(`YAML: ${error instanceof Error ? yamlErrorMessage(error) : 'could not be read'}`, 2));
    frontMatter.doc = null;
    return;
  }
  if (!isMap(doc.contents) || data === null || typeof data !== 'object' || Array.isArray(data)) {
    plan.diagnostics.push(frontMatterError('the front matter must be a YAML mapping of keys to values', 2));
    return;
  }
  frontMatter.data = data as Record<string, unknown>;
  plan.meta = readMeta(frontMatter.data);
}

/** Keeps every top-level field that validates on its own, so one bad field does not hide the others from the rules. */
export function readMeta(data: Record<string, unknown>): Partial<PlanMeta> {
  const meta: Record<string, unknown> = {};
  const shape = PlanMetaSchema.shape as Record<string, { safeParse(value: unknown): { success: boolean; data?: unknown } }>;
  for (const [key, schema] of Object.entries(shape)) {
    if (!(key in data)) continue;
    const result = schema.safeParse(data[key]);
    if (result.success) meta[key] = result.data;
  }
  return meta as Partial<PlanMeta>;
}
