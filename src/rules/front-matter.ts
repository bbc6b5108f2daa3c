import { PlanMetaSchema } from '../plan/schema.js';
import { frontMatterLine, type Rule } from './rule.js';

export const frontMatter: Rule = {
  id: 'front-matter',
  severity: 'error',
  description: 'The front matter has every required key with a valid value (format version 1).',
  check(plan, _context, report) {
    const data = plan.frontMatter?.data;
    if (!data) return;
    if (typeof data['deepplan'] === 'number' && data['deepplan'] !== 1) {
      report(`format version ${data['deepplan']} is not supported; this deepplan reads version 1`, {
        line: frontMatterLine(plan, ['deepplan']),
      });
      return;
    }
    const result = PlanMetaSchema.safeParse(data);
    if (result.success) return;
    for (const issue of result.error.issues) {
      const path = issue.path.map(String);
      const key = path.join('.');
      const missing = issue.code === 'invalid_type' && lookup(data, path) === undefined;
      const message = missing ? `\`${key}\` is required` : `\`${key}\`: ${issue.message}`;
      report(message, { line: frontMatterLine(plan, path) });
    }
  },
};

function lookup(data: unknown, path: string[]): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
