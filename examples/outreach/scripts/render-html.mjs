// render-html-email: each Markdown draft as HTML with the sender's signature block.
import { readdirSync, readFileSync } from 'node:fs';
import { deal, write } from './lib.mjs';

const escape = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const d = deal();
for (const file of readdirSync('drafts').filter((name) => name.endsWith('.md')).sort()) {
  const [subject, ...rest] = readFileSync(`drafts/${file}`, 'utf8').trim().split('\n');
  const paragraphs = rest.join('\n').trim().split(/\n\s*\n/).slice(0, -1);
  write(
    `drafts/${file.replace(/\.md$/, '.html')}`,
    `<html><head><title>${escape(subject.replace(/^Subject:\s*/, ''))}</title></head><body>\n${paragraphs.map((p) => `<p>${escape(p)}</p>`).join('\n')}\n<div class="signature">${escape(d.owner)}, CEO</div>\n</body></html>\n`,
  );
}
