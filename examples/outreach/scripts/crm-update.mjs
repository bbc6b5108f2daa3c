// agentcrm-update (offline stand-in): the deal's stage, next step and one association per draft.
import { readFileSync } from 'node:fs';
import { deal, write } from './lib.mjs';

const d = deal();
const drafts = JSON.parse(readFileSync('handoff/drafts.json', 'utf8'));
const record = { deal: d.deal, stage: 'outreach', next_step: `${d.owner} sends the ${drafts.length} drafts`, associations: drafts.map((draft) => ({ contact: draft.contact, draft: draft.id })) };
write('crm-sync/deal.json', `${JSON.stringify(record, null, 2)}\n`);
write('handoff/crm.md', [`# CRM changes for ${d.account}`, '', `- Stage: discovery → outreach`, `- Next step: ${record.next_step}`, `- Associations: ${drafts.length}`, ''].join('\n'));
