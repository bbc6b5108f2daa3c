// drive-handoff: the summary the deal owner works from, one line per contact, and where everything is.
import { readFileSync } from 'node:fs';
import { contacts, deal, write } from './lib.mjs';

const d = deal();
const drafts = JSON.parse(readFileSync('handoff/drafts.json', 'utf8'));
const lines = contacts(d.deal).map((p) => `- ${p.name} (${p.persona}): ${p.cares_about}; ${drafts.find((draft) => draft.contact === p.id)?.file ?? 'NO DRAFT'}`);
write('handoff/summary.md', [`# Handoff: ${d.account} outreach`, '', ...lines, '', `Folder: handoff/ (drafts under the label AgentCRM/${d.account}; nothing was sent)`, ''].join('\n'));
