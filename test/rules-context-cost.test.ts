import { mkdirSync, symlinkSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import picomatch from 'picomatch';
import { globSync, isDynamicPattern } from 'tinyglobby';
import { lintText } from '../src/lint/lint.js';
import { ASCII_MENTIONS, mentionsOf, UNICODE_MENTIONS } from '../src/rules/context-facts.js';
import { createRuleContext, isDynamic, isInsideRepository, listedGlob, pathsUnder, repositoryPath } from '../src/rules/context.js';
import { mentionsWord } from '../src/rules/done-when-verifiable.js';
import { isGlob, overlapIndex, overlapPlaces, overlaps } from '../src/rules/plan-paths.js';
import { plainArguments } from '../src/rules/scope.js';
import { actionInText, forbiddenKinds } from '../src/rules/irreversible-action.js';
import { quoteSkillArguments } from '../src/plan/scope-policy.js';
import { SMALL_PLAN, SMALL_PLAN_SKILLS, edit, makeRepo, writeFile } from './support/fixtures.js';
import { seededDraws, seededRandom } from './support/random.js';

/**
 * `count` random strings of 1 to `longest` characters over those a path may hold, the special ones of globs among them
 * (the same strings for the same seed).
 */
function randomPatterns(seed: number, count: number, longest: number): string[] {
  const alphabet = 'ab./-_ *?[]{}()!+@\\|#$^%~,:;=';
  const random = seededRandom(seed);
  const patterns: string[] = [];
  for (let i = 0; i < count; i++) {
    let text = '';
    for (let n = 1 + Math.floor(random() * longest); n > 0; n--) text += alphabet[Math.floor(random() * alphabet.length)];
    patterns.push(text);
  }
  return patterns;
}

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
    samples.push('a\\*.md', 'a|b', 'notes/p2-extract.md', './x.md', 'a b/c.d', '', ...randomPatterns(18, 3000, 6));
    for (const sample of samples) expect([sample, isDynamic(sample)]).toEqual([sample, isDynamicPattern(sample)]);
  });

  it("says a pattern is a glob exactly when picomatch's scan does (its fast answer for plain paths included)", () => {
    const samples = ['a/b.md', 'a/*.md', 'a/?.md', 'a/[ab].md', 'a/{b,c}.md', '!a.md', '!a/*.md', 'a/@(b).md', 'a/+(b).md', 'a/!(b).md'];
    samples.push('a/(b).md', 'a\\*.md', 'a\\(b).md', '\\[x]', 'a|b', 'notes/p2-extract.md', './x.md', 'a b/c.d', '', '@', '+', '!');
    samples.push(...randomPatterns(7, 5000, 7));
    for (const sample of samples) expect([sample, isGlob(sample)]).toEqual([sample, picomatch.scan(sample).isGlob]);
  });

  it('reads a file once for a line count and a text, in either order, and both answer as when read alone', () => {
    const big = `${'x'.repeat(1023)}\n`.repeat(1025);
    const files = { 'a.md': 'one\ntwo', 'nul.yaml': 'a: 1\n\0\n', 'big.md': big, 'dir/x.md': 'x\n' };
    const root = makeRepo(files);
    const names = [...Object.keys(files), 'dir', 'missing.md'];
    const alone = names.map((file) => [createRuleContext(root, {}).lineCount(file), createRuleContext(root, {}).readText(file)]);
    expect(alone.map(([count]) => count)).toEqual([2, 2, 1025, 1, null, null]);
    expect(alone.map(([, text]) => text)).toEqual(['one\ntwo', null, null, 'x\n', null, null]);
    const countFirst = createRuleContext(root, {});
    expect(names.map((file) => [countFirst.lineCount(file), countFirst.readText(file)])).toEqual(alone);
    const statFirst = createRuleContext(root, {});
    for (const file of names) statFirst.expand(file);
    expect(names.map((file) => [statFirst.readText(file), statFirst.lineCount(file)])).toEqual(alone.map(([count, text]) => [text, count]));
    const readFirst = createRuleContext(root, {});
    expect(names.map((file) => [readFirst.readText(file), readFirst.lineCount(file)])).toEqual(alone.map(([count, text]) => [text, count]));
  });
});

