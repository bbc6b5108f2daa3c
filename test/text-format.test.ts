import { describe, expect, it } from 'vitest';
import { compareCodeUnits, formatCount } from '../src/plan/text.js';
import { RULE_IDS } from '../src/rules/catalog.js';

// Lint and status format counts and order findings without Intl (its first use costs more than a lint of a small
// plan): the results must be what Intl gave.

describe('formatCount', () => {
  it('writes integers as toLocaleString("en-US") does', () => {
    const samples = [0, 7, 42, 999, 1_000, 2_999, 3_000, 12_345, 999_999, 1_000_000, 123_456_789, -1, -1_234, -1_234_567];
    for (let n = 1; n < 1e12; n = n * 7 + 3) samples.push(n);
    for (const n of samples) expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
  });
});

describe('compareCodeUnits', () => {
  it('orders the rule ids (the tie-break of findings on one spot) as localeCompare did', () => {
    const ids = [...RULE_IDS, 'parse'];
    expect([...ids].sort(compareCodeUnits)).toEqual([...ids].sort((a, b) => a.localeCompare(b)));
    expect(compareCodeUnits('a', 'a')).toBe(0);
    expect(compareCodeUnits('phase-a', 'phases')).toBeLessThan(0);
  });
});
