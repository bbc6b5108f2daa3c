import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MatrixError, RECORD_VERSION, type RowRecord } from '../src/runners/matrix.js';
import { readRecords, RecordPathError, recordFile, writeRecord } from '../src/runners/matrix-records.js';

/**
 * The matrix's row records on disk (src/runners/matrix-records.ts): what `matrix run` writes and `matrix merge`
 * reads. The two error kinds decide the merge's exit code: a path that names nothing is a usage error (2), a file
 * that is no record a failure (1); test/actions-matrix.test.ts runs the commands end to end.
 */

const dirs: string[] = [];
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'deepplan-records-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function record(phase: string): RowRecord {
  return {
    version: RECORD_VERSION,
    plan: 'plans/p.md',
    planId: 'p',
    phase,
    base: { rows: 0, lastWhen: null },
    rows: [{ when: '2026-12-05T10:00:00Z', phase, action: 'run: `true`', result: 'ok', notes: '', signal: 'CONTINUE' }],
    status: 'done',
    blockers: [],
    learnings: [],
    ticks: [],
    changed: [],
    spentUsd: 0,
  };
}

describe('row records', () => {
  it('writes a record to <dir>/<plan id>.<phase>.json, creating the folder, and reads it back from the folder', () => {
    const dir = join(folder(), 'nested', 'records');
    const file = writeRecord(dir, record('P2'));
    expect(file).toBe(recordFile(dir, 'p', 'P2'));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ phase: 'P2', planId: 'p' });
    writeRecord(dir, record('P3'));
    writeFileSync(join(dir, 'notes.txt'), 'not a record, and not .json: skipped');
    expect(readRecords([join(dir, '..')]).map((each) => each.phase)).toEqual(['P2', 'P3']);
  });

  it('a path that names nothing, or folders with no record, is a RecordPathError', () => {
    const dir = folder();
    expect(() => readRecords([join(dir, 'missing')])).toThrow(RecordPathError);
    expect(() => readRecords([join(dir, 'missing')])).toThrow(/missing: no such file/);
    mkdirSync(join(dir, 'empty'));
    expect(() => readRecords([join(dir, 'empty')])).toThrow(/no row records found/);
  });

  it('a file that is not JSON, or not a record, is a MatrixError naming the file', () => {
    const dir = folder();
    writeFileSync(join(dir, 'junk.json'), '{ not json');
    expect(() => readRecords([join(dir, 'junk.json')])).toThrow(MatrixError);
    expect(() => readRecords([join(dir, 'junk.json')])).toThrow(/junk\.json is not JSON/);
    writeFileSync(join(dir, 'junk.json'), '{"rows": 3}');
    expect(() => readRecords([dir])).toThrow(/junk\.json is not a deepplan row record/);
  });
});
