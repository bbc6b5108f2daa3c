import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { isMap, isSeq, parseDocument } from 'yaml';
import { CalibrationError, CalibrationIndex, fitDeliverable, type Fit, type HistoryEntry } from '../calibration/calibration.js';
import { findRepoRoot } from '../config/config.js';
import { DEFAULT_PATTERN, expandTargets, LintUsageError } from '../lint/lint.js';
import { readPlanFile } from '../plan/store.js';
import { yamlErrorMessage } from '../plan/text.js';
import { EXIT, UserError } from './exit.js';

export interface CalibrateOptions {
  dryRun?: boolean;
  json?: boolean;
}

const SHIPPED = new URL('../../calibration/index.yaml', import.meta.url);

/** A finished plan as a history entry: how many iterations it really took against its size. */
async function historyEntry(path: string): Promise<HistoryEntry | null> {
  const plan = await readPlanFile(path);
  if (plan.meta.status !== 'complete' || !plan.meta.id || !plan.meta.deliverable || plan.phases.length === 0) return null;
  const rows = plan.log?.rows ?? [];
  const finished = rows.at(-1)?.when.slice(0, 10);
  return {
    id: plan.meta.id,
    deliverable: plan.meta.deliverable,
    phases: plan.phases.length,
    criteria: plan.criteria?.length ?? 0,
    iterations: rows.length,
    ...(plan.meta.budget ? { budget: plan.meta.budget.max_iterations } : {}),
    ...(finished ? { finished } : {}),
  };
}

/** `deepplan calibrate`: adds finished plans to the history and refits each deliverable's budget margin. */
export async function runCalibrateCommand(options: CalibrateOptions): Promise<number> {
  const root = findRepoRoot(process.cwd());
  const path = join(root, 'calibration', 'index.yaml');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : readFileSync(SHIPPED, 'utf8');
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new UserError(`${relative(root, path)}: ${yamlErrorMessage(doc.errors[0]!)}`, EXIT.failed);
  const parsed = CalibrationIndex.safeParse(doc.toJS({ maxAliasCount: 50 }));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`${relative(root, path)}: ${issue.path.join('.') || 'the file'}: ${issue.message}`, EXIT.failed);
  }
  const index = parsed.data;

  let files: string[] = [];
  try {
    files = expandTargets([DEFAULT_PATTERN], root);
  } catch (error) {
    if (!(error instanceof LintUsageError)) throw error;
  }
  const known = new Set(index.history.map((entry) => entry.id));
  const added: HistoryEntry[] = [];
  for (const file of files) {
    const entry = await historyEntry(file);
    if (entry && !known.has(entry.id)) {
      added.push(entry);
      known.add(entry.id);
    }
  }
  const history = [...index.history, ...added];
  const deliverables = [...new Set(history.map((entry) => entry.deliverable))].sort();
  const fits: Array<Fit & { applied: boolean }> = [];
  for (const deliverable of deliverables) {
    const fit = fitDeliverable(history, deliverable, index.priors.formula, index.priors.coverage);
    if (fit) fits.push({ ...fit, applied: fit.plans >= index.priors.min_history });
  }

  if (!options.dryRun) {
    let historyNode = doc.getIn(['history'], true);
    if (!isSeq(historyNode)) {
      doc.setIn(['history'], doc.createNode([]));
      historyNode = doc.getIn(['history'], true);
    }
    if (isSeq(historyNode)) {
      historyNode.flow = false;
      for (const entry of added) {
        const node = doc.createNode(entry);
        if (isMap(node)) node.flow = true;
        historyNode.items.push(node);
      }
    }
    let coefficientsNode = doc.getIn(['coefficients'], true);
    if (!isMap(coefficientsNode)) {
      doc.setIn(['coefficients'], doc.createNode({}));
      coefficientsNode = doc.getIn(['coefficients'], true);
    }
    if (isMap(coefficientsNode)) coefficientsNode.flow = false;
    const today = new Date().toISOString().slice(0, 10);
    for (const fit of fits) {
      if (!fit.applied) continue;
      // The formula's weights with the fitted margin; the prior's `source` (which names its own margin) stays behind.
      const { phase_weight, criteria_divisor, constant } = index.priors.formula;
      const source = `fitted by deepplan calibrate: the smallest margin under which ${Math.round(index.priors.coverage * 100)}% of ${fit.plans} finished ${fit.deliverable} plans stayed within budget`;
      const node = doc.createNode({ phase_weight, criteria_divisor, constant, margin: fit.margin, fitted: today, plans: fit.plans, source });
      if (isMap(node)) node.flow = true;
      doc.setIn(['coefficients', fit.deliverable], node);
    }
    mkdirSync(dirname(path), { recursive: true });
    await writeFileAtomic(path, doc.toString({ lineWidth: 0 }));
  }

  if (options.json) {
    process.stdout.write(`${JSON.stringify({ path: relative(root, path), added: added.map((entry) => entry.id), history: history.length, fits, written: !options.dryRun })}\n`);
    return EXIT.ok;
  }
  const lines = [`${added.length} finished plan(s) added; ${history.length} in the history (${relative(root, path)})`];
  if (fits.length === 0) lines.push('no finished plans yet: budgets keep the formula');
  for (const fit of fits) {
    lines.push('', `${fit.deliverable}: ${fit.plans} past plan(s)`);
    lines.push('  margin  cut short');
    for (const candidate of fit.candidates) {
      const mark = candidate.margin === fit.margin ? '  ← covers ≥ ' + Math.round(index.priors.coverage * 100) + '%' : '';
      lines.push(`  ${candidate.margin.toFixed(2).padStart(6)}  ${String(candidate.cutShort).padStart(2)} of ${fit.plans}${mark}`);
    }
    lines.push(
      fit.applied
        ? `  calibrated margin ${fit.margin.toFixed(2)} (formula 1.15)${options.dryRun ? ' (dry run: not written)' : ''}`
        : `  fewer than ${index.priors.min_history} plans: the formula stays`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

export { CalibrationError };
