// Verify commands of the success criteria and phases: node scripts/check.mjs drafts [contact] | gaps | mail
//   drafts            every contact has an HTML draft with the signature block
//   drafts <contact>  that contact has one
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { contacts, fail, openProblems } from './lib.mjs';

const people = contacts();
const what = process.argv[2];
if (what === 'drafts') {
  const only = process.argv[3];
  if (only !== undefined && !people.some((p) => p.id === only)) fail(`no contact ${only} (${people.map((p) => p.id).join(', ')})`);
  const ids = people.map((p) => p.id).filter((id) => only === undefined || id === only);
  const missing = ids.filter((id) => !existsSync(`drafts/${id}.html`));
  if (missing.length > 0) fail(`no HTML draft for ${missing.join(', ')}`);
  const unsigned = ids.filter((id) => !readFileSync(`drafts/${id}.html`, 'utf8').includes('class="signature"'));
  if (unsigned.length > 0) fail(`no signature block in the HTML draft for ${unsigned.join(', ')}`);
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
  fail('usage: node scripts/check.mjs drafts [contact] | gaps | mail');
}
