import type { PlanMeta } from '../plan/schema.js';

export type Workstream = PlanMeta['workstream'];

/** Words that point at each workstream, with their weight. Matched as whole words, case-insensitively. */
const KEYWORDS: Record<Workstream, Array<[string, number]>> = {
  consulting: [
    ['outreach', 3],
    ['prospect', 3],
    ['deal', 3],
    ['account', 2],
    ['client', 2],
    ['buying committee', 4],
    ['crm', 2],
    ['proposal', 3],
    ['pitch', 2],
    ['discovery call', 3],
    ['deal review', 4],
    ['pipeline review', 3],
    ['persona', 2],
    ['sales', 2],
    ['enrich', 3],
    ['enrichment', 3],
    ['firmographic', 3],
    ['coach', 3],
    ['coaching', 3],
    ['rep', 2],
    ['quota', 2],
    ['win rate', 3],
  ],
  content: [
    ['newsletter', 4],
    ['article', 3],
    ['blog', 3],
    ['post', 2],
    ['content', 3],
    ['issue', 1],
    ['editorial', 3],
    ['copy', 2],
    ['case study', 3],
    ['webinar', 2],
    ['social', 2],
    ['linkedin post', 3],
    ['whitepaper', 3],
    ['publish', 2],
    ['digest', 4],
    ['curate', 3],
    ['roundup', 3],
    ['seo', 4],
    ['landing page', 3],
    ['location page', 3],
    ['keyword', 2],
  ],
  infrastructure: [
    ['backup', 4],
    ['deploy', 3],
    ['server', 3],
    ['database', 3],
    ['migration', 3],
    ['migrate', 3],
    ['cron', 3],
    ['ci', 2],
    ['pipeline', 1],
    ['monitoring', 3],
    ['webhook', 3],
    ['api', 2],
    ['integration', 2],
    ['schema', 2],
    ['script', 2],
    ['restore', 3],
  ],
};

export interface WorkstreamGuess {
  workstream: Workstream;
  /** Share of the evidence that points at the winner, 0 to 1. */
  confidence: number;
  /** The words that decided it, for the person reading the pipeline's output. */
  evidence: string[];
  scores: Record<Workstream, number>;
}

/** Below this confidence the pipeline asks instead of guessing. */
export const ASK_BELOW_CONFIDENCE = 0.6;

function escape(word: string): string {
  return word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The offline workstream classifier: weighted keywords, with the share of evidence as its confidence. */
export function classifyWorkstream(request: string): WorkstreamGuess {
  const scores: Record<Workstream, number> = { consulting: 0, content: 0, infrastructure: 0 };
  const evidence: Record<Workstream, string[]> = { consulting: [], content: [], infrastructure: [] };
  for (const [workstream, words] of Object.entries(KEYWORDS) as Array<[Workstream, Array<[string, number]>]>) {
    for (const [word, weight] of words) {
      const hits = request.match(new RegExp(`\\b${escape(word)}s?\\b`, 'gi'))?.length ?? 0;
      if (hits === 0) continue;
      scores[workstream] += weight * Math.min(hits, 3);
      evidence[workstream].push(word);
    }
  }
  const total = scores.consulting + scores.content + scores.infrastructure;
  const ranked = (Object.keys(scores) as Workstream[]).sort((a, b) => scores[b] - scores[a]);
  const workstream = ranked[0]!;
  return { workstream, confidence: total === 0 ? 0 : scores[workstream] / total, evidence: evidence[workstream], scores };
}

/*
 * The offline planner's choice of template. Each template says which words of a request call for it (`match.words`,
 * with weights) and what job it does (`match.job`, for the interview). Paths in the request are left out of the
 * matching: `research/corpus.md` is a file, not a request for research. No template scoring at least
 * MIN_TEMPLATE_SCORE: the offline planner has no plan to offer and says so.
 */

export const MIN_TEMPLATE_SCORE = 4;

export interface TemplateMatch {
  name: string;
  score: number;
  /** The words that decided it. */
  evidence: string[];
}

/** The request without paths, globs and file names: only its words choose a template. */
export function wordsOf(request: string): string {
  return request.replace(/\S*[\w*]\/\S*|\S+\.[A-Za-z0-9]{1,8}\b/g, ' ');
}

/** The score of a template's words against a request (whole words, case-insensitive, each counted up to 3 times). */
export function matchScore(request: string, words: Record<string, number>): { score: number; evidence: string[] } {
  const text = wordsOf(request);
  let score = 0;
  const evidence: string[] = [];
  for (const [word, weight] of Object.entries(words)) {
    const hits = text.match(new RegExp(`(?<![\\w-])${escape(word).replace(/\\?[ -]/g, '[\\s-]+')}(?![\\w-])`, 'gi'))?.length ?? 0;
    if (hits === 0) continue;
    score += weight * Math.min(hits, 3);
    evidence.push(word);
  }
  return { score, evidence };
}

/** The templates ranked against the request, best first; `candidates` maps a template name to its match words. */
export function rankTemplates(request: string, candidates: Array<{ name: string; words: Record<string, number> }>): TemplateMatch[] {
  return candidates
    .map((candidate, order) => ({ name: candidate.name, order, ...matchScore(request, candidate.words) }))
    .filter((match) => match.score > 0)
    .sort((a, b) => b.score - a.score || a.order - b.order)
    .map(({ name, score, evidence }) => ({ name, score, evidence }));
}
