import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { createColors } from 'picocolors';
import { toPosix } from '../plan/text.js';
import { RULES, PARSE_RULE_ID } from '../rules/catalog.js';
import { docsUrl } from '../rules/rule.js';
import type { FileResult, LintRun } from './lint.js';

export const FORMATS = ['text', 'json', 'github', 'sarif'] as const;
export type Format = (typeof FORMATS)[number];

export interface TextOptions {
  color: boolean;
  quiet?: boolean;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** vfile-reporter style: the file, then `line:col  severity  message  rule-id`, then a summary line. */
export function formatText(run: LintRun, options: TextOptions): string {
  const c = createColors(options.color);
  const lines: string[] = [];
  for (const file of run.files) {
    const findings = options.quiet ? file.findings.filter((finding) => finding.severity === 'error') : file.findings;
    if (findings.length === 0) {
      if (!options.quiet) lines.push(`${c.underline(file.path)}: ${c.green('no issues found')}`);
      continue;
    }
    lines.push(c.underline(file.path));
    const width = Math.max(...findings.map((finding) => `${finding.line}:${finding.column}`.length));
    const messageWidth = Math.min(100, Math.max(...findings.map((finding) => finding.message.length)));
    for (const finding of findings) {
      const place = `${finding.line}:${finding.column}`.padEnd(width);
      const severity = finding.severity === 'error' ? c.red('error  ') : c.yellow('warning');
      lines.push(`  ${c.dim(place)}  ${severity}  ${finding.message.padEnd(messageWidth)}  ${c.dim(finding.ruleId)}`);
    }
    lines.push('');
  }
  const { errors, warnings } = run.summary;
  const files = plural(run.files.length, 'plan');
  if (errors === 0 && warnings === 0) lines.push(c.green(`✔ ${files} linted, no problems`));
  else {
    const text = `${plural(errors, 'error')}, ${plural(warnings, 'warning')} in ${files}`;
    lines.push(errors > 0 ? c.red(`✖ ${text}`) : c.yellow(`⚠ ${text}`));
  }
  return lines.join('\n');
}

export function formatJson(run: LintRun): string {
  return JSON.stringify({
    files: run.files.map((file) => ({
      path: file.path,
      findings: file.findings.map(({ ruleId, severity, message, line, column }) => ({ ruleId, severity, message, line, column })),
    })),
    summary: run.summary,
  });
}

/** Escapes the message of a GitHub Actions workflow command. */
export function escapeWorkflowData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(value: string): string {
  return escapeWorkflowData(value).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * The folder that paths in annotations and SARIF are relative to: the workspace GitHub checked out
 * (GITHUB_WORKSPACE) when the file is inside it, else the nearest folder above the file holding `.git`, else the
 * root the linter found for the file (its deepplan.config.yaml). GitHub reads `file=` and SARIF URIs against the
 * repository root, whatever folder the command ran in.
 */
export function repositoryRootOf(absolute: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const workspace = env['GITHUB_WORKSPACE'];
  if (workspace && isWithin(resolve(workspace), absolute)) return resolve(workspace);
  for (let dir = dirname(absolute); ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git'))) return dir;
    if (dirname(dir) === dir) return null;
  }
}

function isWithin(folder: string, path: string): boolean {
  const inside = relative(folder, path);
  return inside !== '' && !inside.startsWith('..') && !isAbsolute(inside);
}

/** A linted file's path relative to its repository root, with forward slashes. */
export function repositoryPath(file: FileResult, cwd: string = process.cwd()): string {
  const absolute = resolve(cwd, file.path);
  const root = repositoryRootOf(absolute);
  return root ? toPosix(relative(root, absolute)) : file.repoPath;
}

/** GitHub Actions workflow commands: one annotation per finding, its file relative to the repository root. */
export function formatGithub(run: LintRun, cwd: string = process.cwd()): string {
  const lines: string[] = [];
  for (const file of run.files) {
    const path = repositoryPath(file, cwd);
    for (const finding of file.findings) {
      const command = finding.severity === 'error' ? 'error' : 'warning';
      const properties = `file=${escapeProperty(path)},line=${finding.line},col=${finding.column},title=${escapeProperty(finding.ruleId)}`;
      lines.push(`::${command} ${properties}::${escapeWorkflowData(finding.fix ? `${finding.message} Fix: ${finding.fix}` : finding.message)}`);
    }
  }
  const { errors, warnings } = run.summary;
  lines.push(`deepplan: ${plural(errors, 'error')}, ${plural(warnings, 'warning')} in ${plural(run.files.length, 'plan')}`);
  return lines.join('\n');
}

/** Where a rule is documented, as an absolute URL (the docs of the version that found it). */
export function helpUriOf(ruleId: string, version: string): string {
  return `${DOCS_BASE}/v${version}/${docsUrl(ruleId)}`;
}

const DOCS_BASE = 'https://github.com/deepplan/deepplan/blob';

/**
 * A result's identity across runs, for code scanning to tell a new alert from one it has seen: the rule, the file
 * and what the finding says (line numbers in it left out, so a finding that only moved keeps its identity). The
 * SARIF result adds `:<n>` for the n-th finding with the same fingerprint in a file.
 */
export function fingerprintOf(ruleId: string, path: string, message: string): string {
  const said = message.replace(/\b(lines?|rows?) \d+( to \d+)?/gi, '$1 #');
  return createHash('sha256').update(`${ruleId}\u0000${path}\u0000${said}`).digest('hex').slice(0, 32);
}

/** SARIF 2.1.0 for code scanning: one run, a rule per rule id, repository-relative URIs. */
export function formatSarif(run: LintRun, version: string, cwd: string = process.cwd()): string {
  const rules = [
    ...RULES.map((rule) => ({ id: rule.id, description: rule.description, level: rule.severity })),
    { id: PARSE_RULE_ID, description: 'The file can be read as a plan: UTF-8 text, within the size and nesting limits.', level: 'error' as const },
  ];
  const ruleIndex = new Map(rules.map((rule, index) => [rule.id, index]));
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'deepplan',
            version,
            rules: rules.map((rule) => ({
              id: rule.id,
              name: rule.id,
              shortDescription: { text: rule.description },
              helpUri: helpUriOf(rule.id, version),
              help: { text: `${rule.description} See ${docsUrl(rule.id)}.` },
              defaultConfiguration: { level: rule.level === 'error' ? 'error' : 'warning' },
            })),
          },
        },
        results: run.files.flatMap((file) => {
          const path = repositoryPath(file, cwd);
          const seen = new Map<string, number>();
          return file.findings.map((finding) => {
            const fingerprint = fingerprintOf(finding.ruleId, path, finding.message);
            const occurrence = (seen.get(fingerprint) ?? 0) + 1;
            seen.set(fingerprint, occurrence);
            return {
              ruleId: finding.ruleId,
              ruleIndex: ruleIndex.get(finding.ruleId) ?? 0,
              level: finding.severity === 'error' ? 'error' : 'warning',
              message: { text: finding.fix ? `${finding.message} Fix: ${finding.fix}` : finding.message },
              partialFingerprints: { 'deepplanFinding/v1': `${fingerprint}:${occurrence}` },
              locations: [
                {
                  physicalLocation: {
                    artifactLocation: { uri: encodeURI(path), uriBaseId: '%SRCROOT%' },
                    region: { startLine: Math.max(1, finding.line), startColumn: Math.max(1, finding.column) },
                  },
                },
              ],
            };
          });
        }),
      },
    ],
  };
  return JSON.stringify(sarif, null, 2);
}
