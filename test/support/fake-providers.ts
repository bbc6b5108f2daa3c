import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake server does with one request. */
export type Behaviour =
  | { kind: 'answer'; object?: unknown; text?: string; inputTokens?: number; outputTokens?: number }
  /** Several calls of the requested tool in one answer (parallel tool use), each with one of these inputs. */
  | { kind: 'calls'; objects: unknown[] }
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: unknown }
  | { kind: 'hang' }
  | { kind: 'truncate' }
  | { kind: 'malformed-body' }
  | { kind: 'refusal'; text: string };

export type Wire = 'anthropic' | 'openai-responses' | 'openai-chat' | 'google';

export interface RecordedRequest {
  wire: Wire;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** Whether the request asked for structured output in its provider's way. */
  structured: boolean;
}

/**
 * One local HTTP server that speaks the wire formats of the Anthropic Messages API, the OpenAI Responses and Chat
 * Completions APIs and the Gemini generateContent API, by path. Behaviours are queued per wire format (or for all);
 * it records every request so tests can count retries and fallbacks.
 */
export class FakeProviders {
  readonly requests: RecordedRequest[] = [];
  private readonly queues = new Map<Wire | '*', Behaviour[]>();
  private readonly defaults = new Map<Wire | '*', Behaviour>();
  private readonly hanging = new Set<ServerResponse>();
  private server = createServer((request, response) => void this.handle(request, response));
  url = '';

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Queues behaviours for the next requests of one wire format ('*': any). */
  queue(wire: Wire | '*', ...behaviours: Behaviour[]): this {
    this.queues.set(wire, [...(this.queues.get(wire) ?? []), ...behaviours]);
    return this;
  }

  /** What to do once the queue is empty. */
  always(wire: Wire | '*', behaviour: Behaviour): this {
    this.defaults.set(wire, behaviour);
    return this;
  }

  count(wire?: Wire): number {
    return wire ? this.requests.filter((request) => request.wire === wire).length : this.requests.length;
  }

  /** Environment that points the SDKs at this server. */
  env(keys: Partial<Record<'anthropic' | 'openai' | 'google', string>> = {}): Record<string, string> {
    return {
      ANTHROPIC_BASE_URL: this.url,
      OPENAI_BASE_URL: `${this.url}/v1`,
      GOOGLE_GEMINI_BASE_URL: this.url,
      ...(keys.anthropic ? { ANTHROPIC_API_KEY: keys.anthropic } : {}),
      ...(keys.openai ? { OPENAI_API_KEY: keys.openai } : {}),
      ...(keys.google ? { GEMINI_API_KEY: keys.google } : {}),
    };
  }

