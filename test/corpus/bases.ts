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
  return [`.claude/skills/${name}/SKILL.md`, `---\nname: ${name}\ndescription: ${JSON.stringify(description)}\n${metadata}---\n\n# ${name}\n\nHow to use ${name}.\n`];
}

function many(count: number, make: (index: number) => [string, string]): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, index) => make(index)));
}

const FRONT = (id: string, title: string, owner: string, budget: number, write: string, extra = '') => `---
deepplan: 1
id: ${id}
title: ${title}
status: approved
created: 2026-11-20
workstream: consulting
deliverable: analytics
quality_bar: structural
owner: ${owner}
budget:
  max_iterations: ${budget}
  basis: formula
scope:
  write: [${write}]
  commands: [node scripts/]
state:
  phase: P1
  iteration: 0
  revision: 0
  next_action: Start P1
  blockers: []
  updated: 2026-11-20T10:00:00Z${extra}
---
`;

const LOG = `## Running learnings

## Iteration log

| # | When | Phase | Action | Result | Signal | Notes |
| --- | --- | --- | --- | --- | --- | --- |
`;

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
          JSON.stringify({ id: `${name}-${region}`, account: `${name[0]!.toUpperCase()}${name.slice(1)} ${region.toUpperCase()}`, stage: ['discovery', 'proposal', 'negotiation'][index % 3], amount: 20000 + index * 5000, owner: 'Omar Haddad' }, null, 2),
        ]),
      ),
    ),
    'crm/team.yaml': 'people:\n  - name: Omar Haddad\n    title: CRO\n  - name: Lena Brandt\n    title: VP Sales\n  - name: Ivo Petrov\n    title: sales operations manager\n',
    'briefings/q4-guidance.md': '# Q4 guidance\n\nCommit only deals with a dated next step and a named champion.\n\n- Omar Haddad (CRO) signs the forecast.\n',
    'scripts/score-region.mjs': 'console.log("scored");\n',
    'scripts/count-scores.mjs': 'console.log("40");\n',
  },
  plan: `${FRONT('q4-deal-review', 'Q4 review of the 40 open deals', 'Omar Haddad, CRO', 26, 'review/**')}
# Q4 review of the 40 open deals

## Request

Review every open deal before the Q4 forecast call: score each one, write the forecast memo, and post the summary to #sales-leads once Omar approves.

## Success criteria

- [ ] SC1: Every one of the 40 open deals has a score. verify: \`test "$(cat review/scores/*.md | grep -c '^Score:')" -eq 40\`
- [ ] SC2: The forecast memo splits commit, best case and at risk. verify: \`grep -q '^## At risk' review/memo.md\`
- [ ] SC3: The summary is posted to #sales-leads after Omar's approval. verify: \`grep -q '^Posted:' review/posted.md\`

## Constraints

- The CRM export is read-only: do not change deal stages.
- Only deals that are open today; closed deals stay out.

## Stakeholders

- Omar Haddad — CRO, signs the forecast and approves the post
- Lena Brandt — VP Sales, owns the AMER and EMEA deals
- Ivo Petrov — sales operations manager, keeps the CRM export

## Skills

### Mapped

| Skill | Phases | Why |
| --- | --- | --- |
| deal-score | P1, P2, P3, P4 | Scores each deal the same way |
| forecast-memo | P5 | The memo format the forecast call uses |
| slack-post | P6 | #sales-leads is where the team reads it |

### Excluded

| Skill | Reason |
| --- | --- |
| hubspot-sync | HubSpot is deprecated; the CRM export is the source |
| newsletter-builder | Not a newsletter |

## Phases

### P1. Score the AMER deals
- Inputs: crm/deals/amer/*.json, briefings/q4-guidance.md
- Outputs: review/scores/amer.md
- Context: direct
- Depends on: none
- Done when: ten AMER deals are scored. verify: \`test "$(grep -c '^Score:' review/scores/amer.md)" -eq 10\`
- Status: pending

1. /deal-score crm/deals/amer --guidance briefings/q4-guidance.md --out review/scores/amer.md

### P2. Score the EMEA deals
- Inputs: crm/deals/emea/*.json, briefings/q4-guidance.md
- Outputs: review/scores/emea.md
- Context: direct
- Depends on: P1
- Done when: ten EMEA deals are scored. verify: \`test "$(grep -c '^Score:' review/scores/emea.md)" -eq 10\`
- Status: pending

1. /deal-score crm/deals/emea --guidance briefings/q4-guidance.md --out review/scores/emea.md

### P3. Score the APAC deals
- Inputs: crm/deals/apac/*.json, briefings/q4-guidance.md
- Outputs: review/scores/apac.md
- Context: direct
- Depends on: P2
- Done when: ten APAC deals are scored. verify: \`test "$(grep -c '^Score:' review/scores/apac.md)" -eq 10\`
- Status: pending

1. /deal-score crm/deals/apac --guidance briefings/q4-guidance.md --out review/scores/apac.md

### P4. Score the LATAM deals
- Inputs: crm/deals/latam/*.json, briefings/q4-guidance.md
- Outputs: review/scores/latam.md
- Context: direct
- Depends on: P3
- Done when: ten LATAM deals are scored. verify: \`test "$(grep -c '^Score:' review/scores/latam.md)" -eq 10\`
- Status: pending

1. /deal-score crm/deals/latam --guidance briefings/q4-guidance.md --out review/scores/latam.md

### P5. Write the forecast memo
- Inputs: review/scores/*.md, crm/team.yaml
- Outputs: review/memo.md
- Context: direct
- Depends on: P4
- Gate: human
- Done when: the memo lists commit, best case and at risk, with the deals in each. verify: \`grep -q '^## At risk' review/memo.md\`
- Status: pending

1. /forecast-memo review/scores --out review/memo.md
2. Add a line for Omar Haddad, CRO, to sign at the top of review/memo.md.

### P6. Post the summary to #sales-leads
- Inputs: review/memo.md
- Outputs: review/posted.md
- Context: direct
- Depends on: P5
- Gate: human
- Done when: the post's link is recorded. verify: \`grep -q '^Posted:' review/posted.md\`
- Status: pending

1. /slack-post --channel sales-leads --file review/memo.md --record review/posted.md

${LOG}`,
};

