import { relative } from 'node:path';
import { CalibrationError } from '../calibration/calibration.js';
import { type Refit, refitCalibration } from '../calibration/refit.js';
import { findRepoRoot } from '../config/config.js';
import { DEFAULT_PATTERN, expandTargets, LintUsageError } from '../lint/lint.js';
import { EXIT, UserError } from './exit.js';

export interface CalibrateOptions {
  dryRun?: boolean;
  json?: boolean;
}

/** `deepplan calibrate`: adds finished plans to the history and refits each deliverable's budget margin. */
export async function runCalibrateCommand(options: CalibrateOptions): Promise<number> {
  const root = findRepoRoot(process.cwd());
  let files: string[] = [];
  try {
    files = expandTargets([DEFAULT_PATTERN], root);
  } catch (error) {
    if (!(error instanceof LintUsageError)) throw error;
  }
  let refit: Refit;
  try {
    refit = await refitCalibration(root, files, options);
  } catch (error) {
    if (error instanceof CalibrationError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }
  const { added, history, fits, index } = refit;
  const path = relative(root, refit.path);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ path, added: added.map((entry) => entry.id), history: history.length, fits, written: !options.dryRun })}\n`);
    return EXIT.ok;
  }
  const lines = [`${added.length} finished plan(s) added; ${history.length} in the history (${path})`];
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
