import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkRecord, MatrixError, type RowRecord } from './matrix.js';

/**
 * The row records of the GitHub Actions matrix on disk (src/cli/matrix-command.ts): `matrix run` writes one per phase,
 * `matrix merge` reads the files and folders it is given.
 */

/** A path given to the merge names nothing, or nothing that holds a record: the arguments are wrong. */
export class RecordPathError extends Error {
  override name = 'RecordPathError';
}

/** Where a phase's record goes: `<dir>/<plan id>.<phase>.json`. */
export function recordFile(dir: string, planId: string | null, phase: string): string {
  return join(dir, `${planId ?? 'plan'}.${phase}.json`);
}

/** Writes the record into `dir` (created if need be); returns the file's path. */
export function writeRecord(dir: string, record: RowRecord): string {
  const file = recordFile(resolve(dir), record.planId, record.phase);
  mkdirSync(resolve(dir), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}

/** The record files the arguments name: files, and the `*.json` files in folders (and their subfolders). */
function recordFiles(paths: string[]): string[] {
  const files: string[] = [];
  const visit = (path: string) => {
    if (!existsSync(path)) throw new RecordPathError(`${path}: no such file`);
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        const child = join(path, name);
        if (statSync(child).isDirectory() || name.endsWith('.json')) visit(child);
      }
    } else files.push(path);
  };
  for (const path of paths) visit(path);
  return files;
}

/** Reads and checks every record the paths name; a file that is no record is a MatrixError, none at all a RecordPathError. */
export function readRecords(paths: string[]): RowRecord[] {
  const records = recordFiles(paths).map((file) => {
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      throw new MatrixError(`${file} is not JSON; give the row records matrix run wrote`);
    }
    return checkRecord(value, file);
  });
  if (records.length === 0) throw new RecordPathError('no row records found; give the files (or folders) matrix run wrote');
  return records;
}
