import { type MetadataValue, skillMd, skillPath } from './plan-text.js';

/**
 * Five repositories shaped like the seed's workloads, for the offline planner: enrich 50 accounts, curate 120
 * articles into a digest, score 40 deals and coach the reps, codify an SEO setup and roll it out to a new city,
 * produce 74 articles. Each has realistic skills (contracts in `metadata.reads`/`writes`, or only in their
 * instructions; one deprecated, some unrelated) and source documents of over 3,000 and over 6,000 lines.
 */

const WORDS = [
  'market',
  'buyer',
  'signal',
  'budget',
  'region',
  'growth',
  'platform',
  'segment',
  'partner',
  'renewal',
  'pricing',
  'churn',
  'pipeline',
  'vertical',
  'launch',
];

/** A document of `lines` lines of plausible prose, with a heading every 40 lines. */
export function document(title: string, lines: number): string {
  const out = [`# ${title}`];
  for (let index = 1; out.length < lines; index++) {
    if (index % 40 === 0) out.push('', `## Section ${index / 40}`);
    else out.push(`Line ${index}: the ${WORDS[index % WORDS.length]} ${WORDS[(index * 7) % WORDS.length]} note ${index} of ${title.toLowerCase()}.`);
  }
  return `${out.slice(0, lines).join('\n')}\n`;
}

function skill(
  name: string,
  description: string,
  metadata: Record<string, MetadataValue> = {},
  body = `Follow the team's conventions for ${name}.`,
  argumentHint?: string,
): [string, string] {
  const extra = argumentHint ? `argument-hint: ${JSON.stringify(argumentHint)}\n` : '';
  return [skillPath(name), skillMd({ name, description, extra, metadata, body })];
}

const pad = (n: number, width = 3) => String(n).padStart(width, '0');
const COMPANY = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'vandelay', 'stark', 'wayne', 'wonka', 'tyrell'];

export interface Workload {
  name: string;
  files: Record<string, string>;
  request: string;
  /** The folder of entities and how many. */
  folder: string;
  count: number;
  approver: string;
  /** Skills that must be mapped, and the deprecated one that must not. */
  mapped: string[];
  deprecated: string;
  /** Words of the request that must reach the plan: a success figure, the quality bar, constraints. */
  success: string;
  qualityBar: 'structural' | 'semantic' | 'adversarial';
  constraints: string[];
}

export function enrichmentWorkload(): Workload {
  const files: Record<string, string> = Object.fromEntries([
    skill(
      'enrich-account',
      'Fills firmographic fields of one account record from trusted sources, each value with its source.',
      { reads: ['crm/accounts/<account>.yaml'], writes: ['enriched/<account>.yaml', 'enrichment/log.md'] },
      'Look up each field the brief lists; write unknown rather than guess.',
      '<account>',
    ),
    skill('enrichment-brief', 'Writes the enrichment brief: the fields to fill, the sources to trust and what counts as verified.', {
      writes: ['enrichment/brief.md'],
    }),
    skill('coverage-report', 'Summarises field coverage of an enrichment run from its log.', {
      reads: ['enrichment/log.md'],
      writes: ['enrichment/summary.md'],
    }),
    skill('clearbit-enrich', 'Deprecated: Clearbit enrichment. Do not use; the API was shut down. Use enrich-account.', {
      reads: ['crm/accounts/<account>.yaml'],
      writes: ['enriched/<account>.yaml'],
    }),
    skill('meeting-notes', 'Turns a call recording transcript into meeting notes with action items.', {
      reads: ['calls/<call>.txt'],
      writes: ['notes/calls/<call>.md'],
    }),
    skill('linkedin-post', 'Drafts a LinkedIn post from a product announcement.'),
  ]);
  for (let index = 1; index <= 50; index++) {
    files[`crm/accounts/${COMPANY[index % 10]}-${pad(index)}.yaml`] =
      `name: ${COMPANY[index % 10]} ${index}\ndomain: ${COMPANY[index % 10]}${index}.example\nindustry:\nemployees:\nhq_city:\n`;
  }
  files['crm/contacts/acme-001/jane-doe.yaml'] = 'name: Jane Doe\ntitle: CFO\n';
  files['crm/contacts/acme-001/joe-roe.yaml'] = 'name: Joe Roe\ntitle: CTO\n';
  files['docs/icp-research.md'] = document('ICP research', 3_400);
  files['docs/market-report.md'] = document('Market report', 6_500);
  return {
    name: 'account enrichment',
    files,
    request:
      'Enrich the 50 target accounts in crm/accounts: fill industry, employee count, HQ city and tech stack for each, using docs/icp-research.md and docs/market-report.md.\nSuccess: every account has industry and employee count with a source.\nConstraints: no paid data vendors; mark a field unknown rather than guess; keep the CRM export as it is.\nThe quality bar is semantic. Rosa Diaz, the RevOps lead, approves.',
    folder: 'crm/accounts',
    count: 50,
    approver: 'Rosa Diaz',
    mapped: ['enrich-account', 'enrichment-brief', 'coverage-report'],
    deprecated: 'clearbit-enrich',
    success: 'every account has industry and employee count with a source',
    qualityBar: 'semantic',
    constraints: ['no paid data vendors', 'mark a field unknown rather than guess', 'keep the CRM export as it is'],
  };
}

