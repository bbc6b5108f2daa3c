import { budget } from './budget.js';
import { contextFacts } from './context-facts.js';
import { dataFlow } from './data-flow.js';
import { doneWhenVerifiable } from './done-when-verifiable.js';
import { executorRefusals } from './executor-refusals.js';
import { irreversibleAction } from './irreversible-action.js';
import { placeholders } from './placeholders.js';
import { escapeHatch } from './escape-hatch.js';
import { frontMatter } from './front-matter.js';
import { iterationLog } from './iteration-log.js';
import { phaseContextMode } from './phase-context-mode.js';
import { phaseCount } from './phase-count.js';
import { phaseDependencies } from './phase-dependencies.js';
import { phaseFields } from './phase-fields.js';
import { phaseFileOps } from './phase-file-ops.js';
import { reviewRequired } from './review-required.js';
import type { Rule } from './rule.js';
import { scope } from './scope.js';
import { sections } from './sections.js';
import { skillAudit } from './skill-audit.js';
import { skillDrift } from './skill-drift.js';
import { skillUnknown } from './skill-unknown.js';
import { stateConsistency } from './state-consistency.js';
import { successCriteriaVerifiable } from './success-criteria-verifiable.js';
import { sufficiency } from './sufficiency.js';

/** Every lint rule, in the order PLAN_FORMAT.md section 4 lists their ids, then the rules that judge meaning. */
export const RULES: readonly Rule[] = [
  frontMatter,
  sections,
  sufficiency,
  successCriteriaVerifiable,
  skillAudit,
  skillDrift,
  skillUnknown,
  phaseCount,
  phaseFields,
  phaseContextMode,
  phaseFileOps,
  phaseDependencies,
  budget,
  reviewRequired,
  stateConsistency,
  iterationLog,
  escapeHatch,
  scope,
  irreversibleAction,
  doneWhenVerifiable,
  dataFlow,
  contextFacts,
  placeholders,
  executorRefusals,
];

/** Findings about the file itself (not UTF-8, binary, too large, too deeply nested) carry this id. */
export const PARSE_RULE_ID = 'parse';

export const RULE_IDS: readonly string[] = RULES.map((rule) => rule.id);

export function ruleById(id: string): Rule | undefined {
  return RULES.find((rule) => rule.id === id);
}