// ---------------------------------------------------------------------------------------------------------------
// 2. Firmographic enrichment of 30 accounts, in three tiers of ten YAML records.

const ACCOUNTS = ['alder', 'birch', 'cedar', 'dogwood', 'elm', 'fir', 'ginkgo', 'hazel', 'ironwood', 'juniper'];

const enrichment: Base = {
  name: 'account-enrichment',
  files: {
    ...Object.fromEntries([
      skill('firmographics', 'Looks up an account\'s industry, headcount and HQ country from public sources.'),
      skill('dedupe-accounts', 'Finds duplicate account records and lists the pairs.'),
      skill('crm-import', 'Imports enriched account fields into the CRM as a reviewed batch.'),
      skill('linkedin-scrape', 'Scrapes LinkedIn profiles for titles.'),
      skill('newsletter-builder', 'Builds a newsletter issue from the content calendar.'),
    ]),
    ...Object.fromEntries(
      (['tier-1', 'tier-2', 'tier-3'] as const).flatMap((tier, t) =>
        ACCOUNTS.map((name) => [`accounts/${tier}/${name}-${t + 1}.yaml`, `name: ${name[0]!.toUpperCase()}${name.slice(1)} Labs ${t + 1}\ndomain: ${name}${t + 1}.example\ntier: ${t + 1}\nindustry: null\nheadcount: null\n`]),
      ),
    ),
    'accounts/owners.yaml': 'owners:\n  - name: Priya Natarajan\n    title: head of revenue operations\n  - name: Tom Okafor\n    title: data engineering manager\n',
    'docs/enrichment-rules.md': '# Enrichment rules\n\n- Headcount is a range (1-10, 11-50, 51-200, 201-1000, 1000+).\n- Industry uses the NAICS top level.\n',
    'scripts/check-fields.mjs': 'console.log("ok");\n',
  },
  plan: `${FRONT('account-enrichment', 'Enrich the 30 target accounts', 'Priya Natarajan, head of revenue operations', 26, 'enrichment/**')}
# Enrich the 30 target accounts

## Request

Fill in industry and headcount for the 30 target accounts in accounts/, check for duplicates, and import the result as one reviewed batch.

## Success criteria

- [ ] SC1: Each of the 30 accounts has an industry and a headcount range. verify: \`node scripts/check-fields.mjs enrichment/enriched --count 30\`
- [ ] SC2: Duplicate pairs are listed or there are none. verify: \`test -f enrichment/duplicates.md\`
- [ ] SC3: The import batch is approved before it runs. verify: \`grep -q '^Approved' enrichment/import-approval.md\`

## Constraints

- Public sources only; nothing is scraped from LinkedIn.
- The account records in accounts/ are the input; do not edit them.

## Stakeholders

- Priya Natarajan — head of revenue operations, approves the import
- Tom Okafor — data engineering manager, runs the CRM import

## Skills

### Mapped

| Skill | Phases | Why |
| --- | --- | --- |
| firmographics | P1, P2, P3 | One lookup method for every account |
| dedupe-accounts | P4 | Duplicates would be imported twice |
| crm-import | P6 | Imports as a reviewed batch |

### Excluded

| Skill | Reason |
| --- | --- |
| linkedin-scrape | The constraints rule out scraping LinkedIn |
| newsletter-builder | Not a newsletter |

## Phases

### P1. Enrich the tier 1 accounts
- Inputs: accounts/tier-1/*.yaml, docs/enrichment-rules.md
- Outputs: enrichment/enriched/tier-1.yaml
- Context: direct
- Depends on: none
- Done when: ten tier 1 accounts have both fields. verify: \`node scripts/check-fields.mjs enrichment/enriched/tier-1.yaml --count 10\`
- Status: pending

1. /firmographics accounts/tier-1 --rules docs/enrichment-rules.md --out enrichment/enriched/tier-1.yaml

### P2. Enrich the tier 2 accounts
- Inputs: accounts/tier-2/*.yaml, docs/enrichment-rules.md
- Outputs: enrichment/enriched/tier-2.yaml
- Context: direct
- Depends on: P1
- Done when: ten tier 2 accounts have both fields. verify: \`node scripts/check-fields.mjs enrichment/enriched/tier-2.yaml --count 10\`
- Status: pending

1. /firmographics accounts/tier-2 --rules docs/enrichment-rules.md --out enrichment/enriched/tier-2.yaml

### P3. Enrich the tier 3 accounts
- Inputs: accounts/tier-3/*.yaml, docs/enrichment-rules.md
- Outputs: enrichment/enriched/tier-3.yaml
- Context: direct
- Depends on: P2
- Done when: ten tier 3 accounts have both fields. verify: \`node scripts/check-fields.mjs enrichment/enriched/tier-3.yaml --count 10\`
- Status: pending

1. /firmographics accounts/tier-3 --rules docs/enrichment-rules.md --out enrichment/enriched/tier-3.yaml

### P4. List duplicate accounts
- Inputs: enrichment/enriched/*.yaml
- Outputs: enrichment/duplicates.md
- Context: direct
- Depends on: P3
- Done when: the duplicates file exists, with one line per pair or "none". verify: \`test -f enrichment/duplicates.md\`
- Status: pending

1. /dedupe-accounts enrichment/enriched --out enrichment/duplicates.md

### P5. Get the import approved
- Inputs: enrichment/enriched/*.yaml, enrichment/duplicates.md, accounts/owners.yaml
- Outputs: enrichment/import-approval.md
- Context: direct
- Depends on: P4
- Gate: human
- Done when: Priya Natarajan approved the batch. verify: \`grep -q '^Approved' enrichment/import-approval.md\`
- Status: pending

1. Write enrichment/import-approval.md for Priya Natarajan, head of revenue operations: the 30 accounts, the fields filled and the duplicate pairs.

### P6. Import the batch
- Inputs: enrichment/enriched/*.yaml, enrichment/import-approval.md
- Outputs: enrichment/import-log.md
- Context: direct
- Depends on: P5
- Done when: the import log shows 30 accounts updated. verify: \`grep -q '^Updated: 30$' enrichment/import-log.md\`
- Status: pending

1. /crm-import enrichment/enriched --batch q4-enrichment --log enrichment/import-log.md

${LOG}`,
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
    ...many(ITEMS.length, (index) => [`content/items/${ITEMS[index]}.md`, `# ${ITEMS[index]}\n\nSource: https://example.com/${ITEMS[index]}\n\nBody text of the item.\n`]),
    'content/template.html': '<html><body>{{items}}</body></html>\n',
    'briefings/audience.md': '# Audience\n\nCustomers and trial users; plain words, one idea per item.\n\n- Sam Reyes — marketing lead, approves each issue\n',
    'scripts/render.mjs': 'console.log("rendered");\n',
  },
  plan: `${FRONT('march-newsletter', 'March customer newsletter', 'Sam Reyes, marketing lead', 23, 'newsletter/**')}
# March customer newsletter

## Request

Build the March newsletter from the eight items in content/items/, check its links, and send it to the customer list once Sam approves.

## Success criteria

- [ ] SC1: The issue holds all eight items. verify: \`test "$(grep -c '<article' newsletter/issue.html)" -eq 8\`
- [ ] SC2: No broken links. verify: \`grep -q '^Broken: 0$' newsletter/links.md\`
- [ ] SC3: Sam approved the issue before it was sent. verify: \`grep -q '^Approved' newsletter/approval.md\`
- [ ] SC4: The send is recorded with its list and time. verify: \`grep -q '^List: customers$' newsletter/sent.md\`

## Constraints

- Only the items in content/items/; nothing else goes in the issue.
- Send to the customers list only, never to trial users.

## Stakeholders

- Sam Reyes — marketing lead, approves the issue
- Noor Ali — lifecycle manager, owns the customers list

## Skills

### Mapped

| Skill | Phases | Why |
| --- | --- | --- |
| newsletter-builder | P2 | The house template and item order |
| link-check | P3 | Broken links cost clicks |
| mail-send | P5 | The mail tool holds the list |

### Excluded

| Skill | Reason |
| --- | --- |
| hubspot-sync | Deprecated; the mail tool holds the list |
| deal-score | Not a sales task |

## Phases

### P1. Order the items
- Inputs: content/items/*.md, briefings/audience.md
- Outputs: newsletter/order.md
- Context: direct
- Depends on: none
- Done when: the order lists eight items, each with a one-line hook. verify: \`test "$(grep -c '^- ' newsletter/order.md)" -eq 8\`
- Status: pending

1. Read each item in content/items/ and write newsletter/order.md: one line per item, strongest first, with a one-line hook.

### P2. Build the issue
- Inputs: newsletter/order.md, content/items/*.md, content/template.html
- Outputs: newsletter/issue.html
- Context: direct
- Depends on: P1
- Done when: the issue has eight articles. verify: \`test "$(grep -c '<article' newsletter/issue.html)" -eq 8\`
- Status: pending

1. /newsletter-builder newsletter/order.md --template content/template.html --out newsletter/issue.html

### P3. Check the links
- Inputs: newsletter/issue.html
- Outputs: newsletter/links.md
- Context: direct
- Depends on: P2
- Gate: review
- Done when: no link is broken. verify: \`grep -q '^Broken: 0$' newsletter/links.md\`
- Status: pending

1. /link-check newsletter/issue.html --out newsletter/links.md

### P4. Get Sam's approval
- Inputs: newsletter/issue.html, newsletter/links.md
- Outputs: newsletter/approval.md
- Context: direct
- Depends on: P3
- Gate: human
- Done when: Sam approved the issue. verify: \`grep -q '^Approved' newsletter/approval.md\`
- Status: pending

1. Write newsletter/approval.md for Sam Reyes, marketing lead: the subject line, the eight items and the link check.

### P5. Send the issue to the customers list
- Inputs: newsletter/issue.html, newsletter/approval.md
- Outputs: newsletter/sent.md
- Context: direct
- Depends on: P4
- Done when: the send is recorded. verify: \`grep -q '^List: customers$' newsletter/sent.md\`
- Status: pending

1. /mail-send newsletter/issue.html --list customers --record newsletter/sent.md

${LOG}`,
};

