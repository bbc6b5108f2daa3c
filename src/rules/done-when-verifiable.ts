import type { Phase, Plan } from '../plan/types.js';
import { isGlob, pathsIn } from './plan-paths.js';
import type { Rule } from './rule.js';

/**
 * A phase's `Done when` is what the executor checks before it moves on. Without a verify command the executor's
 * model judges it, so the words must name something a reader can check; a verify command must be able to fail, and
 * must check this phase's own work.
 */

/** Words that leave the judgement to taste. */
const VAGUE = [
  /\blooks?\s+(?:good|fine|right|ok(?:ay)?|great|done|complete)\b/i,
  /\bas\s+(?:appropriate|needed|necessary|required|expected|usual|desired)\b/i,
  /\bin\s+place\s+and\s+works?\b/i,
  /\b(?:works?|working)\s+(?:well|fine|properly|correctly|as\s+intended)\b/i,
  /\b(?:is|are|seems?|feels?)\s+(?:good|fine|ok(?:ay)?|reasonable|sensible|acceptable|adequate|satisfactory|solid|nice|better|ready)\b/i,
  /\bgood\s+enough\b/i,
  /\b(?:properly|appropriately|adequately|sufficiently|reasonably|suitably)\b/i,
  /\bwhere\s+(?:relevant|appropriate|needed|possible)\b/i,
  /\bif\s+(?:needed|necessary|appropriate)\b/i,
  /\b(?:high|good)[- ]quality\b/i,
  /\beverything\s+(?:is\s+)?(?:done|fine|ok(?:ay)?|works|in\s+order)\b/i,
  /\b(?:etc|and\s+so\s+on)\b/i,
];

/** Done-when texts too short to name anything: "done", "complete", "finished", "it works". */
const EMPTY =
  /^\s*(?:(?:it|all|everything|the\s+phase|the\s+step|the\s+work|this)\s+(?:is\s+)?)?(?:done|complete(?:d)?|finished|ok(?:ay)?|works?|ready|fine|yes|n\/?a|-+)\s*\.?\s*$/i;

