import { Box, Text, render, useApp, useInput } from 'ink';
import { useState } from 'react';
import type { ReviewFinding, ReviewSeverity } from '../review/findings.js';
import { clip, tint } from './style.js';

/**
 * The review findings browser of `deepplan review` on a terminal: the numbered findings with their severity colours;
 * ↑/↓ (or k/j) select, Enter opens one (quote, issue, fix), `g` shows the document around its line, `f` cycles the
 * severity filter (or c/h/m/l for one severity, a for all), q or Esc leaves. It shows the round's findings and holds
 * no review logic.
 */

export interface FindingsBrowserProps {
  title: string;
  verdict: string;
  findings: ReviewFinding[];
  /** The reviewed document, for `g` (go to the finding's line). */
  documentLines: string[];
}

type Filter = 'all' | ReviewSeverity;
const FILTERS: Filter[] = ['all', 'critical', 'high', 'medium', 'low'];
const BY_KEY: Record<string, Filter> = { a: 'all', c: 'critical', h: 'high', m: 'medium', l: 'low' };

/** A severity's colour, or none when NO_COLOR is set (https://no-color.org). */
export const colourOf = (severity: ReviewSeverity) => tint(severity === 'critical' || severity === 'high' ? 'red' : severity === 'medium' ? 'yellow' : 'gray');

/** One finding, numbered, on one line (the selected one inverse). */
export function FindingLine({ finding, selected, width = 52 }: { finding: ReviewFinding; selected: boolean; width?: number }) {
  return (
    <Text inverse={selected}>
      {String(finding.number).padStart(3)}. <Text color={colourOf(finding.severity)}>{finding.severity.padEnd(8)}</Text> line {String(finding.line).padEnd(4)} {clip(finding.issue, width)}
      {finding.verified ? '' : ' [unverified]'}
    </Text>
  );
}

/** A finding opened: where it is, its verbatim quote, the issue and the fix. */
export function FindingDetails({ finding }: { finding: ReviewFinding }) {
  return (
    <Box flexDirection="column" marginTop={1} borderStyle="single" paddingX={1}>
      <Text bold>
        #{finding.number} {finding.severity} · {clip(finding.section, 40)} · line {finding.line}
      </Text>
      <Text>quote: “{clip(finding.quote, 200)}”{finding.verified ? '' : ' (not found in the document: not counted)'}</Text>
      <Text>issue: {finding.issue}</Text>
      <Text color={tint('green')}>fix: {finding.fix}</Text>
    </Box>
  );
}

export function FindingsBrowser({ title, verdict, findings, documentLines }: FindingsBrowserProps) {
  const { exit } = useApp();
  const [filter, setFilter] = useState<Filter>('all');
  const [selected, setSelected] = useState(0);
  const [open, setOpen] = useState<'none' | 'details' | 'source'>('none');
  const shown = findings.filter((finding) => filter === 'all' || finding.severity === filter);
  const current = shown[Math.min(selected, shown.length - 1)];

  useInput((input, key) => {
    if (input === 'q' || key.escape) {
      if (open !== 'none' && key.escape) setOpen('none');
      else exit();
    } else if (key.downArrow || input === 'j') {
      setSelected((index) => Math.min(index + 1, Math.max(shown.length - 1, 0)));
    } else if (key.upArrow || input === 'k') {
      setSelected((index) => Math.max(index - 1, 0));
    } else if (key.return) {
      setOpen((state) => (state === 'details' ? 'none' : 'details'));
    } else if (input === 'g') {
      setOpen((state) => (state === 'source' ? 'none' : 'source'));
    } else if (input === 'f' || BY_KEY[input]) {
      const next = input === 'f' ? FILTERS[(FILTERS.indexOf(filter) + 1) % FILTERS.length]! : BY_KEY[input]!;
      setFilter(next);
      setSelected(0);
    }
  });

  return (
    <Box flexDirection="column" width={80}>
      <Text bold>{clip(title, 78)}</Text>
      <Text>
        verdict <Text bold color={tint(verdict === 'APPROVED' ? 'green' : 'red')}>{verdict}</Text> · showing {filter === 'all' ? 'all' : filter} ({shown.length} of {findings.length})
      </Text>
      <Box flexDirection="column" marginTop={1}>
        {shown.length === 0 ? <Text dimColor>no findings{filter === 'all' ? '' : ` of severity ${filter}`}</Text> : null}
        {shown.map((finding) => (
          <FindingLine key={finding.number} finding={finding} selected={finding === current} />
        ))}
      </Box>
      {current && open === 'details' ? <FindingDetails finding={current} /> : null}
      {current && open === 'source' ? (
        <Box flexDirection="column" marginTop={1} borderStyle="single" paddingX={1}>
          {documentLines.slice(Math.max(current.line - 4, 0), current.line + 3).map((line, index) => {
            const number = Math.max(current.line - 4, 0) + index + 1;
            return (
              <Text key={number} bold={number === current.line}>
                {number === current.line ? '>' : ' '}
                {String(number).padStart(4)} │ {clip(line, 66)}
              </Text>
            );
          })}
        </Box>
      ) : null}
      <Text dimColor>↑↓ select · Enter details · g go to line · f filter (c h m l a) · q quit</Text>
    </Box>
  );
}

export async function browseFindings(props: FindingsBrowserProps): Promise<void> {
  const app = render(<FindingsBrowser {...props} />, { patchConsole: false });
  // A terminal that goes away (stdin closed) ends the browser rather than leaving it waiting for keys.
  const close = () => app.unmount();
  process.stdin.once('end', close);
  try {
    await app.waitUntilExit();
  } finally {
    process.stdin.off('end', close);
  }
}
