/**
 * schema/plan.schema.json: the JSON Schema of a plan's front matter that editors load through the
 * `# yaml-language-server: $schema=../schema/plan.schema.json` line of plans/*.md.
 *
 * - The committed file must be exactly what frontMatterJsonSchema() generates now (scripts/write-schema.mjs
 *   writes it; `npm run schema`), so changing PlanMetaSchema without regenerating fails here.
 * - Its structure must follow the zod schema: required keys, the enums, the state properties.
 * - The front matter of every example plan validates against it, and broken front matters do not.
 *
 * No JSON Schema validator is installed (no ajv in node_modules) and none is added for this: `validate` below
 * implements the draft-07 keywords the generated schema uses and throws on any other keyword, so a schema that
 * starts using one fails loudly here instead of being half-checked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DELIVERABLES, PLAN_STATUSES, PlanMetaSchema, QUALITY_BARS, StateSchema, WORKSTREAMS, frontMatterJsonSchema } from '../src/plan/schema.js';
import { PROJECT_ROOT, SMALL_PLAN } from './support/fixtures.js';

const SCHEMA_PATH = join(PROJECT_ROOT, 'schema', 'plan.schema.json');
const SCHEMA_TEXT = readFileSync(SCHEMA_PATH, 'utf8');
const SCHEMA = JSON.parse(SCHEMA_TEXT) as JsonSchema;
const PLANS_DIR = join(PROJECT_ROOT, 'plans');
const PLAN_FILES = readdirSync(PLANS_DIR)
  .filter((name) => name.endsWith('.md'))
  .sort();

type JsonSchema = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------------------
// A validator for the subset of draft-07 the generated schema uses

const ANNOTATIONS = new Set(['$schema', 'title', 'description', 'default', 'examples']);
const KEYWORDS = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'enum',
  'const',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'items',
  'anyOf',
]);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

/** Errors of `value` against `schema`, as `path: problem` strings; empty when it is valid. */
function validate(schema: JsonSchema | boolean, value: unknown, path = '$'): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: no value is allowed`];
  for (const key of Object.keys(schema)) {
    if (!KEYWORDS.has(key) && !ANNOTATIONS.has(key)) throw new Error(`${path}: the test's validator does not implement "${key}"`);
  }
  const errors: string[] = [];
  if (schema['type'] !== undefined) {
    const types = ([] as string[]).concat(schema['type'] as string | string[]);
    if (!types.some((type) => hasType(value, type))) return [`${path}: ${typeOf(value)} is not ${types.join(' or ')}`];
  }
  if (schema['const'] !== undefined && value !== schema['const']) errors.push(`${path}: must be ${JSON.stringify(schema['const'])}`);
  if (schema['enum'] !== undefined && !(schema['enum'] as unknown[]).includes(value)) {
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema['enum'])}`);
  }
  if (typeof value === 'string') {
    if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern'], 'u').test(value)) {
      errors.push(`${path}: "${value}" does not match ${schema['pattern']}`);
    }
    if (typeof schema['minLength'] === 'number' && [...value].length < schema['minLength']) errors.push(`${path}: too short`);
    if (typeof schema['maxLength'] === 'number' && [...value].length > schema['maxLength']) errors.push(`${path}: too long`);
  }
  if (typeof value === 'number') {
    if (typeof schema['minimum'] === 'number' && value < schema['minimum']) errors.push(`${path}: below ${schema['minimum']}`);
    if (typeof schema['maximum'] === 'number' && value > schema['maximum']) errors.push(`${path}: above ${schema['maximum']}`);
  }
  if (Array.isArray(value) && schema['items'] !== undefined) {
    value.forEach((item, index) => errors.push(...validate(schema['items'] as JsonSchema, item, `${path}[${index}]`)));
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
    for (const key of (schema['required'] ?? []) as string[]) {
      if (!(key in object)) errors.push(`${path}: "${key}" is required`);
    }
    for (const [key, item] of Object.entries(object)) {
      if (key in properties) errors.push(...validate(properties[key]!, item, `${path}.${key}`));
      else if (schema['additionalProperties'] !== undefined) {
        errors.push(...validate(schema['additionalProperties'] as JsonSchema | boolean, item, `${path}.${key}`));
      }
    }
  }
  if (schema['anyOf'] !== undefined) {
    const branches = schema['anyOf'] as JsonSchema[];
    if (!branches.some((branch) => validate(branch, value, path).length === 0)) errors.push(`${path}: matches no anyOf branch`);
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------------------------

function frontMatterText(text: string): string {
  const match = /^---\r?\n([\s\S]*?)\r?\n---[ \t]*\r?\n/.exec(text);
  if (!match) throw new Error('no front matter');
  return match[1]!;
}

function frontMatterOf(text: string): Record<string, unknown> {
  return parseYaml(frontMatterText(text)) as Record<string, unknown>;
}

function property(name: string): JsonSchema {
  const properties = SCHEMA['properties'] as Record<string, JsonSchema>;
  expect(properties, 'the schema has no properties').toBeDefined();
  const schema = properties[name];
  expect(schema, `the schema has no "${name}" property`).toBeDefined();
  return schema!;
}

/** Keys of a zod object that must be present (their schema rejects `undefined`). */
function requiredKeys(shape: Record<string, { safeParse(value: unknown): { success: boolean } }>): string[] {
  return Object.entries(shape)
    .filter(([, schema]) => !schema.safeParse(undefined).success)
    .map(([key]) => key);
}

describe('schema/plan.schema.json', () => {
  it('is what frontMatterJsonSchema() generates now (pretty JSON, trailing newline)', () => {
    expect(SCHEMA_TEXT, 'schema/plan.schema.json is out of date: run `npm run schema` and commit the result').toBe(
      `${JSON.stringify(frontMatterJsonSchema(), null, 2)}\n`,
    );
  });

  it('requires the keys PlanMetaSchema requires, and only those', () => {
    const required = requiredKeys(PlanMetaSchema.shape as never);
    expect(required).toEqual(expect.arrayContaining(['deepplan', 'id', 'status', 'budget', 'state']));
    expect([...(SCHEMA['required'] as string[])].sort()).toEqual([...required].sort());
    expect(Object.keys(SCHEMA['properties'] as object).sort()).toEqual(Object.keys(PlanMetaSchema.shape).sort());
  });

  it('lists the values of status, workstream, deliverable and quality_bar', () => {
    expect(property('status')['enum']).toEqual([...PLAN_STATUSES]);
    expect(property('workstream')['enum']).toEqual([...WORKSTREAMS]);
    expect(property('deliverable')['enum']).toEqual([...DELIVERABLES]);
    expect(property('quality_bar')['enum']).toEqual([...QUALITY_BARS]);
    expect(property('deepplan')['const']).toBe(1);
  });

  it('describes state: its properties, the required ones, and other keys allowed', () => {
    const state = property('state');
    expect(state['type']).toBe('object');
    expect(Object.keys(state['properties'] as object).sort()).toEqual(Object.keys(StateSchema.shape).sort());
    expect([...(state['required'] as string[])].sort()).toEqual(requiredKeys(StateSchema.shape as never).sort());
    // PLAN_FORMAT: extra keys are allowed and kept; an editor must not flag them.
    expect(SCHEMA['additionalProperties']).not.toBe(false);
    expect(state['additionalProperties']).not.toBe(false);
  });
});

describe('the example plans against the schema', () => {
  it('has example plans to check', () => {
    expect(PLAN_FILES.length).toBeGreaterThan(0);
  });

  it.each(PLAN_FILES)('plans/%s points its editor at the schema on its first front-matter line', (name) => {
    const text = readFileSync(join(PLANS_DIR, name), 'utf8');
    const first = frontMatterText(text).split(/\r?\n/)[0]!;
    const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
    expect(match, `plans/${name}: first front-matter line is "${first}"`).not.toBeNull();
    expect(resolve(dirname(join(PLANS_DIR, name)), match![1]!)).toBe(SCHEMA_PATH);
  });

  it.each(PLAN_FILES)('plans/%s has a front matter the schema accepts', (name) => {
    const data = frontMatterOf(readFileSync(join(PLANS_DIR, name), 'utf8'));
    expect(validate(SCHEMA, data)).toEqual([]);
    expect(PlanMetaSchema.safeParse(data).success).toBe(true);
  });

  it.each(PLAN_FILES)('plans/%s with a bad status is rejected', (name) => {
    const data = frontMatterOf(readFileSync(join(PLANS_DIR, name), 'utf8'));
    const errors = validate(SCHEMA, { ...data, status: 'finished' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\$\.status: "finished" is not one of/);
  });

  // The schema and the zod schema the linter uses must agree on what is valid.
  const base = frontMatterOf(SMALL_PLAN);
  const state = base['state'] as Record<string, unknown>;
  const without = (key: string) => Object.fromEntries(Object.entries(base).filter(([name]) => name !== key));
  const variants: Array<[string, Record<string, unknown>]> = [
    ['the small plan', base],
    ['an unknown extra key', { ...base, labels: ['q4'] }],
    ['status finished', { ...base, status: 'finished' }],
    ['workstream sales', { ...base, workstream: 'sales' }],
    ['deliverable slides', { ...base, deliverable: 'slides' }],
    ['quality_bar strict', { ...base, quality_bar: 'strict' }],
    ['format version 2', { ...base, deepplan: 2 }],
    ['an id with capitals', { ...base, id: 'Weekly' }],
    ['no budget', without('budget')],
    ['no state', without('state')],
    ['a budget of 0', { ...base, budget: { max_iterations: 0, basis: 'formula' } }],
    ['state.phase null', { ...base, state: { ...state, phase: null } }],
    ['state.phase "phase one"', { ...base, state: { ...state, phase: 'phase one' } }],
    ['state without revision', { ...base, state: { ...state, revision: undefined } }],
    ['a review with 4 rounds', { ...base, review: { verdict: 'APPROVED', rounds: 4, reviewer: 'openai/gpt-5.4' } }],
    ['a review by a bare model name', { ...base, review: { verdict: 'APPROVED', rounds: 1, reviewer: 'gpt-5.4' } }],
  ];
  it.each(variants)('agrees with PlanMetaSchema on %s', (_name, value) => {
    const data = JSON.parse(JSON.stringify(value)) as unknown;
    expect(validate(SCHEMA, data).length === 0).toBe(PlanMetaSchema.safeParse(data).success);
  });
});