/** Why a verify command cannot fail, or null. */
export function cannotFail(command: string): string | null {
  const c = command.trim();
  if (/^(?:true|:|exit\s+0)\s*;?$/.test(c)) return `\`${c}\` always succeeds`;
  if (/^(?:echo|printf)\b/.test(c) && !/[|&;]/.test(c)) return `\`${c}\` only prints, so it always succeeds`;
  if (/\|\|\s*(?:true|:|exit\s+0|echo\b[^|&;]*)\s*$/.test(c)) return `\`${c}\` ends in \`|| true\` (or the like), so it always succeeds`;
  if (/;\s*(?:true|:|exit\s+0)\s*$/.test(c)) return `\`${c}\` ends by succeeding whatever came before`;
  if (/^test\s+(?:-[nz]\s+)?["']?[\w .-]+["']?\s*$/.test(c) && !/^test\s+-z/.test(c)) return `\`${c}\` tests a fixed string, so it always succeeds`;
  const ls = /^ls(?:\s+-[a-zA-Z]+)*\s+([^\s|;&*?]+)\/?\s*$/.exec(c);
  if (ls && !/\.[A-Za-z0-9]{1,8}$/.test(ls[1]!)) return `\`${c}\` lists a folder: it succeeds as soon as the folder exists, whatever is in it`;
  return null;
}

/**
 * Entities of per-entity phases: file stems that several phases each write one of, in the same folder
 * (`drafts/ana-silva.md` in one phase, `drafts/kim-larsen.md` in another).
 */
function entityStems(plan: Plan): Set<string> {
  const stemsByFolder = new Map<string, Map<string, Set<string>>>();
  for (const phase of plan.phases) {
    for (const output of phase.outputs) {
      const clean = output.replace(/^`|`$/g, '');
      if (isGlob(clean)) continue;
      const slash = clean.lastIndexOf('/');
      const name = clean.slice(slash + 1);
      // Grouped by folder and extension: drafts/x.md and drafts/x.html are two outputs of the one entity x.
      const folder = `${clean.slice(0, slash + 1)}*${/\.[^.]+$/.exec(name)?.[0] ?? ''}`;
      const stem = name.replace(/\.[^.]+$/, '');
      if (!stemsByFolder.has(folder)) stemsByFolder.set(folder, new Map());
      const stems = stemsByFolder.get(folder)!;
      if (!stems.has(stem)) stems.set(stem, new Set());
      stems.get(stem)!.add(phase.id);
    }
  }
  const entities = new Set<string>();
  for (const stems of stemsByFolder.values()) {
    const single = [...stems].filter(([, phases]) => phases.size === 1);
    const phases = new Set(single.flatMap(([, ids]) => [...ids]));
    if (single.length >= 2 && phases.size >= 2) for (const [stem] of single) if (stem.length >= 3) entities.add(stem);
  }
  return entities;
}

function ownStems(phase: Phase, entities: Set<string>): Set<string> {
  const own = new Set<string>();
  const text = `${phase.title} ${phase.inputs.join(' ')} ${phase.outputs.join(' ')}`;
  for (const stem of entities) if (mentionsWord(text, stem)) own.add(stem);
  return own;
}

/**
 * Whether `word` stands in `text` as a word of its own: no letter, digit, `_` or `-` touches it (the regular
 * expression `(?<![\w-])word(?![\w-])`, answered by indexOf: compiling one expression per entity cost more than
 * the whole search in a cold process).
 */
export function mentionsWord(text: string, word: string): boolean {
  if (word === '') return /(?<![\w-])(?![\w-])/.test(text);
  for (let at = text.indexOf(word); at !== -1; at = text.indexOf(word, at + 1)) {
    if (!isWordCode(text.charCodeAt(at - 1)) && !isWordCode(text.charCodeAt(at + word.length))) return true;
  }
  return false;
}

/** A character of `[\w-]`; NaN (before the start, past the end) is none. */
function isWordCode(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 45;
}

export const doneWhenVerifiable: Rule = {
  id: 'done-when-verifiable',
  severity: 'error',
  description: "A phase's Done when has a verify command that can fail and checks the phase's own work, or names a checkable result in plain words.",
  check(plan, _context, report) {
    const entities = entityStems(plan);
    for (const phase of plan.phases) {
      const done = phase.doneWhen;
      if (phase.malformedHeading || !done || done.verifyMalformed) continue;
      const line = phase.fields.get('done when')?.line ?? phase.heading.start.line;
      const text = done.text
        .replace(/\s*verify:\s*`[^`]*`\s*$/i, '')
        .trim()
        .replace(/[.;,]+$/, '');
      if (done.verify === null) {
        const vague = VAGUE.map((pattern) => pattern.exec(text)).find((match) => match !== null);
        if (EMPTY.test(text) || text.split(/\s+/).filter(Boolean).length < 2) {
          report(`${phase.id} Done when "${text}" names nothing to check; add a verify command or say what must be true`, {
            line,
            fix: `give ${phase.id} a Done when that names the result, with \`verify:\` and a command that fails until it holds`,
          });
        } else if (vague) {
          report(`${phase.id} Done when "${text}" is vague ("${vague[0]}") and has no verify command; say what must be true, or add \`verify:\``, {
            line,
            fix: `replace "${vague[0]}" in ${phase.id}'s Done when with a checkable result, and add \`verify:\` with a command that fails until it holds`,
          });
        }
        continue;
      }
      const cannot = cannotFail(done.verify);
      if (cannot) {
        report(`${phase.id} Done when's verify cannot fail: ${cannot}`, {
          line,
          fix: `make ${phase.id}'s verify check the phase's output, e.g. \`test -s <output>\` or a grep for what must be in it`,
        });
        continue;
      }
      // A per-entity phase must check its own entity's file, not another's.
      const own = ownStems(phase, entities);
      if (own.size === 0) continue;
      const others = [...entities].filter((stem) => !own.has(stem) && mentionsWord(done.verify!, stem));
      const paths = pathsIn(done.verify).map((entry) => entry.path);
      if (others.length > 0) {
        report(`${phase.id} Done when's verify checks ${others.join(', ')}, not ${[...own].join(', ')}, the entity this phase works on`, {
          line,
          fix: `name ${[...own].join(', ')} in ${phase.id}'s verify (${paths.join(', ') || done.verify})`,
        });
      }
    }
  },
};
