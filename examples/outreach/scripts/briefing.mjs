// account-briefing: refreshes the account briefing from the last one and the deal record.
import { readFileSync } from 'node:fs';
import { deal, fail, openProblems, write } from './lib.mjs';

const d = deal();
const source = `briefings/${d.deal}.md`;
const problems = openProblems(source);
if (problems.length === 0) fail(`${source} lists no open problems`);
const body = readFileSync(source, 'utf8').split('\n').slice(1).join('\n').trim();
write('briefings/account.md', [`# ${d.account}: account briefing`, '', `Deal stage: ${d.stage}. Owner: ${d.owner}.`, '', body, ''].join('\n'));
