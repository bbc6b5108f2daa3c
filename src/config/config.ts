import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { closest, distance } from 'fastest-levenshtein';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { yamlErrorMessage } from '../plan/text.js';

export const CONFIG_FILE = 'deepplan.config.yaml';

const RuleSetting = z.enum(['off', 'on', 'warning', 'warn', 'error']);
export type RuleSetting = z.infer<typeof RuleSetting>;

/**
 * deepplan.config.yaml. Every section is strict: a key the schema does not know (a misspelling such as `modles:`) is
 * an error that names the nearest known key. Rule ids under `rules:` are checked by the linter, which knows them.
 */
const ModelRef = z.string().regex(/^[a-z][a-z0-9-]*\/\S+$/, 'provider/model, e.g. anthropic/claude-sonnet-5');

const ProviderSettings = z.strictObject({
  base_url: z.url().optional(),
  /** OpenAI only: `chat` for OpenAI-compatible servers that speak Chat Completions (Ollama, vLLM, LM Studio). */
  api: z.enum(['responses', 'chat']).optional(),
});

/** USD per million tokens. */
const Price = z.strictObject({ input: z.number().min(0), output: z.number().min(0), date: z.string().optional(), source: z.string().optional() });

export const ConfigSchema = z.strictObject({
  rules: z.record(z.string(), RuleSetting).optional(),
  skills: z.strictObject({ paths: z.array(z.string().min(1)).optional() }).optional(),
  models: z
    .strictObject({ planner: ModelRef.optional(), reviewer: ModelRef.optional(), executor: ModelRef.optional(), fallback: ModelRef.optional() })
    .optional(),
  allow_same_provider: z.boolean().optional(),
  /** Who approves human gates from this checkout (deepplan approve --by overrides it; else git config user.name). */
  user: z.strictObject({ name: z.string().trim().min(1, "a person's name, e.g. Dana Ruiz").optional() }).optional(),
  /** Project documents the planner searches for context (paths or globs from the repository root). */
  context: z.strictObject({ paths: z.array(z.string().min(1)).optional() }).optional(),
  providers: z.strictObject({ anthropic: ProviderSettings.optional(), openai: ProviderSettings.optional(), google: ProviderSettings.optional() }).optional(),
  prices: z.record(z.string(), Price).optional(),
  /** The executor (deepplan run). */
  execute: z
    .strictObject({
      /** Commands may use the network (default: no network). */
      network: z.boolean().optional(),
      /** Time limit of one command, in milliseconds. */
      timeout_ms: z.number().int().min(100).optional(),
      /** Environment variables a command may see besides PATH, HOME, LANG, LC_*, TERM and TZ (names, not values). */
      env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')).optional(),
      /** Limits of one command: private memory per process, processes at once, file size, output kept. */
      limits: z
        .strictObject({
          memory_mb: z.number().int().min(64).optional(),
          processes: z.number().int().min(4).optional(),
          file_mb: z.number().int().min(1).optional(),
          output_mb: z.number().int().min(1).optional(),
        })
        .optional(),
      /** `--executor command`: an external agent that gets the iteration prompt on standard input. */
      agent: z
        .strictObject({
          command: z.string().min(1),
          network: z.boolean().optional(),
          /** Folders outside the repository the agent writes (its own state), absolute. */
          writable: z.array(z.string().min(1)).optional(),
          /** Environment variables the agent sees besides the allow-list and the provider keys (names). */
          env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')).optional(),
        })
        .optional(),
    })
    .optional(),
  limits: z
    .strictObject({
      timeout_ms: z.number().int().min(100).optional(),
      max_attempts: z.number().int().min(1).max(10).optional(),
      retry_base_ms: z.number().int().min(0).optional(),
      /** US dollars a plan may spend on model calls in all (its state.spent_usd), across runs; --max-cost overrides it. */
      max_cost: z.number().positive().optional(),
    })
    .optional(),
});

export type Config = z.infer<typeof ConfigSchema>;

/** The configuration file is unreadable or invalid: the run itself fails (exit 2). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The nearest ancestor of `start` holding `.git` or deepplan.config.yaml; else `start` itself. */
export function findRepoRoot(start: string): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, '.git')) || existsSync(join(dir, CONFIG_FILE))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(start);
    dir = parent;
  }
}

const cache = new Map<string, Config>();

/** Loads the configuration of a repository root; a missing file is an empty configuration. */
export function loadConfig(root: string): Config {
  const cached = cache.get(root);
  if (cached) return cached;
  const path = join(root, CONFIG_FILE);
  let config: Config = {};
  if (existsSync(path)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
    }
    const doc = parseDocument(text, { uniqueKeys: true });
    if (doc.errors.length > 0) {
      const error = doc.errors[0]!;
      throw new ConfigError(`${path}:${error.linePos?.[0]?.line ?? 1}: ${yamlErrorMessage(error)}`);
    }
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 }) ?? {};
    } catch (error) {
      throw new ConfigError(`${path}: ${(error as Error).message}`);
    }
    const result = ConfigSchema.safeParse(data);
    if (!result.success) {
      // A misspelled key usually explains the other complaints too: say it first.
      const issue = result.error.issues.find((candidate) => candidate.code === 'unrecognized_keys') ?? result.error.issues[0]!;
      if (issue.code === 'unrecognized_keys') throw new ConfigError(`${path}: ${unknownKeyMessage(issue.path, issue.keys[0]!)}`);
      throw new ConfigError(`${path}: ${issue.path.join('.') || 'the file'}: ${issue.message}`);
    }
    config = result.data;
  }
  cache.set(root, config);
  return config;
}

/** The keys the schema knows at `path` (a section of the file), or none where the keys are names (rules, prices). */
export function knownKeys(path: readonly PropertyKey[], schema: z.ZodType = ConfigSchema): string[] {
  let node: z.ZodType | undefined = schema;
  const unwrap = (value: z.ZodType | undefined): z.ZodType | undefined => {
    while (value instanceof z.ZodOptional || value instanceof z.ZodNullable || value instanceof z.ZodDefault) value = value.unwrap() as z.ZodType;
    return value;
  };
  for (const segment of path) {
    node = unwrap(node);
    if (node instanceof z.ZodObject) node = (node.shape as Record<string, z.ZodType>)[String(segment)];
    else if (node instanceof z.ZodRecord) node = node.valueType as z.ZodType;
    else if (node instanceof z.ZodArray) node = node.element as z.ZodType;
    else return [];
  }
  node = unwrap(node);
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/**
 * `unknown key execute.timout_ms; did you mean timeout_ms?`: the nearest known key of the same section by edit
 * distance (fastest-levenshtein), when it is close enough to be a misspelling; else the section's known keys.
 */
export function unknownKeyMessage(path: readonly PropertyKey[], key: string): string {
  const where = [...path.map(String), key].join('.');
  const known = knownKeys(path);
  if (known.length === 0) return `unknown key ${where}`;
  const nearest = closest(key, known);
  const limit = Math.max(2, Math.floor(Math.max(key.length, nearest.length) / 3));
  if (distance(key.toLowerCase(), nearest.toLowerCase()) <= limit) return `unknown key ${where}; did you mean ${nearest}?`;
  return `unknown key ${where}; the keys${path.length > 0 ? ` of ${path.map(String).join('.')}` : ''} are ${known.join(', ')}`;
}
