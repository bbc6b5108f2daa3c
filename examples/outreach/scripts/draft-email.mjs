// generate-outreach-email: one Markdown draft per contact, naming the documented problem they care about.
import { contacts, deal, write } from './lib.mjs';

const d = deal();
for (const p of contacts(d.deal)) {
  const first = p.name.split(' ')[0];
  write(
    `drafts/${p.id}.md`,
    [`Subject: ${p.cares_about}: a way out for ${d.account}`, '', `Hi ${first},`, '', `Your team told us that ${p.cares_about}. We moved two agencies on AEM to a release train that ships every two weeks, with content approvals that no longer wait on engineering.`, '', `Would 20 minutes next week to walk through how, with your numbers, be useful?`, '', `${d.owner}`, ''].join('\n'),
  );
}
