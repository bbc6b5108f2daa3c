// Verify commands of the success criteria: node scripts/check.mjs drafts | gaps | mail
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { contacts, fail, openProblems } from './lib.mjs';

const people = contacts();
const what = process.argv[2];
if (what === 'drafts') {
  const missing = people.filter((p) => !existsSync(`drafts/${p.id}.html`)).map((p) => p.id);
  if (missing.length > 0) fail(`no HTML draft for ${missing.join(', ')}`);
} else if (what === 'gaps') {
  const problems = openProblems('briefings/account.md');
  for (const file of readdirSync('drafts').filter((name) => name.endsWith('.html'))) {
    if (!problems.some((problem) => readFileSync(`drafts/${file}`, 'utf8').includes(problem))) fail(`${file} names no documented problem`);
  }
} else if (what === 'mail') {
  const drafts = JSON.parse(readFileSync('handoff/drafts.json', 'utf8'));
  if (drafts.length !== people.length) fail(`${drafts.length} drafts for ${people.length} contacts`);
  if (drafts.some((draft) => draft.sent !== false)) fail('a draft was sent');
} else {
  fail('usage: node scripts/check.mjs drafts|gaps|mail');
}
