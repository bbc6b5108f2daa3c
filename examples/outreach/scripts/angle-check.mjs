// angle-check: the angle holds for a persona when what they care about is a documented open problem.
import { contacts, openProblems, write } from './lib.mjs';

const problems = openProblems('briefings/account.md');
const lines = contacts().map((p) => `- ${p.name} (${p.persona}): ${problems.includes(p.cares_about) ? 'supported' : 'NOT supported'} by "${p.cares_about}"`);
const pass = lines.every((line) => line.includes(': supported'));
write('committee/angle.md', ['# Angle check: AEM delivery gap', '', ...lines, '', `Verdict: ${pass ? 'PASS' : 'FAIL'}`, ''].join('\n'));
if (!pass) process.exit(1);
