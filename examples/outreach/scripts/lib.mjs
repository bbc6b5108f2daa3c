// Helpers the example's scripts share. No dependencies: the data files are flat `key: value` YAML.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function readFlatYaml(path) {
  const record = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^([a-z_]+):\s*(.*)$/.exec(line);
    if (match) record[match[1]] = match[2].trim();
  }
  return record;
}

export function deal() {
  const file = readdirSync('crm/deals').filter((name) => name.endsWith('.yaml')).sort()[0];
  if (!file) throw new Error('no deal in crm/deals/');
  return readFlatYaml(join('crm/deals', file));
}

export function contacts(dealId = deal().deal) {
  const dir = join('crm/contacts', dealId);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => readFlatYaml(join(dir, name)));
}

export function openProblems(briefing) {
  const text = readFileSync(briefing, 'utf8');
  const section = text.split(/^## Open problems\s*$/m)[1] ?? '';
  return section
    .split(/^## /m)[0]
    .split('\n')
    .filter((line) => line.startsWith('- '))
    .map((line) => line.slice(2).replace(/\s*\(.*\)\s*$/, '').trim());
}

export function write(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  process.stdout.write(`wrote ${path}\n`);
}

export function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
