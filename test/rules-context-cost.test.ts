import { describe, expect, it } from 'vitest';
import { isDynamicPattern } from 'tinyglobby';
import { createRuleContext, isDynamic } from '../src/rules/context.js';
import { makeRepo, writeFile } from './support/fixtures.js';

/** The rule context's shortcuts (issue #18) answer as the slower ways they replace. */
describe('the rule context, answered cheaply', () => {
  it('counts lines as the bytes do: CRLF, no final newline, malformed UTF-8, empty, a folder, a missing file', () => {
    const root = makeRepo({
      'a.md': 'one\r\ntwo\r\n',
      'b.md': 'one\ntwo',
      'e.md': '',
      'dir/x.md': 'x\n',
    });
    writeFile(root, 'c.md', new Uint8Array([0xe2, 0x0a, 0xff, 0xc3, 0x0a, 0x41, 0xf0, 0x9f]));
    writeFile(root, 'd.md', new Uint8Array([0x41, 0xe2, 0x82, 0x0a]));
    const context = createRuleContext(root, {});
    // Through a stat made by expand (plain paths) and without one (a glob's files).
    expect(['a.md', 'b.md', 'c.md', 'd.md', 'e.md'].map((file) => context.expand(file).length)).toEqual([1, 1, 1, 1, 1]);
    expect(['a.md', 'b.md', 'c.md', 'd.md', 'e.md', 'dir', 'missing.md'].map((file) => context.lineCount(file))).toEqual([2, 2, 3, 1, 0, null, null]);
    const globbed = createRuleContext(root, {});
    expect(globbed.expand('*.md')).toEqual(['a.md', 'b.md', 'c.md', 'd.md', 'e.md']);
    expect(['a.md', 'b.md', 'c.md', 'd.md', 'e.md'].map((file) => globbed.lineCount(file))).toEqual([2, 2, 3, 1, 0]);
  });

  it("says a pattern is dynamic exactly when tinyglobby's isDynamicPattern does", () => {
    const samples = ['a/b.md', 'a/*.md', 'a/?.md', 'a/[ab].md', 'a/{b,c}.md', '!a.md', 'a/@(b).md', 'a/+(b).md', 'a/!(b).md', 'a/(b).md'];
    samples.push('a\\*.md', 'a|b', 'notes/p2-extract.md', './x.md', 'a b/c.d', '');
    // Random strings over the characters a path may hold, the special ones among them.
    const alphabet = 'ab./-_ *?[]{}()!+@\\|#$^%~,:;=';
    let seed = 18;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 3000; i++) {
      let text = '';
      for (let n = 1 + Math.floor(random() * 6); n > 0; n--) text += alphabet[Math.floor(random() * alphabet.length)];
      samples.push(text);
    }
    for (const sample of samples) expect([sample, isDynamic(sample)]).toEqual([sample, isDynamicPattern(sample)]);
  });
});
