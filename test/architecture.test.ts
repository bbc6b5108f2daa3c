import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from './support/fixtures.js';

/**
 * The architecture check: Biome's import rules, configured in biome.jsonc from DESIGN.md's table of which part may
 * import which (docs/architecture.md), plus no import cycles. It fails on the real src/ when an import breaks the
 * table, and it is proved once on a fixture tree that breaks it on purpose.
 */

const BIOME = join(PROJECT_ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
const CONFIG = join(PROJECT_ROOT, 'biome.jsonc');
const RULES = ['style/noRestrictedImports', 'suspicious/noImportCycles'];

interface Violation {
  rule: string;
  file: string;
  line: number;
  message: string;
}

interface BiomeReport {
  diagnostics: Array<{ category: string; message: string; severity: string; location: { path: string; start?: { line: number } } }>;
}

/** Runs only the import rules over `root`'s src/ with the project's configuration; the errors they report. */
function importViolations(root: string, vcs: boolean): Violation[] {
  const args = ['lint', `--vcs-enabled=${vcs}`, '--reporter=json', '--max-diagnostics=none', ...RULES.map((rule) => `--only=${rule}`), 'src'];
  // Biome is native and uses every core; under a loaded machine the whole-repository scan still takes seconds.
  const result = spawnSync(process.execPath, [BIOME, ...args], { cwd: root, encoding: 'utf8', timeout: 110_000 });
  const start = result.stdout.indexOf('{');
  if (result.status === null || start === -1) throw new Error(`biome did not report (exit ${result.status}): ${result.stderr}`);
  const report = JSON.parse(result.stdout.slice(start)) as BiomeReport;
  return report.diagnostics
    .filter((diagnostic) => diagnostic.severity === 'error')
    .map((diagnostic) => ({
      rule: diagnostic.category.replace(/^lint\//, ''),
      file: diagnostic.location.path.replace(/\\/g, '/'),
      line: diagnostic.location.start?.line ?? 0,
      message: diagnostic.message,
    }));
}

const shown = (violations: Violation[]) => violations.map((found) => `${found.file}:${found.line} ${found.rule}: ${found.message}`).join('\n');

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

describe('the architecture check', () => {
  it('finds no import that DESIGN forbids and no import cycle in src/', () => {
    const violations = importViolations(PROJECT_ROOT, true);
    expect(violations, shown(violations)).toEqual([]);
  }, 120_000);

  it('reports an upward import, a core import of ui/, Ink outside ui/ and a cycle in a fixture tree, and nothing that is allowed', () => {
    const root = mkdtempSync(join(tmpdir(), 'deepplan-architecture-'));
    temporary.push(root);
    cpSync(join(PROJECT_ROOT, 'test', 'fixtures', 'architecture', 'src'), join(root, 'src'), { recursive: true });
    cpSync(CONFIG, join(root, 'biome.jsonc'));
    const violations = importViolations(root, false);
    const where = violations.map((found) => `${found.file}:${found.line} ${found.rule}`).sort();
    expect(where, shown(violations)).toEqual([
      'src/execute/iteration.ts:1 suspicious/noImportCycles',
      'src/execute/loop.ts:2 suspicious/noImportCycles',
      'src/pipeline/session.ts:2 style/noRestrictedImports',
      'src/plan/steps.ts:2 style/noRestrictedImports',
      'src/rules/colour.ts:2 style/noRestrictedImports',
    ]);
    const message = (file: string) => violations.find((found) => found.file === file)?.message;
    expect(message('src/plan/steps.ts')).toMatch(/^plan\/ depends on nothing of ours/);
    expect(message('src/pipeline/session.ts')).toMatch(/never imports ui\/ or cli\//);
    expect(message('src/rules/colour.ts')).toMatch(/^Only ui\/ and cli\/ know about terminals/);
  }, 120_000);

  it('gives every folder of src/ its own row of the import table', () => {
    const config = readFileSync(CONFIG, 'utf8');
    const folders = readdirSync(join(PROJECT_ROOT, 'src'), { withFileTypes: true }).filter((entry) => entry.isDirectory());
    const missing = folders.map((entry) => entry.name).filter((name) => !config.includes(`"src/${name}/**"`));
    expect(missing, `folders of src/ that biome.jsonc does not place in DESIGN's table (${relative(PROJECT_ROOT, CONFIG)})`).toEqual([]);
  });
});
