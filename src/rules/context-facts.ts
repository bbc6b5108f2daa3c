import { parse as parseYaml } from 'yaml';
import type { Plan } from '../plan/types.js';
import { cleanPattern, isGlob, pathsIn } from './plan-paths.js';
import type { Report, Rule, RuleContext } from './rule.js';

/**
 * Facts the plan states, against the context pack it reads.
 *
 * Counts: the entity folders the plan reads (an input glob such as `crm/contacts/mod-op/*.yaml`, or two or more files
 * of one folder) give the number of entities. A count in a criterion, a phase title, a Done when or a step that is
 * about those entities ("seven drafts" where the plan says "one draft per contact", "(six in all)", `-eq 7` over a
 * glob) must be that number, or the number of files the same phase or verify names one by one (a subset).
 *
 * Titles and roles: people's titles come from the structured records the plan reads (YAML or JSON with `name` and
 * `title`, `role`, `position` or `job_title`), the briefings it reads ("Name — CTO", "Name (CTO)"), its Stakeholders,
 * its Constraints and the front matter's `owner`. Where the plan gives a known person another title ("Michael, CTO"
 * where the Stakeholders say CEO), or the sender another title than the owner's, that is an error.
 */

const NUMBER_WORDS: Record<string, number> = {
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
  twenty: 20,
  thirty: 30,
  forty: 40,
  fifty: 50,
  sixty: 60,
  seventy: 70,
  eighty: 80,
  ninety: 90,
  hundred: 100,
};
const NUMBER = String.raw`(\d{1,4}|${Object.keys(NUMBER_WORDS).join('|')})`;

function numberOf(word: string): number {
  return /^\d+$/.test(word) ? Number(word) : NUMBER_WORDS[word.toLowerCase()]!;
}

function singular(word: string): string {
  const w = word.toLowerCase();
  if (w === 'people') return 'person';
  if (/ies$/.test(w)) return `${w.slice(0, -3)}y`;
  if (/(?:ses|xes|ches|shes)$/.test(w)) return w.slice(0, -2);
  if (/s$/.test(w) && !/ss$/.test(w)) return w.slice(0, -1);
  return w;
}

const PEOPLE = ['contact', 'person', 'member', 'stakeholder', 'recipient', 'subscriber', 'lead', 'prospect', 'customer', 'client', 'persona'];

interface EntitySet {
  folder: string;
  count: number;
  noun: string;
}

