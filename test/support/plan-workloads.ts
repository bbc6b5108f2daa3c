import { type MetadataValue, skillMd } from './plan-text.js';

/**
 * Two workloads for the planner's model path, each a repository (entities, documents, tool skills whose scripts write
 * what their contracts say) and the answers a strong planner model gives to the prompts deepplan sends: a first plan
 * with the usual imperfections, then the repaired ones.
 */

const COMPANIES = [
  'Northwind Traders',
  'Bluefin Logistics',
  'Cobalt Labs',
  'Delta Freight',
  'Evergreen Health',
  'Fjord Analytics',
  'Granite Insurance',
  'Harbor Foods',
  'Ironclad Security',
  'Juniper Retail',
  'Keystone Energy',
  'Lumen Media',
  'Meridian Bank',
  'Nimbus Cloud',
  'Orchid Pharma',
  'Pinnacle Hotels',
  'Quartz Robotics',
  'Redwood Capital',
  'Summit Outdoor',
  'Tidal Water',
  'Umbra Games',
  'Vertex Motors',
  'Willow Education',
  'Xenon Chips',
  'Yarrow Farms',
  'Zephyr Air',
  'Atlas Mining',
  'Beacon Legal',
  'Cedar Homes',
  'Driftwood Travel',
  'Ember Foods',
  'Falcon Drones',
  'Glacier Water',
  'Helix Bio',
  'Indigo Fashion',
  'Jasper Telecom',
  'Kestrel Aviation',
  'Larkspur Wines',
  'Magnolia Clinics',
  'Nova Solar',
  'Onyx Payments',
  'Prairie Grain',
  'Quill Publishing',
  'Rook Chess Clubs',
  'Sable Audio',
  'Topaz Jewelry',
  'Upland Coffee',
  'Vantage Realty',
  'Wren Software',
  'Yukon Outfitters',
];

