import { type FrontMatterSpec, type PhaseSpec, planText, skillMd, skillPath } from '../support/plan-text.js';

/**
 * Valid base plans for the defect corpus (test/defect-corpus.test.ts): four workloads, each with the repository it
 * runs in (records, briefings, skills). Every base lints with no error; every defect of test/corpus/defects.ts breaks
 * exactly one thing in one of them.
 */

export interface Base {
  name: string;
  /** Repository files (the plan goes to plans/<name>.md). */
  files: Record<string, string>;
  plan: string;
}

function skill(name: string, description: string, metadata = ''): [string, string] {
  return [skillPath(name), skillMd({ name, description, extra: metadata, body: `How to use ${name}.` })];
}

function many(count: number, make: (index: number) => [string, string]): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, index) => make(index)));
}

/** The front matter every base shares, but for its names, owner, budget and write scope. */
const front = (id: string, title: string, owner: string, budget: number, write: string): FrontMatterSpec => ({
  id,
  title,
  owner,
  maxIterations: budget,
  write: [write],
  workstream: 'consulting',
  deliverable: 'analytics',
  nextAction: 'Start P1',
});

// ---------------------------------------------------------------------------------------------------------------
// 1. A quarterly review of 40 open deals, ten per region, in a CRM export of JSON records.

const REGIONS = ['amer', 'emea', 'apac', 'latam'] as const;
const DEAL_NAMES = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'wonka', 'tyrell', 'cyberdyne'];

