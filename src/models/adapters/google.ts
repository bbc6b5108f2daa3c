import { FunctionCallingConfigMode, GoogleGenAI } from '@google/genai';
import { malformedAnswer, ModelError, retryAfterMs } from '../errors.js';
import type { GenerateRequest, GenerateResult, Model } from '../types.js';
import { callWithTimeout } from './call.js';

export interface GoogleOptions {
  model: string;
  apiKey: string;
  /** Overrides GOOGLE_GEMINI_BASE_URL, which the SDK reads itself. */
  baseURL?: string;
}

const BLOCKED = new Set(['SAFETY', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'SPII', 'RECITATION', 'IMAGE_SAFETY']);

/**
 * The Gemini API through @google/genai (the successor of the end-of-life @google/generative-ai). A structured answer
 * is JSON of the answer's schema; an answer that is one tool call (`format.oneCall`) is a forced call of the one
 * declared function (function calling mode ANY, only that name allowed). Gemini has no switch against parallel
 * calls, so an answer that carries more than one is answered by the first, the others reported in `extraCalls`.
 */
export function createGoogleModel(options: GoogleOptions): Model {
  const ai = new GoogleGenAI({
    apiKey: options.apiKey,
    httpOptions: {
      ...(options.baseURL ? { baseUrl: options.baseURL } : {}),
      retryOptions: { attempts: 1 }, // the runner retries, the same way for every provider
    },
  });
  return {
    id: `google/${options.model}`,
    provider: 'google',
    async generate(request: GenerateRequest): Promise<GenerateResult> {
      const format = request.format;
      // The SDK's ApiError carries the status but not the headers: read retry-after off the response ourselves.
      let retryAfter: number | undefined;
      const capturingFetch: typeof fetch = async (input, init) => {
        const response = await fetch(input, init);
        if (!response.ok) retryAfter = retryAfterMs(response.headers);
        return response;
      };
      const response = await callWithTimeout('google', options.model, request, (signal) =>
        ai.models.generateContent({
          model: options.model,
          contents: request.messages.map((message) => ({
            role: message.role === 'assistant' ? 'model' : 'user',
            parts: [{ text: message.content }],
          })),
          config: {
            abortSignal: signal,
            httpOptions: { fetch: capturingFetch, retryOptions: { attempts: 1 } },
            maxOutputTokens: request.maxTokens,
            ...(request.system ? { systemInstruction: request.system } : {}),
            ...(format?.oneCall
              ? {
                  tools: [
                    { functionDeclarations: [{ name: format.name, description: 'Give the answer as this call.', parametersJsonSchema: format.jsonSchema }] },
                  ],
                  toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: [format.name] } },
                }
              : format
                ? { responseMimeType: 'application/json', responseJsonSchema: format.jsonSchema }
                : {}),
          },
        }),
      ).catch((error: unknown) => {
        if (error instanceof ModelError && retryAfter !== undefined && error.retryAfterMs === undefined) {
          throw new ModelError(error.message, {
            kind: error.kind,
            provider: error.provider,
            model: error.model,
            retryAfterMs: retryAfter,
            ...(error.status !== undefined ? { status: error.status } : {}),
          });
        }
        throw error;
      });
      // An answer has candidates, or says why it has none (promptFeedback); anything else is not the Gemini API's.
      if (!Array.isArray(response?.candidates) && !response?.promptFeedback) {
        throw malformedAnswer('google', options.model, 'the JSON has neither candidates nor promptFeedback');
      }
      const usage = {
        inputTokens: response.usageMetadata?.promptTokenCount ?? 0,
        outputTokens: response.usageMetadata?.candidatesTokenCount ?? 0,
      };
      const candidate = response.candidates?.[0];
      const stopReason = candidate?.finishReason ?? undefined;
      const blocked = response.promptFeedback?.blockReason;
      if (blocked || (stopReason && BLOCKED.has(stopReason))) {
        return { text: '', usage, refusal: `blocked by the provider (${blocked ?? stopReason})`, ...(stopReason ? { stopReason } : {}) };
      }
      const parts = candidate?.content?.parts ?? [];
      const calls = format?.oneCall
        ? parts.flatMap((part) => (part.functionCall && part.functionCall.name === format.name ? [JSON.stringify(part.functionCall.args ?? {})] : []))
        : [];
      if (calls.length > 0)
        return { text: calls[0]!, usage, ...(stopReason ? { stopReason } : {}), ...(calls.length > 1 ? { extraCalls: calls.slice(1) } : {}) };
      const text = parts.map((part) => part.text ?? '').join('');
      return { text, usage, ...(stopReason ? { stopReason } : {}) };
    },
  };
}
