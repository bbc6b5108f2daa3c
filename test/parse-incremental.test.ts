import { describe, expect, it, vi } from 'vitest';
import { decodePlan, encodePlan, parsePlan } from '../src/plan/parse.js';
import { appendLogRow, setPhaseStatus, setState, tickCriterion } from '../src/plan/update.js';
import type { Plan } from '../src/plan/types.js';
import { clearMemos } from '../src/plan/memos.js';
import { SMALL_PLAN } from './support/fixtures.js';
import { seededRandom } from './support/random.js';

// The parser reads a log that only grew since its last read from where it stopped (log-table.ts), and update.ts
// skips a read of a text it made itself when nothing changes. These tests hold both to what a cold read gives.

/** A plan as plain data, to compare two parses (the YAML document and pointAt are compared by what they say). */
function view(plan: Plan): unknown {
  return {
    ...plan,
    pointAt: undefined,
    frontMatter: plan.frontMatter && { ...plan.frontMatter, doc: plan.frontMatter.doc !== null },
    phases: plan.phases.map((phase) => ({ ...phase, fields: [...phase.fields] })),
  };
}

/** parsePlan of a fresh module: nothing read before. */
async function coldParse(text: string): Promise<Plan> {
  vi.resetModules();
  const fresh = (await import('../src/plan/parse.js')) as typeof import('../src/plan/parse.js');
  return fresh.parsePlan(text);
}

const row = (n: number, extra = '') => `| ${n} | 2026-11-20T10:00:00Z | P1 | P1.1 /fetch-notes --week current${extra} | ok | CONTINUE | step done |\n`;

/** A small generator of the same numbers each run. */
const random = seededRandom;

describe('parsePlan on a log read before', () => {
  it('gives what a cold read gives, however the text changed since', async () => {
    const base = SMALL_PLAN + Array.from({ length: 40 }, (_, k) => row(k + 1)).join('');
    const variants: Array<[string, (text: string) => string]> = [
      ['rows appended', (text) => text + row(41) + row(42)],
      ['a line more in the front matter', (text) => text.replace('state:\n', 'state:\n  in_flight: P1.1 x\n')],
      ['a line more in the body', (text) => text.replace('## Constraints\n', '## Constraints\n\n- One more.\n')],
      ['a row changed in the middle', (text) => text.replace('| 20 | 2026-11-20T10:00:00Z | P1 |', '| 20 | 2026-11-20T10:00:00Z | P2 |')],
      ['a row with a missing cell', (text) => text + '| 41 | w | P1 | a | ok |\n'],
      ['a header with a column more', (text) => text.replace('| # | When |', '| # | Extra | When |')],
      ['no line break at the end', (text) => text.slice(0, -1)],
      ['a section after the log', (text) => `${text}\n## After\n\n- x\n`],
      ['a fence right after the table', (text) => text + '```\n## not a heading\n```\n'],
      ['a NUL in a new row', (text) => text + row(41, ' \0')],
      ['container markers in a new row', (text) => `${text}   | - > * | w | P1 | a | ok | CONTINUE | n |\n`],
      ['CRLF line breaks', (text) => text.replace(/\n/g, '\r\n')],
      ['a BOM', (text) => `\uFEFF${text}`],
      ['the log emptied', (text) => text.slice(0, text.indexOf('| 1 |'))],
    ];
    for (const [name, change] of variants) {
      parsePlan(base); // read before: its rows are known
      const changed = change(base);
      const warm = parsePlan(changed);
      expect(view(warm), name).toEqual(view(await coldParse(changed)));
      for (const offset of [0, 10, changed.length >> 1, changed.length - 1, changed.length])
        expect(warm.pointAt(offset), `${name} at ${offset}`).toEqual((await coldParse(changed)).pointAt(offset));
    }
  });

  it('gives what a cold read gives along a log growing row by row while its lines move', async () => {
    const next = random(16);
    let text = SMALL_PLAN;
    for (let k = 1; k <= 120; k++) {
      text = appendLogRow(text, {
        when: '2026-11-20T10:00:00Z',
        phase: 'P1',
        action: next() < 0.1 ? 'P1.1 a | b' : `P1.1 step ${k}`,
        result: 'ok',
        signal: 'CONTINUE',
        notes: next() < 0.1 ? 'x \\| y' : '',
      });
      // The engine's in-flight record: a line of the front matter while an action runs.
      if (next() < 0.5)
        text = text.includes('in_flight') ? text.replace(/ {2}in_flight: .*\n/, '') : setState(text, { in_flight: `P1.1 (started ${k})` } as never);
      if (next() < 0.2) expect(view(parsePlan(text)), `row ${k}`).toEqual(view(await coldParse(text)));
    }
    expect(view(parsePlan(text))).toEqual(view(await coldParse(text)));
  });

  it('shares the rows it read before, frozen, numbered by the lines they are on now', () => {
    const text = SMALL_PLAN + row(1) + row(2);
    const first = parsePlan(text);
    const second = parsePlan(text + row(3));
    expect(second.log!.rows[0]).toBe(first.log!.rows[0]);
    expect(Object.isFrozen(second.log!.rows[0])).toBe(true);
    const moved = parsePlan(text.replace('## Request\n', '## Request\n\n'));
    expect(moved.log!.rows.map((candidate) => candidate.line)).toEqual(first.log!.rows.map((candidate) => candidate.line + 1));
    expect(moved.text.split('\n')[moved.log!.rows[1]!.line - 1]).toBe(row(2).trimEnd());
  });

  it('reads a 10,000-row log and refuses one over 20,000 lines', () => {
    const rows = (count: number) => Array.from({ length: count }, (_, k) => row(k + 1)).join('');
    const plan = parsePlan(SMALL_PLAN + rows(10_000));
    expect(plan.diagnostics).toEqual([]);
    expect(plan.log!.rows).toHaveLength(10_000);
    expect(plan.log!.rows[9_999]!.number).toBe(10_000);
    const tooLong = parsePlan(SMALL_PLAN + rows(20_000));
    expect(tooLong.diagnostics.map((diagnostic) => diagnostic.message)).toEqual(['the iteration log is 20005 lines long; the limit is 20000']);
  });
});