const dealReview: Base = {
  name: 'deal-review',
  files: {
    ...Object.fromEntries([
      skill('deal-score', 'Scores an open deal on stage, age, next step and champion, from its CRM record.'),
      skill('forecast-memo', 'Writes a forecast memo from scored deals: commit, best case, at risk.'),
      skill('slack-post', 'Posts a message to a Slack channel.'),
      skill('hubspot-sync', 'Deprecated: syncs deals from HubSpot, which the CRM export replaced.'),
      skill('newsletter-builder', 'Builds a newsletter issue from the content calendar.'),
    ]),
    ...Object.fromEntries(
      REGIONS.flatMap((region) =>
        DEAL_NAMES.map((name, index) => [
          `crm/deals/${region}/${name}-${region}.json`,
          JSON.stringify(
            {
              id: `${name}-${region}`,
              account: `${name[0]!.toUpperCase()}${name.slice(1)} ${region.toUpperCase()}`,
              stage: ['discovery', 'proposal', 'negotiation'][index % 3],
              amount: 20000 + index * 5000,
              owner: 'Omar Haddad',
            },
            null,
            2,
          ),
        ]),
      ),
    ),
    'crm/team.yaml':
      'people:\n  - name: Omar Haddad\n    title: CRO\n  - name: Lena Brandt\n    title: VP Sales\n  - name: Ivo Petrov\n    title: sales operations manager\n',
    'briefings/q4-guidance.md': '# Q4 guidance\n\nCommit only deals with a dated next step and a named champion.\n\n- Omar Haddad (CRO) signs the forecast.\n',
    'scripts/score-region.mjs': 'console.log("scored");\n',
    'scripts/count-scores.mjs': 'console.log("40");\n',
  },
  plan: planText({
    front: front('q4-deal-review', 'Q4 review of the 40 open deals', 'Omar Haddad, CRO', 26, 'review/**'),
    request:
      'Review every open deal before the Q4 forecast call: score each one, write the forecast memo, and post the summary to #sales-leads once Omar approves.',
    criteria: [
      { text: 'Every one of the 40 open deals has a score.', verify: `test "$(cat review/scores/*.md | grep -c '^Score:')" -eq 40` },
      { text: 'The forecast memo splits commit, best case and at risk.', verify: "grep -q '^## At risk' review/memo.md" },
      { text: "The summary is posted to #sales-leads after Omar's approval.", verify: "grep -q '^Posted:' review/posted.md" },
    ],
    constraints: ['The CRM export is read-only: do not change deal stages.', 'Only deals that are open today; closed deals stay out.'],
    stakeholders: [
      'Omar Haddad — CRO, signs the forecast and approves the post',
      'Lena Brandt — VP Sales, owns the AMER and EMEA deals',
      'Ivo Petrov — sales operations manager, keeps the CRM export',
    ],
    mapped: [
      ['deal-score', 'P1, P2, P3, P4', 'Scores each deal the same way'],
      ['forecast-memo', 'P5', 'The memo format the forecast call uses'],
      ['slack-post', 'P6', '#sales-leads is where the team reads it'],
    ],
    excluded: [
      ['hubspot-sync', 'HubSpot is deprecated; the CRM export is the source'],
      ['newsletter-builder', 'Not a newsletter'],
    ],
    phases: [
      {
        id: 'P1',
        title: 'Score the AMER deals',
        inputs: ['crm/deals/amer/*.json', 'briefings/q4-guidance.md'],
        outputs: ['review/scores/amer.md'],
        doneWhen: 'ten AMER deals are scored.',
        verify: `test "$(grep -c '^Score:' review/scores/amer.md)" -eq 10`,
        steps: ['/deal-score crm/deals/amer --guidance briefings/q4-guidance.md --out review/scores/amer.md'],
      },
      {
        id: 'P2',
        title: 'Score the EMEA deals',
        inputs: ['crm/deals/emea/*.json', 'briefings/q4-guidance.md'],
        outputs: ['review/scores/emea.md'],
        dependsOn: ['P1'],
        doneWhen: 'ten EMEA deals are scored.',
        verify: `test "$(grep -c '^Score:' review/scores/emea.md)" -eq 10`,
        steps: ['/deal-score crm/deals/emea --guidance briefings/q4-guidance.md --out review/scores/emea.md'],
      },
      {
        id: 'P3',
        title: 'Score the APAC deals',
        inputs: ['crm/deals/apac/*.json', 'briefings/q4-guidance.md'],
        outputs: ['review/scores/apac.md'],
        dependsOn: ['P2'],
        doneWhen: 'ten APAC deals are scored.',
        verify: `test "$(grep -c '^Score:' review/scores/apac.md)" -eq 10`,
        steps: ['/deal-score crm/deals/apac --guidance briefings/q4-guidance.md --out review/scores/apac.md'],
      },
      {
        id: 'P4',
        title: 'Score the LATAM deals',
        inputs: ['crm/deals/latam/*.json', 'briefings/q4-guidance.md'],
        outputs: ['review/scores/latam.md'],
        dependsOn: ['P3'],
        doneWhen: 'ten LATAM deals are scored.',
        verify: `test "$(grep -c '^Score:' review/scores/latam.md)" -eq 10`,
        steps: ['/deal-score crm/deals/latam --guidance briefings/q4-guidance.md --out review/scores/latam.md'],
      },
      {
        id: 'P5',
        title: 'Write the forecast memo',
        inputs: ['review/scores/*.md', 'crm/team.yaml'],
        outputs: ['review/memo.md'],
        dependsOn: ['P4'],
        gate: 'human',
        doneWhen: 'the memo lists commit, best case and at risk, with the deals in each.',
        verify: "grep -q '^## At risk' review/memo.md",
        steps: ['/forecast-memo review/scores --out review/memo.md', 'Add a line for Omar Haddad, CRO, to sign at the top of review/memo.md.'],
      },
      {
        id: 'P6',
        title: 'Post the summary to #sales-leads',
        inputs: ['review/memo.md'],
        outputs: ['review/posted.md'],
        dependsOn: ['P5'],
        gate: 'human',
        doneWhen: "the post's link is recorded.",
        verify: "grep -q '^Posted:' review/posted.md",
        steps: ['/slack-post --channel sales-leads --file review/memo.md --record review/posted.md'],
      },
    ],
  }),
};

// ---------------------------------------------------------------------------------------------------------------
// 2. Firmographic enrichment of 30 accounts, in three tiers of ten YAML records.

const ACCOUNTS = ['alder', 'birch', 'cedar', 'dogwood', 'elm', 'fir', 'ginkgo', 'hazel', 'ironwood', 'juniper'];