  private next(wire: Wire): Behaviour {
    for (const key of [wire, '*'] as const) {
      const queue = this.queues.get(key);
      if (queue && queue.length > 0) return queue.shift()!;
    }
    return this.defaults.get(wire) ?? this.defaults.get('*') ?? { kind: 'answer', object: { ok: true } };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const path = request.url ?? '';
    const wire: Wire | null = path.endsWith('/v1/messages')
      ? 'anthropic'
      : path.endsWith('/responses')
        ? 'openai-responses'
        : path.endsWith('/chat/completions')
          ? 'openai-chat'
          : path.includes(':generateContent')
            ? 'google'
            : null;
    if (!wire) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${path}` } }));
      return;
    }
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      body = {};
    }
    this.requests.push({ wire, path, headers: request.headers, body, structured: isStructured(wire, body) });
    const behaviour = this.next(wire);
    switch (behaviour.kind) {
      case 'hang':
        this.hanging.add(response);
        return;
      case 'truncate': {
        const full = JSON.stringify(answerBody(wire, body, { kind: 'answer', object: { ok: true } }));
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(full.length) });
        response.write(full.slice(0, Math.floor(full.length / 2)));
        setTimeout(() => response.destroy(), 10);
        return;
      }
      case 'malformed-body':
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"id": "x", "content": [');
        return;
      case 'status':
        response
          .writeHead(behaviour.status, { 'content-type': 'application/json', ...(behaviour.headers ?? {}) })
          .end(JSON.stringify(behaviour.body ?? { error: { type: 'api_error', message: `status ${behaviour.status}` } }));
        return;
      default:
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answerBody(wire, body, behaviour)));
    }
  }
}

function isStructured(wire: Wire, body: Record<string, unknown>): boolean {
  switch (wire) {
    case 'anthropic':
      return (body['tool_choice'] as { type?: string } | undefined)?.type === 'tool' && Array.isArray(body['tools']);
    case 'openai-responses':
      return ((body['text'] as { format?: { type?: string } } | undefined)?.format?.type ?? '') === 'json_schema' || forcedFunction(wire, body) !== null;
    case 'openai-chat':
      return ((body['response_format'] as { type?: string } | undefined)?.type ?? '') === 'json_schema' || forcedFunction(wire, body) !== null;
    case 'google': {
      const config = body['generationConfig'] as { responseMimeType?: string; responseJsonSchema?: unknown } | undefined;
      return (config?.responseMimeType === 'application/json' && config.responseJsonSchema !== undefined) || forcedFunction(wire, body) !== null;
    }
  }
}

/** The one function an OpenAI or Gemini request forces the model to call (a one-call structured answer), or null. */
export function forcedFunction(wire: Wire, body: Record<string, unknown>): string | null {
  switch (wire) {
    case 'openai-responses':
      return (body['tool_choice'] as { type?: string; name?: string } | undefined)?.type === 'function'
        ? String((body['tool_choice'] as { name?: string }).name)
        : null;
    case 'openai-chat': {
      const choice = body['tool_choice'] as { type?: string; function?: { name?: string } } | undefined;
      return choice?.type === 'function' ? String(choice.function?.name) : null;
    }
    case 'google': {
      const config = (body['toolConfig'] as { functionCallingConfig?: { mode?: string; allowedFunctionNames?: string[] } } | undefined)?.functionCallingConfig;
      return config?.mode === 'ANY' && config.allowedFunctionNames?.length === 1 ? config.allowedFunctionNames[0]! : null;
    }
    default:
      return null;
  }
}

function answerBody(wire: Wire, request: Record<string, unknown>, behaviour: Behaviour): unknown {
  const refusal = behaviour.kind === 'refusal' ? behaviour.text : null;
  // A forced tool or function: answered as calls of it (one, or several for a `calls` behaviour).
  const tool = wire === 'anthropic' ? ((request['tool_choice'] as { name?: string } | undefined)?.name ?? null) : forcedFunction(wire, request);
  if (tool !== null && refusal === null && (behaviour.kind === 'calls' || (behaviour.kind === 'answer' && behaviour.text === undefined))) {
    const usage = behaviour.kind === 'answer' ? { input: behaviour.inputTokens ?? 100, output: behaviour.outputTokens ?? 20 } : { input: 100, output: 20 };
    return callsBody(
      wire,
      String(request['model'] ?? 'model'),
      tool,
      behaviour.kind === 'calls' ? behaviour.objects : [behaviour.object ?? { ok: true }],
      usage,
    );
  }
  const answer = behaviour.kind === 'answer' ? behaviour : { kind: 'answer' as const };
  const text = answer.text ?? JSON.stringify(answer.object ?? { ok: true });
  const input = answer.inputTokens ?? 100;
  const output = answer.outputTokens ?? 20;
  const model = String(request['model'] ?? 'model');
  switch (wire) {
    case 'anthropic': {
      const tool = (request['tool_choice'] as { name?: string } | undefined)?.name;
      if (refusal !== null) {
        return {
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model,
          content: [{ type: 'text', text: refusal }],
          stop_reason: 'refusal',
          stop_sequence: null,
          usage: { input_tokens: input, output_tokens: 3 },
        };
      }
      let content: unknown[];
      if (tool && answer.text === undefined) content = [{ type: 'tool_use', id: 'toolu_1', name: tool, input: answer.object ?? { ok: true } }];
      else content = [{ type: 'text', text }];
      return {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model,
        content,
        stop_reason: tool ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: input, output_tokens: output },
      };
    }
    case 'openai-responses': {
      const part = refusal !== null ? { type: 'refusal', refusal } : { type: 'output_text', text, annotations: [] };
      return {
        id: 'resp_1',
        object: 'response',
        created_at: 1_760_000_000,
        status: 'completed',
        model,
        output: [{ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [part] }],
        usage: { input_tokens: input, output_tokens: output, total_tokens: input + output },
      };
    }
    case 'openai-chat':
      return {
        id: 'chatcmpl_1',
        object: 'chat.completion',
        created: 1_760_000_000,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: refusal !== null ? null : text, refusal }, finish_reason: 'stop' }],
        usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
      };
    case 'google':
      if (refusal !== null)
        return { candidates: [], promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: input, totalTokenCount: input } };
      return {
        candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: input, candidatesTokenCount: output, totalTokenCount: input + output },
      };
  }
}

/** An answer that carries these calls of `tool`, in the wire format of each provider. */
function callsBody(wire: Wire, model: string, tool: string, inputs: unknown[], usage: { input: number; output: number }): unknown {
  switch (wire) {
    case 'anthropic':
      return {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model,
        content: inputs.map((input, index) => ({ type: 'tool_use', id: `toolu_${index + 1}`, name: tool, input })),
        stop_reason: 'tool_use',
        stop_sequence: null,
        usage: { input_tokens: usage.input, output_tokens: usage.output },
      };
    case 'openai-responses':
      return {
        id: 'resp_1',
        object: 'response',
        created_at: 1_760_000_000,
        status: 'completed',
        model,
        output: inputs.map((input, index) => ({
          type: 'function_call',
          id: `fc_${index + 1}`,
          call_id: `call_${index + 1}`,
          name: tool,
          arguments: JSON.stringify(input),
          status: 'completed',
        })),
        usage: { input_tokens: usage.input, output_tokens: usage.output, total_tokens: usage.input + usage.output },
      };
    case 'openai-chat':
      return {
        id: 'chatcmpl_1',
        object: 'chat.completion',
        created: 1_760_000_000,
        model,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: null,
              refusal: null,
              tool_calls: inputs.map((input, index) => ({
                id: `call_${index + 1}`,
                type: 'function',
                function: { name: tool, arguments: JSON.stringify(input) },
              })),
            },
            finish_reason: 'tool_calls',
          },
        ],
        usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
      };
    case 'google':
      return {
        candidates: [
          { content: { role: 'model', parts: inputs.map((input) => ({ functionCall: { name: tool, args: input } })) }, finishReason: 'STOP', index: 0 },
        ],
        usageMetadata: { promptTokenCount: usage.input, candidatesTokenCount: usage.output, totalTokenCount: usage.input + usage.output },
      };
  }
}
