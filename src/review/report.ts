import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { mermaidBlock } from '../graph/mermaid.js';
import { escapeWorkflowData } from '../lint/reporters.js';
import { parsePlan } from '../plan/parse.js';
import { SEVERITIES } from './findings.js';
import { roundFolder, type ReviewRound } from './review.js';
import { toPosix } from '../plan/text.js';

export function reportPaths(root: string, round: Pick<ReviewRound, 'planId' | 'round' | 'cycle'>): { md: string; json: string } {
  const dir = roundFolder(root, round.planId, round.cycle ?? 1);
  return { md: join(dir, `round-${round.round}.md`), json: join(dir, `round-${round.round}.json`) };
}

/** `round 2`, or `round 1 of cycle 2` from the second review cycle on. */
export function roundName(round: { round: number; cycle?: number }): string {
  return (round.cycle ?? 1) > 1 ? `round ${round.round} of cycle ${round.cycle}` : `round ${round.round}`;
}

/** The previous round as the report names it: `round 2`, or `round 3 of cycle 1` across cycles. */
function previousName(round: ReviewRound): string | null {
  const previous = round.previousRound ?? (round.round > 1 ? { cycle: round.cycle ?? 1, round: round.round - 1 } : null);
  if (!previous) return null;
  return previous.cycle === (round.cycle ?? 1) ? `round ${previous.round}` : `round ${previous.round} of cycle ${previous.cycle}`;
}

export function counts(round: ReviewRound): string {
  const verified = round.findings.filter((finding) => finding.verified);
  const parts = SEVERITIES.map((severity) => `${verified.filter((finding) => finding.severity === severity).length} ${severity}`);
  const unverified = round.findings.length - verified.length;
  return `${parts.join(', ')}${unverified > 0 ? `; ${unverified} unverified (quote not in the plan, not counted)` : ''}`;
}

/**
 * The phases of the plan at `path` as a ```mermaid block, or null when the round did not review a plan, the plan has
 * no phases, or the file cannot be read now (the report is still written, without the picture).
 */
export function planGraph(round: ReviewRound, path: string): string | null {
  if (round.documentType !== 'plan') return null;
  try {
    const plan = parsePlan(readFileSync(path, 'utf8'), { path });
    return plan.phases.length > 0 ? mermaidBlock(plan) : null;
  } catch {
    return null;
  }
}

/**
 * The report for people: a header, the numbered findings with links to their lines, then the plan's phases as a
 * Mermaid flowchart (GitHub renders it) when the caller gives one (`planGraph`).
 */
