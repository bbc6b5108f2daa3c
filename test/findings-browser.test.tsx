import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { ReviewFinding } from '../src/review/findings.js';
import { FindingsBrowser } from '../src/ui/findings-browser.js';

const finding = (number: number, severity: ReviewFinding['severity'], line: number, issue: string, verified = true): ReviewFinding => ({
  number,
  severity,
  line,
  section: `Phases / P${number}`,
  quote: `quoted passage number ${number} of the plan`,
  issue,
  fix: `fix number ${number}`,
  verified,
});

const FINDINGS = [
  finding(1, 'critical', 3, 'P1 sends the emails although the constraints say drafts only'),
  finding(2, 'medium', 5, 'P2 has no measure'),
  finding(3, 'low', 7, 'P3 title is vague', false),
];
const DOCUMENT = Array.from({ length: 10 }, (_, i) => `document line ${i + 1}`);
const tick = () => new Promise((resolve) => setTimeout(resolve, 30));
const DOWN = '\u001B[B';

function setup() {
  return render(<FindingsBrowser title="plans/p.md: review round 1 by offline/rules" verdict="REVISE" findings={FINDINGS} documentLines={DOCUMENT} />);
}

describe('the review findings browser', () => {
  it('lists the numbered findings with severity, line and issue, unverified ones marked', () => {
    const frame = setup().lastFrame()!;
    expect(frame).toContain('verdict REVISE · showing all (3 of 3)');
    expect(frame).toMatch(/1\. critical line 3 +P1 sends the emails/);
    expect(frame).toMatch(/3\. low +line 7 +P3 title is vague \[unverified\]/);
    expect(Math.max(...frame.split('\n').map((line) => line.length))).toBeLessThanOrEqual(100);
  });

  it('filters by severity with c/h/m/l/a and f', async () => {
    const view = setup();
    view.stdin.write('m');
    await tick();
    expect(view.lastFrame()).toContain('showing medium (1 of 3)');
    expect(view.lastFrame()).not.toContain('P1 sends the emails');
    view.stdin.write('h');
    await tick();
    expect(view.lastFrame()).toContain('no findings of severity high');
    view.stdin.write('f');
    await tick();
    expect(view.lastFrame()).toContain('showing medium (1 of 3)');
    view.stdin.write('a');
    await tick();
    expect(view.lastFrame()).toContain('showing all (3 of 3)');
  });

  it('opens the selected finding with Enter and shows the document around its line with g', async () => {
    const view = setup();
    view.stdin.write(DOWN);
    await tick();
    view.stdin.write('\r');
    await tick();
    expect(view.lastFrame()).toContain('#2 medium · Phases / P2 · line 5');
    expect(view.lastFrame()).toContain('quote: “quoted passage number 2 of the plan”');
    expect(view.lastFrame()).toContain('fix: fix number 2');
    view.stdin.write('g');
    await tick();
    const frame = view.lastFrame()!;
    expect(frame).toMatch(/> +5 │ document line 5/);
    expect(frame).toMatch(/ +2 │ document line 2/);
    expect(frame).toMatch(/ +8 │ document line 8/);
    expect(frame).not.toContain('document line 9');
  });
});