export function digestWorkload(): Workload {
  const files: Record<string, string> = Object.fromEntries([
    skill(
      'article-scorer',
      'Scores one article against the digest rubric and appends its score line.',
      { reads: ['inbox/<article>.md', 'digest/brief.md'], writes: ['digest/scores.md'] },
      'Give 0 to 5 per rubric line.',
      '<article>',
    ),
    skill('digest-writer', 'Writes the digest from the shortlist: headline, two sentences and the link per pick.', {
      reads: ['digest/shortlist.md'],
      writes: ['digest/digest.md'],
    }),
    skill('source-check', 'Checks each digest entry against its article and quotes the line it rests on.', {
      reads: ['digest/digest.md'],
      writes: ['digest/fact-check.md'],
    }),
    skill('rss-fetch', 'Fetches the subscribed feeds into the inbox.', { writes: ['inbox/<article>.md'] }),
    skill('newsletter-send', 'Sends a finished issue to the subscriber list through the email provider.', {
      reads: ['digest/digest.md'],
      writes: ['sent/<issue>.json'],
      irreversible: true,
    }),
    skill('mailchimp-legacy', 'Builds a Mailchimp campaign from a digest.', {
      deprecated: true,
      'replaced-by': 'newsletter-send',
      writes: ['mailchimp/campaign.json'],
    }),
  ]);
  for (let index = 1; index <= 120; index++)
    files[`inbox/story-${pad(index)}.md`] = `# Story ${index}\n\nSource: https://news.example/${index}\n\nA story about ${WORDS[index % WORDS.length]}.\n`;
  files['inbox/README.md'] = '# Inbox\n\nOne file per fetched article.\n';
  files['docs/reader-survey.md'] = document('Reader survey', 3_200);
  files['docs/archive-index.md'] = document('Archive index', 6_300);
  return {
    name: 'digest curation',
    files,
    request:
      "Curate this week's digest from the 120 articles in inbox/: score each against docs/reader-survey.md and docs/archive-index.md, pick the best 12 and write them up. Success: 12 picks, each with a two-sentence summary and its link. Constraints: nothing is sent; only articles from the last 7 days; no paywalled links. Jamal Brooks, the managing editor, approves.",
    folder: 'inbox',
    count: 120,
    approver: 'Jamal Brooks',
    mapped: ['article-scorer', 'digest-writer', 'source-check'],
    deprecated: 'mailchimp-legacy',
    success: '12 picks, each with a two-sentence summary and its link',
    qualityBar: 'semantic',
    constraints: ['nothing is sent', 'only articles from the last 7 days', 'no paywalled links'],
  };
}

