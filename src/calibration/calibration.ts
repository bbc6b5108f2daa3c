import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import * as z from 'zod/mini';
import '../plan/zod.js';
import { yamlErrorMessage } from '../plan/text.js';
import { registerMemo } from '../plan/memos.js';

/** The budget formula's coefficients: ceil((phase_weight × phases + criteria / criteria_divisor + constant) × margin). */
export const Coefficients = z.looseObject({
  phase_weight: z.number().check(z.positive()),
  criteria_divisor: z.number().check(z.positive()),
  constant: z.number().check(z.gte(0)),
  margin: z.number().check(z.positive()),
});
export type Coefficients = z.infer<typeof Coefficients>;

/** A whole number of at least `min`. */
const count = (min: number) => z.number().check(z.int(), z.gte(min));

export const HistoryEntry = z.looseObject({
  id: z.string(),
  deliverable: z.string(),
  phases: count(1),
  criteria: count(0),
  iterations: count(0),
  budget: z.optional(count(1)),
  finished: z.optional(z.string()),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const CalibrationIndex = z.looseObject({
  version: z.literal(1),
  priors: z.looseObject({
    formula: Coefficients,
    coverage: z._default(z.number().check(z.gt(0), z.lte(1)), 0.9),
    min_history: z._default(count(1), 5),
  }),
  coefficients: z._default(z.record(z.string(), z.extend(Coefficients, { fitted: z.optional(z.string()), plans: z.optional(z.number().check(z.int())) })), {}),
  history: z._default(z.array(HistoryEntry), []),
});
export type CalibrationIndex = z.infer<typeof CalibrationIndex>;

export const FORMULA: Coefficients = { phase_weight: 2, criteria_divisor: 3, constant: 5, margin: 1.15 };

export class CalibrationError extends Error {
  override name = 'CalibrationError';
}

const SHIPPED = new URL('../../calibration/index.yaml', import.meta.url);

/** The repository's calibration/index.yaml, else the shipped priors. */
export function calibrationPath(root: string): string | null {
  const own = join(root, 'calibration', 'index.yaml');
  return existsSync(own) ? own : null;
}

export function readCalibration(path: string | URL): CalibrationIndex {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CalibrationError(`cannot read ${String(path)}: ${(error as Error).message}`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new CalibrationError(`${String(path)}: ${yamlErrorMessage(doc.errors[0]!)}`);
  const result = CalibrationIndex.safeParse(doc.toJS({ maxAliasCount: 50 }));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new CalibrationError(`${String(path)}: ${issue.path.join('.') || 'the file'}: ${issue.message}`);
  }
  return result.data;
}

const cache = new Map<string, CalibrationIndex>();
registerMemo(() => cache.clear());

/** The calibration in force for a repository (cached per root for the lint run). */
export function calibrationFor(root: string): CalibrationIndex {
  const cached = cache.get(root);
  if (cached) return cached;
  const path = calibrationPath(root);
  const index = readCalibration(path ?? SHIPPED);
  cache.set(root, index);
  return index;
}

/** The coefficients a deliverable's budget is computed with, and whether they came from calibration. */
export function coefficientsFor(index: CalibrationIndex, deliverable: string | undefined): { coefficients: Coefficients; basis: 'formula' | 'calibrated' } {
  const fitted = deliverable ? index.coefficients[deliverable] : undefined;
  return fitted ? { coefficients: fitted, basis: 'calibrated' } : { coefficients: index.priors.formula, basis: 'formula' };
}

function base(coefficients: Coefficients, phases: number, criteria: number): number {
  return coefficients.phase_weight * phases + criteria / coefficients.criteria_divisor + coefficients.constant;
}

/** What `actionsOf` counts of a phase: its steps and its gate. */
export interface ActionShape {
  steps: readonly unknown[];
  gate?: string | null;
}

/**
 * The iterations a run needs when every action succeeds the first time: one per step, one for a quality gate's review
 * (`P3 gate review`), one for a human gate's approval (`P3 approve`, a log row too), and one check for a phase without
 * steps. The success criteria are verified in the iteration that finishes the last phase.
 */
export function actionsOf(phases: readonly ActionShape[]): number {
  return phases.reduce((sum, phase) => sum + (phase.steps.length || 1) + (phase.gate === 'review' || phase.gate === 'human' ? 1 : 0), 0);
}

/** The work term of the formula: phase_weight per phase, or the plan's actions when it has more (many steps a phase). */
function work(coefficients: Coefficients, phases: number, actions: number): number {
  return Math.max(coefficients.phase_weight * phases, actions);
}

/**
 * The iteration budget: ceil((max(phase_weight × phases, actions) + criteria / criteria_divisor + constant) × margin).
 * Without actions (or with fewer than phase_weight a phase) it is the published formula. With the published
 * coefficients it is computed in integers ((3w + c + 15) × 115 / 300), so exact products such as
 * (2 × 17 + 3 / 3 + 5) × 1.15 = 46 are not pushed to 47 by float error.
 */
export function budgetFor(coefficients: Coefficients, phases: number, criteria: number, actions = 0): number {
  const w = work(coefficients, phases, actions);
  if (isFormula(coefficients)) return Math.ceil(((3 * w + criteria + 15) * 115) / 300);
  return Math.ceil((w + criteria / coefficients.criteria_divisor + coefficients.constant) * coefficients.margin - 1e-9);
}

function isFormula(coefficients: Coefficients): boolean {
  return (
    coefficients.phase_weight === FORMULA.phase_weight &&
    coefficients.criteria_divisor === FORMULA.criteria_divisor &&
    coefficients.constant === FORMULA.constant &&
    coefficients.margin === FORMULA.margin
  );
}

function number(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(4)));
}