describe('context-facts reads only the records that may name someone the plan titles', () => {
  const P2_STEP = '1. /write-summary notes/week.md --out out/summary.md\n';
  const reading = edit(SMALL_PLAN, '- Inputs: notes/accounts.md', '- Inputs: crm/contacts/*.yaml, notes/brief.md');
  const titles = (step: string, files: Record<string, string>) => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, ...files });
    const findings = lintText(edit(reading, P2_STEP, `${P2_STEP}2. ${step}\n`), join(root, 'plans', 'p.md'));
    return findings.filter((finding) => finding.ruleId === 'context-facts').map((finding) => finding.message);
  };

  it('still finds a person spelled with an escape, in capitals, or in a briefing, and a second person of that first name', () => {
    const kim = 'P2.2 calls Kim Larsen CMO, but per crm/contacts/b.yaml Kim Larsen is vp marketing';
    const other = { 'crm/contacts/a.yaml': 'name: Ana Silva\ntitle: CTO\n' };
    expect(titles('Address it to Kim, the CMO.', { ...other, 'crm/contacts/b.yaml': 'name: "\\x4Bim Larsen"\ntitle: VP Marketing\n' })).toEqual([kim]);
    expect(titles('Address it to Kim, the CMO.', { ...other, 'crm/contacts/b.yaml': 'name: KIM LARSEN\ntitle: VP Marketing\n' })).toEqual([
      'P2.2 calls KIM LARSEN CMO, but per crm/contacts/b.yaml KIM LARSEN is vp marketing',
    ]);
    expect(titles('Address it to Kim, the CMO.', { ...other, 'notes/brief.md': 'Kim Larsen \u2014 VP Marketing\n' })).toEqual([
      'P2.2 calls Kim Larsen CMO, but per notes/brief.md Kim Larsen is vp marketing',
    ]);
    // Two people named Kim: the first name alone names nobody.
    const twoKims = { ...other, 'crm/contacts/b.yaml': 'name: Kim Larsen\ntitle: VP Marketing\n', 'crm/contacts/c.yaml': 'name: Kim Park\ntitle: CFO\n' };
    expect(titles('Address it to Kim, the CMO.', twoKims)).toEqual([]);
    expect(titles('Address it to Kim Park, the CMO.', twoKims)).toEqual(['P2.2 calls Kim Park CMO, but per crm/contacts/c.yaml Kim Park is CFO']);
    // Names with a hyphen (a character of the search's own syntax) and with a letter beyond ASCII, in capitals.
    expect(titles('Address it to Anne-Marie Dubois, the CMO.', { ...other, 'crm/contacts/b.yaml': 'name: ANNE-MARIE DUBOIS\ntitle: CFO\n' })).toEqual([
      'P2.2 calls ANNE-MARIE DUBOIS CMO, but per crm/contacts/b.yaml ANNE-MARIE DUBOIS is CFO',
    ]);
    expect(titles('Address it to Zo\u00eb Brandt, the CMO.', { ...other, 'crm/contacts/b.yaml': 'name: ZO\u00cb BRANDT\ntitle: CFO\n' })).toEqual([
      'P2.2 calls ZO\u00cb BRANDT CMO, but per crm/contacts/b.yaml ZO\u00cb BRANDT is CFO',
    ]);
  });
});

describe('overlapIndex', () => {
  it('answers as overlaps against every pattern standing elsewhere', () => {
    const patterns = ['a/b.md', './a/b.md', '`a/b.md`', 'a/*.md', 'a/**', 'c/{x,y}.md', 'c/x.md', 'c/z.md', ' a/c.md ', 'd/?.md', 'd/e.md', '``a/b.md`'];
    const entries = patterns.map((pattern, index) => ({ pattern, at: index % 4 }));
    const index = overlapIndex(entries);
    for (const pattern of [...patterns, 'a/x.md', 'c/y.md', 'b/*.md', 'e/f.md', 'd/1.md', '`a/b.md'])
      for (const except of [-1, 0, 1, 2, 3]) {
        const expected = entries.some((entry) => entry.at !== except && overlaps(entry.pattern, pattern));
        expect([pattern, except, index(pattern, except)]).toEqual([pattern, except, expected]);
      }
  });
});

