import { frontMatterLine, isSubstantial, type Rule } from './rule.js';

const GUARDED_STATUSES = new Set(['approved', 'executing', 'complete']);

export const reviewRequired: Rule = {
  id: 'review-required',
  severity: 'error',
  description: 'A plan with 10+ phases or quality bar adversarial needs review.verdict APPROVED (by another provider) before it is approved.',
  check(plan, context, report) {
    const status = plan.meta.status;
    const review = plan.meta.review;
    if (review) {
      const planner = context.config.models?.['planner'];
      const plannerProvider = planner?.split('/')[0];
      const reviewerProvider = review.reviewer.split('/')[0];
      if (plannerProvider && plannerProvider === reviewerProvider && context.config.allow_same_provider !== true) {
        report(`the reviewer ${review.reviewer} is from the planner's provider (${planner}); the review must come from another provider`, {
          line: frontMatterLine(plan, ['review', 'reviewer']),
        });
      }
    }
    if (!status || !GUARDED_STATUSES.has(status) || !isSubstantial(plan)) return;
    const why = plan.meta.quality_bar === 'adversarial' ? 'quality bar adversarial' : `${plan.phases.length} phases`;
    if (!review) {
      report(`status is ${status} but the plan (${why}) has no \`review:\` block; run \`deepplan review\` first`, {
        line: frontMatterLine(plan, ['status']),
      });
    } else if (review.verdict !== 'APPROVED') {
      report(`status is ${status} but the review verdict is ${review.verdict}; a plan with ${why} needs APPROVED`, {
        line: frontMatterLine(plan, ['review', 'verdict']),
      });
    }
  },
};
