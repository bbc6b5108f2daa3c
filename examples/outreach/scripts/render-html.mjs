// render-html-email: each Markdown draft as HTML with the sender's signature block.
//   node scripts/render-html.mjs              every drafts/*.md
//   node scripts/render-html.mjs <contact>    drafts/<contact>.md only (drafts/<contact>.html)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { deal, fail, write } from './lib.mjs';

const escape = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const d = deal();
const only = process.argv[2];
if (only !== undefined && !existsSync(`drafts/${only}.md`)) fail(`no draft drafts/${only}.md to render (draft it first: node scripts/draft-email.mjs ${only})`);
const files = only !== undefined ? [`${only}.md`] : readdirSync('drafts').filter((name) => name.endsWith('.md')).sort();
for (const file of files) {
  const [subject, ...rest] = readFileSync(`drafts/${file}`, 'utf8').trim().split('\n');
  const paragraphs = rest.join('\n').trim().split(/\n\s*\n/).slice(0, -1);
  write(
    `drafts/${file.replace(/\.md$/, '.html')}`,
    `<html><head><title>${escape(subject.replace(/^Subject:\s*/, ''))}</title></head><body>\n${paragraphs.map((p) => `<p>${escape(p)}</p>`).join('\n')}\n<div class="signature">${escape(d.owner)}, CEO</div>\n</body></html>\n`,
  );
}
