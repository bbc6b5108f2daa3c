import type { PlanMeta } from '../plan/schema.js';

export type Workstream = PlanMeta['workstream'];

/** Words that point at each workstream, with their weight. Matched as whole words, case-insensitively. */
const KEYWORDS: Record<Workstream, Array<[string, number]>> = {
  consulting: [
    ['outreach', 3], ['prospect', 3], ['deal', 3], ['account', 2], ['client', 2], ['buying committee', 4], ['crm', 2],
    ['proposal', 3], ['pitch', 2], ['discovery call', 3], ['deal review', 4], ['pipeline review', 3], ['persona', 2], ['sales', 2],
  ],
  content: [
    ['newsletter', 4], ['article', 3], ['blog', 3], ['post', 2], ['content', 3], ['issue', 1], ['editorial', 3], ['copy', 2],
    ['case study', 3], ['webinar', 2], ['social', 2], ['linkedin post', 3], ['whitepaper', 3], ['publish', 2],
  ],
  infrastructure: [
    ['backup', 4], ['deploy', 3], ['server', 3], ['database', 3], ['migration', 3], ['migrate', 3], ['cron', 3], ['ci', 2],
    ['pipeline', 1], ['monitoring', 3], ['webhook', 3], ['api', 2], ['integration', 2], ['schema', 2], ['script', 2], ['restore', 3],
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
