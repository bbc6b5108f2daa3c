/**
 * Single-defect plans: each entry breaks one thing in one base plan of test/corpus/bases.ts, the way a planner (or a
 * person editing a plan) gets it wrong. `edits` replace text that occurs exactly once in the base (several edits
 * make one defect when it needs them, e.g. a phase marked done and state.phase left on it); `remove` takes files out
 * of the base's repository. `rule` is the rule that must report it as an error.
 */

export type DefectClass = 'irreversible' | 'done-when' | 'data-flow' | 'facts' | 'placeholder' | 'refusal' | 'state' | 'audit';

export interface Defect {
  base: string;
  id: string;
  class: DefectClass;
  what: string;
  edits: Array<[string, string]>;
  remove?: string[];
  rule: string;
}

const d = (base: string, id: string, cls: DefectClass, rule: string, what: string, edits: Array<[string, string]>, remove?: string[]): Defect => ({
  base,
  id,
  class: cls,
  rule,
  what,
  edits,
  ...(remove ? { remove } : {}),
});

const DR = 'deal-review';
const EN = 'account-enrichment';
const NL = 'newsletter';
const HC = 'help-centre';

export const DEFECTS: readonly Defect[] = [
  // ----- deal review: 40 deals, four regions
  d(DR, 'post-before-gate', 'irreversible', 'irreversible-action', 'posts the scores to Slack before any human gate', [
    [
      '1. /deal-score crm/deals/latam --guidance briefings/q4-guidance.md --out review/scores/latam.md\n',
      '1. /deal-score crm/deals/latam --guidance briefings/q4-guidance.md --out review/scores/latam.md\n2. Post the scores of all four regions to #sales-leads.\n',
    ],
  ]),
  d(DR, 'changes-deal-stages', 'irreversible', 'irreversible-action', 'updates deal stages though the CRM export is read-only', [
    [
      '1. /deal-score crm/deals/emea --guidance briefings/q4-guidance.md --out review/scores/emea.md\n',
      '1. /deal-score crm/deals/emea --guidance briefings/q4-guidance.md --out review/scores/emea.md\n2. Update the deal stage of every EMEA deal scored below 3 to "at risk".\n',
    ],
  ]),
  d(DR, 'rm-scores', 'irreversible', 'irreversible-action', "deletes a region's scores with no gate", [
    [
      '1. /deal-score crm/deals/apac --guidance briefings/q4-guidance.md --out review/scores/apac.md\n',
      '1. /deal-score crm/deals/apac --guidance briefings/q4-guidance.md --out review/scores/apac.md\n2. run: `rm review/scores/amer.md`\n',
    ],
  ]),
  d(DR, 'memo-looks-good', 'done-when', 'done-when-verifiable', 'the memo phase is done when it "looks good", with no verify', [
    [
      "- Done when: the memo lists commit, best case and at risk, with the deals in each. verify: `grep -q '^## At risk' review/memo.md`",
      '- Done when: the memo looks good to Omar.',
    ],
  ]),
  d(DR, 'echo-verify', 'done-when', 'done-when-verifiable', 'a verify that only prints', [
    [
      '- Done when: ten AMER deals are scored. verify: `test "$(grep -c \'^Score:\' review/scores/amer.md)" -eq 10`',
      '- Done when: ten AMER deals are scored. verify: `echo scored`',
    ],
  ]),
  d(DR, 'verify-other-region', 'done-when', 'done-when-verifiable', 'the EMEA phase checks the AMER file', [
    ["grep -c '^Score:' review/scores/emea.md", "grep -c '^Score:' review/scores/amer.md"],
  ]),
  d(DR, 'reads-later-memo', 'data-flow', 'data-flow', 'P1 reads the memo P5 writes', [
    ['- Inputs: crm/deals/amer/*.json, briefings/q4-guidance.md', '- Inputs: crm/deals/amer/*.json, briefings/q4-guidance.md, review/memo.md'],
  ]),
  d(DR, 'guidance-txt', 'data-flow', 'data-flow', 'the guidance named with .txt for .md', [
    ['- Inputs: crm/deals/apac/*.json, briefings/q4-guidance.md', '- Inputs: crm/deals/apac/*.json, briefings/q4-guidance.txt'],
  ]),
  d(DR, 'deal-folder-typo', 'data-flow', 'data-flow', 'a typo in the deals folder', [['- Inputs: crm/deals/latam/*.json', '- Inputs: crm/deal/latam/*.json']]),
  d(DR, 'forty-five-deals', 'facts', 'context-facts', '45 deals where the export holds 40', [
    ['Every one of the 40 open deals has a score.', 'Every one of the 45 open deals has a score.'],
  ]),
  d(DR, 'verify-44', 'facts', 'context-facts', 'the criterion expects 44 scores', [["grep -c '^Score:')\" -eq 40", "grep -c '^Score:')\" -eq 44"]]),
  d(DR, 'omar-cfo', 'facts', 'context-facts', 'the CRO called CFO in a step', [
    ['Add a line for Omar Haddad, CRO, to sign', 'Add a line for Omar Haddad, CFO, to sign'],
  ]),
  d(DR, 'lena-cmo', 'facts', 'context-facts', 'a stakeholder title that contradicts the team record', [
    ['- Lena Brandt — VP Sales, owns the AMER and EMEA deals', '- Lena Brandt — CMO, owns the AMER and EMEA deals'],
  ]),
  d(DR, 'sender-cfo', 'facts', 'context-facts', "the post's sender titled CFO", [
    [
      '1. /slack-post --channel sales-leads --file review/memo.md --record review/posted.md\n',
      '1. /slack-post --channel sales-leads --file review/memo.md --record review/posted.md\n2. Set the sender title of the post to CFO.\n',
    ],
  ]),
  d(DR, 'channel-variable', 'placeholder', 'placeholders', 'an unfilled template variable', [
    ['/slack-post --channel sales-leads', '/slack-post --channel {channel}'],
  ]),
  d(DR, 'tbd-constraint', 'placeholder', 'placeholders', 'TBD left in a constraint', [
    ['- Only deals that are open today; closed deals stay out.', '- Only deals open as of TBD; closed deals stay out.'],
  ]),
  d(DR, 'chained-run', 'refusal', 'executor-refusals', 'two commands chained in one run: step', [
    [
      '1. /deal-score crm/deals/amer --guidance briefings/q4-guidance.md --out review/scores/amer.md\n',
      '1. /deal-score crm/deals/amer --guidance briefings/q4-guidance.md --out review/scores/amer.md\n2. run: `node scripts/score-region.mjs amer && node scripts/count-scores.mjs`\n',
    ],
  ]),
  d(DR, 'scope-everything', 'refusal', 'executor-refusals', 'scope.write ** (the whole repository)', [['write: [review/**]', "write: ['**']"]]),
  d(DR, 'hubspot-invoked', 'refusal', 'executor-refusals', 'the excluded hubspot-sync invoked', [
    ['1. /deal-score crm/deals/apac --guidance', '1. /hubspot-sync --deals apac\n2. /deal-score crm/deals/apac --guidance'],
  ]),
  d(DR, 'state-on-done', 'state', 'state-consistency', 'state.phase left on a finished phase', [
    [
      'verify: `test "$(grep -c \'^Score:\' review/scores/amer.md)" -eq 10`\n- Status: pending',
      'verify: `test "$(grep -c \'^Score:\' review/scores/amer.md)" -eq 10`\n- Status: done',
    ],
  ]),
  d(DR, 'excluded-dash', 'audit', 'skill-audit', "an excluded skill whose reason is '-'", [
    ['| newsletter-builder | Not a newsletter |', '| newsletter-builder | - |'],
  ]),

  // ----- account enrichment: 30 accounts in three tiers
  d(EN, 'delete-duplicates', 'irreversible', 'irreversible-action', 'deletes account files with no gate', [
    [
      '1. /firmographics accounts/tier-3 --rules docs/enrichment-rules.md --out enrichment/enriched/tier-3.yaml\n',
      '1. /firmographics accounts/tier-3 --rules docs/enrichment-rules.md --out enrichment/enriched/tier-3.yaml\n2. Delete the duplicate account records from the CRM.\n',
    ],
  ]),
  d(EN, 'merge-in-crm', 'irreversible', 'irreversible-action', 'merges duplicate accounts in the CRM before the approval', [
    [
      '1. /dedupe-accounts enrichment/enriched --out enrichment/duplicates.md\n',
      '1. /dedupe-accounts enrichment/enriched --out enrichment/duplicates.md\n2. Merge the duplicate accounts in the CRM, keeping the older record.\n',
    ],
  ]),
  d(EN, 'edit-records', 'irreversible', 'irreversible-action', 'writes into the account records the constraints say not to edit', [
    ['- The account records in accounts/ are the input; do not edit them.', '- Do not edit the account records.'],
    [
      '1. /firmographics accounts/tier-2 --rules docs/enrichment-rules.md --out enrichment/enriched/tier-2.yaml\n',
      '1. /firmographics accounts/tier-2 --rules docs/enrichment-rules.md --out enrichment/enriched/tier-2.yaml\n2. Write the industry back into each account record of accounts/tier-2/.\n',
    ],
  ]),
  d(EN, 'as-appropriate', 'done-when', 'done-when-verifiable', 'duplicates "handled as appropriate"', [
    [
      '- Done when: the duplicates file exists, with one line per pair or "none". verify: `test -f enrichment/duplicates.md`',
      '- Done when: duplicates are handled as appropriate.',
    ],
  ]),
  d(EN, 'true-verify', 'done-when', 'done-when-verifiable', 'a verify of `true`', [
    ["verify: `grep -q '^Updated: 30$' enrichment/import-log.md`", 'verify: `true`'],
  ]),
  d(EN, 'ls-folder', 'done-when', 'done-when-verifiable', 'a verify that lists a folder', [
    ['verify: `test -f enrichment/duplicates.md`\n- Status', 'verify: `ls enrichment`\n- Status'],
  ]),
  d(EN, 'yml-glob', 'data-flow', 'data-flow', 'the enriched files read as .yml', [
    ['- Inputs: enrichment/enriched/*.yaml\n', '- Inputs: enrichment/enriched/*.yml\n'],
  ]),
  d(EN, 'rules-typo', 'data-flow', 'data-flow', 'a typo in the rules file name', [
    ['- Inputs: accounts/tier-1/*.yaml, docs/enrichment-rules.md', '- Inputs: accounts/tier-1/*.yaml, docs/enrichment-rule.md'],
  ]),
  d(EN, 'reads-import-log', 'data-flow', 'data-flow', 'P4 reads the log only P6 writes', [
    ['- Inputs: enrichment/enriched/*.yaml\n', '- Inputs: enrichment/enriched/*.yaml, enrichment/import-log.md\n'],
  ]),
  d(EN, 'step-reads-missing', 'data-flow', 'data-flow', 'a step reads a summary nothing writes', [
    [
      'the fields filled and the duplicate pairs.\n',
      'the fields filled and the duplicate pairs.\n2. Attach the coverage table from enrichment/coverage.csv to the approval.\n',
    ],
  ]),
  d(EN, 'thirty-two', 'facts', 'context-facts', '32 accounts where the tiers hold 30', [['Each of the 30 accounts', 'Each of the 32 accounts']]),
  d(EN, 'count-35', 'facts', 'context-facts', 'the criterion counts 35', [['enrichment/enriched --count 30', 'enrichment/enriched --count 35']]),
  d(EN, 'priya-cfo', 'facts', 'context-facts', 'the approver called CFO', [['for Priya Natarajan, head of revenue operations:', 'for Priya Natarajan, CFO:']]),
  d(EN, 'tom-cto', 'facts', 'context-facts', 'a stakeholder title against the owners record', [
    ['- Tom Okafor — data engineering manager', '- Tom Okafor — CTO'],
  ]),
  d(EN, 'mustache-batch', 'placeholder', 'placeholders', 'a mustache variable', [['--batch q4-enrichment', '--batch {{batch_name}}']]),
  d(EN, 'lorem', 'placeholder', 'placeholders', 'lorem ipsum in the request', [
    ['import the result as one reviewed batch.', 'import the result as one reviewed batch. Lorem ipsum dolor sit amet.'],
  ]),
  d(EN, 'dotdot-run', 'refusal', 'executor-refusals', 'a run: step with ..', [
    [
      '1. /firmographics accounts/tier-1 --rules docs/enrichment-rules.md --out enrichment/enriched/tier-1.yaml\n',
      '1. /firmographics accounts/tier-1 --rules docs/enrichment-rules.md --out enrichment/enriched/tier-1.yaml\n2. run: `node scripts/../tools/enrich.mjs accounts/tier-1`\n',
    ],
  ]),
  d(EN, 'scope-plans', 'refusal', 'executor-refusals', 'scope.write covering plans/', [['write: [enrichment/**]', 'write: [enrichment/**, plans/**]']]),
  d(EN, 'linkedin-invoked', 'refusal', 'executor-refusals', 'the excluded linkedin-scrape invoked', [
    ['1. /firmographics accounts/tier-1 --rules', '1. /linkedin-scrape accounts/tier-1\n2. /firmographics accounts/tier-1 --rules'],
  ]),
  d(EN, 'dedupe-missing', 'refusal', 'skill-unknown', 'a mapped skill that is not installed', [], ['.claude/skills/dedupe-accounts/SKILL.md']),
  d(EN, 'state-on-done', 'state', 'state-consistency', 'state.phase on P1, done', [
    ['enrichment/enriched/tier-1.yaml --count 10`\n- Status: pending', 'enrichment/enriched/tier-1.yaml --count 10`\n- Status: done'],
  ]),

  // ----- newsletter: eight items, one send
  d(NL, 'no-approval-gate', 'irreversible', 'irreversible-action', 'the approval phase lost its gate, so the send has none', [
    ['- Gate: human\n- Done when: Sam approved', '- Done when: Sam approved'],
  ]),
  d(NL, 'review-not-human', 'irreversible', 'irreversible-action', 'a review gate where a human gate belongs', [
    ['- Gate: human\n- Done when: Sam approved', '- Gate: review\n- Done when: Sam approved'],
  ]),
  d(NL, 'nothing-sent', 'irreversible', 'irreversible-action', 'a send under "nothing is sent"', [
    ['- Only the items in content/items/; nothing else goes in the issue.', '- Nothing is sent this month: Sam sends the issue himself.'],
  ]),
  d(NL, 'publish-flag', 'irreversible', 'irreversible-action', 'a render step that publishes, before the approval', [
    [
      '1. /link-check newsletter/issue.html --out newsletter/links.md\n',
      '1. /link-check newsletter/issue.html --out newsletter/links.md\n2. run: `node scripts/render.mjs newsletter/issue.html --publish`\n',
    ],
  ]),
  d(NL, 'in-place-and-works', 'done-when', 'done-when-verifiable', 'Done when "in place and works"', [
    [
      'the order lists eight items, each with a one-line hook. verify: `test "$(grep -c \'^- \' newsletter/order.md)" -eq 8`',
      'the order is in place and works',
    ],
  ]),
  d(NL, 'or-true', 'done-when', 'done-when-verifiable', 'a verify that ends in || true', [
    [
      "- Done when: no link is broken. verify: `grep -q '^Broken: 0$' newsletter/links.md`",
      "- Done when: no link is broken. verify: `grep -q '^Broken: 0$' newsletter/links.md || true`",
    ],
  ]),
  d(NL, 'reads-links-early', 'data-flow', 'data-flow', 'the build reads the link report P3 writes', [
    [
      '- Inputs: newsletter/order.md, content/items/*.md, content/template.html',
      '- Inputs: newsletter/order.md, content/items/*.md, content/template.html, newsletter/links.md',
    ],
  ]),
  d(NL, 'template-htm', 'data-flow', 'data-flow', 'the template named .htm', [
    ['- Inputs: newsletter/order.md, content/items/*.md, content/template.html', '- Inputs: newsletter/order.md, content/items/*.md, content/template.htm'],
  ]),
  d(NL, 'step-reads-stats', 'data-flow', 'data-flow', "a step reads last month's stats, which nothing provides", [
    [
      'the eight items and the link check.\n',
      'the eight items and the link check.\n2. Add the open rate of the February issue from newsletter/february-stats.csv.\n',
    ],
  ]),
  d(NL, 'nine-items', 'facts', 'context-facts', 'nine items where the folder holds eight', [
    ['The issue holds all eight items.', 'The issue holds all nine items.'],
  ]),
  d(NL, 'order-7', 'facts', 'context-facts', 'the order verify expects 7', [['newsletter/order.md)" -eq 8', 'newsletter/order.md)" -eq 7']]),
  d(NL, 'sam-cmo', 'facts', 'context-facts', 'Sam called CMO', [['for Sam Reyes, marketing lead:', 'for Sam Reyes, CMO:']]),
  d(NL, 'signature-head', 'facts', 'context-facts', 'a signature with the wrong title', [
    [
      '1. /newsletter-builder newsletter/order.md --template content/template.html --out newsletter/issue.html\n',
      '1. /newsletter-builder newsletter/order.md --template content/template.html --out newsletter/issue.html\n2. Sign the intro as Sam Reyes, Head of Marketing.\n',
    ],
  ]),
  d(NL, 'question-marks', 'placeholder', 'placeholders', '??? for the subject line', [
    ['the subject line, the eight items', 'the subject line "???", the eight items'],
  ]),
  d(NL, 'xx-days', 'placeholder', 'placeholders', 'XX days in the request', [
    ['Build the March newsletter from', 'Within XX days, build the March newsletter from'],
  ]),
  d(NL, 'pipe-run', 'refusal', 'executor-refusals', 'a piped run: step', [
    [
      '1. /newsletter-builder newsletter/order.md --template content/template.html --out newsletter/issue.html\n',
      '1. /newsletter-builder newsletter/order.md --template content/template.html --out newsletter/issue.html\n2. run: `node scripts/render.mjs newsletter/issue.html | tee newsletter/render.log`\n',
    ],
  ]),
  d(NL, 'scope-claude', 'refusal', 'executor-refusals', 'scope.write covering .claude/', [['write: [newsletter/**]', 'write: [newsletter/**, .claude/**]']]),
  d(NL, 'hubspot-send', 'refusal', 'executor-refusals', 'the excluded hubspot-sync invoked', [
    ['1. /mail-send newsletter/issue.html', '1. /hubspot-sync --list customers\n2. /mail-send newsletter/issue.html'],
  ]),
  d(NL, 'mail-send-missing', 'refusal', 'skill-unknown', 'the send skill is not installed', [], ['.claude/skills/mail-send/SKILL.md']),
  d(NL, 'empty-reason', 'audit', 'skill-audit', 'an excluded skill with an empty reason', [['| deal-score | Not a sales task |', '| deal-score |  |']]),

  // ----- help centre: twelve articles in three groups
  d(HC, 'fact-check-ungated', 'irreversible', 'irreversible-action', 'the publish has no human gate before it', [
    ['- Gate: human\n- Done when: no claim', '- Done when: no claim'],
  ]),
  d(HC, 'nothing-published', 'irreversible', 'irreversible-action', 'publishes under "nothing is published"', [
    ['- Follow docs/style.md; one task per article.', '- Follow docs/style.md; one task per article.\n- Nothing is published before the Q2 launch.'],
  ]),
  d(HC, 'git-push', 'irreversible', 'irreversible-action', 'a git push with no gate', [
    [
      '4. /article-writer briefs/troubleshooting.md --style docs/style.md --out articles/drafts/troubleshooting.md\n',
      '4. /article-writer briefs/troubleshooting.md --style docs/style.md --out articles/drafts/troubleshooting.md\n5. run: `git push origin main`\n',
    ],
  ]),
  d(HC, 'where-relevant', 'done-when', 'done-when-verifiable', 'claims "sourced where relevant"', [
    [
      "- Done when: no claim is left without a source. verify: `grep -q '^Unsourced: 0$' articles/fact-check.md`",
      '- Done when: claims are sourced where relevant.',
    ],
  ]),
  d(HC, 'ls-articles', 'done-when', 'done-when-verifiable', 'publish checked by listing a folder', [
    ['verify: `test "$(grep -c \'^https://\' articles/published.md)" -eq 12`', 'verify: `ls articles`'],
  ]),
  d(HC, 'wrong-article', 'done-when', 'done-when-verifiable', "group 2's verify checks a group 1 article", [
    ['articles/drafts/audit-log.md articles/drafts/sso-setup.md', 'articles/drafts/getting-started.md articles/drafts/sso-setup.md'],
  ]),
  d(HC, 'brief-typo', 'data-flow', 'data-flow', 'a typo in a brief name', [['- Inputs: briefs/getting-started.md,', '- Inputs: briefs/getting-startd.md,']]),
  d(HC, 'reads-fact-check-early', 'data-flow', 'data-flow', 'P1 reads the fact-check P4 writes', [
    ['- Inputs: briefs/getting-started.md,', '- Inputs: articles/fact-check.md, briefs/getting-started.md,'],
  ]),
  d(HC, 'product-txt', 'data-flow', 'data-flow', 'the product docs named .txt', [
    ['- Inputs: articles/drafts/*.md, docs/product.md', '- Inputs: articles/drafts/*.md, docs/product.txt'],
  ]),
  d(HC, 'fourteen', 'facts', 'context-facts', 'fourteen articles for twelve briefs', [
    ['One article per brief, twelve in all.', 'One article per brief, fourteen in all.'],
  ]),
  d(HC, 'eq-13', 'facts', 'context-facts', 'the criterion expects 13 drafts', [['wc -l)" -eq 12`', 'wc -l)" -eq 13`']]),
  d(HC, 'jonas-head', 'facts', 'context-facts', 'the support manager called head of support', [
    [
      '1. /fact-check articles/drafts --against docs/product.md --out articles/fact-check.md\n',
      '1. /fact-check articles/drafts --against docs/product.md --out articles/fact-check.md\n2. Ask Jonas Weber, head of support, to review the troubleshooting article.\n',
    ],
  ]),
  d(HC, 'style-variable', 'placeholder', 'placeholders', 'a template variable for the style guide', [
    ['--style docs/style.md --out articles/drafts/webhooks.md', '--style {style_guide} --out articles/drafts/webhooks.md'],
  ]),
  d(HC, 'fixme', 'placeholder', 'placeholders', 'FIXME in a constraint', [
    ['- Follow docs/style.md; one task per article.', '- Follow docs/style.md (FIXME: link the new guide); one task per article.'],
  ]),
  d(HC, 'subshell', 'refusal', 'executor-refusals', 'a run: step with $(...)', [
    [
      '1. /publish-post articles/drafts --record articles/published.md\n',
      '1. /publish-post articles/drafts --record articles/published.md\n2. run: `node scripts/word-count.mjs $(ls articles/drafts)`\n',
    ],
  ]),
  d(HC, 'scope-wildcard', 'refusal', 'executor-refusals', 'scope.write starting with a wildcard', [['write: [articles/**]', "write: ['*/**']"]]),
  d(HC, 'cron-invoked', 'refusal', 'executor-refusals', 'the excluded cron-schedule invoked', [
    [
      '1. /publish-post articles/drafts --record articles/published.md\n',
      '1. /publish-post articles/drafts --record articles/published.md\n2. /cron-schedule "0 9 * * 1" --out articles/schedule.cron\n',
    ],
  ]),
  d(HC, 'fact-check-missing', 'refusal', 'skill-unknown', 'the fact-check skill is not installed', [], ['.claude/skills/fact-check/SKILL.md']),
  d(HC, 'state-on-done', 'state', 'state-consistency', 'state.phase on a done phase', [
    [
      'articles/drafts/billing-basics.md articles/drafts/export-data.md | wc -l)" -eq 4`\n- Status: pending',
      'articles/drafts/billing-basics.md articles/drafts/export-data.md | wc -l)" -eq 4`\n- Status: done',
    ],
  ]),
  d(HC, 'excluded-dash', 'audit', 'skill-audit', "an excluded skill whose reason is '-'", [
    ['| cron-schedule | Nothing is scheduled |', '| cron-schedule | - |'],
  ]),
];
