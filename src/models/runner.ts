import { setTimeout as sleep } from 'node:timers/promises';
import { isAbsolute, resolve } from 'node:path';
import * as z from 'zod';
import type { ZodType } from 'zod';
import type { Config } from '../config/config.js';
import { offlineAnswers } from './adapters/offline.js';
import { adviceFor, ModelError } from './errors.js';
import { Ledger } from './ledger.js';
import { costOf, estimateTokens, priceFor } from './prices.js';
import { redact, secretValues } from './redact.js';
import { resolveRoles, type Env, type RoleInfo } from './roles.js';
import type { ChatMessage, GenerateRequest, GenerateResult, Model, Role, Usage } from './types.js';

export interface RunnerOptions {
  config: Config;
  /** Repository root: the ledger goes to <root>/.deepplan/runs/, replay cassettes resolve from it. null: no ledger file. */
  root: string | null;
  env?: Env;
  ledger?: Ledger;
  /**
   * Refuse any call that would take the plan's estimated spend (the ledger's total: what the plan recorded before,
   * plus this run) past this many US dollars. null or absent: `limits.max_cost` of the config, if set.
   */
  maxCostUsd?: number | null;
  /** Ctrl-C: aborts calls in flight and stops retries. */
  signal?: AbortSignal;
  /** Where one-line notices go (fallbacks, offline roles); stderr by default. */
  notice?: (line: string) => void;
  /**
   * Builds the model for a role; the default loads the provider's adapter (and only its SDK) on first use. Tests give
   * an in-process model here (models/scripted.ts ScriptedModel) where they test the engine, not the wire format.
   */
  modelFactory?: (info: RoleInfo, env: Env, root: string | null) => Model | Promise<Model>;
}

export interface PromptRequest {
  system?: string;
  /** A single user message; or give `messages`. */
  prompt?: string;
  messages?: ChatMessage[];
  maxTokens?: number;
}

export interface ObjectRequest<T> extends PromptRequest {
  schema: ZodType<T>;
  /** Names the answer's format: [a-zA-Z0-9_-], used as the tool name and by offline handlers. */
  name: string;
  /** The answer is one tool call: ask the provider for exactly one (StructuredFormat.oneCall). */
  oneCall?: boolean;
}

export interface CallOptions {
  /** false: report this role's own failure instead of moving to the fallback role (deepplan doctor). */
  fallback?: boolean;
}

export interface Answer {
  /** The model that answered (`provider/model`), after any fallback. */
  model: string;
  role: Role;
  usage: Usage;
  costUsd: number | null;
  latencyMs: number;
}

export interface ObjectAnswer<T> extends Answer {
  object: T;
  /** Calls the answer carried beyond the one used (parsed JSON where it parses): not acted on. */
  extraCalls?: unknown[];
}

function extraCallsOf(result: GenerateResult): { extraCalls?: unknown[] } {
  if (!result.extraCalls || result.extraCalls.length === 0) return {};
  const parsed = result.extraCalls.map((text) => {
    const value = parseJsonAnswer(text);
    return 'value' in value ? value.value : text;
  });
  return { extraCalls: parsed };
}

export interface TextAnswer extends Answer {
  text: string;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_RETRY_BASE_MS = 500;
const MAX_RETRY_DELAY_MS = 20_000;

/** Loads one provider's adapter. Each adapter imports only its own SDK. */
export async function createModelFor(info: RoleInfo, env: Env, root: string | null): Promise<Model> {
  const apiKey = info.keyVariable ? (env[info.keyVariable] ?? '') : '';
  const baseURL = info.baseUrl ?? undefined;
  let model: Model;
  switch (info.provider) {
    case 'anthropic': {
      const { createAnthropicModel } = await import('./adapters/anthropic.js');
      model = createAnthropicModel({ model: info.model, apiKey, ...(baseURL ? { baseURL } : {}) });
      break;
    }
    case 'openai': {
      const { createOpenAIModel } = await import('./adapters/openai.js');
      model = createOpenAIModel({ model: info.model, apiKey, api: info.api, ...(baseURL ? { baseURL } : {}) });
      break;
    }
    case 'google': {
      const { createGoogleModel } = await import('./adapters/google.js');
      model = createGoogleModel({ model: info.model, apiKey, ...(baseURL ? { baseURL } : {}) });
      break;
    }
    case 'replay': {
      const { createReplayModel } = await import('./replay.js');
      return createReplayModel(cassettePath(info.model, root));
    }
    default: {
      const { createOfflineModel } = await import('./adapters/offline.js');
      return createOfflineModel();
    }
  }
  const record = env['DEEPPLAN_RECORD'];
  if (record) {
    const { createReplayModel } = await import('./replay.js');
    return createReplayModel(cassettePath(record, root), model);
  }
  return model;
}

function cassettePath(path: string, root: string | null): string {
  return isAbsolute(path) ? path : resolve(root ?? process.cwd(), path);
}

/** JSON Schema for a provider's structured-output option, generated from the zod schema that validates the answer. */
export function jsonSchemaOf(schema: ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'output' }) as Record<string, unknown>;
  return rest;
}

