import { parse as parseShell, quote as quoteShell } from 'shell-quote';

/**
 * The executor's refusals that depend on nothing but the text of a command or a skill step's arguments. The executor
 * applies them before it runs anything (src/execute/scope.ts); the lint rules apply the same functions, so a plan that
 * lints clean is not refused at its first iteration for one of these reasons.
 */

export class ScopeError extends Error {
  override name = 'ScopeError';
}

/** Whether `command` starts with `prefix` at a word boundary: `node scripts/` allows `node scripts/x.mjs`, `git status` not `git statusx`. */
export function startsWithPrefix(command: string, prefix: string): boolean {
  const trimmed = command.trim();
  const p = prefix.trim();
  if (p === '' || !trimmed.startsWith(p)) return false;
  return p.endsWith('/') || p.endsWith(' ') || trimmed.length === p.length || /\s/.test(trimmed[p.length]!);
}

/** Why the command names a path with `..`, or null. `node scripts/../x.mjs` would pass the prefix `node scripts/` and run a file outside it. */
export function parentPathRefusal(command: string): string | null {
  const trimmed = command.trim();
  return trimmed.split(/\s+/).some((word) => word.split('/').includes('..')) ? `"${trimmed}" names a path with ..; name it from the repository root` : null;
}

/** Why the command chains commands, or null. A chained command would run its second half without the prefix check. */
export function chainRefusal(command: string): string | null {
  const trimmed = command.trim();
  return /[;&|`\n]|\$\(/.test(trimmed) ? `"${trimmed}" chains commands (; & | \` $( or a line break); run one command per action` : null;
}

/** Throws unless `command` starts with one of scope.commands (at a word boundary) and holds no `..` path and no chaining. */
export function checkCommand(scope: { commands: string[] | null }, command: string): void {
  const trimmed = command.trim();
  if (trimmed === '') throw new ScopeError('empty command');
  if (scope.commands === null) return;
  if (!scope.commands.some((prefix) => startsWithPrefix(trimmed, prefix))) {
    throw new ScopeError(`"${trimmed}" does not start with an allowed prefix (scope.commands: ${scope.commands.join(', ')})`);
  }
  const refusal = parentPathRefusal(trimmed) ?? chainRefusal(trimmed);
  if (refusal) throw new ScopeError(refusal);
}

/**
 * A tool skill step's arguments as they go after the skill's own command in one shell line: read as the plan's
 * author quoted them, then every word quoted again, so nothing in them (`$(…)`, backticks, a line break) is run.
 * Plain globs (`drafts/*.md`) stay globs; an operator (`;`, `&&`, `|`, `>`, …) is refused, and so is a path with `..`.
 */
export function quoteSkillArguments(args: string): string {
  const words: string[] = [];
  for (const token of parseShell(args, (name) => `$${name}`)) {
    if (typeof token === 'string') words.push(quoteShell([token]));
    else if ('op' in token && token.op === 'glob' && /^[\w./*?@-]+$/.test(token.pattern)) words.push(token.pattern);
    else
      throw new ScopeError(
        `the arguments "${args}" hold shell syntax (${'op' in token ? token.op : 'a comment'}); give the skill plain arguments, quoted where they hold spaces or symbols`,
      );
  }
  if (words.some((word) => word.replace(/^'|'$/g, '').split('/').includes('..')))
    throw new ScopeError(`the arguments "${args}" name a path with ..; name it from the repository root`);
  return words.join(' ');
}

/**
 * Why a scope.write glob covers the whole repository, or null: its first segment is a wildcard (`**`, `*`, `{a,b}`)
 * or it names the root itself (`.`, `/`). Such a scope would cover every file the engine reads.
 */
export function wholeRepositoryRefusal(pattern: string): string | null {
  const clean = pattern.trim().replace(/^\.\//, '');
  if (clean === '' || clean === '.' || clean === '/' || clean === './') return `scope.write "${pattern}" is the whole repository`;
  const first = clean.split('/')[0]!;
  if (/[*?{}[\]!]/.test(first)) return `scope.write "${pattern}" starts with a wildcard, so it covers the whole repository`;
  return null;
}