const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** Metadata values as YAML plain scalars where they can be: lists unquoted, strings quoted only when they must be. */
const plainValue = (value: MetadataValue) =>
  Array.isArray(value) ? `[${value.join(', ')}]` : typeof value === 'string' && /[:#<>{}[\],]/.test(value) ? JSON.stringify(value) : String(value);

function skill(name: string, description: string, metadata: Record<string, MetadataValue>, body: string, extra = ''): string {
  return skillMd({ name, description, extra, metadata, value: plainValue, body });
}

/** A tiny `key: value` reader for the scripts (the repositories have no node_modules). */
const READ_RECORD = `const record = (text) => Object.fromEntries(text.split('\\n').filter((line) => /^[a-z_]+:/.test(line)).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim().replace(/^"|"$/g, '')]));`;

// ---------------------------------------------------------------------------------------------------------------
// Workload 1: a Stage-3 deal review, 40 deals, 5 reps.

export const REPS = ['Dana Ortiz', 'Lee Park', 'Sam Whitfield', 'Priya Nair', 'Tom Becker'];
export const DEALS = COMPANIES.slice(0, 40).map((company, index) => ({
  slug: slug(company),
  company,
  owner: REPS[index % REPS.length]!,
  amount: 24_000 + ((index * 7919) % 180_000),
  champion: index % 3 !== 0,
  pain: index % 4 !== 1,
}));

export const DEAL_REQUEST =
  'Stage-3 deal review: score each of the 40 deals in crm/deals/stage-3 with the deal-scoring rubric and coach the reps on their weakest deals. Success is a score for every Stage-3 deal, coaching notes for each rep and a one-page review for the Monday pipeline call. Read-only: nothing is written to the CRM. Marta, the VP Sales, approves before anything goes to the reps.';

export function dealRepository(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const deal of DEALS) {
    files[`crm/deals/stage-3/${deal.slug}.yaml`] = [
      `name: ${deal.company} platform expansion`,
      `account: ${deal.company}`,
      `owner: ${deal.owner}`,
      'stage: 3',
      `amount: ${deal.amount}`,
      `champion: ${deal.champion ? 'named' : 'none'}`,
      `pain: ${deal.pain ? 'documented' : 'unclear'}`,
      `next_step: ${deal.champion ? 'technical validation booked' : 'none'}`,
      '',
    ].join('\n');
  }
  files['playbooks/stage-3-exit-criteria.md'] = [
    '# Stage 3 exit criteria',
    '',
    'A Stage-3 deal moves on only when all of these hold:',
    '',
    ...Array.from(
      { length: 30 },
      (_, index) =>
        `${index + 1}. Criterion ${index + 1}: ${['a named champion', "documented pain in the buyer's words", 'a booked next step', 'a mutual plan', 'the economic buyer met'][index % 5]}.`,
    ),
    '',
    '## Scoring',
    '',
    'Champion 40 points, documented pain 40, a booked next step 20. Under 60 is a coaching case.',
    '',
  ].join('\n');
  files['scripts/review-scope.mjs'] = `import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
const [folder, playbook] = process.argv.slice(2);
const deals = readdirSync(folder).filter((name) => name.endsWith('.yaml'));
mkdirSync('work', { recursive: true });
writeFileSync('work/scope.md', \`# Review scope\\n\\nDeals: \${deals.length}\\nRubric: \${playbook}\\n\`);
`;
  files['scripts/score-deal.mjs'] = `import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
${READ_RECORD}
const file = process.argv[2];
const deal = record(readFileSync(file, 'utf8'));
const name = file.split('/').pop().replace(/\\.yaml$/, '');
const gaps = [];
let score = 0;
if (deal.champion === 'named') score += 40; else gaps.push('no champion');
if (deal.pain === 'documented') score += 40; else gaps.push('pain unclear');
if (deal.next_step !== 'none') score += 20; else gaps.push('no next step');
mkdirSync('scores', { recursive: true });
writeFileSync(\`scores/\${name}.json\`, JSON.stringify({ deal: name, account: deal.account, owner: deal.owner, score, gaps }, null, 2));
if (!existsSync('scores/index.csv')) writeFileSync('scores/index.csv', 'deal,owner,score\\n');
appendFileSync('scores/index.csv', \`\${name},\${deal.owner},\${score}\\n\`);
`;
  files['scripts/coach-reps.mjs'] = `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const rows = readFileSync(process.argv[2], 'utf8').trim().split('\\n').slice(1).map((line) => line.split(','));
const byRep = new Map();
for (const [deal, owner, score] of rows) byRep.set(owner, [...(byRep.get(owner) ?? []), { deal, score: Number(score) }]);
mkdirSync('coaching', { recursive: true });
const parts = ['# Coaching notes'];
for (const [rep, deals] of byRep) {
  const weakest = deals.sort((a, b) => a.score - b.score).slice(0, 3);
  parts.push('', \`## \${rep}\`, '', ...weakest.map((d) => \`- \${d.deal}: \${d.score}/100\`));
}
writeFileSync('coaching/reps.md', parts.join('\\n') + '\\n');
`;
  files['scripts/stage-report.mjs'] = `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const rows = readFileSync(process.argv[2], 'utf8').trim().split('\\n').slice(1).map((line) => line.split(','));
mkdirSync('reports', { recursive: true });
const table = ['| Deal | Owner | Score |', '| --- | --- | --- |', ...rows.map(([deal, owner, score]) => \`| \${deal} | \${owner} | \${score} |\`)];
writeFileSync('reports/stage-3-review.md', ['# Stage-3 review', '', \`\${rows.length} deals scored; under 60 is a coaching case.\`, '', ...table, ''].join('\\n'));
`;
  files['scripts/approval-request.mjs'] = `import { mkdirSync, writeFileSync } from 'node:fs';
mkdirSync('handoff', { recursive: true });
writeFileSync('handoff/approval-request.md', \`# For Marta, VP Sales\\n\\nPlease approve: \${process.argv.slice(2).join(', ')}\\n\`);
`;
  files['scripts/share-coaching.mjs'] = `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const text = readFileSync(process.argv[2], 'utf8');
mkdirSync('handoff/reps', { recursive: true });
for (const section of text.split('\\n## ').slice(1)) {
  const [rep, ...rest] = section.split('\\n');
  writeFileSync(\`handoff/reps/\${rep.toLowerCase().replace(/[^a-z]+/g, '-')}.md\`, \`# \${rep}\\n\${rest.join('\\n')}\\n\`);
}
`;
  files['.claude/skills/deal-scoring/SKILL.md'] = skill(
    'deal-scoring',
    'Scores one Stage-3 deal against the exit criteria (champion, pain, next step) and records its gaps.',
    {
      run: 'node scripts/score-deal.mjs',
      arguments: '<deal-file>',
      reads: ['crm/deals/stage-3/<deal>.yaml'],
      writes: ['scores/<deal>.json', 'scores/index.csv'],
    },
    'Give it one deal file. It writes the score with the gaps as JSON and appends a row to the scores index.',
    'allowed-tools: Read, Write\n',
  );
  files['.claude/skills/rep-coaching/SKILL.md'] = skill(
    'rep-coaching',
    'Writes coaching notes for each rep from the deal scores: their three weakest deals and what to fix.',
    { run: 'node scripts/coach-reps.mjs', arguments: '<scores-index>', reads: ['scores/index.csv'], writes: ['coaching/reps.md'] },
    'Reads the scores index and writes one section per rep.',
  );
  files['.claude/skills/stage-report/SKILL.md'] = skill(
    'stage-report',
    'Writes the one-page Stage-3 review for the pipeline call: every deal with its owner and score.',
    { run: 'node scripts/stage-report.mjs', arguments: '<scores-index>', reads: ['scores/index.csv'], writes: ['reports/stage-3-review.md'] },
    'One table row per deal, weakest first is left to the reader.',
  );
  files['.claude/skills/forecast-sync/SKILL.md'] = skill(
    'forecast-sync',
    "Pushes each deal's forecast category to Salesforce.",
    { irreversible: true, writes: ['crm (Salesforce)'] },
    'Writes to the live CRM. Ask the deal owner first.',
  );
  files['.claude/skills/hubspot-sync/SKILL.md'] = skill('hubspot-sync', 'Deprecated: syncs deals from HubSpot, which Salesforce replaced.', {}, 'Do not use.');
  files['.claude/skills/linkedin-enrichment/SKILL.md'] = skill(
    'linkedin-enrichment',
    'Finds the LinkedIn profile of each contact of an account.',
    {},
    'Reads crm/contacts/<account>/*.yaml and writes enrichment/<contact>.md.',
  );
  return files;
}

