import { InvalidArgumentError, Option } from 'commander';

/** The options and argument parsers the commands share (src/cli/program.ts, src/cli/scale-out.ts). */

/** Whether to colour what goes to `stream`: NO_COLOR wins, then FORCE_COLOR, else only on a terminal. */
export function useColor(stream: NodeJS.WriteStream): boolean {
  if (process.env['NO_COLOR']) return false;
  if (process.env['FORCE_COLOR'] && process.env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY === true;
}

/** `-f, --format <format>` of a command with machine output. */
export function formatOption(choices: string[], fallback: string, description = 'output format'): Option {
  return new Option('-f, --format <format>', description).choices(choices).default(fallback);
}

/** `--json`, kept as the alias of `--format json` (an explicit --format wins). */
export function jsonAlias(): Option {
  return new Option('--json', 'the same as --format json').implies({ format: 'json' });
}

/**
 * Runs a command that calls models, then prints what its calls cost and the ledger they went to on standard error;
 * when it fails, only if calls were made (a usage error stays one line). The ledger module is loaded afterwards.
 */
export async function withCostLine(command: () => Promise<unknown>): Promise<void> {
  let failed = true;
  try {
    await command();
    failed = false;
  } finally {
    const { commandCostLine, commandSpend } = await import('../models/ledger.js');
    if (!failed || commandSpend().calls > 0) process.stderr.write(`${commandCostLine()}\n`);
  }
}

export function parseCost(value: string): number {
  const cost = Number(value);
  if (!Number.isFinite(cost) || cost <= 0) throw new InvalidArgumentError('give a cost in US dollars, e.g. 2.50');
  return cost;
}

export function parsePositiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('give a whole number of 1 or more');
  return number;
}
