import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Local stand-ins for the model APIs the real Claude Code and Codex CLIs call (the Anthropic Messages API, streamed;
 * the OpenAI Responses API, streamed), scripted like a careful executor: given a deepplan step ("## Your step: P1.2"
 * and the line after it), write the file the step names with the host's own tool (Claude Code's Write, Codex's
 * exec_command), then answer with the status line; asked to reply with a line, reply with it.
 */

interface Scripted {
  text?: string;
  tool?: { name: string; input: Record<string, unknown> };
}

export interface HostServer {
  url: string;
  requests: unknown[];
  close(): Promise<void>;
}

const STATUS = `I wrote the file the step names.\n${JSON.stringify({ step_done: true, summary: 'wrote the file the step names', learning: null })}`;

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { text?: unknown; content?: unknown }) => (typeof part.text === 'string' ? part.text : typeof part.content === 'string' ? part.content : ''))
    .join('\n');
}

/** The file the last handed-out step names (an out/ file before a notes/ one), or null. */
function stepFile(conversation: string): string | null {
  const step = [...conversation.matchAll(/## Your step: [^\n]+\n([^\n]+)/g)].at(-1)?.[1] ?? '';
  return /\b(out\/[\w.-]+\.md)/.exec(step)?.[1] ?? /\b(notes\/[\w.-]+\.md)/.exec(step)?.[1] ?? null;
}

/** "Reply with exactly this line ...:\n<line>" in the last message: the line. */
const lineToSay = (text: string) => /Reply with exactly this line[^:\n]*:\s*\n?(.+)/.exec(text)?.[1]?.trim() ?? null;

async function serve(handle: (url: string, body: Record<string, unknown>, res: ServerResponse) => void): Promise<HostServer> {
  const requests: unknown[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw || '{}') as Record<string, unknown>;
      } catch {
        // Not JSON: an empty body.
      }
      requests.push({ url: req.url, body });
      handle(req.url ?? '/', body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function sse(res: ServerResponse, events: Array<[string, Record<string, unknown>]>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const [type, data] of events) res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  res.end();
}

/** The Anthropic Messages API as Claude Code calls it (ANTHROPIC_BASE_URL); files are written under `root`. */
export function claudeApi(root: string): Promise<HostServer> {
  let n = 0;
  return serve((url, body, res) => {
    n += 1;
    if (!url.startsWith('/v1/messages') || url.includes('count_tokens')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(url.includes('count_tokens') ? { input_tokens: 100 } : {}));
      return;
    }
    const messages = (body['messages'] ?? []) as Array<{ role: string; content: unknown }>;
    const tools = ((body['tools'] ?? []) as Array<{ name: string }>).map((tool) => tool.name);
    const last = messages.at(-1);
    const lastParts = Array.isArray(last?.content) ? (last.content as Array<{ type?: string }>) : [];
    let answer: Scripted;
    if (!tools.includes('Write')) answer = { text: 'ok' };
    else if (lastParts.some((part) => part.type === 'tool_result')) answer = { text: STATUS };
    else {
      const say = lineToSay(textOf(last?.content));
      const file = stepFile(messages.map((message) => textOf(message.content)).join('\n'));
      answer = say
        ? { text: say }
        : file
          ? { tool: { name: 'Write', input: { file_path: `${root}/${file}`, content: '- Acme: renewed\n- Globex: paused\n' } } }
          : { text: 'There is no step to carry out.' };
    }
    const model = typeof body['model'] === 'string' ? body['model'] : 'claude-test';
    const usage = { input_tokens: 10, output_tokens: 5 };
    const block = answer.tool ? { type: 'tool_use', id: `toolu_${n}`, name: answer.tool.name, input: answer.tool.input } : { type: 'text', text: answer.text };
    if (!body['stream']) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `msg_${n}`,
          type: 'message',
          role: 'assistant',
          model,
          content: [block],
          stop_reason: answer.tool ? 'tool_use' : 'end_turn',
          stop_sequence: null,
          usage,
        }),
      );
      return;
    }
    sse(res, [
      ['message_start', { message: { id: `msg_${n}`, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage } }],
      [
        'content_block_start',
        { index: 0, content_block: answer.tool ? { type: 'tool_use', id: `toolu_${n}`, name: answer.tool.name, input: {} } : { type: 'text', text: '' } },
      ],
      [
        'content_block_delta',
        {
          index: 0,
          delta: answer.tool ? { type: 'input_json_delta', partial_json: JSON.stringify(answer.tool.input) } : { type: 'text_delta', text: answer.text },
        },
      ],
      ['content_block_stop', { index: 0 }],
      ['message_delta', { delta: { stop_reason: answer.tool ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } }],
      ['message_stop', {}],
    ]);
  });
}

/** The OpenAI Responses API as `codex exec` calls it (a model provider with this base_url and wire_api responses). */
export function codexApi(): Promise<HostServer> {
  let n = 0;
  return serve((url, body, res) => {
    n += 1;
    if (!url.includes('/responses')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [], models: [] }));
      return;
    }
    const input = (body['input'] ?? []) as Array<{ type?: string; content?: unknown }>;
    const tools = ((body['tools'] ?? []) as Array<{ name?: string; type?: string }>).map((tool) => tool.name ?? tool.type ?? '');
    const last = input.at(-1);
    let item: Record<string, unknown>;
    const message = (text: string) => ({
      type: 'message',
      id: `msg_${n}`,
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text, annotations: [] }],
    });
    if (last?.type === 'function_call_output') item = message(STATUS);
    else {
      const file = stepFile(input.map((entry) => textOf(entry.content)).join('\n'));
      const shell = tools.find((name) => ['exec_command', 'shell_command', 'shell'].includes(name));
      if (!file || !shell) item = message('There is no step to carry out.');
      else {
        const script = `mkdir -p ${file.split('/')[0]} && printf -- '- Acme: renewed\\n' > ${file}`;
        const args = shell === 'exec_command' ? { cmd: script } : shell === 'shell_command' ? { command: script } : { command: ['bash', '-lc', script] };
        item = { type: 'function_call', id: `fc_${n}`, call_id: `call_${n}`, name: shell, arguments: JSON.stringify(args), status: 'completed' };
      }
    }
    const id = `resp_${n}`;
    const usage = {
      input_tokens: 10,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 15,
    };
    sse(res, [
      ['response.created', { response: { id, object: 'response', status: 'in_progress', output: [] } }],
      ['response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress' } }],
      ['response.output_item.done', { output_index: 0, item }],
      ['response.completed', { response: { id, object: 'response', status: 'completed', output: [item], usage } }],
    ]);
  });
}
