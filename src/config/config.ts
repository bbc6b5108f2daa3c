import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { yamlErrorMessage } from '../plan/text.js';

export const CONFIG_FILE = 'deepplan.config.yaml';

const RuleSetting = z.enum(['off', 'on', 'warning', 'warn', 'error']);
export type RuleSetting = z.infer<typeof RuleSetting>;

/** deepplan.config.yaml. Sections that later parts of the program read are accepted here and validated there. */
const ModelRef = z.string().regex(/^[a-z][a-z0-9-]*\/\S+$/, 'provider/model, e.g. anthropic/claude-sonnet-5');

const ProviderSettings = z.looseObject({
  base_url: z.url().optional(),
  /** OpenAI only: `chat` for OpenAI-compatible servers that speak Chat Completions (Ollama, vLLM, LM Studio). */
  api: z.enum(['responses', 'chat']).optional(),
});

/** USD per million tokens. */
const Price = z.looseObject({ input: z.number().min(0), output: z.number().min(0), date: z.string().optional(), source: z.string().optional() });

export const ConfigSchema = z.looseObject({
  rules: z.record(z.string(), RuleSetting).optional(),
  skills: z.looseObject({ paths: z.array(z.string().min(1)).optional() }).optional(),
  models: z
    .looseObject({ planner: ModelRef.optional(), reviewer: ModelRef.optional(), executor: ModelRef.optional(), fallback: ModelRef.optional() })
    .optional(),
  allow_same_provider: z.boolean().optional(),
  /** Project documents the planner searches for context (paths or globs from the repository root). */
  context: z.looseObject({ paths: z.array(z.string().min(1)).optional() }).optional(),
  providers: z.looseObject({ anthropic: ProviderSettings.optional(), openai: ProviderSettings.optional(), google: ProviderSettings.optional() }).optional(),
  prices: z.record(z.string(), Price).optional(),
  /** The executor (deepplan run). */
  execute: z
    .looseObject({
      /** Commands may use the network (default: no network). */
      network: z.boolean().optional(),
      /** Time limit of one command, in milliseconds. */
      timeout_ms: z.number().int().min(100).optional(),
      /** Environment variables a command may see besides PATH, HOME, LANG, LC_*, TERM and TZ (names, not values). */
      env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')).optional(),
      /** Limits of one command: private memory per process, processes at once, file size, output kept. */
      limits: z
        .looseObject({
          memory_mb: z.number().int().min(64).optional(),
          processes: z.number().int().min(4).optional(),
          file_mb: z.number().int().min(1).optional(),
          output_mb: z.number().int().min(1).optional(),
        })
        .optional(),
      /** `--executor command`: an external agent that gets the iteration prompt on standard input. */
      agent: z
        .looseObject({
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
    .looseObject({
      timeout_ms: z.number().int().min(100).optional(),
      max_attempts: z.number().int().min(1).max(10).optional(),
      retry_base_ms: z.number().int().min(0).optional(),
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
      const issue = result.error.issues[0]!;
      throw new ConfigError(`${path}: ${issue.path.join('.') || 'the file'}: ${issue.message}`);
    }
    config = result.data;
  }
  cache.set(root, config);
  return config;
}
