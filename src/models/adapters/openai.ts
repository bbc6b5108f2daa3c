import OpenAI from 'openai';
import { malformedAnswer } from '../errors.js';
import type { GenerateRequest, GenerateResult, Model } from '../types.js';
import { callWithTimeout } from './call.js';

export interface OpenAIOptions {
  model: string;
  apiKey: string;
  /** Overrides OPENAI_BASE_URL, which the SDK reads itself. */
  baseURL?: string;
  /** `responses` for OpenAI; `chat` for OpenAI-compatible servers (Ollama, vLLM, LM Studio) that only speak Chat Completions. */
  api?: 'responses' | 'chat';
}

/**
 * A structured answer is asked for as JSON of the answer's schema (`text.format` / `response_format`). An answer that
 * is one tool call (`format.oneCall`, the executor's action) is asked for as a forced call of one function with
 * `parallel_tool_calls: false`, the API's switch for one call, which it accepts only with tools; should the answer
 * still carry more calls, the first is the object and the others are reported in `extraCalls`.
 */
export function createOpenAIModel(options: OpenAIOptions): Model {
  const client = new OpenAI({ apiKey: options.apiKey, ...(options.baseURL ? { baseURL: options.baseURL } : {}), maxRetries: 0 });
  const api = options.api ?? 'responses';
  return {
    id: `openai/${options.model}`,
    provider: 'openai',
    generate: (request) => (api === 'chat' ? generateChat(client, options.model, request) : generateResponses(client, options.model, request)),
  };
}

async function generateResponses(client: OpenAI, model: string, request: GenerateRequest): Promise<GenerateResult> {
  const format = request.format;
  const response = await callWithTimeout('openai', model, request, (signal) =>
    client.responses.create(
      {
        model,
        ...(request.system ? { instructions: request.system } : {}),
        input: request.messages.map((message) => ({ role: message.role, content: message.content })),
        max_output_tokens: request.maxTokens,
        ...(format?.oneCall
          ? {
              tools: [
                { type: 'function' as const, name: format.name, description: 'Give the answer as this call.', parameters: format.jsonSchema, strict: false },
              ],
              tool_choice: { type: 'function' as const, name: format.name },
              parallel_tool_calls: false,
            }
          : format
            ? { text: { format: { type: 'json_schema' as const, name: format.name, schema: format.jsonSchema, strict: false } } }
            : {}),
      },
      { signal },
    ),
  );
  if (response === null || typeof response !== 'object' || !Array.isArray((response as { output?: unknown }).output)) {
    throw malformedAnswer(
      'openai',
      model,
      typeof response === 'object' && response !== null ? 'the JSON has no output list (a Responses API answer)' : 'its body is not a JSON object',
    );
  }
  const usage = { inputTokens: response.usage?.input_tokens ?? 0, outputTokens: response.usage?.output_tokens ?? 0 };
  const stopReason = response.incomplete_details?.reason ?? response.status ?? undefined;
  let text = '';
  let refusal: string | undefined;
  const calls: string[] = [];
  for (const item of response.output ?? []) {
    if (item.type === 'function_call' && format?.oneCall && item.name === format.name) calls.push(item.arguments);
    if (item.type !== 'message') continue;
    for (const part of item.content ?? []) {
      if (part.type === 'output_text') text += part.text;
      else if (part.type === 'refusal') refusal = part.refusal;
    }
  }
  if (refusal !== undefined) return { text: '', usage, refusal, ...(stopReason ? { stopReason } : {}) };
  if (calls.length > 0) return { text: calls[0]!, usage, ...(stopReason ? { stopReason } : {}), ...(calls.length > 1 ? { extraCalls: calls.slice(1) } : {}) };
  return { text, usage, ...(stopReason ? { stopReason } : {}) };
}

async function generateChat(client: OpenAI, model: string, request: GenerateRequest): Promise<GenerateResult> {
  const format = request.format;
  const completion = await callWithTimeout('openai', model, request, (signal) =>
    client.chat.completions.create(
      {
        model,
        messages: [
          ...(request.system ? [{ role: 'system' as const, content: request.system }] : []),
          ...request.messages.map((message) => ({ role: message.role, content: message.content })),
        ],
        max_tokens: request.maxTokens,
        ...(format?.oneCall
          ? {
              tools: [
                {
                  type: 'function' as const,
                  function: { name: format.name, description: 'Give the answer as this call.', parameters: format.jsonSchema, strict: false },
                },
              ],
              tool_choice: { type: 'function' as const, function: { name: format.name } },
              parallel_tool_calls: false,
            }
          : format
            ? { response_format: { type: 'json_schema' as const, json_schema: { name: format.name, schema: format.jsonSchema, strict: false } } }
            : {}),
      },
      { signal },
    ),
  );
  if (completion === null || typeof completion !== 'object' || !Array.isArray((completion as { choices?: unknown }).choices)) {
    throw malformedAnswer(
      'openai',
      model,
      typeof completion === 'object' && completion !== null ? 'the JSON has no choices list (a Chat Completions answer)' : 'its body is not a JSON object',
    );
  }
  const choice = completion.choices[0];
  const usage = { inputTokens: completion.usage?.prompt_tokens ?? 0, outputTokens: completion.usage?.completion_tokens ?? 0 };
  const stopReason = choice?.finish_reason ?? undefined;
  if (choice?.message?.refusal) return { text: '', usage, refusal: choice.message.refusal, ...(stopReason ? { stopReason } : {}) };
  const calls = format?.oneCall
    ? (choice?.message?.tool_calls ?? []).flatMap((call) => (call.type === 'function' && call.function.name === format.name ? [call.function.arguments] : []))
    : [];
  if (calls.length > 0) return { text: calls[0]!, usage, ...(stopReason ? { stopReason } : {}), ...(calls.length > 1 ? { extraCalls: calls.slice(1) } : {}) };
  return { text: choice?.message?.content ?? '', usage, ...(stopReason ? { stopReason } : {}) };
}