const enrichment: Base = {
  name: 'account-enrichment',
  files: {
    ...Object.fromEntries([
      skill('firmographics', "Looks up an account's industry, headcount and HQ country from public sources."),
      skill('dedupe-accounts', 'Finds duplicate account records and lists the pairs.'),
      skill('crm-import', 'Imports enriched account fields into the CRM as a reviewed batch.'),
      skill('linkedin-scrape', 'Scrapes LinkedIn profiles for titles.'),
      skill('newsletter-builder', 'Builds a newsletter issue from the content calendar.'),
    ]),
    ...Object.fromEntries(
      (['tier-1', 'tier-2', 'tier-3'] as const).flatMap((tier, t) =>
        ACCOUNTS.map((name) => [
          `accounts/${tier}/${name}-${t + 1}.yaml`,
          `name: ${name[0]!.toUpperCase()}${name.slice(1)} Labs ${t + 1}\ndomain: ${name}${t + 1}.example\ntier: ${t + 1}\nindustry: null\nheadcount: null\n`,
        ]),
      ),
    ),
    'accounts/owners.yaml':
      'owners:\n  - name: Priya Natarajan\n    title: head of revenue operations\n  - name: Tom Okafor\n    title: data engineering manager\n',
    'docs/enrichment-rules.md': '# Enrichment rules\n\n- Headcount is a range (1-10, 11-50, 51-200, 201-1000, 1000+).\n- Industry uses the NAICS top level.\n',
    'scripts/check-fields.mjs': 'console.log("ok");\n',
  },
  plan: planText({
    front: front('account-enrichment', 'Enrich the 30 target accounts', 'Priya Natarajan, head of revenue operations', 26, 'enrichment/**'),
    request: 'Fill in industry and headcount for the 30 target accounts in accounts/, check for duplicates, and import the result as one reviewed batch.',
    criteria: [
      { text: 'Each of the 30 accounts has an industry and a headcount range.', verify: 'node scripts/check-fields.mjs enrichment/enriched --count 30' },
      { text: 'Duplicate pairs are listed or there are none.', verify: 'test -f enrichment/duplicates.md' },
      { text: 'The import batch is approved before it runs.', verify: "grep -q '^Approved' enrichment/import-approval.md" },
    ],
    constraints: ['Public sources only; nothing is scraped from LinkedIn.', 'The account records in accounts/ are the input; do not edit them.'],
    stakeholders: ['Priya Natarajan — head of revenue operations, approves the import', 'Tom Okafor — data engineering manager, runs the CRM import'],
    mapped: [
      ['firmographics', 'P1, P2, P3', 'One lookup method for every account'],
      ['dedupe-accounts', 'P4', 'Duplicates would be imported twice'],
      ['crm-import', 'P6', 'Imports as a reviewed batch'],
    ],
    excluded: [
      ['linkedin-scrape', 'The constraints rule out scraping LinkedIn'],
      ['newsletter-builder', 'Not a newsletter'],
    ],
    phases: [
      {
        id: 'P1',
        title: 'Enrich the tier 1 accounts',
        inputs: ['accounts/tier-1/*.yaml', 'docs/enrichment-rules.md'],
        outputs: ['enrichment/enriched/tier-1.yaml'],
        doneWhen: 'ten tier 1 accounts have both fields.',
        verify: 'node scripts/check-fields.mjs enrichment/enriched/tier-1.yaml --count 10',
        steps: ['/firmographics accounts/tier-1 --rules docs/enrichment-rules.md --out enrichment/enriched/tier-1.yaml'],
      },
      {
        id: 'P2',
        title: 'Enrich the tier 2 accounts',
        inputs: ['accounts/tier-2/*.yaml', 'docs/enrichment-rules.md'],
        outputs: ['enrichment/enriched/tier-2.yaml'],
        dependsOn: ['P1'],
        doneWhen: 'ten tier 2 accounts have both fields.',
        verify: 'node scripts/check-fields.mjs enrichment/enriched/tier-2.yaml --count 10',
        steps: ['/firmographics accounts/tier-2 --rules docs/enrichment-rules.md --out enrichment/enriched/tier-2.yaml'],
      },
      {
        id: 'P3',
        title: 'Enrich the tier 3 accounts',
        inputs: ['accounts/tier-3/*.yaml', 'docs/enrichment-rules.md'],
        outputs: ['enrichment/enriched/tier-3.yaml'],
        dependsOn: ['P2'],
        doneWhen: 'ten tier 3 accounts have both fields.',
        verify: 'node scripts/check-fields.mjs enrichment/enriched/tier-3.yaml --count 10',
        steps: ['/firmographics accounts/tier-3 --rules docs/enrichment-rules.md --out enrichment/enriched/tier-3.yaml'],
      },
      {
        id: 'P4',
        title: 'List duplicate accounts',
        inputs: ['enrichment/enriched/*.yaml'],
        outputs: ['enrichment/duplicates.md'],
        dependsOn: ['P3'],
        doneWhen: 'the duplicates file exists, with one line per pair or "none".',
        verify: 'test -f enrichment/duplicates.md',
        steps: ['/dedupe-accounts enrichment/enriched --out enrichment/duplicates.md'],
      },
      {
        id: 'P5',
        title: 'Get the import approved',
        inputs: ['enrichment/enriched/*.yaml', 'enrichment/duplicates.md', 'accounts/owners.yaml'],
        outputs: ['enrichment/import-approval.md'],
        dependsOn: ['P4'],
        gate: 'human',
        doneWhen: 'Priya Natarajan approved the batch.',
        verify: "grep -q '^Approved' enrichment/import-approval.md",
        steps: [
          'Write enrichment/import-approval.md for Priya Natarajan, head of revenue operations: the 30 accounts, the fields filled and the duplicate pairs.',
        ],
      },
      {
        id: 'P6',
        title: 'Import the batch',
        inputs: ['enrichment/enriched/*.yaml', 'enrichment/import-approval.md'],
        outputs: ['enrichment/import-log.md'],
        dependsOn: ['P5'],
        doneWhen: 'the import log shows 30 accounts updated.',
        verify: "grep -q '^Updated: 30$' enrichment/import-log.md",
        steps: ['/crm-import enrichment/enriched --batch q4-enrichment --log enrichment/import-log.md'],
      },
    ],
  }),
};

