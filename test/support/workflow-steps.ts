import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parse } from 'yaml';
import { CLI, cliEnvironment } from './fixtures.js';

/**
 * Runs the `run:` steps of a GitHub Actions composite action or workflow job locally, the way a runner does:
 * `bash --noprofile --norc -eo pipefail` per step, `${{ }}` expressions of `env:` and `run:` substituted from the
 * contexts given, GITHUB_OUTPUT / GITHUB_ENV / GITHUB_PATH files honoured between steps, and the first failing step
 * ending the job. `uses:` steps are not run (they are recorded as skipped). An expression the contexts do not hold
 * fails the test, so the YAML cannot use a context the test does not model.
 */

export interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string | number | boolean>;
  with?: Record<string, unknown>;
}

export interface StepResult {
  name: string;
  skipped: boolean;
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
}

export interface JobResult {
  code: number;
  steps: StepResult[];
  stdout: string;
  /** The step results by id or name. */
  step(key: string): StepResult;
}

export interface Contexts {
  inputs?: Record<string, string>;
  github?: Record<string, string>;
  secrets?: Record<string, string>;
  env?: Record<string, string>;
}

export function readYaml<T = Record<string, unknown>>(path: string): T {
  return parse(readFileSync(path, 'utf8')) as T;
}

function lookup(expression: string, contexts: Contexts, outputs: Map<string, Record<string, string>>, runnerTemp: string): string {
  const path = expression.trim();
  const [root, ...rest] = path.split('.');
  const name = rest.join('.');
  const from = (table: Record<string, string> | undefined, label: string): string => {
    if (!table || !(name in table)) throw new Error(`the YAML uses \${{ ${path} }}, which the test's ${label} context does not hold`);
    return table[name]!;
  };
  switch (root) {
    case 'inputs':
      return from(contexts.inputs, 'inputs');
    case 'github':
      return from(contexts.github, 'github');
    case 'secrets':
      // A secret that is not set is the empty string on GitHub too.
      return contexts.secrets?.[name] ?? '';
    case 'env':
      return from(contexts.env, 'env');
    case 'runner':
      if (name === 'temp') return runnerTemp;
      break;
    case 'steps': {
      const match = /^([\w-]+)\.outputs\.([\w-]+)$/.exec(name);
      if (match) return outputs.get(match[1]!)?.[match[2]!] ?? '';
      break;
    }
  }
  throw new Error(`the test cannot evaluate \${{ ${path} }}`);
}

export function substitute(text: string, contexts: Contexts, outputs = new Map<string, Record<string, string>>(), runnerTemp = ''): string {
  return text.replace(/\$\{\{([^}]*)\}\}/g, (_whole, expression: string) => lookup(expression, contexts, outputs, runnerTemp));
}

/** Inputs of a composite action with their defaults (themselves expressions over `github`) filled in. */
export function actionInputs(
  action: { inputs?: Record<string, { default?: unknown }> },
  given: Record<string, string>,
  github: Record<string, string>,
): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    inputs[name] = name in given ? given[name]! : substitute(String(spec.default ?? ''), { github });
  }
  for (const name of Object.keys(given)) if (!(name in inputs)) throw new Error(`the action has no input ${name}`);
  return inputs;
}

/** GITHUB_OUTPUT / GITHUB_ENV syntax: `name=value` lines and `name<<DELIMITER` … `DELIMITER` blocks. */
export function parseCommandFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const body: string[] = [];
      index++;
      while (index < lines.length && lines[index] !== heredoc[2]) body.push(lines[index++]!);
      values[heredoc[1]!] = body.join('\n');
      continue;
    }
    const equals = line.indexOf('=');
    if (equals === -1) throw new Error(`not a command-file line: ${line}`);
    values[line.slice(0, equals)] = line.slice(equals + 1);
  }
  return values;
}

