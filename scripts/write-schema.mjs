#!/usr/bin/env node
// Writes schema/plan.schema.json, the JSON Schema of a plan's front matter, from the built zod schema
// (dist/plan/schema.js). Run it through `npm run schema`, which builds first. test/schema.test.ts fails when the
// committed file differs from what the schema generates now.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'schema', 'plan.schema.json');

let frontMatterJsonSchema;
try {
  ({ frontMatterJsonSchema } = await import(new URL('../dist/plan/schema.js', import.meta.url).href));
} catch (error) {
  process.stderr.write(`write-schema: cannot load dist/plan/schema.js (run \`npm run build\` first): ${error.message}\n`);
  process.exit(1);
}

mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, `${JSON.stringify(frontMatterJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${relative(process.cwd(), target) || target}\n`);
