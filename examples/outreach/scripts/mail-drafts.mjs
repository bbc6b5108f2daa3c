// gmail-drafts (offline stand-in): records each HTML draft as an unsent, labelled draft in handoff/drafts.json.
import { readdirSync } from 'node:fs';
import { deal, write } from './lib.mjs';

const d = deal();
const drafts = readdirSync('drafts').filter((name) => name.endsWith('.html')).sort().map((file, index) => ({ id: `draft-${String(index + 1).padStart(3, '0')}`, contact: file.replace(/\.html$/, ''), file: `drafts/${file}`, label: `AgentCRM/${d.account}`, sent: false }));
write('handoff/drafts.json', `${JSON.stringify(drafts, null, 2)}\n`);
