/**
 * The draft types live in plan/ (src/plan/draft-types.ts) so that skills/ and rules/ can read a draft without
 * importing pipeline/; they are re-exported here for the pipeline's own files.
 */
export {
  stepText,
  type ContextMode,
  type DraftCriterion,
  type DraftPhase,
  type DraftSkills,
  type DraftStep,
  type Gate,
  type PlanDraft,
} from '../plan/draft-types.js';

/** A file-name-safe slug of a path: `src/big.ts` → `src-big`. */
export function pathSlug(path: string): string {
  return (
    path
      .replace(/\.[a-z0-9]+$/i, '')
      .replace(/[^a-z0-9]+/gi, '-')
      .replace(/^-|-$/g, '')
      .toLowerCase() || 'source'
  );
}
