import { diffLines } from 'diff';
import * as z from 'zod';

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

/** A finding that follows from another one (the same rule on the same line, or a root cause that makes it follow). */
export interface Consequence {
  line: number;
  issue: string;
}

/** A finding as the engine gives it: a reviewer's finding, plus where it comes from and what follows from it. */
export interface EngineFinding extends ReviewerFinding {
  /** The lint rule (or `parse`) the finding comes from; absent for the reviewer model's and the heuristics' findings. */
  rule?: string;
  /** Findings that share this one's root cause: fixing this one resolves them. */
  consequences?: Consequence[];
}

export interface ReviewFinding extends EngineFinding {
  number: number;
  /** The quote was found in the document. Unverified findings do not count toward the verdict. */
  verified: boolean;
}

export const MIN_QUOTE_CHARS = 20;

export const SEVERITY_RANK: Record<ReviewSeverity, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/**
 * The text a quote is compared on: Markdown backslash escapes removed (`\.` is `.`, as a Markdown writer escapes
 * it), whitespace folded, case ignored.
 */
export function normalizeQuote(text: string): string {
  return text
    .replace(/\\([!-/:-@[-`{-~])/g, '$1')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

/**
 * Where a quote stands in the document, as the 1-based line it starts on; null when it does not. Case, whitespace
 * and Markdown escapes are ignored. A quote of at least MIN_QUOTE_CHARS may span lines; a shorter one counts only
 * when it is a whole line. With several places, the one nearest `near` (the line the reviewer gave) wins.
 */
export function locateQuote(document: string, quote: string, near = 0): number | null {
  const wanted = normalizeQuote(quote);
  if (wanted === '') return null;
  const lines = document.split('\n').map(normalizeQuote);
  const nearest = (candidates: number[]) =>
    candidates.length === 0 ? null : candidates.reduce((best, line) => (Math.abs(line - near) < Math.abs(best - near) ? line : best));
  if (wanted.length < MIN_QUOTE_CHARS) {
    return nearest(lines.flatMap((line, index) => (line === wanted ? [index + 1] : [])));
  }
  // Join the folded lines so a quote can span them, and map each match back to the line it starts on.
  const starts: number[] = [];
  let joined = '';
  for (const piece of lines) {
    if (joined && piece) joined += ' ';
    starts.push(joined.length);
    joined += piece;
  }
  const found: number[] = [];
  for (let at = joined.indexOf(wanted); at !== -1; at = joined.indexOf(wanted, at + 1)) {
    let line = 0;
    while (line + 1 < starts.length && starts[line + 1]! <= at) line++;
    // A match that starts in the separator space belongs to the next non-empty line.
    while (line + 1 < lines.length && (lines[line] === '' || at >= starts[line]! + lines[line]!.length)) line++;
    found.push(line + 1);
  }
  return nearest([...new Set(found)]);
}

/** Numbers the findings, most severe first (then by line), and checks each quote against the document. */
export function verifyFindings(document: string, findings: EngineFinding[]): ReviewFinding[] {
  const checked = findings.map((finding) => {
    // The document is shown to the model with line numbers (`  12  text`); a quote that copied them is read without.
    const unnumbered = finding.quote.replace(/^[ \t]*\d+ {2}/gm, '');
    const line = locateQuote(document, finding.quote, finding.line) ?? (unnumbered !== finding.quote ? locateQuote(document, unnumbered, finding.line) : null);
    return { ...finding, verified: line !== null, line: line ?? finding.line };
  });
  return sortBySeverity(checked).map((finding, index) => ({ ...finding, number: index + 1 }));
}

/** Most severe first; then verified before unverified; then in the order of the document. Stable. */
export function sortBySeverity<T extends { severity: ReviewSeverity; line: number; verified?: boolean }>(findings: T[]): T[] {
  return findings
    .map((finding, index) => ({ finding, index }))
    .sort(
      (a, b) =>
        SEVERITY_RANK[a.finding.severity] - SEVERITY_RANK[b.finding.severity] ||
        Number(b.finding.verified ?? true) - Number(a.finding.verified ?? true) ||
        a.finding.line - b.finding.line ||
        a.index - b.index,
    )
    .map(({ finding }) => finding);
}

/** The engine's verdict: REVISE while any verified critical or high finding remains. */
export function verdictOf(findings: ReviewFinding[]): 'APPROVED' | 'REVISE' {
  return findings.some((finding) => finding.verified && (finding.severity === 'critical' || finding.severity === 'high')) ? 'REVISE' : 'APPROVED';
}

/**
 * The previous round's findings that no longer stand. A finding stands when the new round raises one at the same
 * place: the same quote (compared as quotes are) in the same section, whatever its issue text says this time.
 * Among several at one place, one with the same issue, then one from the same rule, is matched first.
 */
export function resolvedSince(previous: ReviewFinding[], current: ReviewFinding[]): number[] {
  const place = (finding: ReviewFinding) => `${finding.section}\u0000${normalizeQuote(finding.quote)}`;
  const open = new Map<string, ReviewFinding[]>();
  for (const finding of current.filter((candidate) => candidate.verified)) {
    const key = place(finding);
    open.set(key, [...(open.get(key) ?? []), finding]);
  }
  const earlier = previous.filter((finding) => finding.verified);
  const taken = new Set<ReviewFinding>();
  const matched = new Set<ReviewFinding>();
  const passes: Array<(a: ReviewFinding, b: ReviewFinding) => boolean> = [
    (a, b) => normalizeQuote(a.issue) === normalizeQuote(b.issue),
    (a, b) => a.rule !== undefined && a.rule === b.rule,
    () => true,
  ];
  for (const same of passes) {
    for (const finding of earlier) {
      if (matched.has(finding)) continue;
      const partner = (open.get(place(finding)) ?? []).find((candidate) => !taken.has(candidate) && same(finding, candidate));
      if (partner) {
        taken.add(partner);
        matched.add(finding);
      }
    }
  }
  return earlier.filter((finding) => !matched.has(finding)).map((finding) => finding.number);
}

/**
 * Maps 1-based lines of `before` to lines of `after` (the same file after an edit, such as the review block
 * written into its front matter). A line that the edit removed maps to where its neighbourhood went.
 */
export function lineMapper(before: string, after: string): (line: number) => number {
  if (before === after) return (line) => line;
  const map: number[] = [0];
  let newLine = 1;
  for (const part of diffLines(before, after)) {
    const count = part.count ?? 0;
    if (part.added) {
      newLine += count;
      continue;
    }
    for (let index = 0; index < count; index++) map.push(part.removed ? newLine : newLine + index);
    if (!part.removed) newLine += count;
  }
  return (line) => map[Math.max(0, Math.min(line, map.length - 1))] ?? line;
}

/**
 * The findings with their lines as they stand in `after`, the file as written after the round (the review block
 * inserted, the status changed). Every quote is looked up again near its mapped line, and a line an issue or a fix
 * names as `(line N)` (the rules' and the offline reviewer's way of pointing at the plan) is mapped too: a report
 * whose finding stands at line 105 must not tell the reader to change line 100.
 */
export function relocateFindings(findings: ReviewFinding[], before: string, after: string): ReviewFinding[] {
  if (before === after) return findings;
  const map = lineMapper(before, after);
  const mapText = (text: string) => text.replace(/\(line (\d+)\)/g, (_, line: string) => `(line ${map(Number(line))})`);
  return findings.map((finding) => {
    const mapped = map(finding.line);
    const line = finding.verified ? (locateQuote(after, finding.quote, mapped) ?? mapped) : mapped;
    const consequences = finding.consequences?.map((consequence) => ({ ...consequence, line: map(consequence.line), issue: mapText(consequence.issue) }));
    return { ...finding, line, issue: mapText(finding.issue), fix: mapText(finding.fix), ...(consequences ? { consequences } : {}) };
  });
}