export function dealWorkload(): Workload {
  const reps = ['ana', 'ben', 'cleo', 'dev', 'eli'];
  const files: Record<string, string> = Object.fromEntries([
    // This one says what it reads and writes only in its instructions.
    skill(
      'deal-scorer',
      'Scores one deal against the qualification rubric and records the weakest criterion.',
      {},
      'Reads the deal record crm/deals/stage-3/<deal>.yaml and the rubric review/rubric.md.\nWrites one line for the deal to review/scores.md.',
      '<deal-file>',
    ),
    skill('rep-coaching', 'Writes coaching notes for each rep on their weakest deals, with one next step each.', {
      reads: ['review/by-rep.md'],
      writes: ['coaching/notes.md'],
    }),
    skill('pipeline-summary', 'Writes the one-page pipeline review for the weekly call.', { reads: ['review/scores.md'], writes: ['review/summary.md'] }),
    skill('forecast-export', 'Exports the quarter forecast as CSV for finance.', { writes: ['forecast/<quarter>.csv'] }),
    skill('salesforce-sync', 'Syncs deal stages to Salesforce.', { status: 'deprecated', writes: ['sync/salesforce.json'] }),
    skill('gong-digest', 'Summarises recorded sales calls.', { reads: ['calls/<call>.json'], writes: ['calls/summaries/<call>.md'] }),
  ]);
  for (let index = 1; index <= 40; index++) {
    files[`crm/deals/stage-3/deal-${pad(index)}.yaml`] =
      `name: ${COMPANY[index % 10]} expansion ${index}\nowner: ${reps[index % reps.length]}\nstage: 3\namount: ${20_000 + index * 1_500}\nchampion: ${index % 3 === 0 ? 'none' : 'named'}\n`;
  }
  for (let index = 1; index <= 6; index++) files[`crm/deals/stage-2/deal-${pad(100 + index)}.yaml`] = 'stage: 2\n';
  files['playbooks/sales-playbook.md'] = document('Sales playbook', 3_300);
  files['playbooks/win-loss.md'] = document('Win-loss interviews', 6_200);
  return {
    name: 'deal review',
    files,
    request:
      'Stage 3 deal review: score the 40 deals in crm/deals/stage-3 against playbooks/sales-playbook.md and playbooks/win-loss.md, then coach each rep on their weakest deals. Success: every Stage 3 deal has a score and every rep has coaching notes. The quality bar is adversarial. Constraints: the CRM stays as it is; nothing goes to the reps before approval. Marta Kowalski, the VP Sales, approves.',
    folder: 'crm/deals/stage-3',
    count: 40,
    approver: 'Marta Kowalski',
    mapped: ['deal-scorer', 'rep-coaching', 'pipeline-summary'],
    deprecated: 'salesforce-sync',
    success: 'every Stage 3 deal has a score and every rep has coaching notes',
    qualityBar: 'adversarial',
    constraints: ['the CRM stays as it is', 'nothing goes to the reps before approval'],
  };
}

