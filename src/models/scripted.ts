import { estimateTokens } from './prices.js';
import type { Env } from './roles.js';
import { createModelFor, ModelRunner, type RunnerOptions } from './runner.js';
import type { GenerateRequest, GenerateResult, Model, ProviderName } from './types.js';

/*
 * An in-process model for the engine's unit tests, in the spirit of the Vercel AI SDK's MockLanguageModelV3: it
 * answers from a script (one answer per call, in order) or from a function of the request, and records every
 * request it was sent. Tests of what the engine asks and what it does with the answer need no HTTP server; the
 * wire-format tests (test/models.test.ts) keep the fake providers, since they test the SDKs' requests themselves.
 */

/**
 * One scripted answer: an object (sent back as its JSON text, as a structured answer), a string (the answer's
 * text as the model wrote it, valid JSON or not), a whole GenerateResult (usage, refusal, extra calls), or an
 * Error, which the call throws (a ModelError scripts a provider's failure).
 */
export type ScriptedAnswer = object | string | GenerateResult | Error;

export interface ScriptedModelOptions {
  /**
   * `provider/model`; the provider part must be a ProviderName. Default: `anthropic/scripted`. Calls are metered
   * like that provider's (a cost cap refuses a model with no price; give `prices:` in the config to test one).
   */
  id?: string;
  /** The answers, one per call in order; or a function of the request (and the call's 0-based number). */
  answers: ScriptedAnswer[] | ((request: GenerateRequest, call: number) => ScriptedAnswer | Promise<ScriptedAnswer>);
}

function isResult(answer: object): answer is GenerateResult {
  return 'text' in answer && typeof (answer as GenerateResult).text === 'string' && 'usage' in answer;
}

export class ScriptedModel implements Model {
  readonly id: string;
  readonly provider: ProviderName;
  /** Every request the model was sent, in order. */
  readonly requests: GenerateRequest[] = [];
  private readonly answers: ScriptedModelOptions['answers'];

  constructor(options: ScriptedModelOptions) {
    this.id = options.id ?? 'anthropic/scripted';
    this.provider = this.id.split('/')[0] as ProviderName;
    this.answers = options.answers;
  }

  /** The last request's user message (or the prompt it was built from): what most tests look at. */
  get lastPrompt(): string {
    return this.requests.at(-1)?.messages.findLast((message) => message.role === 'user')?.content ?? '';
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const call = this.requests.length;
    this.requests.push(request);
    const script = this.answers;
    const answer = typeof script === 'function' ? await script(request, call) : script[call];
    if (answer === undefined) {
      const size = typeof script === 'function' ? 'its function gave none' : `the script has ${script.length}`;
      throw new Error(`${this.id}: no scripted answer for call ${call + 1}; ${size}`);
    }
    if (answer instanceof Error) throw answer;
    if (typeof answer !== 'string' && isResult(answer)) return answer;
    const text = typeof answer === 'string' ? answer : JSON.stringify(answer);
    const prompt = `${request.system ?? ''}${request.messages.map((message) => message.content).join('')}`;
    return { text, usage: { inputTokens: estimateTokens(prompt), outputTokens: estimateTokens(text) }, stopReason: 'scripted' };
  }
}

/** Keys that make every provider's role resolve to that provider (never sent anywhere: the scripted model answers). */
const SCRIPTED_KEYS: Env = { ANTHROPIC_API_KEY: 'scripted-key', OPENAI_API_KEY: 'scripted-key', GEMINI_API_KEY: 'scripted-key' };

/**
 * A ModelRunner whose roles are all answered by `model`, in process. The roles resolve from the config (the default
 * models unless it says otherwise) as if every provider had a key, so `answers()` says yes to every format; a role
 * configured `offline/...` stays the offline engine. No ledger file unless `root` is given.
 */
export function scriptedRunner(model: Model, options: Partial<Omit<RunnerOptions, 'modelFactory'>> = {}): ModelRunner {
  const modelFactory: RunnerOptions['modelFactory'] = (info, env, root) => (info.provider === 'offline' ? createModelFor(info, env, root) : model);
  return new ModelRunner({ config: {}, root: null, ...options, env: { ...SCRIPTED_KEYS, ...options.env }, modelFactory });
}
