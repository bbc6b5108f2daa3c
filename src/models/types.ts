/** The one small interface every provider sits behind (DESIGN.md "Models layer"). */

export const PROVIDERS = ['anthropic', 'openai', 'google', 'offline', 'replay'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const ROLES = ['planner', 'reviewer', 'executor', 'fallback'] as const;
export type Role = (typeof ROLES)[number];

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface StructuredFormat {
  /** A short identifier ([a-zA-Z0-9_-]); offline handlers and cassettes are keyed by it. */
  name: string;
  /** JSON Schema (draft 2020-12 subset the providers accept) of the answer object. */
  jsonSchema: Record<string, unknown>;
  /**
   * The answer is one call of one tool (the executor's action). The request asks the provider for exactly one tool
   * call where its API has the switch (Anthropic `disable_parallel_tool_use`, OpenAI `parallel_tool_calls: false`,
   * Gemini's function calling config with this one function); an answer that still carries more is answered by the
   * first, and the others come back in `extraCalls`.
   */
  oneCall?: boolean;
}

export interface GenerateRequest {
  system?: string;
  messages: ChatMessage[];
  /** Ask for a JSON object that matches this schema (the providers' structured-output features). */
  format?: StructuredFormat;
  maxTokens: number;
  signal?: AbortSignal;
  /** Milliseconds before the call is abandoned as a timeout. */
  timeoutMs?: number;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface GenerateResult {
  /** The answer's text; for a structured request, the JSON text. */
  text: string;
  usage: Usage;
  /** Set when the model declined to answer. */
  refusal?: string;
  /** The provider's own reason for stopping (end_turn, max_tokens, STOP...). */
  stopReason?: string;
  /** Further calls of the format's tool the answer carried beyond the first (each call's JSON input): not used. */
  extraCalls?: string[];
}

export interface Model {
  /** `provider/model`, e.g. `anthropic/claude-sonnet-5`. */
  readonly id: string;
  readonly provider: ProviderName;
  generate(request: GenerateRequest): Promise<GenerateResult>;
}