/**
 * The budget's arithmetic as a person would check it: `ceil((2 × 19 + 6 / 3 + 5) × 1.15) = 52`, or, when the plan's
 * actions outnumber phase_weight a phase, `ceil((max(2 × 19, 152 actions) + 6 / 3 + 5) × 1.15) = 183`.
 */
export function budgetArithmetic(coefficients: Coefficients, phases: number, criteria: number, actions = 0): string {
  const term =
    actions > coefficients.phase_weight * phases
      ? `max(${number(coefficients.phase_weight)} × ${phases}, ${actions} actions)`
      : `${number(coefficients.phase_weight)} × ${phases}`;
  return `ceil((${term} + ${criteria} / ${number(coefficients.criteria_divisor)} + ${number(coefficients.constant)}) × ${number(coefficients.margin)}) = ${budgetFor(coefficients, phases, criteria, actions)}`;
}

export interface Candidate {
  margin: number;
  /** Past plans whose iterations this margin's budget would not have covered. */
  cutShort: number;
}

export interface Fit {
  deliverable: string;
  plans: number;
  /** The smallest margin (2 decimals) under which at least `coverage` of the past plans would have finished. */
  margin: number;
  cutShort: number;
  candidates: Candidate[];
}

/**
 * Refits the margin of one deliverable's formula so that its budget would have covered at least `coverage` of the
 * past runs; the other coefficients stay those of the formula.
 */
export function fitDeliverable(history: HistoryEntry[], deliverable: string, formula: Coefficients, coverage: number): Fit | null {
  const runs = history.filter((entry) => entry.deliverable === deliverable);
  if (runs.length === 0) return null;
  const cutShortAt = (margin: number) => runs.filter((run) => budgetFor({ ...formula, margin }, run.phases, run.criteria) < run.iterations).length;
  // The margin each run needed, rounded up to the candidate grid.
  const needed = runs.map((run) => Math.ceil((run.iterations / base(formula, run.phases, run.criteria)) * 100 - 1e-9) / 100).sort((a, b) => a - b);
  const allowedMisses = Math.floor(runs.length * (1 - coverage) + 1e-9);
  let margin = needed[Math.max(0, runs.length - 1 - allowedMisses)]!;
  // Rounding can leave a run a hair short; step up until the coverage really holds.
  while (cutShortAt(margin) > allowedMisses) margin = Math.round((margin + 0.01) * 100) / 100;
  // Budgets are rounded up, so a slightly smaller margin may cover the same runs: take the smallest that does.
  while (margin > 0.01 && cutShortAt(Math.round((margin - 0.01) * 100) / 100) <= allowedMisses) margin = Math.round((margin - 0.01) * 100) / 100;
  const grid = [...new Set([...needed, margin, formula.margin].map((value) => Math.round(value * 100) / 100))].sort((a, b) => a - b);
  return {
    deliverable,
    plans: runs.length,
    margin,
    cutShort: cutShortAt(margin),
    candidates: grid.map((value) => ({ margin: value, cutShort: cutShortAt(value) })),
  };
}
