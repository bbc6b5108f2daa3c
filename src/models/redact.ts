import { KEY_VARIABLES } from './roles.js';
import type { Env } from './roles.js';

/** The values of the API keys in the environment (long enough to be secrets, not placeholders). */
export function secretValues(env: Env = process.env): string[] {
  return Object.values(KEY_VARIABLES)
    .flat()
    .map((name) => (env[name] ?? '').trim())
    .filter((value) => value.length >= 8);
}

/** Replaces every API key value in `text` with [redacted]. */
export function redact(text: string, secrets: string[] = secretValues()): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  return out;
}
