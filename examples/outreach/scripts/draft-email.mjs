// generate-outreach-email: one Markdown draft per contact, naming the documented problem they care about.
//   node scripts/draft-email.mjs              every contact of the deal
//   node scripts/draft-email.mjs <contact>    that contact only (drafts/<contact>.md)
import { contacts, deal, fail, write } from './lib.mjs';

const d = deal();
const people = contacts(d.deal);
const only = process.argv[2];
if (only !== undefined && !people.some((p) => p.id === only)) fail(`no contact ${only} in crm/contacts/${d.deal}/ (${people.map((p) => p.id).join(', ')})`);
for (const p of people.filter((person) => only === undefined || person.id === only)) {
  const first = p.name.split(' ')[0];
  write(
    `drafts/${p.id}.md`,
    [`Subject: ${p.cares_about}: a way out for ${d.account}`, '', `Hi ${first},`, '', `Your team told us that ${p.cares_about}. We moved two agencies on AEM to a release train that ships every two weeks, with content approvals that no longer wait on engineering.`, '', `Would 20 minutes next week to walk through how, with your numbers, be useful?`, '', `${d.owner}`, ''].join('\n'),
  );
}
