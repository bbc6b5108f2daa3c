import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clearMemos, registerMemo } from '../src/plan/memos.js';

// The start-up snapshot is taken after a warm-up that lints sample plans; it empties every memo of the read path
// first (src/plan/memos.ts), or a restored process would start with the samples' parsed Markdown, decoded bytes and
// rule contexts: a plan that is a sample would skip work (a benchmark on it measures less than a user gets), and every
// start would restore them. A memo is safe only if it is registered.

/** The folders whose modules lint and status load (the snapshot's bundle). */
const READ_PATH = ['plan', 'rules', 'lint', 'config', 'skills', 'calibration', 'graph', 'hook', 'cli'];

/** Module-level collections that are no memo of a read. */
const NOT_MEMOS: Record<string, string> = {
  // The locks this process holds, filled by writers only; empty whenever no write is under way.
  'plan/store.ts heldLocks': 'lock registry',
};

function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(folder, entry.name)) : entry.name.endsWith('.ts') ? [join(folder, entry.name)] : [],
  );
}

describe('the read path’s memos', () => {
  it('are all registered, so that the snapshot’s warm-up leaves them empty', () => {
    const unregistered: string[] = [];
    let memos = 0;
    for (const file of READ_PATH.flatMap((folder) => sources(join('src', folder)))) {
      const text = readFileSync(file, 'utf8');
      // A module-level Map, Set or array that the module fills at run time.
      for (const [, name] of text.matchAll(/^(?:const|let) (\w+)(?:: [^=\n]+)? = (?:new (?:Map|Set|WeakMap)\b|\[\])/gm)) {
        if (!new RegExp(`\\b${name}\\.(?:set|add|push|unshift)\\(|remember\\(${name}\\b`).test(text)) continue;
        const key = `${file.slice('src/'.length)} ${name}`;
        if (key in NOT_MEMOS) continue;
        memos++;
        if (!/registerMemo\(/.test(text)) unregistered.push(key);
      }
    }
    expect(memos).toBeGreaterThanOrEqual(8);
    expect(unregistered).toEqual([]);
  });

  it('are emptied by clearMemos, each by its own function', () => {
    const emptied: string[] = [];
    registerMemo(() => emptied.push('a'));
    registerMemo(() => emptied.push('b'));
    clearMemos();
    expect(emptied).toEqual(['a', 'b']);
  });
});
