import { afterEach, beforeEach, vi } from 'vitest';
import { RESEARCH_SKILLS, skillSet } from './fixtures.js';

/** The research skills, plus two that a findings page does not need: the repository the `new` session tests plan in. */
export const NEW_SESSION_SKILLS = {
  ...RESEARCH_SKILLS,
  ...skillSet([
    ['citation-check', 'Checks that every claim of a findings report cites a source file with line references.'],
    ['slide-deck', 'Builds a slide deck for a meeting from a findings report.'],
  ]),
};

/** Every test of the calling file runs with no provider key set (the offline engine plans), and gets them back after. */
export function withoutProviderKeys(): void {
  beforeEach(() => {
    for (const name of ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_API_KEY']) vi.stubEnv(name, undefined);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });
}
