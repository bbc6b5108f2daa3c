// What the benchmark scripts (bench-lint.mjs, bench-run.mjs) share: options, statistics, tables, the machine's load.
import { loadavg } from 'node:os';

/** An integer option of at least `min`; anything else ends the script with exit 2. */
export function integerOption(script, name, value, min) {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min) {
    process.stderr.write(`${script}: ${name} must be ${min === 1 ? 'a positive integer' : `an integer >= ${min}`}\n`);
    process.exit(2);
  }
  return number;
}

/** The q-quantile of `values`, interpolated between the two nearest ranks. */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
}

export const median = (values) => quantile(values, 0.5);

export const fmt = (ms) => `${ms.toFixed(ms < 10 ? 2 : ms < 100 ? 1 : 0)} ms`;

/** Rows of cells as columns padded to their widest cell. */
export function table(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => String(cell).padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export const loadAverage = () =>
  process.platform === 'win32'
    ? 'n/a'
    : loadavg()
        .map((load) => load.toFixed(2))
        .join(', ');

/** Log rows' times: from a fixed start, in whole seconds. */
export const START = Date.parse('2026-11-20T10:00:00Z');
export const iso = (ms) => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