// ---------------------------------------------------------------------------------------------------------------
// 3. A monthly newsletter from eight content items, sent to the subscriber list after a person's yes.

const ITEMS = ['pricing-update', 'customer-story-alder', 'webinar-recap', 'feature-exports', 'feature-audit-log', 'team-hire', 'event-berlin', 'tip-shortcuts'];

const newsletter: Base = {
  name: 'newsletter',
  files: {
    ...Object.fromEntries([
      skill('newsletter-builder', 'Builds a newsletter issue from the content items and the house template.'),
      skill('link-check', 'Checks every link of an HTML page and lists the broken ones.'),
      skill('mail-send', 'Sends a rendered issue to a subscriber list through the mail tool.', 'metadata:\n  irreversible: true\n'),
      skill('hubspot-sync', 'Deprecated: syncs contacts from HubSpot.'),
      skill('deal-score', 'Scores an open deal.'),
    ]),
    ...many(ITEMS.length, (index) => [
      `content/items/${ITEMS[index]}.md`,
      `# ${ITEMS[index]}\n\nSource: https://example.com/${ITEMS[index]}\n\nBody text of the item.\n`,
    ]),
    'content/template.html': '<html><body>{{items}}</body></html>\n',
    'briefings/audience.md': '# Audience\n\nCustomers and trial users; plain words, one idea per item.\n\n- Sam Reyes — marketing lead, approves each issue\n',
    'scripts/render.mjs': 'console.log("rendered");\n',
  },
  plan: planText({
    front: front('march-newsletter', 'March customer newsletter', 'Sam Reyes, marketing lead', 23, 'newsletter/**'),
    request: 'Build the March newsletter from the eight items in content/items/, check its links, and send it to the customer list once Sam approves.',
    criteria: [
      { text: 'The issue holds all eight items.', verify: `test "$(grep -c '<article' newsletter/issue.html)" -eq 8` },
      { text: 'No broken links.', verify: "grep -q '^Broken: 0$' newsletter/links.md" },
      { text: 'Sam approved the issue before it was sent.', verify: "grep -q '^Approved' newsletter/approval.md" },
      { text: 'The send is recorded with its list and time.', verify: "grep -q '^List: customers$' newsletter/sent.md" },
    ],
    constraints: ['Only the items in content/items/; nothing else goes in the issue.', 'Send to the customers list only, never to trial users.'],
    stakeholders: ['Sam Reyes — marketing lead, approves the issue', 'Noor Ali — lifecycle manager, owns the customers list'],
    mapped: [
      ['newsletter-builder', 'P2', 'The house template and item order'],
      ['link-check', 'P3', 'Broken links cost clicks'],
      ['mail-send', 'P5', 'The mail tool holds the list'],
    ],
    excluded: [
      ['hubspot-sync', 'Deprecated; the mail tool holds the list'],
      ['deal-score', 'Not a sales task'],
    ],
    phases: [
      {
        id: 'P1',
        title: 'Order the items',
        inputs: ['content/items/*.md', 'briefings/audience.md'],
        outputs: ['newsletter/order.md'],
        doneWhen: 'the order lists eight items, each with a one-line hook.',
        verify: `test "$(grep -c '^- ' newsletter/order.md)" -eq 8`,
        steps: ['Read each item in content/items/ and write newsletter/order.md: one line per item, strongest first, with a one-line hook.'],
      },
      {
        id: 'P2',
        title: 'Build the issue',
        inputs: ['newsletter/order.md', 'content/items/*.md', 'content/template.html'],
        outputs: ['newsletter/issue.html'],
        dependsOn: ['P1'],
        doneWhen: 'the issue has eight articles.',
        verify: `test "$(grep -c '<article' newsletter/issue.html)" -eq 8`,
        steps: ['/newsletter-builder newsletter/order.md --template content/template.html --out newsletter/issue.html'],
      },
      {
        id: 'P3',
        title: 'Check the links',
        inputs: ['newsletter/issue.html'],
        outputs: ['newsletter/links.md'],
        dependsOn: ['P2'],
        gate: 'review',
        doneWhen: 'no link is broken.',
        verify: "grep -q '^Broken: 0$' newsletter/links.md",
        steps: ['/link-check newsletter/issue.html --out newsletter/links.md'],
      },
      {
        id: 'P4',
        title: "Get Sam's approval",
        inputs: ['newsletter/issue.html', 'newsletter/links.md'],
        outputs: ['newsletter/approval.md'],
        dependsOn: ['P3'],
        gate: 'human',
        doneWhen: 'Sam approved the issue.',
        verify: "grep -q '^Approved' newsletter/approval.md",
        steps: ['Write newsletter/approval.md for Sam Reyes, marketing lead: the subject line, the eight items and the link check.'],
      },
      {
        id: 'P5',
        title: 'Send the issue to the customers list',
        inputs: ['newsletter/issue.html', 'newsletter/approval.md'],
        outputs: ['newsletter/sent.md'],
        dependsOn: ['P4'],
        doneWhen: 'the send is recorded.',
        verify: "grep -q '^List: customers$' newsletter/sent.md",
        steps: ['/mail-send newsletter/issue.html --list customers --record newsletter/sent.md'],
      },
    ],
  }),
};

