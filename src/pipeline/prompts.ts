import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import * as z from 'zod';

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

const PACKAGE_ROOT = new URL('../../', import.meta.url);

/**
 * The text of a file deepplan ships (prompts/, plans/templates/) that a repository may override by putting its own
 * file at the same path: the repository's wins.
 */
export function readOverridable(path: string, root: string | null): { text: string; source: string } | null {
  for (const candidate of [...(root ? [join(root, path)] : []), new URL(path, PACKAGE_ROOT)]) {
    try {
      return { text: readFileSync(candidate, 'utf8'), source: String(candidate) };
    } catch {
      // Not there: the next candidate.
    }
  }
  return null;
}

export function loadPrompt(name: string, root: string | null): Prompt {
  const found = readOverridable(`prompts/${name}.md`, root);
  if (!found) throw new Error(`no prompt named ${name}`);
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n/.exec(found.text);
  const meta = PromptMeta.safeParse(match ? parseDocument(match[1]!).toJS() : null);
  if (!match || !meta.success) throw new Error(`prompt ${found.source} needs front matter with role, schema and version`);
  return { name, ...meta.data, body: found.text.slice(match[0].length), source: found.source };
}

/** Fills `{name}` placeholders; unknown ones stay as they are. */
export function fillPlaceholders(text: string, values: Record<string, string>): string {
  return text.replace(/\{([a-z_]+)\}/g, (whole, key: string) => values[key] ?? whole);
}