// ---------------------------------------------------------------------------------------------------------------
// 4. A content plan: twelve help-centre articles from twelve briefs, in three groups, published after review.

const BRIEFS = ['getting-started', 'invite-team', 'billing-basics', 'export-data', 'audit-log', 'sso-setup', 'api-keys', 'webhooks', 'roles', 'data-retention', 'mobile-app', 'troubleshooting'];
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
    ...many(BRIEFS.length, (index) => [`briefs/${BRIEFS[index]}.md`, `# ${BRIEFS[index]}\n\nAudience: admins.\nPoint: how to ${BRIEFS[index]!.replace(/-/g, ' ')}.\n`]),
    'docs/product.md': '# Product reference\n\nEvery feature, with its limits.\n',
    'docs/style.md': '# House style\n\nSecond person, short sentences, one task per article.\n\n- Mei Lin — documentation lead, approves articles\n',
    'scripts/word-count.mjs': 'console.log("ok");\n',
  },
  plan: `${FRONT('help-centre-q1', 'Twelve help-centre articles for Q1', 'Mei Lin, documentation lead', 26, 'articles/**')}
# Twelve help-centre articles for Q1

## Request

Write the twelve help-centre articles briefed in briefs/, fact-check them against docs/product.md, and publish them after Mei approves.

## Success criteria

- [ ] SC1: One article per brief, twelve in all. verify: \`test "$(ls articles/drafts/*.md | wc -l)" -eq 12\`
- [ ] SC2: Every claim has a source in the product docs. verify: \`grep -q '^Unsourced: 0$' articles/fact-check.md\`
- [ ] SC3: The articles are published after Mei's approval. verify: \`test -s articles/published.md\`

## Constraints

- No claim without a source in docs/product.md.
- Follow docs/style.md; one task per article.

## Stakeholders

- Mei Lin — documentation lead, approves the articles
- Jonas Weber — support manager, reviews the troubleshooting article

## Skills

### Mapped

| Skill | Phases | Why |
| --- | --- | --- |
| article-writer | P1, P2, P3 | House style for every article |
| fact-check | P4 | Claims must have sources |
| publish-post | P5 | The help centre's publishing flow |

### Excluded

| Skill | Reason |
| --- | --- |
| backup-export | Not an infrastructure task |
| cron-schedule | Nothing is scheduled |

## Phases

${[0, 4, 8]
  .map(
    (from, index) => `### P${index + 1}. Write articles ${from + 1} to ${from + 4}