/** A folder of executables to put first on PATH; `deepplan` runs this checkout's dist/cli/main.js. */
export function shimFolder(shims: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'deepplan-shims-'));
  const all = { deepplan: `#!/usr/bin/env bash\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`, ...shims };
  for (const [name, text] of Object.entries(all)) {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

export function runSteps(
  steps: Step[],
  options: { cwd: string; contexts: Contexts; path: string[]; env?: Record<string, string>; stepIf?: (step: Step) => boolean },
): JobResult {
  const runnerTemp = mkdtempSync(join(tmpdir(), 'deepplan-runner-'));
  const githubEnv = join(runnerTemp, '_github_env');
  const githubPath = join(runnerTemp, '_github_path');
  writeFileSync(githubEnv, '');
  writeFileSync(githubPath, '');
  const outputs = new Map<string, Record<string, string>>();
  const results: StepResult[] = [];
  let code = 0;
  let stdout = '';
  for (const [index, step] of steps.entries()) {
    const name = step.id ?? step.name ?? `step ${index + 1}`;
    if (step.uses !== undefined) {
      results.push({ name, skipped: true, code: 0, stdout: '', stderr: '', outputs: {} });
      continue;
    }
    if (step.run === undefined) throw new Error(`${name}: neither run nor uses`);
    if (step.shell !== 'bash') throw new Error(`${name}: shell is ${step.shell}; the steps are meant to be bash`);
    if (step.if !== undefined && !options.stepIf) throw new Error(`${name}: has if: ${step.if}, which this test does not evaluate`);
    if (step.if !== undefined && !options.stepIf!(step)) {
      results.push({ name, skipped: true, code: 0, stdout: '', stderr: '', outputs: {} });
      continue;
    }
    const outputFile = join(runnerTemp, `_output_${index}`);
    writeFileSync(outputFile, '');
    const addedPath = readFileSync(githubPath, 'utf8').split('\n').filter(Boolean).reverse();
    const stepEnv: Record<string, string> = {};
    for (const [key, value] of Object.entries(step.env ?? {})) stepEnv[key] = substitute(String(value), options.contexts, outputs, runnerTemp);
    const env = {
      ...cliEnvironment(),
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      RUNNER_TEMP: runnerTemp,
      GITHUB_WORKSPACE: options.cwd,
      GITHUB_ENV: githubEnv,
      GITHUB_PATH: githubPath,
      GITHUB_OUTPUT: outputFile,
      ...options.env,
      ...parseCommandFile(readFileSync(githubEnv, 'utf8')),
      ...stepEnv,
      PATH: [...addedPath, ...options.path, process.env['PATH'] ?? ''].join(delimiter),
    };
    const script = join(runnerTemp, `_step_${index}.sh`);
    writeFileSync(script, substitute(step.run, options.contexts, outputs, runnerTemp));
    const run = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd: options.cwd, env, encoding: 'utf8', timeout: 120_000 });
    const result: StepResult = {
      name,
      skipped: false,
      code: run.status ?? 1,
      stdout: run.stdout,
      stderr: run.stderr,
      outputs: parseCommandFile(readFileSync(outputFile, 'utf8')),
    };
    if (step.id) outputs.set(step.id, result.outputs);
    results.push(result);
    stdout += run.stdout;
    if (result.code !== 0) {
      code = result.code;
      break;
    }
  }
  return {
    code,
    steps: results,
    stdout,
    step(key: string) {
      const found = results.find((result) => result.name === key);
      if (!found) throw new Error(`no step ${key} ran (steps: ${results.map((result) => result.name).join(', ')})`);
      return found;
    },
  };
}

/** Runs git in `cwd` with a fixed identity; throws with git's message when it fails. */
export function git(cwd: string, ...args: string[]): string {
  const run = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: cwd,
    },
  });
  if (run.status !== 0) throw new Error(`git ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

/** A bare repository to push to, and a clone of it at `main` holding `files` in its first commit. */
export function gitRepoWithOrigin(files: Record<string, string>): { origin: string; work: string } {
  const base = mkdtempSync(join(tmpdir(), 'deepplan-git-'));
  const origin = join(base, 'origin.git');
  const work = join(base, 'work');
  git(base, 'init', '--quiet', '--bare', '--initial-branch=main', origin);
  git(base, 'clone', '--quiet', origin, work);
  git(work, 'checkout', '--quiet', '-B', 'main');
  for (const [path, text] of Object.entries(files)) {
    const full = join(work, path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, text);
  }
  git(work, 'add', '--all');
  git(work, 'commit', '--quiet', '-m', 'first');
  git(work, 'push', '--quiet', 'origin', 'main');
  return { origin, work };
}