describe('filesIn', () => {
  it("lists a folder's files as the glob does, with the files of its subfolders left out", () => {
    const root = makeRepo({
      'a.md': '',
      README: '',
      '.hidden.md': '',
      'docs/one.md': '',
      'docs/two.md': '',
      'docs/.three.md': '',
      'docs/four.MD': '',
      'docs/five.md.bak': '',
      'docs/six.yaml': '',
      'docs/a b.md': '',
      'docs/back\\slash.md': '',
      'docs/x.md/inner.md': '',
      'docs/sub/deep.md': '',
      'docs/node_modules/n.md': '',
      'crm/deals/stage-3/d1.yaml': '',
      'crm/deals/stage-3/d2.yaml': '',
      'linked/real.md': '',
      'node_modules/pkg/x.md': '',
      '.github/w/a.yml': '',
      'my docs/a.md': '',
      'my docs/b.md': '',
      'v1.2/x.md': '',
    });
    mkdirSync(join(root, 'empty'));
    symlinkSync(join(root, 'docs/one.md'), join(root, 'linked/link.md'));
    const asked: Array<[string, string]> = [
      ['', '.md'],
      ['', ''],
      ['docs/', '.md'],
      ['docs/', ''],
      ['docs/', '.yaml'],
      ['docs/', '.MD'],
      ['docs/', '.md.bak'],
      ['crm/deals/stage-3/', '.yaml'],
      ['linked/', '.md'],
      ['empty/', '.md'],
      ['missing/', '.md'],
      ['node_modules/pkg/', '.md'],
      ['.github/w/', '.yml'],
      ['docs/sub/', '.md'],
      ['my docs/', '.md'],
      ['v1.2/', '.md'],
    ];
    const context = createRuleContext(root, {});
    for (const [folder, extension] of asked) {
      const globbed = createRuleContext(root, {})
        .expand(`${folder}*${extension}`)
        .filter((file) => !file.slice(folder.length).includes('/'));
      expect([folder, extension, context.filesIn(folder, extension)]).toEqual([folder, extension, globbed]);
    }
    expect(context.filesIn('docs/', '.yaml')).toEqual(['docs/six.yaml']);
    expect(context.filesIn('crm/deals/stage-3/', '.yaml')).toEqual(['crm/deals/stage-3/d1.yaml', 'crm/deals/stage-3/d2.yaml']);
  });
});

describe('mentionsWord', () => {
  it('answers as the expression (?<![\\w-])word(?![\\w-]) does', () => {
    const texts = ['acme', 'acme-co', 'the acme.md file', 'xacme acme', '_acme', 'acme_', 'aaa', 'a.a a*a', 'acmé acme', '', 'ACME acme2 acme'];
    const words = ['acme', 'aa', 'a', 'a.a', 'a*a', 'é', 'acme2', 'me'];
    for (const text of texts)
      for (const word of words) {
        const expected = new RegExp(`(?<![\\w-])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`).test(text);
        expect([text, word, mentionsWord(text, word)]).toEqual([text, word, expected]);
      }
  });
});