function entitySets(plan: Plan, context: Pick<RuleContext, 'expand' | 'filesIn'>): EntitySet[] {
  const byFolder = new Map<string, Set<string>>();
  // The files of a folder by extension, added once: a plan that reads 120 articles one phase each names the folder
  // 120 times (adding its 120 files each time made this rule quadratic in the entities).
  const listed = new Set<string>();
  for (const phase of plan.phases) {
    for (const input of phase.inputs) {
      const pattern = cleanPattern(input);
      const slash = pattern.lastIndexOf('/');
      const name = pattern.slice(slash + 1);
      const folder = pattern.slice(0, slash + 1);
      if (isGlob(folder)) continue;
      if (!isGlob(name)) {
        if (!byFolder.has(`?${folder}`)) byFolder.set(`?${folder}`, new Set());
        byFolder.get(`?${folder}`)!.add(pattern);
      }
      // A glob over one folder's files, or one file of a folder the plan reads file by file.
      let direct: string[];
      if (isGlob(name)) {
        direct = context.expand(pattern).filter((file) => !file.slice(folder.length).includes('/'));
      } else {
        const extension = /\.[^.]+$/.exec(name)?.[0] ?? '';
        const key = `${folder}\u0000${extension}`;
        if (listed.has(key) || context.expand(pattern).length === 0) continue;
        listed.add(key);
        direct = context.filesIn(folder, extension);
      }
      if (direct.length < 2) continue;
      if (!byFolder.has(folder)) byFolder.set(folder, new Set());
      for (const file of direct) byFolder.get(folder)!.add(file);
    }
  }
  const sets: EntitySet[] = [];
  for (const [folder, files] of byFolder) {
    if (folder.startsWith('?')) continue;
    // A folder read one file at a time counts only when the plan reads two or more of its files.
    const named = byFolder.get(`?${folder}`);
    const viaGlob = plan.phases.some((phase) =>
      phase.inputs.some((input) => isGlob(cleanPattern(input).slice(folder.length)) && cleanPattern(input).startsWith(folder)),
    );
    if (!viaGlob && (named?.size ?? 0) < 2) continue;
    const segments = folder.replace(/\/$/, '').split('/').reverse();
    const noun = segments.find((segment) => /^[a-z]+s$/i.test(segment) && !/ss$/i.test(segment)) ?? segments[0] ?? 'files';
    sets.push({ folder, count: files.size, noun: noun.toLowerCase() });
  }
  // Entities split into sibling folders (crm/deals/amer/, crm/deals/emea/, …) also count as one set of their parent.
  const byParent = new Map<string, EntitySet[]>();
  for (const set of sets) {
    const parent = set.folder.replace(/[^/]+\/$/, '');
    if (parent === '') continue;
    if (!byParent.has(parent)) byParent.set(parent, []);
    byParent.get(parent)!.push(set);
  }
  for (const [parent, children] of byParent) {
    if (children.length < 2) continue;
    const segments = parent.replace(/\/$/, '').split('/').reverse();
    const noun = segments.find((segment) => /^[a-z]+s$/i.test(segment) && !/ss$/i.test(segment)) ?? children[0]!.noun;
    sets.push({ folder: parent, count: children.reduce((sum, child) => sum + child.count, 0), noun: noun.toLowerCase() });
  }
  return sets;
}

/** Nouns the plan makes one of per entity: "one draft per contact", "an email to each person". */
function perEntityNouns(plan: Plan, sets: EntitySet[]): Set<string> {
  const entityNouns = new Set(sets.map((set) => singular(set.noun)));
  const peopleSet = [...entityNouns].some((noun) => PEOPLE.includes(noun));
  const nouns = new Set<string>();
  const texts = [
    ...(plan.criteria ?? []).map((criterion) => criterion.text),
    ...plan.phases.flatMap((phase) => [phase.title, phase.doneWhen?.text ?? '']),
    ...(plan.constraints ?? []).map((entry) => entry.text),
    requestText(plan),
  ];
  const pattern =
    /\b(?:one|a|an)\s+((?:[\w-]+\s+){0,2}?)([a-z]+)\s+(?:per|for\s+each|for\s+every|to\s+each|to\s+every|for|to)\s+(?:each\s+|every\s+|the\s+)?((?:[\w-]+\s+){0,2}?)([a-z]+)\b/gi;
  for (const text of texts) {
    for (const match of text.matchAll(pattern)) {
      const target = singular(match[4]!);
      if (entityNouns.has(target) || (peopleSet && PEOPLE.includes(target))) nouns.add(singular(match[2]!));
    }
  }
  return nouns;
}

function requestText(plan: Plan): string {
  const section = plan.sections.find((candidate) => candidate.key === 'request');
  return section ? plan.text.slice(section.heading.end.offset, section.endOffset) : '';
}

interface Claim {
  where: string;
  line: number;
  text: string;
  verify: string | null;
  /** Files named one by one where the claim is made (a phase's explicit outputs, a verify's paths). */
  named: number[];
}

