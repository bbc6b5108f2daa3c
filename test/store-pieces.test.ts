import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { beginPieces, bytesFromPieces } from '../src/plan/pieces.js';
import { updatePlanFile } from '../src/plan/store.js';
import { appendLearning, appendLogRow, deleteFrontMatterKey, setPhaseStatus, setPlanStatus, setState, tickCriterion } from '../src/plan/update.js';
import { makeRepo, SMALL_PLAN } from './support/fixtures.js';
import { seededRandom } from './support/random.js';

// A write puts the file's new bytes together from the bytes it read and the pieces the edits changed (pieces.ts):
// they must be exactly the UTF-8 of the edited text, whatever the edits and the text.

/** A small generator of the same numbers each run. */
const random = seededRandom;

const WORDS = ['ok', 'Ana — lead', 'café', '𝄞 clef', '→ next', 'a | b', 'plain text', '✓ done', 'x\\y'];

describe('bytes pieced from the bytes read', () => {
  it('are the UTF-8 of the edited text, along random chains of edits of plans with BOM, CRLF and non-ASCII text', () => {
    const next = random(18);
    const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
    // Rows with non-ASCII text after the middle of the file: the bytes of the last pieces are counted from the end.
    const rows = Array.from({ length: 30 }, (_, k) => `| ${k + 1} | 2026-11-20T10:00:00Z | P1 | P1.1 café — ${k} 𝄞 | ok | CONTINUE | ✓ |\n`).join('');
    const bases = [
      SMALL_PLAN,
      `\uFEFF${SMALL_PLAN}`,
      SMALL_PLAN.replace(/\n/g, '\r\n'),
      SMALL_PLAN.replace('Only this week', 'Only 𝄞 this week') + rows,
      `\uFEFF${SMALL_PLAN}${rows}\n## After the log\n\n- é\n`,
    ];
    let pieced = 0;
    for (let round = 0; round < 60; round++) {
      const base = pick(bases);
      let text = beginPieces(base);
      const edits = 1 + Math.floor(next() * 8);
      for (let k = 0; k < edits; k++) {
        const word = pick(WORDS);
        const edit = pick([
          () => setState(text, { next_action: word, iteration: k }),
          () => appendLogRow(text, { when: '2026-11-20T10:00:00Z', phase: 'P1', action: `P1.1 ${word}`, result: 'ok', signal: 'CONTINUE', notes: word }),
          () => setPhaseStatus(text, pick(['P1', 'P2', 'P3']), pick(['active', 'done', 'pending'] as const)),
          () => tickCriterion(text, pick(['SC1', 'SC2', 'SC3']), next() < 0.5),
          () => appendLearning(text, `P1.1: ${word}`),
          () => setPlanStatus(text, pick(['executing', 'blocked'] as const)),
          () => deleteFrontMatterKey(text, ['state', 'next_action']),
        ]);
        text = edit();
      }
      const bytes = bytesFromPieces(text, base, Buffer.from(base, 'utf8'));
      if (bytes) pieced++;
      expect(bytes === null || bytes.equals(Buffer.from(text, 'utf8')), `round ${round}`).toBe(true);
    }
    // The edits above always make pieces of their base: none falls back to encoding the whole text.
    expect(pieced).toBe(60);
  });

  it('are not given for text the edits did not make, nor for a piece that would split a surrogate pair or hold a NUL', () => {
    const base = beginPieces(SMALL_PLAN);
    const edited = setState(base, { next_action: 'x' });
    expect(bytesFromPieces(`${edited} `, base, Buffer.from(base))).toBeNull();
    expect(bytesFromPieces(edited, `${base} `, Buffer.from(base))).toBeNull();
    const withNul = appendLearning(beginPieces(SMALL_PLAN), 'a\0b');
    expect(withNul).toContain('\0');
    expect(bytesFromPieces(withNul, SMALL_PLAN, Buffer.from(SMALL_PLAN))).toBeNull();
    const lone = appendLogRow(beginPieces(SMALL_PLAN), { when: 'w', phase: 'P1', action: 'a \uD834 b', result: 'ok', signal: 'CONTINUE' });
    expect(bytesFromPieces(lone, SMALL_PLAN, Buffer.from(SMALL_PLAN))).toBeNull();
  });

  it('are what updatePlanFile writes: the file reads back as the text it returned', async () => {
    const root = makeRepo({ 'plans/p.md': `\uFEFF${SMALL_PLAN.replace('Only this week', 'Only 𝄞 — this week')}` });
    const path = join(root, 'plans', 'p.md');
    for (let k = 1; k <= 3; k++) {
      const plan = await updatePlanFile(path, (text) =>
        setPhaseStatus(
          appendLogRow(text, { when: '2026-11-20T10:00:00Z', phase: 'P1', action: `P1.1 é ${k}`, result: 'ok', signal: 'CONTINUE' }),
          'P1',
          'active',
        ),
      );
      expect(readFileSync(path).equals(Buffer.from(`\uFEFF${plan.text}`, 'utf8'))).toBe(true);
      expect(plan.log!.rows).toHaveLength(k);
    }
  });
});
