import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';

/**
 * Prompt templates: Markdown with front matter (role, schema, version) in prompts/<name>.md. A repository's own
 * prompts/<name>.md overrides the shipped one by name.
 */

const PromptMeta = z.object({ role: z.enum(['planner', 'reviewer', 'executor']), schema: z.string(), version: z.number().int() });

export interface Prompt {
  name: string;
  role: 'planner' | 'reviewer' | 'executor';
  schema: string;
  version: number;
  body: string;
  /** Where it was read from (the repository's own, or the shipped one). */
  source: string;
}

const SHIPPED = new URL('../../prompts/', import.meta.url);

export function loadPrompt(name: string, root: string | null): Prompt {
  const candidates = [...(root ? [join(root, 'prompts', `${name}.md`)] : []), new URL(`${name}.md`, SHIPPED)];
  for (const candidate of candidates) {
    let text: string;
    try {
      text = readFileSync(candidate, 'utf8');
    } catch {
      continue;
    }
    const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n/.exec(text);
    const meta = PromptMeta.safeParse(match ? parseDocument(match[1]!).toJS() : null);
    if (!match || !meta.success) throw new Error(`prompt ${String(candidate)} needs front matter with role, schema and version`);
    return { name, ...meta.data, body: text.slice(match[0].length), source: String(candidate) };
  }
  throw new Error(`no prompt named ${name}`);
}

/** Fills `{name}` placeholders; unknown ones stay as they are. */
export function fillPrompt(body: string, values: Record<string, string>): string {
  return body.replace(/\{([a-z_]+)\}/g, (whole, key: string) => values[key] ?? whole);
}
