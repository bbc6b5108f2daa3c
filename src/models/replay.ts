import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import writeFileAtomic from 'write-file-atomic';
import { ModelError } from './errors.js';
import { redact } from './redact.js';
import type { GenerateRequest, GenerateResult, Model } from './types.js';

interface CassetteEntry {
  /** Enough of the request to tell what it was when reading the cassette. */
  request: { model: string; format: string | null; system: string; lastMessage: string };
  result: GenerateResult;
}

interface Cassette {
  version: 1;
  entries: Record<string, CassetteEntry>;
}

/** The identity of a request: what was asked, not who answered, so a cassette replays whatever model recorded it. */
export function requestHash(request: GenerateRequest): string {
  const canonical = JSON.stringify({
    system: request.system ?? '',
    messages: request.messages,
    format: request.format ? { name: request.format.name, schema: request.format.jsonSchema } : null,
    maxTokens: request.maxTokens,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

function load(path: string): Cassette {
  if (!existsSync(path)) return { version: 1, entries: {} };
  try {
    const data = JSON.parse(readFileSync(path, 'utf8')) as Cassette;
    if (data.version !== 1 || typeof data.entries !== 'object') throw new Error('not a version 1 cassette');
    return data;
  } catch (error) {
    throw new ModelError(`cassette ${path} cannot be read: ${(error as Error).message}`, { kind: 'config', provider: 'replay', model: path });
  }
}

/**
 * Replays recorded answers by request hash; with `recordFrom`, calls that model and records what it answers.
 * For tests and demos that must not touch the network.
 */
export function createReplayModel(cassettePath: string, recordFrom?: Model): Model {
  let cassette: Cassette | null = null;
  return {
    id: recordFrom ? recordFrom.id : `replay/${cassettePath}`,
    provider: recordFrom ? recordFrom.provider : 'replay',
    async generate(request: GenerateRequest): Promise<GenerateResult> {
      cassette ??= load(cassettePath);
      const hash = requestHash(request);
      if (!recordFrom) {
        const entry = cassette.entries[hash];
        if (!entry) {
          throw new ModelError(`no recorded answer for this request (hash ${hash}) in ${cassettePath}; record it with DEEPPLAN_RECORD=${cassettePath}`, {
            kind: 'offline',
            provider: 'replay',
            model: cassettePath,
          });
        }
        return entry.result;
      }
      const result = await recordFrom.generate(request);
      cassette.entries[hash] = {
        request: {
          model: recordFrom.id,
          format: request.format?.name ?? null,
          system: (request.system ?? '').slice(0, 200),
          lastMessage: (request.messages.at(-1)?.content ?? '').slice(0, 200),
        },
        result,
      };
      await writeFileAtomic(cassettePath, `${redact(JSON.stringify(cassette, null, 2))}\n`);
      return result;
    },
  };
}