export function seoWorkload(): Workload {
  const pages = ['home', 'pricing', 'plumbing', 'heating', 'cooling', 'drains', 'water-heaters', 'emergency', 'reviews', 'about', 'contact', 'faq'];
  const files: Record<string, string> = Object.fromEntries([
    skill('seo-playbook', 'Codifies the SEO rules a set of city pages follows into a playbook.', { reads: ['sites/<city>/*.md'], writes: ['seo/playbook.md'] }),
    skill(
      'localize-page',
      'Rewrites one city page for another city, following the SEO playbook.',
      { reads: ['sites/<city>/<page>.md', 'seo/playbook.md'], writes: ['sites/<city>/<page>.md'] },
      'Keep the URL scheme; replace every local fact.',
      '<page-file>',
    ),
    skill(
      'seo-audit',
      'Audits the pages of one city against the SEO playbook and says Result: pass or fail.',
      { reads: ['sites/<city>/*.md', 'seo/playbook.md'], writes: ['seo/audit-<city>.md'], run: 'node scripts/seo-audit.mjs' },
      'Checks titles, meta descriptions, headings and schema.',
      '<city>',
    ),
    skill('gsc-export', 'Exports Search Console performance to CSV.', { writes: ['reports/gsc.csv'] }),
    skill('yoast-legacy', 'Legacy Yoast meta generator; do not use, replaced by seo-playbook.', { writes: ['seo/meta.json'] }),
    skill('ppc-bids', 'Adjusts paid search bids for a campaign.', { writes: ['ppc/<campaign>.json'] }),
  ]);
  for (const page of pages) files[`sites/austin/${page}.md`] = `---\ntitle: ${page} in Austin\n---\n\n# ${page} in Austin, TX\n`;
  files['scripts/seo-audit.mjs'] = "console.log('Result: pass');\n";
  files['docs/seo-guidelines.md'] = document('SEO guidelines', 3_500);
  files['docs/keyword-research.md'] = document('Keyword research', 7_000);
  return {
    name: 'SEO rollout',
    files,
    request:
      'Codify the SEO setup of our Austin pages in sites/austin and roll it out to the next city, Denver, following docs/seo-guidelines.md and docs/keyword-research.md.\nSuccess: Denver passes the seo-audit.\nConstraints: keep the Austin pages unchanged; use the same URL scheme.\nQuality bar: adversarial. Dana Ruiz, Head of Growth, approves.',
    folder: 'sites/austin',
    count: pages.length,
    approver: 'Dana Ruiz',
    mapped: ['seo-playbook', 'localize-page', 'seo-audit'],
    deprecated: 'yoast-legacy',
    success: 'Denver passes the seo-audit',
    qualityBar: 'adversarial',
    constraints: ['keep the Austin pages unchanged', 'use the same URL scheme'],
  };
}

export function articlesWorkload(): Workload {
  const files: Record<string, string> = Object.fromEntries([
    skill(
      'article-writer',
      'Writes one article from its brief in the house style, every claim with its source.',
      { reads: ['content/briefs/<slug>.md', 'content/brief.md'], writes: ['articles/<slug>.md'] },
      'At least 1,200 words.',
      '<slug>',
    ),
    skill('style-brief', 'Writes the batch brief: audience, house style, length and what every article must do.', { writes: ['content/brief.md'] }),
    skill('editorial-handoff', 'Writes the editor handoff: one line per article with its title, words and brief.', {
      reads: ['articles/*.md'],
      writes: ['content/handoff.md'],
    }),
    skill('seo-meta', 'Writes the meta title and description for a page.', { writes: ['meta/<slug>.json'] }),
    skill('jasper-writer', 'Legacy article generator. Do not use; replaced by article-writer.', { writes: ['articles/<slug>.md'] }),
    skill('podcast-notes', 'Writes show notes for a podcast episode.', { writes: ['podcast/<episode>.md'] }),
  ]);
  for (let index = 1; index <= 74; index++)
    files[`content/briefs/topic-${pad(index)}.md`] =
      `# Topic ${index}\n\nAngle: ${WORDS[index % WORDS.length]}.\nKeyword: ${WORDS[(index * 3) % WORDS.length]} guide\n`;
  files['docs/style-guide.md'] = document('Style guide', 3_100);
  files['docs/product-facts.md'] = document('Product facts', 6_100);
  return {
    name: 'content at volume',
    files,
    request:
      'Produce the 74 articles briefed in content/briefs/ for the Q3 content calendar, using docs/style-guide.md and docs/product-facts.md. Success: 74 ready-to-edit articles of 1,200 words or more. Constraints: no claims without a source from docs/product-facts.md; nothing is published. Quality bar: semantic. Leah Chen, the content director, approves.',
    folder: 'content/briefs',
    count: 74,
    approver: 'Leah Chen',
    mapped: ['article-writer', 'style-brief', 'editorial-handoff'],
    deprecated: 'jasper-writer',
    success: '74 ready-to-edit articles of 1,200 words or more',
    qualityBar: 'semantic',
    constraints: ['no claims without a source from docs/product-facts.md', 'nothing is published'],
  };
}

export const WORKLOADS = [enrichmentWorkload, digestWorkload, dealWorkload, seoWorkload, articlesWorkload];