describe('plainArguments', () => {
  it('passes only arguments quoteSkillArguments passes, and most plain ones', () => {
    const alphabet = 'ab./-_ 0.';
    const random = seededRandom(7);
    let passed = 0;
    for (let i = 0; i < 4000; i++) {
      let args = '';
      for (let n = 1 + Math.floor(random() * 10); n > 0; n--) args += alphabet[Math.floor(random() * alphabet.length)];
      if (!plainArguments(args)) continue;
      passed++;
      expect([args, quoteSkillArguments(args)]).toEqual([args, args.trim().split(/ +/).join(' ')]);
    }
    expect(passed).toBeGreaterThan(1000);
    for (const args of ['notes/week.md --out out/summary.md', '--tier 2 crm/a.yaml']) expect(plainArguments(args)).toBe(true);
    for (const args of ['../x', 'a/../b', '..', 'a && b', '"a b"', '$HOME', 'a*', 'a\nb', "it's", 'a;b', 'a|b', '#c', '~/x'])
      expect(plainArguments(args), args).toBe(false);
  });
});

describe('forbiddenKinds, asking each expression only of texts with its words', () => {
  it('still finds every kind, in any case', () => {
    const samples: Array<[string, string[]]> = [
      ['DRAFTS ONLY', ['send', 'post']],
      ['Nothing Gets Sent', ['send']],
      ["We mustn’t send; we MUSTN'T SEND", ['send']],
      ['Stay Unsent', ['send']],
      ['Nothing goes LIVE', ['publish', 'post']],
      ['Internal Only', ['publish', 'post']],
      ['No Posting', ['post']],
      ['No Deletions', ['delete']],
      ['Never Purge the archive', ['delete']],
      ['No Deployments', ['deploy']],
      ['Cannot Restore', ['restore']],
      ['Nothing is PAID', ['pay']],
      ['No Payments', ['pay']],
      ['No Merges', ['merge']],
      ['Change Nothing', ['send', 'publish', 'post', 'delete', 'deploy', 'restore', 'pay', 'merge']],
      ['READ-ONLY.', ['send', 'publish', 'post', 'delete', 'deploy', 'restore', 'pay', 'merge']],
      ['Links only from the last week', []],
    ];
    for (const [text, kinds] of samples) expect([text, [...forbiddenKinds([text]).keys()].sort()]).toEqual([text, [...kinds].sort()]);
  });
});

describe('overlapPlaces', () => {
  it('finds the places of every pattern that overlaps, as overlaps does', () => {
    const patterns = ['a/b.md', './a/b.md', 'a/*.md', 'a/**', 'c/{x,y}.md', 'c/x.md', ' a/c.md ', 'd/?.md', 'd/e.md', '``a/b.md`', 'e/f.md'];
    const entries = patterns.map((pattern, index) => ({ pattern, at: index % 5 }));
    const places = overlapPlaces(entries);
    for (const pattern of [...patterns, 'a/x.md', 'c/y.md', 'b/*.md', 'e/*', 'd/1.md', '`a/b.md', 'z.md']) {
      const expected = [...new Set(entries.filter((entry) => overlaps(entry.pattern, pattern)).map((entry) => entry.at))].sort();
      expect([pattern, [...places(pattern)].sort()]).toEqual([pattern, expected]);
    }
  });
});

describe('actionInText, searching each kind only in texts with its words', () => {
  it('still finds every kind, in any case', () => {
    const samples: Array<[string, string | null]> = [
      ['Send the drafts', 'send'],
      ['Then E-Mail Out the list', 'send'],
      ['Review, then Dispatch', 'send'],
      ['Go Live With the page', 'publish'],
      ['Make Public the notes', 'publish'],
      ['Post to #general', 'post'],
      ['Wipe the cache', 'delete'],
      ['DROP the users table', 'delete'],
      ['Roll Out the change', 'deploy'],
      ['Ship it to production', 'deploy'],
      ['Release it to customers', 'deploy'],
      ['Roll Back the database', 'restore'],
      ['Refund the customer', 'pay'],
      ['Wire the funds', 'pay'],
      ['Charge the card', 'pay'],
      ['Merge the PR', 'merge'],
      ['Summarise the notes', null],
      ['Write "send it" in the notes', null],
    ];
    for (const [text, kind] of samples) expect([text, actionInText(text)?.kind ?? null]).toEqual([text, kind]);
  });
});

