import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import MiniSearch from 'minisearch';
import { globSync } from 'tinyglobby';
import { parsePlan } from '../plan/parse.js';

/**
 * Context gathering: the configured project documents and the earlier plans, searched with BM25 (MiniSearch)
 * against the request. Relevant running learnings of earlier plans are carried into the new plan.
 */

export interface Learning {
  text: string;
  /** The plan it comes from, repository-relative. */
  from: string;
}

export interface Gathered {
  documents: Array<{ path: string; score: number }>;
  learnings: Learning[];
}

const MAX_DOCUMENTS = 5;
const MAX_LEARNINGS = 5;
const MAX_DOCUMENT_BYTES = 256 * 1024;

function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 2);
}

function read(root: string, path: string): string | null {
  try {
    const text = readFileSync(join(root, path), 'utf8');
    return text.length > MAX_DOCUMENT_BYTES ? text.slice(0, MAX_DOCUMENT_BYTES) : text;
  } catch {
    return null;
  }
}

export function gatherContext(root: string, request: string, documentPatterns: string[]): Gathered {
  const documents = documentPatterns.length > 0 ? globSync(documentPatterns, { cwd: root, onlyFiles: true, ignore: ['**/node_modules/**', '.git/**'] }).sort() : [];
  const docIndex = new MiniSearch<{ id: string; text: string }>({ fields: ['text'], tokenize, searchOptions: { prefix: true } });
  docIndex.addAll(documents.flatMap((path) => {
    const text = read(root, path);
    return text === null ? [] : [{ id: path, text }];
  }));
  const relevantDocuments = docIndex.search(request).slice(0, MAX_DOCUMENTS).map((hit) => ({ path: hit.id as string, score: hit.score }));

  const learnings: Learning[] = [];
  for (const path of globSync(['plans/**/*.md'], { cwd: root, onlyFiles: true, ignore: ['plans/templates/**'] }).sort()) {
    const text = read(root, path);
    if (text === null) continue;
    for (const entry of parsePlan(text, { path }).learnings ?? []) learnings.push({ text: entry.text, from: path });
  }
  const learningIndex = new MiniSearch<{ id: number; text: string }>({ fields: ['text'], tokenize, searchOptions: { prefix: true } });
  learningIndex.addAll(learnings.map((learning, id) => ({ id, text: learning.text })));
  const hits = learningIndex.search(request);
  const floor = (hits[0]?.score ?? 0) * 0.3;
  const relevant = hits.filter((hit) => hit.score >= floor).slice(0, MAX_LEARNINGS).map((hit) => learnings[hit.id as number]!);
  return { documents: relevantDocuments, learnings: relevant };
}