- Inputs: ${group(from).map((brief) => `briefs/${brief}.md`).join(', ')}, docs/style.md
- Outputs: ${group(from).map((brief) => `articles/drafts/${brief}.md`).join(', ')}
- Context: direct
- Depends on: ${index === 0 ? 'none' : `P${index}`}
- Done when: the four articles of this group exist. verify: \`test "$(ls ${group(from).map((brief) => `articles/drafts/${brief}.md`).join(' ')} | wc -l)" -eq 4\`
- Status: pending

${group(from).map((brief, step) => `${step + 1}. /article-writer briefs/${brief}.md --style docs/style.md --out articles/drafts/${brief}.md`).join('\n')}
`,
  )
  .join('\n')}
### P4. Fact-check every article
- Inputs: articles/drafts/*.md, docs/product.md
- Outputs: articles/fact-check.md
- Context: direct
- Depends on: P3
- Gate: human
- Done when: no claim is left without a source. verify: \`grep -q '^Unsourced: 0$' articles/fact-check.md\`
- Status: pending

1. /fact-check articles/drafts --against docs/product.md --out articles/fact-check.md

### P5. Publish the articles
- Inputs: articles/drafts/*.md, articles/fact-check.md
- Outputs: articles/published.md
- Context: direct
- Depends on: P4
- Done when: every article has its URL. verify: \`test "$(grep -c '^https://' articles/published.md)" -eq 12\`
- Status: pending

1. /publish-post articles/drafts --record articles/published.md

${LOG}`,
};

export const BASES: readonly Base[] = [dealReview, enrichment, newsletter, contentPlan];