function parseJsonAnswer(text: string): { value: unknown } | { error: string } {
  const trimmed = text
    .trim()
    .replace(/^```(?:json)?\s*\n?/i, '')
    .replace(/\n?```\s*$/, '');
  if (trimmed === '') return { error: 'the answer was empty' };
  try {
    return { value: JSON.parse(trimmed) };
  } catch (error) {
    return { error: `the answer is not valid JSON (${(error as Error).message})` };
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Every model call of a run goes through here: role → model, retries with backoff (honouring retry-after), a time
 * limit per call, the fallback role when retries run out, structured answers validated with zod (one repair try),
 * the cost ledger and the --max-cost cap.
 */
export class ModelRunner {
  readonly roles: Record<Role, RoleInfo>;
  readonly ledger: Ledger;
  private readonly env: Env;
  private readonly models = new Map<Role, Promise<Model>>();
  private readonly secrets: string[];

  /** The configuration the roles were resolved from. */
  get config(): Config {
    return this.options.config;
  }

  constructor(private readonly options: RunnerOptions) {
    this.env = options.env ?? process.env;
    this.roles = resolveRoles(options.config, this.env);
    this.ledger = options.ledger ?? new Ledger(Ledger.newRunId(), options.root);
    this.secrets = secretValues(this.env);
  }

  private get limits() {
    const limits = this.options.config.limits ?? {};
    return {
      timeoutMs: limits.timeout_ms ?? DEFAULT_TIMEOUT_MS,
      attempts: limits.max_attempts ?? DEFAULT_ATTEMPTS,
      retryBaseMs: limits.retry_base_ms ?? DEFAULT_RETRY_BASE_MS,
    };
  }

  /** The cost cap in force, and where it comes from (for messages): --max-cost, else limits.max_cost. */
  get costCap(): { usd: number; name: string } | null {
    const given = this.options.maxCostUsd;
    if (given !== undefined && given !== null) return { usd: given, name: '--max-cost' };
    const configured = this.options.config.limits?.max_cost;
    return configured !== undefined ? { usd: configured, name: 'limits.max_cost' } : null;
  }

  private notice(line: string): void {
    const text = redact(line, this.secrets);
    if (this.options.notice) this.options.notice(text);
    else process.stderr.write(`${text}\n`);
  }

  modelFor(role: Role): Promise<Model> {
    let model = this.models.get(role);
    if (!model) {
      const factory = this.options.modelFactory ?? createModelFor;
      model = Promise.resolve(factory(this.roles[role], this.env, this.options.root));
      this.models.set(role, model);
    }
    return model;
  }

  /**
   * Whether `role`'s model can answer a structured request of this format name, so callers need not know which
   * provider a role runs on. A real provider or a replay cassette: always (a missing recording is a clear error when
   * asked). The offline engine: only the formats a handler is registered for (models/adapters/offline.ts).
   */
  answers(role: Role, formatName: string): boolean {
    return this.roles[role].provider !== 'offline' || offlineAnswers(formatName);
  }

  /** Asks `role` for an object matching `schema`; falls back to the fallback role when the provider keeps failing. */
  async generateObject<T>(role: Role, request: ObjectRequest<T>, options: CallOptions = {}): Promise<ObjectAnswer<T>> {
    if (options.fallback === false) return this.structuredCall(role, request);
    return this.withFallback(role, (current) => this.structuredCall(current, request));
  }

  async generateText(role: Role, request: PromptRequest): Promise<TextAnswer> {
    return this.withFallback(role, async (current) => {
      const { result, answer } = await this.callRole(current, this.toRequest(request));
      if (result.refusal !== undefined) throw this.refusal(current, answer.model, result.refusal);
      return { ...answer, text: result.text };
    });
  }

  private toRequest(request: PromptRequest, format?: GenerateRequest['format']): GenerateRequest {
    const messages = request.messages ?? [{ role: 'user' as const, content: request.prompt ?? '' }];
    return {
      ...(request.system ? { system: request.system } : {}),
      messages,
      maxTokens: request.maxTokens ?? 4096,
      ...(format ? { format } : {}),
      ...(this.options.signal ? { signal: this.options.signal } : {}),
      timeoutMs: this.limits.timeoutMs,
    };
  }

  private refusal(role: Role, model: string, text: string): ModelError {
    const [provider = '', name = ''] = model.split('/');
    return new ModelError(`${role} (${model}): the model refused: ${text.slice(0, 200)}; ${adviceFor('refusal')}`, {
      kind: 'refusal',
      provider,
      model: name,
      role,
    });
  }

  private async structuredCall<T>(role: Role, request: ObjectRequest<T>): Promise<ObjectAnswer<T>> {
    const format = { name: request.name, jsonSchema: jsonSchemaOf(request.schema), ...(request.oneCall ? { oneCall: true } : {}) };
    const first = this.toRequest(request, format);
    const { result, answer } = await this.callRole(role, first);
    if (result.refusal !== undefined) throw this.refusal(role, answer.model, result.refusal);
    const checked = this.validate(request.schema, result.text);
    if ('object' in checked) return { ...answer, object: checked.object, ...extraCallsOf(result) };

    // One repair try: show the model its answer and what is wrong with it.
    const repair: GenerateRequest = {
      ...first,
      messages: [
        ...first.messages,
        { role: 'assistant', content: result.text || '(empty)' },
        { role: 'user', content: `That answer is not usable: ${checked.error}. Answer again with only the JSON object that matches the schema.` },
      ],
    };
    const second = await this.callRole(role, repair);
    if (second.result.refusal !== undefined) throw this.refusal(role, second.answer.model, second.result.refusal);
    const rechecked = this.validate(request.schema, second.result.text);
    const total = addAnswers(answer, second.answer);
    if ('object' in rechecked) return { ...total, object: rechecked.object, ...extraCallsOf(second.result) };
    const [provider = '', name = ''] = second.answer.model.split('/');
    throw new ModelError(
      `${role} (${second.answer.model}): the answer did not match the "${request.name}" schema twice: ${rechecked.error}; ${adviceFor('invalid-output')}`,
      {
        kind: 'invalid-output',
        provider,
        model: name,
        role,
      },
    );
  }

  private validate<T>(schema: ZodType<T>, text: string): { object: T } | { error: string } {
    const parsed = parseJsonAnswer(text);
    if ('error' in parsed) return parsed;
    const result = schema.safeParse(parsed.value);
    return result.success ? { object: result.data } : { error: describeIssues(result.error) };
  }

  private async withFallback<T>(role: Role, call: (role: Role) => Promise<T>): Promise<T> {
    try {
      return await call(role);
    } catch (error) {
      const fallback = this.roles.fallback;
      const usable = error instanceof ModelError && error.retryable && this.hasFallback(role);
      if (!usable) throw error;
      // The failure's own detail, without the advice to configure a fallback: one is configured and is tried now.
      this.notice(`deepplan: ${error.detail ?? error.message}; trying the fallback model ${fallback.configured}`);
      try {
        return await call('fallback');
      } catch (fallbackError) {
        if (fallbackError instanceof ModelError) {
          // One line for both failures, and one piece of advice: the fallback was tried, so it never asks for one.
          const first = error.detail ?? error.message;
          const second = (fallbackError.detail ?? fallbackError.message).replace(/^fallback \([^)]*\): /, '');
          const advice = adviceFor(fallbackError.kind, fallbackError.status, true);
          const both =
            error.kind === fallbackError.kind && error.status === fallbackError.status && fallbackError.kind === 'http' && (fallbackError.status ?? 0) >= 500
              ? 'both providers are failing; retry later'
              : advice;
          throw new ModelError(`${first}; the fallback model ${fallback.configured} failed too: ${second}; ${both}`, {
            kind: fallbackError.kind,
            provider: fallbackError.provider,
            model: fallbackError.model,
            role,
            detail: `${first}; the fallback model ${fallback.configured} failed too: ${second}`,
            ...(fallbackError.status !== undefined ? { status: fallbackError.status } : {}),
          });
        }
        throw fallbackError;
      }
    }
  }

  /** Whether a failure of `role` can move to the fallback role: one is configured, has a key, and is another model. */
  private hasFallback(role: Role): boolean {
    const fallback = this.roles.fallback;
    return role !== 'fallback' && fallback.configured !== this.roles[role]?.configured && fallback.provider !== 'offline';
  }

  /** One logical call with retries; every attempt goes to the ledger. */
  private async callRole(role: Role, request: GenerateRequest): Promise<{ result: GenerateResult; answer: Answer }> {
    const model = await this.modelFor(role);
    const { attempts, retryBaseMs, timeoutMs } = this.limits;
    const metered = model.provider !== 'offline' && model.provider !== 'replay';
    const price = priceFor(model.id, this.options.config);
    let lastError: ModelError | null = null;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (metered) this.checkCost(role, model.id, price, request);
      const started = performance.now();
      try {
        const result = await model.generate(request);
        const latencyMs = Math.round(performance.now() - started);
        const costUsd = metered ? costOf(price, result.usage) : 0;
        this.ledger.record({ role, model: model.id, attempt, ok: true, ...result.usage, costUsd, latencyMs });
        return { result, answer: { model: model.id, role, usage: result.usage, costUsd, latencyMs } };
      } catch (error) {
        const latencyMs = Math.round(performance.now() - started);
        const failure =
          error instanceof ModelError
            ? error
            : new ModelError(String((error as Error)?.message ?? error), { kind: 'http', provider: model.provider, model: model.id });
        this.ledger.record({ role, model: model.id, attempt, ok: false, inputTokens: 0, outputTokens: 0, costUsd: 0, latencyMs, error: failure.message });
        lastError = failure;
        if (!failure.retryable || attempt === attempts || this.options.signal?.aborted) break;
        const backoff = Math.min(MAX_RETRY_DELAY_MS, retryBaseMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        const wait = Math.min(MAX_RETRY_DELAY_MS, failure.retryAfterMs ?? backoff);
        try {
          await sleep(wait, undefined, this.options.signal ? { signal: this.options.signal } : {});
        } catch {
          break;
        }
      }
    }
    throw this.finalError(role, model.id, lastError!, timeoutMs);
  }

  private finalError(role: Role, modelId: string, error: ModelError, timeoutMs: number): ModelError {
    if (this.options.signal?.aborted || error.kind === 'aborted') {
      return new ModelError(`${role} (${modelId}): cancelled`, { kind: 'aborted', provider: error.provider, model: error.model, role });
    }
    if (error.kind === 'cost' || error.kind === 'offline' || error.kind === 'config') {
      return new ModelError(redact(error.message.startsWith(role) ? error.message : `${role} (${modelId}): ${error.message}`, this.secrets), {
        kind: error.kind,
        provider: error.provider,
        model: error.model,
        role,
      });
    }
    const own = error.message.startsWith(`${modelId}: `) ? error.message.slice(modelId.length + 2) : error.message;
    const what =
      error.kind === 'http'
        ? error.status !== undefined
          ? `HTTP ${error.status}`
          : own
        : error.kind === 'timeout'
          ? `no answer within ${timeoutMs} ms`
          : error.kind === 'connection'
            ? 'the connection failed or was cut off'
            : own;
    const tries = error.retryable ? ` after ${this.limits.attempts} attempt${this.limits.attempts === 1 ? '' : 's'}` : '';
    const detail = redact(`${role} (${modelId}): ${what}${tries}`, this.secrets);
    return new ModelError(`${detail}; ${adviceFor(error.kind, error.status, role === 'fallback')}`, {
      kind: error.kind,
      provider: error.provider,
      model: error.model,
      role,
      detail,
      ...(error.status !== undefined ? { status: error.status } : {}),
    });
  }

  private checkCost(role: Role, modelId: string, price: ReturnType<typeof priceFor>, request: GenerateRequest): void {
    const limit = this.costCap;
    if (limit === null) return;
    const cap = limit.usd;
    const [provider = '', name = ''] = modelId.split('/');
    if (!price) {
      throw new ModelError(`${role} (${modelId}): its price is unknown, so ${limit.name} cannot be kept; add it under prices: in deepplan.config.yaml`, {
        kind: 'cost',
        provider,
        model: name,
        role,
      });
    }
    const prompt = `${request.system ?? ''}${request.messages.map((message) => message.content).join('')}${request.format ? JSON.stringify(request.format.jsonSchema) : ''}`;
    const estimate = costOf(price, { inputTokens: estimateTokens(prompt), outputTokens: request.maxTokens }) ?? 0;
    // The cap counts what the plan has spent in all (earlier runs, other machines), not this run alone.
    const spent = this.ledger.totalUsd;
    if (spent + estimate > cap) {
      const before = this.ledger.planSpentUsd > 0 ? `, $${this.ledger.planSpentUsd.toFixed(4)} of it recorded in the plan before this run's calls` : '';
      throw new ModelError(
        `${role} (${modelId}): this call could bring the run to $${(spent + estimate).toFixed(4)}, over ${limit.name} $${cap.toFixed(2)} (spent so far $${spent.toFixed(4)}${before})`,
        { kind: 'cost', provider, model: name, role },
      );
    }
  }
}

function addAnswers(a: Answer, b: Answer): Answer {
  return {
    model: b.model,
    role: b.role,
    usage: { inputTokens: a.usage.inputTokens + b.usage.inputTokens, outputTokens: a.usage.outputTokens + b.usage.outputTokens },
    costUsd: a.costUsd === null || b.costUsd === null ? null : a.costUsd + b.costUsd,
    latencyMs: a.latencyMs + b.latencyMs,
  };
}