type Phase = {
  title: string;
  inputs: string[];
  outputs: string[];
  gate: 'none' | 'human' | 'review';
  done_when: string;
  verify: string;
  steps: Array<{ kind: 'run' | 'skill' | 'model'; text: string }>;
};

function groups<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += size) out.push(items.slice(index, index + size));
  return out;
}

function scoringPhases(): Phase[] {
  const all = groups(DEALS, 4);
  return all.map((group, index) => ({
    title: `Score Stage-3 deals ${group[0]!.slug} to ${group.at(-1)!.slug} (group ${index + 1} of ${all.length})`,
    inputs: group.map((deal) => `crm/deals/stage-3/${deal.slug}.yaml`),
    outputs: [...group.map((deal) => `scores/${deal.slug}.json`), 'scores/index.csv'],
    gate: 'none',
    done_when: `each deal of the group has a score file`,
    verify: group.map((deal) => `test -s scores/${deal.slug}.json`).join(' && '),
    steps: group.map((deal) => ({ kind: 'skill' as const, text: `/deal-scoring crm/deals/stage-3/${deal.slug}.yaml` })),
  }));
}

const DEAL_EXCLUDED = [
  { name: 'forecast-sync', reason: 'The review is read-only: nothing is written to Salesforce.' },
  { name: 'hubspot-sync', reason: 'Deprecated: HubSpot was replaced by Salesforce.' },
  { name: 'linkedin-enrichment', reason: 'The review scores deals; no contact enrichment is asked for.' },
];

