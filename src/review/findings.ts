import { z } from 'zod';

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type ReviewSeverity = (typeof SEVERITIES)[number];

/** One finding as a reviewer gives it: the quote must be verbatim from the document (at least 20 characters). */
export const ReviewerFinding = z.object({
  severity: z.enum(SEVERITIES),
  line: z.number().int().min(0),
  section: z.string(),
  quote: z.string(),
  issue: z.string(),
  fix: z.string(),
});
export type ReviewerFinding = z.infer<typeof ReviewerFinding>;

export const ReviewerAnswer = z.object({ verdict: z.enum(['APPROVED', 'REVISE']), findings: z.array(ReviewerFinding) });
export type ReviewerAnswer = z.infer<typeof ReviewerAnswer>;

export interface ReviewFinding extends ReviewerFinding {
  number: number;
  /** The quote was found in the document (whitespace folded). Unverified findings do not count toward the verdict. */
  verified: boolean;
}

export const MIN_QUOTE_CHARS = 20;

function fold(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Whether a quote stands in the document, whitespace folded; where, as a 1-based line, when it does. */
export function locateQuote(document: string, quote: string): number | null {
  const folded = fold(quote);
  if (folded.length < MIN_QUOTE_CHARS) return null;
  // Fold the document line by line so the match can be mapped back to a line.
  const lines = document.split('\n');
  const starts: number[] = [];
  let joined = '';
  for (const line of lines) {
    const piece = fold(line);
    starts.push(joined.length);
    joined += (joined && piece ? ' ' : '') + piece;
  }
  const at = joined.indexOf(folded);
  if (at === -1) return null;
  let line = 0;
  while (line + 1 < starts.length && starts[line + 1]! <= at) line++;
  return line + 1;
}

/** Numbers the findings and checks each quote against the document. */
export function verifyFindings(document: string, findings: ReviewerFinding[]): ReviewFinding[] {
  return findings.map((finding, index) => {
    const line = locateQuote(document, finding.quote);
    return { ...finding, number: index + 1, verified: line !== null, line: line ?? finding.line };
  });
}

/** The engine's verdict: REVISE while any verified critical or high finding remains. */
export function verdictOf(findings: ReviewFinding[]): 'APPROVED' | 'REVISE' {
  return findings.some((finding) => finding.verified && (finding.severity === 'critical' || finding.severity === 'high')) ? 'REVISE' : 'APPROVED';
}
