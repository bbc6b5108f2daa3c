import * as z from 'zod/mini';
import './zod.js';

/** Values of the front matter, as PLAN_FORMAT.md section 1 defines them. Unknown keys are allowed and kept. */

export const PLAN_STATUSES = ['draft', 'in_review', 'approved', 'executing', 'complete', 'blocked'] as const;
export const WORKSTREAMS = ['consulting', 'content', 'infrastructure'] as const;
export const DELIVERABLES = ['infrastructure', 'content', 'research', 'analytics'] as const;
export const QUALITY_BARS = ['structural', 'semantic', 'adversarial'] as const;
export const VERDICTS = ['APPROVED', 'REVISE'] as const;
export const BUDGET_BASES = ['formula', 'calibrated'] as const;

export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
export const MODEL_REF_PATTERN = /^[a-z][a-z0-9-]*\/\S+$/;

export const BudgetSchema = z.looseObject({
  max_iterations: z
    .number({ error: 'a whole number of iterations, e.g. 40 (deepplan plan computes one); no run starts without it' })
    .check(
      z.int({ error: 'a whole number of iterations, e.g. 40 (deepplan plan computes one)' }),
      z.gte(1, { error: 'at least 1 iteration; deepplan plan computes the budget a plan needs' }),
      z.describe('Iterations the executor may use before it stops with BLOCKED_NEED_HUMAN'),
    ),
  basis: z.enum(BUDGET_BASES).check(z.describe('"formula", or "calibrated" when calibration changed the coefficients')),
});

export const ReviewSchema = z.looseObject({
  verdict: z.enum(VERDICTS),
  rounds: z.number().check(z.int(), z.gte(1), z.lte(3)),
  reviewer: z.string().check(z.regex(MODEL_REF_PATTERN, 'provider/model'), z.describe("provider/model, never the planner's provider")),
  report: z.optional(z.string().check(z.minLength(1))),
});

const nonEmpty = () => z.string().check(z.minLength(1));

export const ScopeSchema = z.looseObject({
  write: z.optional(z.array(nonEmpty())).check(z.describe('Globs the executor may write, relative to the repository root')),
  commands: z.optional(z.array(nonEmpty())).check(z.describe('Allowed command prefixes for run: steps and model-proposed commands')),
});

const wholeNumber = () => z.number().check(z.int(), z.gte(0));

export const StateSchema = z.looseObject({
  phase: z
    .nullable(z.string().check(z.regex(/^P\d+[a-z]?$/, 'a phase id like P3')))
    .check(z.describe('Current phase id, or null before the first / after the last')),
  iteration: wholeNumber().check(z.describe('Equals the number of rows in the iteration log')),
  revision: wholeNumber().check(z.describe('+1 on every write of the file by the program')),
  next_action: z.optional(z.nullable(z.string())),
  blockers: z.optional(z.array(z.string())),
  updated: z.optional(z.string().check(z.regex(ISO_DATETIME, 'an ISO 8601 date-time'))),
  spent_usd: z
    .optional(z.number().check(z.gte(0)))
    .check(z.describe('US dollars of model calls this plan has cost so far, across runs and machines; --max-cost and limits.max_cost count it')),
});

export const PlanMetaSchema = z.looseObject({
  deepplan: z.literal(1).check(z.describe('Format version')),
  id: z.string().check(z.regex(SLUG_PATTERN, 'a slug: [a-z0-9][a-z0-9-]{0,63}')),
  title: nonEmpty(),
  status: z.enum(PLAN_STATUSES),
  created: z.string().check(z.regex(ISO_DATE, 'an ISO date (YYYY-MM-DD)')),
  workstream: z.enum(WORKSTREAMS),
  deliverable: z.enum(DELIVERABLES),
  quality_bar: z.enum(QUALITY_BARS),
  owner: z.optional(nonEmpty()).check(z.describe('Who answers BLOCKED_NEED_HUMAN')),
  branch: z.optional(nonEmpty()).check(z.describe('Git branch the plan runs on')),
  budget: BudgetSchema,
  review: z.optional(ReviewSchema),
  scope: z.optional(ScopeSchema),
  state: StateSchema,
});

export type PlanMeta = z.infer<typeof PlanMetaSchema>;
export type PlanState = z.infer<typeof StateSchema>;
export type PlanReview = z.infer<typeof ReviewSchema>;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

/** JSON Schema of the front matter, for editors (`# yaml-language-server: $schema=...`). */
export function frontMatterJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PlanMetaSchema, { target: 'draft-07', io: 'input' }) as Record<string, unknown>;
  return {
    $schema: schema['$schema'],
    title: 'deepplan plan file front matter (format version 1)',
    ...schema,
  };
}
