import { ModelError } from '../errors.js';
import { estimateTokens } from '../prices.js';
import type { GenerateRequest, GenerateResult, Model } from '../types.js';

/**
 * The offline engine answers the structured requests it has a handler for, keyed by the request's format name, with
 * no network and no cost; it answers `ping` (deepplan doctor --ping) out of the box. Where it has no handler, the
 * engine's deterministic parts (the offline planner's templates, the rule-engine reviewer, the gate's own checks) do
 * the work without a model: callers ask ModelRunner.answers(role, format) rather than which provider a role runs on.
 */
export type OfflineHandler = (request: GenerateRequest) => unknown;

const handlers = new Map<string, OfflineHandler>([['ping', () => ({ ok: true })]]);

export function registerOfflineHandler(name: string, handler: OfflineHandler): void {
  handlers.set(name, handler);
}

/** Whether the offline engine answers requests of this format name (a handler is registered for it). */
export function offlineAnswers(formatName: string): boolean {
  return handlers.has(formatName);
}

export function createOfflineModel(): Model {
  return {
    id: 'offline/engine',
    provider: 'offline',
    async generate(request: GenerateRequest): Promise<GenerateResult> {
      const handler = request.format ? handlers.get(request.format.name) : undefined;
      if (!handler) {
        const what = request.format ? `"${request.format.name}" requests` : 'free-text requests';
        throw new ModelError(`the offline engine does not answer ${what}`, { kind: 'offline', provider: 'offline', model: 'engine' });
      }
      const text = JSON.stringify(await handler(request));
      const prompt = `${request.system ?? ''}${request.messages.map((message) => message.content).join('')}`;
      return { text, usage: { inputTokens: estimateTokens(prompt), outputTokens: estimateTokens(text) }, stopReason: 'offline' };
    },
  };
}