/** The plan a strong model gives for the deal review: 15 phases. `flaws` puts the first answer's slips back in. */
export function dealAnswer(flaws: { prefix?: boolean; forgottenSkill?: boolean; vagueCriterion?: boolean; wrongOutput?: boolean } = {}) {
  const report = flaws.wrongOutput ? 'reports/review.md' : 'reports/stage-3-review.md';
  const phases: Phase[] = [
    {
      title: 'Write the review scope from the Stage-3 exit criteria',
      inputs: ['playbooks/stage-3-exit-criteria.md'],
      outputs: ['work/scope.md'],
      gate: 'none',
      done_when: 'the scope counts the 40 deals and names the rubric',
      verify: "grep -q '^Deals: 40$' work/scope.md",
      steps: [
        {
          kind: 'run',
          text: flaws.prefix
            ? 'python3 scripts/review_scope.py crm/deals/stage-3'
            : 'node scripts/review-scope.mjs crm/deals/stage-3 playbooks/stage-3-exit-criteria.md',
        },
      ],
    },
    ...scoringPhases(),
    {
      title: 'Coach each rep on their weakest Stage-3 deals',
      inputs: ['scores/index.csv'],
      outputs: ['coaching/reps.md'],
      gate: 'none',
      done_when: 'the coaching notes have one section per rep, five in all',
      verify: 'test "$(grep -c \'^## \' coaching/reps.md)" -eq 5',
      steps: flaws.forgottenSkill
        ? [{ kind: 'model', text: 'Write coaching notes for each rep from scores/index.csv into coaching/reps.md.' }]
        : [{ kind: 'skill', text: '/rep-coaching scores/index.csv' }],
    },
    {
      title: 'Write the one-page Stage-3 review for the pipeline call',
      inputs: ['scores/index.csv'],
      outputs: [report],
      gate: 'review',
      done_when: 'the review has a table row for each deal',
      verify: `test "$(grep -c '^| [a-z]' ${report})" -eq 40`,
      steps: [{ kind: 'skill', text: '/stage-report scores/index.csv' }],
    },
    {
      title: 'Marta approves the review and the coaching notes',
      inputs: [report, 'coaching/reps.md'],
      outputs: ['handoff/approval-request.md'],
      gate: 'human',
      done_when: 'the approval request names the review and the coaching notes',
      verify: "grep -q 'coaching/reps.md' handoff/approval-request.md",
      steps: [{ kind: 'run', text: `node scripts/approval-request.mjs ${report} coaching/reps.md` }],
    },
    {
      title: "Share each rep's coaching notes in their handoff folder",
      inputs: ['coaching/reps.md', 'handoff/approval-request.md'],
      outputs: ['handoff/reps/*.md'],
      gate: 'none',
      done_when: 'each rep with a coaching section has a handoff file',
      verify: 'test "$(ls handoff/reps/*.md | wc -l)" -eq "$(grep -c \'^## \' coaching/reps.md)"',
      steps: [{ kind: 'run', text: 'node scripts/share-coaching.mjs coaching/reps.md' }],
    },
  ];
  return {
    title: 'Stage-3 deal review and rep coaching',
    phases,
    criteria: [
      { text: 'Every one of the 40 Stage-3 deals has a score', verify: 'test "$(ls scores/*.json | wc -l)" -eq 40' },
      flaws.vagueCriterion
        ? { text: 'The coaching is useful for the reps', verify: '' }
        : { text: 'Each of the 5 reps has coaching notes', verify: 'test "$(grep -c \'^## \' coaching/reps.md)" -eq 5' },
      { text: 'The one-page review lists every deal', verify: `test "$(grep -c '^| [a-z]' ${report})" -eq 40` },
    ],
    skills_excluded: DEAL_EXCLUDED,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Workload 2: firmographic enrichment of 50 accounts.

export const ACCOUNTS = COMPANIES.map((company, index) => ({
  slug: slug(company),
  company,
  industry: ['software', 'logistics', 'health', 'retail', 'finance'][index % 5]!,
  headcount: 40 + ((index * 37) % 900),
}));

export const ACCOUNT_REQUEST =
  'Enrich the 50 accounts in crm/accounts with firmographics (industry, headcount, HQ) from data/firmographics.csv using the account-enrichment skill, and list the accounts with no decision maker on file. Success is one enriched record per account, 50 in all, and a gap list for the SDR team. Nothing is written back to the CRM. Jonas, the RevOps lead, approves the gap list.';

export function accountRepository(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [index, account] of ACCOUNTS.entries()) {
    files[`crm/accounts/${account.slug}.yaml`] =
      `name: ${account.company}\ndomain: ${account.slug}.example.com\nsegment: ${index % 2 ? 'mid-market' : 'enterprise'}\ndecision_maker: ${index % 6 === 0 ? 'none' : 'on file'}\n`;
  }
  files['data/firmographics.csv'] =
    [
      'domain,industry,headcount,hq',
      ...ACCOUNTS.map(
        (account, index) => `${account.slug}.example.com,${account.industry},${account.headcount},${['Berlin', 'Austin', 'Leeds', 'Lyon', 'Osaka'][index % 5]}`,
      ),
    ].join('\n') + '\n';
  files['scripts/check-source.mjs'] = `import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
const [csv, folder] = process.argv.slice(2);
const domains = new Set(readFileSync(csv, 'utf8').trim().split('\\n').slice(1).map((line) => line.split(',')[0]));
const accounts = readdirSync(folder).filter((name) => name.endsWith('.yaml'));
const missing = accounts.filter((name) => !domains.has(name.replace(/\\.yaml$/, '') + '.example.com'));
mkdirSync('work', { recursive: true });
writeFileSync('work/source-check.md', \`# Source check\\n\\nAccounts: \${accounts.length}\\nMissing from the source: \${missing.length}\\n\`);
`;
  files['scripts/enrich-account.mjs'] = `import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
${READ_RECORD}
const file = process.argv[2];
const account = record(readFileSync(file, 'utf8'));
const name = file.split('/').pop().replace(/\\.yaml$/, '');
const row = readFileSync('data/firmographics.csv', 'utf8').split('\\n').map((line) => line.split(',')).find((cells) => cells[0] === account.domain) ?? [];
mkdirSync('enriched', { recursive: true });
writeFileSync(\`enriched/\${name}.yaml\`, \`name: \${account.name}\\nindustry: \${row[1] ?? 'unknown'}\\nheadcount: \${row[2] ?? 'unknown'}\\nhq: \${row[3] ?? 'unknown'}\\ndecision_maker: \${account.decision_maker}\\n\`);
if (!existsSync('enriched/index.csv')) writeFileSync('enriched/index.csv', 'account,industry,decision_maker\\n');
appendFileSync('enriched/index.csv', \`\${name},\${row[1] ?? 'unknown'},\${account.decision_maker}\\n\`);
`;
  files['scripts/qa-enrichment.mjs'] = `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const rows = readFileSync(process.argv[2], 'utf8').trim().split('\\n').slice(1).map((line) => line.split(','));
const unknown = rows.filter((cells) => cells[1] === 'unknown');
mkdirSync('reports', { recursive: true });
writeFileSync('reports/qa.md', \`# Enrichment QA\\n\\nRecords: \${rows.length}\\nUnknown industry: \${unknown.length}\\n\`);
`;
  files['scripts/find-gaps.mjs'] = `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const rows = readFileSync(process.argv[2], 'utf8').trim().split('\\n').slice(1).map((line) => line.split(','));
const gaps = rows.filter((cells) => cells[2] === 'none');
mkdirSync('reports', { recursive: true });
writeFileSync('reports/gaps.md', ['# Accounts with no decision maker', '', ...gaps.map((cells) => \`- \${cells[0]}\`), ''].join('\\n'));
`;
  files['scripts/handoff-gaps.mjs'] = `import { copyFileSync, mkdirSync } from 'node:fs';
mkdirSync('handoff', { recursive: true });
copyFileSync(process.argv[2], 'handoff/sdr-gaps.md');
`;
  files['.claude/skills/account-enrichment/SKILL.md'] = skill(
    'account-enrichment',
    'Adds firmographics (industry, headcount, HQ) to one account record from the firmographics file.',
    {
      run: 'node scripts/enrich-account.mjs',
      arguments: '<account-file>',
      reads: ['crm/accounts/<account>.yaml', 'data/firmographics.csv'],
      writes: ['enriched/<account>.yaml', 'enriched/index.csv'],
    },
    'One account per call. It never writes to crm/.',
  );
  files['.claude/skills/enrichment-qa/SKILL.md'] = skill(
    'enrichment-qa',
    'Checks the enriched records: counts them and lists fields the source did not fill.',
    { run: 'node scripts/qa-enrichment.mjs', arguments: '<index-file>', reads: ['enriched/index.csv'], writes: ['reports/qa.md'] },
    'Run it after every account is enriched.',
  );
  files['.claude/skills/gap-finder/SKILL.md'] = skill(
    'gap-finder',
    'Lists the accounts with no decision maker on file, for the SDR team.',
    { run: 'node scripts/find-gaps.mjs', arguments: '<index-file>', reads: ['enriched/index.csv'], writes: ['reports/gaps.md'] },
    'One bullet per account.',
  );
  files['.claude/skills/crm-writeback/SKILL.md'] = skill(
    'crm-writeback',
    'Writes enriched fields back to the CRM records.',
    { irreversible: true, reads: ['enriched/*.yaml'], writes: ['crm/accounts/*.yaml'] },
    'Overwrites CRM fields.',
  );
  files['.claude/skills/hubspot-sync/SKILL.md'] = skill('hubspot-sync', 'Deprecated: syncs companies from HubSpot.', {}, 'Do not use.');
  files['.claude/skills/newsletter-builder/SKILL.md'] = skill(
    'newsletter-builder',
    'Builds a newsletter issue from a content calendar.',
    {},
    'Reads content/calendar.md and writes newsletter/issue.md.',
  );
  return files;
}

const ACCOUNT_EXCLUDED = [
  { name: 'crm-writeback', reason: 'Nothing is written back to the CRM.' },
  { name: 'hubspot-sync', reason: 'Deprecated.' },
  { name: 'newsletter-builder', reason: 'No newsletter is part of an enrichment.' },
];

/** The enrichment plan: 17 phases; `flaws` gives the first answer (one phase for all 50 accounts, an npm command). */
export function accountAnswer(flaws: { onePhase?: boolean; prefix?: boolean } = {}) {
  const all = groups(ACCOUNTS, 4);
  const enrich: Phase[] = flaws.onePhase
    ? [
        {
          title: 'Enrich all 50 accounts',
          inputs: ['crm/accounts/*.yaml', 'data/firmographics.csv'],
          outputs: ['enriched/*.yaml', 'enriched/index.csv'],
          gate: 'none',
          done_when: 'every account has an enriched record',
          verify: 'test "$(ls enriched/*.yaml | wc -l)" -eq 50',
          steps: ACCOUNTS.map((account) => ({ kind: 'skill' as const, text: `/account-enrichment crm/accounts/${account.slug}.yaml` })),
        },
      ]
    : all.map((group, index) => ({
        title: `Enrich accounts ${group[0]!.slug} to ${group.at(-1)!.slug} (group ${index + 1} of ${all.length})`,
        inputs: [...group.map((account) => `crm/accounts/${account.slug}.yaml`), 'data/firmographics.csv'],
        outputs: [...group.map((account) => `enriched/${account.slug}.yaml`), 'enriched/index.csv'],
        gate: 'none' as const,
        done_when: 'each account of the group has an enriched record',
        verify: group.map((account) => `test -s enriched/${account.slug}.yaml`).join(' && '),
        steps: group.map((account) => ({ kind: 'skill' as const, text: `/account-enrichment crm/accounts/${account.slug}.yaml` })),
      }));
  return {
    title: 'Firmographic enrichment of the 50 accounts',
    phases: [
      {
        title: 'Check that the firmographics source covers the accounts',
        inputs: ['data/firmographics.csv'],
        outputs: ['work/source-check.md'],
        gate: 'none',
        done_when: 'the source check counts the 50 accounts',
        verify: "grep -q '^Accounts: 50$' work/source-check.md",
        steps: [{ kind: 'run', text: flaws.prefix ? 'npm run check-source' : 'node scripts/check-source.mjs data/firmographics.csv crm/accounts' }],
      },
      ...enrich,
      {
        title: 'Check the enriched records',
        inputs: ['enriched/index.csv'],
        outputs: ['reports/qa.md'],
        gate: 'none',
        done_when: 'the QA report counts 50 records',
        verify: "grep -q '^Records: 50$' reports/qa.md",
        steps: [{ kind: 'skill', text: '/enrichment-qa enriched/index.csv' }],
      },
      {
        title: 'List the accounts with no decision maker for Jonas',
        inputs: ['enriched/index.csv'],
        outputs: ['reports/gaps.md'],
        gate: 'human',
        done_when: 'the gap list names each account without a decision maker',
        verify: "grep -q '^- ' reports/gaps.md",
        steps: [{ kind: 'skill', text: '/gap-finder enriched/index.csv' }],
      },
      {
        title: 'Hand the approved gap list to the SDR team',
        inputs: ['reports/gaps.md'],
        outputs: ['handoff/sdr-gaps.md'],
        gate: 'none',
        done_when: 'the SDR handoff holds the gap list',
        verify: 'cmp -s reports/gaps.md handoff/sdr-gaps.md',
        steps: [{ kind: 'run', text: 'node scripts/handoff-gaps.mjs reports/gaps.md' }],
      },
    ],
    criteria: [
      { text: 'One enriched record per account, 50 in all', verify: 'test "$(ls enriched/*.yaml | wc -l)" -eq 50' },
      { text: 'The SDR team has the gap list Jonas approved', verify: 'test -s handoff/sdr-gaps.md' },
    ],
    skills_excluded: ACCOUNT_EXCLUDED,
  };
}

/** A contact folder of six people, for the context pack. */
export const CONTACTS = ['Ava Lindqvist', 'Ben Okafor', 'Chloe Marchetti', 'Diego Santos', 'Elif Demir', 'Farah Haddad'];
export function contactRepository(): Record<string, string> {
  const titles = ['CTO', 'VP Engineering', 'Head of Procurement', 'CFO', 'Director of Platform', 'Security Lead'];
  return Object.fromEntries(
    CONTACTS.map((name, index) => [`crm/contacts/brightline/${slug(name)}.yaml`, `name: ${name}\ntitle: ${titles[index]}\ncompany: Brightline\n`]),
  );
}
export { slug };
