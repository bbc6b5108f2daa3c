import { makeRepo, skillFile, SMALL_PLAN } from './fixtures.js';
import { edits } from './plan-text.js';

/**
 * A plan that runs with no model: every step is a `run:` step or a tool skill (`metadata.run`), each backed by a
 * small script that writes its output. It is the small plan with tool skills, so it lints clean.
 */

/** `node scripts/put.mjs <file> <text...>`: writes the text (a line per argument) to the file. */
export const PUT_SCRIPT = `import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
const [file, ...lines] = process.argv.slice(2);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, lines.join('\\n') + '\\n');
`;

export const SCRIPTED_SKILLS: Record<string, string> = {
  '.claude/skills/fetch-notes/SKILL.md': skillFile('fetch-notes', 'metadata:\n  run: node scripts/put.mjs notes/week.md\n'),
  '.claude/skills/write-summary/SKILL.md': skillFile('write-summary', 'metadata:\n  run: node scripts/put.mjs out/summary.md\n'),
  '.claude/skills/publish-page/SKILL.md': skillFile('publish-page', 'metadata:\n  run: node scripts/put.mjs out/page.html\n'),
  '.claude/skills/hubspot-sync/SKILL.md': skillFile('hubspot-sync'),
  '.claude/skills/newsletter-builder/SKILL.md': skillFile('newsletter-builder'),
};

export const SCRIPTED_PLAN = edits(SMALL_PLAN, [
  ['1. /fetch-notes --week current --out notes/week.md', '1. /fetch-notes "- Acme renewed" "- Globex paused"'],
  ['1. /write-summary notes/week.md --out out/summary.md', '1. /write-summary "- Acme: renewed" "- Globex: paused" "- Initech: new"'],
  [
    '1. /publish-page out/summary.md\n2. run: `node scripts/record-url.mjs out/published.txt`',
    '1. /publish-page "<h1>Summary</h1>"\n2. run: `node scripts/put.mjs out/published.txt https://wiki.example/summary`',
  ],
]);

export function scriptedRepo(plan = SCRIPTED_PLAN, extra: Record<string, string> = {}): string {
  return makeRepo({ 'plans/p.md': plan, 'scripts/put.mjs': PUT_SCRIPT, 'notes/accounts.md': '# Accounts\n', ...SCRIPTED_SKILLS, ...extra });
}
