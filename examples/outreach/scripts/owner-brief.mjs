// The brief the deal owner approves before any draft: account, goal, contacts in scope.
import { contacts, deal, write } from './lib.mjs';

const d = deal();
const people = contacts(d.deal);
write(
  'handoff/owner.md',
  [`# Outreach to ${d.account}: for ${d.owner} to approve`, '', `Goal: one email per buying-committee member, angle ${d.angle}. Drafts only; ${d.owner} sends them.`, '', 'Contacts in scope:', ...people.map((p) => `- ${p.name}, ${p.title}`), ''].join('\n'),
);
