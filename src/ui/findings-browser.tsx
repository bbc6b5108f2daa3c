import { Box, Text, render, useApp, useInput } from 'ink';
import { useState } from 'react';
import type { ReviewFinding, ReviewSeverity } from '../review/findings.js';
import { Hanging, Wrapped } from './layout.js';
import { RedrawStore, watchNarrowing } from './redraw.js';
import { clip, flat, MAX_WIDTH, tint, useLayoutWidth } from './style.js';

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

/** The number, severity and line columns of a finding's line: the issue goes beside them. */
const FINDING_LEAD = 3 + 2 + 8 + 1 + 5 + 4 + 1;

/** One finding, numbered, on one line of the screen's width (the issue clipped to fit; the selected one inverse). */
export function FindingLine({ finding, selected, width }: { finding: ReviewFinding; selected: boolean; width: number }) {
  const mark = finding.verified ? '' : ' [unverified]';
  return (
    <Text inverse={selected} wrap="truncate-end">
      {String(finding.number).padStart(3)}. <Text color={colourOf(finding.severity)}>{finding.severity.padEnd(8)}</Text> line {String(finding.line).padEnd(4)}{' '}
      {clip(finding.issue, width - FINDING_LEAD - mark.length)}
      {mark}
    </Text>
  );
}

/** A finding opened: where it is, its verbatim quote, the issue and the fix. */
export function FindingDetails({ finding }: { finding: ReviewFinding }) {
  return (
    <Box flexDirection="column" marginTop={1} borderStyle="single" paddingX={1}>
      <Wrapped bold>
        #{finding.number} {finding.severity} · {flat(finding.section)} · line {finding.line}
      </Wrapped>
      <Hanging lead="quote:" width={7}>
        “{flat(finding.quote)}”{finding.verified ? '' : ' (not found in the document: not counted)'}
      </Hanging>
      <Hanging lead="issue:" width={7}>
        {flat(finding.issue)}
      </Hanging>
      <Hanging lead={<Text color={tint('green')}>fix: </Text>} width={5}>
        <Text color={tint('green')}>{flat(finding.fix)}</Text>
      </Hanging>
    </Box>
  );
}

export function FindingsBrowser({ title, verdict, findings, documentLines }: FindingsBrowserProps) {
  const { exit } = useApp();
  const width = useLayoutWidth();
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
    <Box flexDirection="column" maxWidth={MAX_WIDTH}>
      <Wrapped bold>{flat(title)}</Wrapped>
      <Wrapped>
        verdict{' '}
        <Text bold color={tint(verdict === 'APPROVED' ? 'green' : 'red')}>
          {verdict}
        </Text>{' '}
        · showing {filter === 'all' ? 'all' : filter} ({shown.length} of {findings.length})
      </Wrapped>
      <Box flexDirection="column" marginTop={1}>
        {shown.length === 0 ? <Text dimColor>no findings{filter === 'all' ? '' : ` of severity ${filter}`}</Text> : null}
        {shown.map((finding) => (
          <FindingLine key={finding.number} finding={finding} selected={finding === current} width={width} />
        ))}
      </Box>
      {current && open === 'details' ? <FindingDetails finding={current} /> : null}
      {current && open === 'source' ? (
        <Box flexDirection="column" marginTop={1} borderStyle="single" paddingX={1}>
          {documentLines.slice(Math.max(current.line - 4, 0), current.line + 3).map((line, index) => {
            const number = Math.max(current.line - 4, 0) + index + 1;
            return (
              <Text key={number} bold={number === current.line} wrap="truncate-end">
                {number === current.line ? '>' : ' '}
                {String(number).padStart(4)} │ {clip(line, width - 12)}
              </Text>
            );
          })}
        </Box>
      ) : null}
      <Wrapped dimColor>↑↓ select · Enter details · g go to line · f filter (c h m l a) · q quit</Wrapped>
    </Box>
  );
}

export async function browseFindings(props: FindingsBrowserProps): Promise<void> {
  const app = render(<FindingsBrowser {...props} />, { patchConsole: false });
  // The browser has no finished lines to print again: a narrowing only clears the screen before Ink redraws.
  const unwatch = watchNarrowing(process.stdout, new RedrawStore({ epoch: 0, rows: 0 }));
  // A terminal that goes away (stdin closed) ends the browser rather than leaving it waiting for keys.
  const close = () => app.unmount();
  process.stdin.once('end', close);
  try {
    await app.waitUntilExit();
  } finally {
    process.stdin.off('end', close);
    unwatch();
  }
}