describe('phase-context-mode, answering a direct phase of few bytes without reading', () => {
  const contextMode = (files: Record<string, string>) => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, ...files });
    return lintText(SMALL_PLAN, join(root, 'plans', 'p.md'))
      .filter((finding) => finding.ruleId === 'phase-context-mode')
      .map((finding) => finding.message);
  };

  it('judges inputs of 2,999 and 3,000 one-byte lines as it judges longer ones', () => {
    expect(contextMode({ 'notes/accounts.md': '\n'.repeat(2999) })).toEqual([]);
    expect(contextMode({ 'notes/accounts.md': '\n'.repeat(3000) })).toEqual([
      'P1 reads 3,000 input lines with Context `direct`; that size needs `extract_then_assemble`',
    ]);
    expect(contextMode({ 'notes/accounts.md': 'x'.repeat(5000) })).toEqual([]);
  });
});

describe('pathsUnder', () => {
  it('joins a repository folder and a path exactly as path.join does', () => {
    const segments = ['a', 'notes', '.', '..', '', '.x', 'x.', '...', 'a\\b', 'é', 'a b', '*.md', '<account>'];
    const roots = ['/repo', '/repo/', '/', '/srv/work/acme', '/a/./b', '/a//b', '/a/../b', 'relative/root', ''];
    const next = seededDraws(7);
    let plain = 0;
    for (const root of roots) {
      const under = pathsUnder(root);
      for (let index = 0; index < 800; index++) {
        const path = Array.from({ length: 1 + next(4) }, () => segments[next(segments.length)]!).join('/');
        const withLead = next(6) === 0 ? `/${path}` : next(6) === 0 ? `./${path}` : path;
        expect(under(withLead), `${root} + ${withLead}`).toBe(join(root, withLead));
        if (!/(?:^|\/)\.{1,2}(?:\/|$)|\/\/|\\/.test(withLead) && withLead !== '' && withLead[0] !== '/') plain++;
      }
      expect(under('')).toBe(join(root, ''));
    }
    // Most draws are plain paths, the case answered without join.
    expect(plain).toBeGreaterThan(1000);
  });
});

describe('repositoryPath', () => {
  it("names a glob's path as resolve() and relative() do", () => {
    const segments = ['a', 'notes', '.', '..', '', '.x', '...', 'a\\b', 'é', 'a b', 'crm', 'acct-001'];
    const next = seededDraws(5);
    let plain = 0;
    for (const root of ['/repo', '/repo/', '/', '/srv/work/acme']) {
      const name = repositoryPath(root);
      for (let index = 0; index < 800; index++) {
        const path = Array.from({ length: 1 + next(4) }, () => segments[next(segments.length)]!).join('/');
        const file = next(8) === 0 ? `/repo/${path}` : next(8) === 0 ? `${path}/` : path;
        expect(name(file), `${root} + ${file}`).toBe(relative(root, resolve(root, file)));
        if (file === name(file)) plain++;
      }
    }
    expect(plain).toBeGreaterThan(1000);
  });
});

describe('mentionsOf', () => {
  it('finds in a text of ASCII and punctuation what the patterns for letters of any script find', () => {
    const tokens = [
      'Kim Larsen',
      'Ana',
      'Derick Schaefer',
      'Michael',
      'Lena Ortiz-Brandt',
      "O'Neil",
      'ask',
      'the',
      'our',
      'draft',
      'Send',
      'Sign',
      'CTO',
      'ceo',
      'Chief Technology Officer',
      'VP of Sales',
      'VP Marketing',
      'head of Ops',
      'content director',
      'founder',
      'account lead',
      'President',
      '\u2014',
      '\u2013',
      '-',
      '--',
      ',',
      ':',
      '(',
      ')',
      'as',
      'is',
      'as the',
      '.',
      '\u201cquoted\u201d',
      '\u2022',
      '\u00a0',
      '\n',
      'sign as',
      'Kim\u2019s',
      'x',
      '42',
    ];
    const next = seededDraws(23);
    let found = 0;
    for (let index = 0; index < 3000; index++) {
      const text = Array.from({ length: 2 + next(14) }, () => tokens[next(tokens.length)]!).join(next(5) === 0 ? '' : ' ');
      const expected = mentionsOf(text, UNICODE_MENTIONS);
      expect(mentionsOf(text, ASCII_MENTIONS), JSON.stringify(text)).toEqual(expected);
      expect(mentionsOf(text), JSON.stringify(text)).toEqual(expected);
      found += expected.length;
    }
    expect(found).toBeGreaterThan(500);
    // Beyond ASCII the patterns for any script are taken: a name with an accent is found whole.
    expect(mentionsOf('Zo\u00eb Brandt, the CMO, approves.')).toEqual([{ name: 'Zo\u00eb Brandt', title: 'CMO' }]);
  });
});

