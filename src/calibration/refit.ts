import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { type Document, isMap, isSeq, parseDocument } from 'yaml';
import { readPlanFile } from '../plan/store.js';
import { yamlErrorMessage } from '../plan/text.js';
import { CalibrationError, CalibrationIndex, type Fit, fitDeliverable, type HistoryEntry } from './calibration.js';

/**
 * `deepplan calibrate` (src/cli/calibrate-command.ts prints it): finished plans join the history of the repository's
 * calibration/index.yaml (the shipped priors when it has none) and each deliverable's budget margin is refitted.
 */

const SHIPPED = new URL('../../calibration/index.yaml', import.meta.url);

export interface Refit {
  /** The repository's calibration/index.yaml, written unless a dry run. */
  path: string;
  index: CalibrationIndex;
  added: HistoryEntry[];
  history: HistoryEntry[];
  fits: Array<Fit & { applied: boolean }>;
}

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

/** Reads the index as a YAML document (its comments survive the write); a broken one is a CalibrationError. */
function readIndex(root: string, path: string): { doc: Document; index: CalibrationIndex } {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : readFileSync(SHIPPED, 'utf8');
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new CalibrationError(`${relative(root, path)}: ${yamlErrorMessage(doc.errors[0]!)}`);
  const parsed = CalibrationIndex.safeParse(doc.toJS({ maxAliasCount: 50 }));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CalibrationError(`${relative(root, path)}: ${issue.path.join('.') || 'the file'}: ${issue.message}`);
  }
  return { doc, index: parsed.data };
}

/** Adds the finished plans among `files` to the history, refits, and writes the index unless `dryRun`. */
export async function refitCalibration(root: string, files: string[], options: { dryRun?: boolean }): Promise<Refit> {
  const path = join(root, 'calibration', 'index.yaml');
  const { doc, index } = readIndex(root, path);
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
  const fits: Refit['fits'] = [];
  for (const deliverable of deliverables) {
    const fit = fitDeliverable(history, deliverable, index.priors.formula, index.priors.coverage);
    if (fit) fits.push({ ...fit, applied: fit.plans >= index.priors.min_history });
  }
  const refit = { path, index, added, history, fits };
  if (!options.dryRun) await writeIndex(doc, refit);
  return refit;
}

/** The new history entries and the applied fits, into the document: block lists, one flow map per entry. */
async function writeIndex(doc: Document, refit: Refit): Promise<void> {
  const { index, added, fits, path } = refit;
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
  const coverage = Math.round(index.priors.coverage * 100);
  for (const fit of fits) {
    if (!fit.applied) continue;
    // The formula's weights with the fitted margin; the prior's `source` (which names its own margin) stays behind.
    const { phase_weight, criteria_divisor, constant } = index.priors.formula;
    const plans = `${fit.plans} finished ${fit.deliverable} plans`;
    const source = `fitted by deepplan calibrate: the smallest margin under which ${coverage}% of ${plans} stayed within budget`;
    const node = doc.createNode({ phase_weight, criteria_divisor, constant, margin: fit.margin, fitted: today, plans: fit.plans, source });
    if (isMap(node)) node.flow = true;
    doc.setIn(['coefficients', fit.deliverable], node);
  }
  mkdirSync(dirname(path), { recursive: true });
  await writeFileAtomic(path, doc.toString({ lineWidth: 0 }));
}
