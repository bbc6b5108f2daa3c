import Anthropic from '@anthropic-ai/sdk';
import { malformedAnswer } from '../errors.js';
import type { GenerateRequest, GenerateResult, Model } from '../types.js';
import { callWithTimeout } from './call.js';

export interface AnthropicOptions {
  model: string;
  apiKey: string;
  /** Overrides ANTHROPIC_BASE_URL, which the SDK reads itself. */
  baseURL?: string;
}

/**
 * Messages API. A structured answer is requested as a forced call of one tool whose input schema is the answer's
 * schema: the tool input is the object. Parallel tool use is switched off, so the answer is one call; should the
 * answer still carry more, the first is the object and the others are reported in `extraCalls`.
 */
export function createAnthropicModel(options: AnthropicOptions): Model {
  const client = new Anthropic({
    apiKey: options.apiKey,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    maxRetries: 0, // the runner retries, the same way for every provider
  });
  const id = `anthropic/${options.model}`;
  return {
    id,
    provider: 'anthropic',
    async generate(request: GenerateRequest): Promise<GenerateResult> {
      const format = request.format;
      const response = await callWithTimeout('anthropic', options.model, request, (signal) =>
        client.messages.create(
          {
            model: options.model,
            max_tokens: request.maxTokens,
            ...(request.system ? { system: request.system } : {}),
            messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
            ...(format
              ? {
                  tools: [{ name: format.name, description: 'Give the answer as this object.', input_schema: format.jsonSchema as Anthropic.Tool.InputSchema }],
                  tool_choice: { type: 'tool' as const, name: format.name, disable_parallel_tool_use: true },
                }
              : {}),
          },
          { signal },
        ),
      );
      // The SDK hands over whatever an HTTP 200 carried: a proxy's page, or JSON of another shape.
      if (response === null || typeof response !== 'object' || !Array.isArray((response as { content?: unknown }).content)) {
        throw malformedAnswer(
          'anthropic',
          options.model,
          typeof response === 'object' && response !== null ? 'the JSON has no content list' : 'its body is not a JSON object',
        );
      }
      const usage = { inputTokens: response.usage?.input_tokens ?? 0, outputTokens: response.usage?.output_tokens ?? 0 };
      const stopReason = response.stop_reason ?? undefined;
      const texts = response.content.filter((block) => block.type === 'text').map((block) => (block as { text: string }).text);
      if (stopReason === 'refusal') {
        return { text: '', usage, refusal: texts.join('\n') || 'the model declined to answer', stopReason };
      }
      if (format) {
        const calls = response.content
          .filter((block) => block.type === 'tool_use' && (block as { name: string }).name === format.name)
          .map((block) => JSON.stringify((block as { input: unknown }).input));
        if (calls.length > 0)
          return { text: calls[0]!, usage, ...(stopReason ? { stopReason } : {}), ...(calls.length > 1 ? { extraCalls: calls.slice(1) } : {}) };
      }
      return { text: texts.join(''), usage, ...(stopReason ? { stopReason } : {}) };
    },
  };
}