function claimsOf(plan: Plan): Claim[] {
  const claims: Claim[] = [];
  for (const criterion of plan.criteria ?? []) {
    const named = criterion.verify ? pathsIn(criterion.verify).filter((entry) => !isGlob(entry.path)).length : 0;
    claims.push({
      where: criterion.id ?? 'a success criterion',
      line: criterion.line,
      text: criterion.text.replace(/\s*verify:\s*`[^`]*`.*$/i, ''),
      verify: criterion.verify,
      named: [named],
    });
  }
  for (const phase of plan.phases) {
    if (phase.malformedHeading || phase.status === 'done') continue;
    const explicitOutputs = phase.outputs.filter((output) => !isGlob(cleanPattern(output))).length;
    const explicitInputs = phase.inputs.filter((input) => !isGlob(cleanPattern(input))).length;
    const verifyNamed = phase.doneWhen?.verify ? pathsIn(phase.doneWhen.verify).filter((entry) => !isGlob(entry.path)).length : 0;
    const named = [explicitOutputs, explicitInputs, verifyNamed, phase.steps.length];
    claims.push({ where: phase.id, line: phase.heading.start.line, text: phase.title, verify: null, named });
    if (phase.doneWhen) {
      claims.push({
        where: `${phase.id} Done when`,
        line: phase.fields.get('done when')?.line ?? phase.heading.start.line,
        text: phase.doneWhen.text,
        verify: phase.doneWhen.verify,
        named,
      });
    }
    for (const step of phase.steps) {
      if (step.kind === 'model') claims.push({ where: `${phase.id}.${step.index}`, line: step.line, text: step.text, verify: null, named });
    }
  }
  return claims;
}

/** Words before a number that make it a bound, a part or a label, not a count of the entities. */
const BOUND =
  /\b(?:at\s+least|at\s+most|up\s+to|no\s+more\s+than|fewer\s+than|less\s+than|more\s+than|over|under|top|first|last|about|around|roughly|max(?:imum)?|min(?:imum)?|each|per|every|tier|phase|group|batch|step|round|part|wave|version|level|stage|week|day|month|quarter|q|p|sc|no\.?|number|#|page|line|item|article|section|chapter|to|and|or)\s*$/i;

function checkCounts(plan: Plan, context: Pick<RuleContext, 'expand' | 'filesIn'>, report: Report): void {
  const sets = entitySets(plan, context);
  if (sets.length === 0) return;
  const sizes = new Set(sets.map((set) => set.count));
  const nouns = new Set([...sets.map((set) => singular(set.noun)), ...perEntityNouns(plan, sets)]);
  const peopleSet = sets.some((set) => PEOPLE.includes(singular(set.noun)));
  const isEntityNoun = (word: string) => nouns.has(singular(word)) || (peopleSet && PEOPLE.includes(singular(word)));
  const main = [...sets].sort((a, b) => b.count - a.count)[0]!;
  const holds = sets.map((set) => `${set.folder} holds ${set.count} ${set.noun}`).join('; ');
  // A number, then up to three words (a noun with its modifiers: "seven HTML drafts", "six buying-committee contacts").
  const claimPattern = new RegExp(`(?<![\\w.-])${NUMBER}(?![\\w.-])((?:\\s+[A-Za-z][\\w-]*){0,3})`, 'gi');
  for (const claim of claimsOf(plan)) {
    let reported = false;
    const text = claim.text.replace(/`[^`]*`/g, ' ');
    // Asked only of a total ("seven in all") or a verify: most claims hold neither, and every word costs a singular.
    let mentions: boolean | undefined;
    const mentionsEntities = () => (mentions ??= text.split(/[^A-Za-z-]+/).some((word) => word.length > 2 && isEntityNoun(word)));
    for (const match of text.matchAll(claimPattern)) {
      const value = numberOf(match[1]!);
      if (value < 2 || sizes.has(value) || claim.named.includes(value)) continue;
      const before = text.slice(0, match.index);
      if (BOUND.test(before)) continue;
      const following = match[2]!.trim().split(/\s+/).filter(Boolean);
      // "seven drafts", "(six in all)", "all seven", "seven in total": about the entities when the words say so.
      const total = /^(?:in\s+all|in\s+total|total)\b/i.test(match[2]!.trim()) || /\ball\s*$/i.test(before);
      const about = following.some((word) => word.length > 2 && isEntityNoun(word)) || (total && mentionsEntities());
      if (!about) continue;
      const said = `${match[1]}${following.length > 0 && !total ? ` ${following.join(' ')}` : total ? ' in all' : ''}`;
      report(`${claim.where} counts ${said}, but ${holds}`, {
        line: claim.line,
        fix: `make ${claim.where} say ${main.count} (the ${main.noun} in ${main.folder}), or read the folder that holds the entities meant`,
      });
      reported = true;
      break;
    }
    if (reported || !claim.verify) continue;
    const verify = claim.verify;
    const hasGlob = /\*/.test(verify);
    if (!hasGlob && !mentionsEntities()) continue;
    for (const match of verify.matchAll(/(?:-eq|==|--count|-qx|grep\s+-[a-z]*x[a-z]*)\s+["']?(\d{1,4})\b|(-ge|-gt)\s+["']?(\d{1,4})\b/g)) {
      const value = Number(match[1] ?? match[3]);
      if (match[2]) {
        const max = Math.max(...sizes);
        if (value + (match[2] === '-gt' ? 1 : 0) <= max) continue;
      } else if (value < 2 || sizes.has(value) || claim.named.includes(value)) {
        continue;
      }
      report(`${claim.where}'s verify expects ${value} (\`${verify}\`), but ${holds}`, {
        line: claim.line,
        fix: `make the verify of ${claim.where} expect ${main.count}, the number of ${main.noun} in ${main.folder}`,
      });
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Titles and roles

const C_LEVEL: Record<string, string> = {
  'chief executive officer': 'CEO',
  'chief technology officer': 'CTO',
  'chief technical officer': 'CTO',
  'chief financial officer': 'CFO',
  'chief operating officer': 'COO',
  'chief marketing officer': 'CMO',
  'chief information officer': 'CIO',
  'chief revenue officer': 'CRO',
  'chief product officer': 'CPO',
  'chief data officer': 'CDO',
  'chief information security officer': 'CISO',
  'chief people officer': 'CPO',
};
const TITLE = String.raw`(?:C(?:EO|TO|FO|OO|MO|IO|RO|PO|DO|ISO|SO)|chief\s+(?:executive|technology|technical|financial|operating|marketing|information(?:\s+security)?|revenue|product|data|people)\s+officer|founder|co-founder|president|chair(?:man|woman|person)?|(?:senior\s+)?vice\s+president(?:\s+of\s+[A-Z]?[a-z]+)?|(?:S?VP|EVP)(?:\s+(?:of\s+)?[A-Z][a-z]+)?|head\s+of\s+[A-Za-z]+|director\s+of\s+[A-Za-z]+|(?:managing|creative|technical|art|sales|marketing|engineering|delivery|product|finance|it)\s+director|(?:account|operations|marketing|sales|engineering|product|design|content|project|team|tech|technical|delivery|data|security|finance|legal|support|program|partner)\s+(?:lead|manager|owner|director))`;
const TITLE_RE = new RegExp(`\\b(${TITLE})\\b`, 'i');

/** A title in a comparable form: "Chief Technology Officer" → "cto", "VP Engineering" → "vp engineering". */
function titleKey(title: string): string {
  const lower = title.toLowerCase().replace(/\s+/g, ' ').trim();
  if (C_LEVEL[lower]) return C_LEVEL[lower]!.toLowerCase();
  return lower
    .replace(/^(?:senior )?vice president( of)?/, 'vp')
    .replace(/^(s?vp|evp) of /, '$1 ')
    .replace(/^co-founder$/, 'founder')
    .replace(/^chair(?:man|woman|person)$/, 'chair');
}

interface Person {
  name: string;
  titles: Map<string, string>;
}

class People {
  readonly byName = new Map<string, Person>();
  private firstNames = new Map<string, Set<string>>();

  add(name: string, title: string, source: string): void {
    const clean = name.trim().replace(/\s+/g, ' ');
    if (!(ASCII_TEXT.test(clean) ? ASCII_PERSON : PERSON).test(clean)) return;
    const found = TITLE_RE.exec(title);
    if (!found) return;
    const key = clean.toLowerCase();
    if (!this.byName.has(key)) this.byName.set(key, { name: clean, titles: new Map() });
    const person = this.byName.get(key)!;
    const titleKeyValue = titleKey(found[1]!);
    if (!person.titles.has(titleKeyValue)) person.titles.set(titleKeyValue, source);
    const first = key.split(' ')[0]!;
    if (!this.firstNames.has(first)) this.firstNames.set(first, new Set());
    this.firstNames.get(first)!.add(key);
  }

  /** The person a name in the text refers to: a full name, or a first name only one known person has. */
  find(name: string): Person | null {
    // "Ask Jonas Weber": a capitalised word before the name is not part of it.
    const words = name.trim().split(/\s+/);
    for (let start = 0; start < words.length; start++) {
      const person = this.findExact(words.slice(start).join(' '));
      if (person) return person;
    }
    return null;
  }

  /** A person by full name only (a first name alone may be someone else of that name). */
  findFull(name: string): Person | null {
    const key = name.toLowerCase().trim().replace(/\s+/g, ' ');
    return key.includes(' ') ? (this.byName.get(key) ?? null) : null;
  }

  private findExact(name: string): Person | null {
    const key = name.toLowerCase().trim();
    const full = this.byName.get(key);
    if (full) return full;
    const first = key.split(' ')[0]!;
    const candidates = this.firstNames.get(first);
    if (!candidates || candidates.size !== 1) return null;
    const person = this.byName.get([...candidates][0]!)!;
    // "Derick Smith" is not "Derick Schaefer".
    if (key.includes(' ') && !person.name.toLowerCase().startsWith(key)) return null;
    return person;
  }
}

/**
 * The patterns that find a person and a title in a text: "Name — CTO", "Name, the CTO", "Name (CTO)", "Name as CTO",
 * "Name: CTO" (a name, then what follows a name when a title comes next: "—", ",", "(", "as", "is", then the title),
 * and "CTO Name". `letter` is the class of letters a name is spelled with.
 */
function mentionPatterns(letter: string, unicode: boolean) {
  const u = unicode ? 'u' : '';
  return {
    name: new RegExp(String.raw`([A-Z][${letter}'-]+(?:\s[A-Z][${letter}'-]+){0,2})`, `g${u}`),
    titleAfter: new RegExp(`^\\s*(?:—|–|-{1,2}|,|:|\\(|as\\b|is\\b)\\s*(?:(?:the|our|their|its)\\s+)?(?:[${letter}'-]+\\s+){0,2}?(${TITLE})\\b`, `i${u}`),
    titleThenName: new RegExp(`\\b(${TITLE})\\s*,?\\s+([${letter}'-]+(?:\\s[${letter}'-]+){0,2})`, `gi${u}`),
    capital: unicode ? /^\p{Lu}/u : /^[A-Z]/,
  };
}

/**
 * Letters of any script, matched without regard to case (`iu`): V8 compiles such a pattern in 1-2 ms (it works out
 * every letter's other cases), and a lint that finds titles in its texts compiled three, ~6 ms of it.
 */
export const UNICODE_MENTIONS = mentionPatterns(String.raw`\p{L}`, true);
/**
 * The same patterns for a text of ASCII, no-break spaces and general punctuation (dashes, quotes, bullets): there the
 * only letters are A-Z and a-z, and `\s`, `\b` and case work alike with and without the `u` flag, so both sets find
 * the same (test/rules-context-cost.test.ts), and these compile in a fraction of the time.
 */
export const ASCII_MENTIONS = mentionPatterns('A-Za-z', false);
const ASCII_TEXT = /^[\x00-\x7f\u00a0\u2000-\u206f]*$/;
/** A person's name as a record gives it: one to three capitalised words (the second for an ASCII name, as above). */
const PERSON = /^[A-Z][\p{L}'-]+(?: [A-Z][\p{L}'-]+){0,2}$/u;
const ASCII_PERSON = /^[A-Z][A-Za-z'-]+(?: [A-Z][A-Za-z'-]+){0,2}$/;

/** "sign as the CTO", "--sender-title CTO", "signature: CTO": a title given to the sender (made once, not per text). */
const SENDER_TITLE = new RegExp(`\\b(?:sender|signature|signed|sign(?:s|ed)?(?:\\s+off)?\\s+as|sent\\s+by|from)\\b[^.\\n]{0,30}?\\b(${TITLE})\\b`, 'i');
const NOT_NAMES = new Set([
  'The',
  'A',
  'An',
  'Our',
  'Their',
  'Each',
  'Every',
  'One',
  'Write',
  'Draft',
  'Send',
  'Sign',
  'Add',
  'Read',
  'Note',
  'List',
  'Check',
  'Map',
  'Run',
  'Use',
  'After',
  'Before',
  'Then',
  'If',
  'When',
  'For',
  'From',
  'To',
  'With',
  'Success',
  'Drafts',
  'Nothing',
  'No',
  'Only',
  'All',
]);

export function mentionsOf(text: string, patterns = ASCII_TEXT.test(text) ? ASCII_MENTIONS : UNICODE_MENTIONS): Array<{ name: string; title: string }> {
  const found: Array<{ name: string; title: string }> = [];
  if (!TITLE_RE.test(text)) return found;
  for (const match of text.matchAll(patterns.name)) {
    const title = patterns.titleAfter.exec(text.slice(match.index + match[0].length));
    const name = match[1]!
      .split(/\s/)
      .filter((word) => !NOT_NAMES.has(word))
      .join(' ');
    if (title && name) found.push({ name, title: title[1]! });
  }
  for (const match of text.matchAll(patterns.titleThenName)) {
    const words = match[2]!.split(/\s/);
    const lower = words.findIndex((word) => !patterns.capital.test(word));
    const capitalised = words.slice(0, lower === -1 ? words.length : lower);
    const name = capitalised.filter((word) => !NOT_NAMES.has(word)).join(' ');
    if (name) found.push({ name, title: match[1]! });
  }
  return found;
}

function recordsOf(data: unknown, add: (name: string, title: string) => void, depth = 0): void {
  if (depth > 4 || data === null || typeof data !== 'object') return;
  if (Array.isArray(data)) {
    for (const item of data.slice(0, 500)) recordsOf(item, add, depth + 1);
    return;
  }
  const record = data as Record<string, unknown>;
  const name = record['name'] ?? record['full_name'] ?? record['fullName'];
  const title = record['title'] ?? record['role'] ?? record['position'] ?? record['job_title'] ?? record['jobTitle'];
  if (typeof name === 'string' && typeof title === 'string') add(name, title);
  for (const value of Object.values(record)) if (value !== null && typeof value === 'object') recordsOf(value, add, depth + 1);
}

/**
 * The words a person's first name must be one of for checkTitles to ask about that person (lower-cased): every word of
 * the names it looks up (the Stakeholders', the owner's, and those of the mentions in `texts`). People.find and
 * findFull find a person by a full name or by a first name, both of which begin with one of these words.
 */
/** A Stakeholders entry: the name, then the role ("Marta Kowalski \u2014 VP Sales"). */
const STAKEHOLDER = /^\s*([^\u2014\u2013:,(-]+?)\s*(?:\u2014|\u2013|-{1,2}|:|,|\()\s*(.*)$/;

function namesAsked(plan: Plan, texts: string[]): string[] {
  const words = new Set<string>();
  const add = (name: string) => {
    for (const word of name.trim().split(/\s+/)) words.add(word.toLowerCase());
  };
  for (const entry of plan.stakeholders ?? []) {
    const split = STAKEHOLDER.exec(entry.text);
    if (split) add(split[1]!);
  }
  if (typeof plan.meta.owner === 'string') add(plan.meta.owner.split(/[,\u2014\u2013(]/)[0]!);
  for (const text of texts) for (const mention of mentionsOf(text.replace(/`/g, ''))) add(mention.name);
  return [...words];
}

/**
 * Whether a record or briefing may name someone checkTitles asks about: its text holds one of the words asked (any
 * case), or a backslash (an escape in YAML or JSON may spell a name). A file that cannot is not parsed. Made once per
 * plan: for ASCII words, one case-insensitive expression searches each text where it lies (lower-casing a 6,000-line
 * source to search it cost ~0.9 ms of a lint); a word beyond ASCII is compared in lower case, as before, since a
 * letter's lower case may be longer than the letter ('\u0130').
 */
function nameFinder(asked: string[]): (text: string) => boolean {
  if (asked.length === 0) return (text) => text.includes('\\');
  if (asked.every((word) => /^[\x20-\x7e]+$/.test(word))) {
    const any = new RegExp(`\\\\|${asked.map((word) => word.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|')}`, 'i');
    return (text) => any.test(text);
  }
  return (text) => {
    if (text.includes('\\')) return true;
    const lower = text.toLowerCase();
    return asked.some((word) => lower.includes(word));
  };
}

function knownPeople(plan: Plan, context: Pick<RuleContext, 'expand' | 'readText'>, asked: string[]): { records: People; all: People } {
  const mayName = nameFinder(asked);
  const records = new People();
  const all = new People();
  const files = new Set<string>();
  for (const phase of plan.phases) for (const input of phase.inputs) for (const file of context.expand(cleanPattern(input))) files.add(file);
  for (const file of [...files].slice(0, 400)) {
    if (/\.(?:ya?ml|json)$/i.test(file)) {
      const text = context.readText(file);
      if (text === null || !mayName(text)) continue;
      let data: unknown;
      try {
        data = parseYaml(text, { maxAliasCount: 20 });
      } catch {
        continue;
      }
      recordsOf(data, (name, title) => {
        records.add(name, title, file);
        all.add(name, title, file);
      });
    } else if (/\.(?:md|markdown|txt)$/i.test(file)) {
      const text = context.readText(file);
      if (text === null || !mayName(text)) continue;
      for (const line of text.split('\n').slice(0, 2000)) {
        for (const mention of mentionsOf(line)) {
          records.add(mention.name, mention.title, file);
          all.add(mention.name, mention.title, file);
        }
      }
    }
  }
  // Dashes and quotes as \u escapes: the start-up snapshot's bundle stays ASCII (scripts/build.mjs).
  for (const entry of plan.stakeholders ?? []) {
    const split = STAKEHOLDER.exec(entry.text);
    if (split) all.add(split[1]!, split[2]!, 'the Stakeholders');
  }
  const owner = plan.meta.owner;
  if (typeof owner === 'string') {
    const split = /^\s*([^,\u2014\u2013(]+?)\s*(?:,|\u2014|\u2013|\()\s*(.*)$/.exec(owner);
    if (split) all.add(split[1]!, split[2]!, 'the owner');
  }
  for (const entry of plan.constraints ?? []) for (const mention of mentionsOf(entry.text)) all.add(mention.name, mention.title, 'the Constraints');
  return { records, all };
}

/**
 * Whether the plan gives anyone a title where checkTitles looks: every finding needs a title in the Stakeholders, a
 * criterion, a phase's title, Done when or a step. A plan without one is answered without reading its records.
 */
function mentionsTitles(plan: Plan): boolean {
  // As checkTitles reads them: the Stakeholders as written, the rest with their backticks taken out.
  const titled = (text: string) => TITLE_RE.test(text.replace(/`/g, ''));
  return (
    (plan.stakeholders ?? []).some((entry) => TITLE_RE.test(entry.text)) ||
    (plan.criteria ?? []).some((criterion) => titled(criterion.text)) ||
    plan.phases.some(
      (phase) => titled(phase.title) || (phase.doneWhen !== null && titled(phase.doneWhen.text)) || phase.steps.some((step) => titled(step.text)),
    )
  );
}

function checkTitles(plan: Plan, context: Pick<RuleContext, 'expand' | 'readText'>, report: Report): void {
  if (!mentionsTitles(plan)) return;
  const texts: Array<{ where: string; line: number; text: string }> = [
    ...(plan.criteria ?? []).map((criterion) => ({ where: criterion.id ?? 'a criterion', line: criterion.line, text: criterion.text })),
    ...plan.phases.flatMap((phase) => [
      { where: phase.id, line: phase.heading.start.line, text: phase.title },
      ...(phase.doneWhen
        ? [{ where: `${phase.id} Done when`, line: phase.fields.get('done when')?.line ?? phase.heading.start.line, text: phase.doneWhen.text }]
        : []),
      ...phase.steps.map((step) => ({ where: `${phase.id}.${step.index}`, line: step.line, text: step.text })),
    ]),
  ];
  const { records, all } = knownPeople(
    plan,
    context,
    namesAsked(
      plan,
      texts.map((entry) => entry.text),
    ),
  );
  if (all.byName.size === 0) return;
  const conflict = (people: People, name: string, title: string, fullNameOnly = false) => {
    const person = fullNameOnly ? people.findFull(name) : people.find(name);
    if (!person || person.titles.size === 0) return null;
    const key = titleKey(title);
    if (person.titles.has(key)) return null;
    const [knownKey, source] = [...person.titles][0]!;
    return { person, known: knownKey, source, key };
  };
  const describeTitle = (key: string) => (key.length <= 4 ? key.toUpperCase() : key);
  // The Stakeholders and the owner against the records.
  for (const entry of plan.stakeholders ?? []) {
    const split = STAKEHOLDER.exec(entry.text);
    const title = split ? TITLE_RE.exec(split[2]!)?.[1] : undefined;
    if (!split || !title) continue;
    const found = conflict(records, split[1]!, title, true);
    if (found) {
      report(
        `the Stakeholders call ${found.person.name} ${describeTitle(found.key)}, but per ${found.source} ${found.person.name} is ${describeTitle(found.known)}`,
        {
          line: entry.line,
          fix: `correct ${found.person.name}'s title in the Stakeholders (${found.source} says ${describeTitle(found.known)}), or correct the record`,
        },
      );
    }
  }
  // Every other mention in the plan against everything known.
  const ownerName = typeof plan.meta.owner === 'string' ? plan.meta.owner.split(/[,\u2014\u2013(]/)[0]!.trim() : null;
  for (const { where, line, text } of texts) {
    const plain = text.replace(/`/g, '');
    let done = false;
    for (const mention of mentionsOf(plain)) {
      const found = conflict(all, mention.name, mention.title);
      if (!found) continue;
      report(`${where} calls ${found.person.name} ${describeTitle(found.key)}, but per ${found.source} ${found.person.name} is ${describeTitle(found.known)}`, {
        line,
        fix: `write ${found.person.name}'s title as ${describeTitle(found.known)} in ${where}`,
      });
      done = true;
      break;
    }
    if (done || !ownerName) continue;
    // "sign as the CTO", "--sender-title CTO", "signature: CTO": the sender is the owner.
    const sender = SENDER_TITLE.exec(plain);
    if (sender) {
      const found = conflict(all, ownerName, sender[1]!);
      if (found) {
        report(
          `${where} gives the sender the title ${describeTitle(found.key)}, but ${found.person.name}, the owner, is ${describeTitle(found.known)} (${found.source})`,
          {
            line,
            fix: `write the sender's title as ${describeTitle(found.known)} in ${where}`,
          },
        );
      }
    }
  }
}

export const contextFacts: Rule = {
  id: 'context-facts',
  severity: 'error',
  description: "Counts agree with the entity folders the plan reads, and people's titles with the records, briefings, Stakeholders and owner.",
  check(plan, context, report) {
    checkCounts(plan, context, report);
    checkTitles(plan, context, report);
  },
};