describe('listedGlob', () => {
  it('finds what tinyglobby finds for globs of folder names and stars, on drawn trees, or leaves the glob to it', () => {
    const next = seededDraws(31);
    const names = ['a', 'b', 'acct-001', 'acct-002', 'x.yaml', 'y.yaml', 'notes.md', '.hidden', '.env.yaml', 'd.yaml', 'a b', 'readme'];
    const segments = ['*', '*', '*', '*.yaml', '*.yaml', 'a*', '*-00*', 'acct-001', 'x.yaml', 'notes.md', '*.md', 'd.yaml', '**', '.hidden', 'a b', '?'];
    let listed = 0;
    let files = 0;
    for (let tree = 0; tree < 12; tree++) {
      const root = makeRepo({});
      // Two levels of folders, files at each level; now and then a folder where a file name was, or a link.
      for (const first of names) {
        if (next(3) === 0) continue;
        if (next(3) === 0) writeFile(root, first, 'x\n');
        else
          for (const second of names) {
            if (next(2) === 0) continue;
            const path = `${first}/${second}`;
            if (next(4) === 0) mkdirSync(join(root, path, 'inner'), { recursive: true });
            else if (next(25) === 0) {
              mkdirSync(join(root, first), { recursive: true });
              symlinkSync(join(root, first), join(root, path));
            } else writeFile(root, path, 'x\n');
          }
      }
      // A folder the glob ignores, in some trees.
      if (next(4) === 0) writeFile(root, 'node_modules/acct-001/x.yaml', 'x\n');
      const under = pathsUnder(root);
      for (let draw = 0; draw < 60; draw++) {
        const pattern = Array.from({ length: 1 + next(3) }, () => segments[next(segments.length)]!).join('/');
        if (!isDynamic(pattern)) continue;
        const expected = globSync(pattern, { cwd: root, onlyFiles: true, dot: false, ignore: ['**/node_modules/**', '.git/**'] }).sort();
        const answer = listedGlob(under, pattern);
        if (answer === null) continue;
        expect(answer, `${pattern} in tree ${tree}`).toEqual(expected);
        listed++;
        files += answer.length;
      }
    }
    // Most drawn globs are answered by listing, and they find files.
    expect(listed).toBeGreaterThan(150);
    expect(files).toBeGreaterThan(200);
  });
});

describe('isInsideRepository', () => {
  it('refuses exactly the paths with a `..` segment, among relative ones, as splitting them at / and \\ does', () => {
    const segments = ['a', '..', '.', '...', '..a', 'a..', '', 'b\\..', '..\\c', '.git'];
    const next = seededDraws(11);
    let refused = 0;
    for (let index = 0; index < 3000; index++) {
      const path = Array.from({ length: 1 + next(4) }, () => segments[next(segments.length)]!).join(next(3) === 0 ? '\\' : '/');
      if (path.startsWith('/') || path.startsWith('~') || /^[A-Za-z]:[\\/]/.test(path)) continue;
      const expected = !path.split(/[\\/]/).includes('..');
      expect(isInsideRepository(path), path).toBe(expected);
      if (!expected) refused++;
    }
    expect(refused).toBeGreaterThan(300);
  });
});
