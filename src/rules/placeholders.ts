import { frontMatterLine, type Rule } from './rule.js';

/**
 * Text a writer meant to fill in: template variables, lorem ipsum, `???`, `XX days`, TODO, TBD, FIXME. The executor
 * would carry them out literally. Errors once the plan is in review or later; warnings in a draft.
 */

const PLACEHOLDERS: Array<{ pattern: RegExp; what: string }> = [
  { pattern: /\{\{\s*[\w.-]+\s*\}\}/, what: 'an unfilled template variable' },
  // `{contact}`, `{request_title}`; not `${VAR}` (shell) nor `{2,}` (a count) nor `{a,b}` (a glob).
  { pattern: /(?<![$\w{])\{[A-Za-z_][\w.-]*\}(?!\})/, what: 'an unfilled template variable' },
  { pattern: /<(?:insert|your|placeholder|name|contact|company|date|todo|tbd)[^<>]{0,40}>/i, what: 'a placeholder' },
  { pattern: /\[(?:insert|placeholder|todo|tbd)[^\]]{0,40}\]/i, what: 'a placeholder' },
  { pattern: /\blorem\s+ipsum\b|\bdolor\s+sit\s+amet\b/i, what: 'lorem ipsum' },
  { pattern: /\?{3,}/, what: '"???"' },
  {
    pattern:
      /\b(?:X{2,}|N{2,})\s*(?:%|days?|weeks?|months?|hours?|minutes?|people|contacts|accounts|deals|words|items|emails|drafts|rows)\b|\$X{2,}\b|\bX{3,}\b/,
    what: 'an unfilled number',
  },
  { pattern: /\bTODO\b|\bTBD\b|\bFIXME\b|\bTBC\b/, what: 'a to-do marker' },
];

export function placeholderIn(text: string): { match: string; what: string } | null {
  for (const { pattern, what } of PLACEHOLDERS) {
    const match = pattern.exec(text);
    if (match) return { match: match[0], what };
  }
  return null;
}

export const placeholders: Rule = {
  id: 'placeholders',
  severity: 'error',
  description: 'No template variables, lorem ipsum, ???, XX, TODO, TBD or FIXME left in the plan (a warning in a draft).',
  check(plan, _context, report) {
    const severity = plan.meta.status === 'draft' ? 'warning' : 'error';
    const title = plan.meta.title;
    if (typeof title === 'string') {
      const found = placeholderIn(title);
      if (found) report(`the title holds ${found.what} ("${found.match}"); fill it in`, { line: frontMatterLine(plan, ['title']), severity });
    }
    const body = plan.frontMatter ? plan.text.slice(plan.frontMatter.contentEnd) : plan.text;
    const bodyStart = plan.frontMatter ? plan.frontMatter.contentEnd : 0;
    // The iteration log records what happened; running learnings may quote text. Neither is an instruction to carry out.
    const logSection = plan.sections.find((section) => section.key === 'iteration log');
    const skip = logSection ? [logSection.heading.start.offset, logSection.endOffset] : null;
    let offset = bodyStart;
    let inComment = false;
    let inFence = false;
    for (const line of body.split('\n')) {
      const at = offset;
      offset += line.length + 1;
      if (skip && at >= skip[0]! && at < skip[1]!) continue;
      if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
      const visible = stripComments(line, inComment);
      inComment = visible.open;
      if (inFence) continue;
      const found = placeholderIn(visible.text);
      if (!found) continue;
      report(`"${found.match}" is ${found.what} left in the plan; fill it in before the plan is ${severity === 'error' ? 'run' : 'reviewed'}`, {
        line: plan.pointAt(at).line,
        severity,
        fix: `replace "${found.match}" on line ${plan.pointAt(at).line} with the real value`,
      });
    }
  },
};

/** A line without its HTML comments (which may run across lines), and whether a comment is still open at its end. */
function stripComments(line: string, open: boolean): { text: string; open: boolean } {
  let text = '';
  let rest = line;
  let inside = open;
  while (rest.length > 0) {
    if (inside) {
      const end = rest.indexOf('-->');
      if (end === -1) return { text, open: true };
      rest = rest.slice(end + 3);
      inside = false;
    } else {
      const start = rest.indexOf('<!--');
      if (start === -1) return { text: text + rest, open: false };
      text += rest.slice(0, start);
      rest = rest.slice(start + 4);
      inside = true;
    }
  }
  return { text, open: inside };
}
