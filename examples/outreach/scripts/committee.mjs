// buying-committee: who decides, with persona and what each cares about.
import { contacts, write } from './lib.mjs';

const people = contacts();
write('committee/contacts.yaml', people.map((p) => `- id: ${p.id}\n  name: ${p.name}\n  title: ${p.title}\n  persona: ${p.persona}\n  cares_about: ${p.cares_about}`).join('\n') + '\n');
