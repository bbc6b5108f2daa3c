import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { closest, distance } from 'fastest-levenshtein';
import { parseDocument } from 'yaml';
import * as z from 'zod/mini';
import '../plan/zod.js';
import { registerMemo } from '../plan/memos.js';
import { yamlErrorMessage } from '../plan/text.js';

export const CONFIG_FILE = 'deepplan.config.yaml';

const RuleSetting = z.enum(['off', 'on', 'warning', 'warn', 'error']);
export type RuleSetting = z.infer<typeof RuleSetting>;

/**
 * deepplan.config.yaml. Every section is strict: a key the schema does not know (a misspelling such as `modles:`) is
 * an error that names the nearest known key. Rule ids under `rules:` are checked by the linter, which knows them.
 */
const ModelRef = z.string().check(z.regex(/^[a-z][a-z0-9-]*\/\S+$/, 'provider/model, e.g. anthropic/claude-sonnet-5'));
const nonEmpty = () => z.string().check(z.minLength(1));
const paths = () => z.optional(z.array(nonEmpty()));
const envNames = () => z.optional(z.array(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'))));
/** A whole number of at least `min`, optional. */
const count = (min: number) => z.optional(z.number().check(z.int(), z.gte(min)));

const ProviderSettings = z.strictObject({
  base_url: z.optional(z.url()),
  /** OpenAI only: `chat` for OpenAI-compatible servers that speak Chat Completions (Ollama, vLLM, LM Studio). */
  api: z.optional(z.enum(['responses', 'chat'])),
});

/** USD per million tokens. */
const Price = z.strictObject({
  input: z.number().check(z.gte(0)),
  output: z.number().check(z.gte(0)),
  date: z.optional(z.string()),
  source: z.optional(z.string()),
});

export const ConfigSchema = z.strictObject({
  rules: z.optional(z.record(z.string(), RuleSetting)),
  skills: z.optional(z.strictObject({ paths: paths() })),
  models: z.optional(
    z.strictObject({ planner: z.optional(ModelRef), reviewer: z.optional(ModelRef), executor: z.optional(ModelRef), fallback: z.optional(ModelRef) }),
  ),
  allow_same_provider: z.optional(z.boolean()),
  /** Who approves human gates from this checkout (deepplan approve --by overrides it; else git config user.name). */
  user: z.optional(z.strictObject({ name: z.optional(z.string().check(z.trim(), z.minLength(1, "a person's name, e.g. Dana Ruiz"))) })),
  /** Project documents the planner searches for context (paths or globs from the repository root). */
  context: z.optional(z.strictObject({ paths: paths() })),
  providers: z.optional(
    z.strictObject({ anthropic: z.optional(ProviderSettings), openai: z.optional(ProviderSettings), google: z.optional(ProviderSettings) }),
  ),
  prices: z.optional(z.record(z.string(), Price)),
  /** The executor (deepplan run). */
  execute: z.optional(
    z.strictObject({
      /** Commands may use the network (default: no network). */
      network: z.optional(z.boolean()),
      /** Time limit of one command, in milliseconds. */
      timeout_ms: count(100),
      /** Environment variables a command may see besides PATH, HOME, LANG, LC_*, TERM and TZ (names, not values). */
      env: envNames(),
      /** Limits of one command: private memory per process, processes at once, file size, output kept. */
      limits: z.optional(z.strictObject({ memory_mb: count(64), processes: count(4), file_mb: count(1), output_mb: count(1) })),
      /** `--executor command`: an external agent that gets the iteration prompt on standard input. */
      agent: z.optional(
        z.strictObject({
          command: nonEmpty(),
          network: z.optional(z.boolean()),
          /** Folders outside the repository the agent writes (its own state), absolute. */
          writable: paths(),
          /** Environment variables the agent sees besides the allow-list and the provider keys (names). */
          env: envNames(),
        }),
      ),
    }),
  ),
  limits: z.optional(
    z.strictObject({
      timeout_ms: count(100),
      max_attempts: z.optional(z.number().check(z.int(), z.gte(1), z.lte(10))),
      retry_base_ms: count(0),
      /** US dollars a plan may spend on model calls in all (its state.spent_usd), across runs; --max-cost overrides it. */
      max_cost: z.optional(z.number().check(z.positive())),
    }),
  ),
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
registerMemo(() => cache.clear());

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

/** A schema as zod describes it, whichever of its builds made it: its kind, and the parts a section is made of. */
interface SchemaNode {
  _zod: { def: SchemaDef };
}
interface SchemaDef {
  type: string;
  innerType?: SchemaNode;
  shape?: Record<string, SchemaNode>;
  valueType?: SchemaNode;
  element?: SchemaNode;
}

/** The keys the schema knows at `path` (a section of the file), or none where the keys are names (rules, prices). */
export function knownKeys(path: readonly PropertyKey[], schema: SchemaNode = ConfigSchema as unknown as SchemaNode): string[] {
  const unwrap = (value: SchemaNode | undefined): SchemaNode | undefined => {
    while (value && ['optional', 'nullable', 'default'].includes(value._zod.def.type)) value = value._zod.def.innerType;
    return value;
  };
  let node: SchemaNode | undefined = schema;
  for (const segment of path) {
    const def: SchemaDef | undefined = unwrap(node)?._zod.def;
    if (def?.type === 'object') node = def.shape?.[String(segment)];
    else if (def?.type === 'record') node = def.valueType;
    else if (def?.type === 'array') node = def.element;
    else return [];
  }
  const def: SchemaDef | undefined = unwrap(node)?._zod.def;
  return def?.type === 'object' ? Object.keys(def.shape ?? {}) : [];
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
