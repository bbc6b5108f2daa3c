import { findRepoRoot, loadConfig } from '../config/config.js';
import { DEFAULT_PATTERN, expandTargets, lintFiles, LintUsageError } from '../lint/lint.js';
import { formatGithub, formatJson, formatSarif, formatText, type Format } from '../lint/reporters.js';
import { EXIT, UserError } from './exit.js';

export interface LintCommandOptions {
  format: Format;
  quiet?: boolean;
  color: boolean;
  version: string;
}

export async function runLintCommand(targets: string[], options: LintCommandOptions): Promise<number> {
  const cwd = process.cwd();
  let files: string[];
  try {
    if (targets.length === 0) {
      const root = findRepoRoot(cwd);
      // A broken configuration is reported (exit 2) even when there is nothing to lint yet.
      loadConfig(root);
      try {
        files = expandTargets([DEFAULT_PATTERN], root);
      } catch (error) {
        if (!(error instanceof LintUsageError)) throw error;
        process.stderr.write(`deepplan: no plan files under ${DEFAULT_PATTERN}; name the plans to lint\n`);
        return EXIT.ok;
      }
    } else {
      files = expandTargets(targets, cwd);
    }
    const run = await lintFiles(files, cwd);
    const text =
      options.format === 'json'
        ? formatJson(run)
        : options.format === 'github'
          ? formatGithub(run)
          : options.format === 'sarif'
            ? formatSarif(run, options.version)
            : formatText(run, { color: options.color, quiet: options.quiet ?? false });
    await write(text);
    return run.summary.errors > 0 ? EXIT.failed : EXIT.ok;
  } catch (error) {
    if (error instanceof LintUsageError) throw new UserError(error.message, EXIT.usage);
    throw error;
  }
}

function write(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(`${text}\n`, (error) => (error ? reject(error) : resolve()));
  });
}