// ---------------------------------------------------------------------------------------------------------------
// 4. A content plan: twelve help-centre articles from twelve briefs, in three groups, published after review.

const BRIEFS = [
  'getting-started',
  'invite-team',
  'billing-basics',
  'export-data',
  'audit-log',
  'sso-setup',
  'api-keys',
  'webhooks',
  'roles',
  'data-retention',
  'mobile-app',
  'troubleshooting',
];
const group = (from: number) => BRIEFS.slice(from, from + 4);

const contentPlan: Base = {
  name: 'help-centre',
  files: {
    ...Object.fromEntries([
      skill('article-writer', 'Writes a help-centre article from its brief in the house style.'),
      skill('fact-check', 'Checks every claim of an article against the product docs and lists the ones without a source.'),
      skill('publish-post', 'Publishes finished articles to the help centre and records their URLs.'),
      skill('backup-export', 'Exports a database to an archive.'),
      skill('cron-schedule', 'Writes a cron entry.'),
    ]),
    ...many(BRIEFS.length, (index) => [
      `briefs/${BRIEFS[index]}.md`,
      `# ${BRIEFS[index]}\n\nAudience: admins.\nPoint: how to ${BRIEFS[index]!.replace(/-/g, ' ')}.\n`,
    ]),
    'docs/product.md': '# Product reference\n\nEvery feature, with its limits.\n',
    'docs/style.md': '# House style\n\nSecond person, short sentences, one task per article.\n\n- Mei Lin — documentation lead, approves articles\n',
    'scripts/word-count.mjs': 'console.log("ok");\n',
  },
  plan: planText({
    front: front('help-centre-q1', 'Twelve help-centre articles for Q1', 'Mei Lin, documentation lead', 26, 'articles/**'),
    request: 'Write the twelve help-centre articles briefed in briefs/, fact-check them against docs/product.md, and publish them after Mei approves.',
    criteria: [
      { text: 'One article per brief, twelve in all.', verify: 'test "$(ls articles/drafts/*.md | wc -l)" -eq 12' },
      { text: 'Every claim has a source in the product docs.', verify: "grep -q '^Unsourced: 0$' articles/fact-check.md" },
      { text: "The articles are published after Mei's approval.", verify: 'test -s articles/published.md' },
    ],
    constraints: ['No claim without a source in docs/product.md.', 'Follow docs/style.md; one task per article.'],
    stakeholders: ['Mei Lin — documentation lead, approves the articles', 'Jonas Weber — support manager, reviews the troubleshooting article'],
    mapped: [
      ['article-writer', 'P1, P2, P3', 'House style for every article'],
      ['fact-check', 'P4', 'Claims must have sources'],
      ['publish-post', 'P5', "The help centre's publishing flow"],
    ],
    excluded: [
      ['backup-export', 'Not an infrastructure task'],
      ['cron-schedule', 'Nothing is scheduled'],
    ],
    phases: [
      ...[0, 4, 8].map((from, index): PhaseSpec => {
        const drafts = group(from).map((brief) => `articles/drafts/${brief}.md`);
        return {
          id: `P${index + 1}`,
          title: `Write articles ${from + 1} to ${from + 4}`,
          inputs: [...group(from).map((brief) => `briefs/${brief}.md`), 'docs/style.md'],
          outputs: drafts,
          dependsOn: index === 0 ? [] : [`P${index}`],
          doneWhen: 'the four articles of this group exist.',
          verify: `test "$(ls ${drafts.join(' ')} | wc -l)" -eq 4`,
          steps: group(from).map((brief) => `/article-writer briefs/${brief}.md --style docs/style.md --out articles/drafts/${brief}.md`),
        };
      }),
      {
        id: 'P4',
        title: 'Fact-check every article',
        inputs: ['articles/drafts/*.md', 'docs/product.md'],
        outputs: ['articles/fact-check.md'],
        dependsOn: ['P3'],
        gate: 'human',
        doneWhen: 'no claim is left without a source.',
        verify: "grep -q '^Unsourced: 0$' articles/fact-check.md",
        steps: ['/fact-check articles/drafts --against docs/product.md --out articles/fact-check.md'],
      },
      {
        id: 'P5',
        title: 'Publish the articles',
        inputs: ['articles/drafts/*.md', 'articles/fact-check.md'],
        outputs: ['articles/published.md'],
        dependsOn: ['P4'],
        doneWhen: 'every article has its URL.',
        verify: `test "$(grep -c '^https://' articles/published.md)" -eq 12`,
        steps: ['/publish-post articles/drafts --record articles/published.md'],
      },
    ],
  }),
};

export const BASES: readonly Base[] = [dealReview, enrichment, newsletter, contentPlan];