describe('encodePlan', () => {
  it('gives the UTF-8 bytes, and decodePlan gives back the very text for them', () => {
    const text = `${SMALL_PLAN}| 1 | w | P1 | Ana — café ✓ 𝄞 | ok | CONTINUE | n |\n`;
    const bytes = encodePlan(text);
    expect(bytes.equals(Buffer.from(text, 'utf8'))).toBe(true);
    expect(decodePlan(Buffer.from(bytes))).toEqual({ text, bytes });
  });

  it('keeps the last version of each of several plans written in turn: a write takes the place of the bytes it read', () => {
    clearMemos();
    const other = encodePlan(`${SMALL_PLAN}| 1 | w | P1 | other plan | ok | CONTINUE | n |\n`);
    let read = decodePlan(Buffer.from(encodePlan(SMALL_PLAN)));
    // An iteration writes its plan twice: four writes of one plan, each read back as the engine reads it.
    for (let k = 1; k <= 4; k++) {
      if ('error' in read) throw new Error(read.error.message);
      const written = encodePlan(`${SMALL_PLAN}| ${k} | w | P1 | step ${k} | ok | CONTINUE | n |\n`, read.bytes);
      read = decodePlan(Buffer.from(written));
      expect('bytes' in read && read.bytes).toBe(written);
    }
    // The other plan's bytes are still known: not decoded again (a new copy), but the very bytes remembered.
    const again = decodePlan(Buffer.from(other));
    expect('bytes' in again && again.bytes).toBe(other);
  });

  it('does not stand in for decoding text whose bytes decode to another text, or that decodePlan refuses', () => {
    const lone = `${SMALL_PLAN}| 1 | w | P1 | a \uD800 b | ok | CONTINUE | n |\n`;
    const loneBytes = Buffer.from(encodePlan(lone));
    expect(decodePlan(loneBytes)).toEqual({ text: lone.replace('\uD800', '\uFFFD'), bytes: loneBytes });
    const nul = `${SMALL_PLAN}\0`;
    expect(decodePlan(Buffer.from(encodePlan(nul)))).toEqual({ error: expect.objectContaining({ message: expect.stringMatching(/NUL bytes/) }) });
  });
});

describe('edits of the text appendLogRow returned', () => {
  const appended = () => appendLogRow(SMALL_PLAN, { when: '2026-11-20T10:00:00Z', phase: 'P1', action: 'P1.1 x', result: 'ok', signal: 'CONTINUE' });
  /** The same text as another string, which update.ts has not made. */
  const copy = (text: string) => ` ${text}`.slice(1);

  it('give the text itself when nothing changes, and the same edit as on any other text when something does', () => {
    const text = appended();
    expect(setPhaseStatus(text, 'P1', 'pending')).toBe(text);
    expect(tickCriterion(text, 'SC1', false)).toBe(text);
    expect(setPhaseStatus(text, 'P1', 'active')).toBe(setPhaseStatus(copy(text), 'P1', 'active'));
    expect(setPhaseStatus(appended(), 'P1', 'active')).toContain(
      '- Done when: the notes are fetched. verify: `test -s notes/week.md`\n- Status: active\n\n1. /fetch-notes --week current',
    );
    expect(tickCriterion(appended(), 'SC1')).toBe(tickCriterion(copy(text), 'SC1'));
    expect(tickCriterion(appended(), 'SC1')).toContain('- [x] SC1:');
  });

  it('still refuse a phase or a criterion the plan does not have', () => {
    expect(() => setPhaseStatus(appended(), 'P9', 'active')).toThrow(/no phase P9/);
    expect(() => tickCriterion(appended(), 'SC9')).toThrow(/no success criterion SC9/);
  });
});