export function markdownReport(round: ReviewRound, linkBase: string | null, graph: string | null): string {
  const lines = [
    `# Review of ${round.path}, ${roundName(round)}: ${round.verdict}`,
    '',
    '| reviewer | planner | document | round | verdict |',
    '| --- | --- | --- | --- | --- |',
    `| ${round.reviewer} | ${round.planner} | ${round.documentType} | ${(round.cycle ?? 1) > 1 ? `${round.round} (cycle ${round.cycle})` : round.round} | ${round.verdict} |`,
    '',
    `Findings: ${counts(round)}.`,
  ];
  if (round.warning) lines.push('', `> ${round.warning}`);
  if (round.modelVerdict)
    lines.push(
      '',
      `The reviewer said ${round.modelVerdict}; the engine's verdict is ${round.verdict} (REVISE while a verified critical or high finding remains).`,
    );
  const since = previousName(round);
  if (since)
    lines.push(
      '',
      round.resolved.length > 0
        ? `Resolved since ${since}: ${round.resolved.map((number) => `#${number}`).join(', ')}.`
        : `Nothing from ${since} was resolved.`,
    );
  lines.push('', '## Findings', '');
  if (round.findings.length === 0) lines.push('None.');
  for (const finding of round.findings) {
    const where = linkBase ? `[line ${finding.line}](${linkBase}#L${finding.line})` : `line ${finding.line}`;
    lines.push(
      `${finding.number}. **${finding.severity}**, ${finding.section}, ${where}${finding.verified ? '' : ' (quote not found in the plan: not counted)'}`,
      // Each line of the quote on its own line of the block quote: a short quote is never run into the next one.
      ...finding.quote.split(/\r?\n/).map((line) => `   > ${line.trim()}`.trimEnd()),
      '',
      `   Issue: ${finding.issue}`,
      '',
    );
    const consequences = finding.consequences ?? [];
    if (consequences.length > 0) {
      lines.push(`   Follows from it (${consequences.length}, resolved with it):`, '');
      for (const consequence of consequences)
        lines.push(`   - ${linkBase ? `[line ${consequence.line}](${linkBase}#L${consequence.line})` : `line ${consequence.line}`}: ${consequence.issue}`);
      lines.push('');
    }
    lines.push(`   Fix: ${finding.fix}`, '');
  }
  if (graph) {
    if (lines[lines.length - 1] !== '') lines.push('');
    lines.push('## Phases', '', graph.trimEnd());
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

export function jsonReport(round: ReviewRound): string {
  return `${JSON.stringify(
    {
      verdict: round.verdict,
      modelVerdict: round.modelVerdict,
      round: round.round,
      cycle: round.cycle ?? 1,
      digest: round.digest,
      previousRound: round.previousRound ?? null,
      reviewer: round.reviewer,
      planner: round.planner,
      documentType: round.documentType,
      path: round.path,
      planId: round.planId,
      resolved: round.resolved,
      findings: round.findings.map(({ number, severity, line, section, quote, issue, fix, verified, rule, consequences }) => ({
        number,
        severity,
        line,
        section,
        quote,
        issue,
        fix,
        verified,
        ...(rule ? { rule } : {}),
        ...(consequences && consequences.length > 0 ? { consequences } : {}),
      })),
    },
    null,
    2,
  )}\n`;
}

/** Writes reviews/<plan-id>/round-<n>.md and .json next to the plans; returns their paths. */
export async function writeReports(root: string, round: ReviewRound, planPath: string): Promise<{ md: string; json: string }> {
  const paths = reportPaths(root, round);
  mkdirSync(dirname(paths.md), { recursive: true });
  const link = toPosix(relative(dirname(paths.md), planPath));
  const shown = { ...round, path: toPosix(relative(root, planPath)) };
  await writeFileAtomic(paths.md, markdownReport(shown, link, planGraph(round, planPath)));
  await writeFileAtomic(paths.json, jsonReport(shown));
  return paths;
}

/** The verified findings as GitHub workflow annotations on `file` (from the repository root), then the verdict line. */
export function githubAnnotations(round: ReviewRound, file: string): string {
  const lines = round.findings
    .filter((finding) => finding.verified)
    .map((finding) => {
      const level = finding.severity === 'critical' || finding.severity === 'high' ? 'error' : 'warning';
      return `::${level} file=${file},line=${finding.line},title=review ${finding.number} (${finding.severity})::${escapeWorkflowData(`${finding.issue} Fix: ${finding.fix}`)}`;
    });
  return `${[...lines, `deepplan review: ${round.verdict} (${counts(round)})`].join('\n')}\n`;
}

/** The round as `deepplan review` prints it: the verdict line, one line a finding, the report's path. */
export function reviewSummary(round: ReviewRound, shown: string, report: string): string {
  const lines = [`${shown}: review ${roundName(round)} by ${round.reviewer}: ${round.verdict} (${counts(round)})`];
  for (const finding of round.findings) {
    const unverified = finding.verified ? '' : ' [quote not found: not counted]';
    lines.push(`  ${String(finding.number).padStart(2)}. ${finding.severity.padEnd(8)} ${finding.section} line ${finding.line}: ${finding.issue}${unverified}`);
  }
  lines.push(`report: ${report}`);
  return `${lines.join('\n')}\n`;
}
