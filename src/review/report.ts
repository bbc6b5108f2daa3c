import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { mermaidBlock } from '../graph/mermaid.js';
import { parsePlan } from '../plan/parse.js';
import { SEVERITIES } from './findings.js';
import type { ReviewRound } from './review.js';
import { toPosix } from '../plan/text.js';

export function reportPaths(root: string, round: ReviewRound): { md: string; json: string } {
  const dir = join(root, 'reviews', round.planId);
  return { md: join(dir, `round-${round.round}.md`), json: join(dir, `round-${round.round}.json`) };
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
    `# Review of ${round.path}, round ${round.round}: ${round.verdict}`,
    '',
    '| reviewer | planner | document | round | verdict |',
    '| --- | --- | --- | --- | --- |',
    `| ${round.reviewer} | ${round.planner} | ${round.documentType} | ${round.round} | ${round.verdict} |`,
    '',
    `Findings: ${counts(round)}.`,
  ];
  if (round.warning) lines.push('', `> ${round.warning}`);
  if (round.modelVerdict) lines.push('', `The reviewer said ${round.modelVerdict}; the engine's verdict is ${round.verdict} (REVISE while a verified critical or high finding remains).`);
  if (round.round > 1) lines.push('', round.resolved.length > 0 ? `Resolved since round ${round.round - 1}: ${round.resolved.map((number) => `#${number}`).join(', ')}.` : `Nothing from round ${round.round - 1} was resolved.`);
  lines.push('', '## Findings', '');
  if (round.findings.length === 0) lines.push('None.');
  for (const finding of round.findings) {
    const where = linkBase ? `[line ${finding.line}](${linkBase}#L${finding.line})` : `line ${finding.line}`;
    lines.push(
      `${finding.number}. **${finding.severity}**, ${finding.section}, ${where}${finding.verified ? '' : ' (quote not found in the plan: not counted)'}`,
      `   > ${finding.quote.replace(/\n/g, ' ')}`,
      '',
      `   Issue: ${finding.issue}`,
      '',
      `   Fix: ${finding.fix}`,
      '',
    );
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
      reviewer: round.reviewer,
      planner: round.planner,
      documentType: round.documentType,
      path: round.path,
      planId: round.planId,
      resolved: round.resolved,
      findings: round.findings.map(({ number, severity, line, section, quote, issue, fix, verified }) => ({ number, severity, line, section, quote, issue, fix, verified })),
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
