import { readFileSync } from 'node:fs';

/**
 * Claude Code's session transcript: JSON lines, one per event; an assistant message is
 * `{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"..."}, ...]}}`. A turn can
 * end with several assistant entries (tool calls carry no text); its answer is the last one that has text.
 */

export class TranscriptError extends Error {
  override name = 'TranscriptError';
}

function textOf(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const parts = content.filter(
    (part): part is { type: 'text'; text: string } => typeof part === 'object' && part !== null && part.type === 'text' && typeof part.text === 'string',
  );
  return parts.length > 0 ? parts.map((part) => part.text).join('\n') : null;
}

export function readTranscript(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new TranscriptError(`the session transcript ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** The text of the last assistant message with text in a transcript's JSON lines; null when there is none. */
export function lastAssistantText(transcript: string): string | null {
  const lines = transcript.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (line === '' || !line.includes('assistant')) continue;
    let entry: { type?: unknown; message?: { role?: unknown; content?: unknown } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      // A line being written, or not an event: not an answer.
      continue;
    }
    if (entry.type !== 'assistant' && entry.message?.role !== 'assistant') continue;
    const text = textOf(entry.message?.content);
    if (text !== null && text.trim() !== '') return text;
  }
  return null;
}
